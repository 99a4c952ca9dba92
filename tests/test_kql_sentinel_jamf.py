"""The `sentinel` KQL profile's jamfprotecttelemetryv2_CL table (issue 13: Jamf Protect's Open Directory
telemetry on Sentinel, the custom table its Jamf Protect solution creates), chosen by the rule's index
pattern (logs-jamf_protect*).

The record's `event` column holds one member named by the event's kind ({"od_group_add": {...}}):
event.action is that member's name, event.type / event.category are read per action as Elastic's
jamf_protect pipelines set them, group.name from the member's group_name (sources in
targets/kql/sentinel.yaml). Queries run on duckdb-kql over the rows the fixture adapter builds from the
same profile YAML and must select exactly what the reference matcher selects among the events inside the
stated assumptions; the events outside are named.
"""

from __future__ import annotations

import json

from eqlc.result import Status
from tests.test_kql_sentinel import _rule, _run

JAMF = ("logs-jamf_protect*",)
# the corpus rule macos/privilege_escalation_user_added_to_admin_group.toml
ADMIN = ('configuration where host.os.type == "macos" and event.type == "change" and '
         'event.action == "od_group_add" and group.name:"admin"')
CREATED = 'configuration where event.type == "creation" and group.name == "wheel"'

# Elastic's jamf_protect pipelines at 06f4ce0 (cited in targets/kql/sentinel.yaml)
_TYPE = {"od_group_add": ["change", "creation"], "od_group_remove": ["change", "deletion"], "od_create_group": ["creation"],
         "od_group_set": ["creation"], "od_delete_group": ["deletion"]}


def _jamf(_id: str, action, group=None, types=None, categories=("process", "configuration")) -> dict:
    event: dict = {"action": action, "category": list(categories),
                   "type": list(types) if types is not None else ["info", *_TYPE.get(action, ["change"])]}
    out: dict = {"_id": _id, "@timestamp": "2026-01-01T00:00:00Z", "event": event, "host": {"os": {"type": "macos"}}}
    if group is not None:
        out["group"] = {"name": group}
    return out


EVENTS = [
    _jamf("add-admin", "od_group_add", "admin"),
    _jamf("add-Admin", "od_group_add", "Admin"),  # `:` is case-insensitive
    _jamf("add-staff", "od_group_add", "staff"),
    _jamf("add-none", "od_group_add"),
    _jamf("remove-admin", "od_group_remove", "admin"),  # a change of another action
    _jamf("create-admin", "od_create_group", "admin"),  # another type
    _jamf("set-wheel", "od_group_set", "wheel"),
    _jamf("create-wheel", "od_create_group", "wheel"),
    _jamf("delete-wheel", "od_delete_group", "wheel"),
    # outside: telemetry of a kind the table mapping does not read; a type Elastic does not give the
    # action; two group names where the member holds one
    _jamf("exec", "exec", "admin"),
    _jamf("add-as-deletion", "od_group_add", "admin", types=("info", "change", "deletion")),
    _jamf("two-groups", "od_group_add", ["admin", "staff"]),
]


def test_jamf_admin_group_rule_runs_on_duckdb_kql_as_the_matcher_decides():
    tr, got, want, out = _run(_rule(ADMIN, JAMF), EVENTS)
    assert tr.status is Status.ASSUMPTIONS and tr.output.splitlines()[0] == "jamfprotecttelemetryv2_CL"
    assert 'isnotnull(event["od_group_add"])' in tr.output
    assert set(out) == {"exec", "add-as-deletion", "two-groups"}, out
    assert got == want == ["add-Admin", "add-admin"], (got, want)


def test_jamf_type_and_group_of_other_actions_run_as_the_matcher_decides():
    tr, got, want, out = _run(_rule(CREATED, JAMF), EVENTS)
    assert tr.status is Status.ASSUMPTIONS
    assert got == want == ["create-wheel", "set-wheel"], (got, want)


def test_jamf_group_add_is_a_change_and_a_creation():
    # 06f4ce0 appends both to od_group_add (02cf531 appended change only)
    tr, got, want, out = _run(_rule('configuration where event.type == "creation" and event.type == "change"', JAMF), EVENTS)
    assert got == want == ["add-Admin", "add-admin", "add-none", "add-staff", "two-groups"], (got, want)


def test_jamf_row_holds_the_event_member_with_its_group_name():
    from eqlc.targets.kql import TARGET
    from eqlc.targets.kql.adapter import load_for

    tr = TARGET.compile(_rule(ADMIN, JAMF), profile="sentinel")
    loaded = load_for(tr, [EVENTS[0], EVENTS[3]], profile="sentinel")
    _cols, rows = loaded.tables["jamfprotecttelemetryv2_CL"]
    assert [json.loads(r["event"]) for r in rows] == [{"od_group_add": {"group_name": "admin"}}, {"od_group_add": {}}]


def test_jamf_query_parses_with_microsofts_parser_and_names_its_connector():
    from eqlc.targets.kql import TARGET, sentinel
    from eqlc.targets.kql.profile import load_profile
    from tests.node.kusto import analyse, declared_tables

    queries = [TARGET.compile(_rule(q, JAMF), profile="sentinel").output for q in (ADMIN, CREATED)]
    assert analyse(queries, declared_tables("sentinel")) == [[], []]
    assert sentinel.connectors(load_profile("sentinel"), ["jamfprotecttelemetryv2_CL"], []) == [
        {"connectorId": "JamfProtectPush", "dataTypes": ["jamfprotecttelemetryv2_CL"]}]
