"""Helpers shared by the sub-commands: consoles, JSON output, progress bars, the options several
commands share (paths and globs, ``--query``, targets, ``--mapping``) and the exit codes.

Exit codes (README "Exit codes"): 0 success; 1 a check failed (``verify``: a disagreement, a failed
expectation or an engine that could not run a translation; ``report --strict``: the same); 2 bad
input or a usage error (a rule that does not parse, an unknown option value, a path that does not
exist), reported before any work where it can be; 3 an internal error (a target raised: status
``error``; or eqlc itself failed). When several apply, the highest wins.
"""

from __future__ import annotations

import glob
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable, Iterator, NoReturn, Optional, Sequence, TypeVar

import orjson

from ..errors import EqlError, UsageError

if TYPE_CHECKING:
    from ..rule import Rule

T = TypeVar("T")


class LazyConsole:
    """A rich ``Console`` created on first use. Importing rich costs about a fifth of the start-up
    of `eqlc match` (150M instructions of 800M, measured with callgrind), which prints through it
    only on errors; every attribute is the real console's."""

    def __init__(self, **kwargs: Any) -> None:
        object.__setattr__(self, "_kwargs", kwargs)
        object.__setattr__(self, "_real", None)

    def _console(self) -> Any:
        real = object.__getattribute__(self, "_real")
        if real is None:
            from rich.console import Console

            real = Console(**object.__getattribute__(self, "_kwargs"))
            object.__setattr__(self, "_real", real)
        return real

    def __getattr__(self, name: str) -> Any:
        return getattr(self._console(), name)

    def __setattr__(self, name: str, value: Any) -> None:
        setattr(self._console(), name, value)


out: Any = LazyConsole(soft_wrap=True, highlight=False)
err: Any = LazyConsole(stderr=True, soft_wrap=True, highlight=False)

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_BAD_INPUT = 2
EXIT_INTERNAL = 3
EXIT_IO_ERROR = 74  # sysexits.h EX_IOERR: an input or output file could not be read or written


def exit_code(*, internal: bool = False, bad_input: bool = False, failed: bool = False) -> int:
    """The documented exit code for what happened (the most severe wins)."""
    return EXIT_INTERNAL if internal else EXIT_BAD_INPUT if bad_input else EXIT_FAILED if failed else EXIT_OK


def print_json(doc: Any) -> None:
    sys.stdout.write(orjson.dumps(doc, option=orjson.OPT_INDENT_2).decode() + "\n")


def fail(error: EqlError) -> NoReturn:
    """Print a located error (no traceback) and exit 2."""
    err.print(error.render(), markup=False)
    raise SystemExit(EXIT_BAD_INPUT)


def fail_output(error: EqlError) -> NoReturn:
    """Print an output error (:class:`~eqlc.atomic.OutputError`) and exit: 2 for a usage
    mistake (``-o`` naming a file), :data:`EXIT_IO_ERROR` when writing failed."""
    err.print(error.render(), markup=False)
    raise SystemExit(EXIT_BAD_INPUT if getattr(error, "usage", False) else EXIT_IO_ERROR)


def require_exists(path: Path, message: str = "no such file or directory") -> None:
    """Exit 2 with ``PATH: error: MESSAGE`` when ``path`` does not exist."""
    if not path.exists():
        fail(EqlError(message, path=str(path)))


def target_specs_or_exit(names: Optional[Iterable[str]], profile: Optional[str] = None, option: str = "--targets",
                         mappings: Optional[Sequence[str]] = None) -> list:
    """The requested :class:`~eqlc.target.TargetSpec` list (``name`` or ``name:profile``, repeated
    or comma-separated, ``all``), each with its ``--mapping`` file checked, or exit 2 naming the
    problem and the valid choices."""
    from ..target import check_mapping, parse_targets

    try:
        specs = parse_targets(names, profile, option=option)
        specs = assign_mappings(specs, mappings or [])
        for spec in specs:
            check_mapping(spec)
        return specs
    except EqlError as e:
        fail(e)


def assign_mappings(specs: list, values: Sequence[str]) -> list:
    """Give each target its ``--mapping`` file: ``FILE`` when one target is selected, else
    ``TARGET=FILE`` (each target reads its own mapping format). ``FILE`` may also name a mapping
    the target ships (``--mapping args-from-cmdline`` for osquery)."""
    from dataclasses import replace

    from ..target import packaged_mappings

    if not values:
        return specs
    by_name: dict[str, str] = {}
    for value in values:
        name, sep, path = str(value).partition("=")
        if not sep or "/" in name or "\\" in name:
            if len({s.name for s in specs}) != 1:
                raise UsageError("--mapping FILE applies to a single target; with several, give each its own as "
                                 f"--mapping TARGET=FILE (targets here: {', '.join(dict.fromkeys(s.name for s in specs))})")
            name, path = specs[0].name, str(value)
        elif name not in {s.name for s in specs}:
            raise UsageError(f"--mapping {value}: {name!r} is not a selected target "
                             f"(selected: {', '.join(dict.fromkeys(s.name for s in specs))})")
        if name in by_name:
            raise UsageError(f"--mapping given twice for {name}")
        if not Path(path).exists():
            shipped = packaged_mappings(name)
            if path not in shipped:
                names = f" (or one {name} ships: {', '.join(shipped)})" if shipped else ""
                raise UsageError(f"no such mapping file{names}", path=path)
            path = shipped[path]
        by_name[name] = path
    return [replace(s, mapping=by_name.get(s.name)) for s in specs]


def has_glob(text: str) -> bool:
    return any(c in text for c in "*?[")


def expand_paths(values: Optional[Sequence[str]]) -> list[Path]:
    """Paths as given (files or directories), with glob patterns (``rules/**/*.toml``, quoted so
    that the shell leaves them) expanded in sorted order. Every path that does not exist and every
    pattern that matches nothing is reported, then the command exits 2, before any work."""
    found: list[Path] = []
    missing: list[UsageError] = []
    for value in values or []:
        if Path(value).exists():
            found.append(Path(value))
        elif has_glob(value):
            matches = sorted(glob.glob(value, recursive=True))
            if matches:
                found.extend(Path(m) for m in matches)
            else:
                missing.append(UsageError("no file matches this pattern", path=value))
        else:
            missing.append(UsageError("no such file or directory", path=value))
    if missing:
        for e in missing:
            err.print(e.render(), markup=False)
        raise SystemExit(EXIT_BAD_INPUT)
    return list(dict.fromkeys(found))


def inline_rule(query: str) -> Rule:
    """A rule for ``--query TEXT`` (no file: named ``query``; errors are located in the text)."""
    from ..parser import parse_query
    from ..rule import Rule

    return Rule(query=parse_query(query), query_text=query.strip(), name="query")


def require_input(paths: Optional[Sequence[str]], query: Optional[str], command: str) -> None:
    """Exit 2 unless rules come from PATH arguments or ``--query`` (one of them)."""
    if not paths and query is None:
        fail(UsageError(f"give rule files, directories or globs (PATH...), or an inline query with --query TEXT "
                        f"(see eqlc {command} --help)"))


def progress(items: Iterable[T], total: int, label: str, enabled: bool = True) -> Iterator[T]:
    """Iterate with a rich progress bar on stderr when it is a terminal and ``enabled``."""
    if not enabled or total < 2 or not err.is_terminal:
        yield from items
        return
    # imported here: rich.progress costs start-up time every command would pay
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), console=err._console(), transient=True) as bar:
        task = bar.add_task(label, total=total)
        for item in items:
            yield item
            bar.advance(task)
