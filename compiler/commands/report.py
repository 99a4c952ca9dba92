"""``eqlc report RULES_DIR [-o DIR] [--jobs N]``: every rule x every target, verified on witnesses.

Writes ``DIR/report.json``, ``DIR/report.md`` and ``DIR/index.html`` (open it in a browser; it is
one self-contained file) and prints the per-target totals. ``--json`` prints
``{"results": [{"rule", "target", "status", "verified", "disagreements", ...}], "totals": {...}}``.
A rule that fails (does not parse, crashes a generator or an engine) is a row with its error; the
batch always finishes. ``--strict`` exits 1 when any target disagrees or fails.
"""

from __future__ import annotations

from pathlib import Path
from typing import List, Optional

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from ..loaders import rule_files
from ..report import build_report, run_batch, write_report
from ..report.batch import DEFAULT_RULE_TIMEOUT, default_jobs
from ..atomic import OutputError, output_dir
from .common import err, fail_output, out, print_json, require_exists, target_specs_or_exit


def report_cmd(
    path: Path = typer.Argument(..., help="A directory of rules (or one rule file)."),
    outdir: Path = typer.Option(Path("eqlc-report"), "-o", "--output", help="Directory for report.json, report.md and index.html."),
    jobs: int = typer.Option(default_jobs(), "--jobs", "-j", help="Worker processes (rule files are split between them)."),
    targets: Optional[List[str]] = typer.Option(None, "--targets", "-t", help="Targets (repeat or comma-separate; name:profile). Default: every installed target."),
    json_out: bool = typer.Option(False, "--json", help="Print the results as JSON instead of the totals table."),
    strict: bool = typer.Option(False, "--strict", help="Exit 1 if any target disagrees with the matcher or fails to run."),
    rule_timeout: float = typer.Option(DEFAULT_RULE_TIMEOUT, "--rule-timeout", min=0,
                                       help="Seconds one rule may take (witnesses and every target); past it the rule is an error row and the batch goes on. 0: no limit."),
    broader: bool = typer.Option(False, "--broader", help="Broader translations: a condition a target cannot express is dropped soundly (superset verified on the witnesses)."),
) -> None:
    """Verify every rule under PATH on every target and write JSON, Markdown and HTML reports."""
    specs = target_specs_or_exit(targets)
    require_exists(path)
    try:
        output_dir(outdir)  # before hours of work, not after
    except OutputError as e:
        fail_output(e)
    files = rule_files(path)
    names = [s.label for s in specs]
    runs = [n + ("+broader" if broader or s.broader else "") for n, s in zip(names, specs)]
    show = err.is_terminal and not json_out
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  console=err, transient=True, disable=not show) as bar:
        task = bar.add_task("verifying rule files", total=len(files))
        rows = run_batch(files, runs, jobs=max(1, jobs), on_done=lambda _n: bar.advance(task), rule_timeout=rule_timeout or None)
    report = build_report(rows, names, str(path))
    try:
        written = write_report(report, outdir)
    except OutputError as e:
        fail_output(e)
    if json_out:
        print_json({"results": report["results"], "totals": report["totals"], "mcdc": report["mcdc"], "errors": report["errors"]})
    else:
        table = Table(title=f"{len(rows)} rules from {path}", title_justify="left")
        for col in ("target", "exact", "assumptions", "refused", "verified", "unproven", "vacuous", "disagreement", "error"):
            table.add_column(col, justify="left" if col == "target" else "right")
        for name in names:
            t = report["totals"][name]
            table.add_row(name, str(t["exact"]), str(t["assumptions"]), str(t["refused"]),
                          f"[green]{t['verified']}[/green]", str(t["unproven"]),
                          f"[red]{t['vacuous']}[/red]" if t["vacuous"] else "0", f"[red]{t['disagreement']}[/red]" if t["disagreement"] else "0",
                          f"[yellow]{t['error']}[/yellow]" if t["error"] else "0")
        out.print(table)
        m = report["mcdc"]
        out.print(f"MC/DC: {m['atoms']} atoms, {m['mcdc_unique']} unique-cause, {m['mcdc_masking']} masking, {m['uncovered']} without a pair")
        if report["errors"]:
            out.print(f"[red]{len(report['errors'])} rule(s) failed[/red] (see report.md)")
        out.print("wrote " + ", ".join(str(p) for p in written))
    bad = any(t["disagreement"] or t["error"] for t in report["totals"].values()) or report["errors"]
    raise typer.Exit(1 if strict and bad else 0)


def register(app: typer.Typer) -> None:
    app.command("report")(report_cmd)
