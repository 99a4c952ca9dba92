"""Elastic Defend's indices beside the Windows logs on the sentinel raw-tables profile (kqlkerb3,
issue 13: the policy kqlhb stated). The defender profile reads logs-endpoint.* and takes the Windows
logs beside it to be absent; the raw-tables profile does the reverse: a rule naming logs-endpoint.*
with other indices is read from those (sentinel.yaml ``absent_sources``), Defend's events are stated
absent, and the fixture adapter leaves out an event of Defend's data sets (event.module endpoint,
data_stream.dataset endpoint.*).

Profile-wide, the policy makes one more corpus rule translate besides the Kerberos rule's index
question (_deprecated/defense_evasion_code_injection_conhost.toml, [winlogbeat-*,
logs-endpoint.events.*, logs-windows.*], read as the Security log's 4688): the other rules naming
Defend's indices also name other vendors' (endgame-*, CrowdStrike, SentinelOne, m365_defender), so
they stay refused. Its generated witnesses are Defend-shaped (no event.code), no row of SecurityEvent,
so it is verified here on 4688 events shaped as Elastic's System integration writes them
(elastic/integrations packages/system/data_stream/security/elasticsearch/ingest_pipeline/
standard.yml, "Process Event 4688": NewProcessName -> process.executable, ParentProcessName ->
process.parent.executable and its last path element process.parent.name), through the corpus
verification path (verify_rule with a fixtures file), on duckdb-kql against the matcher."""

from __future__ import annotations

import json
from pathlib import Path

from eqlc import parse_query
from eqlc.result import Status
from eqlc.rule import Rule
from eqlc.targets.kql import TARGET
from eqlc.verify import target_specs, verify_rule
from tests.corpus import all_rules, rule_id
from tests.node.kusto import analyse, declared_tables

CONHOST = "_deprecated/defense_evasion_code_injection_conhost.toml"


def _corpus_rule(rid: str) -> Rule:
    return next(r for r in all_rules() if rule_id(r) == rid)


def _process4688(_id: str, second: int, parent: str, exe: str) -> dict:
    return {"_id": _id, "@timestamp": f"2026-01-01T00:00:{second:02d}.000Z",
            "event": {"category": ["process"], "type": ["start"], "code": "4688", "kind": "event",
                      "action": "created-process", "provider": "Microsoft-Windows-Security-Auditing"},
            "host": {"os": {"type": "windows"}},
            "winlog": {"channel": "Security", "provider_name": "Microsoft-Windows-Security-Auditing", "event_id": "4688"},
            "process": {"executable": exe, "name": exe.rsplit("\\", 1)[-1],
                        "parent": {"executable": parent, "name": parent.rsplit("\\", 1)[-1]}}}


CONHOST_EXE = "C:\\Windows\\System32\\conhost.exe"
EVENTS = [
    _process4688("hit", 0, CONHOST_EXE, "C:\\Users\\a\\evil.exe"),
    _process4688("hit-upper", 1, "C:\\Windows\\System32\\CONHOST.EXE", "C:\\Windows\\System32\\cmd.exe"),
    _process4688("werfault", 2, CONHOST_EXE, "C:\\Windows\\System32\\WerFault.exe"),
    _process4688("explorer", 3, "C:\\Windows\\explorer.exe", "C:\\Users\\a\\evil.exe"),
]


def test_defend_index_beside_the_windows_logs_is_stated_absent():
    tr = TARGET.compile(_corpus_rule(CONHOST), profile="sentinel")
    assert tr.status is Status.ASSUMPTIONS, tr.notes
    assert any("Elastic Defend's events (logs-endpoint.*) are taken to be absent" in n and "logs-endpoint.events.*" in n
               for n in tr.notes), tr.notes
    assert tr.output.startswith("SecurityEvent\n"), tr.output
    assert analyse([tr.output], declared_tables("sentinel")) == [[]], tr.output


def test_defend_index_alone_is_still_refused():
    text = 'process where process.parent.name : "conhost.exe"'
    tr = TARGET.compile(Rule(query=parse_query(text), query_text=text, name="defend",
                             index=("logs-endpoint.events.process-*",)), profile="sentinel")
    assert tr.status is Status.REFUSED and "no sentinel table holds the rule's data" in tr.notes[0], tr.notes


def test_conhost_rule_verifies_on_security_log_process_events(tmp_path: Path):
    defend = {**EVENTS[0], "_id": "defend", "event": {**EVENTS[0]["event"], "module": "endpoint"},
              "data_stream": {"dataset": "endpoint.events.process"}}
    path = tmp_path / "conhost.ndjson"
    path.write_text("".join(json.dumps(e) + "\n" for e in [*EVENTS, defend]), encoding="utf-8")
    v = verify_rule(_corpus_rule(CONHOST), target_specs(["kql:sentinel"]), fixtures=path)
    assert sorted(v.reference) == ["defend", "hit", "hit-upper"], v.reference
    run = v.runs[0]
    assert run.error is None and not run.refused and not run.internal_error, run
    assert set(run.outside) == {"defend"} and "logs-endpoint.* is absent" in run.outside["defend"], run.outside
    assert sorted(run.selected) == ["hit", "hit-upper"], run.selected
    assert run.verified and not run.vacuous, run.verdict
