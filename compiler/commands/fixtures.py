"""``eqlc fixtures RULE``: generate witness events (MC/DC pairs and edge cases) for rules.

Without ``-o`` the events of a single rule are printed as NDJSON on stdout and the coverage
summary goes to stderr. ``-o DIR`` writes, per rule, ``<name>.witnesses.ndjson`` and
``<name>.coverage.json`` plus one ``expectations.yaml`` (the matcher's verdicts, so that
``eqlc verify RULE --fixtures DIR/<name>.witnesses.ndjson`` can re-check any target later).
``--json`` prints per-rule coverage and totals (MC/DC atoms and why the others have no pair),
which is how the corpus-wide numbers are produced: ``eqlc fixtures RULES_DIR --json``.
"""

from __future__ import annotations

import collections
import re
from pathlib import Path
from typing import List, Optional

import typer
import yaml

from ..errors import EqlError
from ..fixtures import dump_events
from ..fixtures.oracle import Oracle
from ..fixtures.witness import WitnessSet, generate, reason_kind
from ..errors import UsageError
from ..loaders import iter_batch, rule_files
from ..result import describe_exception
from ..atomic import OutputError, output_dir, write_atomic
from .common import err, exit_code, expand_paths, fail, fail_output, out, print_json, progress


def safe_name(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", text).strip("_") or "rule"


def totals(sets: list[WitnessSet]) -> dict:
    atoms = [a for ws in sets for a in ws.atoms]
    reasons = collections.Counter(reason_kind(a.reason) for a in atoms if a.kind == "none")
    return {
        "rules": len(sets),
        "events": sum(len(ws.events) for ws in sets),
        "atoms": len(atoms),
        "mcdc_unique": sum(a.kind == "unique" for a in atoms),
        "mcdc_masking": sum(a.kind == "masking" for a in atoms),
        "uncovered": sum(a.kind == "none" for a in atoms),
        "uncovered_by_reason": dict(reasons.most_common()),
    }


def _coverage_line(ws: WitnessSet) -> str:
    s = ws.summary()
    return (
        f"{ws.rule.path}: {s['events']} events ({s['selected']} selected), {s['atoms']} atoms: "
        f"{s['mcdc_unique']} unique-cause MC/DC, {s['mcdc_masking']} masking, {len(s['uncovered'])} without a pair"
    )


def fixtures_cmd(
    paths: Optional[List[str]] = typer.Argument(
        None, metavar="PATH", help="Rule files, directories (searched recursively) or glob patterns."),
    outdir: Optional[Path] = typer.Option(None, "-o", "--output", metavar="DIR", help="Write witnesses, coverage and expectations.yaml here."),
    json_out: bool = typer.Option(False, "--json", help="Print coverage per rule and totals as JSON (no events)."),
) -> None:
    """Derive witness events from each rule's IR, with MC/DC coverage of its condition."""
    if not paths:
        fail(UsageError("give rule files, directories or globs (see eqlc fixtures --help)"))
    files = [f for p in expand_paths(paths) for f in rule_files(p)]
    if outdir is not None:
        try:
            output_dir(outdir)  # -o naming a file is a usage error, before any work
        except OutputError as e:
            fail_output(e)
    oracle = Oracle()
    sets: list[WitnessSet] = []
    bad = False
    internal = False
    expectations: dict = {}
    used: set[str] = set()
    for _f, loaded in progress(iter_batch(files), len(files), "generating", outdir is not None or json_out):
        if isinstance(loaded, EqlError):
            err.print(loaded.render(), markup=False)
            bad = True
            continue
        for rule in loaded:
            try:
                ws = generate(rule, oracle)
            except Exception as exc:  # one rule's failure must not lose the batch: an internal error (exit 3)
                err.print(f"{rule.path}: internal error: witness generation failed: {describe_exception(exc)}", markup=False)
                internal = True
                continue
            sets.append(ws)
            if outdir is not None:
                base = safe_name(Path(rule.path).stem if rule.path else rule.name)
                if base in used:  # several rules of one file, or two files with one stem: never overwrite
                    base += "_" + safe_name(rule.name if rule.path and rule.path.endswith(".ndjson") else Path(rule.path or "").suffix.lstrip("."))
                n, unique = 1, base
                while unique in used:
                    n += 1
                    unique = f"{base}_{n}"
                base = unique
                used.add(base)
                import orjson

                try:
                    write_atomic(outdir / f"{base}.witnesses.ndjson", dump_events(ws.events))
                    write_atomic(outdir / f"{base}.coverage.json", orjson.dumps(ws.summary(), option=orjson.OPT_INDENT_2))
                except OutputError as e:
                    fail_output(e)
                expectations[Path(rule.path).name if rule.path else base] = {
                    "fixtures": f"{base}.witnesses.ndjson",
                    "matches": list(ws.expected),
                }
            if not json_out:
                err.print(_coverage_line(ws), markup=False)
                for a in ws.atoms:
                    if a.kind == "none":
                        err.print(f"  no pair: {a.text}: {a.reason}", markup=False)
    if outdir is not None and expectations:
        header = "# Generated by `eqlc fixtures`: `matches` are the Python matcher's verdicts, not hand-written truth.\n"
        try:
            write_atomic(outdir / "expectations.yaml", header + yaml.safe_dump(expectations, sort_keys=False, allow_unicode=True))
        except OutputError as e:
            fail_output(e)
    if json_out:
        print_json({"rules": [ws.summary() for ws in sets], "totals": totals(sets)})
    elif outdir is None:
        if len(sets) == 1:
            out.file.write(dump_events(sets[0].events))
        else:
            t = totals(sets)
            out.print(
                f"{t['rules']} rules, {t['atoms']} atoms: {t['mcdc_unique']} unique-cause MC/DC, "
                f"{t['mcdc_masking']} masking MC/DC, {t['uncovered']} without a pair {t['uncovered_by_reason']}"
            )
    raise typer.Exit(exit_code(internal=internal, bad_input=bad))


def register(app: typer.Typer) -> None:
    app.command("fixtures")(fixtures_cmd)
