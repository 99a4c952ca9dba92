"""Elasticsearch's EQL optimizer rewrites that change what a condition *means*, applied to the IR.

Why: Elasticsearch decides per node whether a condition runs as a Lucene query (two-valued;
``not`` is ``must_not`` and matches documents without the field) or as a Painless script (null
propagates; ``not null`` is false). That decision is made *after* its optimizer has rewritten the
condition, so ``-serial_event_id + 100 == 18`` is a native term query on ``serial_event_id == 82``
and ``f : "*"`` is an ``exists`` query. This module replays the rules that matter, in the order of
``x-pack/plugin/eql/.../optimizer/Optimizer.java`` (batches "Substitution" then "Operator
Optimization"):

* ReplaceWildcards / ReplaceRegexMatch: a ``:``/``like`` list is an OR of one pattern each; a pattern
  that matches everything (``*``) becomes ``IsNotNull``; one without wildcards becomes ``==``
  (case-insensitive for ``:``/``like~``);
* ConstantFolding, EqlBooleanSimplification (no negation push-down: ``not (a > 1)`` stays a
  ``must_not``), LiteralsOnTheRight, BooleanFunctionEqualsElimination (``f(x) == true`` -> ``f(x)``),
  SimplifyComparisonsArithmetics (integer fields only), PruneFilters (null in AND -> null; in OR
  dropped);
* PropagateJoinKeyConstraints: a conjunct on a join key is copied to the other queries of a
  sequence/sample, with their key in its place.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any, Callable, Optional

from .. import ir

NULL = ir.Null()
TRUE = ir.Boolean(True)
FALSE = ir.Boolean(False)

_MIRROR = {ir.CompareOp.LT: ir.CompareOp.GT, ir.CompareOp.GT: ir.CompareOp.LT, ir.CompareOp.LE: ir.CompareOp.GE,
           ir.CompareOp.GE: ir.CompareOp.LE, ir.CompareOp.EQ: ir.CompareOp.EQ}


def is_literal(node: Any) -> bool:
    return isinstance(node, ir.LITERAL_TYPES)


def literal(value: Any) -> Any:
    if value is None:
        return NULL
    if isinstance(value, bool):
        return ir.Boolean(value)
    if isinstance(value, (int, float)):
        return ir.Number(value)
    if isinstance(value, str):
        return ir.String(value)
    raise TypeError(value)


def lit_value(node: Any) -> Any:
    if isinstance(node, ir.Null):
        return None
    return node.value


def has_field(node: Any) -> bool:
    from ..checks import fields_in

    return any(True for _ in fields_in(node))


def map_children(node: Any, fn: Callable[[Any], Any]) -> Any:
    """Rebuild ``node`` with ``fn`` applied to each child expression (``node`` itself when no
    child changed, so unchanged trees are not copied)."""
    if isinstance(node, (ir.Compare, ir.Arithmetic)):
        left, right = fn(node.left), fn(node.right)
        if left is node.left and right is node.right:
            return node
        return replace(node, left=left, right=right)
    if isinstance(node, (ir.IsNull, ir.Not, ir.Negate, ir.WildcardMatch, ir.RegexMatch, ir.InSet)):
        expr = fn(node.expr)
        return node if expr is node.expr else replace(node, expr=expr)
    if isinstance(node, ir.FunctionCall):
        args = tuple(fn(a) for a in node.args)
        return node if all(a is b for a, b in zip(args, node.args)) else replace(node, args=args)
    if isinstance(node, (ir.And, ir.Or)):
        terms = tuple(fn(t) for t in node.terms)
        return node if all(a is b for a, b in zip(terms, node.terms)) else replace(node, terms=terms)
    if isinstance(node, CIEq):
        expr = fn(node.expr)
        return node if expr is node.expr else CIEq(expr, node.value)
    return node


class CIEq:
    """``expr`` equals the string ``value`` ignoring ASCII case (InsensitiveEquals)."""

    __slots__ = ("expr", "value")

    def __init__(self, expr: Any, value: str) -> None:
        self.expr = expr
        self.value = value

    def __eq__(self, other: object) -> bool:
        return isinstance(other, CIEq) and self.expr == other.expr and self.value == other.value

    def __hash__(self) -> int:
        return hash(("CIEq", self.expr, self.value))

    def __repr__(self) -> str:
        return f"CIEq({self.expr!r}, {self.value!r})"


def _all_stars(p: ir.Pattern) -> bool:
    return p.text != "" and set(p.text) == {"*"}


def substitute(node: Any) -> Any:
    """The "Substitution" batch, bottom-up."""
    node = map_children(node, substitute)
    if isinstance(node, ir.WildcardMatch):
        alts = []
        for p in node.patterns:
            if _all_stars(p):
                alts.append(ir.Not(ir.IsNull(node.expr)))
            elif p.kind is ir.PatternKind.EXACT:
                alts.append(CIEq(node.expr, p.text) if node.case_insensitive else ir.Compare(ir.CompareOp.EQ, node.expr, ir.String(p.text)))
            else:
                alts.append(ir.WildcardMatch(node.expr, (p,), node.case_insensitive, span=node.span))
        return alts[0] if len(alts) == 1 else ir.Or(tuple(alts), span=node.span)
    if isinstance(node, ir.RegexMatch):
        joined = "|".join(node.patterns)
        if joined in (".*", "@", "(.*)", "(@)"):
            return ir.Not(ir.IsNull(node.expr))
        return ir.RegexMatch(node.expr, (joined,), node.case_insensitive, span=node.span)
    if isinstance(node, ir.InSet) and node.case_insensitive:
        alts = [CIEq(node.expr, lit_value(v)) for v in node.values if not isinstance(v, ir.Null)]
        if not alts:
            return NULL
        return alts[0] if len(alts) == 1 else ir.Or(tuple(alts), span=node.span)
    if isinstance(node, ir.Compare) and node.op is ir.CompareOp.EQ:
        # ReplaceNullChecks (the front end does it for a literal null; folding can produce more)
        # (ES checks the right side first: `null == null` is IsNull(null), i.e. true)
        if isinstance(node.right, ir.Null):
            return ir.IsNull(node.left)
        if isinstance(node.left, ir.Null):
            return ir.IsNull(node.right)
    return node


# ------------------------------------------------------------------------------------------------
# Operator optimisation
# ------------------------------------------------------------------------------------------------


class Folder:
    """Evaluates literal-only expressions with the runtime's script semantics."""

    def __init__(self, evaluate: Callable[[Any], Any]) -> None:
        self.evaluate = evaluate  # script-evaluates a field-free node; raises on errors

    def fold(self, node: Any) -> Any:
        if is_literal(node) or isinstance(node, ir.Field):
            return node
        try:
            value = self.evaluate(node)
        except Exception:
            return node
        if isinstance(value, (str, int, float, bool)) or value is None:
            return literal(value)
        return node


def optimize(node: Any, folder: Folder, integer_field: Callable[[ir.Field], bool]) -> Any:
    """The "Operator Optimization" batch, repeated until nothing changes."""
    for _ in range(50):
        new = _opt(node, folder, integer_field)
        if new is node or new == node:
            return new
        node = new
    return node


def _opt(node: Any, folder: Folder, integer_field: Callable[[ir.Field], bool]) -> Any:
    node = map_children(node, lambda c: _opt(c, folder, integer_field))
    # bottom-up: a field-free subtree has already folded to literals, so a node folds when all
    # its children are literals
    kids: list = []
    map_children(node, lambda c: kids.append(c) or c)
    if not is_literal(node) and not isinstance(node, ir.Field) and all(is_literal(k) for k in kids):
        node = folder.fold(node)
    if isinstance(node, ir.Not):
        inner = node.expr
        if isinstance(inner, ir.Boolean):
            return ir.Boolean(not inner.value)
        if isinstance(inner, ir.Null):
            return NULL
        if isinstance(inner, ir.Not):
            return inner.expr
        return node
    if isinstance(node, ir.And):
        terms = []
        for t in node.terms:
            if isinstance(t, ir.Boolean):
                if not t.value:
                    return FALSE
                continue
            if isinstance(t, ir.Null):
                return NULL  # PruneFilters: AND with null folds to null
            terms.append(t)
        if not terms:
            return TRUE
        return terms[0] if len(terms) == 1 else replace(node, terms=tuple(terms))
    if isinstance(node, ir.Or):
        terms = []
        for t in node.terms:
            if isinstance(t, ir.Boolean):
                if t.value:
                    return TRUE
                continue
            if isinstance(t, ir.Null):
                continue  # PruneFilters: a null branch of OR is dropped
            terms.append(t)
        if not terms:
            # all branches false -> false; all null -> null
            return NULL if all(isinstance(t, ir.Null) for t in node.terms) else FALSE
        return terms[0] if len(terms) == 1 else replace(node, terms=tuple(terms))
    if isinstance(node, ir.Compare):
        if is_literal(node.left) and not is_literal(node.right):
            node = ir.Compare(_MIRROR[node.op], node.right, node.left, span=node.span)
        if node.op is ir.CompareOp.EQ and isinstance(node.right, ir.Boolean) and _is_function(node.left):
            return node.left if node.right.value else ir.Not(node.left)
        if is_literal(node.right) and isinstance(node.right, ir.Number):
            simplified = _simplify_arith(node, integer_field)
            if simplified is not None:
                return simplified
        return node
    if isinstance(node, ir.IsNull) and is_literal(node.expr):
        return ir.Boolean(isinstance(node.expr, ir.Null))
    return node


def _is_function(node: Any) -> bool:
    """QL's ``Function``: everything but fields and literals (functions, comparisons, logic)."""
    return not isinstance(node, (ir.Field,) + ir.LITERAL_TYPES)


def _int_lit(node: Any) -> Optional[int]:
    if isinstance(node, ir.Number) and isinstance(node.value, int) and not isinstance(node.value, bool):
        return node.value
    return None


def _reverse(op: ir.CompareOp) -> ir.CompareOp:
    return _MIRROR[op]


def _simplify_arith(cmp: ir.Compare, integer_field: Callable[[ir.Field], bool]) -> Any:
    """SimplifyComparisonsArithmetics: ``x + 1 == 83`` -> ``x == 82`` for integer ``x`` and integer
    literals (ADD/SUB always; MUL only when exact; DIV never), and ``-x op c`` -> ``x op' -c``."""
    left, c = cmp.left, _int_lit(cmp.right)
    if isinstance(left, ir.Negate):
        if isinstance(cmp.right, ir.Number):
            return ir.Compare(_reverse(cmp.op), left.expr, ir.Number(-cmp.right.value), span=cmp.span)
        return None
    if c is None or not isinstance(left, ir.Arithmetic):
        return None
    a, b = left.left, left.right
    la, lb = _int_lit(a), _int_lit(b)
    if (la is None) == (lb is None):
        return None
    other = b if la is not None else a
    k = la if la is not None else lb
    if not _integer_expr(other, integer_field):
        return None
    op = left.op
    if op is ir.ArithOp.ADD:
        return ir.Compare(cmp.op, other, ir.Number(c - k), span=cmp.span)
    if op is ir.ArithOp.SUB:
        if lb is not None:  # x - k op c -> x op c + k
            return ir.Compare(cmp.op, other, ir.Number(c + k), span=cmp.span)
        # k - x op c -> x op' k - c
        return ir.Compare(_reverse(cmp.op), other, ir.Number(k - c), span=cmp.span)
    if op is ir.ArithOp.MUL:
        if k == 0 or c % k != 0:
            return None
        new_op = cmp.op if k > 0 else _reverse(cmp.op)
        return ir.Compare(new_op, other, ir.Number(c // k if (c % k == 0) else c / k), span=cmp.span)
    return None


def _integer_expr(node: Any, integer_field: Callable[[ir.Field], bool]) -> bool:
    if isinstance(node, ir.Field):
        return integer_field(node)
    if isinstance(node, ir.Negate):
        return _integer_expr(node.expr, integer_field)
    if isinstance(node, ir.Arithmetic) and node.op is not ir.ArithOp.DIV:
        return all(_integer_expr(x, integer_field) or _int_lit(x) is not None for x in (node.left, node.right))
    return False


# ------------------------------------------------------------------------------------------------
# Join key constraints
# ------------------------------------------------------------------------------------------------


def split_and(node: Any) -> list:
    if isinstance(node, ir.And):
        out = []
        for t in node.terms:
            out.extend(split_and(t))
        return out
    return [node]


def split_or(node: Any) -> list:
    if isinstance(node, ir.Or):
        out = []
        for t in node.terms:
            out.extend(split_or(t))
        return out
    return [node]


def _contains_or(node: Any) -> bool:
    if isinstance(node, ir.Or):
        return True
    found = [False]

    def visit(n: Any) -> Any:
        if isinstance(n, ir.Or):
            found[0] = True
        map_children(n, visit)
        return n

    map_children(node, visit)
    return found[0]


def _preorder(node: Any):
    yield node
    children: list = []
    map_children(node, lambda c: children.append(c) or c)
    for c in children:
        yield from _preorder(c)


def _same_key(a: Any, b: Any) -> bool:
    if isinstance(a, ir.Field) and isinstance(b, ir.Field):
        return a.path == b.path
    return a == b


def _replace_key(node: Any, key: Any, local: Any) -> Any:
    if _same_key(node, key):
        return local
    return map_children(node, lambda c: _replace_key(c, key, local))


def propagate_key_constraints(conditions: list, keys: list[tuple]) -> list:
    """PropagateJoinKeyConstraints: ``conditions[i]`` is query i's condition, ``keys[i]`` its
    positional join keys. Returns the conditions with the other queries' key constraints added."""
    constraints = []  # (source query, key position, conjunct)
    for qi, cond in enumerate(conditions):
        for conj in split_and(cond):
            if _contains_or(conj):
                continue
            for sub in _preorder(conj):
                pos = next((i for i, k in enumerate(keys[qi]) if _same_key(sub, k)), None)
                if pos is not None:
                    constraints.append((qi, pos, conj))
                    break
    if not constraints:
        return conditions
    out = []
    for qi, cond in enumerate(conditions):
        extra = [
            _replace_key(conj, keys[src][pos], keys[qi][pos])
            for src, pos, conj in constraints
            if src != qi and pos < len(keys[qi])
        ]
        if not extra:
            out.append(cond)
        else:
            out.append(ir.And(tuple(split_and(cond) + extra)))
    return out
