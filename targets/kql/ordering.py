"""Ordering comparisons of a string column with a string literal, in Elasticsearch's order.

Elasticsearch compares keyword values by their UTF-8 bytes (Lucene's ``BytesRef`` order), which is
the order of Unicode code points. Kusto has no string ``<``/``>=`` operator, and its ``strcmp()``
compares "characters" (learn.microsoft.com kusto/query/strcmp-function), .NET's UTF-16 code units,
whose order differs from code points above U+FFFF. So the comparison is written as an RE2 regex
instead: RE2 character classes range over code points, so ``x >= L`` is exactly

    x starts with L, or for some i: x starts with L[:i] followed by a code point above L[i]

(the first position where x and L differ holds a greater code point in x, or L is a prefix of x),
and ``x > L`` is the same with "L followed by at least one more code point" in place of "starts
with L". ``<`` and ``<=`` are the negations of ``>=`` and ``>`` on a value that is present; the
caller guards a missing value (Kusto reads a missing string as ``""``) with the truth for ``""``.
"""

from __future__ import annotations

from . import syntax

_MAX = 0x10FFFF


def _above(ch: str) -> str | None:
    """An RE2 class of every code point above ``ch`` (surrogates are no code points of UTF-8
    text), or None when ``ch`` is the last code point."""
    code = ord(ch)
    if code >= _MAX:
        return None
    return f"[\\x{{{code + 1:x}}}-\\x{{{_MAX:x}}}]"


def at_least_regex(literal: str, strict: bool) -> str:
    """An anchored-at-start RE2 that a string matches exactly when it is ``>= literal``
    (``> literal`` when ``strict``) in code-point order."""
    alts: list[str] = []
    for i, ch in enumerate(literal):
        above = _above(ch)
        if above is not None:
            alts.append(syntax.literal_regex(literal[:i], False) + above)
    tail = "(?s:.)" if strict else ""
    alts.append(syntax.literal_regex(literal, False) + tail)
    return "^(?:" + "|".join(alts) + ")"


def holds_for(value: str, op: str, literal: str) -> bool:
    """The comparison in code-point order (Python compares str by code points)."""
    return {"<": value < literal, "<=": value <= literal, ">": value > literal, ">=": value >= literal}[op]


def ordering_condition(col: str, op: str, literal: str) -> str:
    """Kusto for ``col op literal`` on a present string value, in code-point order."""
    if literal == "" and op in (">=", "<"):
        return "true" if op == ">=" else "false"  # every string is >= "" (an empty regex is not written)
    if op in (">=", ">"):
        return f"{col} matches regex {syntax.quote_regex(at_least_regex(literal, op == '>'))}"
    if op == "<":
        return f"not({col} matches regex {syntax.quote_regex(at_least_regex(literal, False))})"
    if op == "<=":
        return f"not({col} matches regex {syntax.quote_regex(at_least_regex(literal, True))})"
    raise ValueError(op)
