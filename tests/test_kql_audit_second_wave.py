"""Adversarial checks of last session's second-wave KQL constructs (audit7): the emitted query runs
on duckdb-kql over the rows the fixture adapter builds and must select what the reference matcher
selects on every event the translation's stated assumptions keep (the events they set apart carry a
reason). Events are generated around each construct's edges: missing and empty values, lists, case,
quotes and backslashes, equal timestamps and the maxspan edge.

Covered here: the Heartbeat lookup for host.ip (latest Heartbeat per Computer, one private address)
and the scripts that read it (``indexOf(...) == null``, ``endswith``, ``string()``).
"""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from eqlc.matcher import matcher
from eqlc.result import Status
from eqlc.targets.kql import TARGET
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
