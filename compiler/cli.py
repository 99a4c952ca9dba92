"""The ``eqlc`` command line (typer). Each sub-command lives in ``compiler/commands/<name>.py``
and registers itself on :data:`app`; this file only assembles them and guarantees that bad
input ends with a readable error and exit code 2, never a traceback."""

from __future__ import annotations

import importlib
import importlib.util
import sys
from typing import Optional

import typer

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    help="eqlc: compile Elastic EQL detection rules to Sigma, KQL, SPL, osquery SQL and Python, and prove they agree.",
    pretty_exceptions_enable=False,
)

COMMAND_MODULES = ("check", "parse", "compile", "match", "fixtures", "verify", "report")


@app.callback()
def _group() -> None:
    # a group callback keeps `eqlc CMD ...` a group when only CMD is registered (typer runs a
    # lone command without its name otherwise)
    pass


def _register(argv: Optional[list] = None) -> None:
    """Register the sub-commands: only the one the command line names, when it names one
    (importing every command module costs about 0.1 s of start-up, which `eqlc match` on a
    small file would feel); all of them otherwise (help, errors)."""
    args = sys.argv[1:] if argv is None else argv
    wanted = next((a for a in args if not a.startswith("-")), None)
    for name in (wanted,) if wanted in COMMAND_MODULES else COMMAND_MODULES:
        module = f"eqlc.commands.{name}"
        if importlib.util.find_spec(module) is not None:
            importlib.import_module(module).register(app)


def main() -> None:
    _register()
    code: object = 0
    try:
        app()
    except SystemExit as done:
        code = done.code
    except KeyboardInterrupt:
        sys.stderr.write("interrupted\n")
        code = 130
    except BrokenPipeError:
        _quiet_stdout()
        code = 0  # the reader went away (``| head``): not an error
    except OSError as exc:  # writing standard output failed (disk full, I/O error) or reading an input did
        code = _os_error(exc)
    try:
        sys.stdout.flush()  # buffered output fails here, not in the command, when the disk is full
    except BrokenPipeError:
        _quiet_stdout()
    except OSError as exc:
        code = _os_error(exc)
    sys.exit(code)


def _quiet_stdout() -> None:
    """Point stdout at /dev/null so the interpreter's own final flush cannot fail again."""
    import os

    try:
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    except (OSError, ValueError):
        pass


def _os_error(exc: OSError) -> int:
    from .commands.common import EXIT_IO_ERROR

    where = f"{exc.filename}: " if getattr(exc, "filename", None) else "standard output: "
    try:
        sys.stderr.write(f"{where}error: {exc.strerror or exc}\n")
    except OSError:
        pass
    _quiet_stdout()
    return EXIT_IO_ERROR
