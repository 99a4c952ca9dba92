"""The ``eqlc`` command line (typer). Each sub-command lives in ``compiler/commands/<name>.py``
and registers itself on :data:`app`; this file only assembles them and guarantees that bad
input ends with a readable error and exit code 2, never a traceback."""

from __future__ import annotations

import importlib
import importlib.util
import sys

import typer

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    help="eqlc: compile Elastic EQL detection rules to Sigma, KQL, SPL, osquery SQL and Python, and prove they agree.",
    pretty_exceptions_enable=False,
)

COMMAND_MODULES = ("check", "parse", "compile", "match", "fixtures", "verify", "report")


def _register() -> None:
    for name in COMMAND_MODULES:
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
