"""The ``search`` command's expression language: field/value terms, wildcards, IN, NOT, AND, OR.

Each rule below is Splunk's documented behaviour (Search Reference 10.0, ``search`` command, and
Search Manual), and each is tested on its own in ``tests/test_spl_evaluator.py`` against the
documentation's examples:

* Boolean order: "1. Expressions within parentheses 2. NOT clauses 3. OR clauses 4. AND clauses"
  - OR binds tighter than AND, unlike ``where``; "The AND operator is always implied between
  terms"; operators "must be capitalized" (Search Manual > Boolean expressions).
* ``<field>=<value>``: "Comparison expressions with the equal ( = ) or not equal ( != ) operator
  compare string values. For example, "1" does not match "1.0"". Searches are case-insensitive
  ("By default, searches are case-insensitive", Search Manual > Use CASE() and TERM()); field
  *names* are case-sensitive. ``*`` is the wildcard ("SPL uses the asterisk ( * ) as a wildcard
  character. The backslash symbol can't be used to escape the asterisk", Search Manual >
  Backslashes); the whole value must match. Splunk does not document how non-ASCII letters fold;
  the evaluator folds ASCII letters only (Elasticsearch's rule) and eqlc states that assumption on
  every translation whose search terms contain a letter with a non-ASCII case variant (i, k, s).
* CIDR: "If you specify ip="10.10.10.0/24", the search returns the events with the first and last
  values: 10.10.10.12 and 10.10.10.23".
* NOT vs !=: "If you search with the != expression, every event that has a value in the field,
  where that value does not match the value you specify, is returned. Events that do not have a
  value in the field are not included" and "If you search with the NOT operator, every event is
  returned except the events that contain the value you specify. This includes events that do not
  have a value in the field" (Search Manual > Difference between != and NOT).
* ``<field> IN (<value-list>)`` equals an OR of ``<field>=<value>`` and accepts wildcards.
* Multivalue fields: a term matches when any value matches (``!=`` on a multivalue field is not
  documented: the evaluator raises :class:`Undocumented`).
* ``< <= > >=``: "numerically compare two numbers and lexicographically compare other values".
* Quoting: "The backslash character ( \\ ) is used to escape quotes, pipes, and the backslash
  character itself. Backslash escape sequences are expanded inside quotation marks ...
  Unrecognized backslash sequences are not altered"; keywords used as values ("country=IN") must
  be quoted.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from typing import Optional, Union

from eqlc import safe_regex

from . import values as V
from .errors import SplSyntaxError, Undocumented, Unsupported

KEYWORDS = {"AND", "OR", "NOT", "IN"}
_WORD_STOP = set(" \t\r\n()=!<>\",")


# ---- AST -------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Value:
    text: str  # after escape processing
    quoted: bool


@dataclass(frozen=True)
class Cmp:
    field: str
    op: str  # = != < <= > >=
    value: Value


@dataclass(frozen=True)
class In:
    field: str
    values: tuple[Value, ...]


@dataclass(frozen=True)
class Not:
    expr: "Node"


@dataclass(frozen=True)
class And:
    terms: tuple["Node", ...]


@dataclass(frozen=True)
class Or:
    terms: tuple["Node", ...]


@dataclass(frozen=True)
class Everything:
    """An empty search (``search`` with no terms) keeps every event."""


Node = Union[Cmp, In, Not, And, Or, Everything]


# ---- scanner ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class Tok:
    kind: str  # ( ) , op word str kw
    text: str
    pos: int


_SEARCH_ESCAPE = re.compile(r'\\([\\"|])')
_STRING = re.compile(r'"(?:[^"\\]|\\.)*"', re.S)


def unescape_search_string(body: str) -> str:
    """Expand ``\\\\``, ``\\"`` and ``\\|``; leave other backslash sequences as they are."""
    return _SEARCH_ESCAPE.sub(lambda m: m.group(1), body) if "\\" in body else body


def scan(text: str) -> list[Tok]:
    toks: list[Tok] = []
    i = 0
    n = len(text)
    while i < n:
        c = text[i]
        if c.isspace():
            i += 1
            continue
        if c in "(),":
            toks.append(Tok(c, c, i))
            i += 1
            continue
        if c in "=!<>":
            two = text[i : i + 2]
            if two in ("!=", "<=", ">=", "=="):
                if two == "==":
                    raise SplSyntaxError("'==' is not a search operator (use '=')", i)
                toks.append(Tok("op", two, i))
                i += 2
            elif c == "!":
                raise SplSyntaxError("stray '!'", i)
            else:
                toks.append(Tok("op", c, i))
                i += 1
            continue
        if c == '"':
            m = _STRING.match(text, i)
            if m is None:
                raise SplSyntaxError("unbalanced quotation mark", i)
            j = m.end() - 1
            toks.append(Tok("str", unescape_search_string(text[i + 1 : j]), i))
            i = j + 1
            continue
        j = i
        while j < n and text[j] not in _WORD_STOP:
            j += 1
        word = text[i:j]
        toks.append(Tok("kw" if word in KEYWORDS else "word", word, i))
        i = j
    return toks


# ---- parser ----------------------------------------------------------------------------------
class _Parser:
    def __init__(self, text: str) -> None:
        self.toks = scan(text)
        self.i = 0

    def peek(self, k: int = 0) -> Optional[Tok]:
        j = self.i + k
        return self.toks[j] if j < len(self.toks) else None

    def take(self) -> Tok:
        t = self.toks[self.i]
        self.i += 1
        return t

    def expect(self, kind: str, text: Optional[str] = None) -> Tok:
        t = self.peek()
        if t is None or t.kind != kind or (text is not None and t.text != text):
            where = t.pos if t else -1
            raise SplSyntaxError(f"expected {text or kind}", where)
        return self.take()

    def parse(self) -> Node:
        if not self.toks:
            return Everything()
        node = self.and_expr()
        if self.peek() is not None:
            raise SplSyntaxError(f"unexpected {self.peek().text!r}", self.peek().pos)
        return node

    def _starts_operand(self) -> bool:
        t = self.peek()
        return t is not None and (t.kind in ("(", "word", "str") or (t.kind == "kw" and t.text == "NOT"))

    def and_expr(self) -> Node:
        terms = [self.or_expr()]
        while True:
            t = self.peek()
            if t is not None and t.kind == "kw" and t.text == "AND":
                self.take()
                terms.append(self.or_expr())
            elif self._starts_operand():
                terms.append(self.or_expr())
            else:
                break
        return terms[0] if len(terms) == 1 else And(tuple(terms))

    def or_expr(self) -> Node:
        terms = [self.not_expr()]
        while (t := self.peek()) is not None and t.kind == "kw" and t.text == "OR":
            self.take()
            terms.append(self.not_expr())
        return terms[0] if len(terms) == 1 else Or(tuple(terms))

    def not_expr(self) -> Node:
        t = self.peek()
        if t is not None and t.kind == "kw" and t.text == "NOT":
            self.take()
            return Not(self.not_expr())
        return self.primary()

    def value(self) -> Value:
        t = self.peek()
        if t is None:
            raise SplSyntaxError("missing value at end of search")
        if t.kind == "str":
            self.take()
            return Value(t.text, True)
        if t.kind == "word":
            self.take()
            return Value(t.text, False)
        raise SplSyntaxError(f"expected a value, found {t.text!r}", t.pos)

    def primary(self) -> Node:
        t = self.peek()
        if t is None:
            raise SplSyntaxError("missing term at end of search")
        if t.kind == "(":
            self.take()
            node = self.and_expr()
            self.expect(")")
            return node
        if t.kind == "word":
            nxt = self.peek(1)
            if nxt is not None and nxt.kind == "op":
                self.take()
                op = self.take().text
                return Cmp(t.text, op, self.value())
            if nxt is not None and nxt.kind == "kw" and nxt.text == "IN":
                self.take()
                self.take()
                self.expect("(")
                vals = [self.value()]
                while self.peek() is not None and self.peek().kind == ",":
                    self.take()
                    vals.append(self.value())
                self.expect(")")
                return In(t.text, tuple(vals))
        if t.kind in ("word", "str"):
            raise Unsupported(f"free-text search term {t.text!r} (raw-event search) is outside the subset eqlc emits")
        raise SplSyntaxError(f"unexpected {t.text!r}", t.pos)


def parse_search(text: str) -> Node:
    return _Parser(text).parse()


# ---- evaluation ------------------------------------------------------------------------------
def _ascii_lower(s: str) -> str:
    return s.translate(_ASCII_LOWER)


_ASCII_LOWER = {c: c + 32 for c in range(ord("A"), ord("Z") + 1)}


def _cidr(text: str):
    if "/" not in text or "*" in text:
        return None
    try:
        return ipaddress.ip_network(text, strict=False)
    except ValueError:
        return None


def _wildcard_regex(pattern: str) -> "safe_regex.SafeRegex":
    parts = pattern.split("*")  # many '*' make re backtrack polynomially: bounded by safe_regex
    return safe_regex.compile("(?s:.*)".join(re.escape(_ascii_lower(p)) for p in parts) + r"\Z")


def value_matches(pattern: str, value: V.Scalar) -> bool:
    """``field=pattern`` for one field value: CIDR, or case-insensitive wildcard whole match."""
    text = V.render(value)
    net = _cidr(pattern)
    if net is not None:
        try:
            return ipaddress.ip_address(text) in net
        except ValueError:
            return False
    return _wildcard_regex(pattern).match(_ascii_lower(text)) is not None


def _order(a: V.Scalar, b: str) -> Optional[int]:
    na, nb = V.to_number(a), V.to_number(b)
    if na is not None and nb is not None:
        return (na > nb) - (na < nb)
    sa = V.render(a)
    return (sa > b) - (sa < b)


def evaluate(node: Node, event: V.Event) -> bool:
    if isinstance(node, Everything):
        return True
    if isinstance(node, And):
        return all(evaluate(t, event) for t in node.terms)
    if isinstance(node, Or):
        return any(evaluate(t, event) for t in node.terms)
    if isinstance(node, Not):
        return not evaluate(node.expr, event)
    if isinstance(node, In):
        vals = V.get(event, node.field) or []
        return any(value_matches(p.text, v) for p in node.values for v in vals)
    if isinstance(node, Cmp):
        vals = V.get(event, node.field)
        if not vals:
            return False
        if node.op == "=":
            return any(value_matches(node.value.text, v) for v in vals)
        if node.op == "!=":
            if len(vals) > 1:
                raise Undocumented(f"'{node.field}!=' on a multivalue field is not documented")
            return not value_matches(node.value.text, vals[0])
        if "*" in node.value.text:
            raise Undocumented("a wildcard in an ordering comparison is not documented")
        results = [_order(v, node.value.text) for v in vals]
        test = {"<": lambda r: r < 0, "<=": lambda r: r <= 0, ">": lambda r: r > 0, ">=": lambda r: r >= 0}[node.op]
        return any(test(r) for r in results)
    raise TypeError(node)


def fields_in(node: Node) -> list[tuple[str, str]]:
    """(field, value) pairs of positive ``=`` terms, in order (used to read index/sourcetype)."""
    out: list[tuple[str, str]] = []
    if isinstance(node, Cmp) and node.op == "=":
        out.append((node.field, node.value.text))
    elif isinstance(node, In):
        out.extend((node.field, v.text) for v in node.values)
    elif isinstance(node, (And, Or)):
        for t in node.terms:
            out.extend(fields_in(t))
    return out
