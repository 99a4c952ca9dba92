"""Adversarial checks of last session's second-wave KQL constructs (audit7): the emitted query runs
on duckdb-kql over the rows the fixture adapter builds and must select what the reference matcher
selects on every event the translation's stated assumptions keep (the events they set apart carry a
reason). Events are generated around each construct's edges: missing and empty values, lists, case,
quotes and backslashes, equal timestamps and the maxspan edge.

Covered here: the Heartbeat lookup for host.ip (latest Heartbeat per Computer, one private address)
and the scripts that read it (``indexOf(...) == null``, ``endswith``, ``string()``); one trailing
missing-event term in a one-table sequence (Okta), compared as the verifier compares (both engines on
every event); the Entra sign-in tables (``json_text`` columns, dynamic in one table and JSON text in
the other), AADServicePrincipalSignInLogs and AzureActivity; ``key_list`` (a regex over a list's
compact JSON); CloudTrail ``stringContains(request_parameters, another field)``; the Syslog account
lines; Jamf Protect's ``object_key`` / ``object_member``; Sysmon's parent name and argument readings on Event;
defender's user.id SID shape. Two wrong translations were found and fixed; their regression tests are
``test_index_of_is_null_when_the_host_has_no_address`` and
``test_events_of_a_key_with_tied_steps_are_set_apart_with_them`` (both fail on the old code).
"""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from eqlc.matcher import matcher
from eqlc.result import Status
from eqlc.targets.kql import TARGET
from tests.test_kql_sentinel import _sequence_run
from tests.test_kql_sentinel_heartbeat import _logon, _rule as _windows_rule

LOGON = 'authentication where host.os.type == "windows" and event.code in ("4624", "4625") and '


def _agree(query: str, events: list[dict]) -> tuple[list, list, dict]:
    """(KQL selection, matcher selection inside the assumptions, events set apart with reasons)."""
    rule = _windows_rule(query)
    tr = TARGET.compile(rule, profile="sentinel")
    assert tr.status is Status.ASSUMPTIONS and tr.output, tr.notes
    out = TARGET.outside_assumptions(rule, tr, events, profile="sentinel")
    assert all(isinstance(r, str) and r for r in out.values()), out
    got = sorted(TARGET.execute(tr, events, profile="sentinel"))
    m = matcher(rule)
    want = sorted(e["_id"] for e in events if m.match(e) and e["_id"] not in out)
    assert got == want, f"{query}\n{tr.output}\nKQL only: {sorted(set(got) - set(want))}, matcher only: {sorted(set(want) - set(got))}"
    return got, want, out


# ---- Heartbeat host.ip ---------------------------------------------------------------------------

def test_index_of_is_null_when_the_host_has_no_address():
    """``indexOf(a, b) == null`` is Elasticsearch's IsNull of the call, and IndexOfFunctionProcessor
    returns null when an argument is null: an event whose host lists no address IS selected. The
    translation put the script's presence guards around ``indexof(a, b) < 0`` and rejected it (a
    wrong translation found by this audit; the corpus relay rule was not affected, its
    ``not endswith(string(source.ip), string(host.ip))`` needs the address anyway)."""
    events = [
        _logon("no-ip", "dc1", "DC1$", "10.0.0.9", None),
        _logon("empty-list", "dc2", "DC2$", "10.0.0.9", []),
        _logon("other", "dc3", "DC3$", "10.0.0.9", ["10.0.0.5"]),
        _logon("contains", "dc4", "DC4$", "10.0.0.1", ["110.0.0.12"]),
    ]
    got, want, out = _agree(LOGON + "indexOf(string(host.ip), string(source.ip)) == null", events)
    assert got == ["empty-list", "no-ip", "other"] and not out, (got, out)
    got, want, out = _agree(LOGON + "not indexOf(string(host.ip), string(source.ip)) == null", events)
    assert got == ["contains"], got


COMPUTERS = {"dc1": ["10.0.0.1"], "dc2": ["10.0.0.12"], "DC1": ["fe80::1"], "dc3": None, "dc4": []}
OTHER_IPS = [None, [], ["10.0.0.1"], "10.0.0.1", ["10.0.0.1", "10.0.0.2"], ["FE80::1"], ["::ffff:10.0.0.1"], ["110.0.0.1"]]
SOURCES = ["10.0.0.1", "10.0.0.12", "0.0.0.1", "fe80::1", "127.0.0.1", "::1"]
TIMES = ["00:00:00", "00:00:01", "00:59:59"]
HOST_IP_CONDITIONS = [
    "indexOf(string(host.ip), string(source.ip)) == null",
    "not indexOf(string(host.ip), string(source.ip)) == null",
    "endswith(string(source.ip), string(host.ip))",
    "not endswith(string(source.ip), string(host.ip))",
    'host.ip == "10.0.0.1"', 'host.ip != "10.0.0.1"', 'cidrMatch(host.ip, "10.0.0.0/8")',
    "host.ip == null", "host.ip != null",
    "indexOf(string(host.ip), string(source.ip)) == null and not endswith(string(source.ip), string(host.ip))",
]
EVENT = st.tuples(st.sampled_from(sorted(COMPUTERS)), st.booleans(), st.sampled_from(OTHER_IPS),
                  st.sampled_from(SOURCES), st.sampled_from(TIMES))


@settings(max_examples=10, deadline=None, derandomize=True)
@given(rows=st.lists(EVENT, min_size=3, max_size=12), cond=st.sampled_from(HOST_IP_CONDITIONS))
def test_host_ip_from_heartbeat_agrees_with_the_matcher(rows, cond):
    events = []
    for i, (computer, own, other, src, ts) in enumerate(rows):
        ips = COMPUTERS[computer] if own else other
        events.append(_logon(f"e{i}", computer, "DC1$", src, ips, ts=f"2026-01-01T{ts}Z"))
    _agree(LOGON + cond, events)


# ---- one trailing missing-event term in a one-table sequence (Okta) --------------------------------
from tests.test_kql_missing_events import ACTIVATE, DEACTIVATE, NO_REACTIVATION, TWO_STEPS, _ev, _run as _okta_run  # noqa: E402

SESSION = 'any where data_stream.dataset == "okta.system" and okta.event_type == "user.session.start"'
THEN_ACTIVATED = f"sequence by okta.target.id with maxspan=10m [{DEACTIVATE}] [{ACTIVATE}] ![{SESSION}]"


def test_events_of_a_key_with_tied_steps_are_set_apart_with_them():
    """Two events of target u1 fill steps 1 and 2 at one timestamp: the tie check set those two
    apart, but the order the query gives them (not the matcher's) also decides whether a later
    activation of u1 completes the deactivation, so that event was selected by the query and not by
    the matcher while inside the assumptions (the verifier, which runs both on every event, would
    report it). Every event of a tied key is now outside, with its reason."""
    events = [_ev("off", "00:00", "user.mfa.factor.reset_all", ["u1"]),
              _ev("on-tied", "00:00", "user.mfa.factor.activate", ["u1"], result="FAILURE"),
              _ev("on-later", "00:05", "user.mfa.factor.activate", ["u1", "u2"]),
              _ev("session", "00:00", "user.session.start", ["u1", "u2"]),
              _ev("other-off", "00:00", "user.mfa.factor.deactivate", ["u3"]),
              _ev("other-on", "00:01", "user.mfa.factor.activate", ["u3"])]
    tr, got, want, out = _okta_run(THEN_ACTIVATED, events)
    assert {"off", "on-tied"} <= set(out) and "on-later" in out and "order decides" in out["on-later"], out
    assert got == want == ["other-off", "other-on"], (got, want)


OKTA_TYPES = ["user.mfa.factor.deactivate", "user.mfa.factor.reset_all", "user.mfa.factor.activate", "user.session.start",
              "USER.MFA.FACTOR.ACTIVATE"]
OKTA_TIMES = ["00:00", "00:05", "00:10", "00:10:00.001", "00:09:59.999", "12:00", "12:00:00.001", "11:59:59.999"]
OKTA_TARGETS = [["u1"], ["u2"], ["u1", "u2"], ["U1"], None, ["u2", "u1"]]
OKTA_EVENT = st.tuples(st.sampled_from(OKTA_TIMES), st.sampled_from(OKTA_TYPES), st.sampled_from(OKTA_TARGETS),
                       st.sampled_from(["a", "b", "A"]), st.sampled_from(["SUCCESS", "FAILURE", None]))


@settings(max_examples=12, deadline=None, derandomize=True)
@given(rows=st.lists(OKTA_EVENT, min_size=2, max_size=10),
       query=st.sampled_from([NO_REACTIVATION, TWO_STEPS, THEN_ACTIVATED,
                              f"sequence by okta.actor.id with maxspan=10m [{DEACTIVATE}] ![{ACTIVATE}]"]))
def test_trailing_missing_term_agrees_with_the_matcher_on_every_event(rows, query):
    """As the verifier compares: both run on every event, the events set apart are not compared."""
    events = [_ev(f"e{i}", ts, kind, targets, actor=actor, result=result)
              for i, (ts, kind, targets, actor, result) in enumerate(rows)]
    tr, got, want, out = _okta_run(query, events)
    assert got == want, (got, want, out)


# ---- single-event constructs: one query, generated events, the matcher as the judge ---------------
from tests.test_kql_json_list import _put  # noqa: E402
from tests.test_kql_sentinel import CLOUDTRAIL, _rule as _indexed_rule, _run as _indexed_run  # noqa: E402
from tests.test_kql_sentinel_cloudtrail import _policy  # noqa: E402
from tests.test_kql_sentinel_jamf import JAMF, _jamf  # noqa: E402
from tests.test_kql_sentinel_signin import _activity, _sp, LIST  # noqa: E402
from tests.test_kql_sentinel_syslog import AUTH, _line  # noqa: E402


def _same(query: str, index: tuple, events: list[dict], profile: str = "sentinel", override=None) -> None:
    tr, got, want, out = _indexed_run(_indexed_rule(query, index, override), events, profile=profile)
    assert tr.status is Status.ASSUMPTIONS, tr.notes
    assert all(isinstance(r, str) and r for r in out.values()), out
    assert got == want, f"{query}\n{tr.output}\nKQL only: {sorted(set(got) - set(want))}, matcher only: {sorted(set(want) - set(got))}"


# strings at the edges: quotes, backslashes, case, accents, empty, JSON-looking text, lists, nulls
TEXT = st.sampled_from(["dev-a", "DEV-A", 'de"v', "de\\v", "d'v", "", "123", "dév", "DÉV", "a\nb", "dev-a ", '{"a":1}', "true",
                        "\U0001F600v"])
VALUE = st.one_of(st.none(), TEXT, st.lists(st.one_of(st.none(), TEXT), max_size=2), st.just("MISSING"))
SIGNIN_CATEGORY = st.sampled_from(["SignInLogs", "NonInteractiveUserSignInLogs", "ServicePrincipalSignInLogs"])
P = "azure.signinlogs.properties."
SIGNIN_CONDITIONS = [f"{P}{f} {op}" for f in ("device_detail.device_id", "device_detail.trust_type", "user_id",
                                               "token_protection_status_details.sign_in_session_status")
                     for op in ('== "dev-a"', ': "DEV-A"', '!= "dev-a"', '== ""', '== null', 'like~ "*v*"', 'in ("123", "dév")')] + [
    f"{P}device_detail.is_managed == true", f"{P}device_detail.is_managed != true", f"not {P}device_detail.is_managed == false"]


@settings(max_examples=15, deadline=None, derandomize=True)
@given(rows=st.lists(st.tuples(SIGNIN_CATEGORY, VALUE, VALUE, VALUE, VALUE,
                               st.sampled_from([True, False, None, "true", [True], "MISSING"])), min_size=2, max_size=12),
       cond=st.sampled_from(SIGNIN_CONDITIONS))
def test_sign_in_tables_json_text_and_dynamic_columns_agree_with_the_matcher(rows, cond):
    """DeviceDetail / TokenProtectionStatusDetails are JSON text in AADNonInteractiveUserSignInLogs
    and dynamic in SigninLogs (json_text: parse_json of either)."""
    events = []
    for i, (category, device, trust, user, session, managed) in enumerate(rows):
        detail = {k: v for k, v in (("device_id", device), ("trust_type", trust), ("is_managed", managed)) if v != "MISSING"}
        props: dict = {"device_detail": detail}
        if user != "MISSING":
            props["user_id"] = user
        if session != "MISSING":
            props["token_protection_status_details"] = {"sign_in_session_status": session}
        events.append({"_id": f"e{i}", "@timestamp": "2026-01-01T00:00:00Z", "data_stream": {"dataset": "azure.signinlogs"},
                       "event": {"module": "azure", "dataset": "azure.signinlogs", "category": ["authentication"]},
                       "azure": {"signinlogs": {"category": category, "properties": props}}})
    _same(f'authentication where data_stream.dataset == "azure.signinlogs" and {cond}', ("filebeat-*", "logs-azure.signinlogs-*"),
          events)


ACTIVITY_CONDITIONS = [f'event.action == "{LIST}"', f'event.action : "{LIST.lower()}"', 'event.outcome == "Success"',
                       'event.outcome : "success"', 'event.outcome != "Success"', 'not event.outcome : "failure"',
                       'azure.activitylogs.identity.claims.appid : "APP-A"']


@settings(max_examples=10, deadline=None, derandomize=True)
@given(rows=st.lists(st.tuples(st.sampled_from([LIST, LIST.lower(), "MICROSOFT.HYBRIDCOMPUTE/MACHINES/READ", ""]),
                               st.sampled_from(["Success", "success", "Failure", "unknown", None, "Start"]),
                               st.sampled_from(["app-a", "APP-A", "", None, 'a"b', ["app-a", "x"]])), min_size=2, max_size=12),
       cond=st.sampled_from(ACTIVITY_CONDITIONS))
def test_azure_activity_agrees_with_the_matcher(rows, cond):
    events = [_activity(f"e{i}", "00:00", app, operation=op, outcome=outcome) for i, (op, outcome, app) in enumerate(rows)]
    _same(f'any where data_stream.dataset == "azure.activitylogs" and {cond}',
          ("filebeat-*", "logs-azure.signinlogs-*", "logs-azure.activitylogs-*"), events)


@settings(max_examples=10, deadline=None, derandomize=True)
@given(rows=st.lists(st.tuples(st.sampled_from([0, "0", 50140, "50140", None, 7000215]),
                               st.sampled_from(["app-a", "APP-A", "", None, ["app-a", "x"]])), min_size=2, max_size=12),
       cond=st.sampled_from([f"{P}status.error_code == 0", f"{P}status.error_code != 0", f"not {P}status.error_code == 50140",
                             f'{P}app_id : "APP-A"', f'{P}app_id == "app-a"']))
def test_service_principal_sign_ins_agree_with_the_matcher(rows, cond):
    events = [_sp(f"e{i}", "00:00", app, code) for i, (code, app) in enumerate(rows)]
    _same(f'any where data_stream.dataset == "azure.signinlogs" and azure.signinlogs.category == "ServicePrincipalSignInLogs" '
          f"and {cond}", ("filebeat-*", "logs-azure.signinlogs-*", "logs-azure.activitylogs-*"), events)


ARN_PART = st.sampled_from(["a", "A", "b", "/", ":", "*", "?", ".", " ", ",", "{", "}", "[", "]", '"', "\\", "é", "\n"])
ARN = st.lists(ARN_PART, max_size=5).map("".join)
ARNS = st.one_of(st.none(), st.just([]), ARN, st.lists(st.one_of(ARN, st.none()), min_size=1, max_size=3))
F = "aws.cloudtrail.resources.arn"


@settings(max_examples=15, deadline=None, derandomize=True)
@given(arns=st.lists(ARNS, min_size=2, max_size=12), profile=st.sampled_from(["sentinel", "defender"]),
       cond=st.sampled_from([f'{F} == "a"', f'{F} == ""', f'{F} : "A"', f'{F} != "a"', f'{F} like~ "*a?"', f'{F} like "*,*"',
                             f'{F} regex~ "A[^/]*"', f'{F} regex ".*(a|b).*"', f'{F} in ("a", "b")', f'not {F} like~ "*b*"',
                             f'{F} like "*\\\\*"', f'{F} regex ".+"']))
def test_key_list_regex_over_compact_json_agrees_with_the_matcher(arns, profile, cond):
    """key_list: a regex search of the list's compact JSON for '"ARN":"(R)"'."""
    events = [_put(f"e{i}", a) for i, a in enumerate(arns)]
    _same(f'file where data_stream.dataset == "aws.cloudtrail" and event.action == "PutObject" and {cond}', CLOUDTRAIL, events,
          profile=profile)


RENDER_VALUE = st.sampled_from(["1", "11", "a", "A1", "x:y", "é", "arn:aws:iam::1:root", "Allow"])
RENDERED = st.lists(st.tuples(st.sampled_from(["bucketName", "Effect", "k", "a1"]),
                              st.one_of(RENDER_VALUE, st.lists(RENDER_VALUE, min_size=1, max_size=2).map(lambda v: "[" + ", ".join(v) + "]"),
                                        st.tuples(RENDER_VALUE, RENDER_VALUE).map(lambda v: "{x=" + v[0] + ", Effect=" + v[1] + "}"))),
                    min_size=1, max_size=3, unique_by=lambda kv: kv[0]).map(lambda kv: "{" + ", ".join(f"{k}={v}" for k, v in kv) + "}")
RECIPIENT = st.one_of(st.none(), st.just(""), st.lists(st.sampled_from(["1", "11", "=1", ":", "é", " ", "[", "]", "x y", "Effect=Allow", "a"]),
                                                     min_size=1, max_size=3).map("".join),
                      st.lists(st.sampled_from(["1", "a"]), min_size=2, max_size=2))


@settings(max_examples=15, deadline=None, derandomize=True)
@given(rows=st.lists(st.tuples(RENDERED, RECIPIENT), min_size=2, max_size=12), profile=st.sampled_from(["sentinel", "defender"]),
       negate=st.booleans())
def test_request_parameters_containing_another_fields_value_agrees_with_the_matcher(rows, profile, negate):
    events = [_policy(f"e{i}", rp, who) for i, (rp, who) in enumerate(rows)]
    test = "stringContains(aws.cloudtrail.request_parameters, aws.cloudtrail.recipient_account_id)"
    _same(f'info where event.action == "PutBucketPolicy" and {"not " if negate else ""}{test}', CLOUDTRAIL, events, profile=profile,
          override="event.type")


@settings(max_examples=12, deadline=None, derandomize=True)
@given(rows=st.lists(st.tuples(st.sampled_from(["groupadd", "groupdel", "useradd", "userdel", "usermod", "groupmod", "sshd"]),
                               st.sampled_from([None, "", "fail", "Fail", "FAIL", "x ﬁ", 'a"b\\fail', "faİl", "ok"]),
                               st.sampled_from([None, "success", "failure"])), min_size=2, max_size=12),
       cond=st.sampled_from(['event.outcome == "success"', 'event.outcome : "SUCCESS"', 'not event.outcome == "failure"',
                             'event.type == "user" and event.type == "creation"', 'event.type : "GROUP"', 'not event.type == "deletion"',
                             'process.name : "GROUPADD"', 'message : "*fail*"', 'stringContains(message, "fail")']))
def test_syslog_account_lines_agree_with_the_matcher(rows, cond):
    events = [_line(f"e{i}", program, message, outcome) for i, (program, message, outcome) in enumerate(rows)]
    _same(f"iam where {cond}", AUTH, events)


@settings(max_examples=12, deadline=None, derandomize=True)
@given(rows=st.lists(st.tuples(st.sampled_from(["od_group_add", "od_group_remove", "od_create_group", "od_group_set", "od_delete_group",
                                                "od_create_user", "exec"]),
                               st.sampled_from([None, "", "admin", "Admin", 'ad"min', "ad\\min", "admın", ["admin"], ["admin", "x"], "*"])),
                     min_size=2, max_size=12),
       cond=st.sampled_from(['group.name : "admin"', 'group.name == "admin"', 'group.name != "admin"', 'not group.name : "admin"',
                             'group.name like~ "ad*"', 'group.name == null', 'event.action == "od_group_add"', 'event.type == "creation"',
                             'event.type != "change"', 'length(group.name) == 5']))
def test_jamf_object_key_and_member_agree_with_the_matcher(rows, cond):
    events = [_jamf(f"e{i}", action, group) for i, (action, group) in enumerate(rows)]
    _same(f"configuration where {cond}", JAMF, events)


# ---- Sysmon on Event: process.parent.name after ParentImage's last '\', arguments from the lines --
from eqlc import parse_query  # noqa: E402
from eqlc.rule import Rule  # noqa: E402
from tests.test_kql_sentinel_derived import SYSMON, _sysmon  # noqa: E402

PARENT = st.sampled_from(["winword.exe", "WINWORD.EXE", "cmd.exe", "a b.exe", "", 'x"y.exe', "é.exe", None])
ARG = st.sampled_from(["cmd.exe", "/c", "-enc", "-ENC", "x\\y", "\\\\srv\\share", "é", "C:\\w\\x.exe", "b", 'a"b', "a b", ""])
SYSMON_EVENT = st.tuples(PARENT, st.sampled_from(["C:\\Program Files\\", "D:\\x y\\", None]),
                         st.one_of(st.none(), st.lists(ARG, min_size=1, max_size=4)), st.one_of(st.none(), st.lists(ARG, min_size=1, max_size=3)),
                         st.booleans())


@settings(max_examples=15, deadline=None, derandomize=True)
@given(rows=st.lists(SYSMON_EVENT, min_size=2, max_size=10),
       cond=st.sampled_from(['process.parent.name : "winword.exe"', 'process.parent.name != "cmd.exe"', 'process.parent.name like~ "*.exe"',
                             'process.parent.name == null', 'not process.parent.name : "winword.exe"', 'process.args == "-enc"',
                             'process.args : "-ENC*"', 'process.args like~ "*b*"', 'not process.args == "/c"', 'process.parent.args == "-enc"',
                             'process.parent.args : "*\\\\*"', 'process.args in ("/c", "cmd.exe")', 'process.command_line : "*-enc*"']))
def test_sysmon_parent_and_argument_readings_agree_with_the_matcher(rows, cond):
    events = []
    for i, (parent, folder, args, parent_args, lines) in enumerate(rows):
        process: dict = {}
        if parent is not None:
            process["parent"] = {"name": parent}
            if folder is not None:
                process["parent"]["executable"] = folder + parent
        if args is not None:
            process["args"] = args
            if lines:
                process["command_line"] = " ".join(args)
        if parent_args is not None:
            process.setdefault("parent", {})["args"] = parent_args
            if lines:
                process["parent"]["command_line"] = " ".join(parent_args)
        events.append({**_sysmon(f"e{i}", "1"), "process": process})
    text = f'process where event.code == "1" and {cond}'
    rule = Rule(query=parse_query(text), query_text=text, name="sysmon", index=SYSMON)
    tr = TARGET.compile(rule, profile="sentinel")
    assert tr.status is Status.ASSUMPTIONS, tr.notes
    out = TARGET.outside_assumptions(rule, tr, events, profile="sentinel")
    got = sorted(TARGET.execute(tr, events, profile="sentinel"))
    want = sorted(e["_id"] for e in events if matcher(rule).match(e) and e["_id"] not in out)
    assert got == want, (text, tr.output, out)


# ---- defender user.id: a Windows SID (shapes.py) ---------------------------------------------------
SID_VALUE = st.sampled_from(["S-1-5-18", "S-1-5-21-1-2-3-500", "s-1-5-18", "S-1-0x000000000005-18", "0", "1000", "", None,
                             ["S-1-5-18", "S-1-5-19"], ["S-1-5-18", "0"], "S-1-5-18 ", "S-1-5-", "S-1-5-18\n", "S-1-\u0665-18", "MISSING"])


@settings(max_examples=15, deadline=None, derandomize=True)
@given(rows=st.lists(st.tuples(SID_VALUE, st.sampled_from(["windows", "linux"])), min_size=2, max_size=12),
       cond=st.sampled_from(['user.id == "S-1-5-18"', 'user.id != "S-1-5-18"', 'user.id : "S-1-5-18"', 'user.id like "S-1-5-21-*"',
                             'user.id like~ "*-500"', 'not user.id in ("S-1-5-18", "S-1-5-19")', 'user.id regex "S-1-5-21-.*-50[0-9]"',
                             'user.id == null', 'user.id != null', 'startsWith(user.id, "S-1-5-21")']))
def test_defender_user_id_sid_shape_agrees_with_the_matcher(rows, cond):
    events = []
    for i, (sid, os_type) in enumerate(rows):
        e = {"_id": f"e{i}", "@timestamp": "2026-01-01T00:00:00Z", "event": {"category": ["process"], "type": ["start"], "action": "start"},
             "host": {"os": {"type": os_type}}, "process": {"name": "x.exe", "executable": "C:\\x.exe"}}
        if sid != "MISSING":
            e["user"] = {"id": sid}
        events.append(e)
    _same(f'process where host.os.type == "windows" and {cond}', ("logs-endpoint.events.*",), events, profile="defender")


# ---- a sequence over the two user sign-in tables joined on a json_text property ------------------
KEY = st.sampled_from(["u", "U", "", None, "MISSING", ["u", "v"], 'u\\"', "ü", "123"])
SIGNIN_TIMES = ["00:00:00", "00:30:00", "01:00:00", "01:00:00.001", "00:59:59.999"]


@settings(max_examples=12, deadline=None, derandomize=True)
@given(rows=st.lists(st.tuples(KEY, KEY, st.sampled_from(["a", "b", "A"]), SIGNIN_CATEGORY, st.sampled_from(SIGNIN_TIMES)),
                     min_size=2, max_size=12),
       query=st.sampled_from([
           f'sequence by {P}user_id, {P}device_detail.device_id with maxspan=1h [authentication where {P}incoming_token_type == "a"] '
           f'[authentication where {P}incoming_token_type : "b"]',
           f'sequence with maxspan=1h [authentication where {P}incoming_token_type == "a"] by {P}user_id '
           f'[authentication where {P}incoming_token_type == "b"] by {P}device_detail.device_id']))
def test_sign_in_sequence_joined_on_json_text_agrees_with_the_matcher_on_every_event(rows, query):
    """As the verifier compares: both engines on every event, the events set apart not compared."""
    events = []
    for i, (user, device, token, category, ts) in enumerate(rows):
        props: dict = {"device_detail": {} if device == "MISSING" else {"device_id": device}, "incoming_token_type": token}
        if user != "MISSING":
            props["user_id"] = user
        events.append({"_id": f"e{i}", "@timestamp": f"2026-01-01T{ts}Z", "data_stream": {"dataset": "azure.signinlogs"},
                       "event": {"module": "azure", "dataset": "azure.signinlogs", "category": ["authentication"]},
                       "azure": {"signinlogs": {"category": category, "properties": props}}})
    rule = _indexed_rule(query, ("filebeat-*", "logs-azure.signinlogs-*"))
    tr, got, want, out = _sequence_run(rule, events, whole=True)
    assert tr.status is Status.ASSUMPTIONS, tr.notes
    assert got == want, (got, want, out)
