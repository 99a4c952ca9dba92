"""The `sentinel` KQL profile's winlog.process.pid (issue 13): the Security event's System/Execution
ProcessID, SecurityEvent's SystemProcessId ("Identifies the process that generated the event"), as a
sequence join key. duckdb-kql runs the sequence over the rows the fixture adapter builds; the events
are joined by computer and logging process exactly as the reference matcher joins them.
"""

from __future__ import annotations

from eqlc.result import Status
from tests.test_kql_sentinel import _rule, matcher

VAULT = ('sequence by winlog.computer_name, winlog.process.pid with maxspan=1m '
         '[any where event.code == "5382" and winlog.event_data.Resource : "http*"] '
         '[any where event.code == "5382" and winlog.event_data.Resource : "http*"]')


def _ev(_id: str, second: int, computer: str, pid: int, resource: str = "https://example.com/") -> dict:
    return {"_id": _id, "@timestamp": f"2026-01-01T00:00:{second:02d}Z", "host": {"os": {"type": "windows"}},
            "event": {"code": "5382"}, "winlog": {"computer_name": computer, "process": {"pid": pid},
                                                   "event_data": {"Resource": resource}}}


def test_vault_reads_joined_by_the_logging_process():
    from eqlc.targets.kql import TARGET
    from tests.node.kusto import analyse, declared_tables

    events = [_ev("a1", 0, "WS1", 700), _ev("b1", 1, "WS1", 800), _ev("a2", 2, "WS1", 700),
              _ev("c1", 3, "WS2", 700), _ev("b-local", 4, "WS1", 800, "file://x"), _ev("d1", 5, "ws1", 800)]
    rule = _rule(VAULT)
    tr = TARGET.compile(rule, profile="sentinel")
    assert tr.status is Status.ASSUMPTIONS and "pack_array(Computer, SystemProcessId)" in tr.output
    assert not TARGET.outside_assumptions(rule, tr, events, profile="sentinel")
    got = sorted(TARGET.execute(tr, events, profile="sentinel"))
    want = sorted(dict.fromkeys(e["_id"] for m in matcher(rule).run(events, sort=True) for e in m.events))
    assert got == want == ["a1", "a2"], (got, want)
    assert analyse([tr.output], declared_tables("sentinel")) == [[]]
