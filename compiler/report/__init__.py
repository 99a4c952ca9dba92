"""``eqlc report``: the batch verification report as JSON, Markdown and a static HTML page.

:func:`build_report` turns the batch rows (:mod:`.batch`) into one document with per-target
totals (exact / with assumptions / refused / error, verified on generated witnesses / disagreement /
engine error), MC/DC totals of the witnesses and the flat ``results`` rows; :func:`write_report`
writes ``report.json``, ``report.md`` and ``index.html`` (self-contained: inline CSS, JS and data,
no network access) into a directory.
"""

from __future__ import annotations

import collections
import datetime as _dt
from pathlib import Path
from typing import Sequence

import orjson

from ..atomic import output_dir, write_atomic
from .batch import flat_results, run_batch
from .html import render_html
from .markdown import render_markdown

__all__ = ["build_report", "write_report", "run_batch", "render_html", "render_markdown", "target_totals"]


def target_totals(rows: Sequence[dict], targets: Sequence[str]) -> dict[str, dict]:
    """Per target: how many rules compiled exactly / with assumptions / were refused / failed with
    an internal error (status ``error``: the emitter raised), and how many compiled ones were
    verified on their witnesses, agreed without proof (``unproven``: the witnesses inside the
    stated assumptions are all selected or all rejected), agreed only because every witness the
    rule selects breaks a stated assumption (``vacuous``), disagreed, or failed to run
    (``engine_error``). ``error`` counts the verdict ``error``: internal errors plus engine errors."""
    out: dict[str, dict] = {}
    for name in targets:
        c: collections.Counter = collections.Counter()
        reasons: collections.Counter = collections.Counter()
        for row in rows:
            for t in row["targets"]:
                label = t["target"] + (":" + t["profile"] if t.get("profile") else "")
                if label != name:
                    continue
                c["rules"] += 1
                if "events_in_scope" in t:
                    c["witnesses"] += t["events"]
                    c["in_scope"] += t["events_in_scope"]
                    c["outside_differences"] += len(t.get("outside_assumptions") or ())
                    c["extra_selections"] += t.get("extra_selections", 0)
                c["s_" + t["status"]] += 1
                c["v_" + t["verdict"]] += 1
                if t["verdict"] == "disagreement":
                    c[f"disagreement_{t['status']}"] += 1
                if t["status"] == "refused" and t.get("notes"):
                    reasons[t["notes"][0][:160]] += 1
        out[name] = {
            "rules": c["rules"],
            "exact": c["s_exact"],
            "assumptions": c["s_assumptions"],
            "broader": c["s_broader"],
            "refused": c["s_refused"],
            "internal_error": c["s_error"],
            "compiled": c["s_exact"] + c["s_assumptions"],
            "deployable": c["s_exact"] + c["s_assumptions"] + c["s_broader"],
            "verified": c["v_verified"],
            "unproven": c["v_unproven"],
            "vacuous": c["v_vacuous"],
            "disagreement": c["v_disagreement"],
            "disagreement_exact": c["disagreement_exact"],
            "disagreement_assumptions": c["disagreement_assumptions"],
            "error": c["v_error"],
            "engine_error": c["v_error"] - c["s_error"],
            # witnesses the compiled translations ran on, those inside their stated assumptions,
            # and differences excused because the witness breaks one (the target's own check)
            "witnesses": c["witnesses"],
            "witnesses_in_scope": c["in_scope"],
            "outside_differences": c["outside_differences"],
            # broader translations: witnesses selected beyond the matcher's (the dropped conditions' noise)
            "extra_selections": c["extra_selections"],
            "top_refusals": [{"reason": r, "rules": n} for r, n in reasons.most_common(10)],
        }
    return out


def mcdc_totals(rows: Sequence[dict]) -> dict:
    atoms = unique = masking = 0
    reasons: collections.Counter = collections.Counter()
    for row in rows:
        w = row.get("witnesses")
        if not w:
            continue
        atoms += w["atoms"]
        unique += w["mcdc_unique"]
        masking += w["mcdc_masking"]
        reasons.update(u["kind"] for u in w["uncovered"])
    return {"atoms": atoms, "mcdc_unique": unique, "mcdc_masking": masking,
            "uncovered": atoms - unique - masking, "uncovered_by_reason": dict(reasons.most_common())}


def build_report(rows: Sequence[dict], targets: Sequence[str], source: str = "") -> dict:
    return {
        "generated": _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "source": source,
        "targets": list(targets),
        "totals": target_totals(rows, targets),
        "mcdc": mcdc_totals(rows),
        "errors": [{"rule": r["rule"], "error": r["error"], "kind": r.get("error_kind", "internal")}
                   for r in rows if r.get("error")],
        "results": flat_results(rows),
        "rules": list(rows),
    }


def write_report(report: dict, outdir: Path) -> list[Path]:
    """Write the three files, each atomically (complete or not at all: a full disk no longer
    leaves a 0-byte report.json); raises :class:`~eqlc.atomic.OutputError`."""
    outdir = output_dir(outdir)
    paths = [outdir / "report.json", outdir / "report.md", outdir / "index.html"]
    write_atomic(paths[0], orjson.dumps(report, option=orjson.OPT_INDENT_2))
    write_atomic(paths[1], render_markdown(report))
    write_atomic(paths[2], render_html(report))
    return paths
