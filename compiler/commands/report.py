"""``eqlc report RULES_DIR [-o DIR] [--jobs N]``: every rule x every target, verified on witnesses.

Writes ``DIR/report.json``, ``DIR/report.md`` and ``DIR/index.html`` (open it in a browser; it is
one self-contained file) and prints the per-target totals. ``--json`` prints
``{"results": [{"rule", "target", "status", "verified", "disagreements", ...}], "totals": {...}}``.
A rule that fails (does not parse, crashes a generator or an engine) is a row with its error; the
batch always finishes. Without ``--strict`` the exit code is 0 whatever the verdicts (2 for bad
options); ``--strict`` exits 3 when a target raised (status ``error``) or eqlc failed on a rule, else
2 when a rule file does not load, else 1 when a target disagrees or its engine fails.
"""

from __future__ import annotations

from pathlib import Path
from typing import List, Optional

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from ..errors import UsageError
from ..loaders import rule_files
from ..report import build_report, run_batch, write_report
from ..report.batch import DEFAULT_RULE_TIMEOUT, default_jobs
from ..atomic import OutputError, output_dir
from .common import err, exit_code, expand_paths, fail, fail_output, out, print_json, target_specs_or_exit


def report_cmd(
    paths: Optional[List[str]] = typer.Argument(
        None, metavar="PATH", help="Rule directories, files or glob patterns."),
    outdir: Path = typer.Option(Path("eqlc-report"), "-o", "--output", metavar="DIR", help="Directory for report.json, report.md and index.html."),
    jobs: int = typer.Option(default_jobs(), "--jobs", "-j", metavar="N", help="Worker processes (rule files are split between them)."),
    targets: Optional[List[str]] = typer.Option(None, "--targets", "--target", "-t", metavar="TARGET", help="Targets (repeat or comma-separate; TARGET:PROFILE picks a profile). Default: every installed target."),
    json_out: bool = typer.Option(False, "--json", help="Print the results as JSON instead of the totals table."),
    strict: bool = typer.Option(False, "--strict", help="Exit non-zero on any problem: 3 internal error, 2 a rule that does not load, 1 a disagreement, engine error or rule timeout."),
    rule_timeout: float = typer.Option(DEFAULT_RULE_TIMEOUT, "--rule-timeout", min=0, metavar="SECONDS",
                                       help="Seconds one rule may take (witnesses and every target); past it the rule is an error row and the batch goes on. 0: no limit."),
    broader: bool = typer.Option(False, "--broader", help="Broader translations: a condition a target cannot express is dropped soundly (superset verified on the witnesses)."),
) -> None:
    """Verify every rule under PATH on every target and write JSON, Markdown and HTML reports."""
    specs = target_specs_or_exit(targets)
    if not paths:
        fail(UsageError("give rule directories, files or globs (see eqlc report --help)"))
    files = [f for p in expand_paths(paths) for f in rule_files(p)]
    try:
        output_dir(outdir)  # before hours of work, not after
    except OutputError as e:
        fail_output(e)
    names = [s.label for s in specs]
    runs = [n + ("+broader" if broader or s.broader else "") for n, s in zip(names, specs)]
    source = " ".join(paths)
    show = err.is_terminal and not json_out
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  console=err, transient=True, disable=not show) as bar:
        task = bar.add_task("verifying rule files", total=len(files))
        rows = run_batch(files, runs, jobs=max(1, jobs), on_done=lambda _n: bar.advance(task), rule_timeout=rule_timeout or None)
    report = build_report(rows, names, source)
    try:
        written = write_report(report, outdir)
    except OutputError as e:
        fail_output(e)
    if json_out:
        print_json({"results": report["results"], "totals": report["totals"], "mcdc": report["mcdc"], "errors": report["errors"]})
    else:
        table = Table(title=f"{len(rows)} rules from {source}", title_justify="left")
        for col in ("target", "exact", "assumptions", "refused", "error", "verified", "unproven", "vacuous", "disagreement", "engine error"):
            table.add_column(col, justify="left" if col == "target" else "right")
        for name in names:
            t = report["totals"][name]
            table.add_row(name, str(t["exact"]), str(t["assumptions"]), str(t["refused"]),
                          f"[bold red]{t['internal_error']}[/bold red]" if t["internal_error"] else "0",
                          f"[green]{t['verified']}[/green]", str(t["unproven"]),
                          f"[red]{t['vacuous']}[/red]" if t["vacuous"] else "0",
                          f"[red]{t['disagreement']}[/red]" if t["disagreement"] else "0",
                          f"[yellow]{t['engine_error']}[/yellow]" if t["engine_error"] else "0")
        out.print(table)
        m = report["mcdc"]
        out.print(f"MC/DC: {m['atoms']} atoms, {m['mcdc_unique']} unique-cause, {m['mcdc_masking']} masking, {m['uncovered']} without a pair")
        if report["errors"]:
            out.print(f"[red]{len(report['errors'])} rule(s) failed[/red] (see report.md)")
        out.print("wrote " + ", ".join(str(p) for p in written))
    totals = report["totals"].values()
    internal = any(t["internal_error"] for t in totals) or any(e["kind"] == "internal" for e in report["errors"])
    if internal and not json_out:
        out.print("[bold red]internal errors[/bold red]: a target or eqlc failed on some rules (status error; see report.md)")
    if not strict:
        raise typer.Exit(0)
    raise typer.Exit(exit_code(internal=internal, bad_input=any(e["kind"] == "bad_input" for e in report["errors"]),
                               failed=any(t["disagreement"] or t["engine_error"] for t in totals)
                               or any(e["kind"] == "timeout" for e in report["errors"])))


def register(app: typer.Typer) -> None:
    app.command("report")(report_cmd)
