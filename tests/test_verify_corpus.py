"""Over the corpus, every rule a target compiles agrees with the Python matcher on its witnesses.

CI runs ``tests.corpus.sample()`` (100 rules); ``EQLC_FULL_CORPUS=1`` runs all 823. The batch is
the one ``eqlc report`` runs (``eqlc.report.batch.run_batch``, two worker processes): for each
rule, witnesses are generated from its IR and every installed target compiles the rule and runs
its output through its own engine on them.

The assertions are exact, so that any change is seen:

* the per-target counts (compiled exact / with assumptions, refused, verified, unproven,
  disagreement, engine error) equal ``counts`` in tests/data/verify/targets/<target>.yaml;
* the (rule, target) pairs that disagree, fail, are unproven (they agree, but the witnesses
  inside the translation's stated assumptions are all selected or all rejected) or vacuous (every
  witness the rule selects breaks a stated assumption) are exactly those listed under ``known``,
  each with the reason, in the same file: a new one fails, and so does a fixed one (remove it
  from the list);
* a vacuous pair is an assumption that every positive breaks, which is a refusal: it is fixed in
  the target (the emitter or the adapter was wrong) or turned into a refusal by the emitter. It
  may be listed only as a witness-generator gap, shown (reason ``witness gap: ...`` naming the
  positive inside the assumption the generator fails to produce), or as a refusal the target
  still owes (reason ``owed refusal: ...`` naming why no positive can be inside the assumption),
  a known defect of that target like a listed disagreement;
* every other compiled rule is verified: verified + listed pairs == compiled. A difference on a
  witness that breaks a stated assumption, by the target's own check (``outside_assumptions``),
  is not a disagreement; how many witnesses stay inside the assumptions is asserted per target
  (``witnesses_in_scope``), so that a check excusing too much shows;
* MC/DC: at least 95% of the atoms have a witness pair, and every other atom has a stated reason.

After an intended change (a target learns a construct, a bug is fixed), re-record with
``EQLC_UPDATE_VERIFY_SNAPSHOT=1 pytest tests/test_verify_corpus.py`` and review the diff.
``EQLC_VERIFY_TARGETS=kql,sigma`` runs and checks (and re-records) only those targets, so work on one
target costs one target's time; the python target always runs, as the reference for every other.
The snapshot is one file per target so that work on different targets never edits the same file.

Each target runs with its default profile; the profiles in :data:`PROFILES` run as targets of their
own (``spl:cim``, snapshot ``spl-cim.yaml``), selected with their target (``EQLC_VERIFY_TARGETS=spl``)
or alone (``EQLC_VERIFY_TARGETS=spl:cim``).
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

DATA = Path(__file__).parent / "data" / "verify" / "targets"
MODE = "full" if FULL else "sample"
UPDATE = os.environ.get("EQLC_UPDATE_VERIFY_SNAPSHOT") == "1"
ONLY = [t for t in os.environ.get("EQLC_VERIFY_TARGETS", "").split(",") if t]
COUNT_KEYS = ("rules", "exact", "assumptions", "refused", "compiled", "verified", "unproven", "vacuous", "disagreement", "error",
              "witnesses", "witnesses_in_scope", "outside_differences")
# Profiles verified besides each target's default one: target -> profiles.
PROFILES = {"spl": ("cim", "windows"), "kql": ("sentinel-asim", "sentinel")}
KNOWN_REASON_KINDS = {"duplicate", "subsumed", "masked", "coupled", "never true", "never false", "search budget",
                      "event budget", "no effect on the sequence", "unsatisfiable term"}


def _rel(path: str) -> str:
    try:
        return str(Path(path).relative_to(CORPUS))
    except ValueError:
        return path


def _targets() -> list[str]:
    """Every installed target and its verified profiles (``spl:cim``), or those named in
    EQLC_VERIFY_TARGETS (a target name selects its profiles too; python, the reference, always runs)."""
    names = [x for n in available() for x in [n] + [f"{n}:{p}" for p in PROFILES.get(n, ())]]
    if ONLY:
        unknown = set(ONLY) - set(names)
        assert not unknown, f"EQLC_VERIFY_TARGETS names targets that are not installed: {sorted(unknown)}"
        names = [n for n in names if n in ONLY or n.split(":")[0] in ONLY or n == "python"]
    return names


def _run_batch() -> dict:
    files = sorted({Path(r.path) for r in sample()})
    names = _targets()
    rows = run_batch(files, names, jobs=2)
    return build_report(rows, names, "corpus sample" if not FULL else "corpus")


def _snapshot_path(target: str) -> Path:
    return DATA / f"{target.replace(':', '-')}.yaml"


def _snapshot(target: str) -> dict:
    return _load(_snapshot_path(target))


def _known(report: dict) -> dict[tuple[str, str], dict]:
    """Every listed (rule, target) pair of this mode, over the targets of this run."""
    return {(k["rule"], name): k for name in report["targets"] for k in (_snapshot(name).get("known") or {}).get(MODE) or []}


def _observed_problems(report: dict) -> dict[tuple[str, str], dict]:
    out = {}
    for row in report["rules"]:
        for t in row["targets"]:
            if t["verdict"] in ("disagreement", "error", "unproven", "vacuous"):
                ev = t["evidence"][0]["event"] if t.get("evidence") else None
                if t["verdict"] == "vacuous":  # the positives and the assumption they break most often
                    events, example = t.get("events_selected", 0), (t.get("positives_outside") or [{}])[0].get("assumption", "")[:160]
                elif t["verdict"] == "unproven":
                    events = t.get("events_in_scope", 0)
                    example = next(iter((t.get("outside_assumptions") or {}).values()), "")[:160]
                else:
                    events, example = len(t["disagreements"]), (ev or {}).get("_note", t.get("error", ""))
                out[(_rel(row["rule"]), _label(t))] = {
                    "status": t["status"], "verdict": t["verdict"], "events": events, "example": example}
    return out


def _label(result: dict) -> str:
    """The run a result belongs to: the target, or ``target:profile`` for a verified profile."""
    return result["target"] + (":" + result["profile"] if result.get("profile") else "")


def _load(path: Path) -> dict:
    if not path.exists():
        return {}
    return yaml.safe_load(path.read_text(encoding="utf-8")) or {}


def _update(report: dict) -> None:
    """Re-record this mode's counts and listed pairs of every target in the run, keeping reasons."""
    observed = _observed_problems(report)
    old = _known(report)
    for name in report["targets"]:
        snap = _snapshot(name)
        snap.setdefault("counts", {})[MODE] = {k: report["totals"][name][k] for k in COUNT_KEYS}
        entries = []
        for (rule, target), obs in sorted(observed.items()):
            if target != name:
                continue
            prev = old.get((rule, target), {})
            extra = {k: v for k, v in prev.items() if k not in ("rule", "target", "reason") and k not in obs}
            entries.append({"rule": rule, "target": target, **obs, "reason": prev.get("reason", "TODO: classify"), **extra})
        snap.setdefault("known", {})[MODE] = entries
        header = f"# Verification snapshot of the {name} target over the corpus (see tests/test_verify_corpus.py).\n"
        _snapshot_path(name).write_text(header + yaml.safe_dump(snap, sort_keys=False, allow_unicode=True, width=110),
                                        encoding="utf-8")


def _check_no_rule_fails(report: dict) -> None:
    assert report["errors"] == []
    assert all(row.get("witnesses") for row in report["rules"])


def _check_mcdc(report: dict) -> None:
    m = report["mcdc"]
    assert m["atoms"] == m["mcdc_unique"] + m["mcdc_masking"] + m["uncovered"]
    assert m["mcdc_unique"] + m["mcdc_masking"] >= 0.95 * m["atoms"], m
    assert set(m["uncovered_by_reason"]) <= KNOWN_REASON_KINDS, m["uncovered_by_reason"]


def _check_counts_and_known_disagreements(report: dict) -> None:
    expected_counts = {name: (_snapshot(name).get("counts") or {}).get(MODE) for name in report["targets"]}
    observed_counts = {name: {k: report["totals"][name][k] for k in COUNT_KEYS} for name in report["targets"]}
    for name, counts in observed_counts.items():
        assert counts["compiled"] == counts["exact"] + counts["assumptions"]
        assert counts["verified"] + counts["unproven"] + counts["vacuous"] + counts["disagreement"] + counts["error"] == counts["compiled"], name
    known = _known(report)
    for entry in known.values():
        assert entry.get("reason") and entry["reason"] != "TODO: classify", entry
        if entry["verdict"] == "vacuous":  # a refusal the target did not make, unless the generator is at fault
            assert entry["reason"].startswith(("witness gap:", "owed refusal:")), entry
    observed = _observed_problems(report)
    new = sorted(set(observed) - set(known))
    fixed = sorted(set(known) - set(observed))
    assert not new, f"new disagreements (a target or the matcher changed meaning): {[(k, observed[k]) for k in new]}"
    assert not fixed, f"no longer disagreeing, remove from tests/data/verify/targets/: {fixed}"
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
    known = {k["rule"] for k in (_snapshot("python").get("known") or {}).get(MODE) or []}
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
