"""Coverage of the KQL target over the whole shared corpus, for both profiles: how many rules
translate exactly, with stated assumptions, or are refused (grouped by reason). The counts are
compared with tests/data/kql/coverage.yaml (regenerate with EQLC_KQL_COVERAGE_WRITE=1 after a
deliberate change) and printed; every refusal must carry a specific reason and every
translation its query and deployment files.
"""

from __future__ import annotations

import collections
import os
import re
from pathlib import Path

import pytest
import yaml

from compiler.result import Status
from targets.kql import TARGET
from tests.corpus import all_rules

DATA = Path(__file__).resolve().parent / "data" / "kql"
BASELINE = DATA / "coverage.yaml"


def reason_group(note: str) -> str:
    """A refusal reason with its specifics (field names, values) folded, for counting."""
    note = re.sub(r'"[^"]*"|\'[^\']*\'', "X", note)
    note = re.sub(r"(field \??[\w.@]+) has no column in \w+ \(profile [\w-]+\)", r"\1 has no column", note)
    note = re.sub(r"no [\w-]+ table holds `\w+` events.*", "no table for the event category", note)
    note = re.sub(r"value X has no \w+ equivalent.*", "value not in the value mapping", note)
    return note.split(":")[0][:80]


def coverage(profile: str) -> dict:
    counts = collections.Counter()
    reasons = collections.Counter()
    for rule in all_rules():
        t = TARGET.compile(rule, profile=profile)
        counts[t.status.value] += 1
        if t.status is Status.REFUSED:
            assert t.output is None and len(t.notes) == 1 and len(t.notes[0]) > 20, t.notes
            reasons[reason_group(t.notes[0])] += 1
        else:
            assert t.output and t.artifacts, rule.path
            assert any(name.endswith(".sentinel.yaml") for name in t.artifacts)
            if t.status is Status.ASSUMPTIONS:
                assert all(len(n) > 20 for n in t.notes)
    return {"total": sum(counts.values()), **{s.value: counts[s.value] for s in Status},
            "refused_by_reason": dict(reasons.most_common())}


@pytest.mark.parametrize("profile", ["defender", "sentinel-asim"])
def test_corpus_coverage(profile):
    got = coverage(profile)
    print(f"\n{profile}: {got['exact']} exact, {got['assumptions']} with assumptions, {got['refused']} refused of {got['total']}")
    for reason, n in list(got["refused_by_reason"].items())[:12]:
        print(f"  {n:4d}  {reason}")
    if os.environ.get("EQLC_KQL_COVERAGE_WRITE") == "1":
        data = yaml.safe_load(BASELINE.read_text()) if BASELINE.exists() else {}
        data[profile] = got
        BASELINE.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True))
    baseline = yaml.safe_load(BASELINE.read_text(encoding="utf-8"))[profile]
    assert got["total"] == len(all_rules())
    assert {k: got[k] for k in ("exact", "assumptions", "refused")} == {k: baseline[k] for k in ("exact", "assumptions", "refused")}
    assert got["refused_by_reason"] == baseline["refused_by_reason"]
