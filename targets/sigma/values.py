"""Sigma string values: escaping, and EQL wildcard patterns as Sigma values or modifiers.

Sigma strings have two wildcards, ``*`` and ``?``, and one escape character, the backslash, which
escapes a wildcard or a backslash; a backslash before anything else is literal
(sigma-specification, sigma-rules-specification.md "Escaping"; pySigma ``SigmaString`` parses
exactly so). EQL patterns have the same two wildcards but *no* escape at all (every ``*``/``?`` is a
wildcard, a backslash is literal: elastic/elasticsearch#65237), and EQL ``==``/``in`` values have
no wildcards. So every literal character must be re-escaped for Sigma, and a backslash that
precedes a Sigma wildcard or backslash must be doubled. ``tests/test_sigma_values.py`` checks the
round trip through pySigma's own parser.
"""

from __future__ import annotations

from typing import Sequence, Union

from eqlc.ir import Pattern, PatternKind, Wildcard, pattern_kind

Part = Union[str, Wildcard]


class SigmaText(str):
    """A string already written in Sigma's escaped notation (dumped single-quoted)."""


def compose(parts: Sequence[Part]) -> SigmaText:
    """Sigma notation for literal runs and wildcards (``Wildcard`` members stay wildcards)."""
    out: list[str] = []
    flat: list[tuple[str, bool]] = []  # (char, is_wildcard)
    for p in parts:
        if isinstance(p, Wildcard):
            flat.append((p.value, True))
        else:
            flat.extend((c, False) for c in p)
    for i, (ch, wild) in enumerate(flat):
        if wild:
            out.append(ch)
        elif ch in "*?":
            out.append("\\" + ch)
        elif ch == "\\":
            nxt = flat[i + 1] if i + 1 < len(flat) else None
            # A following wildcard, escaped wildcard or backslash starts with a special char; a
            # final backslash is doubled too, because startswith/contains append a wildcard to it.
            out.append("\\\\" if nxt is None or nxt[0] in "*?\\" else "\\")
        else:
            out.append(ch)
    return SigmaText("".join(out))


def literal(text: str) -> SigmaText:
    """A plain literal (no wildcards), escaped for Sigma."""
    return compose([text])


def pattern_parts(pattern: Pattern) -> tuple[Part, ...]:
    return pattern.parts


def kind_of(parts: Sequence[Part]) -> PatternKind:
    """The PatternKind of a parts tuple (``Pattern.kind`` for parts built by hand)."""
    return pattern_kind(tuple(parts))


def normalise(parts: Sequence[Part]) -> tuple[Part, ...]:
    """Merge adjacent literals and consecutive ``*`` (they mean the same)."""
    out: list[Part] = []
    for p in parts:
        if isinstance(p, str):
            if not p:
                continue
            if out and isinstance(out[-1], str):
                out[-1] = out[-1] + p
                continue
        elif p is Wildcard.STAR and out and out[-1] is Wildcard.STAR:
            continue
        out.append(p)
    return tuple(out)


MODIFIER_OF_KIND = {
    PatternKind.EXACT: None,
    PatternKind.PREFIX: "startswith",
    PatternKind.SUFFIX: "endswith",
    PatternKind.CONTAINS: "contains",
    PatternKind.GENERAL: None,
}


def as_modifier_value(parts: Sequence[Part]) -> tuple[Union[str, None], SigmaText]:
    """``(modifier, value)``: prefix/suffix/contains patterns use Sigma's modifiers (as SigmaHQ's
    ``wildcards_instead_of_modifiers`` validator asks); others keep their wildcards."""
    parts = normalise(parts)
    kind = kind_of(parts)
    mod = MODIFIER_OF_KIND[kind]
    if mod is None:
        return None, compose(parts)
    lit = next(p for p in parts if isinstance(p, str))
    return mod, literal(lit)


# ---- regular expressions in Sigma's regex subset ---------------------------------------------
# sigma-appendix-modifiers.md "Regular Expression": PCRE with only `.`, `^`, `$`, `* + ? {n,m}`,
# `[a-z]`/`[^a-z]`, `()` and `|`. Metacharacters are escaped with a backslash; case-insensitive
# matching of ASCII letters is spelled `[aA]` (Elasticsearch folds ASCII only; PCRE's `i` flag
# can fold more).
RE_META = set("\\.^$|?*+()[]{}")
CLASS_META = set("\\]^-[")


def re_char(ch: str, ci: bool) -> str:
    if ci and ch.isascii() and ch.isalpha():
        return f"[{ch.lower()}{ch.upper()}]"
    return "\\" + ch if ch in RE_META else ch


def re_class_char(ch: str) -> str:
    return "\\" + ch if ch in CLASS_META else ch


def re_literal(text: str, ci: bool) -> str:
    return "".join(re_char(c, ci) for c in text)


def re_not_class(chars: Sequence[str]) -> str:
    """A class matching one character that is none of ``chars``."""
    return "[^" + "".join(re_class_char(c) for c in dict.fromkeys(chars)) + "]"


def re_alternatives(chars: Sequence[str]) -> str:
    chars = list(dict.fromkeys(chars))
    if len(chars) == 1:
        return re_char(chars[0], False)
    return "[" + "".join(re_class_char(c) for c in chars) + "]"


def wildcard_regex(parts: Sequence[Part], ci: bool, excluded: Sequence[str]) -> str:
    """Regex for a wildcard pattern whose wildcards cannot match any of ``excluded`` chars."""
    out = []
    for p in normalise(parts):
        if p is Wildcard.STAR:
            out.append(re_not_class(excluded) + "*" if excluded else "(.|\n)*")
        elif p is Wildcard.QUESTION:
            out.append(re_not_class(excluded) if excluded else "(.|\n)")
        else:
            out.append(re_literal(p, ci))  # type: ignore[arg-type]
    return "".join(out)
