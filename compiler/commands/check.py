"""``eqlc check PATH...``: parse and validate rule files, one bad file never stopping the others."""

from __future__ import annotations

from pathlib import Path
from typing import List

import typer

from ..errors import EqlError
from ..loaders import iter_batch, rule_files
from .common import err, out, print_json, progress


def check(
    paths: List[Path] = typer.Argument(..., help="Rule files or directories (searched recursively)."),
    json_out: bool = typer.Option(False, "--json", help="Print one JSON document with every failure."),
) -> None:
    """Parse and validate rules; exit 0 only if every rule parsed."""
    missing = [p for p in paths if not p.exists()]
    files = [f for p in paths if p.exists() for f in rule_files(p)]
    failed: list[EqlError] = [EqlError("no such file or directory", path=str(p)) for p in missing]
    parsed = 0
    for _path, result in progress(iter_batch([f for f in files]), len(files), "checking", not json_out):
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
