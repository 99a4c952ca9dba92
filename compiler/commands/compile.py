"""``eqlc compile PATH --target T``: translate rules, reporting exact / assumptions / refused.

``--json`` prints ``{"results": [{"rule", "target", "status", "notes", "output"}]}`` for every
rule under PATH (the shape every target shares); exit 0 unless a rule failed to load. With ``-o``,
each rule's files are written, then each target's batch files (its optional ``batch_artifacts``
hook, :data:`eqlc.target.BATCH_ARTIFACTS`: a Sentinel ARM template, a Splunk app).
"""

from __future__ import annotations

from pathlib import Path
from typing import List, Optional

import typer

from ..errors import EqlError
from ..loaders import iter_batch, rule_files
from ..result import Status, Translation
from ..rule import Rule
from ..target import BATCH_ARTIFACTS, REGISTRY, get_target
from ..atomic import OutputError, output_dir, write_atomic
from .common import err, fail_output, out, print_json, progress, require_exists

_STYLE = {Status.EXACT: "green", Status.ASSUMPTIONS: "yellow", Status.BROADER: "magenta", Status.REFUSED: "red"}


def compile_rule(rule: Rule, target: str, profile: Optional[str] = None, mapping: Optional[str] = None,
                 broader: bool = False) -> Translation:
    """Compile one rule for one target; an unexpected emitter failure becomes a refusal, never a crash.
    With ``broader``, a refusal about one atom is answered by widening the rule (:mod:`eqlc.broaden`)."""
    t = _compile_once(rule, target, profile, mapping)
    if broader and t.status is Status.REFUSED:
        from ..broaden import compile_broader

        t = compile_broader(rule, t, lambda r: _compile_once(r, target, profile, mapping))
        t.rule_path = rule.path
    return t


def _compile_once(rule: Rule, target: str, profile: Optional[str], mapping: Optional[str]) -> Translation:
    try:
        t = get_target(target).compile(rule, profile=profile, mapping=mapping)
    except EqlError:
        raise
    except Exception as exc:  # an emitter bug must not lose the batch: report it as a refusal
        t = Translation.refused(target, f"internal error in the {target} emitter: {type(exc).__name__}: {exc}")
    t.rule_path = rule.path
    return t


def _out_name(rule: Rule) -> str:
    """The rule's file stem (:attr:`Rule.file_stem`), shared with every target's deployment files."""
    return rule.file_stem


def write_translation(t: Translation, rule: Rule, outdir: Path, extension: str) -> list[Path]:
    """Write the translation and its deployment files, each atomically; raises
    :class:`~eqlc.atomic.OutputError`."""
    output_dir(outdir)
    written = []
    if t.output is not None:
        p = outdir / f"{_out_name(rule)}{extension}"
        written.append(write_atomic(p, t.output + ("" if t.output.endswith("\n") else "\n")))
    for name, text in t.artifacts.items():
        p = outdir / name
        output_dir(p.parent)
        written.append(write_atomic(p, text))
    return written


def write_batch(target: str, pairs: list[tuple[Rule, Translation]], outdir: Path, profile: Optional[str],
                mapping: Optional[str]) -> list[Path]:
    """The target's batch files (its optional ``batch_artifacts`` hook, see :mod:`eqlc.target`),
    each written atomically; raises :class:`~eqlc.atomic.OutputError`."""
    hook = getattr(get_target(target), BATCH_ARTIFACTS, None)
    if hook is None or not pairs:
        return []
    files = hook([t for _, t in pairs], [r for r, _ in pairs], profile, mapping)
    written = []
    for name, text in files.items():
        p = outdir / name
        output_dir(p.parent)
        written.append(write_atomic(p, text))
    return written


EXTENSIONS = {"sigma": ".yml", "kql": ".kql", "spl": ".spl", "osquery": ".sql", "python": ".py"}


def compile_cmd(
    path: Path = typer.Argument(..., help="A rule file or a directory of rules."),
    target: str = typer.Option(..., "--target", "-t", help=f"One of: {', '.join(REGISTRY)}, or 'all'."),
    profile: Optional[str] = typer.Option(None, "--profile", help="Target profile (sigma: cased|portable; kql: defender|sentinel-asim; spl: ecs|cim; osquery: events|hunting)."),
    mapping: Optional[Path] = typer.Option(None, "--mapping", help="YAML file merged over the target's field mapping."),
    outdir: Optional[Path] = typer.Option(None, "-o", "--output", help="Write each translation (and its deployment files) here, and the batch's (a Sentinel ARM template, a Splunk app)."),
    json_out: bool = typer.Option(False, "--json", help="Print one JSON document with every result."),
    broader: bool = typer.Option(False, "--broader", help="When a target cannot express one condition, drop it soundly (the translation selects a superset, status 'broader', each dropped condition listed) instead of refusing."),
) -> None:
    """Compile rules for a target; each result is exact, exact with stated assumptions, or refused."""
    targets = list(REGISTRY) if target == "all" else [target]
    for t in targets:
        if t not in REGISTRY:
            err.print(f"error: unknown target {t!r}; expected one of {', '.join(REGISTRY)} or all")
            raise typer.Exit(2)
    require_exists(path)
    if outdir is not None:
        try:
            output_dir(outdir)  # -o naming a file is a usage error, before any work
        except OutputError as e:
            fail_output(e)
    files = rule_files(path)
    results: list[Translation] = []
    compiled: dict[str, list[tuple[Rule, Translation]]] = {t: [] for t in targets}
    load_errors: list[EqlError] = []
    for _f, loaded in progress(iter_batch([path]), len(files), "compiling", not json_out):
        if isinstance(loaded, EqlError):
            load_errors.append(loaded)
            err.print(loaded.render(), markup=False)
            continue
        for rule in loaded:
            for t in targets:
                try:
                    tr = compile_rule(rule, t, profile, str(mapping) if mapping else None, broader)
                except EqlError as bad:  # e.g. an unreadable or invalid --mapping file
                    err.print(bad.render(), markup=False)
                    raise typer.Exit(2) from None
                results.append(tr)
                compiled[t].append((rule, tr))
                if outdir is not None:
                    sub = outdir / t if len(targets) > 1 else outdir
                    try:
                        write_translation(tr, rule, sub, EXTENSIONS.get(t, ".txt"))
                    except OutputError as e:
                        fail_output(e)
                if not json_out:
                    _show(tr)
    if outdir is not None:
        for t, pairs in compiled.items():
            try:
                write_batch(t, pairs, outdir / t if len(targets) > 1 else outdir, profile, str(mapping) if mapping else None)
            except OutputError as e:
                fail_output(e)
    if json_out:
        print_json({"results": [r.as_dict() for r in results]})
    elif len(results) > 1:
        counts = {s: sum(r.status is s for r in results) for s in Status}
        out.print(f"{len(results)} translations: " + ", ".join(f"{counts[s]} {s.value}" for s in Status))
    raise typer.Exit(2 if load_errors else 0)


def _show(t: Translation) -> None:
    style = _STYLE[t.status]
    out.print(f"[bold]{t.rule_path}[/bold] -> {t.target}{' (' + t.profile + ')' if t.profile else ''}: [{style}]{t.status.value}[/{style}]")
    for d in t.dropped:
        out.print(f"  - not tested: {d.text}", markup=False)
    for n in t.notes:
        out.print(f"  - {n}", markup=False)
    if t.output is not None:
        out.print(t.output, markup=False)
    out.print()


def register(app: typer.Typer) -> None:
    app.command("compile")(compile_cmd)
