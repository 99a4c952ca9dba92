"""Data-source fields (data_stream.dataset, event.dataset, event.module) on the KQL target: the
Sigma target's policy (a log source stands for the endpoint agents' data sets), from the profile
YAML ``datasets``. A top-level positive condition naming listed data sets is taken to hold for
every row, a condition naming only other data sets to hold for none; both are stated and the
fixture adapter leaves out the events on which they are false. The queries run on duckdb-kql and
select what the reference matcher selects inside those assumptions."""

from __future__ import annotations

import pytest

from eqlc import parse_query
from eqlc.result import Status
from eqlc.rule import Rule
from eqlc.targets.kql import TARGET
from tests.test_kql_optional_absent import judged

PROFILES = ["defender", "sentinel-asim"]


def _ev(_id: str, name: str, dataset: str | None, parent: str = "explorer.exe") -> dict:
    ev = {"_id": _id, "@timestamp": "2026-01-01T00:00:00Z", "host": {"id": "h1", "os": {"type": "windows"}},
          "event": {"category": ["process"], "type": ["start"], "action": "start"},
          "process": {"name": name, "executable": f"C:\\Windows\\{name}", "pid": 3, "command_line": name,
                      "args": [name], "parent": {"name": parent}}}
    if dataset is not None:
        ev["data_stream"] = {"dataset": dataset}
        ev["event"]["module"] = dataset.split(".")[0]
    return ev


EVENTS = [_ev("defend", "cmd.exe", "endpoint.events.process"), _ev("sysmon", "cmd.exe", "windows.sysmon_operational"),
          _ev("none", "cmd.exe", None), _ev("cs", "cmd.exe", "crowdstrike.fdr", parent="perl.exe"),
          _ev("cs-other", "cmd.exe", "crowdstrike.fdr"), _ev("defend-ls", "ls.exe", "endpoint.events.process")]


def _rule(text: str) -> Rule:
    return Rule(query=parse_query(text), query_text=text, name="kql datasets")


@pytest.mark.parametrize("profile", PROFILES)
def test_a_top_level_listed_data_set_is_the_table_itself(profile):
    tr, got, want, out = judged(
        _rule('process where data_stream.dataset == "endpoint.events.process" and process.name == "cmd.exe"'), EVENTS, profile)
    assert tr.status is Status.ASSUMPTIONS
    assert "dataset" not in tr.output
    assert any("stands for `data_stream.dataset == \"endpoint.events.process\"`" in n for n in tr.notes), tr.notes
    assert set(out) == {"sysmon", "none", "cs", "cs-other"}, out
    assert got == want == ["defend"]


@pytest.mark.parametrize("profile", PROFILES)
def test_another_vendors_data_set_is_none_of_the_tables_rows(profile):
    # Elastic's rules exclude a vendor's quirks (CrowdStrike has no parent executable): the table
    # holds no CrowdStrike events, so the exclusion is false for each row and the events of that
    # data set that it would decide are outside the assumption
    tr, got, want, out = judged(_rule(
        'process where process.name == "cmd.exe" and '
        'not (data_stream.dataset == "crowdstrike.fdr" and process.parent.name : "perl.exe")'), EVENTS, profile)
    assert any(n.startswith('data_stream.dataset == "crowdstrike.fdr" is taken to be false for every') for n in tr.notes), tr.notes
    assert set(out) == {"cs", "cs-other"}, out
    assert got == want == ["defend", "none", "sysmon"]


@pytest.mark.parametrize("profile", PROFILES)
@pytest.mark.parametrize("text, reason", [
    ('process where data_stream.dataset == "aws.cloudtrail" and process.name == "cmd.exe"', "never hold"),
    ('process where event.module == "panw" or event.dataset == "network_traffic.flow"', "never hold"),
    # a listed data set in a condition that does not select it (the endpoint's events kept apart; the
    # Sysmon data sets have a per-row reading on sentinel-asim, EventProduct: test_kql_asim_gaps.py)
    ('process where process.name == "cmd.exe" and not data_stream.dataset : "endpoint.events.process"', "does not select them"),
    ('process where data_stream.dataset : "endpoint*"', "only literal comparisons"),
])
def test_what_the_policy_does_not_cover_is_refused(profile, text, reason):
    tr = TARGET.compile(_rule(text), profile=profile)
    assert tr.status is Status.REFUSED and reason in tr.notes[0], tr.notes


def test_defender_has_no_row_reading_of_the_sysmon_data_sets():
    tr = TARGET.compile(_rule('process where process.name == "cmd.exe" and not data_stream.dataset : "windows.sysmon_operational"'),
                        profile="defender")
    assert tr.status is Status.REFUSED and "does not select them" in tr.notes[0], tr.notes
