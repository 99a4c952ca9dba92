"""``eqlc compile PATH... --target T``: translate rules; each result is exact, exact with stated
assumptions, refused (with the reason) or error (the target raised: an internal error).

``--json`` prints ``{"results": [{"rule", "target", "profile", "status", "notes", "output", "files"}],
"batches": [{"target", "profile", "directory", "files"}]}`` (``error`` too on a result whose target
raised). ``-o DIR`` writes every translation and its deployment files, then each target's batch
files (its optional ``batch_artifacts`` hook, :data:`eqlc.target.BATCH_ARTIFACTS`: a Sentinel ARM
template, a Splunk app, one Python module holding every rule), each atomically under a
batch-unique name (see :mod:`eqlc.output`), and prints one line per rule and target plus a summary
table, instead of the translations. Exit codes: 0, 2 when a rule or an option is bad input, 3 when a
target raised, 74 when an output cannot be written (see :mod:`eqlc.commands.common`).
"""

from __future__ import annotations

import ast
from pathlib import Path
from typing import List, Optional

import typer
from rich.table import Table

from ..errors import EqlError, UsageError
from ..loaders import iter_batch, rule_files
from ..output import EXTENSIONS, BatchFiles, with_output_stems, write_batch
from ..result import Status, Translation
from ..rule import Rule
from ..atomic import OutputError, output_dir
from ..target import REGISTRY, TargetSpec, compile_rule
from .common import (err, exit_code, expand_paths, fail, fail_output, inline_rule, out, print_json, progress,
                     require_input, target_specs_or_exit)

__all__ = ["EXTENSIONS", "compile_cmd", "compile_rule", "register"]

_STYLE = {Status.EXACT: "green", Status.ASSUMPTIONS: "yellow", Status.BROADER: "magenta", Status.REFUSED: "red",
          Status.ERROR: "bold red"}
_REASON_CHARS = 160


def _load(paths: Optional[List[str]], query: Optional[str], show_progress: bool) -> tuple[list[Rule], list[EqlError]]:
    if query is not None:
        try:
            return [inline_rule(query)], []
        except EqlError as e:
            fail(e)
    files = [f for p in expand_paths(paths) for f in rule_files(p)]
    rules: list[Rule] = []
    errors: list[EqlError] = []
    for _f, loaded in progress(iter_batch(files), len(files), "loading", show_progress):
        if isinstance(loaded, EqlError):
            errors.append(loaded)
            err.print(loaded.render(), markup=False)
        else:
            rules.extend(loaded)
    return rules, errors


def compile_cmd(
    paths: Optional[List[str]] = typer.Argument(
        None, metavar="PATH", help="Rule files, directories (searched recursively) or glob patterns such as 'rules/**/*.toml'."),
    target: Optional[List[str]] = typer.Option(
        None, "--target", "-t", metavar="TARGET",
        help=f"{', '.join(REGISTRY)} or all; TARGET:PROFILE picks a profile (kql:sentinel-asim). Repeat or comma-separate for several."),
    profile: Optional[str] = typer.Option(
        None, "--profile", metavar="PROFILE",
        help="Profile of the single selected target: sigma cased|portable, kql defender|sentinel-asim|sentinel, spl ecs|cim|windows, osquery events|hunting."),
    mapping: Optional[List[str]] = typer.Option(
        None, "--mapping", metavar="FILE",
        help="YAML merged over the target's field mapping (for python: an Elasticsearch index mapping). With several targets: TARGET=FILE, repeated."),
    outdir: Optional[Path] = typer.Option(
        None, "-o", "--output", metavar="DIR",
        help="Write every translation and its deployment files here (one folder per target when there are several) and print one line per rule."),
    query: Optional[str] = typer.Option(None, "--query", "-q", metavar="TEXT", help="Compile this EQL query instead of rule files."),
    json_out: bool = typer.Option(False, "--json", help="Print one JSON document with every result."),
    broader: bool = typer.Option(False, "--broader", help="When a target cannot express one condition, drop it soundly (the translation selects a superset, status 'broader', each dropped condition listed) instead of refusing."),
) -> None:
    """Translate rules for one or more targets: exact, with stated assumptions, broader (--broader), refused, or error.

    Each result says which, with the reasons; error means the target failed (an internal error)."""
    if not target:
        fail(UsageError(f"--target is required: one of {', '.join(REGISTRY)} or all (TARGET:PROFILE picks a profile)"))
    specs = target_specs_or_exit(target, profile, "--target", mapping)
    require_input(paths, query, "compile")
    if outdir is not None:
        try:
            output_dir(outdir)  # -o naming a file is a usage error, before any work
        except OutputError as e:
            fail_output(e)
    rules, load_errors = _load(paths, query, not json_out)
    if outdir is not None:
        rules = with_output_stems(rules)
    several = len(specs) > 1
    results: dict[TargetSpec, list[tuple[Rule, Translation]]] = {s: [] for s in specs}
    for rule in progress(rules, len(rules), "compiling", not json_out and outdir is not None):
        for spec in specs:
            try:
                tr = compile_rule(rule, spec.name, spec.profile, spec.mapping, broader or spec.broader)
            except EqlError as bad:  # an unreadable or invalid --mapping file
                fail(bad)
            results[spec].append((rule, tr))
            if outdir is None and not json_out:
                _show(tr, brief_python=several)
    batches: list[BatchFiles] = []
    if outdir is not None:
        for spec in specs:
            try:
                batches.append(write_batch(spec, results[spec], outdir / spec.folder if several else outdir))
            except OutputError as e:
                fail_output(e)
            except EqlError as bad:
                fail(bad)
    flat = [t for s in specs for _r, t in results[s]]
    if json_out:
        print_json({"results": [t.as_dict() for t in flat], "batches": [b.as_dict() for b in batches if b.files]})
    elif outdir is not None:
        for i in range(len(rules)):
            for spec in specs:
                _line(results[spec][i][1])
        _summary(specs, results, batches)
    elif len(flat) > 1:
        counts = {s: sum(t.status is s for t in flat) for s in Status}
        out.print(f"{len(flat)} translations: " + ", ".join(f"{counts[s]} {s.value}" for s in Status))
    internal = any(t.status is Status.ERROR for t in flat)
    if internal and not json_out:
        err.print(f"[bold red]{sum(t.status is Status.ERROR for t in flat)} internal error(s)[/bold red]: a target failed; "
                  "the results marked error say which and why")
    raise typer.Exit(exit_code(internal=internal, bad_input=bool(load_errors)))




def _label(t: Translation) -> str:
    return t.target + (f" ({t.profile})" if t.profile else "")


def _first_reason(t: Translation) -> str:
    if not t.notes:
        return ""
    text = " ".join(t.notes[0].split())
    more = f" (+{len(t.notes) - 1} more)" if len(t.notes) > 1 else ""
    return (text if len(text) <= _REASON_CHARS else text[: _REASON_CHARS - 1] + "…") + more


def _line(t: Translation) -> None:
    """One line: rule -> target: status -> its main file (+N more); first reason."""
    style = _STYLE[t.status]
    files = ""
    if t.files:
        files = f" -> {t.files[0]}" + (f" (+{len(t.files) - 1} more)" if len(t.files) > 1 else "")
    reason = _first_reason(t)
    out.print(f"{t.rule_path or '<query>'} -> {_label(t)}: [{style}]{t.status.value}[/{style}]", end="")
    out.print(files + (f"; {reason}" if reason else ""), markup=False)


def _summary(specs: list[TargetSpec], results: dict, batches: list[BatchFiles]) -> None:
    table = Table(title="per target", title_justify="left")
    # the broader column only when some translation is broader (--broader): the table stays narrow
    with_broader = any(t.status is Status.BROADER for s in specs for _r, t in results[s])
    cols = ("target", "rules", "exact", "assumptions") + (("broader",) if with_broader else ()) + ("refused", "error", "files")
    for col in cols:
        table.add_column(col, justify="left" if col == "target" else "right")
    for spec, batch in zip(specs, batches):
        items = results[spec]
        counts = {s: sum(t.status is s for _r, t in items) for s in Status}
        label = spec.name + (f" ({items[0][1].profile})" if items and items[0][1].profile else "")
        nfiles = sum(len(t.files) for _r, t in items) + len(batch.files)
        table.add_row(label, str(len(items)), str(counts[Status.EXACT]), str(counts[Status.ASSUMPTIONS]),
                      *((str(counts[Status.BROADER]),) if with_broader else ()), str(counts[Status.REFUSED]),
                      f"[bold red]{counts[Status.ERROR]}[/bold red]" if counts[Status.ERROR] else "0", str(nfiles))
    out.print(table)
    for batch in batches:
        for f in batch.files:
            out.print(f"{batch.target}: {f} (for the whole batch)", markup=False)


def _module_header(text: str) -> str:
    try:
        doc = ast.get_docstring(ast.parse(text)) or ""
    except SyntaxError:
        doc = ""
    first = doc.strip().splitlines()[0] if doc.strip() else "standalone Python module"
    return f"{first} ({text.count(chr(10)) + 1} lines of standard-library Python; write it with -o DIR or --target python)"


def _show(t: Translation, brief_python: bool = False) -> None:
    style = _STYLE[t.status]
    out.print(f"[bold]{t.rule_path or '<query>'}[/bold] -> {_label(t)}: [{style}]{t.status.value}[/{style}]")
    for d in t.dropped:
        out.print(f"  - not tested: {d.text}", markup=False)
    for n in t.notes:
        out.print(f"  - {n}", markup=False)
    if t.output is not None:
        if brief_python and t.target == "python":
            out.print(_module_header(t.output), markup=False)
        else:
            out.print(t.output, markup=False)
    out.print()


def register(app: typer.Typer) -> None:
    app.command("compile")(compile_cmd)
