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


# ---- event.type and event.category per event id, process.name (kqlraw) -------------------------
SECLOGON = ('sequence by winlog.computer_name with maxspan=1m '
            '[authentication where event.action == "logged-in" and process.name == "svchost.exe"] '
            'by winlog.event_data.TargetLogonId '
            '[process where event.type == "start"] by winlog.event_data.TargetLogonId')


def _sec(_id: str, second: int, code: int, categories, types, logon: str, executable: str = "", parent: str = "") -> dict:
    ev = {"_id": _id, "@timestamp": f"2026-01-01T00:00:{second:02d}Z", "host": {"os": {"type": "windows"}},
          "event": {"code": str(code), "category": list(categories), "type": list(types)},
          "winlog": {"computer_name": "WS1", "event_data": {"TargetLogonId": logon}}}
    if code == 4624:
        ev["event"]["action"] = "logged-in"
    if executable:
        ev["process"] = {"executable": executable, "name": executable.rsplit("\\", 1)[-1]}
    return ev


def test_category_and_type_of_a_step_are_read_from_the_event_id():
    """The second step reads `process` and `start` from EventID (4688, 5024), not as an assumption on
    whatever rows it selects: a later 4624 logon (authentication, start) with the same logon id is no
    process start, and the query does not take it for one."""
    from eqlc.targets.kql import TARGET
    from tests.test_kql_sentinel import matcher
    from tests.node.kusto import analyse, declared_tables

    svchost = "C:\\Windows\\System32\\svchost.exe"
    events = [
        _sec("logon", 0, 4624, ["authentication"], ["start"], "0x1", svchost),
        _sec("logon-again", 1, 4624, ["authentication"], ["start"], "0x1", svchost),
        _sec("proc", 2, 4688, ["process"], ["start"], "0x1", "C:\\Windows\\notepad.exe"),
        _sec("logon-2", 3, 4624, ["authentication"], ["start"], "0x2", "C:\\Windows\\lsass.exe"),
        _sec("proc-2", 4, 4688, ["process"], ["start"], "0x2", "C:\\x.exe"),
        _sec("exit", 5, 4689, ["process"], ["end"], "0x1"),
    ]
    rule = _rule(SECLOGON)
    tr = TARGET.compile(rule, profile="sentinel")
    assert tr.status is Status.ASSUMPTIONS, tr.notes
    assert "EventID in (1100, 4688, 4689, 5024, 5025)" in tr.output  # the step's category, from the id
    assert not TARGET.outside_assumptions(rule, tr, events, profile="sentinel")
    got = sorted(TARGET.execute(tr, events, profile="sentinel"))
    want = sorted(dict.fromkeys(e["_id"] for m in matcher(rule).run(events, sort=True) for e in m.events))
    assert got == want == ["logon-again", "proc"], (got, want)
    assert analyse([tr.output], declared_tables("sentinel")) == [[]]


def test_an_event_type_the_event_id_does_not_give_is_outside():
    from eqlc.targets.kql import TARGET

    rule = _rule('process where event.type == "start" and event.code == "4688"')
    tr = TARGET.compile(rule, profile="sentinel")
    events = [_sec("ok", 0, 4688, ["process"], ["start"], "0x1"), _sec("odd", 1, 4688, ["process"], ["end"], "0x1")]
    out = TARGET.outside_assumptions(rule, tr, events, profile="sentinel")
    assert set(out) == {"odd"} and "event.type" in out["odd"], out
    assert TARGET.execute(tr, events, profile="sentinel") == ["ok"]
