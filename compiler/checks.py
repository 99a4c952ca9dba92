"""Semantic checks on the IR: types, field-vs-field comparisons, regexes, CIDRs, sequence shape.

Messages follow Elasticsearch's wording where it has one, so a rule author recognises them.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from typing import Any, Iterator

from . import ir
from .errors import EqlError
from .functions import ANY, BOOLEAN, NULL, NUMBER, STRING, UNKNOWN, lookup

ES_PIPES = ("head", "tail")
ENDGAME_PIPES = ("head", "tail", "filter", "unique", "unique_count", "count", "sort")


@dataclass
class InvalidRegex(EqlError):
    """An invalid regular expression; ``pattern`` and the 0-based ``position`` of the problem in
    it let the parser move the caret from the predicate to the offending character."""

    pattern: str = ""
    position: int = 0


def _fail(node: Any, message: str) -> EqlError:
    span = getattr(node, "span", ir.NO_SPAN)
    return EqlError(message, span.line, span.column)


def type_of(node: Any) -> str:
    """The static type of an expression: a literal's type, a function's result, UNKNOWN for fields."""
    if isinstance(node, ir.String):
        return STRING
    if isinstance(node, ir.Number):
        return NUMBER
    if isinstance(node, ir.Boolean):
        return BOOLEAN
    if isinstance(node, ir.Null):
        return NULL
    if isinstance(node, (ir.Arithmetic, ir.Negate)):
        return NUMBER
    if isinstance(node, ir.FunctionCall):
        spec = lookup(node.name)
        return spec.returns if spec else UNKNOWN
    if isinstance(node, (ir.Compare, ir.IsNull, ir.WildcardMatch, ir.RegexMatch, ir.InSet, ir.Not, ir.And, ir.Or)):
        return BOOLEAN
    return UNKNOWN


def _compatible(actual: str, expected: str) -> bool:
    return expected == ANY or actual in (expected, UNKNOWN, NULL, ANY)


def fields_in(node: Any) -> Iterator[ir.Field]:
    """Every field referenced inside an expression."""
    if isinstance(node, ir.Field):
        yield node
        return
    for child in children(node):
        yield from fields_in(child)


def children(node: Any) -> tuple:
    if isinstance(node, (ir.Compare, ir.Arithmetic)):
        return (node.left, node.right)
    if isinstance(node, (ir.IsNull, ir.Not, ir.Negate, ir.WildcardMatch, ir.RegexMatch)):
        return (node.expr,)
    if isinstance(node, ir.InSet):
        return (node.expr, *node.values)
    if isinstance(node, ir.FunctionCall):
        return node.args
    if isinstance(node, (ir.And, ir.Or)):
        return node.terms
    return ()


class Checker:
    def __init__(self, dialect: str) -> None:
        self.dialect = dialect
        self.es = dialect == "elasticsearch"

    def expr(self, node: Any) -> None:
        for child in children(node):
            self.expr(child)
        method = getattr(self, "_" + type(node).__name__, None)
        if method:
            method(node)

    def condition(self, node: Any) -> None:
        self.expr(node)
        t = type_of(node)
        if self.es and t not in (BOOLEAN, UNKNOWN, NULL):
            raise _fail(node, f"Condition expression needs to be boolean, found [{t}]")

    # ---- per node ------------------------------------------------------------------------
    def _Compare(self, node: ir.Compare) -> None:
        lt, rt = type_of(node.left), type_of(node.right)
        left_fields, right_fields = list(fields_in(node.left)), list(fields_in(node.right))
        if self.es and left_fields and right_fields:
            # Elasticsearch replaces optional fields that no index maps by null *before* this
            # check (`?x == ?y` is `null == null`), so a side made only of optional fields may be a
            # constant; without index mappings eqlc cannot tell, and accepts it.
            if not (all(f.optional for f in left_fields) or all(f.optional for f in right_fields)):
                raise _fail(node, "Comparisons against fields are not (currently) supported")
        if lt != UNKNOWN and rt != UNKNOWN and lt != rt and NULL not in (lt, rt):
            raise _fail(node, f"first argument of [{node.op.value}] is [{lt}], second argument is [{rt}]; they must be the same type")
        if node.op is not ir.CompareOp.EQ and BOOLEAN in (lt, rt):
            raise _fail(node, f"cannot order booleans with [{node.op.value}]")

    def _InSet(self, node: ir.InSet) -> None:
        kinds = {type_of(v) for v in node.values} - {NULL}
        if self.es and len(kinds) > 1:
            raise _fail(node, f"in-list mixes types {sorted(kinds)}; all values must have the same type")
        if node.case_insensitive and kinds - {STRING}:
            raise _fail(node, "in~ compares strings; every value must be a string")
        et = type_of(node.expr)
        if et not in (UNKNOWN, NULL) and kinds and et not in kinds and self.es:
            raise _fail(node, f"cannot look up a [{et}] in a list of [{', '.join(sorted(kinds))}]")

    def _WildcardMatch(self, node: ir.WildcardMatch) -> None:
        if not _compatible(type_of(node.expr), STRING):
            raise _fail(node, f"wildcard matching applies to strings, found [{type_of(node.expr)}]")

    def _RegexMatch(self, node: ir.RegexMatch) -> None:
        if not _compatible(type_of(node.expr), STRING):
            raise _fail(node, f"regex matching applies to strings, found [{type_of(node.expr)}]")
        from .lucene_regex import RegexError, check_cost

        for pattern in node.patterns:
            try:
                check_cost(pattern)
            except RegexError as err:
                span = node.span
                raise InvalidRegex(f"invalid regular expression {pattern!r}: {err}", span.line, span.column,
                                   pattern=pattern, position=err.position) from None

    def _Arithmetic(self, node: ir.Arithmetic) -> None:
        for side in (node.left, node.right):
            if not _compatible(type_of(side), NUMBER):
                raise _fail(side, f"arithmetic [{node.op.value}] needs numbers, found [{type_of(side)}]")
        if node.op in (ir.ArithOp.DIV, ir.ArithOp.MOD) and isinstance(node.right, ir.Number) and node.right.value == 0:
            raise _fail(node.right, "division by zero")

    def _Negate(self, node: ir.Negate) -> None:
        if not _compatible(type_of(node.expr), NUMBER):
            raise _fail(node, f"unary minus needs a number, found [{type_of(node.expr)}]")

    def _FunctionCall(self, node: ir.FunctionCall) -> None:
        spec = lookup(node.name)
        assert spec is not None
        for i, arg in enumerate(node.args):
            expected = spec.arg_type(i)
            actual = type_of(arg)
            if not _compatible(actual, expected):
                raise _fail(arg, f"argument {i + 1} of [{spec.name}] must be [{expected}], found [{actual}]")
        if spec.name == "cidrMatch":
            for arg in node.args[1:]:
                if isinstance(arg, ir.String):
                    try:
                        ipaddress.ip_network(arg.value, strict=False)
                    except ValueError:
                        raise _fail(arg, f"[{arg.value}] is not a valid CIDR block") from None
                elif self.es and not isinstance(arg, ir.Null):
                    raise _fail(arg, "cidrMatch takes literal CIDR blocks after its first argument")

    def _Not(self, node: ir.Not) -> None:
        t = type_of(node.expr)
        if t not in (BOOLEAN, UNKNOWN, NULL):
            raise _fail(node, f"not needs a boolean, found [{t}]")

    def _And(self, node: ir.And) -> None:
        self._logic(node, "and")

    def _Or(self, node: ir.Or) -> None:
        self._logic(node, "or")

    def _logic(self, node: Any, word: str) -> None:
        for t in node.terms:
            tt = type_of(t)
            if tt not in (BOOLEAN, UNKNOWN, NULL) and self.es:
                raise _fail(t, f"[{word}] needs boolean operands, found [{tt}]")

    # ---- queries -------------------------------------------------------------------------
    def query(self, query: ir.Query) -> None:
        body = query.body
        if isinstance(body, ir.EventQuery):
            self.condition(body.condition)
        else:
            self.joined(body)
        allowed = ES_PIPES if self.es else ENDGAME_PIPES
        for pipe in query.pipes:
            if pipe.name not in allowed:
                raise _fail(pipe, f"Pipe [{pipe.name}] is not supported" + (" by Elasticsearch" if self.es else ""))
            if pipe.name in ("head", "tail"):
                if len(pipe.args) != 1 or not isinstance(pipe.args[0], ir.Number) or not isinstance(pipe.args[0].value, int) or pipe.args[0].value < 0:
                    raise _fail(pipe, f"Pipe [{pipe.name}] takes one non-negative integer")
            elif pipe.name == "filter":
                if len(pipe.args) != 1:
                    raise _fail(pipe, "Pipe [filter] takes one condition")
                self.condition(pipe.args[0])
            else:
                for a in pipe.args:
                    self.expr(a)
        if self.es and isinstance(body, ir.Sample) and query.pipes:
            raise _fail(query.pipes[0], "Samples do not support pipes")

    def joined(self, body: Any) -> None:
        terms = list(body.terms)
        if isinstance(body, ir.Sequence):
            if body.until is not None:
                terms_all = terms + [body.until]
            else:
                terms_all = terms
            positives = [t for t in terms if not t.missing]
            total = sum(t.runs for t in positives)
            if not positives:
                raise _fail(body, "A sequence requires at least one positive (non-missing) event query")
            if total < 2 and not any(t.missing for t in terms) and self.es:
                raise _fail(body, "A sequence requires a minimum of 2 queries, found [1]")
            if any(t.missing for t in terms) and body.maxspan is None:
                raise _fail(body, "A sequence with missing events ![...] requires a maxspan")
        else:
            terms_all = terms
            if len(terms) < 2 and self.es:
                raise _fail(body, "A sample requires a minimum of 2 queries, found [1]")
        counts = {len(body.keys(t)) for t in terms_all}
        if len(counts) > 1:
            first = terms_all[0]
            for t in terms_all[1:]:
                if len(body.keys(t)) != len(body.keys(first)):
                    raise _fail(t, f"Inconsistent number of join keys specified; expected [{len(body.keys(first))}] but found [{len(body.keys(t))}]")
        for key in body.by:
            self.expr(key)
        for t in terms_all:
            self.condition(t.query.condition)
            for key in t.by:
                self.expr(key)


def check_query(query: ir.Query, dialect: str = "elasticsearch") -> None:
    """Raise :class:`EqlError` at the first semantic problem in ``query``."""
    Checker(dialect).query(query)
