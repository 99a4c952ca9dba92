"""A small evaluator of native-query EQL conditions on ECS events, for assumption checks.

The emitter states assumptions ("the process_creation log source holds exactly the events with
event.type start", "process.name is the file name of process.executable"); each carries a check
that tells, for one fixture event, whether the event breaks it. Those checks need to evaluate a
few IR conditions the way Elasticsearch does for *native* queries (term/terms/wildcard/exists:
any array element matches, ``not`` is ``must_not`` and so matches missing fields, ASCII-only case
folding). This module covers exactly those constructs; it is not the rule matcher
(``eqlc.matcher`` is), and raises ``NotImplementedError`` for anything else.
"""

from __future__ import annotations

import re
from typing import Any

from eqlc import ir, safe_regex
from eqlc.events import values


def ascii_fold(s: str) -> str:
    return "".join(c.lower() if c.isascii() else c for c in s)


def _wildcard_regex(pattern: ir.Pattern, ci: bool) -> safe_regex.SafeRegex:
    out = []
    for p in pattern.parts:
        if p is ir.Wildcard.STAR:
            out.append(".*")
        elif p is ir.Wildcard.QUESTION:
            out.append(".")
        else:
            out.append(re.escape(ascii_fold(p) if ci else p))
    return safe_regex.compile("".join(out), re.DOTALL)


def wildcard_match(value: str, pattern: ir.Pattern, ci: bool) -> bool:
    return _wildcard_regex(pattern, ci).fullmatch(ascii_fold(value) if ci else value) is not None


def parts_match(value: str, parts, ci: bool) -> bool:
    """``value`` matches literal runs and ``ir.Wildcard`` members (whole value, ASCII folding)."""
    out = []
    for p in parts:
        if p is ir.Wildcard.STAR:
            out.append(".*")
        elif p is ir.Wildcard.QUESTION:
            out.append(".")
        else:
            out.append(re.escape(ascii_fold(p) if ci else p))
    return safe_regex.compile("".join(out), re.DOTALL).fullmatch(ascii_fold(value) if ci else value) is not None


def _lit(node: Any) -> Any:
    if isinstance(node, ir.Null):
        return None
    return node.value


def _eq(v: Any, lit: Any, ci: bool = False) -> bool:
    if isinstance(v, bool) or isinstance(lit, bool):
        return isinstance(v, bool) and isinstance(lit, bool) and v == lit
    if isinstance(v, str) and isinstance(lit, str):
        return ascii_fold(v) == ascii_fold(lit) if ci else v == lit
    if isinstance(v, (int, float)) and isinstance(lit, (int, float)):
        return v == lit
    return False


def evaluate(node: ir.Expr, event: dict) -> bool:
    """Elasticsearch's verdict for a native-query condition on ``event``."""
    if isinstance(node, ir.And):
        return all(evaluate(t, event) for t in node.terms)
    if isinstance(node, ir.Or):
        return any(evaluate(t, event) for t in node.terms)
    if isinstance(node, ir.Not):
        return not evaluate(node.expr, event)
    if isinstance(node, ir.Boolean):
        return node.value
    if isinstance(node, ir.IsNull) and isinstance(node.expr, ir.Field):
        return not values(event, node.expr.path)
    if isinstance(node, ir.Compare) and isinstance(node.left, ir.Field) and node.op is ir.CompareOp.EQ:
        lit = _lit(node.right)
        return any(_eq(v, lit) for v in values(event, node.left.path))
    if isinstance(node, ir.InSet) and isinstance(node.expr, ir.Field):
        lits = [_lit(v) for v in node.values]
        return any(_eq(v, lit, node.case_insensitive) for v in values(event, node.expr.path) for lit in lits)
    if isinstance(node, ir.WildcardMatch) and isinstance(node.expr, ir.Field):
        return any(
            isinstance(v, str) and wildcard_match(v, p, node.case_insensitive)
            for v in values(event, node.expr.path)
            for p in node.patterns
        )
    raise NotImplementedError(f"esval does not evaluate {type(node).__name__}")


def with_case(node: ir.Expr, case_insensitive: bool) -> ir.Expr:
    """The same string comparison with the other case sensitivity (for ci/cs difference checks)."""
    if isinstance(node, ir.Compare):
        if isinstance(node.right, ir.String) and case_insensitive:
            return ir.InSet(node.left, (node.right,), True)
        return node
    if isinstance(node, ir.InSet):
        return ir.InSet(node.expr, node.values, case_insensitive)
    if isinstance(node, ir.WildcardMatch):
        return ir.WildcardMatch(node.expr, node.patterns, case_insensitive)
    raise NotImplementedError(type(node).__name__)
