"""Rule collections: one EQL event query as several Sigma rules, one per log source.

A Sigma rule has one ``logsource`` (one category, one product, one service). An EQL query can
select several kinds of events at once: ``any where event.category in ("file", "process")``,
``host.os.type in ("linux", "macos")``, or an ``or`` whose branches name different log sources
(``(event.category == "file" and ...) or (event.category == "process" and ...)``, a query that is
an ``or`` at its top). Such a query is the *union* of its branches, and a Sigma collection says
exactly that: one rule per branch, each alerting on its own events (sigma-cli reads a collection
as several files, or several YAML documents in one file).

:func:`branches` distributes the query's top-level conjunction over the conditions that name
log sources (event.category, host.os.type, event.type and the data-source fields of
``mapping.yaml``) -- inside an ``or`` or as a list of several values -- and returns the branches,
each a plain event query for :func:`logsource.select`. Conditions that do not name a log source
are never split: a branch differs from the query only where the query itself said "or".

A branch that requires two different event categories is left out: ECS event.category is an
array, so an event *could* carry both, and leaving the branch out is stated as the assumption
that no event holds two of the categories the query names (with its check).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Optional

from eqlc import ir
from eqlc.events import values as ecs_values
from eqlc.printer import expr as eql_text
from eqlc.result import Refused

from .assumptions import AssumptionLog
from .logsource import fields_of as _fields
from .mapping import Mapping

MAX_BRANCHES = 16


@dataclass(frozen=True)
class Branch:
    query: ir.EventQuery
    label: str  # what sets this branch apart, for titles and ids ("" when the query is one branch)


def _flatten(node: ir.Expr) -> list[ir.Expr]:
    if isinstance(node, ir.And):
        return [x for t in node.terms for x in _flatten(t)]
    if isinstance(node, ir.Boolean) and node.value:
        return []
    return [node]


def _selecting(mapping: Mapping) -> set:
    # event.code too: an `or` whose branches pin different event ids (4738 ... or 5136 ...) is one rule per
    # branch, each reading the fields its own event ids record
    return {mapping.category_field, mapping.os_field, mapping.type_field, mapping.code_field, *mapping.source_fields}


def _exact_list(node: ir.Expr, field: str) -> Optional[tuple[list[str], bool]]:
    """(values, case_insensitive) of a positive condition on ``field`` naming exact values."""
    if isinstance(node, ir.InSet) and isinstance(node.expr, ir.Field) and node.expr.name == field:
        if all(isinstance(v, ir.String) for v in node.values):
            return [v.value for v in node.values], node.case_insensitive  # type: ignore[union-attr]
    if isinstance(node, ir.WildcardMatch) and isinstance(node.expr, ir.Field) and node.expr.name == field:
        if all(p.kind is ir.PatternKind.EXACT for p in node.patterns):
            return [p.text for p in node.patterns], node.case_insensitive
    return None


def _one(field: ir.Field, value: str, ci: bool) -> ir.Expr:
    if ci:
        return ir.InSet(field, (ir.String(value),), True)
    return ir.Compare(ir.CompareOp.EQ, field, ir.String(value))


def _alternatives(node: ir.Expr, mapping: Mapping) -> Optional[list[list[ir.Expr]]]:
    """The alternatives a conjunct splits into (each a list of conjuncts), or None."""
    for fname in (mapping.category_field, mapping.os_field):
        got = _exact_list(node, fname)
        if got and len(dict.fromkeys(got[0])) > 1:
            f = node.expr  # type: ignore[union-attr]
            return [[_one(f, v, got[1])] for v in dict.fromkeys(got[0])]
    if isinstance(node, ir.Or) and _fields(node) & _selecting(mapping):
        return [_flatten(t) for t in node.terms]
    return None


def _category_values(cond: ir.Expr, mapping: Mapping) -> Optional[set]:
    got = _exact_list(cond, mapping.category_field)
    if got:
        return set(got[0])
    if (isinstance(cond, ir.Compare) and cond.op is ir.CompareOp.EQ and isinstance(cond.left, ir.Field)
            and cond.left.name == mapping.category_field and isinstance(cond.right, ir.String)):
        return {cond.right.value}
    return None


def branches(query: ir.EventQuery, mapping: Mapping, log: AssumptionLog) -> list[Branch]:
    """The query as a union of branches, each naming at most one log source."""
    pending: list[list[ir.Expr]] = [_flatten(query.condition)]
    done: list[list[ir.Expr]] = []
    while pending:
        conds = pending.pop(0)
        for i, c in enumerate(conds):
            alts = _alternatives(c, mapping)
            if alts is not None:
                rest = conds[:i] + conds[i + 1:]
                pending[:0] = [rest + alt for alt in alts]
                break
        else:
            done.append(conds)
        if len(done) + len(pending) > MAX_BRANCHES:
            raise Refused(
                f"the query names more than {MAX_BRANCHES} combinations of log sources; a Sigma collection of that many "
                f"rules is not written"
            )
    kept, dropped_cats, unexpected = [], set(), set()
    for conds in done:
        cats = [v for c in conds if (v := _category_values(c, mapping)) is not None]
        common = set.intersection(*cats) if cats else None
        if common is not None and not common:
            dropped_cats |= set().union(*cats)
            continue
        pair = _unexpected_type(conds, common, mapping) if len(done) > 1 else None
        if pair is not None:
            unexpected.add(pair)
            continue
        kept.append(conds)
    if not kept:
        raise Refused("the query's event.category conditions contradict each other")
    if dropped_cats:
        cat_path = tuple(mapping.category_field.split("."))
        names = sorted(dropped_cats)

        def several(event: dict) -> bool:
            return len(set(ecs_values(event, cat_path)) & dropped_cats) > 1

        log.assume(
            f"the query's branches that require two of the event categories {', '.join(names)} at once are left out: "
            f"assumes no event has more than one of them in {mapping.category_field}",
            several,
        )
    if unexpected and kept:
        cat_path = tuple(mapping.category_field.split("."))
        type_path = tuple(mapping.type_field.split("."))

        def unexpected_event(event: dict) -> bool:
            cats, types = set(ecs_values(event, cat_path)), set(ecs_values(event, type_path))
            return any(c in cats and types & set(ts) for c, ts in unexpected)

        said = "; ".join(f"{c} with {mapping.type_field} {' or '.join(sorted(ts))}" for c, ts in sorted(unexpected))
        log.assume(
            f"the query's branches that require an event.type ECS does not expect for their category ({said}; ECS "
            f"schemas/event.yml expected_event_types, mapping.yaml expected_event_types) are left out: assumes no event "
            f"has such a category and type together",
            unexpected_event,
        )
    unique: list[list[ir.Expr]] = []
    for conds in kept:
        if conds not in unique:
            unique.append(conds)
    if len(unique) == 1:
        return [Branch(_query(query, unique[0]), "")]
    return [Branch(_query(query, conds), _label(conds, i, mapping)) for i, conds in enumerate(unique, 1)]


def _unexpected_type(conds: list[ir.Expr], common: Optional[set], mapping: Mapping) -> Optional[tuple[str, tuple[str, ...]]]:
    """(category, types) when the branch requires one category and event types only, none of which ECS
    expects for that category (mapping.yaml expected_event_types); None otherwise."""
    if not common or len(common) != 1:
        return None
    [cat] = common
    expected = mapping.expected_event_types.get(cat)
    if expected is None:
        return None
    for c in conds:
        got = _exact_list(c, mapping.type_field)
        if got is None and isinstance(c, ir.Compare) and c.op is ir.CompareOp.EQ and isinstance(c.left, ir.Field) \
                and c.left.name == mapping.type_field and isinstance(c.right, ir.String):
            got = ([c.right.value], False)
        if got is None:
            continue
        types = {v.lower() if got[1] else v for v in got[0]}
        if not types & set(expected):
            return cat, tuple(sorted(types))
    return None


def _query(query: ir.EventQuery, conds: list[ir.Expr]) -> ir.EventQuery:
    cond = conds[0] if len(conds) == 1 else ir.And(tuple(conds)) if conds else ir.Boolean(True)
    return ir.EventQuery(query.category, cond)


def _label(conds: list[ir.Expr], n: int, mapping: Mapping) -> str:
    for c in conds:
        vals = _category_values(c, mapping)
        if vals and len(vals) == 1:
            return f"{next(iter(vals))} {n}"
    return f"branch {n}"


def describe(conds: ir.Expr) -> str:
    return eql_text(conds)[:120]
