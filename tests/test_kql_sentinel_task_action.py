"""The `sentinel` KQL profile's event.action for a Security event id Elastic's categorization table does
not list (issue 13): 4703 keeps the action the Windows event log input sets, its task category in
English, "Token Right Adjusted Events", read as EventID 4703 (the only event of that task).

duckdb-kql runs the query over the rows the fixture adapter builds from the same profile YAML; the
events the value mapping sets apart (a localized task name on a 4703 event, the task name on another
event id) are asserted by name, so a map that named other ids, or no check, fails here.
"""

from __future__ import annotations

from eqlc.result import Status
from tests.test_kql_sentinel import _rule, _run

TOKEN = ('any where host.os.type == "windows" and event.action : "Token Right Adjusted Events" and '
         'winlog.event_data.EnabledPrivilegeList : "SeDebugPrivilege"')


def _ev(_id: str, code: str, action: str, privileges: str = "SeDebugPrivilege") -> dict:
    return {"_id": _id, "@timestamp": "2026-01-01T00:00:00Z", "host": {"os": {"type": "windows"}},
            "event": {"code": code, "action": action, "provider": "Microsoft-Windows-Security-Auditing"},
            "winlog": {"event_data": {"EnabledPrivilegeList": privileges, "SubjectUserSid": "S-1-5-21-1"}}}


def test_token_right_adjusted_reads_event_id_4703():
    events = [
        _ev("match", "4703", "Token Right Adjusted Events"),
        _ev("other-privilege", "4703", "Token Right Adjusted Events", "SeBackupPrivilege"),
        _ev("other-action", "4624", "logged-in"),
        # outside: a 4703 event whose task name is rendered in another language
        _ev("localized", "4703", "Ereignisse zur Anpassung von Tokenrechten"),
        # outside: the task name on an event id that is not 4703
        _ev("other-id", "4672", "Token Right Adjusted Events"),
    ]
    tr, got, want, out = _run(_rule(TOKEN), events)
    assert tr.status is Status.ASSUMPTIONS and "EventID in (4703)" in tr.output
    assert set(out) == {"localized", "other-id"}, out
    assert got == want == ["match"], (got, want)
    assert any("renders it in English" in n for n in tr.notes)


def test_token_right_adjusted_query_parses_with_microsofts_parser():
    from eqlc.targets.kql import TARGET
    from tests.node.kusto import analyse, declared_tables

    tr = TARGET.compile(_rule(TOKEN), profile="sentinel")
    assert analyse([tr.output], declared_tables("sentinel")) == [[]]
