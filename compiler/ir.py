"""The intermediate representation every target reads.

The IR states *meaning*, not syntax, so that an emitter never has to rediscover what the EQL text
meant:

* every string comparison carries ``case_insensitive``;
* ``!=`` is ``Not(Compare("=="))`` and ``f != null`` is ``Not(IsNull(f))``, exactly as Elasticsearch
  parses them, so an emitter has one negation rule to get right, not three;
* ``:``, ``like`` and ``like~`` become :class:`WildcardMatch` with parsed :class:`Pattern` values
  (a list form is a disjunction over its patterns); ``in``/``in~`` become :class:`InSet`;
  ``regex``/``regex~`` become :class:`RegexMatch`;
* fields know whether they are optional (``?f``);
* every node keeps its source :class:`Span`, excluded from equality so that
  ``parse(print(ir)) == ir`` compares meaning only.

The IR knows nothing of targets.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Iterable, Union


@dataclass(frozen=True)
class Span:
    """1-based line/column of a node's first character, and of the character after its end."""

    line: int
    column: int
    end_line: int
    end_column: int


NO_SPAN = Span(0, 0, 0, 0)


def _span() -> Span:
    return field(default=NO_SPAN, compare=False, repr=False, kw_only=True)


# --------------------------------------------------------------------------------------------
# Wildcard patterns
# --------------------------------------------------------------------------------------------


class PatternKind(enum.Enum):
    """How a wildcard pattern can be expressed by targets with plain string operators."""

    EXACT = "exact"  # no wildcard: equality
    PREFIX = "prefix"  # "abc*"
    SUFFIX = "suffix"  # "*abc"
    CONTAINS = "contains"  # "*abc*"
    GENERAL = "general"  # anything else: needs a real wildcard or regex operator


class Wildcard(enum.Enum):
    STAR = "*"  # zero or more characters
    QUESTION = "?"  # exactly one character (one Unicode code point)


PatternPart = Union[str, Wildcard]


@dataclass(frozen=True)
class Pattern:
    """An EQL wildcard pattern: literal segments and ``*``/``?``.

    Elasticsearch has no escape for ``*`` or ``?`` in a pattern (elastic/elasticsearch#65237): every
    ``*`` and ``?`` is a wildcard, and a backslash is an ordinary character. ``text`` is the value
    after string-literal unescaping.
    """

    text: str

    @property
    def parts(self) -> tuple[PatternPart, ...]:
        """Literal runs and wildcards; consecutive ``*`` are merged (they mean the same)."""
        return pattern_parts(_EQL_WILDCARDS.get(ch, ch) for ch in self.text)

    @property
    def kind(self) -> PatternKind:
        return pattern_kind(self.parts)

    @property
    def literal(self) -> str:
        """The one literal segment of an EXACT/PREFIX/SUFFIX/CONTAINS pattern."""
        kind = self.kind
        if kind is PatternKind.GENERAL:
            raise ValueError(f"pattern {self.text!r} is general; it has no single literal")
        if kind is PatternKind.EXACT:
            return self.text
        return next(p for p in self.parts if isinstance(p, str))


_EQL_WILDCARDS = {"*": Wildcard.STAR, "?": Wildcard.QUESTION}


def pattern_parts(tokens: Iterable[PatternPart]) -> tuple[PatternPart, ...]:
    """Characters and wildcards, in order, as literal runs and wildcards with consecutive ``*``
    merged: the one assembly behind both pattern syntaxes eqlc reads, EQL's (:attr:`Pattern.parts`:
    every ``*``/``?`` a wildcard) and Lucene's (:func:`eqlc.native_wildcard.lucene_wildcard_parts`:
    ``\\`` escapes)."""
    out: list[PatternPart] = []
    buf: list[str] = []
    for t in tokens:
        if isinstance(t, Wildcard):
            if buf:
                out.append("".join(buf))
                buf = []
            if not (t is Wildcard.STAR and out and out[-1] is Wildcard.STAR):
                out.append(t)
        else:
            buf.append(t)
    if buf:
        out.append("".join(buf))
    return tuple(out)


def pattern_kind(parts: tuple[PatternPart, ...]) -> PatternKind:
    """How plain string operators can express a pattern given as literal runs and wildcards
    (consecutive ``*`` merged): the kind of :class:`Pattern`, and of the wildcard query
    Elasticsearch runs for ``endsWith``/``stringContains`` (:mod:`eqlc.native_wildcard`)."""
    literals = [p for p in parts if isinstance(p, str)]
    wilds = [p for p in parts if isinstance(p, Wildcard)]
    if not wilds:
        return PatternKind.EXACT
    if Wildcard.QUESTION in wilds or len(literals) != 1:
        return PatternKind.GENERAL
    if parts == (literals[0], Wildcard.STAR):
        return PatternKind.PREFIX
    if parts == (Wildcard.STAR, literals[0]):
        return PatternKind.SUFFIX
    if parts == (Wildcard.STAR, literals[0], Wildcard.STAR):
        return PatternKind.CONTAINS
    return PatternKind.GENERAL


# --------------------------------------------------------------------------------------------
# Expressions
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Field:
    """A field reference. ``path`` holds names and array indexes (ints), e.g. ``("a", "b", 0)``."""

    path: tuple[Union[str, int], ...]
    optional: bool = False
    span: Span = _span()

    @property
    def name(self) -> str:
        """The dotted name (indexes rendered as ``[n]``)."""
        out = ""
        for part in self.path:
            if isinstance(part, int):
                out += f"[{part}]"
            else:
                out += ("." if out else "") + part
        return out

    @property
    def has_index(self) -> bool:
        return any(isinstance(p, int) for p in self.path)


@dataclass(frozen=True)
class String:
    value: str
    span: Span = _span()


@dataclass(frozen=True)
class Number:
    value: Union[int, float]
    span: Span = _span()

    def __eq__(self, other: object) -> bool:  # 1 and 1.0 print differently: keep them apart
        return (
            isinstance(other, Number)
            and type(self.value) is type(other.value)
            and self.value == other.value
        )

    def __hash__(self) -> int:
        return hash((type(self.value), self.value))


@dataclass(frozen=True)
class Boolean:
    value: bool
    span: Span = _span()


@dataclass(frozen=True)
class Null:
    span: Span = _span()


Literal = Union[String, Number, Boolean, Null]


class CompareOp(enum.Enum):
    EQ = "=="
    LT = "<"
    LE = "<="
    GT = ">"
    GE = ">="


@dataclass(frozen=True)
class Compare:
    """``left op right``. ``==`` is case-sensitive and has no wildcards (``*`` is literal)."""

    op: CompareOp
    left: "Expr"
    right: "Expr"
    span: Span = _span()

    @property
    def case_insensitive(self) -> bool:
        """Always False: Elasticsearch's ``==`` and ordering comparisons are case-sensitive
        (case-insensitive equality is ``:``, a :class:`WildcardMatch`)."""
        return False


@dataclass(frozen=True)
class IsNull:
    """``expr == null``: true when the expression has no value (missing, null, ``[]``)."""

    expr: "Expr"
    span: Span = _span()


@dataclass(frozen=True)
class WildcardMatch:
    """``expr like/like~/: patterns``: true if the value matches *any* of the patterns."""

    expr: "Expr"
    patterns: tuple[Pattern, ...]
    case_insensitive: bool
    span: Span = _span()


@dataclass(frozen=True)
class RegexMatch:
    """``expr regex/regex~ patterns``: Lucene regular expressions, whole-value match, any of them."""

    expr: "Expr"
    patterns: tuple[str, ...]
    case_insensitive: bool
    span: Span = _span()


@dataclass(frozen=True)
class InSet:
    """``expr in (values)``; ``in~`` compares strings case-insensitively."""

    expr: "Expr"
    values: tuple[Literal, ...]
    case_insensitive: bool = False
    span: Span = _span()


@dataclass(frozen=True)
class FunctionCall:
    """A call of a known EQL function, by canonical name (``startsWith``, ``cidrMatch``...)."""

    name: str
    args: tuple["Expr", ...]
    case_insensitive: bool = False
    span: Span = _span()


class ArithOp(enum.Enum):
    ADD = "+"
    SUB = "-"
    MUL = "*"
    DIV = "/"
    MOD = "%"


@dataclass(frozen=True)
class Arithmetic:
    op: ArithOp
    left: "Expr"
    right: "Expr"
    span: Span = _span()


@dataclass(frozen=True)
class Negate:
    """Unary minus on a non-literal expression (``-5`` is folded into ``Number(-5)``)."""

    expr: "Expr"
    span: Span = _span()


@dataclass(frozen=True)
class Not:
    expr: "Expr"
    span: Span = _span()


@dataclass(frozen=True)
class And:
    """N-ary conjunction (nested ``and`` chains are flattened)."""

    terms: tuple["Expr", ...]
    span: Span = _span()


@dataclass(frozen=True)
class Or:
    """N-ary disjunction (nested ``or`` chains are flattened)."""

    terms: tuple["Expr", ...]
    span: Span = _span()


Expr = Union[
    Field,
    String,
    Number,
    Boolean,
    Null,
    Compare,
    IsNull,
    WildcardMatch,
    RegexMatch,
    InSet,
    FunctionCall,
    Arithmetic,
    Negate,
    Not,
    And,
    Or,
]

LITERAL_TYPES = (String, Number, Boolean, Null)


# --------------------------------------------------------------------------------------------
# Queries
# --------------------------------------------------------------------------------------------

DURATION_UNITS_MS = {"ms": 1, "s": 1000, "m": 60_000, "h": 3_600_000, "d": 86_400_000}


@dataclass(frozen=True)
class Duration:
    value: int
    unit: str
    span: Span = _span()

    @property
    def millis(self) -> int:
        return self.value * DURATION_UNITS_MS[self.unit]


@dataclass(frozen=True)
class EventQuery:
    """``category where condition``; ``category is None`` means ``any``."""

    category: Union[str, None]
    condition: Expr
    span: Span = _span()


@dataclass(frozen=True)
class SequenceTerm:
    """One bracketed query of a sequence or sample.

    ``by`` holds the term's own join keys; the effective keys are the sequence-level keys followed
    by these (compared positionally). ``missing`` marks ``![...]``; ``runs`` is ``with runs=N``.
    """

    query: EventQuery
    by: tuple[Expr, ...] = ()
    runs: int = 1
    missing: bool = False
    span: Span = _span()


@dataclass(frozen=True)
class Sequence:
    terms: tuple[SequenceTerm, ...]
    by: tuple[Expr, ...] = ()
    maxspan: Union[Duration, None] = None
    until: Union[SequenceTerm, None] = None
    span: Span = _span()

    def keys(self, term: SequenceTerm) -> tuple[Expr, ...]:
        """The effective join keys of ``term``: shared keys first, then the term's own."""
        return self.by + term.by


@dataclass(frozen=True)
class Sample:
    terms: tuple[SequenceTerm, ...]
    by: tuple[Expr, ...] = ()
    span: Span = _span()

    def keys(self, term: SequenceTerm) -> tuple[Expr, ...]:
        return self.by + term.by


@dataclass(frozen=True)
class Pipe:
    """``| name args``: ``head``/``tail`` (Elasticsearch) and the eql package's other pipes."""

    name: str
    args: tuple[Expr, ...] = ()
    span: Span = _span()


Body = Union[EventQuery, Sequence, Sample]


@dataclass(frozen=True)
class Query:
    body: Body
    pipes: tuple[Pipe, ...] = ()
    span: Span = _span()

    @property
    def kind(self) -> str:
        """``event``, ``sequence`` or ``sample``."""
        return {EventQuery: "event", Sequence: "sequence", Sample: "sample"}[type(self.body)]
