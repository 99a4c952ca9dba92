"""Choosing the Sigma log source of an event query, and the conditions it stands for.

A Sigma rule states *what kind of event* in its ``logsource`` (category ``process_creation``,
product ``linux``), where an EQL query states it as conditions (``process where host.os.type ==
"linux" and event.type == "start" and event.action in (...)``). Top-level positive conditions on the
event category, ``event.type``, ``host.os.type`` and the data-source fields of ``mapping.yaml``
(``event.action``...) are therefore moved into the log source -- always stated as an assumption
("the log source holds exactly the ECS events matching them"), with a check comparing, event by
event, those EQL conditions with the adapter's log-source membership. Anything else about those
fields (inside ``or``, negated host.os.type) is refused by the converter.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional

from eqlc import ir
from eqlc.events import split_path
from eqlc.printer import expr as eql_text
from eqlc.result import Refused
from eqlc.rule import Rule

from . import adapter
from .assumptions import AssumptionLog
from .esval import evaluate
from .mapping import LogSource, Mapping


@dataclass
class Selection:
    logsource: LogSource
    product: Optional[str]
    remaining: list[ir.Expr]
    absorbed: list[ir.Expr] = field(default_factory=list)
    type_field: str = "event.type"

    @property
    def sigma_logsource(self) -> dict:
        out = dict(self.logsource.sigma)
        if self.product:
            out["product"] = self.product
        return out


def conjuncts(node: ir.Expr) -> list[ir.Expr]:
    return list(node.terms) if isinstance(node, ir.And) else [node]


def fields_of(node: object, out: Optional[set] = None) -> set:
    out = set() if out is None else out
    if isinstance(node, ir.Field):
        out.add(node.name)
        return out
    for name in getattr(node, "__dataclass_fields__", {}):
        v = getattr(node, name)
        for x in v if isinstance(v, tuple) else (v,):
            if hasattr(x, "__dataclass_fields__"):
                fields_of(x, out)
    return out


def _positive(node: ir.Expr) -> bool:
    if isinstance(node, ir.Compare):
        return node.op is ir.CompareOp.EQ and isinstance(node.left, ir.Field) and isinstance(node.right, ir.String)
    if isinstance(node, ir.InSet):
        return isinstance(node.expr, ir.Field) and all(isinstance(v, ir.String) for v in node.values)
    if isinstance(node, ir.WildcardMatch):
        return isinstance(node.expr, ir.Field)
    return False


def _exact_values(node: ir.Expr) -> Optional[list[str]]:
    """The literal values a positive condition accepts, if it names them exactly."""
    if isinstance(node, ir.Compare):
        return [node.right.value]  # type: ignore[union-attr]
    if isinstance(node, ir.InSet):
        return [v.value for v in node.values]  # type: ignore[union-attr]
    if isinstance(node, ir.WildcardMatch) and all(p.kind is ir.PatternKind.EXACT for p in node.patterns):
        return [p.text for p in node.patterns]
    return None


def _category_of_any(conds: list[ir.Expr], mapping: Mapping) -> tuple[str, ir.Expr]:
    for c in conds:
        if fields_of(c) == {mapping.category_field} and _positive(c):
            vals = _exact_values(c)
            if vals and len(set(vals)) == 1:
                return vals[0], c
    raise Refused(
        "an `any where` query is translated only with a top-level condition naming one event.category "
        "(a Sigma rule has one log source)"
    )


def _product(os_conds: list[ir.Expr], rule: Rule, mapping: Mapping) -> tuple[Optional[str], bool]:
    """(product, from_tag)."""
    products: set[str] = set()
    for c in os_conds:
        vals = _exact_values(c) if _positive(c) else None
        if not vals:
            raise Refused(f"`{eql_text(c)}`: only a positive host.os.type condition naming OS values selects a Sigma product")
        ci = getattr(c, "case_insensitive", False)
        named = set()
        for v in vals:
            p = mapping.products.get(v)
            if p is None and ci:
                p = next((mapping.products[k] for k in mapping.products if k.lower() == v.lower()), None)
            if p is None:
                raise Refused(f"`{eql_text(c)}`: host.os.type {v!r} has no Sigma product in the mapping", c)
            named.add(p)
        if len(named) > 1:
            raise Refused(f"`{eql_text(c)}` names several OS products; a Sigma rule has one log source product", c)
        products = named if not products else products & named
        if not products:
            raise Refused("the host.os.type conditions contradict each other")
    if products:
        return next(iter(products)), False
    tagged = {mapping.products.get(t) for t in rule.os_types} - {None}
    if len(tagged) == 1:
        return next(iter(tagged)), True
    return None, False


def _implied_event_types(source_conds: list[ir.Expr], mapping: Mapping) -> Optional[set[str]]:
    """The ECS event.type values that the query's positive event.action conditions imply, when
    every value they accept has a known type (``action_event_types``); None when unknown."""
    out: Optional[set[str]] = None
    for c in source_conds:
        if fields_of(c) != {"event.action"} or getattr(c, "case_insensitive", False):
            continue
        vals = _exact_values(c)
        if not vals or any(v not in mapping.action_event_types for v in vals):
            continue
        types = {mapping.action_event_types[v] for v in vals}
        out = types if out is None else out & types
    return out


def select(query: ir.EventQuery, rule: Rule, mapping: Mapping, log: AssumptionLog) -> Selection:
    """The log source of ``query`` and the conditions left for the detection."""
    if rule.event_category_override:
        raise Refused(
            f"the rule overrides the event category field ({rule.event_category_override}); "
            "its categories are not ECS event.category values"
        )
    conds = [c for c in conjuncts(query.condition) if not (isinstance(c, ir.Boolean) and c.value)]
    absorbed: list[ir.Expr] = []
    category = query.category
    if category is None:
        category, cat_cond = _category_of_any(conds, mapping)
        absorbed.append(cat_cond)
        conds = [c for c in conds if c is not cat_cond]
    os_conds, type_conds, source_conds, remaining = [], [], [], []
    for c in conds:
        fs = fields_of(c)
        if fs == {mapping.os_field}:
            os_conds.append(c)
        elif fs == {mapping.type_field}:
            type_conds.append(c)
        elif len(fs) == 1 and next(iter(fs)) in mapping.source_fields and _positive(c):
            source_conds.append(c)
        else:
            remaining.append(c)
    product, from_tag = _product(os_conds, rule, mapping)
    candidates = [ls for ls in mapping.for_category(category) if product is None or product in ls.products]
    if not candidates:
        raise Refused(
            f"no Sigma log source in the mapping holds ECS {category!r} events"
            + (f" for product {product}" if product else "")
        )

    implied = _implied_event_types(source_conds, mapping)

    def admits(ls: LogSource) -> bool:
        if ls.event_types is None:
            return True
        if implied is not None and not implied & set(ls.event_types):
            return False
        if not type_conds:
            return True
        return any(all(evaluate(c, {"event": {"type": [t]}}) for c in type_conds) for t in ls.event_types)

    try:
        admitted = [ls for ls in candidates if admits(ls)]
    except NotImplementedError:
        raise Refused(f"the event.type condition `{eql_text(type_conds[0])}` is not translated") from None
    if not admitted and implied is not None and not type_conds:
        shown = " and ".join(f"`{eql_text(c)}`" for c in source_conds if fields_of(c) == {"event.action"})
        raise Refused(
            f"{shown} names ECS event.type {' or '.join(sorted(implied))} events, and no Sigma log source in the "
            f"mapping holds ECS {category!r} events of that type" + (f" for product {product}" if product else "")
            + " (action_event_types, targets/sigma/mapping.yaml)")
    if not admitted:
        shown = " and ".join(f"`{eql_text(c)}`" for c in type_conds)
        raise Refused(f"no Sigma log source in the mapping holds ECS {category!r} events with {shown}")
    ls = admitted[0]
    if not remaining:
        raise Refused("once the log source states the event kind, no condition is left for the Sigma detection")
    absorbed += os_conds + type_conds + source_conds
    sel = Selection(ls, product, remaining, absorbed, mapping.type_field)
    _assume(sel, category, type_conds, from_tag, log, mapping, query)
    return sel


def _assume(sel: Selection, category: str, type_conds: list, from_tag: bool, log: AssumptionLog, mapping: Mapping, query: ir.EventQuery) -> None:
    ls, product = sel.logsource, sel.product
    sigma = ", ".join(f"{k}: {v}" for k, v in sel.sigma_logsource.items())
    stated = [f'event.category == "{category}"'] + [eql_text(c) for c in sel.absorbed]
    holds = f'ECS "{category}" events' + (f" with event.type {' or '.join(ls.event_types)}" if ls.event_types else "")
    if product:
        os_value = next(k for k, v in mapping.products.items() if v == product)
        holds += f' and host.os.type "{os_value}"'
    text = (
        f"Sigma log source `{sigma}` stands for `{'` and `'.join(stated)}`: assumes the events satisfying these "
        f"conditions are exactly the events of that log source, which eqlc's mapping takes to be {holds}"
    )
    if ls.event_types and not type_conds:
        text += f"; the query does not restrict event.type, the log source holds only event.type {' or '.join(ls.event_types)}"
    if from_tag:
        text += f"; product {product} comes from the rule's OS tag, the query does not test host.os.type"
    cat_cond = ir.Compare(ir.CompareOp.EQ, ir.Field(split_path(mapping.category_field)), ir.String(category))
    eql_side = [cat_cond] + [c for c in sel.absorbed]

    def violated(event: dict) -> bool:
        return all(evaluate(c, event) for c in eql_side) != adapter.member(event, ls, product, mapping)

    log.assume(text, violated)
