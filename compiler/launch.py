"""The ``eqlc`` console entry point: ``eqlc match`` started without typer, every other command
through the typer command line (eqlc.cli).

Why: ``eqlc match`` is the command users start again and again (a hunt over one file after another,
a pipeline stage per batch), and importing typer is about half of its start-up (issue 18 goals 1
and 5; commands/match_args.py has the numbers). Its plain invocations are read by
commands/match_args.py and run the command body (commands/match_run.py) directly, ending as every
command ends (commands/exits.py: exit codes, one-line errors); help, errors and anything unusual go
to eqlc.cli, which runs the same body.
"""

from __future__ import annotations

import sys
from typing import Optional


def main(argv: Optional[list[str]] = None) -> None:
    args = sys.argv[1:] if argv is None else list(argv)
    if args[:1] == ["match"]:
        from .commands.match_args import parse

        kwargs = parse(args[1:])
        if kwargs is not None:
            from .commands.exits import run_guarded
            from .commands.match_run import run_match

            sys.exit(run_guarded(lambda: run_match(**kwargs)))
    from .cli import main as cli_main

    cli_main(argv)
