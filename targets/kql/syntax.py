"""Kusto spelling: string literals, the operator chosen for each meaning, wildcard-to-RE2.

Operators are data (:data:`STRING_OPERATORS`): each EQL meaning (equality, prefix, suffix,
substring; case-sensitive or not) has exactly one Kusto operator. Term operators (``has`` and
friends) are never used: they match whole terms, which no EQL operator does.

Sources (Microsoft's Kusto reference, MicrosoftDocs/dataexplorer-docs):
* datatypes-string-operators.md: ``==``/``in``/``startswith_cs``/``endswith_cs``/``contains_cs``
  are case-sensitive, ``=~``/``in~``/``startswith``/``endswith``/``contains`` case-insensitive,
  and "Case-insensitive operators are currently supported only for ASCII-text. For non-ASCII
  comparison, use the tolower() function." EQL's case-insensitive operators fold ASCII only
  (Elasticsearch ``AutomatonQueries.toCaseInsensitiveChar``), so a Kusto case-insensitive operator
  is used only when the literal has no non-ASCII letter; otherwise the match is written as an RE2
  regex with explicit ``[aA]`` classes for the ASCII letters, which is exact either way.
* matches-regex-operator.md: ``matches regex`` is an unanchored RE2 search, so every regex is
  wrapped in ``^(?:...)$`` (RE2's ``$`` without the m flag is end of text).
* scalar-data-types/string.md: ``"..."`` strings take backslash escapes; verbatim ``@"..."``
  strings take none and write a ``"`` as ``""``.
"""

from __future__ import annotations

import re

from eqlc.ir import Pattern, PatternKind, Wildcard
from eqlc.lucene_regex import re2_fold_safe  # also for the literal and wildcard regexes built here

# meaning -> (case-sensitive operator, case-insensitive operator)
STRING_OPERATORS = {
    PatternKind.EXACT: ("==", "=~"),
    PatternKind.PREFIX: ("startswith_cs", "startswith"),
    PatternKind.SUFFIX: ("endswith_cs", "endswith"),
    PatternKind.CONTAINS: ("contains_cs", "contains"),
}
SET_OPERATORS = ("in", "in~")

_ESCAPES = {"\\": "\\\\", '"': '\\"', "\n": "\\n", "\r": "\\r", "\t": "\\t"}


class UnquotableString(ValueError):
    """A string Kusto literals cannot carry (control characters other than tab/newline/CR)."""


def quote(text: str) -> str:
    """A Kusto string literal for ``text``.

    Backslash-heavy values (Windows paths) are written verbatim, ``@"C:\\x"``, with ``"``
    doubled; values with tab/newline/CR use an escaped ``"..."`` string.
    """
    for ch in text:
        if (ord(ch) < 0x20 and ch not in "\t\n\r") or ord(ch) == 0x7F:
            raise UnquotableString(f"the string {text!r} contains the control character U+{ord(ch):04X}")
    if "\\" in text and not any(ch in text for ch in "\t\n\r"):
        return '@"' + text.replace('"', '""') + '"'
    return '"' + "".join(_ESCAPES.get(ch, ch) for ch in text) + '"'


def quote_regex(pattern: str) -> str:
    """A regex literal: verbatim so that RE2 backslashes pass through untouched (classes RE2
    would widen rewritten by :func:`re2_fold_safe`)."""
    pattern = re2_fold_safe(pattern)
    if any(ch in pattern for ch in "\n\r\t"):
        return quote(pattern)
    return '@"' + pattern.replace('"', '""') + '"'


def has_non_ascii_letter(text: str) -> bool:
    """True if ``text`` has a character Kusto's case-insensitive operators might not fold as
    Elasticsearch does (a non-ASCII character with case)."""
    return any(ord(ch) > 127 and (ch.lower() != ch or ch.upper() != ch) for ch in text)


def folds_to_ascii(ch: str) -> bool:
    """True for a non-ASCII character that a Unicode case mapping turns into ASCII letters
    (İ -> i̇, ı -> I, ſ -> S, K (Kelvin) -> k, ﬀ -> ff): an engine folding case beyond ASCII
    could equate it with an ASCII letter where Elasticsearch does not."""
    if ord(ch) < 128:
        return False
    return any(c.isascii() and c.isalpha() for m in (ch.lower(), ch.upper(), ch.casefold()) for c in m)


_RE2_META = set("\\.^$|?*+()[]{}")


def _re2_char(ch: str, ci: bool) -> str:
    if ci and ch.isascii() and ch.isalpha():
        return f"[{ch.lower()}{ch.upper()}]"
    if ch in _RE2_META:
        return "\\" + ch
    code = ord(ch)
    if code < 0x20 or code == 0x7F:
        return f"\\x{code:02x}"
    return ch


# Case-insensitive literals are written in the shorter of two equivalent forms (Sentinel rejects
# queries over 10,000 characters, and one [aA] class per letter is what makes long rules long):
#
# * per character: ``[aA]`` for each ASCII letter (``(?:s|S)``/``(?:k|K)`` for s and k, see
#   :func:`eqlc.lucene_regex.re2_fold_safe`);
# * per run of ASCII characters: ``(?i:...)``, with s and k spelled ``(?-i:s|S)``/``(?-i:k|K)``.
#   RE2's ``(?i)`` folds a letter to every member of its Unicode simple case-folding orbit; for
#   ASCII letters other than s and k the orbit is exactly the lower/upper pair, and ASCII
#   non-letters have no folds, so inside the group RE2 matches what ``[aA]`` matches. s and k
#   also fold to U+017F (long s) and U+212A (Kelvin sign), which Elasticsearch's ASCII folding
#   does not, hence their case-sensitive alternation. Non-ASCII characters end a run: they must
#   match exactly (EQL folds ASCII only) and outside the group they do.
# tests/test_kql_ci_regex.py checks the two forms agree with google-re2 on every ASCII character
# and the Unicode characters that fold to ASCII, and with the Python matcher on the corpus.
_FOLD_SK = {"s": "(?-i:s|S)", "k": "(?-i:k|K)"}


def _ci_run(run: str) -> str:
    """The shorter RE2 spelling of a run of ASCII characters matched case-insensitively."""
    per_char = "".join(_re2_char(ch, True) for ch in run)
    if sum(ch.isalpha() and ch.lower() not in _FOLD_SK for ch in run) < 2:
        return per_char
    grouped = "(?i:" + "".join(_FOLD_SK.get(ch.lower()) or _re2_char(ch, False) for ch in run) + ")"
    return grouped if len(grouped) < len(re2_fold_safe(per_char)) else per_char


def literal_regex(text: str, ci: bool) -> str:
    """RE2 for a literal string; ``ci`` folds ASCII letters only (as Elasticsearch does)."""
    if not ci:
        return "".join(_re2_char(ch, False) for ch in text)
    out: list[str] = []
    for run in re.findall(r"[\x00-\x7f]+|[^\x00-\x7f]+", text):
        out.append(_ci_run(run) if run.isascii() else "".join(_re2_char(ch, True) for ch in run))
    return "".join(out)


def wildcard_regex(pattern: Pattern, ci: bool) -> str:
    """RE2 (unanchored body) for an EQL wildcard pattern: ``*`` any string, ``?`` one code
    point, everything else literal (Elasticsearch has no escape in patterns)."""
    out = []
    for part in pattern.parts:
        if part is Wildcard.STAR:
            out.append("(?s:.*)")
        elif part is Wildcard.QUESTION:
            out.append("(?s:.)")
        else:
            out.append(literal_regex(part, ci))
    return "".join(out)


def anchored(body: str) -> str:
    return f"^(?:{body})$"


def timespan(millis: int) -> str:
    """A Kusto timespan literal for a whole number of milliseconds."""
    for unit, size in (("d", 86_400_000), ("h", 3_600_000), ("m", 60_000), ("s", 1000)):
        if millis % size == 0:
            return f"{millis // size}{unit}"
    return f"{millis}ms"
