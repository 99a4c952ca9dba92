"""Broader translations over the corpus: no superset violation on the witnesses, and every broader
translation keeps a selective condition. CI runs a fixed sample; EQLC_FULL_CORPUS=1 runs all 823
rules (see tests/corpus.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from eqlc.broaden import selective_conditions
from eqlc.target import compile_rule
from eqlc.report import build_report, run_batch
from eqlc.result import Status
from tests.corpus import FULL, sample

TARGETS = ("kql:defender", "kql:sentinel-asim", "sigma", "osquery", "spl")  # osquery: never broader for now
SAMPLE = 12  # rules verified in CI (witness generation is the cost); all of them with EQLC_FULL_CORPUS=1


def test_every_broader_translation_keeps_a_selective_condition():
    broader = 0
    for rule in sample():
        for label in TARGETS:
            name, _, profile = label.partition(":")
            t = compile_rule(rule, name, profile or None, None, broader=True)
            if t.status is Status.BROADER:
                broader += 1
                assert t.dropped, (rule.path, label)
                assert selective_conditions(t.widened_rule.query), (rule.path, label)
                assert "BROADER TRANSLATION" in t.widened_rule.description
            elif t.status is not Status.REFUSED:  # --broader never changes an accepted translation
                assert t.dropped == []
    assert broader > 0


def test_broader_translations_select_a_superset_on_the_witnesses():
    rules = sample() if FULL else sample(SAMPLE)
    files = sorted({Path(r.path) for r in rules})
    rows = run_batch(files, [t + "+broader" for t in TARGETS], jobs=2)
    report = build_report(rows, list(TARGETS), "corpus")
    # a superset violation: an event the matcher selects that the broader translation misses
    # (outside the target's own stated assumptions, which excuse it as for any translation)
    violations = [(row["rule"], t["target"], t.get("profile"), t["disagreements"][:3])
                  for row in rows for t in row["targets"]
                  if t["status"] == "broader" and t["verdict"] == "disagreement"]
    assert violations == []
    # ``vacuous`` (every positive witness breaks a stated assumption of the widened rule's
    # translation, e.g. a Sigma log source that no longer matches the rule's event.action) is not a
    # violation of the superset but proves nothing: counted, and listed in the issue note
    vacuous = [(row["rule"], t["target"]) for row in rows for t in row["targets"]
               if t["status"] == "broader" and t["verdict"] == "vacuous"]
    print(f"broader: {len(vacuous)} vacuous of {sum(t['broader'] for t in report['totals'].values())}")
    assert not [r for r in rows if r.get("error")]
    assert sum(t["broader"] for t in report["totals"].values()) > 0
