"""Lucene regular expressions, as Elasticsearch's EQL ``regex``/``regex~`` evaluates them.

Elasticsearch runs EQL regexes as Lucene ``regexp`` queries (RegExp with ALL flags): the pattern
always matches the *whole* value (no ``^``/``$`` anchors: both are ordinary characters), ``.``
matches any character including newlines, ``@`` is any string, ``#`` the empty language,
``"..."`` a quoted literal, ``<n-m>`` a numeric interval, ``&`` intersection and ``~`` complement.
Case-insensitive matching folds ASCII letters of single characters only; character *ranges*
such as ``[a-c]`` stay case-sensitive (Lucene folds ``REGEXP_CHAR`` nodes, not
``REGEXP_CHAR_RANGE``).

This module parses that syntax into a small AST (so an invalid regex is reported at parse time)
and renders it for engines that use backtracking-free or Perl-like syntax. Constructs no such
engine can express (intersection, complement, numeric intervals) raise :class:`Untranslatable`.
Rendered patterns never anchor; callers wrap them (``fullmatch``, ``^(?:...)$``) as their
engine needs.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional, Union


class RegexError(ValueError):
    """The pattern is not a valid Lucene regular expression."""

    def __init__(self, message: str, position: int) -> None:
        super().__init__(f"{message} at position {position}")
        self.position = position


class Untranslatable(ValueError):
    """A valid Lucene construct that no target regex engine can express."""


# ---- AST -------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Char:
    ch: str


@dataclass(frozen=True)
class Range:
    lo: str
    hi: str


@dataclass(frozen=True)
class Shorthand:
    letter: str  # d D s S w W


@dataclass(frozen=True)
class Class:
    items: tuple  # Char | Range | Shorthand
    negated: bool


@dataclass(frozen=True)
class AnyChar:
    pass


@dataclass(frozen=True)
class AnyString:  # @
    pass


@dataclass(frozen=True)
class Empty:  # #  (matches nothing)
    pass


@dataclass(frozen=True)
class Concat:
    items: tuple


@dataclass(frozen=True)
class Union_:
    items: tuple


@dataclass(frozen=True)
class Repeat:
    item: "Node"
    lo: int
    hi: Optional[int]  # None = unbounded


@dataclass(frozen=True)
class Intersection:
    items: tuple


@dataclass(frozen=True)
class Complement:
    item: "Node"


@dataclass(frozen=True)
class Interval:
    lo: int
    hi: int


Node = Union[Char, Range, Shorthand, Class, AnyChar, AnyString, Empty, Concat, Union_, Repeat, Intersection, Complement, Interval]

_SHORTHANDS = set("dDsSwW")


class _Parser:
    def __init__(self, text: str) -> None:
        self.s = text
        self.i = 0

    def peek(self) -> str:
        return self.s[self.i] if self.i < len(self.s) else ""

    def eat(self, ch: str) -> bool:
        if self.peek() == ch:
            self.i += 1
            return True
        return False

    def parse(self) -> Node:
        node = self.union()
        if self.i < len(self.s):
            raise RegexError(f"unexpected {self.s[self.i]!r}", self.i)
        return node

    def union(self) -> Node:
        items = [self.inter()]
        while self.eat("|"):
            items.append(self.inter())
        return items[0] if len(items) == 1 else Union_(tuple(items))

    def inter(self) -> Node:
        items = [self.concat()]
        while self.eat("&"):
            items.append(self.concat())
        return items[0] if len(items) == 1 else Intersection(tuple(items))

    def concat(self) -> Node:
        items = []
        while self.peek() and self.peek() not in "|&)":
            items.append(self.repeat())
        return items[0] if len(items) == 1 else Concat(tuple(items))

    def repeat(self) -> Node:
        if self.eat("~"):
            return Complement(self.repeat())
        node = self.simple()
        while True:
            c = self.peek()
            if c == "?":
                self.i += 1
                node = Repeat(node, 0, 1)
            elif c == "*":
                self.i += 1
                node = Repeat(node, 0, None)
            elif c == "+":
                self.i += 1
                node = Repeat(node, 1, None)
            elif c == "{":
                start = self.i
                self.i += 1
                lo = self.number()
                if lo is None:
                    raise RegexError("integer expected after '{'", self.i)
                hi: Optional[int] = lo
                if self.eat(","):
                    hi = self.number()
                if not self.eat("}"):
                    raise RegexError("expected '}'", self.i)
                if hi is not None and hi < lo:
                    raise RegexError("repetition upper bound is below lower bound", start)
                node = Repeat(node, lo, hi)
            else:
                return node

    def number(self) -> Optional[int]:
        start = self.i
        while self.peek().isdigit():
            self.i += 1
        return int(self.s[start : self.i]) if self.i > start else None

    def simple(self) -> Node:
        c = self.peek()
        pos = self.i
        if c == "":
            raise RegexError("unexpected end of pattern", pos)
        if c == ".":
            self.i += 1
            return AnyChar()
        if c == "@":
            self.i += 1
            return AnyString()
        if c == "#":
            self.i += 1
            return Empty()
        if c == "(":
            self.i += 1
            if self.eat(")"):
                return Concat(())
            node = self.union()
            if not self.eat(")"):
                raise RegexError("expected ')'", self.i)
            return node
        if c == '"':
            self.i += 1
            end = self.s.find('"', self.i)
            if end < 0:
                raise RegexError("expected '\"'", pos)
            text = self.s[self.i : end]
            self.i = end + 1
            return Concat(tuple(Char(ch) for ch in text))
        if c == "[":
            return self.char_class()
        if c == "<":
            end = self.s.find(">", self.i)
            body = self.s[self.i + 1 : end] if end > 0 else ""
            lo, sep, hi = body.partition("-")
            if not (sep and lo.isdigit() and hi.isdigit()):
                raise RegexError("expected a numeric interval <n-m>", pos)
            self.i = end + 1
            return Interval(int(lo), int(hi))
        if c in "*+?{":
            raise RegexError(f"nothing to repeat before {c!r}", pos)
        if c in ")]}":
            raise RegexError(f"unexpected {c!r}", pos)
        return self.char_exp(top=True)

    def char_exp(self, top: bool) -> Node:
        c = self.peek()
        if c == "\\":
            if self.i + 1 >= len(self.s):
                raise RegexError("trailing backslash", self.i)
            nxt = self.s[self.i + 1]
            self.i += 2
            if nxt in _SHORTHANDS:
                return Shorthand(nxt)
            return Char(nxt)
        self.i += 1
        return Char(c)

    def char_class(self) -> Node:
        start = self.i
        self.i += 1
        negated = self.eat("^")
        items: list = []
        while True:
            c = self.peek()
            if c == "":
                raise RegexError("unterminated character class", start)
            if c == "]":
                if not items:
                    raise RegexError("empty character class", start)
                self.i += 1
                break
            lo = self.char_exp(top=False)
            if self.peek() == "-" and self.i + 1 < len(self.s) and self.s[self.i + 1] != "]":
                self.i += 1
                hi = self.char_exp(top=False)
                if not (isinstance(lo, Char) and isinstance(hi, Char)):
                    raise RegexError("invalid range in character class", self.i)
                if ord(hi.ch) < ord(lo.ch):
                    raise RegexError(f"invalid range {lo.ch}-{hi.ch}", self.i)
                items.append(Range(lo.ch, hi.ch))
            else:
                items.append(lo)
        return Class(tuple(items), negated)


def parse_regex(text: str) -> Node:
    """Parse a Lucene regular expression; raise :class:`RegexError` if it is invalid."""
    return _Parser(text).parse()


# ---- rendering -------------------------------------------------------------------------------
_META = set("\\.^$|?*+()[]{}-/#&~\"'<>@ \t\n\r\f\v")


_SHORT_CLASS = {"d": "0-9", "s": " \\t\\n\\x0b\\f\\r", "w": "a-zA-Z0-9_"}


def _fold_char(ch: str, ci: bool) -> list[str]:
    if ci and ch.isascii() and ch.isalpha():
        return [ch.lower(), ch.upper()]
    return [ch]


class Renderer:
    """Render a parsed Lucene regex as a Perl-style pattern (no anchors, no capturing groups).

    ``flavor`` picks the spelling of code points above U+00FF: ``python`` (``\\uXXXX``) or
    ``re2``/``pcre`` (``\\x{XXXX}``). ``case_insensitive`` folds ASCII letters of single
    characters, not ranges, as Lucene does.
    """

    def __init__(self, flavor: str = "re2", case_insensitive: bool = False) -> None:
        self.flavor = flavor
        self.ci = case_insensitive

    def hexchar(self, ch: str) -> str:
        code = ord(ch)
        if code < 128 and ch.isprintable() and ch not in _META:
            return ch
        if code < 256:
            return f"\\x{code:02x}"
        if self.flavor == "python":
            return f"\\U{code:08x}" if code > 0xFFFF else f"\\u{code:04x}"
        return f"\\x{{{code:x}}}"

    def char(self, ch: str) -> str:
        if ch.isascii() and ch.isalnum():
            alts = _fold_char(ch, self.ci)
            return alts[0] if len(alts) == 1 else "[" + "".join(alts) + "]"
        if ch.isascii() and ch.isprintable():
            return "\\" + ch if ch in _META else ch
        if ord(ch) >= 128 and ch.isprintable():
            return ch
        return self.hexchar(ch)

    def class_char(self, ch: str) -> str:
        if ch.isascii() and ch.isalnum():
            return ch
        if ch.isascii() and ch.isprintable():
            return "\\" + ch
        if ord(ch) >= 128 and ch.isprintable():
            return ch
        return self.hexchar(ch)

    def render(self, node: Node) -> str:
        if isinstance(node, Char):
            return self.char(node.ch)
        if isinstance(node, AnyChar):
            return "(?s:.)"
        if isinstance(node, AnyString):
            return "(?s:.*)"
        if isinstance(node, Empty):
            return "[^\\x00-\\x{10ffff}]" if self.flavor != "python" else "[^\\x00-\\U0010ffff]"
        if isinstance(node, Shorthand):
            body = _SHORT_CLASS[node.letter.lower()]
            return f"[{'^' if node.letter.isupper() else ''}{body}]"
        if isinstance(node, Class):
            parts = []
            for item in node.items:
                if isinstance(item, Char):
                    for alt in _fold_char(item.ch, self.ci):
                        parts.append(self.class_char(alt))
                elif isinstance(item, Range):
                    parts.append(f"{self.class_char(item.lo)}-{self.class_char(item.hi)}")
                else:
                    if item.letter.isupper():
                        raise Untranslatable(f"negated shorthand \\{item.letter} inside a character class")
                    parts.append(_SHORT_CLASS[item.letter])
            return "[" + ("^" if node.negated else "") + "".join(parts) + "]"
        if isinstance(node, Concat):
            return "".join(self.group(i) if isinstance(i, Union_) else self.render(i) for i in node.items)
        if isinstance(node, Union_):
            return "|".join(self.render(i) for i in node.items)
        if isinstance(node, Repeat):
            inner = self.render(node.item)
            if not _atomic(node.item):
                inner = f"(?:{inner})"
            if (node.lo, node.hi) == (0, None):
                q = "*"
            elif (node.lo, node.hi) == (1, None):
                q = "+"
            elif (node.lo, node.hi) == (0, 1):
                q = "?"
            elif node.hi is None:
                q = f"{{{node.lo},}}"
            elif node.lo == node.hi:
                q = f"{{{node.lo}}}"
            else:
                q = f"{{{node.lo},{node.hi}}}"
            return inner + q
        if isinstance(node, Intersection):
            raise Untranslatable("regex intersection '&' has no equivalent in Perl-style regex engines")
        if isinstance(node, Complement):
            raise Untranslatable("regex complement '~' has no equivalent in Perl-style regex engines")
        if isinstance(node, Interval):
            raise Untranslatable("numeric interval '<n-m>' is not supported by the translation")
        raise TypeError(node)

    def group(self, node: Node) -> str:
        return f"(?:{self.render(node)})"


def _atomic(node: Node) -> bool:
    return isinstance(node, (Char, AnyChar, Class, Shorthand, AnyString, Empty))


def to_pattern(patterns: tuple[str, ...] | list[str], case_insensitive: bool = False, flavor: str = "re2") -> str:
    """The alternation of Lucene ``patterns`` (Elasticsearch joins a list with ``|``), unanchored.

    Each alternative is grouped, so wrapping the result in ``^(?:...)$`` anchors all of them.
    """
    r = Renderer(flavor, case_insensitive)
    return "|".join(f"(?:{r.render(parse_regex(p))})" for p in patterns)


def has_nested_quantifier(node: Node) -> bool:
    """True if a quantified sub-pattern itself contains a quantifier or an alternation.

    Such patterns can backtrack catastrophically in Python's ``re``; a pattern without them runs
    in linear-ish time there.
    """
    def inner_has(n: Node) -> bool:
        if isinstance(n, (Repeat, Union_, AnyString)):
            return True
        if isinstance(n, Concat):
            return any(inner_has(i) for i in n.items)
        return False

    if isinstance(node, Repeat):
        return inner_has(node.item) or has_nested_quantifier(node.item)
    for child in getattr(node, "items", ()) if not isinstance(node, Class) else ():
        if has_nested_quantifier(child):
            return True
    return False
