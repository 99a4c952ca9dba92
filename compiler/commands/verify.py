"""``eqlc verify RULE``: run every target on the same fixtures and show where they disagree.

Fixtures are ``--fixtures FILE``, else the hand-written ones named in ``expectations.yaml``
beside the rule, else witnesses generated from the rule (``eqlc fixtures``). The matrix has one
row per event and one column per target (plus the hand-written expectation and the matcher);
a cell is ``✓`` (selected) or ``·``, red where it differs from the matcher or the expectation.
Each event is one line whatever the terminal width (a long note is cut; ``--json`` has it all).
Exit status: 0 when every compiled target agrees (refusals are fine), 1 on any disagreement,
failed expectation or engine error, 2 on bad input, 3 when a target's emitter raised (status
``error``). ``--json`` prints
``{"results": [{"rule", "target", "status", "verified", "disagreements", ...}], "reference": [...]}``.
"""

from __future__ import annotations

import dataclasses

from pathlib import Path
from typing import List, Optional

import typer
from rich import box
from rich.markup import escape
from rich.table import Table

from ..errors import EqlError
from ..loaders import iter_batch, rule_files
from ..target import EVENT_ID_FIELD
from ..verify import TargetRun, Verification, verify_rule
from .common import (err, exit_code, expand_paths, fail, inline_rule, out, print_json, require_exists, require_input,
                     target_specs_or_exit)

FULL_MATRIX_MAX_ROWS = 60


def _cell(selected: bool, wrong: bool, outside: bool = False) -> str:
    """✓ selected, · not; ``!`` (red) a disagreement; ``~`` (yellow) a difference on an event
    that breaks one of the translation's stated assumptions."""
    mark = "✓" if selected else "·"
    if wrong:
        return f"[bold red]{mark}![/bold red]"
    return f"[yellow]{mark}~[/yellow]" if outside else mark


def render_matrix(v: Verification, show_all: bool = False) -> Table:
    """Events x (expected, matcher, targets); only rows with a problem when the set is large."""
    title = f"{v.rule.path or v.rule.name}: {len(v.events)} {v.source} events"
    # one line per event at any width (80 columns, or a pipe): narrow mark columns, a note cut short
    table = Table(title=title, title_justify="left", show_lines=False, expand=True, box=box.SIMPLE_HEAD,
                  padding=(0, 1), collapse_padding=True, pad_edge=False)
    table.add_column("event", no_wrap=True, overflow="ellipsis", max_width=24)
    if v.expected is not None:
        table.add_column("expected", no_wrap=True)
    table.add_column("matcher", no_wrap=True)
    for r in v.runs:
        label = r.spec.label
        if r.internal_error:
            label += "\n(error)"
        elif r.refused:
            label += "\n(refused)"
        elif r.error:
            label += "\n(error)"
        table.add_column(label, no_wrap=True)
    table.add_column("note", no_wrap=True, overflow="ellipsis", ratio=1, min_width=8)
    expected = set(v.expected or [])
    reference = set(v.reference)
    sel = {r.spec.label: set(r.selected or []) for r in v.runs}
    bad_ref = set(v.reference_failures)
    # large sets show only real problems; differences excused by a stated assumption are counted
    # in the summary line (--all shows them)
    problem_ids = bad_ref | {i for r in v.runs for i in r.disagreements + r.expectation_failures}
    shown = 0
    for event in v.events:
        eid = event[EVENT_ID_FIELD]
        if not show_all and len(v.events) > FULL_MATRIX_MAX_ROWS and eid not in problem_ids:
            continue
        shown += 1
        row = [eid]
        if v.expected is not None:
            row.append(_cell(eid in expected, False))
        row.append(_cell(eid in reference, eid in bad_ref))
        for r in v.runs:
            if r.selected is None:
                row.append("")
            else:
                wrong = eid in r.disagreements or eid in r.expectation_failures
                row.append(_cell(eid in sel[r.spec.label], wrong, eid in r.outside_differences))
        note = " ".join(str(event.get("_note", "")).split())
        outside = [r.spec.label for r in v.runs if eid in r.outside_differences]
        if outside:
            note = f"(~ {', '.join(outside)}) {note}"
        row.append(escape(note.strip()))
        table.add_row(*row)
    hidden = len(v.events) - shown
    if hidden:
        table.caption = (f"{hidden} rows without a disagreement are hidden (--all shows them, with the differences"
                         " on events that break a stated assumption)")
    shown_ids = {row for row in problem_ids} if hidden else {e[EVENT_ID_FIELD] for e in v.events}
    if any(set(r.outside_differences) & shown_ids for r in v.runs):
        table.caption = ((table.caption or "") + "\n~ differs from the matcher on an event that breaks a stated assumption"
                         " (not a disagreement; the assumptions are listed below)").strip()
    table.caption_justify = "left"
    return table


def _summary_line(r: TargetRun) -> str:
    head = f"  {r.spec.label}: {r.status.value}"
    if r.internal_error:
        return head + f" - [bold red]internal error[/bold red]: {r.translation.error}"
    if r.refused:
        return head + f" - {r.translation.notes[0] if r.translation.notes else 'no reason given'}"
    if r.error:
        return head + f", [red]engine error[/red]: {r.error}"
    scope = ""
    if r.outside:
        scope = (f" on the {r.in_scope} events where its stated assumptions hold ({r.in_scope_selected} selected);"
                 f" {len(r.outside)} break one")
        if r.outside_differences:
            scope += f", {len(r.outside_differences)} of them selected differently"
    if r.verified:
        return head + ", [green]agrees with the matcher[/green]" + scope
    if r.verdict == "vacuous":
        top = r.scope.positive_breaks[0][0] if r.scope and r.scope.positive_breaks else ""
        return (head + f", [red]vacuous: every one of the {r.scope.positives if r.scope else 0} events the matcher selects "
                f"breaks a stated assumption[/red] (an assumption no selected event meets is a refusal)" + scope
                + (f"; most often: {top}" if top else ""))
    if r.verdict == "unproven":
        return (head + ", [yellow]agrees with the matcher but proves nothing[/yellow]" + scope
                + ": the matcher selects " + ("none" if r.in_scope_selected == 0 else "all") + " of those events")
    parts = []
    if r.disagreements:
        parts.append(f"{len(r.disagreements)} disagreement(s): {', '.join(r.disagreements[:20])}{' ...' if len(r.disagreements) > 20 else ''}")
    if r.expectation_failures:
        parts.append(f"{len(r.expectation_failures)} failed expectation(s): {', '.join(r.expectation_failures[:20])}")
    return head + ", [red]" + "; ".join(parts) + "[/red]" + scope


def show(v: Verification, show_all: bool = False) -> None:
    table = render_matrix(v, show_all)
    if table.row_count:
        out.print(table)
    else:  # nothing to show: say so in one line instead of an empty frame
        out.print(f"{table.title}; {table.caption}")
    if v.reference_error:
        out.print(f"[red]the reference matcher failed: {v.reference_error}[/red]")
    if v.reference_failures:
        out.print(f"[red]the matcher contradicts the hand-written expectation on: {', '.join(v.reference_failures)}[/red]")
    for r in v.runs:
        out.print(_summary_line(r))
        if r.status.value == "assumptions" and (not r.verified or r.outside_differences):
            for n in r.translation.notes:
                out.print(f"      assumes: {n}", markup=False)
    out.print()


def _loaded(paths: Optional[List[str]], query: Optional[str]):
    """(rules, or the load error) per input, from PATH arguments or ``--query``."""
    if query is not None:
        try:
            yield [inline_rule(query)]
        except EqlError as e:
            fail(e)
        return
    files = [f for p in expand_paths(paths) for f in rule_files(p)]
    for _f, loaded in iter_batch(files):
        yield loaded


def verify_cmd(
    paths: Optional[List[str]] = typer.Argument(
        None, metavar="PATH", help="Rule files, directories (searched recursively) or glob patterns."),
    query: Optional[str] = typer.Option(None, "--query", "-q", metavar="TEXT", help="Verify this EQL query (on generated witnesses) instead of rule files."),
    fixtures: Optional[Path] = typer.Option(None, "--fixtures", "-f", metavar="FILE", help="NDJSON fixture events (default: expectations.yaml beside the rule, else generated witnesses)."),
    targets: Optional[List[str]] = typer.Option(None, "--targets", "--target", "-t", metavar="TARGET", help="Targets to run (repeat or comma-separate; TARGET:PROFILE picks a profile). Default: every installed target."),
    mapping: Optional[List[str]] = typer.Option(None, "--mapping", metavar="FILE", help="YAML merged over the target's field mapping; with several targets TARGET=FILE, repeated."),
    json_out: bool = typer.Option(False, "--json", help="Print one JSON document."),
    show_all: bool = typer.Option(False, "--all", help="Show every event row, not only disagreeing ones, for large fixture sets."),
    broader: bool = typer.Option(False, "--broader", help="Verify broader translations (a refused condition dropped soundly): every event the matcher selects must be selected; extra selections are counted, not errors."),
) -> None:
    """Run every target on the same fixtures and show where they disagree with the matcher.

    Exit 1 on any disagreement, failed expectation, engine error or vacuous translation (its stated
    assumptions broken by every event the rule selects); 3 when a target fails to compile."""
    specs = target_specs_or_exit(targets, mappings=mapping)
    if broader:
        specs = [dataclasses.replace(s, broader=True) for s in specs]
    require_input(paths, query, "verify")
    if fixtures is not None:
        require_exists(fixtures, "no such fixture file")
    results: list[dict] = []
    references: list[dict] = []
    failed = internal = bad_input = False
    for loaded in _loaded(paths, query):
        if isinstance(loaded, EqlError):
            err.print(loaded.render(), markup=False)
            bad_input = True
            continue
        for rule in loaded:
            try:
                v = verify_rule(rule, specs, fixtures)
            except EqlError as e:
                err.print(e.render(), markup=False)
                bad_input = True
                continue
            failed = failed or not v.ok
            internal = internal or any(r.internal_error for r in v.runs)
            results.extend(v.results())
            references.append(v.reference_dict())
            if not json_out:
                show(v, show_all)
    if json_out:
        print_json({"results": results, "reference": references})
    raise typer.Exit(exit_code(internal=internal, bad_input=bad_input, failed=failed))


def register(app: typer.Typer) -> None:
    app.command("verify")(verify_cmd)
