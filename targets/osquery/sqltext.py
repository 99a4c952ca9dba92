"""Spelling values inside SQLite text: string literals, LIKE and GLOB patterns.

Every value from a rule reaches the emitted SQL through :func:`quote`, so no value can break
out of its string literal: SQLite string literals have exactly one escape, a doubled single
quote (https://www.sqlite.org/lang_expr.html "Literal Values"); backslashes are ordinary
characters and newlines are allowed inside a literal. The one character a literal cannot carry
is NUL (the SQL text is a C string in osquery and Python's ``sqlite3`` rejects it), so values
with NUL are refused.

Wildcards: Elasticsearch's ``*`` (any run of characters) and ``?`` (one code point) have no
escape in EQL, and every other character is literal, including ``\\``.

* Case-sensitive patterns use ``GLOB``: ``*`` and ``?`` mean the same; a literal ``*``, ``?``
  or ``[`` is written as the one-character class ``[*]``, ``[?]``, ``[[]`` (GLOB has no escape
  character; ``]`` outside a class is literal).
* Case-insensitive patterns use ``LIKE ... ESCAPE '\\'``: ``%``/``_`` for ``*``/``?``, and a
  literal ``%``, ``_`` or ``\\`` is escaped with ``\\``. Without ICU, SQLite's LIKE folds the 26
  ASCII letters only ("the LIKE operator is case sensitive by default for unicode characters
  that are beyond the ASCII range", lang_expr.html "The LIKE, GLOB, REGEXP, MATCH, and
  extract operators"), exactly the folding Elasticsearch applies to ``:``/``like~``/``in~``
  (``AutomatonQueries.toCaseInsensitiveChar``: code points above 128 are not folded).

Both operators match one UTF-8 *character* for ``?``/``_``, i.e. one code point, as
Elasticsearch's ``?`` does.
"""

from __future__ import annotations

from typing import Callable, Union

from eqlc.ir import Pattern, Wildcard
from eqlc.result import Refused

LIKE_ESCAPE = "\\"


def check_text(value: str) -> str:
    """Refuse a value SQLite text cannot carry (NUL)."""
    if "\x00" in value:
        raise Refused(f"the value {value!r} contains a NUL character, which an SQLite string literal cannot hold")
    return value


def quote(value: str) -> str:
    """An SQLite string literal for ``value``: ``'`` doubled, nothing else changed."""
    return "'" + check_text(value).replace("'", "''") + "'"


def literal(value: object) -> str:
    """An SQLite literal for a mapping value: integers as numbers, anything else as text."""
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return quote(str(value))


def number(value: Union[int, float]) -> str:
    """An SQLite numeric literal (booleans are not numbers here)."""
    if isinstance(value, bool):
        raise TypeError("booleans are not SQL numbers")
    if isinstance(value, int):
        return str(value)
    text = repr(float(value))
    if text in ("inf", "-inf", "nan"):
        raise Refused(f"the number {text} has no SQLite literal")
    return text


def glob_literal(text: str) -> str:
    """``text`` as a GLOB pattern matching exactly itself."""
    out = []
    for ch in text:
        out.append(f"[{ch}]" if ch in "*?[" else ch)
    return "".join(out)


def like_literal(text: str) -> str:
    """``text`` as a LIKE pattern (with ``ESCAPE '\\'``) matching itself (ASCII-case-insensitively)."""
    out = []
    for ch in text:
        out.append(LIKE_ESCAPE + ch if ch in "%_\\" else ch)
    return "".join(out)


def glob_pattern(pattern: Pattern) -> str:
    """An EQL wildcard pattern as a GLOB pattern (case-sensitive, whole value)."""
    return _spell(pattern, "*", "?", glob_literal)


def like_pattern(pattern: Pattern) -> str:
    """An EQL wildcard pattern as a LIKE pattern (ASCII-case-insensitive, whole value)."""
    return _spell(pattern, "%", "_", like_literal)


def _spell(pattern: Pattern, star: str, question: str, literal: Callable[[str], str]) -> str:
    """``pattern``'s parts in a SQL pattern language: its two wildcards and its literal escaping."""
    return "".join(star if part is Wildcard.STAR else question if part is Wildcard.QUESTION else literal(part)
                   for part in pattern.parts)


def like(value_sql: str, like_text: str, negate: bool = False) -> str:
    """``value LIKE 'pattern'``, with the ESCAPE clause only when the pattern uses it."""
    op = "NOT LIKE" if negate else "LIKE"
    escape = f" ESCAPE {quote(LIKE_ESCAPE)}" if LIKE_ESCAPE in like_text else ""
    return f"{value_sql} {op} {quote(like_text)}{escape}"


def glob(value_sql: str, glob_text: str, negate: bool = False) -> str:
    op = "NOT GLOB" if negate else "GLOB"
    return f"{value_sql} {op} {quote(glob_text)}"
