"""Every emitted KQL query is analysed by Microsoft's Kusto.Language (npm
@kusto/language-service-next, through Node) against the vendor table schemas: zero diagnostics
for the example, the execution cases, the sequence/array forms and the corpus in both profiles
(the fixed 100-rule sample; EQLC_FULL_CORPUS=1 analyses all 823 rules, ~40 s more); broken
queries are caught. All queries go through ONE node process per test run (shared by the xdist
workers through a file-locked cache).

Needs ``npm ci --prefix tests/node``; without it these tests FAIL with that command in the message.
"""

from __future__ import annotations

import fcntl
import json
import re
from pathlib import Path

import pytest
import yaml

from eqlc import parse_query
from eqlc.result import Status
from eqlc.rule import Rule
from eqlc.targets.kql import TARGET
from tests.corpus import EXAMPLE_DIR, rule_id
from tests.test_kql_coverage import corpus_rules, corpus_sample, xdist_worker
from tests.node.kusto import analyse, declared_tables

DATA = Path(__file__).resolve().parent / "data" / "kql"
PROFILES = ("defender", "sentinel-asim", "sentinel")


def rule_of(text: str) -> Rule:
    return Rule(query=parse_query(text), query_text=text, name="kql validation case")


def _tables() -> dict[str, dict[str, str]]:
    tables: dict[str, dict[str, str]] = {}
    for p in PROFILES:
        tables.update(declared_tables(p))
    # the array-column override used by the tests declares two dynamic columns of its own
    override = yaml.safe_load((DATA / "args_dynamic.yaml").read_text(encoding="utf-8"))
    for c, t in override["types"].items():
        tables["DeviceProcessEvents"][c] = t
    return tables


def _collect(rules: tuple) -> list[tuple[str, str]]:
    """(label, query) for everything the KQL target emits in the test data and the corpus."""
    out: list[tuple[str, str]] = []
    cases = yaml.safe_load((DATA / "cases.yaml").read_text(encoding="utf-8"))["cases"]
    cases += yaml.safe_load((DATA / "args_cases.yaml").read_text(encoding="utf-8"))["cases"]
    limits = yaml.safe_load((DATA / "engine_limits.yaml").read_text(encoding="utf-8"))["unsupported"]
    example = rule_of((EXAMPLE_DIR / "rule.eql").read_text(encoding="utf-8"))
    for p in PROFILES:
        for c in cases:
            t = TARGET.compile(rule_of(c["query"]), profile=p)
            if t.output:
                out.append((f"{p}:case:{c['name']}", t.output))
        # the raw-tables profile translates few rules, none in the sample: all of its corpus rules
        for r in (rules if p == "sentinel" else corpus_sample(rules)):
            t = TARGET.compile(r, profile=p)
            if t.output:
                out.append((f"{p}:corpus:{rule_id(r)}", t.output))
        if p == "sentinel":  # its tables are chosen by index pattern: the example (endpoint data) has none
            continue
        t = TARGET.compile(example, profile=p)
        assert t.status is Status.ASSUMPTIONS, t.notes
        out.append((f"{p}:example", t.output))
    for item in limits:
        mapping = str(DATA / item["mapping"]) if item.get("mapping") else None
        out.append((f"limit:{item['construct']}", TARGET.compile(rule_of(item["query"]), mapping=mapping).output))
    t = TARGET.compile(example, mapping=str(DATA / "args_dynamic.yaml"))
    assert t.status is Status.ASSUMPTIONS, t.notes
    out.append(("example with dynamic args", t.output))
    for seq in (
        'sequence by host.id, user.name with maxspan=30s [process where process.name == "cmd.exe"] by process.pid '
        '[network where destination.port == 443] by process.pid',
        'sequence with maxspan=5m [process where process.name : "a*"] with runs=3 [file where file.extension : "exe"]',
        'sequence by ?user.name [process where true] [process where process.name == "b"]',
    ):
        t = TARGET.compile(rule_of(seq))
        assert t.output, t.notes
        out.append((f"sequence:{seq[:40]}", t.output))
    return out


BROKEN = {
    "unknown column": "DeviceProcessEvents | where FileNam == \"dracut\"",
    "assignment instead of comparison": "DeviceProcessEvents | where FileName = \"dracut\"",
    "missing operand": "DeviceProcessEvents | where FileName startswith_cs",
    "string ordering": "DeviceProcessEvents | where FileName < \"b\"",
    "unknown table": "DeviceProcessEvent | where FileName == \"dracut\"",
    "column of another table": "DeviceFileEvents | where ProcessCommandLine == \"x\"",
    "scan step referring to an unknown step": (
        "DeviceProcessEvents | sort by Timestamp asc | scan with (step s1: FileName == \"a\"; "
        "step s2: FileName == \"b\" and Timestamp - s9.Timestamp <= 5m;)"
    ),
}
CONTROL = "DeviceProcessEvents | where FileName == \"dracut\""


@pytest.fixture(scope="session")
def analysis(tmp_path_factory):
    """One node process per test RUN for everything: emitted queries, a typo'd emitted query, the
    broken queries and a correct control query. Under pytest-xdist the first worker that needs
    it computes it under a file lock and the others read its JSON (the run's shared temporary
    directory), so Kusto.Language is loaded once, not once per worker."""
    if xdist_worker() == "master":
        return _analysis(corpus_rules(tmp_path_factory))
    root = tmp_path_factory.getbasetemp().parent
    cache = root / "kql_analysis.json"
    with open(root / "kql_analysis.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if cache.exists():
            return json.loads(cache.read_text(encoding="utf-8"))
        data = _analysis(corpus_rules(tmp_path_factory))
        cache.write_text(json.dumps(data), encoding="utf-8")
        return data


def _analysis(rules: tuple) -> dict:
    emitted = _collect(rules)
    label, query = next((l, q) for l, q in emitted if "InitiatingProcessFolderPath" in q)
    typo = query.replace("InitiatingProcessFolderPath", "InitiatingProcesFolderPath", 1)
    names = list(BROKEN)
    queries = [q for _, q in emitted] + [typo] + [BROKEN[n] for n in names] + [CONTROL]
    results = analyse(queries, _tables())
    n = len(emitted)
    return {
        "emitted": list(zip(emitted, results[:n])),
        "typo": (label, results[n]),
        "broken": dict(zip(names, results[n + 1 : n + 1 + len(names)])),
        "control": results[-1],
    }


def test_every_emitted_query_has_no_kusto_diagnostics(analysis):
    emitted = analysis["emitted"]
    bad = [(label, q, d) for (label, q), d in emitted if d]
    assert len(emitted) > 100
    # every corpus rule the raw-tables profile translates (tests/data/kql/coverage.yaml), every table
    raw = [q for (label, q), _ in emitted if label.startswith("sentinel:corpus:")]
    tables = ("SecurityEvent", "AWSCloudTrail", "Event", "OfficeActivity", "AKSAudit",  # kqlraw: AKSAudit
              "AADRiskyUsers", "AADUserRiskEvents", "AuditLogs",  # kqlentra: Entra ID
              "CommonSecurityLog")  # kqlfort: FortiGate
    read = {t for q in raw for t in tables if re.search(rf"(^|= ){t}\n", q, re.M)}
    assert len(raw) >= 20 and read == set(tables), read
    assert not bad, "\n\n".join(f"{label}\n{q}\n{d}" for label, q, d in bad[:5])
    print(f"\nKusto.Language: {len(emitted)} emitted queries, 0 diagnostics")


def test_broken_queries_are_caught(analysis):
    missed = [n for n, d in analysis["broken"].items() if not d]
    assert not missed, f"Kusto.Language found nothing wrong in: {missed}"
    assert analysis["control"] == [], "the correct control query must pass, or the checker rejects everything"


def test_a_typo_in_an_emitted_query_is_caught(analysis):
    label, diags = analysis["typo"]
    assert any("InitiatingProcesFolderPath" in d["message"] for d in diags), (label, diags)
