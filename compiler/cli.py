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
    try:
        app()
    except KeyboardInterrupt:
        sys.stderr.write("interrupted\n")
        sys.exit(130)
    except BrokenPipeError:
        sys.exit(0)
