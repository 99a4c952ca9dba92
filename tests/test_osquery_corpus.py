"""The osquery target over the shared corpus (823 Elastic rules): coverage, validity, meaning.

* Every rule compiles without an internal error; every emitted query prepares in SQLite over
  osquery's table schemas (no unknown table, column or function, no syntax error), for both
  profiles and for the default and the opt-in argument mapping.
* Coverage (exact / with assumptions / refused, and refusals by reason) is asserted and printed
  (run with ``-s`` to see the report).
* Meaning: for every translated rule, row sets osquery could hold are generated from the rule's
  literals (most of them built to make the condition true or false, judged leaf by leaf by the
  reference matcher) and the SQL's selection is compared with the reference matcher
  (``eqlc.matcher``) on each row set's ECS view. CI checks 12 row sets per query and
  platform; ``EQLC_FULL_CORPUS=1`` checks 40.
"""

from __future__ import annotations

import collections
import re

import pytest

from eqlc.result import Status
from eqlc.targets.osquery import TARGET, engine
from eqlc.targets.osquery import fields as F
from eqlc.targets.osquery.runner import pack_queries
from eqlc.targets.osquery.verify import differential
from tests.corpus import FULL, ROOT, all_rules, rule_id

OPT_IN = str(ROOT / "targets" / "osquery" / "mappings" / "args-from-cmdline.yaml")
CONFIGS = {"default": (None, "events"), "args-from-cmdline": (OPT_IN, "events"), "hunting": (None, "hunting")}
ROWS = 40 if FULL else 12

REASONS = [
    ("sequence, sample or pipe", r"^(sequences|samples|the pipe) "),
    ("rule's OS has no osquery table here", r"^the rule is tagged for "),
    ("event category has no osquery table", r"^osquery has no \w+ table for the event category "),
    ("argument list (osquery has cmdline only)", r"^process\.(parent\.)?args(_count)?: osquery records the argument list"),
    ("field not recorded by osquery", r"( is not recorded by osquery's |^process\.env_vars: )"),
    ("condition never holds on osquery rows", r"^the condition can never hold "),
    ("script over a computed value", r"runs as an Elasticsearch script"),
    ("argument test osquery's cmdline tokens cannot express", r"(over cmdline tokens|the argument pattern .* needs)"),
]

# Measured on the shared corpus (823 rules); see the module docstring.
EXPECTED = {
    "default": {
        "status": {"exact": 0, "assumptions": 37, "broader": 0, "refused": 786},
        "refused": {
            "sequence, sample or pipe": 163, "rule's OS has no osquery table here": 238,
            "event category has no osquery table": 82, "argument list (osquery has cmdline only)": 170,
            "field not recorded by osquery": 99, "condition never holds on osquery rows": 32,
            "script over a computed value": 2,
        },
    },
    "args-from-cmdline": {
        "status": {"exact": 0, "assumptions": 167, "broader": 0, "refused": 656},
        "refused": {
            "sequence, sample or pipe": 163, "rule's OS has no osquery table here": 238,
            "event category has no osquery table": 82, "field not recorded by osquery": 134,
            "condition never holds on osquery rows": 32, "script over a computed value": 2,
            "argument test osquery's cmdline tokens cannot express": 5,
        },
    },
    "hunting": {
        "status": {"exact": 0, "assumptions": 29, "broader": 0, "refused": 794},
        "refused": {
            "sequence, sample or pipe": 163, "rule's OS has no osquery table here": 186,
            "event category has no osquery table": 212, "argument list (osquery has cmdline only)": 170,
            "field not recorded by osquery": 41, "condition never holds on osquery rows": 20,
            "script over a computed value": 2,
        },
    },
}


def reason_category(reason: str) -> str:
    for name, rx in REASONS:
        if re.search(rx, reason):
            return name
    return "uncategorised: " + reason


@pytest.fixture(scope="module")
def compiled():
    out = {}
    for label, (mapping, profile) in CONFIGS.items():
        out[label] = [(r, TARGET.compile(r, profile=profile, mapping=mapping)) for r in all_rules()]
    return out


def test_no_internal_errors_and_every_refusal_has_a_known_reason(compiled):
    for label, results in compiled.items():
        for r, t in results:
            assert t.status is Status.REFUSED or t.output, rule_id(r)
            if t.status is Status.REFUSED:
                assert len(t.notes) == 1 and not reason_category(t.notes[0]).startswith("uncategorised"), (label, rule_id(r), t.notes)


def test_every_emitted_query_prepares_in_osquery_schema(compiled):
    conn = engine.connect()
    try:
        n = 0
        for label, (mapping, _) in CONFIGS.items():
            m = F.load(mapping)
            for r, t in compiled[label]:
                for q in pack_queries(t, m):
                    engine.prepare(conn, q.sql)
                    n += 1
                if t.output is not None:
                    assert all(q.sql in t.output for q in pack_queries(t, m))
        assert n >= 37 + 167 + 29
    finally:
        conn.close()


def test_coverage(compiled):
    report = {}
    for label, results in compiled.items():
        status = collections.Counter(t.status.value for _, t in results)
        refused = collections.Counter(reason_category(t.notes[0]) for _, t in results if t.status is Status.REFUSED)
        report[label] = {"status": {s.value: status.get(s.value, 0) for s in Status}, "refused": dict(refused)}
        print(f"\nosquery coverage ({label}, {len(results)} rules): " + ", ".join(f"{k} {v}" for k, v in report[label]["status"].items()))
        for k, v in refused.most_common():
            print(f"  refused: {v:4d}  {k}")
    assert report == EXPECTED


@pytest.mark.parametrize("label", ["default", "args-from-cmdline", "hunting"])
def test_generated_rows_agree_with_the_matcher(compiled, label):
    mapping, _ = CONFIGS[label]
    checked = ran = selected = 0
    failures = []
    for r, t in compiled[label]:
        if t.status is Status.REFUSED:
            continue
        n, sel, bad = differential(r, t, rows=ROWS, mapping=mapping)
        checked, ran, selected = checked + 1, ran + n, selected + sel
        failures.extend((rule_id(r), b.view, b.sql_selected) for b in bad[:1])
    print(f"\n{label}: {checked} rules, {ran} generated row sets, {selected} selected by the SQL, {len(failures)} disagreements")
    assert not failures, failures[:3]
    assert checked == EXPECTED[label]["status"]["assumptions"] and selected > ran // 10
