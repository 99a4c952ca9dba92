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

from .code_point_ranges import MAX_CODE
from .code_point_ranges import complement as _complement
from .code_point_ranges import normalise as _normalise


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
    digits: int = 0  # > 0: fixed width, zero-padded (both bounds written with that many digits)


Node = Union[Char, Range, Shorthand, Class, AnyChar, AnyString, Empty, Concat, Union_, Repeat, Intersection, Complement, Interval]

_SHORTHANDS = set("dDsSwW")

JAVA_INT_MAX = 2**31 - 1

MAX_AUTOMATON_STATES = 100_000
"""eqlc's limit on the automaton of one regex (Thompson NFA states, estimated from the parse
tree, see :func:`automaton_size`). Elasticsearch bounds the same cost: Lucene refuses to
determinize a regexp automaton past ``Operations.DEFAULT_DETERMINIZE_WORK_LIMIT`` = 10000 units of
work (the ``max_determinized_states`` parameter of a regexp query) with
TooComplexToDeterminizeException; eqlc's lazy automaton needs no determinization up front, so its
bound is on the size of the pattern's automaton instead. ``eqlc check`` refuses a pattern above
it, so no later stage (matcher, witnesses, engines) ever builds one."""


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
                if lo > JAVA_INT_MAX:
                    raise RegexError(f"repetition count {lo} is not a Java int (Lucene's RegExp parses it with Integer.parseInt)", start)
                hi: Optional[int] = lo
                if self.eat(","):
                    hi = self.number()
                if not self.eat("}"):
                    raise RegexError("expected '}'", self.i)
                if hi is not None and hi > JAVA_INT_MAX:
                    raise RegexError(f"repetition count {hi} is not a Java int (Lucene's RegExp parses it with Integer.parseInt)", start)
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
            a, b = int(lo), int(hi)
            if max(a, b) > JAVA_INT_MAX:
                # Lucene RegExp.parseSimpleExp: Integer.parseInt(smin/smax); NumberFormatException
                # becomes "interval syntax error at position ..." (Elasticsearch rejects the query)
                raise RegexError("interval syntax error: bounds must be Java ints (at most 2147483647)", pos)
            digits = len(lo) if len(lo) == len(hi) else 0  # Lucene RegExp: same width -> fixed
            return Interval(min(a, b), max(a, b), digits)
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
    """Parse a Lucene regular expression; raise :class:`RegexError` if it is invalid.

    The tree is normalised without changing its language: a quantified quantifier such as
    ``(x*)?`` (what ``.*?`` means in Lucene, which has no lazy quantifiers) becomes ``x*``, and a
    numeric interval ``<n-m>`` becomes the union of the decimal strings it accepts.
    """
    return simplify(_Parser(text).parse())


def simplify(node: Node) -> Node:
    """Collapse nested ``?``/``*``/``+`` and expand ``<n-m>`` (language-preserving)."""
    if isinstance(node, Repeat):
        inner = simplify(node.item)
        outer = (node.lo, node.hi)
        if isinstance(inner, Repeat):
            a = (inner.lo, inner.hi)
            simple = {(0, 1), (0, None), (1, None)}
            if a in simple and outer in simple:
                lo = 0 if 0 in (a[0], outer[0]) else 1
                hi = None if None in (a[1], outer[1]) else 1
                return Repeat(inner.item, lo, hi)
        return Repeat(inner, node.lo, node.hi)
    if isinstance(node, Interval):
        return _interval_node(node)
    if isinstance(node, (Concat, Union_, Intersection)):
        return type(node)(tuple(simplify(i) for i in node.items))
    if isinstance(node, Complement):
        return Complement(simplify(node.item))
    return node


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
                        for lo, hi in _complement(_SHORT_RANGES[item.letter.lower()]):
                            parts.append(f"{self.hexchar(chr(lo))}-{self.hexchar(chr(hi))}")
                    else:
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
            if self.flavor == "re2" and max(node.lo, node.hi or 0) > RE2_MAX_REPEAT:
                return _split_repeat(inner, node.lo, node.hi)
            return inner + quantifier(node.lo, node.hi)
        if isinstance(node, Intersection):
            raise Untranslatable("regex intersection '&' has no equivalent in Perl-style regex engines")
        if isinstance(node, Complement):
            raise Untranslatable("regex complement '~' has no equivalent in Perl-style regex engines")
        if isinstance(node, Interval):
            return self.render(_interval_node(node))
        raise TypeError(node)

    def group(self, node: Node) -> str:
        return f"(?:{self.render(node)})"


def quantifier(lo: int, hi: Optional[int]) -> str:
    """The Perl/ECMAScript quantifier for a Lucene repetition ``{lo,hi}`` (``hi`` None: unbounded)."""
    if (lo, hi) == (0, None):
        return "*"
    if (lo, hi) == (1, None):
        return "+"
    if (lo, hi) == (0, 1):
        return "?"
    if hi is None:
        return f"{{{lo},}}"
    if lo == hi:
        return f"{{{lo}}}"
    return f"{{{lo},{hi}}}"


RE2_MAX_REPEAT = 1000  # RE2 rejects {n} with n > 1000 ("bad repetition operator")


def _split_repeat(inner: str, lo: int, hi: Optional[int]) -> str:
    """``inner{lo,hi}`` as a concatenation of repetitions of at most :data:`RE2_MAX_REPEAT` each:
    the same language (x{m}x{n} = x{m+n}, x{0,m}x{0,n} = x{0,m+n}), which is all a whole-value
    match depends on."""
    out: list[str] = []
    while lo > 0:
        step = min(lo, RE2_MAX_REPEAT)
        out.append(inner + quantifier(step, step))
        lo -= step
        hi = None if hi is None else hi - step
    if hi is None:
        out.append(inner + "*")
        return "".join(out)
    while hi > 0:
        step = min(hi, RE2_MAX_REPEAT)
        out.append(inner + quantifier(0, step))
        hi -= step
    return "".join(out) or "(?:)"


def _atomic(node: Node) -> bool:
    return isinstance(node, (Char, AnyChar, Class, Shorthand, AnyString, Empty))


# RE2 (the matcher's engine, Kusto's and DuckDB's) reads a class holding exactly a letter and its other
# case as that letter "with fold case"; when such a class is an alternative of an alternation,
# RE2 merges it into a class with every Unicode fold of the letter: `(?:[sS]|e)` matches U+017F
# (long s) and `(?:[kK]|e)` U+212A (Kelvin sign), while `[sS]` alone does not. Checked for every
# ASCII letter with google-re2 (tests/test_kql_execute.py, tests/test_matcher_regex_fold.py):
# only s and k have such folds. ``to_pattern`` applies it to every RE2 rendering.
_RE2_FOLD_PAIRS = {"sS", "Ss", "kK", "Kk"}


def re2_fold_safe(pattern: str) -> str:
    """``pattern`` with every class ``[sS]``/``[kK]`` (outside classes, unescaped) written as
    ``(?:s|S)``, which RE2 keeps to the two ASCII letters wherever it stands."""
    out: list[str] = []
    i, n = 0, len(pattern)
    while i < n:
        ch = pattern[i]
        if ch == "\\":
            out.append(pattern[i:i + 2])
            i += 2
            continue
        if ch == "[":
            j = i + 1
            if j < n and pattern[j] == "^":
                j += 1
            if j < n and pattern[j] == "]":
                j += 1
            while j < n and pattern[j] != "]":
                j += 2 if pattern[j] == "\\" else 1
            body = pattern[i + 1:j]
            if body in _RE2_FOLD_PAIRS:
                out.append(f"(?:{body[0]}|{body[1]})")
            else:
                out.append(pattern[i:j + 1])
            i = j + 1
            continue
        out.append(ch)
        i += 1
    return "".join(out)


def to_pattern(patterns: tuple[str, ...] | list[str], case_insensitive: bool = False, flavor: str = "re2") -> str:
    """The alternation of Lucene ``patterns`` (Elasticsearch joins a list with ``|``), unanchored.

    Each alternative is grouped, so wrapping the result in ``^(?:...)$`` anchors all of them.
    """
    r = Renderer(flavor, case_insensitive)
    out = "|".join(f"(?:{r.render(parse_regex(p))})" for p in patterns)
    return re2_fold_safe(out) if flavor == "re2" else out


def automaton_size(node: Node, cap: int = MAX_AUTOMATON_STATES) -> int:
    """An upper estimate of the Thompson NFA states :func:`to_nfa` builds for ``node`` (what a
    repetition multiplies is counted once per copy), computed without building anything and
    saturating just above ``cap``."""
    def size(n: Node) -> int:
        if isinstance(n, (Char, AnyChar, Shorthand, Class, Empty)):
            return 2
        if isinstance(n, AnyString):
            return 4
        if isinstance(n, (Concat, Union_, Intersection)):
            total = 2
            for i in n.items:
                total += size(i)
                if total > cap:
                    return cap + 1
            return total
        if isinstance(n, Complement):
            return size(n.item)
        if isinstance(n, Repeat):
            copies = (n.hi if n.hi is not None else n.lo + 1) or 1
            inner = size(n.item)
            return min(cap + 1, 2 + copies * (inner + 1))
        if isinstance(n, Interval):
            return size(_interval_node(n))
        return 2

    return size(node)


def check_cost(pattern: str) -> Node:
    """Parse ``pattern`` and refuse it (:class:`RegexError`) when its automaton would exceed
    :data:`MAX_AUTOMATON_STATES`."""
    node = parse_regex(pattern)
    states = automaton_size(node)
    if states > MAX_AUTOMATON_STATES:
        raise RegexError(
            f"regular expression too complex: its automaton needs more than {MAX_AUTOMATON_STATES} states "
            f"(eqlc's limit; Elasticsearch refuses such patterns too, Lucene's determinize work limit being 10000)", 0)
    return node


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


# ---- numeric intervals <n-m> -------------------------------------------------------------------
def _digit_class(lo: int, hi: int) -> Node:
    if lo == hi:
        return Char(str(lo))
    return Class((Range(str(lo), str(hi)),), False)


def _same_width(lo: str, hi: str) -> list:
    """Alternatives (each a tuple of nodes) for the decimal strings of one width in [lo, hi]."""
    if not lo:
        return [()]
    if lo == hi:
        return [tuple(Char(c) for c in lo)]
    if lo[1:] == "0" * (len(lo) - 1) and hi[1:] == "9" * (len(hi) - 1):
        # [a-b] followed by any digits: one alternative, so each level recurses on one side only
        # and the expansion is O(width^2) alternatives (it was 2^width: <0-99999999999999999> hung)
        return [(_digit_class(int(lo[0]), int(hi[0])),) + tuple(_digit_class(0, 9) for _ in range(len(lo) - 1))]
    if lo[0] == hi[0]:
        return [(Char(lo[0]),) + rest for rest in _same_width(lo[1:], hi[1:])]
    n = len(lo) - 1
    out = [(Char(lo[0]),) + rest for rest in _same_width(lo[1:], "9" * n)]
    if int(hi[0]) - int(lo[0]) > 1:
        out.append((_digit_class(int(lo[0]) + 1, int(hi[0]) - 1),) + tuple(_digit_class(0, 9) for _ in range(n)))
    out += [(Char(hi[0]),) + rest for rest in _same_width("0" * n, hi[1:])]
    return out


def _interval_node(node: "Interval") -> Node:
    """Lucene's makeDecimalInterval: fixed width (zero-padded) when ``digits`` > 0, otherwise any
    number of leading zeros before the number's canonical form."""
    alts: list = []
    if node.digits:
        width = node.digits
        if len(str(node.hi)) > width:
            raise RegexError(f"interval <{node.lo}-{node.hi}> does not fit in {width} digits", 0)
        alts = _same_width(str(node.lo).zfill(width), str(node.hi).zfill(width))
        return Union_(tuple(Concat(a) for a in alts)) if len(alts) > 1 else Concat(alts[0])
    lo, hi = node.lo, node.hi
    for width in range(len(str(lo)), len(str(hi)) + 1):
        a = max(lo, 10 ** (width - 1) if width > 1 else 0)
        b = min(hi, 10**width - 1)
        if a <= b:
            alts += _same_width(str(a), str(b))
    body = Union_(tuple(Concat(a) for a in alts)) if len(alts) > 1 else Concat(alts[0])
    return Concat((Repeat(Char("0"), 0, None), body))


# ---- code point ranges ---------------------------------------------------------------------------
_SHORT_RANGES = {
    "d": [(48, 57)],
    "s": [(9, 13), (32, 32)],  # [ \t\n\x0B\f\r]
    "w": [(48, 57), (65, 90), (95, 95), (97, 122)],
}


def _char_ranges(ch: str, ci: bool) -> list:
    return [(ord(c), ord(c)) for c in _fold_char(ch, ci)]


def _class_ranges(node: "Class", ci: bool) -> list:
    ranges: list = []
    for item in node.items:
        if isinstance(item, Char):
            ranges += _char_ranges(item.ch, ci)
        elif isinstance(item, Range):
            ranges.append((ord(item.lo), ord(item.hi)))
        else:
            r = _SHORT_RANGES[item.letter.lower()]
            ranges += _complement(r) if item.letter.isupper() else r
    ranges = _normalise(ranges)
    return _complement(ranges) if node.negated else ranges


# ---- Thompson NFA (for a linear-time DFA simulation where RE2 is not available) ---------------
MAX_NFA_STATES = 200_000


class _NFA:
    def __init__(self) -> None:
        self.eps: list = []
        self.ranges: list = []
        self.target: list = []

    def state(self) -> int:
        if len(self.eps) >= MAX_NFA_STATES:
            raise Untranslatable(f"regular expression too large for the automaton fallback (> {MAX_NFA_STATES} states)")
        self.eps.append([])
        self.ranges.append(None)
        self.target.append(None)
        return len(self.eps) - 1

    def chars(self, ranges: list) -> tuple:
        a, b = self.state(), self.state()
        if ranges:
            flat: list = []
            for lo, hi in _normalise(ranges):
                flat += [lo, hi + 1]
            self.ranges[a] = tuple(flat)
            self.target[a] = b
        return a, b

    def build(self, node: Node, ci: bool) -> tuple:
        if isinstance(node, Char):
            return self.chars(_char_ranges(node.ch, ci))
        if isinstance(node, AnyChar):
            return self.chars([(0, MAX_CODE)])
        if isinstance(node, Shorthand):
            r = _SHORT_RANGES[node.letter.lower()]
            return self.chars(_complement(r) if node.letter.isupper() else r)
        if isinstance(node, Class):
            return self.chars(_class_ranges(node, ci))
        if isinstance(node, Empty):
            return self.chars([])
        if isinstance(node, AnyString):
            return self.build(Repeat(AnyChar(), 0, None), ci)
        if isinstance(node, Concat):
            if not node.items:
                a = self.state()
                return a, a
            first = self.build(node.items[0], ci)
            start, end = first
            for item in node.items[1:]:
                s, e = self.build(item, ci)
                self.eps[end].append(s)
                end = e
            return start, end
        if isinstance(node, Union_):
            a, b = self.state(), self.state()
            for item in node.items:
                s, e = self.build(item, ci)
                self.eps[a].append(s)
                self.eps[e].append(b)
            return a, b
        if isinstance(node, Repeat):
            start = self.state()
            end = start
            for _ in range(node.lo):
                s, e = self.build(node.item, ci)
                self.eps[end].append(s)
                end = e
            if node.hi is None:
                s, e = self.build(node.item, ci)
                loop_out = self.state()
                self.eps[end] += [s, loop_out]
                self.eps[e] += [s, loop_out]
                return start, loop_out
            out = self.state()
            self.eps[end].append(out)
            for _ in range(node.hi - node.lo):
                s, e = self.build(node.item, ci)
                self.eps[end].append(s)
                self.eps[e].append(out)
                end = e
            return start, out
        if isinstance(node, Interval):
            return self.build(_interval_node(node), ci)
        if isinstance(node, Intersection):
            raise Untranslatable("regex intersection '&' has no equivalent in Perl-style regex engines")
        if isinstance(node, Complement):
            raise Untranslatable("regex complement '~' has no equivalent in Perl-style regex engines")
        raise TypeError(node)

    def export(self, start: int, accept: int) -> tuple:
        trans = tuple((tuple(self.eps[i]), self.ranges[i], self.target[i]) for i in range(len(self.eps)))
        return (start, accept, trans)


def to_nfa(patterns: "tuple[str, ...] | list[str]", case_insensitive: bool = False) -> tuple:
    """A Thompson NFA ``(start, accept, transitions)`` for the whole-value match of the alternation
    of Lucene ``patterns``; each transition is ``(epsilon targets, flattened half-open code point
    ranges or None, target)``. Plain tuples, so a generated module can hold it as a literal."""
    nfa = _NFA()
    node = Union_(tuple(parse_regex(p) for p in patterns)) if len(patterns) > 1 else parse_regex(patterns[0])
    start, accept = nfa.build(node, case_insensitive)
    return nfa.export(start, accept)


def wildcard_nfa(pattern: str, dotall: bool = True) -> tuple:
    """NFA for an EQL wildcard pattern (``*`` any run, ``?`` one character, no escape). With
    ``dotall=False`` the wildcards do not match line terminators (Java regex ``.``, which is
    what Elasticsearch's script path uses)."""
    line_terms = [(10, 10), (13, 13), (0x85, 0x85), (0x2028, 0x2029)]
    anything = [(0, MAX_CODE)] if dotall else _complement(line_terms)
    nfa = _NFA()
    start = nfa.state()
    end = start
    for ch in pattern:
        if ch == "*":
            s, e = nfa.chars(anything)
            loop_out = nfa.state()
            nfa.eps[end] += [s, loop_out]
            nfa.eps[e] += [s, loop_out]
            end = loop_out
        else:
            s, e = nfa.chars(anything if ch == "?" else [(ord(ch), ord(ch))])
            nfa.eps[end].append(s)
            end = e
    return nfa.export(start, end)
