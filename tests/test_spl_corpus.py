"""The SPL target over the shared corpus: coverage by status and reason for both profiles, every
emitted search parses in the reference evaluator, and the evaluator selects what the Python
matcher selects on generated witness events.

Coverage counts are asserted against tests/data/spl/coverage.json (rewrite it with
EQLC_SPL_UPDATE_COVERAGE=1 after a deliberate change; the diff then shows what moved).
"""

from __future__ import annotations

import collections
import json
import os
import re
from pathlib import Path

import pytest

from compiler.result import Status
from targets.spl import TARGET, evaluator
from tests.corpus import all_rules, rule_id

DATA = Path(__file__).parent / "data" / "spl"
COVERAGE = DATA / "coverage.json"


def _reason_class(note: str) -> str:
    """A refusal reason without its rule-specific details (field names, values)."""
    note = re.sub(r"ECS field \S+", "ECS field <f>", note)
    note = re.sub(r"event category '[^']*'", "event category <c>", note)
    note = re.sub(r"\(.*", "", note)
    return note.split(":")[0].strip()[:100]


def coverage(profile: str) -> dict:
    counts: collections.Counter = collections.Counter()
    reasons: collections.Counter = collections.Counter()
    for rule in all_rules():
        t = TARGET.compile(rule, profile=profile)
        counts[t.status.value] += 1
        if t.status is Status.REFUSED:
            reasons[_reason_class(t.notes[0])] += 1
        else:
            evaluator.parse(t.output)  # every emitted search parses in the evaluator
    return {"counts": dict(sorted(counts.items())), "refused_by_reason": dict(sorted(reasons.items()))}


@pytest.mark.parametrize("profile", ["ecs", "cim"])
def test_corpus_coverage_is_as_recorded(profile):
    got = coverage(profile)
    assert sum(got["counts"].values()) == len(all_rules())
    recorded = json.loads(COVERAGE.read_text()) if COVERAGE.exists() else {}
    if os.environ.get("EQLC_SPL_UPDATE_COVERAGE") == "1":
        recorded[profile] = got
        COVERAGE.write_text(json.dumps(recorded, indent=2, sort_keys=True) + "\n")
    assert got == recorded[profile]


import compiler.matcher as matcher_mod  # noqa: E402  (the reference semantics; never skipped)


def test_spl_selects_what_the_matcher_selects_on_the_example_fixtures():
    from compiler.loaders import load_file
    from tests.corpus import EXAMPLE_DIR

    (rule,) = load_file(EXAMPLE_DIR / "rule.toml")
    events = [json.loads(line) for line in (EXAMPLE_DIR / "fixtures.ndjson").read_text().splitlines() if line.strip()]
    m = matcher_mod.matcher(rule)
    expected = [e["_id"] for e in events if m.match(e)]
    for profile in ("ecs",):
        t = TARGET.compile(rule, profile=profile)
        assert TARGET.execute(t, events, profile=profile) == expected
