"""Witnesses shaped as Elastic's Windows event log pipelines write them (:mod:`eqlc.fixtures.winlog_shape`).

A rule whose index patterns name the Sysmon or Security log's data stream gets, beside the generator's
Elastic Defend-shaped events, selected and rejected events shaped as that log's pipeline writes them:
the event id in event.code, the channel, and exactly the category, type and action the pipeline sets
for that id (winlog_sysmon.yaml, winlog_security.yaml), with no Elastic Defend-only field. Each test
checks the shape against the source facts and that every verdict is the matcher's.
"""

from __future__ import annotations

from eqlc.fixtures.oracle import Oracle
from eqlc.fixtures.values import MISSING
from eqlc.fixtures.winlog_facts import ids_by_value, log_facts
from eqlc.fixtures.winlog_shape import plausible_logs, shape_options
from eqlc.fixtures.witness import generate
from eqlc.parser import parse_query
from eqlc.rule import Rule

ORACLE = Oracle()


def _rule(query: str, index: tuple[str, ...]) -> Rule:
    return Rule(query=parse_query(query), query_text=query, name="query", index=index)


def _get(event: dict, path: str):
    """The field's value as the event holds it (a list stays a list)."""
    node: object = event
    for part in path.split("."):
        if not isinstance(node, dict) or part not in node:
            return None
        node = node[part]
    return node


def _shaped(query: str, index: tuple[str, ...]) -> tuple[list[dict], set]:
    ws = generate(_rule(query, index), ORACLE)
    selected = set(ORACLE.selected(ORACLE.matcher(ws.rule), ws.events))
    assert selected == set(ws.expected)
    return [e for e in ws.events if "shaped as" in e.get("_note", "")], selected


def test_a_rule_reads_the_logs_its_index_patterns_name_its_own_data_stream_first() -> None:
    assert plausible_logs(("logs-endpoint.events.*",)) == ()
    assert plausible_logs(("logs-windows.sysmon_operational-*",)) == ("sysmon",)
    assert plausible_logs(("logs-system.security*", "winlogbeat-*")) == ("security", "sysmon")
    assert plausible_logs(("winlogbeat-*", "logs-windows.*")) == ("sysmon", "security")
    assert plausible_logs(()) == ()


def test_an_image_load_is_shaped_as_sysmon_7_with_the_image_in_file_and_no_dll() -> None:
    event = {("event", "category"): ["library"], ("event", "action"): "load", ("dll", "name"): "x.dll",
             ("dll", "path"): "C:\\x\\x.dll", ("process", "Ext", "token", "integrity_level_name"): "high"}
    opts = shape_options(event, "sysmon")
    assert opts, "no Sysmon shape for a library event"
    seven = next(o for o in opts if o[("event", "code")] == "7")
    assert seven[("event", "category")] == ["process"] and seven[("event", "type")] == ["change"]
    assert seven[("event", "action")] == "Image loaded"
    assert seven[("winlog", "channel")] == "Microsoft-Windows-Sysmon/Operational"
    assert seven[("file", "name")] == "x.dll" and seven[("file", "path")] == "C:\\x\\x.dll"
    assert all(seven[k] is MISSING for k in event if k[0] == "dll" or "Ext" in k)


def test_an_event_naming_an_id_of_another_log_has_no_shape_in_this_one() -> None:
    assert shape_options({("event", "code"): "4688"}, "sysmon") == []
    assert [o[("event", "code")] for o in shape_options({("event", "code"): "4688"}, "security")] == ["4688"]


def test_the_dns_plugin_rule_gets_sysmon_7_witnesses_selected_and_rejected() -> None:
    query = ('any where host.os.type == "windows" and event.category : ("library", "process") and '
             'event.type : ("start", "change") and event.action : ("load", "Image loaded*") and '
             'process.executable : "?:\\\\windows\\\\system32\\\\dns.exe" and not ?dll.code_signature.trusted == true '
             'and not file.code_signature.status == "Valid"')
    shaped, selected = _shaped(query, ("logs-endpoint.events.library-*", "logs-windows.sysmon_operational-*"))
    sysmon = [e for e in shaped if _get(e, "winlog.channel") == "Microsoft-Windows-Sysmon/Operational"]
    pos = [e for e in sysmon if e["_id"] in selected]
    neg = [e for e in sysmon if e["_id"] not in selected]
    assert pos and neg
    cats, types, action = log_facts("sysmon")["ecs"][7]
    for e in pos:
        assert _get(e, "event.code") == "7" and _get(e, "event.action") == action
        assert _get(e, "event.category") == list(cats) and _get(e, "event.type") == list(types)
        assert "dll" not in e
    for e in sysmon:  # every shaped event carries the categorization of its own id
        c, t, a = log_facts("sysmon")["ecs"][int(_get(e, "event.code"))]
        assert _get(e, "event.action") == a


def test_a_process_start_read_from_the_security_log_is_a_4688() -> None:
    shaped, selected = _shaped('process where event.type == "start" and process.name : "cmd.exe"',
                               ("logs-system.security*",))
    pos = [e for e in shaped if e["_id"] in selected]
    assert pos and any(e["_id"] not in selected for e in shaped)
    for e in pos:
        assert _get(e, "event.code") == "4688" and _get(e, "winlog.channel") == "Security"
        assert _get(e, "event.action") == "created-process"
        assert _get(e, "event.category") == ["process"] and _get(e, "event.type") == ["start"]


def test_a_rule_of_no_windows_log_gets_no_shaped_witness() -> None:
    shaped, _ = _shaped('process where event.type == "start" and process.name : "cmd.exe"', ("logs-endpoint.events.*",))
    assert shaped == []


def test_a_sequence_joined_on_the_logon_id_gets_security_events_whose_copies_agree() -> None:
    query = ('sequence by winlog.logon.id with maxspan=1m '
             '[authentication where event.action == "logged-in" and winlog.logon.type : "Network"] '
             '[iam where event.action == "service-installed" and not winlog.event_data.SubjectLogonId : "0x3e7"]')
    ws = generate(_rule(query, ("logs-system.security*",)), ORACLE)
    selected = set(ORACLE.selected(ORACLE.matcher(ws.rule), ws.events))
    assert selected == set(ws.expected)
    shaped = [e for e in ws.events if "shaped as" in e.get("_note", "")]
    installs = [e for e in shaped if _get(e, "event.code") == "4697" and e["_id"] in selected]
    assert installs, "no selected 4697 shaped as the Security log writes it"
    for e in installs:  # winlogbeat copies SubjectLogonId into winlog.logon.id for a 4697
        assert _get(e, "winlog.logon.id") == _get(e, "winlog.event_data.SubjectLogonId")
        assert _get(e, "event.type") == list(log_facts("security")["ecs"][4697][1])


def test_the_sysmon_facts_are_those_the_sentinel_profile_reads() -> None:
    from eqlc.targets.kql.profile import load_profile

    event = load_profile("sentinel").tables["Event"]
    assert {k: tuple(int(i) for i in v) for k, v in event.fields["event.action"].values.items()} == ids_by_value("sysmon", "action")
    for key in ("category", "type"):
        when = event.fields[f"event.{key}"].value_when
        assert set(when) == set(ids_by_value("sysmon", key))
        for v, ids in ids_by_value("sysmon", key).items():
            assert when[v] == f"isnotnull(EventID) and EventID in ({', '.join(map(str, ids))})"
