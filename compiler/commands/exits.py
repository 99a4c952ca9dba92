"""How every ``eqlc`` command ends: an exit code and at most one line on stderr, never a traceback.

Shared by the typer command line (eqlc.cli) and ``eqlc match``'s typer-free start (eqlc.launch), so
that a command ends the same way whichever parser started it:

- a command's own ``SystemExit`` keeps its code;
- a file that cannot be read or written (an ``OSError``: a directory, no permission, a full disk,
  standard output failing) is ``PATH: error: ...`` and exit 74 (EX_IOERR);
- the reader of standard output going away (``| head``) is not an error: exit 0;
- Ctrl-C is ``interrupted`` and exit 130;
- an unexpected exception anywhere in eqlc is ``eqlc: internal error: Type: message`` and exit 3
  (``EQLC_DEBUG=1`` shows the traceback).
"""

from __future__ import annotations

import os
import sys
from typing import Any, Callable

from .common import EXIT_INTERNAL, EXIT_IO_ERROR


def run_guarded(command: Callable[[], Any]) -> int:
    """Run ``command`` and return its exit code (its return value when an int, else 0), with every
    way it can end turned into a code as the module docstring says; standard output is flushed
    here, so that a full disk fails here rather than in the interpreter's final flush."""
    code: object = 0
    try:
        code = command()
    except SystemExit as done:
        code = done.code
    except KeyboardInterrupt:
        sys.stderr.write("interrupted\n")
        code = 130
    except BrokenPipeError:
        quiet_stdout()
        code = 0
    except OSError as exc:  # writing standard output failed (disk full, I/O error) or reading an input did
        code = os_error(exc)
    except Exception as exc:  # noqa: BLE001 - a bug in eqlc: one line and exit 3, never a traceback
        if os.environ.get("EQLC_DEBUG"):
            raise
        from ..result import describe_exception

        sys.stderr.write(f"eqlc: internal error: {describe_exception(exc)} (set EQLC_DEBUG=1 for the traceback)\n")
        code = EXIT_INTERNAL
    try:
        sys.stdout.flush()
    except BrokenPipeError:
        quiet_stdout()
    except OSError as exc:
        code = os_error(exc)
    return code if isinstance(code, int) else 0


def quiet_stdout() -> None:
    """Point stdout at /dev/null so the interpreter's own final flush cannot fail again."""
    try:
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    except (OSError, ValueError):
        pass


def os_error(exc: OSError) -> int:
    """``PATH: error: reason`` (or ``standard output: error: ...``) and exit 74."""
    where = f"{exc.filename}: " if getattr(exc, "filename", None) else "standard output: "
    try:
        sys.stderr.write(f"{where}error: {exc.strerror or exc}\n")
    except OSError:
        pass
    quiet_stdout()
    return EXIT_IO_ERROR
