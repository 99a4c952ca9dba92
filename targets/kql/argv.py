"""ECS argument arrays read from a command line, exact under one stated assumption.

Defender XDR and ASIM record a process's command line (``ProcessCommandLine``,
``TargetProcessCommandLine``...) but not its argv. ``process.args`` is an array, and
Elasticsearch matches it element-wise: ``args == "x"`` holds if ANY element is ``x``, and
``not args == "x"`` (``must_not``) holds if NO element is, including when ``args`` is missing.

The translation assumes (and states, naming the column) that the command line is the argument
values joined by single spaces and no value is empty or contains a space -- the same assumption
the Sigma target states. Under it the arguments are exactly the space-separated words of the
command line, an empty command line means no arguments, and a predicate "some word matches" can
be written with string operators on the whole line:

* word == x:       line == x, or starts with "x ", ends with " x", contains " x "
* word like x*:    line starts with x, or contains " x"
* word like *x:    line ends with x, or contains "x "
* word like *x*:   line contains x (x has no space, so it lies inside one word)
* any other wildcard pattern: the RE2 regex ``(^| )P( |$)`` where ``*`` is ``[^ ]*`` and ``?``
  is ``[^ ]`` (one code point that is not a space), so a wildcard never crosses a word boundary;
* word like * (any word): the line is not empty;
* word regex R (Lucene): ``(^| )(?:R')( |$)`` where R' is R with the space removed from every
  single-character atom (``.`` becomes ``[^ ]``, ``@`` ``[^ ]*``, a literal space matches
  nothing, classes lose the space). A word has no space, so it matches R exactly when it
  matches R'; and R' cannot cross a word boundary. If R' matches the empty string, the line
  must also be non-empty (an empty line has no word).

Every form is false on the empty line, so ``not(...)`` is true when there are no arguments, as
``must_not`` is; and since every word is one element, "some word matches" is exactly "some
element matches". Literals that contain a space or are empty can never be a word under the
assumption: such comparisons are refused rather than silently made false.

``process.args_count`` (ECS: the length of ``process.args``) is counted the same way, as the
number of words of a non-empty line (``array_length(split(line, " "))``); an empty line gives a
null count, as a missing ``args_count`` is in Elasticsearch.

:func:`violation` decides, for one ECS event, whether the assumption a translation relies on
holds; the duckdb-kql fixture adapter reports the events where it does not instead of running
them (``eqlc.matcher`` and the emitted query may disagree there, by design).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import re2

from eqlc import ir
from eqlc import lucene_regex as lr
from eqlc.events import split_path, values
from eqlc.windows_argv import (  # the plain form, stated once for every target (re-exported here)
    has_space,
    is_any_word,
    win_argc_note,
    win_args_violation,
    win_count_violation,
    win_dropped_note,
    win_possible,
    win_split,
)
from eqlc.windows_argv import win_argv_note as shared_argv_note

from . import syntax

# At most this many operator clauses per leaf; larger leaves (the corpus has lists of 88
# arguments) become ONE regex alternation, which is just as exact and keeps queries short
# (Sentinel analytics rules accept at most 10,000 characters of query).
MAX_OPERATOR_CLAUSES = 8
WORD_CHAR = "[^ ]"


def argv_note(ecs: str, column: str, source: str) -> str:
    return (
        f"{ecs} is read from {column} ({source}) split on single spaces: assumes {column} is the {ecs} values "
        f"joined by single spaces and no value is empty or contains a space (quoted arguments break this)"
    )


def argc_note(ecs: str, column: str, source: str) -> str:
    args = ecs[: -len("_count")] if ecs.endswith("_count") else "the argument"
    return (
        f"{ecs} is counted as the space-separated words of {column} ({source}): assumes {column} is the {args} "
        f"values joined by single spaces, none empty or containing a space, and {ecs} is their number (as ECS "
        f"defines it; missing when {column} is empty)"
    )


def argc_expr(line: str) -> str:
    """The number of words of a non-empty command line, null for an empty one."""
    return f'iff(isempty({line}), long(null), array_length(split({line}, " ")))'


# ---- the predicate ---------------------------------------------------------------------------
Word = tuple  # parts of a pattern over one argument: literal runs (str) and ir.Wildcard


def word_kind(word: Word) -> str:
    """exact / prefix / suffix / contains (one literal run, stars at the given ends) or general."""
    star = ir.Wildcard.STAR
    lits = [x for x in word if isinstance(x, str)]
    if len(lits) != 1 or ir.Wildcard.QUESTION in word:
        return "general"
    shape = tuple("L" if isinstance(x, str) else "*" for x in word)
    return {("L",): "exact", ("L", "*"): "prefix", ("*", "L"): "suffix", ("*", "L", "*"): "contains"}.get(shape, "general")


def word_regex(word: Word, ci: bool) -> str:
    """RE2 for one word matching the pattern ``word``: wildcards never match a space."""
    out = []
    for part in word:
        if part is ir.Wildcard.STAR:
            out.append(WORD_CHAR + "*")
        elif part is ir.Wildcard.QUESTION:
            out.append(WORD_CHAR)
        else:
            out.append(syntax.literal_regex(part, ci))
    return "".join(out)


def line_regex(words: list[Word], ci: bool) -> str:
    """RE2 for "some word of the line matches one of ``words``" (an unanchored search; RE2's
    ``^``/``$`` without the m flag are the ends of the whole text)."""
    bodies = list(dict.fromkeys(word_regex(w, ci) for w in words))
    body = bodies[0] if len(bodies) == 1 else "(?:" + "|".join(bodies) + ")"
    return f"(^| ){body}( |$)"


class WordRenderer(lr.Renderer):
    """Render a Lucene regex for ONE space-free word: every single-character atom loses the space."""

    def render(self, node: "lr.Node") -> str:
        if isinstance(node, lr.Char) and node.ch == " ":
            return super().render(lr.Empty())
        if isinstance(node, lr.AnyChar):
            return WORD_CHAR
        if isinstance(node, lr.AnyString):
            return WORD_CHAR + "*"
        if isinstance(node, lr.Shorthand):
            ranges = lr._SHORT_RANGES[node.letter.lower()]
            return self.ranges(lr._complement(ranges) if node.letter.isupper() else ranges)
        if isinstance(node, lr.Class):
            return self.ranges(lr._class_ranges(node, self.ci))
        return super().render(node)

    def ranges(self, ranges: list) -> str:
        """A class of code point ranges, without the space."""
        out = []
        for lo, hi in lr._normalise(ranges):
            for a, b in ((lo, min(hi, 0x1F)), (max(lo, 0x21), hi)):
                if a <= b:
                    out.append(self.hexchar(chr(a)) if a == b else f"{self.hexchar(chr(a))}-{self.hexchar(chr(b))}")
        return "[" + "".join(out) + "]" if out else super().render(lr.Empty())


def regex_line(patterns: "tuple[str, ...] | list[str]", ci: bool) -> tuple[str, bool]:
    """RE2 for "some word of the line matches one of the Lucene regexes", and whether the word
    regex matches the empty string (then the caller must also require a non-empty line).
    Raises :class:`eqlc.lucene_regex.Untranslatable` / ``RegexError`` as ``to_pattern`` does."""
    r = WordRenderer("re2", ci)
    body = "|".join(f"(?:{r.render(lr.parse_regex(p))})" for p in patterns)
    return f"(^| )(?:{body})( |$)", re2.fullmatch(f"(?:{body})", "") is not None


def check_literals(words: list[Word], field: str, column: str) -> None:
    """Refuse literals that can never be one word under the assumption (rather than making the
    comparison silently false)."""
    from eqlc.result import Refused

    for w in words:
        text = "".join(x if isinstance(x, str) else x.value for x in w)
        if any(isinstance(x, str) and " " in x for x in w):
            raise Refused(f"{field} value {text!r} contains a space, but {field} is read from {column} split on single spaces")
        if w == ("",):
            raise Refused(f"{field} compared with \"\": an empty argument cannot be found in {column} split on single spaces")


# ---- the assumption, checked on ECS events ------------------------------------------------------
@dataclass(frozen=True)
class Derived:
    """A field a translation read from a command line: ``field`` (process.args or
    process.args_count) derived from the ECS command-line field ``source``."""

    field: str
    source: str
    count: bool = False
    windows: bool = False  # read as Windows splits a plain-form command line (win_argv_note)

    def violation(self, event: dict) -> Optional[str]:
        """Why the assumption fails on ``event`` (None if it holds)."""
        lines = values(event, split_path(self.source))
        if len(lines) > 1 or (lines and not isinstance(lines[0], str)):
            return f"{self.source} is not one string"
        line = lines[0] if lines else ""
        if self.windows:
            return self.win_count_violation(event, line) if self.count else self.win_violation(event, line)
        words = line.split(" ") if line else []
        if self.count:
            if any(w == "" for w in words):
                return f"{self.source} {line!r} has an empty word (leading, trailing or double space)"
            have = values(event, split_path(self.field))
            want = [len(words)] if words else []
            if have != want or any(isinstance(v, bool) for v in have):
                return f"{self.field} {have!r} is not the number of words of {self.source} ({want or 'none'})"
            return None
        args = values(event, split_path(self.field))
        if not all(isinstance(a, str) for a in args):
            return f"{self.field} has a value that is not a string"
        bad = next((a for a in args if a == "" or " " in a), None)
        if bad is not None:
            return f"{self.field} value {bad!r} is empty or contains a space"
        if line != " ".join(args):
            return f"{self.source} {line!r} is not the {self.field} values joined by single spaces"
        return None

    def win_count_violation(self, event: dict, line: str) -> Optional[str]:
        """Why ``event`` is outside :func:`win_argc_note` (None if it is inside)."""
        return win_count_violation(event, self.field, self.source, line)

    def win_violation(self, event: dict, line: str) -> Optional[str]:
        """Why ``event`` is outside :func:`win_argv_note` (None if it is inside)."""
        return win_args_violation(event, self.field, self.source, line)


# ---- Windows arguments: quoted arguments with spaces -----------------------------------------
# A rule about Windows hosts that compares process.args with a value containing a space is read as
# Windows splits the command line, in the plain form eqlc.windows_argv states (its sources and why
# that form). Kusto's parse_command_line(cmd, "windows") "parses the command line the same way as
# CommandLineToArgvW" (MicrosoftDocs, kusto/query/parse-command-line-function), but duckdb-kql (the
# engine the translations are verified on) has no parse_command_line. So the query rewrites the
# command line once (an ``extend``) into those arguments each followed by a double quote, with a
# double quote for each separator run: ``replace_regex(line, @'"([^"]*)"|([^ \t"]+)|[ \t]+',
# @'\1\2"')`` (RE2 global replace, leftmost-first, an unmatched group rewritten as empty: Kusto's
# replace_regex, MicrosoftDocs kusto/query/replace-regex-function). No argument of the form holds a
# double quote, so the maximal runs without one are exactly the non-empty arguments, and "some
# argument matches P" is ``(?:^|")P'"`` on the rewritten text, with P's wildcards over characters
# other than ``"``: one short regex per leaf (Sentinel's analytics rules take at most 10,000
# characters of query).
WIN_SPLIT_REGEX = '"([^"]*)"|([^ \\t"]+)|[ \\t]+'
WIN_SPLIT_REWRITE = '\\1\\2"'


def win_argv_note(ecs: str, column: str, source: str) -> str:
    return shared_argv_note(ecs, column, source, also='; Kusto\'s parse_command_line(..., "windows") does the same')


def win_argc_expr(line: str) -> str:
    """The number of arguments of a non-empty plain-form command line (each a bare run or one
    quoted run: ``extract_all`` finds them left to right), null for an empty one."""
    return f"iff(isempty({line}), long(null), array_length(extract_all(@'(\"[^\"]*\"|[^ \\t\"]+)', {line})))"


def win_joined_expr(line: str) -> str:
    """The command line rewritten into its arguments, each followed by a double quote (a double
    quote too for each run of separators), under the plain form."""
    return f"replace_regex({line}, {syntax.quote_regex(WIN_SPLIT_REGEX)}, {syntax.quote_regex(WIN_SPLIT_REWRITE)})"


def win_word_regex(word: Word, ci: bool) -> str:
    """RE2 for ONE argument (no double quote in it) matching the pattern ``word``."""
    out = []
    for part in word:
        if part is ir.Wildcard.STAR:
            out.append('[^"]*')
        elif part is ir.Wildcard.QUESTION:
            out.append('[^"]')
        else:
            out.append(syntax.literal_regex(part, ci))
    return "".join(out)


def win_joined_regex(words: list[Word], ci: bool) -> str:
    """RE2 for "some argument matches one of ``words``" over :func:`win_joined_expr`'s text."""
    bodies = list(dict.fromkeys(win_word_regex(w, ci) for w in words))
    body = bodies[0] if len(bodies) == 1 else "(?:" + "|".join(bodies) + ")"
    return f'(?:^|"){body}"'
