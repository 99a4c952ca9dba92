"""Writing rule values into SPL so that no value can leave its literal.

Three layers, each from Splunk's documentation:

* ``search`` strings: "The backslash character ( \\ ) is used to escape quotes, pipes, and the
  backslash character itself. Backslash escape sequences are expanded inside quotation marks"
  (Search Reference > search > Quotes and escaping characters). Values are always quoted (so
  keywords such as ``IN``/``OR`` stay values) and ``\\``, ``"`` and ``|`` are escaped. ``*`` cannot
  be escaped ("The backslash symbol can't be used to escape the asterisk", Search Manual >
  Backslashes): a value with a literal ``*`` has no search form.
* eval (``where``) strings: ``\\\\`` and ``\\"`` are the escapes; ``\\t`` would become a tab
  (Search Manual > Types of expressions), which doubling every backslash prevents. A pipe inside a
  quoted string does not end the command. Control characters have no documented spelling: such
  values are written as regular expressions with ``\\x{..}`` escapes instead.
* PCRE patterns (``match``/``mvfind``): every ASCII punctuation character is escaped with a
  backslash (in PCRE "\\x where x is non-alphanumeric is a literal x"), then the pattern is written
  as an eval string (so each backslash is doubled once more).
"""

from __future__ import annotations

import ipaddress
from typing import Iterable, Union

from eqlc.ir import Wildcard

Part = Union[str, Wildcard]


def has_control(s: str) -> bool:
    return any(ord(c) < 32 or ord(c) == 127 for c in s)


def search_string(s: str) -> str:
    """A double-quoted search-command string (``*`` inside stays a wildcard)."""
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"').replace("|", "\\|") + '"'


def eval_string(s: str) -> str:
    """A double-quoted eval string literal whose value is exactly ``s``."""
    if has_control(s):
        raise ValueError("control characters have no documented eval-string spelling")
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


def field_ref(name: str) -> str:
    """A field reference inside an eval expression (single quotes, required for dotted names)."""
    if "'" in name:
        raise ValueError(f"field name {name!r} contains a single quote")
    return f"'{name}'"


def regex_literal(s: str, case_insensitive: bool = False) -> str:
    """A PCRE pattern matching exactly ``s``; with ``case_insensitive`` ASCII letters only fold."""
    out = []
    for ch in s:
        o = ord(ch)
        if o < 128 and ch.isalnum():
            if case_insensitive and ch.isalpha():
                out.append(f"[{ch.upper()}{ch.lower()}]")
            else:
                out.append(ch)
        elif 32 < o < 127:
            out.append("\\" + ch)
        elif o == 32:
            out.append(" ")
        elif o < 32 or o == 127:
            out.append(f"\\x{{{o:02x}}}")
        else:
            out.append(ch)
    return "".join(out)


def wildcard_regex(parts: Iterable[Part], case_insensitive: bool) -> tuple[str, bool]:
    """PCRE body for an EQL wildcard pattern; also whether it holds a one-character wildcard."""
    out = []
    single = False
    for p in parts:
        if p is Wildcard.STAR:
            out.append("(?s:.*)")
        elif p is Wildcard.QUESTION:
            out.append("(?s:.)")
            single = True
        else:
            out.append(regex_literal(p, case_insensitive))
    return "".join(out), single


def anchored(alternatives: list[str]) -> str:
    """Whole-value match of any alternative: ``^(?:a|b)\\z`` (``$`` would accept a final newline)."""
    body = alternatives[0] if len(alternatives) == 1 else "|".join(f"(?:{a})" for a in alternatives)
    return f"^(?:{body})\\z"


def like_pattern(parts: Iterable[Part]) -> str:
    """A ``like()`` pattern, or ValueError when a literal part holds %, _ or a backslash
    (like() documents no escape character) or a control character."""
    out = []
    for p in parts:
        if p is Wildcard.STAR:
            out.append("%")
        elif p is Wildcard.QUESTION:
            out.append("_")
        else:
            if any(c in p for c in "%_\\") or has_control(p):
                raise ValueError("literal %, _ or backslash cannot be written in like()")
            out.append(p)
    return "".join(out)


def is_cidr_like(s: str) -> bool:
    """The search command CIDR-matches a value such as 10.0.0.0/8, so it is no plain string there."""
    if "/" not in s:
        return False
    try:
        ipaddress.ip_network(s.strip("*"), strict=False)
        return True
    except ValueError:
        return False


def search_pattern(parts: Iterable[Part]) -> str:
    """A search-command value for a wildcard pattern with ``*`` only (ValueError otherwise).

    Literal parts must be printable ASCII: Splunk documents case-insensitivity, not how it folds
    other characters, and control characters have no documented spelling.
    """
    out = []
    literal = ""
    for p in parts:
        if p is Wildcard.STAR:
            out.append("*")
        elif p is Wildcard.QUESTION:
            raise ValueError("'?' is no wildcard in the search command")
        else:
            if not all(32 <= ord(c) < 127 for c in p):
                raise ValueError("non-ASCII or control characters")
            out.append(p)
            literal += p
    text = "".join(out)
    if not literal:
        raise ValueError("a pattern of wildcards only")
    if is_cidr_like(text) or text.strip() != text:
        raise ValueError("CIDR-like or space-padded value")
    return text


def number(v: Union[int, float]) -> str:
    if isinstance(v, bool):
        raise TypeError(v)
    if isinstance(v, int):
        return str(v)
    r = repr(v)
    if "inf" in r or "nan" in r:
        raise ValueError(r)
    return r
