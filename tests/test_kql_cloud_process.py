"""Container process rules read Microsoft Defender for Cloud's CloudProcessEvents (defender
profile): a query, or a union leg, that tests a container.* field reads that table instead of
DeviceProcessEvents (``chosen_by`` in defender.yaml), only when its condition requires
container.id (``rows_need``), with the table's own column mapping; fields it has no column for
are refused by name. Queries run on duckdb-kql over tables the fixture adapter builds from the
same YAML, against the reference matcher on the events inside the stated assumptions, and
Microsoft's Kusto parser reports no diagnostic on them."""

from __future__ import annotations

import json

import pytest
import yaml

from eqlc import parse_query
from eqlc.result import Status
from eqlc.rule import Rule
from eqlc.targets.kql import TARGET
from eqlc.targets.kql.profile import load_profile
from tests.test_kql_optional_absent import judged


def _rule(text: str, name: str = "kql cloud process") -> Rule:
    return Rule(query=parse_query(text), query_text=text, name=name)


def _ev(_id: str, name: str, container: str | None = "c0ffee", action: str = "exec", os_type: str = "linux",
        cwd: str = "/app", parent: str = "bash") -> dict:
    event: dict = {"_id": _id, "@timestamp": "2026-01-01T00:00:00Z",
                   "event": {"category": ["process"], "type": ["start"], "action": action},
                   "host": {"id": "node-1", "os": {"type": os_type}},
                   "process": {"name": name, "executable": f"/usr/bin/{name}", "command_line": f"{name} -x",
                               "args": [name, "-x"], "working_directory": cwd, "parent": {"name": parent}}}
    if container is not None:
        event["container"] = {"id": container}
    return event


EVENTS = [
    _ev("nc-in-container", "nc"),
    _ev("nc-on-host", "nc", container=None),        # a host process: no CloudProcessEvents row
    _ev("nc-empty-id", "nc", container=""),         # "" is what Kusto stores for a missing string
    _ev("nc-fork", "nc", action="fork"),            # the table records executions (stated fact)
    _ev("nc-windows", "nc", os_type="windows"),     # every row is taken to be a Linux process (stated fact)
    _ev("ls-in-container", "ls", cwd="/tmp"),
    _ev("nc-from-python", "nc", parent="python3"),
]


def test_a_container_rule_reads_cloud_process_events_and_agrees_with_the_matcher():
    rule = _rule('process where host.os.type == "linux" and event.type == "start" and event.action == "exec" and '
                 'process.name in ("nc", "ncat") and container.id like "*"')
    tr, got, want, out = judged(rule, EVENTS, "defender")
    assert tr.status is Status.ASSUMPTIONS
    assert tr.output.splitlines()[0] == "CloudProcessEvents"
    assert "ContainerId" in tr.output and "FileName" in tr.output
    assert "DeviceInfo" not in tr.output  # host.os.type is the table's stated fact, not the DeviceId lookup
    assert any("CloudProcessEvents, which Microsoft Defender for Cloud fills" in n for n in tr.notes), tr.notes
    assert any(n.startswith('host.os.type == "linux" is taken to hold for every CloudProcessEvents row') for n in tr.notes)
    assert set(out) == {"nc-empty-id", "nc-fork", "nc-windows"}, out
    assert got == want == ["nc-from-python", "nc-in-container"]


def test_the_same_rule_without_container_fields_still_reads_device_process_events():
    tr = TARGET.compile(_rule('process where process.name == "nc"'), profile="defender")
    assert tr.output.splitlines()[0] == "DeviceProcessEvents"


def test_working_directory_and_parent_name_are_columns_of_cloud_process_events_only():
    rule = _rule('process where process.working_directory == "/tmp" and process.parent.name == "bash" and container.id : "?*"')
    tr, got, want, out = judged(rule, EVENTS, "defender")
    assert "ProcessCurrentWorkingDirectory" in tr.output and "ParentProcessName" in tr.output
    assert any(n.startswith("process.parent.name is CloudProcessEvents.ParentProcessName") for n in tr.notes)
    assert got == want == ["ls-in-container"]
    host = TARGET.compile(_rule('process where process.working_directory == "/tmp"'), profile="defender")
    assert host.status is Status.REFUSED
    assert "process.working_directory has no column in DeviceProcessEvents" in host.notes[0]


@pytest.mark.parametrize("condition, missing", [
    ('container.image.name == "nginx"', "container.image.name"),  # ContainerImageName may hold an image ID
    ("container.security_context.privileged == true", "container.security_context.privileged"),
    ('process.parent.executable == "/bin/sh"', "process.parent.executable"),
    ("process.interactive == true", "process.interactive"),
    ('user.id == "0"', "user.id"),
    ("process.pid == 1", "process.pid"),
])
def test_fields_the_table_has_no_column_for_are_refused_by_name(condition, missing):
    tr = TARGET.compile(_rule(f'process where container.id : "*" and {condition}'), profile="defender")
    assert tr.status is Status.REFUSED
    assert len(tr.notes) == 1, tr.notes  # the profile's `unmapped` may say why after a colon (user.id)
    assert tr.notes[0].split(": ")[0] == f"field {missing} has no column in CloudProcessEvents (profile defender)"


@pytest.mark.parametrize("condition", [
    'process where not container.id : "*" and process.name == "nc"',            # host processes
    'process where container.id : "*" or process.name == "nc"',                 # either
    'process where container.name == "web" and process.name == "nc"',           # no container.id test
])
def test_a_condition_that_does_not_require_a_container_id_is_refused(condition):
    tr = TARGET.compile(_rule(condition), profile="defender")
    assert tr.status is Status.REFUSED
    assert "does not require container.id" in tr.notes[0], tr.notes


def test_a_union_leg_testing_container_fields_reads_cloud_process_events():
    # the process leg reads CloudProcessEvents; the file leg has no container column and refuses
    # the whole query (file events of containers are recorded by no table of the profile)
    tr = TARGET.compile(_rule('any where event.category in ("process", "file") and container.id : "*" and process.name == "nc"'),
                        profile="defender")
    assert tr.status is Status.REFUSED
    assert tr.notes == ["field container.id has no column in DeviceFileEvents (profile defender)"]
    rule = _rule('any where event.category in ("process", "library") and container.id : "?*" and process.name == "nc"')
    tr = TARGET.compile(rule, profile="defender")
    assert tr.status is Status.REFUSED  # DeviceImageLoadEvents has no container column either
    # a category the container table does not hold keeps its own table: only process legs switch
    prof = load_profile("defender")
    assert prof.table_for("process", ["container.id"]).name == "CloudProcessEvents"
    assert prof.table_for("process", ["process.name"]).name == "DeviceProcessEvents"
    assert prof.table_for("file", ["container.id"]).name == "DeviceFileEvents"


def test_a_union_with_one_container_process_leg_runs_on_duckdb_kql():
    # `any` restricted to process events by an `or` of category tests: one leg, the container table
    rule = _rule('any where (event.category == "process" or event.category == "process") and container.id : "?*" and '
                 'process.name == "nc"')
    tr, got, want, out = judged(rule, EVENTS, "defender")
    assert tr.output.splitlines()[0] == "CloudProcessEvents"
    assert got == want
    assert "nc-in-container" in got and "nc-on-host" not in got


def test_the_other_profiles_are_unchanged():
    for profile in ("sentinel-asim",):
        tr = TARGET.compile(_rule('process where container.id : "*" and process.name == "nc"'), profile=profile)
        assert tr.status is Status.REFUSED
        assert "container.id has no column" in tr.notes[0]


def test_microsoft_parser_reports_no_diagnostic_on_cloud_process_queries():
    from tests.node.kusto import analyse, declared_tables

    texts = [TARGET.compile(_rule(q), profile="defender").output for q in (
        'process where host.os.type == "linux" and process.name in ("nc", "ncat") and container.id like "*"',
        'process where process.working_directory : "/tmp*" and process.parent.name == "bash" and container.id : "?*" and '
        'process.args : "-e" and user.name == "root" and container.name == "web"',
        'process where process.executable : "/tmp/*" and process.command_line : "*curl*" and container.id : "?*"',
    )]
    assert all(t and t.startswith("CloudProcessEvents") for t in texts), texts
    assert analyse(texts, declared_tables("defender")) == [[]] * len(texts)
    # the Sentinel scheduled form filters on TimeGenerated, a Log Analytics column the Azure Monitor
    # table reference lists for CloudProcessEvents (azure-monitor/reference/tables/cloudprocessevents)
    tables = declared_tables("defender")
    tables["CloudProcessEvents"]["TimeGenerated"] = "datetime"
    rule = _rule('process where process.name == "nc" and container.id : "?*"')
    sent = yaml.safe_load(next(v for k, v in TARGET.compile(rule, profile="defender").artifacts.items()
                               if k.endswith(".sentinel.yaml")))["query"]
    assert "TimeGenerated" in sent and analyse([sent], tables) == [[]]


def test_deployment_names_no_device_column_for_cloud_process_events():
    tr = TARGET.compile(_rule('process where process.name == "nc" and container.id : "*"'), profile="defender")
    arts = tr.artifacts
    doc = yaml.safe_load(next(v for k, v in arts.items() if k.endswith(".sentinel.yaml")))
    columns = [m["columnName"] for e in doc["entityMappings"] for m in e["fieldMappings"]]
    assert "DeviceName" not in columns and "DeviceId" not in columns  # the Host entity is not mapped here
    assert {"AccountName", "ProcessCommandLine", "FileName"} <= set(columns)
    assert doc["requiredDataConnectors"][0]["dataTypes"] == ["CloudProcessEvents"]
    template = json.loads(next(v for k, v in arts.items() if k.endswith(".sentinel.json")))
    assert "DeviceName" not in json.dumps(template["resources"])
    # a Defender custom detection names DeviceId as its impacted asset, which this table lacks
    assert not any(k.endswith(".defender.json") for k in arts)
    why = next(v for k, v in arts.items() if k.endswith(".defender.txt"))
    assert "CloudProcessEvents" in why and "DeviceId" in why


def test_a_sequence_by_container_id_reads_cloud_process_events_in_each_leg():
    from eqlc.matcher import matcher
    from tests.node.kusto import analyse, declared_tables

    rule = _rule('sequence by container.id with maxspan=1m [process where container.id : "?*" and process.name == "sh"] '
                 '[process where container.id : "?*" and process.name == "nc"]')
    events = [_ev("sh-c1", "sh", container="c1"), _ev("nc-c1", "nc", container="c1"), _ev("nc-c2", "nc", container="c2"),
              _ev("sh-host", "sh", container=None), _ev("nc-host", "nc", container=None)]
    for e in events[1:]:
        e["@timestamp"] = "2026-01-01T00:00:10Z"
    tr = TARGET.compile(rule, profile="defender")
    assert tr.status is Status.ASSUMPTIONS
    assert tr.output.count("= CloudProcessEvents") == 2 and "pack_array(ContainerId)" in tr.output
    assert TARGET.outside_assumptions(rule, tr, events, profile="defender") == {}
    got = sorted(TARGET.execute(tr, events, profile="defender"))  # legs on duckdb-kql, scan by its model
    want = sorted({e["_id"] for m in matcher(rule).run(events, sort=True) for e in m.events})
    assert got == want == ["nc-c1", "sh-c1"]
    assert analyse([tr.output], declared_tables("defender")) == [[]]
    # a term over file events of a container has no table
    mixed = _rule('sequence by container.id [file where container.id : "?*" and file.name == "x"] '
                  '[process where container.id : "?*" and process.name == "x"]')
    assert TARGET.compile(mixed, profile="defender").notes == ["field container.id has no column in DeviceFileEvents (profile defender)"]
