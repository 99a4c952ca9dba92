"""``eqlc check PATH...``: parse and validate rule files, one bad file never stopping the others."""

from __future__ import annotations

from typing import List, Optional

import typer

from ..errors import EqlError, UsageError
from ..loaders import iter_batch, rule_files
from .common import err, expand_paths, fail, out, print_json, progress


def check(
    paths: Optional[List[str]] = typer.Argument(
        None, metavar="PATH", help="Rule files, directories (searched recursively) or glob patterns."),
    json_out: bool = typer.Option(False, "--json", help="Print one JSON document with every failure."),
) -> None:
    """Parse and validate rules; exit 0 only if every rule parsed, 2 otherwise."""
    if not paths:
        fail(UsageError("give rule files, directories or globs to check (see eqlc check --help)"))
    files = [f for p in expand_paths(paths) for f in rule_files(p)]
    failed: list[EqlError] = []
    parsed = 0
    for _path, result in progress(iter_batch(files), len(files), "checking", not json_out):
        if isinstance(result, EqlError):
            failed.append(result)
            if not json_out:
                err.print(result.render(), markup=False)
        else:
            parsed += len(result)
    total = parsed + len(failed)
    if json_out:
        print_json({"total": total, "parsed": parsed, "failed": [e.as_dict() for e in failed]})
    else:
        style = "green" if not failed else "red"
        out.print(f"[{style}]{parsed} of {total} rules parsed[/{style}]" + (f", {len(failed)} failed" if failed else ""))
    raise typer.Exit(0 if not failed else 2)


def register(app: typer.Typer) -> None:
    app.command("check")(check)
