"""``eqlc match``'s arguments read without typer, for the invocations that need nothing else.

Why: importing typer and building the command line is about half of ``eqlc match``'s start-up
(on an empty file, with the compiled-matcher cache: 327M instructions through typer, 211M without;
``python benchmarks/bench_ndjson.py --only startup --callgrind``), paid at every run of the command
users start again and again (issue 18 goals 1 and 5). Every other command, and every ``eqlc
match`` this module does not read whole, goes through typer as before.

What is read here: the rule, one or more event files (``-`` is standard input), and the options of
:data:`OPTIONS` as ``--name``, ``--name VALUE`` or ``--name=VALUE``, in any order, the last of a
repeated option winning (as click does). Anything else (``--help``, ``--``, an unknown or
abbreviated option, a flag given a value, an option missing its value, another argument starting
with ``-``, no event file) returns None and typer reads the command line, with its usual help and
errors. :data:`OPTIONS` mirrors the typer declaration (commands/match.py); tests/test_match_args.py
checks that the two agree option by option and that both parsers hand the command the same
arguments.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Optional

# option -> (parameter of run_match, takes a value); flags are False when absent, True when given
OPTIONS: dict[str, tuple[str, bool]] = {
    "--count": ("count", False),
    "--sort": ("sort", False),
    "--dialect": ("dialect", True),
    "--mapping": ("mapping", True),
    "--event-category-field": ("category", True),
    "--timestamp-field": ("timestamp", True),
    "--tiebreaker-field": ("tiebreaker", True),
    "--no-prefilter": ("no_prefilter", False),
    "--scan": ("scan", True),
    "--jobs": ("jobs", True),
    "--no-cache": ("no_cache", False),
}


def parse(args: list[str]) -> Optional[dict[str, Any]]:
    """The keyword arguments of :func:`eqlc.commands.match_run.run_match` for ``eqlc match ARGS``
    (``args`` after ``match``), or None when typer must read them (module docstring)."""
    positional: list[str] = []
    options: dict[str, Any] = {}
    i = 0
    while i < len(args):
        arg = args[i]
        i += 1
        if arg == "-" or not arg.startswith("-"):
            positional.append(arg)
            continue
        name, eq, value = arg.partition("=")
        spec = OPTIONS.get(name)
        if spec is None:
            return None
        param, takes_value = spec
        if not takes_value:
            if eq:
                return None
            options[param] = True
            continue
        if not eq:
            if i >= len(args):
                return None
            value = args[i]
            i += 1
        options[param] = value
    if len(positional) < 2:
        return None
    if "mapping" in options:
        options["mapping"] = Path(options["mapping"])
    return {"rule": positional[0], "events": positional[1:], **options}
