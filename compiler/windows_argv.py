"""Windows argument vectors read from a command line: the one "plain form" every target states.

A rule about Windows hosts that compares ``process.args`` with a value containing a space (``net
group "Domain Admins"``) cannot be read under the single-space assumption the targets make for
command lines elsewhere (Linux and macOS record argv joined by spaces, with no quoting). Elastic
Defend on Windows derives process.args from the command line with CommandLineToArgvW
(elastic/endpoint issue #83, "Elastic Defend for Windows parses command lines using the
CommandLineToArgvW Windows API"). A reading that follows all of CommandLineToArgvW's rules (runs of
backslashes before a quote, doubled quotes, the first argument's own rule; leading whitespace makes
an empty first argument, per Microsoft's CommandLineToArgvW reference) would need a transducer, and
Elastic's own Windows integration splitter (packages/windows sysmon_operational pipeline, a Painless
port of Go's commandLineToArgv using the "prior to 2008" rule) differs from CommandLineToArgvW on a
first argument with inner quotes and on leading whitespace.

So a target that reads Windows arguments from a command line states the form of command line on
which all of these agree (:data:`PLAIN_FORM`): arguments separated by spaces or tabs, each written
bare (no space, tab or double quote) or inside ONE pair of double quotes (no double quote inside, no
backslash just before the closing quote), with no leading whitespace. On it every splitter returns
the arguments with their quotes removed (:func:`win_split`; tests/test_kql_windows_args.py checks it
against mslex, an independent implementation of CommandLineToArgvW's rules). How a target turns
"some argument matches P" into its query language is the target's (KQL: a ``replace_regex`` rewrite,
targets/kql/argv.py; Sigma: one ``CommandLine|re`` regex, targets/sigma/detection.py); the form, its
check on ECS events and the words no argument of it can be are stated here once.
"""

from __future__ import annotations

import re
from typing import Iterator, Optional

from eqlc import ir
from eqlc.events import split_path, values

# the form (Python's re)
_WIN_ARG = r'(?:"(?:[^"]*[^"\\])?"|[^ \t"]+)'
_WIN_FORM = re.compile(f"{_WIN_ARG}(?:[ \\t]+{_WIN_ARG})*[ \\t]*\\Z")

# the form in words, as the targets' notes state it
PLAIN_FORM = ("arguments separated by spaces or tabs, each bare (no space, tab or double quote) or in one pair of "
              "double quotes (no double quote inside, no backslash before the closing quote), no leading whitespace")

Word = tuple  # parts of a pattern over one argument: literal runs (str) and ir.Wildcard


def win_split(line: str) -> Optional[list[str]]:
    """The arguments of a plain-form command line (quotes removed), None if it is not one."""
    if line == "":
        return []
    if not _WIN_FORM.match(line):
        return None
    return [t[1:-1] if t.startswith('"') else t for t in re.findall(r'"[^"]*"|[^ \t"]+', line)]


def not_plain(source: str, line: str) -> str:
    """Why ``line`` (the value of ECS ``source``) is outside the plain form."""
    return (f"{source} {line!r} is not in the plain form (arguments bare or in one pair of double quotes "
            f"with none inside, no backslash before a closing quote, no leading whitespace)")


def win_argv_note(ecs: str, column: str, source: str, also: str = "") -> str:
    """The assumption a target states when it reads ``ecs`` (process.args) from ``column``, the
    target's name for ECS ``source`` (process.command_line); ``also`` names the target's own
    function that splits the same way, if it has one."""
    return (
        f"{ecs} is read from {column} ({source}) as Windows splits a command line (CommandLineToArgvW, as Elastic "
        f"Defend does{also}): assumes {ecs} is that split of "
        f"{column} and {column} is written in the plain form on which every Windows splitter agrees: {PLAIN_FORM}"
    )


def win_argc_note(ecs: str, column: str, source: str) -> str:
    """The assumption of ``ecs`` (process.args_count) counted from ``column`` in the same form."""
    return (
        f"{ecs} is counted as the arguments of {column} ({source}) split as Windows splits a command line, in the plain "
        f"form stated for the arguments (bare or in one pair of double quotes): assumes {ecs} is their number (as ECS "
        f"defines it; missing when {column} is empty)"
    )


def win_args_violation(event: dict, field: str, source: str, line: str) -> Optional[str]:
    """Why ``event``, whose ``source`` (command line) is ``line``, is outside :func:`win_argv_note`
    for ``field`` (None if it is inside)."""
    split = win_split(line)
    if split is None:
        return not_plain(source, line)
    args = values(event, split_path(field))
    if not all(isinstance(a, str) for a in args):
        return f"{field} has a value that is not a string"
    if args != split:
        return f"{field} {args!r} is not the Windows split of {source} {line!r} ({split!r})"
    return None


def win_count_violation(event: dict, field: str, source: str, line: str) -> Optional[str]:
    """Why ``event`` is outside :func:`win_argc_note` for ``field`` (None if it is inside)."""
    split = win_split(line)
    if split is None:
        return not_plain(source, line)
    have = values(event, split_path(field))
    want = [len(split)] if split else []
    if have != want or any(isinstance(v, bool) for v in have):
        return f"{field} {have!r} is not the number of arguments of {source} split as Windows splits it ({want or 'none'})"
    return None


def compared_leaves(expr: ir.Expr) -> Iterator[ir.Expr]:
    """The leaves of ``expr``'s and/or/not tree that can compare an argument field with a value: a
    target reads a field as Windows splits the command line when one of them compares it with a
    value holding a space (both targets choose so, each with its own field mapping); null tests and
    regexes are left out (a regex is not rewritten to the quoted form, and a null test names no value)."""
    stack = [expr]
    while stack:
        e = stack.pop()
        if isinstance(e, (ir.And, ir.Or)):
            stack.extend(e.terms)
        elif isinstance(e, ir.Not):
            stack.append(e.expr)
        elif not isinstance(e, (ir.IsNull, ir.RegexMatch)):
            yield e


def has_space(words: list[Word]) -> bool:
    """Does a literal of some pattern hold a space or a tab (so it can only be a quoted argument)?"""
    return any(isinstance(x, str) and (" " in x or "\t" in x) for w in words for x in w)


def is_any_word(word: Word) -> bool:
    """``*``: any argument."""
    return bool(word) and all(x is ir.Wildcard.STAR for x in word)


def win_possible(words: list[Word], field: str, column: str) -> tuple[list[Word], list[str]]:
    """The patterns an argument of a plain-form command line can match, and the texts of those it
    cannot (a literal with a double quote: the form has no argument holding one, so that
    alternative is false on every event inside the stated assumption, and the caller states so).
    Refuses an empty literal, and a leaf none of whose patterns is possible (it would be constant)."""
    from eqlc.result import Refused

    keep: list[Word] = []
    dropped: list[str] = []
    for w in words:
        text = "".join(x if isinstance(x, str) else x.value for x in w)
        if w == ("",):
            raise Refused(f"{field} compared with \"\": an empty argument is not read from {column}")
        if any(isinstance(x, str) and '"' in x for x in w):
            dropped.append(text)
        else:
            keep.append(w)
    if dropped and not keep:
        raise Refused(f"{field} value {dropped[0]!r} contains a double quote, but {field} is read from {column} as Windows "
                      f"splits it, in the stated form where no argument holds a double quote")
    return keep, dropped


def win_dropped_note(field: str, dropped: list[str]) -> str:
    return (f"{field} values with a double quote ({', '.join(repr(d) for d in dropped)}) are no argument of a command line "
            f"in the stated plain form (the Windows split removes quotes): those alternatives are false")
