"""Helpers shared by the sub-commands: consoles, JSON output, progress bars, error exits."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any, Iterable, Iterator, NoReturn, Optional, TypeVar

import orjson

from ..errors import EqlError

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

EXIT_BAD_INPUT = 2
EXIT_IO_ERROR = 74  # sysexits.h EX_IOERR: an input or output file could not be read or written


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


def target_specs_or_exit(names: Optional[Iterable[str]]) -> list:
    """The requested :class:`~eqlc.verify.TargetSpec` list, or exit 2 naming the bad one."""
    from ..verify import target_specs

    try:
        return target_specs(names)
    except EqlError as e:
        fail(e)


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
