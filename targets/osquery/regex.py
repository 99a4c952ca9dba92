"""Lucene regular expressions for osquery's ``regex_match(value, pattern, index)``.

What osquery does (osquery/osquery ``osquery/sql/sqlite_string.cpp``, ``regexStringMatchFunc``,
read at commit f345520d):

* ``std::regex_search(input, results, std::regex(regex))``: the C++ standard library's default
  grammar, **ECMAScript**, no flags (no ``icase``, no ``multiline``), and a *search* (a match
  anywhere), so the pattern is anchored here with ``^(?:...)$`` to get Lucene's whole-value
  match;
* over ``std::string``: the engine sees **bytes** of the UTF-8 value, not code points;
* a NULL argument, or no match, gives NULL; a match gives the text of group ``index``
  (``0`` = the whole match, which may be ``''``), so the test is ``regex_match(...) IS NOT NULL``;
* a pattern longer than ``regex_max_size`` bytes (a hidden flag, default 256) or one that
  ``std::regex`` rejects is an SQL error.

So the renderer below writes a Lucene AST (parsed by :func:`eqlc.lucene_regex.parse_regex`,
the parser every target shares) as an ECMAScript pattern over UTF-8 bytes:

* a non-ASCII literal is its UTF-8 bytes, grouped so that a quantifier repeats the whole
  character;
* Lucene's ``.`` (one code point) is an explicit UTF-8 sequence class; ``.*``/``.+``/``@``
  become ``[\\s\\S]*``/``[\\s\\S]+``, which is exact because every element of the emitted
  pattern starts on a character boundary (ASCII byte or UTF-8 lead byte), so a byte run
  between two of them is always a run of whole characters;
* negated classes and ``\\D``/``\\S``/``\\W`` add the non-ASCII code points explicitly;
* case-insensitive (``regex~``) folds ASCII letters of single characters only, as Lucene's
  ``ASCII_CASE_INSENSITIVE`` does (ranges are not folded), by writing ``[aA]``;
* refused (:class:`~eqlc.lucene_regex.Untranslatable`): intersection, complement, numeric
  intervals (as for every target), character ranges or negated classes with non-ASCII
  members, and patterns longer than 256 bytes.

:func:`regex_match` re-implements osquery's function for the SQLite engine the tests run. It
accepts only the ECMAScript subset this renderer emits (checked by :func:`check_subset`), on
which ECMAScript and Python's ``re`` over bytes agree (with ``$`` read as ``\\Z``: ECMAScript's
``$`` without ``multiline`` matches only at the end, Python's also before a final newline).
"""

from __future__ import annotations

import functools
import re
from typing import Optional, Sequence

from eqlc import safe_regex
from eqlc.lucene_regex import (
    AnyChar,
    AnyString,
    Char,
    Class,
    Concat,
    Empty,
    Range,
    Renderer,
    Repeat,
    Shorthand,
    Union_,
    Untranslatable,
    quantifier,
    parse_regex,
)

MAX_REGEX_BYTES = 256  # osquery's hidden --regex_max_size default

# One UTF-8 encoded code point (the input is valid UTF-8 text).
CODE_POINT = r"(?:[\x00-\x7f]|[\xc0-\xdf][\x80-\xbf]|[\xe0-\xef][\x80-\xbf]{2}|[\xf0-\xf7][\x80-\xbf]{3})"
NON_ASCII = r"[\xc0-\xdf][\x80-\xbf]|[\xe0-\xef][\x80-\xbf]{2}|[\xf0-\xf7][\x80-\xbf]{3}"
ANY_BYTES = r"[\s\S]"
NOTHING = r"[^\s\S]"

_OUTSIDE_META = set("\\^$.*+?()[]{}|")
_INSIDE_META = set("\\]^-[")
# Lucene's shorthands, as eqlc.lucene_regex defines them (\s: space, \t, \n, \x0b, \f, \r).
_SHORT = {"d": "0-9", "s": " \\x09\\x0a\\x0b\\x0c\\x0d", "w": "a-zA-Z0-9_"}


def _hex(ch: str) -> str:
    return f"\\x{ord(ch):02x}"


class EcmaBytesRenderer(Renderer):
    """Render a Lucene AST as an ECMAScript ``std::regex`` pattern over UTF-8 bytes."""

    def __init__(self, case_insensitive: bool = False) -> None:
        super().__init__("pcre", case_insensitive)

    # -- single characters -----------------------------------------------------------------
    def char(self, ch: str) -> str:
        if ch.isascii():
            if ch.isalnum():
                if self.ci and ch.isalpha():
                    return f"[{ch.lower()}{ch.upper()}]"
                return ch
            if ch.isprintable():
                return "\\" + ch if ch in _OUTSIDE_META else ch
            return _hex(ch)
        return f"(?:{ch})" if len(ch.encode("utf-8")) > 1 else ch

    def class_char(self, ch: str) -> str:
        if not ch.isascii():
            raise Untranslatable(f"non-ASCII character {ch!r} inside a character class range")
        if ch.isalnum():
            return ch
        if ch.isprintable():
            return "\\" + ch if ch in _INSIDE_META else ch
        return _hex(ch)

    # -- nodes -----------------------------------------------------------------------------
    def render(self, node):  # type: ignore[override]
        if isinstance(node, Char):
            return self.char(node.ch)
        if isinstance(node, AnyChar):
            return CODE_POINT
        if isinstance(node, AnyString):
            return ANY_BYTES + "*"
        if isinstance(node, Empty):
            return NOTHING
        if isinstance(node, Shorthand):
            return self.shorthand(node.letter)
        if isinstance(node, Class):
            return self.char_class(node)
        if isinstance(node, Repeat):
            return self.repeat(node)
        if isinstance(node, Concat):
            return "".join(self.group(i) if isinstance(i, Union_) else self.render(i) for i in node.items)
        return super().render(node)  # Union_ (alternation) and the untranslatable operators

    def shorthand(self, letter: str) -> str:
        body = _SHORT[letter.lower()]
        if letter.islower():
            return f"[{body}]"
        return f"(?:[^{body}\\x80-\\xff]|{NON_ASCII})"

    def char_class(self, node: Class) -> str:
        ascii_parts: list[str] = []
        wide: list[str] = []
        for item in node.items:
            if isinstance(item, Char):
                alts = [item.ch.lower(), item.ch.upper()] if (self.ci and item.ch.isascii() and item.ch.isalpha()) else [item.ch]
                for alt in alts:
                    if alt.isascii():
                        ascii_parts.append(self.class_char(alt))
                    else:
                        wide.append(alt)
            elif isinstance(item, Range):
                if not (item.lo.isascii() and item.hi.isascii()):
                    raise Untranslatable(
                        f"character range {item.lo}-{item.hi} has non-ASCII ends; osquery's regex_match "
                        "compares bytes, not code points"
                    )
                ascii_parts.append(f"{self.class_char(item.lo)}-{self.class_char(item.hi)}")
            else:  # Shorthand
                if item.letter.isupper():
                    raise Untranslatable(f"negated shorthand \\{item.letter} inside a character class")
                ascii_parts.append(_SHORT[item.letter])
        if node.negated:
            if wide:
                raise Untranslatable(
                    "a negated character class with non-ASCII members cannot be written for osquery's "
                    "byte-oriented regex_match"
                )
            return f"(?:[^{''.join(ascii_parts)}\\x80-\\xff]|{NON_ASCII})"
        alts = []
        if ascii_parts:
            alts.append(f"[{''.join(ascii_parts)}]")
        alts.extend(dict.fromkeys(wide))
        if len(alts) == 1:
            return alts[0] if ascii_parts else f"(?:{alts[0]})"
        return "(?:" + "|".join(alts) + ")"

    def repeat(self, node: Repeat) -> str:
        if isinstance(node.item, AnyChar) and node.hi is None and node.lo in (0, 1):
            return ANY_BYTES + ("*" if node.lo == 0 else "+")
        inner = self.render(node.item)
        if not _is_atom(inner):
            inner = f"(?:{inner})"
        return inner + quantifier(node.lo, node.hi)


def _is_atom(text: str) -> bool:
    """True if ``text`` is one ECMAScript atom that a quantifier applies to as a whole."""
    if len(text) == 1 and text not in _OUTSIDE_META:
        return True
    if len(text) == 2 and text[0] == "\\":
        return True
    if re.fullmatch(r"\\x[0-9a-f]{2}", text):
        return True
    if text.startswith("[") and text.endswith("]") and _balanced_class(text):
        return True
    if text.startswith("(?:") and text.endswith(")") and _balanced_group(text):
        return True
    return False


def _balanced_class(text: str) -> bool:
    """``text`` is exactly one bracket expression."""
    i = 1
    if i < len(text) and text[i] == "^":
        i += 1
    while i < len(text):
        if text[i] == "\\":
            i += 2
            continue
        if text[i] == "]":
            return i == len(text) - 1
        i += 1
    return False


def _balanced_group(text: str) -> bool:
    """``text`` is exactly one ``(?:...)`` group (its first ``(`` closes at the last char)."""
    depth = 0
    i = 0
    in_class = False
    while i < len(text):
        c = text[i]
        if c == "\\":
            i += 2
            continue
        if in_class:
            if c == "]":
                in_class = False
        elif c == "[":
            in_class = True
        elif c == "(":
            depth += 1
        elif c == ")":
            depth -= 1
            if depth == 0:
                return i == len(text) - 1
        i += 1
    return False


def to_osquery_regex(patterns: Sequence[str], case_insensitive: bool = False) -> str:
    """The anchored osquery pattern for the alternation of Lucene ``patterns``.

    Raises :class:`Untranslatable` for what osquery cannot express (see module docstring).
    """
    return _anchored(EcmaBytesRenderer(case_insensitive), patterns, "^(?:{})$")


def _anchored(renderer: "EcmaBytesRenderer", patterns: Sequence[str], frame: str) -> str:
    """The alternation of ``patterns`` rendered by ``renderer``, put in ``frame`` (a format string
    with one ``{}``); refused when osquery's regex_match would reject its size."""
    body = "|".join(f"(?:{renderer.render(parse_regex(p))})" for p in patterns)
    text = frame.format(body)
    size = len(text.encode("utf-8"))
    if size > MAX_REGEX_BYTES:
        raise Untranslatable(
            f"the translated regular expression is {size} bytes; osquery's regex_match rejects patterns "
            f"over {MAX_REGEX_BYTES} bytes (hidden flag --regex_max_size)"
        )
    return text


class EcmaWordRenderer(EcmaBytesRenderer):
    """Render a Lucene regex for ONE argument read from a command line split on single spaces:
    every single-character atom loses the space (an argument has none under the stated
    assumption), so the pattern can never cross into the next argument (the same construction
    as the KQL target's ``argv.WordRenderer``)."""

    def render(self, node):  # type: ignore[override]
        if isinstance(node, Char) and node.ch == " ":
            return NOTHING
        if isinstance(node, AnyChar):
            return f"(?:[^ \\x80-\\xff]|{NON_ASCII})"
        if isinstance(node, AnyString):
            return "[^ ]*"  # a run of non-space bytes between character boundaries is whole characters
        if isinstance(node, Repeat) and isinstance(node.item, AnyChar) and node.hi is None and node.lo in (0, 1):
            return "[^ ]" + ("*" if node.lo == 0 else "+")
        return super().render(node)

    def shorthand(self, letter: str) -> str:
        body = _SHORT[letter.lower()].replace(" ", "")
        if letter.islower():
            return f"[{body}]"
        if letter.lower() == "s":
            return f"(?:[^ {_SHORT['s'][1:]}\\x80-\\xff]|{NON_ASCII})"
        return f"(?:[^ {body}\\x80-\\xff]|{NON_ASCII})"

    def char_class(self, node: Class) -> str:
        items = []
        for item in node.items:
            if isinstance(item, Char) and item.ch == " " and not node.negated:
                continue
            if isinstance(item, Range) and item.lo <= " " <= item.hi and not node.negated:
                if item.lo < " ":
                    items.append(Range(item.lo, chr(0x1F)) if item.lo < chr(0x1F) else Char(item.lo))
                if item.hi > " ":
                    items.append(Range(chr(0x21), item.hi) if item.hi > chr(0x21) else Char(item.hi))
                continue
            if isinstance(item, Shorthand) and item.letter == "s" and not node.negated:
                items.extend(Char(c) for c in "\x09\x0a\x0b\x0c\x0d")
                continue
            items.append(item)
        if node.negated:
            items.append(Char(" "))  # a negated class never matches the space either
        if not items:
            return NOTHING
        return super().char_class(Class(tuple(items), node.negated))


def to_osquery_word_regex(patterns: Sequence[str], case_insensitive: bool = False) -> str:
    """The anchored osquery pattern for "some space-separated word of the text matches one of
    the Lucene ``patterns``" (``^(?:[\\s\\S]* )?(?:P)(?: [\\s\\S]*)?$``: a whole word)."""
    return _anchored(EcmaWordRenderer(case_insensitive), patterns, f"^(?:{ANY_BYTES}* )?(?:{{}})(?: {ANY_BYTES}*)?$")


# ---- the engine side: osquery's regex_match for Python's sqlite3 ----------------------------
class SubsetError(ValueError):
    """The pattern uses syntax outside the ECMAScript subset this module emits."""


_QUANT = re.compile(rb"\*|\+|\?|\{[0-9]+(?:,[0-9]*)?\}")


def check_subset(pattern: bytes) -> bytes:
    """Validate ``pattern`` against the emitted subset; return the Python ``re`` spelling.

    The subset: ``^`` first, ``$`` last, literal bytes, identity escapes of ASCII
    punctuation, ``\\xHH``, bracket expressions (with ``\\s``/``\\S`` only as ``[\\s\\S]`` and
    ``[^\\s\\S]``), ``(?:...)``, ``|`` and greedy quantifiers. Anything else (``.``, capturing
    groups, backreferences, lookarounds, lazy quantifiers, ``\\d``...) raises
    :class:`SubsetError`, so an emitter bug cannot hide behind a Python/ECMAScript difference.
    """
    s = pattern
    if not (s.startswith(b"^") and s.endswith(b"$")):
        raise SubsetError("pattern must be anchored ^...$")
    body = s[1:-1]
    i = 0
    depth = 0
    prev_quantifiable = False
    while i < len(body):
        c = body[i : i + 1]
        if c == b"\\":
            i = _escape(body, i, in_class=False)
            prev_quantifiable = True
            continue
        if c == b"[":
            i = _bracket(body, i)
            prev_quantifiable = True
            continue
        if body.startswith(b"(?:", i):
            depth += 1
            i += 3
            prev_quantifiable = False
            continue
        if c == b"(":
            raise SubsetError("capturing or special group")
        if c == b")":
            depth -= 1
            if depth < 0:
                raise SubsetError("unbalanced )")
            i += 1
            prev_quantifiable = True
            continue
        if c == b"|":
            i += 1
            prev_quantifiable = False
            continue
        m = _QUANT.match(body, i)
        if m:
            if not prev_quantifiable:
                raise SubsetError("quantifier without an atom")
            i = m.end()
            if body[i : i + 1] in (b"?", b"+"):
                raise SubsetError("lazy or possessive quantifier")
            prev_quantifiable = False
            continue
        if c in (b".", b"^", b"$", b"{", b"}", b"]"):
            raise SubsetError(f"unescaped {c.decode()}")
        i += 1
        prev_quantifiable = True
    if depth != 0:
        raise SubsetError("unbalanced (")
    return b"^" + body + rb"\Z"


def _escape(s: bytes, i: int, in_class: bool) -> int:
    nxt = s[i + 1 : i + 2]
    if not nxt:
        raise SubsetError("trailing backslash")
    if nxt == b"x":
        if not re.fullmatch(rb"[0-9a-fA-F]{2}", s[i + 2 : i + 4]):
            raise SubsetError("bad \\x escape")
        return i + 4
    if nxt.isalnum() or nxt[0] >= 0x80:
        raise SubsetError(f"escape \\{nxt.decode(errors='replace')} outside the subset")
    return i + 2


def _bracket(s: bytes, i: int) -> int:
    for special in (rb"[\s\S]", rb"[^\s\S]"):
        if s.startswith(special, i):
            return i + len(special)
    j = i + 1
    if s[j : j + 1] == b"^":
        j += 1
    first = True
    while j < len(s):
        c = s[j : j + 1]
        if c == b"]" and not first:
            return j + 1
        if c == b"[":
            raise SubsetError("unescaped [ in a class")
        if c == b"\\":
            j = _escape(s, j, in_class=True)
        else:
            j += 1
        first = False
    raise SubsetError("unterminated class")


@functools.lru_cache(maxsize=4096)
def _compiled(pattern: str) -> "safe_regex.SafeRegex":
    """The subset's ``re`` spelling, run in bounded time (:mod:`eqlc.safe_regex`: RE2 where the
    meaning is the same, else ``re`` under a time budget; std::regex backtracks too, and osquery
    reports an error where its stack runs out, so a budget overrun is an engine error)."""
    raw = pattern.encode("utf-8")
    if len(raw) > MAX_REGEX_BYTES:
        raise ValueError(f"Invalid regex: too big, max size is {MAX_REGEX_BYTES} bytes")
    return safe_regex.compile(check_subset(raw))


def regex_match(value: object, pattern: object, index: object) -> Optional[str]:
    """osquery's ``regex_match(value, pattern, index)`` (see the module docstring)."""
    if value is None or pattern is None or index is None:
        return None
    text = value if isinstance(value, str) else str(value)
    try:
        compiled = _compiled(pattern if isinstance(pattern, str) else str(pattern))
    except (SubsetError, re.error) as exc:
        raise ValueError(f"Invalid regex: {exc}") from None
    m = compiled.search(text.encode("utf-8", "surrogatepass"))
    if m is None:
        return None
    idx = int(index)  # type: ignore[call-overload]
    if idx < 0 or idx > (compiled.groups or 0):
        return None
    group = m.group(idx)
    return None if group is None else group.decode("utf-8", "replace")
