"""Output files that are either complete or untouched, and output errors a user can read.

A report or translation written in place is truncated first: a full disk then leaves a 0-byte
``report.json`` (and the previous report is gone). :func:`write_atomic` writes a temporary file
in the destination's own directory (same filesystem, so the rename is atomic), flushes and
fsyncs it, and ``os.replace``-s it over the destination; on any error the temporary file is
removed and the destination keeps its previous content. Errors are :class:`OutputError`
(an :class:`~eqlc.errors.EqlError` naming the path), which commands report with
``EXIT_IO_ERROR``.
"""

from __future__ import annotations

import errno
import os
import tempfile
from pathlib import Path
from typing import Union

from .errors import EqlError


class OutputError(EqlError):
    """An output file or directory could not be written (disk full, not a directory, ...).
    ``usage`` is True for a mistake on the command line (``-o`` naming a file)."""

    usage: bool = False


def _describe(exc: OSError) -> str:
    reason = exc.strerror or str(exc)
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        reason += " (the file was not written; its previous content, if any, is unchanged)"
    return reason


def write_atomic(path: Union[str, Path], data: Union[str, bytes], encoding: str = "utf-8") -> Path:
    """Write ``data`` to ``path`` atomically (see the module docstring); raise :class:`OutputError`."""
    path = Path(path)
    raw = data.encode(encoding) if isinstance(data, str) else data
    tmp = None
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
        with os.fdopen(fd, "wb") as f:
            f.write(raw)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
        tmp = None
    except OSError as exc:
        raise OutputError(f"cannot write: {_describe(exc)}", path=str(path)) from None
    finally:
        if tmp is not None:
            try:
                os.unlink(tmp)
            except OSError:
                pass
    return path


def output_dir(path: Union[str, Path]) -> Path:
    """``path`` as an output directory, created if missing; :class:`OutputError` when it names
    an existing file (``-o report.json``) or cannot be created. Commands call it before any work."""
    path = Path(path)
    if path.exists() and not path.is_dir():
        bad = OutputError("exists and is not a directory; -o names the directory to write into", path=str(path))
        bad.usage = True
        raise bad
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(f"cannot create the output directory: {_describe(exc)}", path=str(path)) from None
    if not os.access(path, os.W_OK | os.X_OK):
        raise OutputError("the output directory is not writable", path=str(path))
    return path
