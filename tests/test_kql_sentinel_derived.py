"""SecurityEvent fields Elastic's System integration derives per event id (user.*, group.*,
process.executable; sentinel.yaml "derives per event id", targets/kql/raw_tables.py).

Two kinds of check, on purpose:

* ``test_expressions_give_what_elastic_sets``: the profile's expressions are evaluated by
  duckdb-kql on rows loaded from the EventData only (no ECS user.* in the events, so the fixture
  adapter writes nothing back) and compared with the ECS values written here by hand from
  Elastic's pipeline (elastic/integrations packages/system/data_stream/security/elasticsearch/
  ingest_pipeline/standard.yml: "Add Session Events", "Copy Target User", "Copy MemberName to User
  and User to Group", "Copy Subject User from Event Data", "Rename Common Auth Fields", "Process
  Event 4688"). This is the check that does not go through the adapter's inverse (the trap of
  kqlsent's first NewUACList version): a wrong event id list or precedence fails it.
* the rule-level tests run whole queries on duckdb-kql against the reference matcher on ECS
  events, where the adapter writes a derived field back into the EventData it comes from; they
  test the query's logic (operators, case, pinning) and the events the assumptions leave out.
"""

from __future__ import annotations

import dataclasses

import duckdb_kql
import pytest

from eqlc import parse_query
from eqlc.matcher import matcher
from eqlc.result import Status
from eqlc.rule import Rule
from eqlc.targets.kql import TARGET
from eqlc.targets.kql.adapter import ID_COLUMN, connect, load
from eqlc.targets.kql.profile import load_profile
from tests.test_kql_sentinel import _run as _run_rule
from tests.winlog_outcome import with_outcome

WINDOWS = ("logs-system.security*", "logs-windows.forwarded*", "winlogbeat-*")


def _ev(_id: str, code: str, category: str = "iam", **data) -> dict:
    return with_outcome({"_id": _id, "@timestamp": "2026-01-01T00:00:00Z", "event": {"category": [category], "code": code},
                         "host": {"os": {"type": "windows"}}, "winlog": {"event_data": data}})


# event, and the ECS values Elastic's pipeline sets for it (read from standard.yml by hand)
CASES = [
    # Copy Target User: TargetUserName before "@", TargetUserSid (else TargetSid), TargetDomainName
    (_ev("logon", "4624", "authentication", TargetUserName="alice@CORP.LOCAL", TargetUserSid="S-1-5-21-9-1001",
         TargetDomainName="CORP", SubjectUserName="DC01$", SubjectUserSid="S-1-5-18", SubjectDomainName="WG"),
     {"user.name": "alice", "user.id": "S-1-5-21-9-1001", "user.domain": "CORP"}),
    (_ev("tgt", "4768", "authentication", TargetUserName="bob", TargetSid="S-1-5-21-9-1002", TargetDomainName="CORP"),
     {"user.name": "bob", "user.id": "S-1-5-21-9-1002", "user.domain": "CORP"}),
    # 4648: Copy Target User first, then Copy Subject User overwrites with the subject when set
    (_ev("explicit", "4648", "authentication", SubjectUserName="carol", SubjectUserSid="S-1-5-21-9-1003",
         SubjectDomainName="CORP", TargetUserName="dave@corp", TargetDomainName="OTHER"),
     {"user.name": "carol", "user.id": "S-1-5-21-9-1003", "user.domain": "CORP"}),
    (_ev("explicit-nosubject", "4648", "authentication", TargetUserName="dave@corp", TargetUserSid="S-1-5-21-9-1004",
         TargetDomainName="OTHER"),
     {"user.name": "dave", "user.id": "S-1-5-21-9-1004", "user.domain": "OTHER"}),
    # Copy Subject User: the subject, whatever the target
    (_ev("task", "4698", SubjectUserName="svc$", SubjectUserSid="S-1-5-18", SubjectDomainName="CORP",
         TaskName="\\x"),
     {"user.name": "svc$", "user.id": "S-1-5-18", "user.domain": "CORP"}),
    # group events: the subject is the user, the target the group (TargetSid over TargetUserSid)
    (_ev("member", "4728", SubjectUserName="admin", SubjectUserSid="S-1-5-21-9-500", SubjectDomainName="CORP",
         TargetUserName="Domain Admins", TargetSid="S-1-5-21-9-512", MemberSid="S-1-5-21-9-1005"),
     {"user.name": "admin", "user.id": "S-1-5-21-9-500", "group.id": "S-1-5-21-9-512", "group.name": "Domain Admins"}),
    # Add Session Events: AccountName / AccountDomain (EventData values with no column of their own)
    (_ev("session", "4778", "authentication", AccountName="erin", AccountDomain="CORP", LogonID="0x1"),
     {"user.name": "erin", "user.domain": "CORP", "user.id": ""}),
    # Rename Common Auth Fields / Process Event 4688
    (_ev("auth-process", "4624", "authentication", ProcessName="C:\\Windows\\System32\\lsass.exe", TargetUserName="x"),
     {"process.executable": "C:\\Windows\\System32\\lsass.exe", "process.parent.executable": ""}),
    (_ev("process", "4688", "process", NewProcessName="C:\\a.exe", ParentProcessName="C:\\p.exe", ProcessName="C:\\p.exe",
         SubjectUserName="frank"),
     {"process.executable": "C:\\a.exe", "process.parent.executable": "C:\\p.exe", "user.name": "frank"}),
    # kqlwinsec: "Add Connection Events" (security_standard.yml 0061d8d): the EventData Application of the
    # Windows Filtering Platform events, unless "-", and its last "\\" part as the name; XML-escaped text decoded
    (_ev("wfp-block", "5157", "network", Application="\\device\\harddiskvolume2\\program files\\a&b\\bdagent.exe",
         ProcessID="1234", Direction="%%14593"),
     {"process.executable": "\\device\\harddiskvolume2\\program files\\a&b\\bdagent.exe", "process.name": "bdagent.exe"}),
    (_ev("wfp-drop", "5152", "network", Application="System"), {"process.executable": "System", "process.name": "System"}),
    (_ev("wfp-dash", "5156", "network", Application="-"), {"process.executable": "", "process.name": ""}),
    # an id outside the four: Application is not read
    (_ev("wfp-other", "5159", "network", Application="C:\\x.exe"), {"process.executable": "", "process.name": ""}),
    # ids none of the scripts lists: no user, no group, no process
    (_ev("other", "4703", SubjectUserName="gina", TargetUserName="gina", ProcessName="C:\\x.exe"),
     {"user.name": "", "user.id": "", "group.name": "", "process.executable": ""}),
    # 1102 reads its user from UserData, which the expression does not read: none
    (_ev("cleared", "1102"), {"user.name": ""}),
]


def test_expressions_give_what_elastic_sets():
    prof = load_profile("sentinel")
    table = prof.tables["SecurityEvent"]
    prof = dataclasses.replace(prof, tables={"SecurityEvent": table})
    events = [e for e, _ in CASES]
    loaded = load(prof, events)
    assert not loaded.excluded
    names = sorted({f for _, want in CASES for f in want})
    query = f"SecurityEvent | project {ID_COLUMN}, " + ", ".join(
        f"v{i} = tostring({table.fields[n].expr})" for i, n in enumerate(names))
    got = {row[0]: dict(zip(names, row[1:])) for row in duckdb_kql.kql(connect(loaded, query), query).fetchall()}
    for event, want in CASES:
        for name, value in want.items():
            assert (got[event["_id"]][name] or "") == value, (event["_id"], name, got[event["_id"]][name])


def _rule(text: str) -> Rule:
    return Rule(query=parse_query(text), query_text=text, name="kql sentinel derived", index=WINDOWS)


def _run(text: str, events: list[dict]):
    return _run_rule(_rule(text), events)


def _ecs(_id: str, action: str, user: str | None, **data) -> dict:
    e = {"_id": _id, "@timestamp": "2026-01-01T00:00:00Z", "event": {"category": ["iam"], "action": action},
         "host": {"os": {"type": "windows"}}, "winlog": {"event_data": data}}
    if user is not None:
        e["user"] = {"name": user}
    return e


TASK = 'iam where event.action == "scheduled-task-created" and not user.name : "*$"'


def test_subject_user_name_rule_on_duckdb_kql():
    events = [
        _ecs("ecs-only", "scheduled-task-created", "Alice"),              # adapter writes SubjectUserName back
        _ecs("computer", "scheduled-task-created", "HOST$"),
        _ecs("computer-upper", "scheduled-task-created", "HOST$", SubjectUserName="HOST$"),
        _ecs("no-user", "scheduled-task-created", None),
        _ecs("consistent", "scheduled-task-created", "bob", SubjectUserName="bob"),
        # an ECS user.name the pipeline would not have written from this EventData
        _ecs("inconsistent", "scheduled-task-created", "bob", SubjectUserName="HOST$"),
        _ecs("other-action", "scheduled-task-deleted", "carol"),
    ]
    tr, got, want, out = _run(TASK, events)
    assert tr.status is Status.ASSUMPTIONS
    # the long per-event-id expression is computed once (extend), the filter reads its column
    lines = tr.output.splitlines()
    assert lines[0] == "SecurityEvent" and lines[1].startswith("| extend __user_name = case(EventID in (4778, 4779)")
    assert lines[2] == '| where (EventID in (4698) and not(__user_name endswith "$"))'
    assert "SubjectUserName" in tr.output
    assert set(out) == {"inconsistent"}, out
    assert "user.name" in out["inconsistent"]
    assert got == want == ["consistent", "ecs-only", "no-user"]
    assert any("user.name, user.id and user.domain are computed from the event id" in n for n in tr.notes)


GROUP = ('iam where event.action == "added-member-to-group" and '
         '(group.name : "Domain Admins" or group.id : "S-1-5-21-*-512")')


def test_group_rule_on_duckdb_kql():
    def g(_id: str, name=None, gid=None, **data):
        e = _ecs(_id, "added-member-to-group", None, **data)
        e["group"] = {k: v for k, v in (("name", name), ("id", gid)) if v is not None}
        return e
    events = [g("by-name", name="domain admins"), g("by-id", gid="S-1-5-21-1-2-3-512"),
              g("other", name="Users", gid="S-1-5-21-1-2-3-513"),
              g("both", name="Domain Admins", gid="S-1-5-21-1-2-3-512", TargetUserName="Domain Admins",
                TargetSid="S-1-5-21-1-2-3-512"),
              # EventData with no ECS group: Elastic's pipeline would have set group.name from it
              g("raw-only", TargetUserName="Domain Admins", TargetSid="S-1-5-21-1-2-3-512")]
    tr, got, want, out = _run(GROUP, events)
    assert set(out) == {"raw-only"}, out
    assert "group." in out["raw-only"]
    assert got == want == ["both", "by-id", "by-name"]


@pytest.mark.parametrize("text", [
    'any where process.executable : "C:\\\\*"',
    'any where event.code == "4698" or user.name == "x"',
])
def test_derived_field_without_pinned_event_ids_is_refused(text):
    tr = TARGET.compile(_rule(text), profile="sentinel")
    assert tr.status is Status.REFUSED
    assert "does not pin the event ids" in tr.notes[0]


@pytest.mark.parametrize("text", [
    'iam where user.name == "x"',
    'iam where event.code == "4698" or user.name == "x"',
])
def test_category_pins_ids_but_an_unread_id_of_it_is_refused(text):
    """iam's ids (Elastic's categorization table) include 1102, whose user Elastic reads from
    UserData, which the mapping does not read: the category pins the ids, and one is unread."""
    tr = TARGET.compile(_rule(text), profile="sentinel")
    assert tr.status is Status.REFUSED
    assert "user.name of SecurityEvent event ids 1102" in tr.notes[0]


def _auth(_id: str, code: str | None, exe: str | None, category: str = "authentication", logon: str = "Interactive",
          **data) -> dict:
    e: dict = {"_id": _id, "@timestamp": "2026-01-01T00:00:00Z", "event": {"category": [category]},
               "host": {"os": {"type": "windows"}}, "winlog": {"event_data": data, "logon": {"type": logon}}}
    if code is not None:
        e["event"]["code"] = code
    if exe is not None:
        e["process"] = {"executable": exe}
    return e


def test_query_category_pins_the_event_ids_on_duckdb_kql():
    """kqlwinsec: ``authentication where process.executable ...`` names no event id, but on
    SecurityEvent the category is a test of the ids Elastic's categorization table gives it
    (raw_tables.with_category), so the per-id derivation is read on those ids only
    (raw_tables.check_event_id_pinned); privilege_escalation_make_token_local is such a rule."""
    text = 'authentication where process.executable : "C:\\\\*" and winlog.logon.type == "Interactive"'
    events = [
        _auth("logon", "4624", "C:\\Windows\\x.exe", ProcessName="C:\\Windows\\x.exe"),
        _auth("logon-lower", "4624", "c:\\tools\\y.exe"),          # adapter writes ProcessName
        _auth("failed", "4625", "C:\\z.exe"),
        _auth("other-drive", "4624", "D:\\x.exe"),
        _auth("network", "4624", "C:\\x.exe", logon="Network"),
        # 4688 is a process event: no authentication category, so not read as one
        _auth("process-start", "4688", "C:\\x.exe", category="process"),
        # an authentication event with no event id: outside the mapping (no SecurityEvent row has none)
        _auth("no-id", None, "C:\\x.exe"),
    ]
    tr, got, want, out = _run(text, events)
    assert tr.status is Status.ASSUMPTIONS, tr.notes
    assert "EventID in (4624, 4625, 4634, 4647, 4648, 4768, 4769, 4770, 4771, 4776, 4778, 4779)" in tr.output
    assert set(out) == {"no-id"}, out
    assert got == want == ["failed", "logon", "logon-lower"]


@pytest.mark.parametrize("text", [
    'authentication where event.code == "4624" and process.executable : "C:\\\\*"',
    'iam where (event.code == "4698" and user.name == "x") or (event.action == "scheduled-task-deleted" and user.id == "y")',
    'process where event.code : "4688" and process.parent.executable : "*\\\\lsass.exe"',
])
def test_derived_field_with_pinned_event_ids_translates(text):
    tr = TARGET.compile(_rule(text), profile="sentinel")
    assert tr.status is Status.ASSUMPTIONS, tr.notes


def test_other_raw_tables_expressions_do_not_leave_security_events_out():
    """Every event lands in every raw table (category "*"): AWSCloudTrail's own user.name
    expression must not judge a SecurityEvent rule's events (it did before the adapter narrowed
    the profile to the tables the query reads)."""
    tr, got, want, out = _run(TASK, [_ecs("ecs-only", "scheduled-task-created", "Alice")])
    assert not out and got == want == ["ecs-only"]


def _logon(_id: str, code: str, outcome: str | None, ip: str | None, category: str = "authentication", **data) -> dict:
    e = {"_id": _id, "@timestamp": "2026-01-01T00:00:00Z", "event": {"category": [category], "code": code},
         "host": {"os": {"type": "windows"}}, "winlog": {"event_data": data}}
    if outcome is not None:
        e["event"]["outcome"] = outcome
    if ip is not None:
        e["source"] = {"ip": ip}
    return e


LOGON = ('authentication where event.code == "4624" and event.outcome == "success" and '
         'source.ip != null and source.ip != "127.0.0.1" and source.ip != "::1"')


def test_outcome_and_source_ip_on_duckdb_kql():
    events = [
        _logon("remote", "4624", "success", "10.0.0.5"),
        _logon("remote-raw", "4624", "success", "10.0.0.6", IpAddress="10.0.0.6"),
        _logon("loopback", "4624", "success", "127.0.0.1"),
        _logon("loopback6", "4624", "success", "::1"),
        _logon("no-ip", "4624", "success", None),
        _logon("dash", "4624", "success", None, IpAddress="-"),   # the pipeline leaves source.ip unset
        # Elastic prints ::ffff:127.0.0.1 as the address 127.0.0.1; the column's text differs
        _logon("mapped", "4624", "success", "::ffff:127.0.0.1"),
        _logon("upper6", "4624", "success", "FE80::1"),
        # 4624 is an Audit Success event (Microsoft: 4624(S)): Elastic never writes failure for it
        _logon("failure", "4624", "failure", "10.0.0.7"),
        _logon("failed-logon", "4625", "failure", "10.0.0.8"),
    ]
    tr, got, want, out = _run(LOGON, events)
    assert set(out) == {"mapped", "upper6", "failure"}, out
    assert "spelled as the address prints" in out["mapped"] and "'127.0.0.1'" in out["mapped"]
    assert "event.outcome" in out["failure"]
    assert got == want == ["remote", "remote-raw"]
    notes = " ".join(tr.notes)
    assert "compared as the text of IpAddress" in notes and "4624(S), 4625(F)" in notes


@pytest.mark.parametrize("text, reason", [
    ('authentication where event.code == "4768" and event.outcome == "success"', "event.outcome of SecurityEvent event ids 4768"),
    ('iam where event.code == "1102" and user.name == "x"', "user.name of SecurityEvent event ids 1102"),
    ('authentication where event.code == "4624" and source.ip == "::ffff:10.0.0.1"', "not an IP address spelled canonically"),
    ('authentication where event.code == "4624" and source.ip : "10.*"', "a pattern match on it is not translated"),
])
def test_ids_the_expression_does_not_read_are_refused(text, reason):
    tr = TARGET.compile(_rule(text), profile="sentinel")
    assert tr.status is Status.REFUSED
    assert reason in tr.notes[0], tr.notes


# a sequence whose steps read the one raw table for events of two categories: each step's category
# is stated for the rows that step selects (a fact applying to every event would leave every event
# out: none is both an authentication and an iam event)
RESET = ('sequence by winlog.computer_name with maxspan=1m '
         '[authentication where event.action == "logged-in" and event.outcome == "success" and source.ip != null] '
         'by winlog.event_data.TargetLogonId '
         '[iam where event.action == "reset-password"] by winlog.event_data.SubjectLogonId')


def test_sequence_steps_of_two_categories_on_one_raw_table():
    def ev(_id, ts, category, action, **data):
        # both actions are success-only audits (4624(S), 4724(S)): Elastic writes outcome success on each
        e = {"_id": _id, "@timestamp": f"2026-01-01T00:00:{ts:02d}Z",
             "event": {"category": [category], "action": action, "outcome": "success"},
             "host": {"os": {"type": "windows"}}, "winlog": {"computer_name": "dc1", "event_data": data}}
        if category == "authentication":
            e["source"] = {"ip": "10.0.0.9"}
        return e
    events = [ev("logon", 1, "authentication", "logged-in", TargetLogonId="0x1"),
              ev("reset", 2, "iam", "reset-password", SubjectLogonId="0x1"),
              ev("reset-other", 3, "iam", "reset-password", SubjectLogonId="0x2"),
              # a reset event labelled authentication: the iam step's rows are stated to be iam events
              ev("reset-mislabelled", 4, "authentication", "reset-password", SubjectLogonId="0x1")]
    rule = _rule(RESET)
    tr = TARGET.compile(rule, profile="sentinel")
    assert tr.status is Status.ASSUMPTIONS, tr.notes
    out = TARGET.outside_assumptions(rule, tr, events, profile="sentinel")
    assert set(out) == {"reset-mislabelled"}, out
    got = sorted(TARGET.execute(tr, events, profile="sentinel"))
    inside = [e for e in events if e["_id"] not in out]
    want = sorted(dict.fromkeys(e["_id"] for m in matcher(rule).run(inside, sort=True) for e in m.events))
    assert got == want == ["logon", "reset"]


# ---- Sysmon through the Event table ------------------------------------------------------------
SYSMON = ("winlogbeat-*", "logs-windows.sysmon_operational-*")


def _sysmon(_id: str, code: str, category: str = "process", **data) -> dict:
    return {"_id": _id, "@timestamp": "2026-01-01T00:00:00Z", "event": {"category": [category], "code": code},
            "host": {"os": {"type": "windows"}}, "winlog": {"event_data": data}}


# raw EventData as Sysmon writes it, and the ECS values Elastic's Sysmon pipeline sets from it
# (packages/windows/data_stream/sysmon_operational/elasticsearch/ingest_pipeline/default.yml)
SYSMON_CASES = [
    # renames in order: Image first; SourceImage for process access; "-" is dropped first
    (_sysmon("access", "10", SourceImage="C:\\Tools\\x.exe", TargetImage="C:\\Windows\\system32\\lsass.exe",
             User="CORP\\alice"),
     {"process.executable": "C:\\Tools\\x.exe", "process.name": "x.exe", "user.name": "alice", "user.domain": "CORP",
      "winlog.event_data.TargetImage": "C:\\Windows\\system32\\lsass.exe"}),
    (_sysmon("dash-image", "10", Image="-", SourceImage="C:\\y.exe", GrantedAccess="-"),
     {"process.executable": "C:\\y.exe", "winlog.event_data.GrantedAccess": ""}),
    # no backslash: no name; a one-character executable: no name
    (_sysmon("bare", "1", Image="cmd.exe"), {"process.executable": "cmd.exe", "process.name": ""}),
    # User: String.split drops trailing empty parts; exactly two parts give domain and name
    (_sysmon("user-trailing", "1", User="CORP\\bob\\"), {"user.name": "bob", "user.domain": "CORP"}),
    (_sysmon("user-three", "1", User="A\\B\\C"), {"user.name": "", "user.domain": ""}),
    (_sysmon("user-nodomain", "1", User="\\carol"), {"user.name": "carol", "user.domain": ""}),
    (_sysmon("user-dash", "1", User="-"), {"user.name": ""}),
    # file.path from TargetFilename; the extension is after the path's LAST dot, directory dots too
    (_sysmon("file", "2", "file", TargetFilename="C:\\dir.d\\a.EXE"), {"file.path": "C:\\dir.d\\a.EXE", "file.extension": "EXE"}),
    (_sysmon("file-nodot", "2", "file", TargetFilename="C:\\dir.d\\a"), {"file.extension": "d\\a"}),
    (_sysmon("file-noslash", "2", "file", TargetFilename="a.exe"), {"file.extension": ""}),
    (_sysmon("driver", "6", "driver", ImageLoaded="C:\\w\\d.sys"), {"file.path": "C:\\w\\d.sys"}),
    # kqlhb: the parent name from ParentImage, the command lines, the process GUIDs in the
    # pipeline's rename order (ProcessGuid, SourceProcessGuid, SourceProcessGUID; the zero GUID is
    # dropped first), and the older TargetProcessGuid spelling renamed to TargetProcessGUID
    (_sysmon("parent", "1", ParentImage="C:\\Program Files\\Office\\WINWORD.EXE", CommandLine='"C:\\a b\\x.exe" -c 1',
             ParentCommandLine="winword.exe /n", ProcessGuid="{aa-1}", ParentProcessGuid="{aa-0}"),
     {"process.parent.name": "WINWORD.EXE", "process.command_line": '"C:\\a b\\x.exe" -c 1',
      "process.parent.command_line": "winword.exe /n", "process.entity_id": "{aa-1}", "process.parent.entity_id": "{aa-0}"}),
    (_sysmon("parent-bare", "1", ParentImage="winword.exe", ParentCommandLine="-"),
     {"process.parent.name": "", "process.parent.command_line": ""}),
    (_sysmon("access-guid", "10", SourceProcessGUID="{bb-1}", TargetProcessGUID="{bb-2}"),
     {"process.entity_id": "{bb-1}", "winlog.event_data.TargetProcessGUID": "{bb-2}"}),
    (_sysmon("access-old", "10", SourceProcessGuid="{cc-1}", TargetProcessGuid="{cc-2}"),
     {"process.entity_id": "{cc-1}", "winlog.event_data.TargetProcessGUID": "{cc-2}"}),
    (_sysmon("zero-guid", "8", ProcessGuid="{00000000-0000-0000-0000-000000000000}", SourceProcessGuid="{dd-1}"),
     {"process.entity_id": "{dd-1}"}),
]


def test_sysmon_expressions_give_what_elastic_sets():
    prof = load_profile("sentinel")
    table = prof.tables["Event"]
    prof = dataclasses.replace(prof, tables={"Event": table})
    events = [e for e, _ in SYSMON_CASES]
    loaded = load(prof, events)
    assert not loaded.excluded
    from eqlc.targets.kql.raw_tables import xml_field
    names = sorted({f for _, want in SYSMON_CASES for f in want})
    exprs = {n: (table.fields.get(n) or xml_field(table, n)).expr for n in names}
    query = f"Event | project {ID_COLUMN}, " + ", ".join(f"v{i} = tostring({exprs[n]})" for i, n in enumerate(names))
    got = {row[0]: dict(zip(names, row[1:])) for row in duckdb_kql.kql(connect(loaded, query), query).fetchall()}
    for event, want in SYSMON_CASES:
        for name, value in want.items():
            assert (got[event["_id"]][name] or "") == value, (event["_id"], name, got[event["_id"]][name])


LSASS = ('process where event.code == "10" and winlog.event_data.TargetImage : "?:\\\\WINDOWS\\\\system32\\\\lsass.exe" '
         'and process.name : "x.exe" and not process.executable : "?:\\\\Program Files\\\\*"')


def test_sysmon_rule_on_duckdb_kql():
    def ev(_id, code, exe=None, name=None, target="C:\\Windows\\System32\\lsass.exe", log=None, **data):
        e = _sysmon(_id, code, TargetImage=target, **data)
        e["process"] = {k: v for k, v in (("executable", exe), ("name", name)) if v is not None}
        return e
    events = [ev("hit", "10", "C:\\Tools\\x.exe", "x.exe"),
              ev("name-only", "10", None, "X.EXE"),                       # adapter writes SourceImage \X.EXE
              ev("program-files", "10", "C:\\Program Files\\x.exe", "x.exe"),
              ev("other-target", "10", "C:\\Tools\\x.exe", "x.exe", target="C:\\a.exe"),
              ev("create-thread", "8", "C:\\Tools\\x.exe", "x.exe"),
              # a name the pipeline would not derive from that executable
              ev("inconsistent", "10", "C:\\Tools\\y.exe", "x.exe")]
    rule = Rule(query=parse_query(LSASS), query_text=LSASS, name="sysmon", index=SYSMON)
    tr = TARGET.compile(rule, profile="sentinel")
    assert tr.status is Status.ASSUMPTIONS, tr.notes
    assert tr.output.splitlines()[:2] == ["Event", '| where EventLog == "Microsoft-Windows-Sysmon/Operational"']
    out = TARGET.outside_assumptions(rule, tr, events, profile="sentinel")
    # name-only: the rule reads process.executable too, which Elastic always sets beside the name
    assert set(out) == {"inconsistent", "name-only"}, out
    got = sorted(TARGET.execute(tr, events, profile="sentinel"))
    m = matcher(rule)
    want = sorted(e["_id"] for e in events if m.match(e) and e["_id"] not in out)
    assert got == want == ["hit"]
    # a rule reading the name alone: the adapter writes SourceImage "\\X.EXE" for name-only
    text = 'process where event.code == "10" and process.name : "x.exe"'
    rule = Rule(query=parse_query(text), query_text=text, name="sysmon", index=SYSMON)
    tr = TARGET.compile(rule, profile="sentinel")
    out = TARGET.outside_assumptions(rule, tr, events, profile="sentinel")
    assert set(out) == {"inconsistent"}, out  # its name is not the one its executable gives
    got = sorted(TARGET.execute(tr, events, profile="sentinel"))
    assert got == sorted(e["_id"] for e in events if matcher(rule).match(e) and e["_id"] not in out) == [
        "hit", "name-only", "other-target", "program-files"]


def test_sysmon_table_choice_and_refusals():
    def comp(text, index=SYSMON):
        return TARGET.compile(Rule(query=parse_query(text), query_text=text, name="s", index=index), profile="sentinel")
    # winlogbeat-* alone is the Security log (Event lists it only beside the Sysmon data stream)
    assert comp('iam where event.code == "4738"', ("winlogbeat-*",)).output.startswith("SecurityEvent")
    assert comp('process where event.code == "1"', ("logs-windows.sysmon_operational-*",)).output.startswith("Event\n")
    # values the pipeline moves out of winlog.event_data: refused, not read from the XML
    tr = comp('process where event.code == "1" and winlog.event_data.Image : "*x*"')
    assert tr.status is Status.REFUSED and "winlog.event_data.Image has no column in Event" in tr.notes[0]
    # derived fields need the event ids pinned (the fixture adapter writes them back per id); kqlkerb2:
    # Event computes event.category per event id (the pipeline's categorization script), so the
    # query's category pins them, as on SecurityEvent
    tr = comp('process where process.name : "x.exe"')
    assert tr.status is Status.ASSUMPTIONS and "EventID in (1, 4, 5, 7, 8, 9, 10, 19, 20, 21, 25, 255)" in tr.output, tr.output
    tr = comp('any where process.name : "x.exe"')
    assert tr.status is Status.REFUSED and "does not pin the event ids" in tr.notes[0]
    # event.provider is a table fact: a rule testing another provider selects nothing
    tr = comp('process where event.code == "8" and event.provider == "Microsoft-Windows-Sysmon"')
    assert tr.status is Status.ASSUMPTIONS and "Sysmon\"" not in tr.output.split("\n", 2)[2]


def test_service_installed_by_unusual_client_on_hand_written_events():
    """privilege_escalation_windows_service_via_unusual_client: its generated witnesses all hold
    user.domain "" (the generator satisfies startswith~(user.domain, winlog.computer_name) with two
    empty strings, which Kusto reads as missing), so corpus verification is vacuous for it; these
    events, written as Elastic's pipeline writes 4697, exercise the translation."""
    text = ('configuration where host.os.type == "windows" and event.action == "service-installed" and '
            '(winlog.event_data.ClientProcessId == "0" or winlog.event_data.ParentProcessId == "0") and '
            'startswith~(user.domain, winlog.computer_name) and winlog.event_data.ServiceAccount == "LocalSystem" and '
            'not winlog.event_data.ServiceFileName : "%SystemRoot%\\\\pbpsdeploy.exe"')

    def ev(_id, domain, computer, client="0", account="LocalSystem", file="C:\\x.exe"):
        return {"_id": _id, "@timestamp": "2026-01-01T00:00:00Z",
                "event": {"category": ["iam", "configuration"], "action": "service-installed", "code": "4697",
                          "outcome": "success"},
                "host": {"os": {"type": "windows"}}, "user": {"domain": domain},
                "winlog": {"computer_name": computer, "event_data": {
                    "SubjectDomainName": domain, "ClientProcessId": client, "ServiceAccount": account,
                    "ServiceFileName": file}}}
    events = [ev("hit", "HOST1", "host1"), ev("hit-prefix", "HOST1.corp", "host1"),
              ev("other-domain", "CORP", "host1"), ev("client", "HOST1", "host1", client="4"),
              ev("account", "HOST1", "host1", account="NT AUTHORITY\\System"),
              ev("excluded-file", "HOST1", "host1", file="%systemroot%\\PBPSDEPLOY.EXE")]
    tr, got, want, out = _run(text, events)
    assert not out, out
    assert got == want == ["hit", "hit-prefix"]


def test_logon_id_sequence_on_hand_written_events():
    """lateral_movement_remote_service_installed_winlog joins a 4624 and a 4697 on winlog.logon.id,
    which Elastic's pipeline sets from SubjectLogonId (TargetLogonId for 4634/4647/4964, LogonID for
    4778/4779). Its generated witnesses give winlog.logon.id and SubjectLogonId unrelated values,
    which no Elastic event has, so corpus verification is vacuous for it; these are written as the
    pipeline writes them."""
    text = ('sequence by winlog.logon.id, winlog.computer_name with maxspan=1m '
            '[authentication where event.action == "logged-in" and winlog.logon.type : "Network" and '
            'event.outcome == "success" and source.ip != null and source.ip != "127.0.0.1"] '
            '[iam where event.action == "service-installed" and not winlog.event_data.SubjectLogonId : "0x3e7"]')

    def logon(_id, ts, lid, ip="10.0.0.1"):
        return {"_id": _id, "@timestamp": f"2026-01-01T00:00:{ts:02d}Z",
                "event": {"category": ["authentication"], "action": "logged-in", "code": "4624", "outcome": "success"},
                "host": {"os": {"type": "windows"}}, "source": {"ip": ip},
                "winlog": {"computer_name": "srv", "logon": {"id": lid, "type": "Network"},
                           "event_data": {"SubjectLogonId": lid, "LogonType": "3", "IpAddress": ip}}}

    def service(_id, ts, lid):
        return {"_id": _id, "@timestamp": f"2026-01-01T00:00:{ts:02d}Z",
                "event": {"category": ["iam", "configuration"], "action": "service-installed", "code": "4697",
                          "outcome": "success"},
                "host": {"os": {"type": "windows"}},
                "winlog": {"computer_name": "srv", "logon": {"id": lid}, "event_data": {"SubjectLogonId": lid}}}
    events = [logon("l1", 1, "0x1"), service("s1", 2, "0x1"), service("s2", 3, "0x2"),
              logon("l3", 4, "0x3e7"), service("s3", 5, "0x3e7"), logon("l4", 6, "0x4", ip="127.0.0.1"), service("s4", 7, "0x4")]
    rule = _rule(text)
    tr = TARGET.compile(rule, profile="sentinel")
    assert tr.status is Status.ASSUMPTIONS, tr.notes
    out = TARGET.outside_assumptions(rule, tr, events, profile="sentinel")
    assert not out, out
    got = sorted(TARGET.execute(tr, events, profile="sentinel"))
    want = sorted(dict.fromkeys(e["_id"] for m in matcher(rule).run(events, sort=True) for e in m.events))
    assert got == want == ["l1", "s1"]


def test_logon_id_expression_follows_the_pipeline_order():
    prof = load_profile("sentinel")
    table = prof.tables["SecurityEvent"]
    prof = dataclasses.replace(prof, tables={"SecurityEvent": table})
    cases = [(_ev("a", "4624", "authentication", SubjectLogonId="0x3e7", TargetLogonId="0x99"), "0x3e7"),
             (_ev("b", "4634", "authentication", TargetLogonId="0x98"), "0x98"),
             (_ev("c", "4964", SubjectLogonId="0x5", TargetLogonId="0x97"), "0x5"),
             (_ev("d", "4778", "authentication", LogonID="0x96"), "0x96"),
             (_ev("e", "4688", "process", TargetLogonId="0x95"), "")]
    loaded = load(prof, [e for e, _ in cases])
    q = f"SecurityEvent | project {ID_COLUMN}, v = tostring({table.fields['winlog.logon.id'].expr})"
    got = dict(duckdb_kql.kql(connect(loaded, q), q).fetchall())
    assert {e["_id"]: (got[e["_id"]] or "") for e, _ in cases} == {e["_id"]: v for e, v in cases}


def test_source_port_and_shared_windows_patterns():
    """logs-windows.* / logs-system.* read as the Security log only beside one of its own patterns;
    source.port is IpPort as a number for the events whose IpPort Elastic renames."""
    def comp(text, index):
        return TARGET.compile(Rule(query=parse_query(text), query_text=text, name="s", index=index), profile="sentinel")
    text = 'authentication where event.code == "4624" and source.ip == "127.0.0.1" and source.port > 0'
    assert comp(text, ("winlogbeat-*", "logs-system.*")).output.startswith("SecurityEvent\n")
    assert comp(text, ("logs-system.security*", "logs-windows.*")).output.startswith("SecurityEvent\n")
    assert comp(text, ("logs-windows.*",)).status is Status.REFUSED
    events = [_logon("p1", "4624", "success", "127.0.0.1"), _logon("p0", "4624", "success", "127.0.0.1"),
              _logon("raw", "4624", "success", "127.0.0.1", IpPort="51000"), _logon("dash", "4624", "success", "127.0.0.1", IpPort="-")]
    events[0]["source"]["port"] = 49152
    events[1]["source"]["port"] = 0
    events[2]["source"]["port"] = 51000
    tr, got, want, out = _run(text, events)
    assert not out, out
    assert got == want == ["p1", "raw"]


def _wfp(_id: str, action: str | None, code: str | None, name: str | None, app: str | None = None) -> dict:
    e: dict = {"_id": _id, "@timestamp": "2026-01-01T00:00:00Z", "event": {"category": ["network"]},
               "host": {"os": {"type": "windows"}}, "winlog": {"event_data": {}}}
    if action is not None:
        e["event"]["action"] = action
    if code is not None:
        e["event"]["code"] = code
    if name is not None:
        e["process"] = {"name": name}
        if app is not None:
            e["process"]["executable"] = app
    return e


def test_filtering_platform_events_on_duckdb_kql():
    """kqlwinsec: 5152/5157 read by their action and process.name from the EventData Application
    (defense_evasion_windows_filtering_platform's step, on one event)."""
    text = 'network where event.action : ("windows-firewall-packet-block", "windows-firewall-packet-drop") and process.name : "bdagent.exe"'
    events = [
        _wfp("block", "windows-firewall-packet-block", "5157", "bdagent.exe", "\\device\\harddiskvolume2\\bd\\bdagent.exe"),
        _wfp("drop-upper", "windows-firewall-packet-drop", "5152", "BDAGENT.EXE", "\\device\\harddiskvolume2\\bd\\BDAGENT.EXE"),
        _wfp("name-only", "windows-firewall-packet-block", "5157", "bdagent.exe"),   # adapter writes Application
        _wfp("other-process", "windows-firewall-packet-block", "5157", "svchost.exe", "C:\\Windows\\svchost.exe"),
        _wfp("allowed", "windows-firewall-connection", "5156", "bdagent.exe", "C:\\bd\\bdagent.exe"),
        _wfp("no-process", "windows-firewall-packet-block", "5157", None),
        # an action whose id is not the one Elastic gives it: outside the value mapping
        _wfp("wrong-id", "windows-firewall-packet-block", "5152", "bdagent.exe", "C:\\bd\\bdagent.exe"),
    ]
    tr, got, want, out = _run(text, events)
    assert tr.status is Status.ASSUMPTIONS, tr.notes
    assert "EventID in (5157, 5152)" in tr.output and "Application" in tr.output
    assert set(out) <= {"wrong-id"}, out
    assert got == want == ["block", "drop-upper", "name-only"]


# ---- kqlhb: a Sysmon sequence joined on the host and the process GUIDs (the calltrace rule's shape)
CALLTRACE = r'''
sequence by host.id with maxspan=1m
  [process where host.os.type == "windows" and event.code == "1" and
   process.parent.name : ("winword.exe", "rundll32.exe", "regsvr32.exe") and
   not (process.args in ("8192", "12288") and process.parent.name : "winword.exe") and
   not (process.parent.name : "regsvr32.exe" and process.parent.args : ("?:\\Program Files\\*", "?:\\Program Files (x86)\\*"))
  ] by process.parent.entity_id, process.entity_id
  [process where host.os.type == "windows" and event.code == "10" and winlog.event_data.CallTrace : "*UNKNOWN*"]
   by process.entity_id, winlog.event_data.TargetProcessGUID
'''


def _start(_id: str, ts: str, host: str, parent: str, parent_line: str, parent_args: list, line: str, args: list,
           guid: str, parent_guid: str) -> dict:
    e = _sysmon(_id, "1")
    e["@timestamp"] = ts
    e["host"]["id"] = host
    e["process"] = {"entity_id": guid, "command_line": line, "args": args,
                    "parent": {"name": parent, "entity_id": parent_guid, "command_line": parent_line, "args": parent_args}}
    return e


def _access(_id: str, ts: str, host: str, guid: str, target: str, trace: str) -> dict:
    e = _sysmon(_id, "10", CallTrace=trace, TargetProcessGUID=target)
    e["@timestamp"] = ts
    e["host"]["id"] = host
    e["process"] = {"entity_id": guid}
    return e


def test_calltrace_sequence_on_hand_written_events():
    """Parent name, the parent's command line split as Windows splits it (a quoted path with a
    space), the process GUIDs as join keys and host.id joined on Computer, run on duckdb-kql with
    the scan model against the matcher."""
    events = [
        _start("w-start", "2026-01-01T00:00:00Z", "h1", "WINWORD.EXE", "winword.exe /n", ["winword.exe", "/n"],
               "x.exe 4096", ["x.exe", "4096"], "{p1}", "{w1}"),
        _access("w-access", "2026-01-01T00:00:10Z", "h1", "{w1}", "{p1}", "ntdll.dll+1|UNKNOWN(00007FF)"),
        # the same GUIDs on another host: host.id (Computer) keeps them apart
        _access("other-host", "2026-01-01T00:00:11Z", "h2", "{w1}", "{p1}", "UNKNOWN(1)"),
        # the excluded argument
        _start("w-8192", "2026-01-01T00:00:20Z", "h1", "winword.exe", "winword.exe", ["winword.exe"],
               "splwow64.exe 8192", ["splwow64.exe", "8192"], "{p2}", "{w2}"),
        _access("w-8192-access", "2026-01-01T00:00:21Z", "h1", "{w2}", "{p2}", "UNKNOWN"),
        # regsvr32 with a quoted Program Files argument (excluded) and one outside it (kept)
        _start("r-pf", "2026-01-01T00:00:30Z", "h1", "regsvr32.exe", 'regsvr32.exe /s "C:\\Program Files\\a b\\x.dll"',
               ["regsvr32.exe", "/s", "C:\\Program Files\\a b\\x.dll"], "y.exe", ["y.exe"], "{p3}", "{r3}"),
        _access("r-pf-access", "2026-01-01T00:00:31Z", "h1", "{r3}", "{p3}", "UNKNOWN"),
        _start("r-tmp", "2026-01-01T00:00:40Z", "h1", "regsvr32.exe", 'regsvr32.exe /s "C:\\Temp\\a b\\x.dll"',
               ["regsvr32.exe", "/s", "C:\\Temp\\a b\\x.dll"], "z.exe", ["z.exe"], "{p4}", "{r4}"),
        _access("r-tmp-access", "2026-01-01T00:00:41Z", "h1", "{r4}", "{p4}", "x|UNKNOWN|y"),
        # a known call trace: no match
        _start("k-start", "2026-01-01T00:00:50Z", "h1", "rundll32.exe", "rundll32.exe a,b", ["rundll32.exe", "a,b"],
               "q.exe", ["q.exe"], "{p5}", "{k5}"),
        _access("k-access", "2026-01-01T00:00:51Z", "h1", "{k5}", "{p5}", "ntdll.dll+1|kernelbase.dll+2"),
    ]
    rule = Rule(query=parse_query(CALLTRACE), query_text=CALLTRACE, name="calltrace", index=SYSMON)
    tr = TARGET.compile(rule, profile="sentinel")
    assert tr.status is Status.ASSUMPTIONS, tr.notes
    assert "__winargs_process_parent_args" in tr.output
    out = TARGET.outside_assumptions(rule, tr, events, profile="sentinel")
    assert not out, out
    got = sorted(TARGET.execute(tr, events, profile="sentinel"))
    want = sorted(dict.fromkeys(e["_id"] for m in matcher(rule).run(events, sort=True) for e in m.events))
    assert got == want == ["r-tmp", "r-tmp-access", "w-access", "w-start"], (got, want)
