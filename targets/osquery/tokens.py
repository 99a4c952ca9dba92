"""Opt-in: ``process.args`` read as osquery's ``cmdline`` split on single spaces.

osquery builds ``cmdline`` by joining the arguments with one space (``process_events.cpp``:
``row["cmdline"] += ' '`` between the decoded ``aN`` values of the EXECVE record). If no argument
contains a space and none is empty, the argument list is exactly ``cmdline.split(' ')``, and an
Elasticsearch test of ``process.args`` ("any argument matches") is a test on the space-separated
tokens of ``cmdline``:

* equality with ``x`` (no space in ``x``): ``' ' || cmdline || ' '`` contains ``' x '``;
* a prefix ``x*``: ``' ' || cmdline`` contains ``' x'``; a suffix ``*x``: ``cmdline || ' '``
  contains ``'x '``; a substring ``*x*``: ``cmdline`` contains ``x``;
* other wildcard patterns: ``regex_match`` with ``*`` as ``[^ ]*`` between token boundaries;
* ``process.args_count``: the number of spaces plus one.

A value containing a space can then never equal an argument (false). The assumption is stated
with every translation that uses it; without the opt-in mapping these fields are refused.
"""

from __future__ import annotations

from eqlc import ir
from eqlc.result import Refused

from . import predicates as P
from . import sqltext
from .regex import MAX_REGEX_BYTES, NON_ASCII, EcmaBytesRenderer

NEVER = ("0", "1")  # (pos, neg) of a test no token can pass


def _contains(hay: str, needle: str, ci: bool) -> tuple[str, str]:
    if ci:
        pat = "%" + sqltext.like_literal(needle) + "%"
        return sqltext.like(hay, pat), sqltext.like(hay, pat, negate=True)
    return f"instr({hay}, {sqltext.quote(needle)}) > 0", f"instr({hay}, {sqltext.quote(needle)}) = 0"


def token_equals(c: str, text: str, ci: bool) -> tuple[str, str]:
    if " " in text or text == "":
        return NEVER
    return _contains(f"(' ' || {c} || ' ')", f" {text} ", ci)


def token_pattern(c: str, pattern: ir.Pattern, ci: bool) -> tuple[str, str]:
    kind = pattern.kind
    if kind is ir.PatternKind.EXACT:
        return token_equals(c, pattern.text, ci)
    literals = [p for p in pattern.parts if isinstance(p, str)]
    if any(" " in lit for lit in literals):
        return NEVER
    if kind is ir.PatternKind.PREFIX:
        return _contains(f"(' ' || {c})", " " + pattern.literal, ci)
    if kind is ir.PatternKind.SUFFIX:
        return _contains(f"({c} || ' ')", pattern.literal + " ", ci)
    if kind is ir.PatternKind.CONTAINS:
        if pattern.literal == "":
            return f"{c} IS NOT NULL", f"{c} IS NULL"
        return _contains(c, pattern.literal, ci)
    r = EcmaBytesRenderer(ci)
    body = []
    for part in pattern.parts:
        if part is ir.Wildcard.STAR:
            body.append("[^ ]*")
        elif part is ir.Wildcard.QUESTION:
            body.append(f"(?:[^ \\x80-\\xff]|{NON_ASCII})")
        else:
            body.extend(r.char(ch) for ch in part)
    regex = "^(?:[\\s\\S]* )?(?:" + "".join(body) + ")(?: [\\s\\S]*)?$"
    if len(regex.encode("utf-8")) > MAX_REGEX_BYTES:
        raise Refused(f"the argument pattern {pattern.text!r} needs a regular expression over osquery's {MAX_REGEX_BYTES}-byte limit")
    call = f"regex_match({c}, {sqltext.quote(regex)}, 0)"
    return f"{call} IS NOT NULL", f"{call} IS NULL"


def render(pred: P.Pred, c: str) -> tuple[str, str]:
    """(pos, neg) of ``pred`` over the space-separated tokens of the text column ``c``."""
    parts: list[tuple[str, str]] = []
    if isinstance(pred, P.Equals):
        for lit in pred.values:
            parts.append(token_equals(c, P.ecs_text(lit, pred.field), False))
    elif isinstance(pred, P.CiEquals):
        for text in pred.texts:
            parts.append(token_equals(c, text, True))
    elif isinstance(pred, P.Wildcards):
        for pattern in pred.patterns:
            parts.append(token_pattern(c, pattern, pred.case_insensitive))
    elif isinstance(pred, P.StringFunction):
        pred.render(c, "keyword")  # same refusals as for a plain field
        star = ir.Wildcard.STAR
        pattern = {"startsWith": (pred.text, star), "endsWith": (star, pred.text), "stringContains": (star, pred.text, star)}[pred.name]
        text = "".join("*" if p is star else p for p in pattern)
        if pred.name == "startsWith" and ("*" in pred.text or "?" in pred.text):
            raise Refused(f"startsWith({pred.field}, {pred.text!r}) over cmdline tokens: the text has wildcard characters")
        parts.append(token_pattern(c, ir.Pattern(text), pred.case_insensitive))
    elif isinstance(pred, P.Regex):
        from eqlc.lucene_regex import RegexError, Untranslatable

        from .regex import to_osquery_word_regex

        try:
            pattern = to_osquery_word_regex(pred.patterns, pred.case_insensitive)
        except (Untranslatable, RegexError) as exc:
            raise Refused(f"regex {list(pred.patterns)!r} on {pred.field} over the command line's words: {exc}") from None
        call = f"regex_match({c}, {sqltext.quote(pattern)}, 0)"
        parts.append((f"{call} IS NOT NULL", f"{call} IS NULL"))
    else:
        raise Refused(f"{pred.op_name} on {pred.field} is not translated over cmdline tokens")
    parts = [p for p in parts if p != NEVER] or [NEVER]
    if len(parts) == 1:
        return parts[0]
    return "(" + " OR ".join(p for p, _ in parts) + ")", "(" + " AND ".join(n for _, n in parts) + ")"


def count_sql(c: str) -> str:
    """The number of space-separated tokens of a non-empty ``c``."""
    return f"(length({c}) - length(replace({c}, ' ', '')) + 1)"
