"""Over the corpus, every rule a target compiles agrees with the Python matcher on its witnesses.

CI runs ``tests.corpus.sample()`` (100 rules); ``EQLC_FULL_CORPUS=1`` runs all 823. The batch is
the one ``eqlc report`` runs (``eqlc.report.batch.run_batch``, two worker processes): for each
rule, witnesses are generated from its IR and every installed target compiles the rule and runs
its output through its own engine on them.

The assertions are exact, so that any change is seen:

* the per-target counts (compiled exact / with assumptions, refused, verified, unproven,
  disagreement, engine error) equal tests/data/verify/corpus_counts.yaml;
* the (rule, target) pairs that disagree, fail, or are unproven (they agree, but the witnesses
  inside the translation's stated assumptions are all selected or all rejected) are exactly those
  listed, each with the reason, in tests/data/verify/known_disagreements.yaml: a new one fails,
  and so does a fixed one (remove it from the list);
* every other compiled rule is verified: verified + listed pairs == compiled. A difference on a
  witness that breaks a stated assumption, by the target's own check (``outside_assumptions``),
  is not a disagreement; how many witnesses stay inside the assumptions is asserted per target
  (``witnesses_in_scope``), so that a check excusing too much shows;
* MC/DC: at least 95% of the atoms have a witness pair, and every other atom has a stated reason.

After an intended change (a target learns a construct, a bug is fixed), re-record with
``EQLC_UPDATE_VERIFY_SNAPSHOT=1 pytest tests/test_verify_corpus.py`` and review the diff.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import yaml

from eqlc.report import build_report
from eqlc.report.batch import run_batch
from eqlc.target import available
from tests.corpus import CORPUS, FULL, sample

DATA = Path(__file__).parent / "data" / "verify"
COUNTS = DATA / "corpus_counts.yaml"
KNOWN = DATA / "known_disagreements.yaml"
MODE = "full" if FULL else "sample"
UPDATE = os.environ.get("EQLC_UPDATE_VERIFY_SNAPSHOT") == "1"
COUNT_KEYS = ("rules", "exact", "assumptions", "refused", "compiled", "verified", "unproven", "disagreement", "error",
              "witnesses", "witnesses_in_scope", "outside_differences")
KNOWN_REASON_KINDS = {"duplicate", "subsumed", "masked", "coupled", "never true", "never false", "search budget",
                      "event budget", "no effect on the sequence", "unsatisfiable term"}


def _rel(path: str) -> str:
    try:
        return str(Path(path).relative_to(CORPUS))
    except ValueError:
        return path


def _run_batch() -> dict:
    files = sorted({Path(r.path) for r in sample()})
    rows = run_batch(files, available(), jobs=2)
    return build_report(rows, available(), "corpus sample" if not FULL else "corpus")


def _observed_problems(report: dict) -> dict[tuple[str, str], dict]:
    out = {}
    for row in report["rules"]:
        for t in row["targets"]:
            if t["verdict"] in ("disagreement", "error", "unproven"):
                ev = t["evidence"][0]["event"] if t.get("evidence") else None
                out[(_rel(row["rule"]), t["target"])] = {
                    "status": t["status"],
                    "verdict": t["verdict"],
                    "events": len(t["disagreements"]) if t["verdict"] != "unproven" else t.get("events_in_scope", 0),
                    "example": ((ev or {}).get("_note", t.get("error", "")) if t["verdict"] != "unproven"
                                else next(iter((t.get("outside_assumptions") or {}).values()), "")[:160]),
                }
    return out


def _load(path: Path) -> dict:
    if not path.exists():
        return {}
    return yaml.safe_load(path.read_text(encoding="utf-8")) or {}


def _update(report: dict) -> None:
    counts = _load(COUNTS)
    counts[MODE] = {name: {k: report["totals"][name][k] for k in COUNT_KEYS} for name in report["targets"]}
    COUNTS.write_text("# Per-target verification counts on generated witnesses (see tests/test_verify_corpus.py).\n"
                      + yaml.safe_dump(counts, sort_keys=True), encoding="utf-8")
    known = _load(KNOWN)
    old = {(k["rule"], k["target"]): k for k in known.get(MODE, [])}
    entries = []
    for (rule, target), obs in sorted(_observed_problems(report).items()):
        prev = old.get((rule, target), {})
        extra = {k: v for k, v in prev.items() if k not in ("rule", "target", "reason") and k not in obs}
        entries.append({"rule": rule, "target": target, **obs, "reason": prev.get("reason", "TODO: classify"), **extra})
    known[MODE] = entries
    header = KNOWN.read_text(encoding="utf-8").split("\n\n", 1)[0] + "\n\n" if KNOWN.exists() else ""
    KNOWN.write_text(header + yaml.safe_dump(known, sort_keys=False, allow_unicode=True, width=110), encoding="utf-8")


def _check_no_rule_fails(report: dict) -> None:
    assert report["errors"] == []
    assert all(row.get("witnesses") for row in report["rules"])


def _check_mcdc(report: dict) -> None:
    m = report["mcdc"]
    assert m["atoms"] == m["mcdc_unique"] + m["mcdc_masking"] + m["uncovered"]
    assert m["mcdc_unique"] + m["mcdc_masking"] >= 0.95 * m["atoms"], m
    assert set(m["uncovered_by_reason"]) <= KNOWN_REASON_KINDS, m["uncovered_by_reason"]


def _check_counts_and_known_disagreements(report: dict) -> None:
    expected_counts = _load(COUNTS).get(MODE, {})
    observed_counts = {name: {k: report["totals"][name][k] for k in COUNT_KEYS} for name in report["targets"]}
    for name, counts in observed_counts.items():
        assert counts["compiled"] == counts["exact"] + counts["assumptions"]
        assert counts["verified"] + counts["unproven"] + counts["disagreement"] + counts["error"] == counts["compiled"], name
    known = {(k["rule"], k["target"]): k for k in _load(KNOWN).get(MODE, [])}
    for entry in known.values():
        assert entry.get("reason") and entry["reason"] != "TODO: classify", entry
    observed = _observed_problems(report)
    new = sorted(set(observed) - set(known))
    fixed = sorted(set(known) - set(observed))
    assert not new, f"new disagreements (a target or the matcher changed meaning): {[(k, observed[k]) for k in new]}"
    assert not fixed, f"no longer disagreeing, remove from {KNOWN.name}: {fixed}"
    assert observed_counts == expected_counts, (
        "per-target counts changed; if intended, re-record with EQLC_UPDATE_VERIFY_SNAPSHOT=1"
    )


def _check_python_target(report: dict) -> None:
    """The standalone Python module is generated from the same code as the matcher: it compiles
    every rule exactly, and any rule where it does not agree is a listed, known bug."""
    if "python" not in report["targets"]:
        pytest.fail("the python target is not installed (targets/python)")
    t = report["totals"]["python"]
    assert t["refused"] == 0 and t["exact"] == t["rules"] == len(report["rules"])
    known = {k["rule"] for k in _load(KNOWN).get(MODE, []) if k["target"] == "python"}
    assert t["verified"] == t["rules"] - len(known)


def test_corpus_sample_verification():
    """One batch (it is the expensive part), every check on it; run as a single test so that
    pytest-xdist never runs the batch twice."""
    report = _run_batch()
    if UPDATE:
        _update(report)
    _check_no_rule_fails(report)
    _check_mcdc(report)
    _check_python_target(report)
    _check_counts_and_known_disagreements(report)
