"""Choosing the Sigma log source of an event query, and the conditions it stands for.

A Sigma rule states *what kind of event* in its ``logsource`` (category ``process_creation``,
product ``linux``; product ``aws``, service ``cloudtrail``), where an EQL query states it as
conditions (``process where host.os.type == "linux" and event.type == "start" and event.action in
(...)``; ``any where data_stream.dataset == "aws.cloudtrail"``). The log source is chosen from the
query's top-level positive conditions on the event category, ``event.type``, ``host.os.type``, the
data set fields, ``event.code`` and the other data-source fields of ``mapping.yaml``. Those the
chosen log source does not record as fields (the category of an endpoint event, its type, its OS)
are moved into the log source -- always stated as an assumption ("the log source holds exactly the
ECS events matching them"), with a check comparing, event by event, those EQL conditions with the
adapter's log-source membership. Those it does record (``event.code`` is the Windows Security
log's ``EventID``, ``event.action`` is GitHub's ``action``) stay in the detection.

A query that names no OS for an OS-based log source is written once per product it covers (its
OS tags, else the log source's products), as SigmaHQ's known log sources have one product each.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Optional

from eqlc import ir
from eqlc.events import split_path, values
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
    codes: Optional[tuple[str, ...]] = None  # the event ids the query pins (event.code / event.action)

    @property
    def sigma_logsource(self) -> dict:
        out = dict(self.logsource.sigma)
        if self.product and "product" not in out:
            out["product"] = self.product
        return {k: out[k] for k in ("category", "product", "service") if k in out}


def conjuncts(node: ir.Expr) -> list[ir.Expr]:
    return list(node.terms) if isinstance(node, ir.And) else [node]


def fields_of(node: object, out: Optional[set] = None) -> set:
    """Every field name an IR node reads (the log-source selection here and the collection split
    of :mod:`.split` both ask which conditions name log-source fields)."""
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


def _pinned(conds: list[ir.Expr]) -> Optional[set[str]]:
    """The values the positive exact conditions ``conds`` (on one field) allow, or None."""
    out: Optional[set[str]] = None
    for c in conds:
        vals = _exact_values(c) if _positive(c) else None
        if vals is None:
            return None
        if getattr(c, "case_insensitive", False) and any(v.lower() != v.upper() for v in vals):
            return None  # folding changes which values match (event ids are digits: it does not)
        out = set(vals) if out is None else out & set(vals)
    return out


def _os_products(os_conds: list[ir.Expr], mapping: Mapping) -> Optional[str]:
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
    return next(iter(products)) if products else None


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


@dataclass
class _Query:
    """A query's top-level conditions, sorted by what they say about the log source."""

    category: Optional[str]
    cat_conds: list
    os_conds: list
    type_conds: list
    dataset_conds: list
    code_conds: list
    source_conds: list  # other positive data-source conditions (event.action, event.module...)
    negated_source: list  # `not` of a data-source condition (event.action != "deletion")
    other: list
    from_index: tuple = ()  # an `any where` query's category read from the rule's index patterns


def _classify(query: ir.EventQuery, mapping: Mapping) -> _Query:
    conds = [c for c in conjuncts(query.condition) if not (isinstance(c, ir.Boolean) and c.value)]
    q = _Query(query.category, [], [], [], [], [], [], [], [])
    sources = set(mapping.source_fields) | set(mapping.dataset_fields) | {mapping.code_field}
    for c in conds:
        fs = fields_of(c)
        name = next(iter(fs)) if len(fs) == 1 else None
        if name == mapping.category_field and _positive(c):
            q.cat_conds.append(c)
        elif name == mapping.os_field:
            q.os_conds.append(c)
        elif name == mapping.type_field:
            q.type_conds.append(c)
        elif name in mapping.dataset_fields and _positive(c):
            q.dataset_conds.append(c)
        elif name == mapping.code_field and _positive(c):
            q.code_conds.append(c)
        elif name in sources and _positive(c):
            q.source_conds.append(c)
        elif name in sources and isinstance(c, ir.Not) and _positive(c.expr):
            q.negated_source.append(c)
        else:
            q.other.append(c)
    if q.category is None:
        cats = None
        for c in q.cat_conds:
            vals = _exact_values(c)
            cats = set(vals or ()) if cats is None else cats & set(vals or ())
        if cats is not None and len(cats) == 1:
            q.category = next(iter(cats))
        elif q.cat_conds:
            raise Refused(
                "an `any where` query is translated only with a top-level condition naming one event.category "
                "(a Sigma rule has one log source)"
            )
    else:
        q.other += q.cat_conds
        q.cat_conds = []
    return q


def _codes(q: _Query, ls: LogSource, mapping: Mapping) -> Optional[set[str]]:
    """The values the query pins for ``ls``'s key field (``key`` in mapping.yaml, event.code by
    default: the event ids of the Windows Security log; CloudTrail's eventName): the key field's own
    values, else those its event.action values name in ``ls``'s value map."""
    key = ls.key or mapping.code_field
    own = [c for c in q.code_conds + q.source_conds + q.other
           if _positive(c) and fields_of(c) == {key}]
    pinned = _pinned(own) if own else None
    if pinned is not None:
        return pinned
    if own and ls.key and ls.codes:
        # a pattern on a log source's own key field (`event.action like "Image loaded*"`): the values it
        # lists that the pattern selects, as Elasticsearch decides it on an event holding each
        path = split_path(key)
        got = {str(v) for v in ls.codes}
        for c in own:
            try:
                got &= {v for v in got if evaluate(c, _with_value(path, v))}
            except NotImplementedError:
                return None
        return got or None
    for c in q.source_conds:
        (name,) = fields_of(c)
        for col, specs in ls.column_sources(None, mapping.separators).items():
            if not any(s.ecs == key for s in specs):
                continue
            for s in specs:
                if s.ecs == name and s.value_map is not None:
                    vals = _exact_values(c)
                    if vals is None:
                        continue
                    vmap = s.value_map
                    if getattr(c, "case_insensitive", False):
                        # `:` folds case: every mapped value equal to one of them but for case (the map
                        # writes each id's one action, so this is the ids whose action the test accepts)
                        low = {v.lower() for v in vals}
                        return {str(i) for k, ids in vmap.items() if k.lower() in low for i in ids}
                    return {str(i) for v in vals for i in vmap.get(v, ())}
    return None


def _with_value(path: tuple, value: str) -> dict:
    out: dict = {}
    node = out
    for p in path[:-1]:
        node = node.setdefault(p, {})
    node[path[-1]] = value
    return out


def _admits(ls: LogSource, q: _Query, product: Optional[str], mapping: Mapping) -> bool:
    if ls.datasets is not None:
        pinned = _pinned(q.dataset_conds)
        if not pinned or not pinned <= set(ls.datasets):
            return False
    else:
        # an endpoint log source holds the events of endpoint agents only (mapping.yaml endpoint_sources):
        # a query pinning its data set or module to anything else (a firewall, file integrity monitoring)
        # is about events no endpoint log source stands for
        for conds in (q.dataset_conds, [c for c in q.source_conds if fields_of(c) == {"event.module"}]):
            if not conds:
                continue
            pinned = _pinned(conds)
            if pinned is None or not pinned <= set(mapping.endpoint_sources):
                return False
    if ls.codes is not None:
        codes = _codes(q, ls, mapping)
        if not codes or not codes <= set(ls.codes):
            return False
    elif q.code_conds and ls.field(mapping.code_field, product, mapping.separators) is None:
        # event ids select another log source (the Windows Security log, a Sysmon event)
        if any(other.codes and (_codes(q, other, mapping) or set()) & set(other.codes)
               for other in mapping.logsources.values()):
            return False
    if ls.category is not None:
        if q.category is None:
            if ls.codes is None and ls.datasets is None:
                return False
        elif q.category != ls.category:
            return False
    elif q.category is not None and ls.datasets is None and ls.codes is None:
        return False
    if ls.products:
        if product is not None and product not in ls.products:
            return False
    elif product is not None or q.os_conds:
        return False
    return True


def _absorbable(c: ir.Expr, ls: LogSource, product: Optional[str], mapping: Mapping, codes) -> bool:
    """Does ``c`` (a data-source condition) go into the log source (True) or the detection?"""
    (name,) = fields_of(c)
    return ls.field(name, product, mapping.separators, codes) is None


def candidates(query: ir.EventQuery, rule: Rule, mapping: Mapping) -> tuple[_Query, Optional[str], bool, list[LogSource]]:
    """(classified query, product, product-from-tag, admitted log sources, most specific first)."""
    if rule.event_category_override and rule.event_category_override != mapping.category_field and query.category is not None:
        # emit.with_category_field rewrites an event query's category into a test of the override field;
        # a sequence term's category stays unread
        raise Refused(
            f"the rule overrides the event category field ({rule.event_category_override}) in a sequence; "
            "its terms' categories are not ECS event.category values"
        )
    q = _classify(query, mapping)
    if q.category is None and not q.cat_conds and rule.index:
        _category_from_index(q, rule, mapping)
    product = _os_products(q.os_conds, mapping)
    from_tag = False
    if product is None and not q.os_conds:
        tagged = {mapping.products.get(t) for t in rule.os_types} - {None}
        if len(tagged) == 1:
            product, from_tag = next(iter(tagged)), True
    admitted = [ls for ls in mapping.logsources.values() if _admits(ls, q, product, mapping)]
    # a source named by the query's data set or event ids before one named by its category only
    admitted.sort(key=lambda ls: (ls.datasets is None and ls.codes is None,))
    return q, product, from_tag, admitted


def _category_from_index(q: _Query, rule: Rule, mapping: Mapping) -> None:
    """An `any where` query of a rule whose index patterns are all those of one log source (mapping.yaml
    ``indices``: the Elastic data streams ``logs-<data set>-*`` whose pipelines give every event that log
    source's category) reads that log source's events, as `<category> where` would; stated with its check
    in :func:`_assume`."""
    for ls in mapping.logsources.values():
        if ls.indices and ls.category and set(rule.index) <= set(ls.indices):
            q.category, q.from_index = ls.category, tuple(rule.index)
            return


def products_to_split(query: ir.EventQuery, rule: Rule, mapping: Mapping) -> list[str]:
    """The products a query that names none is written for, one Sigma rule each (empty when the
    query names its product, or its log source has no OS products)."""
    try:
        q, product, _tag, admitted = candidates(query, rule, mapping)
    except Refused:
        return []
    if product is not None or q.os_conds or not admitted:
        return []
    ls = admitted[0]
    if not ls.products:
        return []
    tagged = [mapping.products[t] for t in rule.os_types if t in mapping.products]
    return [p for p in ls.products if p in tagged] if tagged else list(ls.products)


def select(query: ir.EventQuery, rule: Rule, mapping: Mapping, log: AssumptionLog,
           split: Optional[tuple[str, tuple[str, ...]]] = None) -> Selection:
    """The log source of ``query`` and the conditions left for the detection. ``split`` =
    (product, all products) when a query naming no OS is written once per product."""
    q, product, from_tag, admitted = candidates(query, rule, mapping)
    if split is not None:
        product = split[0]
        admitted = [ls for ls in admitted if not ls.products or product in ls.products]
    implied = _implied_event_types(q.source_conds, mapping)

    def admits_type(ls: LogSource) -> bool:
        if ls.event_types is None:
            return True
        if implied is not None and not implied & set(ls.event_types):
            return False
        if not q.type_conds:
            return True
        return any(all(evaluate(c, {"event": {"type": [t]}}) for c in q.type_conds) for t in ls.event_types)

    try:
        typed = [ls for ls in admitted if admits_type(ls)]
    except NotImplementedError:
        raise Refused(f"the event.type condition `{eql_text(q.type_conds[0])}` is not translated") from None
    where = f"ECS {q.category!r} events" if q.category else "the query's events"
    if not admitted:
        outside = outside_taxonomy(query, mapping)
        if outside:
            raise Refused(outside)
        alerts = sorted(f for f in fields_of(query.condition) if f.startswith(("signal.", "kibana.alert.")))
        note = (f" (Elastic Security alert documents: {alerts[0]})" if alerts else _data_source_note(q))
        raise Refused(f"no Sigma log source in the mapping holds {where}" + (f" for product {product}" if product else "")
                      + note)
    if not typed and implied is not None and not q.type_conds:
        shown = " and ".join(f"`{eql_text(c)}`" for c in q.source_conds if fields_of(c) == {"event.action"})
        raise Refused(
            f"{shown} names ECS event.type {' or '.join(sorted(implied))} events, and no Sigma log source in the "
            f"mapping holds {where} of that type" + (f" for product {product}" if product else "")
            + " (action_event_types, targets/sigma/mapping.yaml)")
    if not typed:
        shown = " and ".join(f"`{eql_text(c)}`" for c in q.type_conds)
        raise Refused(f"no Sigma log source in the mapping holds {where} with {shown}")
    ls = _best(typed, q, product, mapping)
    codes = _codes(q, ls, mapping)
    codes_t = tuple(sorted(codes)) if codes else None
    remaining = list(q.other)
    absorbed: list[ir.Expr] = list(q.os_conds)
    category_cond = None
    if q.category and not q.cat_conds and ls.field(mapping.category_field, product, mapping.separators, codes_t):
        # the log source records the category (the Security log's event ids): a detection condition
        category_cond = ir.Compare(ir.CompareOp.EQ, ir.Field(split_path(mapping.category_field)), ir.String(q.category))
        remaining.append(category_cond)
    for c in q.cat_conds:
        (absorbed if _absorbable(c, ls, product, mapping, codes_t) else remaining).append(c)
    for c in q.type_conds:
        (absorbed if _absorbable(c, ls, product, mapping, codes_t) else remaining).append(c)
    for c in q.dataset_conds:
        (absorbed if _absorbable(c, ls, product, mapping, codes_t) else remaining).append(c)
    for c in q.code_conds + q.source_conds + q.negated_source:
        (absorbed if _absorbable(c, ls, product, mapping, codes_t) else remaining).append(c)
    if not remaining:  # the log source says it all: the detection holds for each of its events
        remaining = [ir.Boolean(True)]
    sel = Selection(ls, product if ls.products else None, remaining, absorbed, mapping.type_field, codes_t)
    _assume(sel, q, from_tag, split, log, mapping, category_cond is not None)
    return sel


def outside_taxonomy(query: ir.EventQuery, mapping: Mapping) -> Optional[str]:
    """Why no Sigma taxonomy log source holds ``query``'s events, when it pins a data set (or, by a
    field's value, records of one) listed in mapping.yaml ``no_log_source``; None otherwise. A sequence
    asks this of every step before translating any, so that such a step is the reason given."""
    try:
        q = _classify(query, mapping)
    except Refused:
        return None
    # the data sets the query reads (a case-insensitive `:` too: data set names are lower case), any of
    # which no log source holds makes the events it needs unwritable
    pinned: Optional[set[str]] = None
    for c in q.dataset_conds:
        vals = {v.lower() for v in (_exact_values(c) if _positive(c) else None) or ()}
        pinned = vals if pinned is None else pinned & vals
    for ds in sorted(pinned or ()):
        entry = mapping.no_log_source.get(ds)
        if not entry:
            continue
        if entry.get("reason"):
            return f"no Sigma taxonomy log source holds data set {ds}: {entry['reason']}"
        for pattern, why in (entry.get("fields") or {}).items():
            hit = sorted(f for f in fields_of(query.condition) if re.match(pattern, f))
            if hit:
                return f"no Sigma field holds {hit[0]} (data set {ds}): {why}"
        values = entry.get("values") or {}
        for c in q.other:
            if fields_of(c) != {entry.get("field")}:
                continue
            vals = _pinned([c])
            if vals and all(v in values for v in vals):
                v = sorted(vals)[0]
                return (f"no Sigma taxonomy log source holds data set {ds} with `{eql_text(c)}`: {values[v]}")
    return None


def _data_source_note(q: _Query) -> str:
    """`` (data set X)`` / `` (module X)`` when the query pins where its events come from: a refusal
    for want of a log source then says which source (a firewall's, a cloud service's) it is about."""
    for label, conds in (("data set", q.dataset_conds),
                         ("module", [c for c in q.source_conds if fields_of(c) == {"event.module"}])):
        pinned = _pinned(conds) if conds else None
        if pinned:
            return f" ({label} {', '.join(sorted(pinned))})"
    return ""


def _best(typed: list[LogSource], q: _Query, product: Optional[str], mapping: Mapping) -> LogSource:
    """The first admitted log source that records every field the detection reads (a DNS query
    reads dns.question.name, which network connection events do not have), else the first."""
    needed = set()
    for c in q.other:
        needed |= fields_of(c)

    def tests_positively(field: str) -> bool:
        for c in q.other:
            if fields_of(c) != {field}:
                continue
            if isinstance(c, ir.Not):
                if isinstance(c.expr, ir.IsNull):
                    return True
                continue
            if not isinstance(c, ir.IsNull) and not (isinstance(c, ir.Compare) and c.op is ir.CompareOp.NE):
                return True
        return False

    # a query that requires the field defining a log source's events (a DNS question) is about those events
    for ls in typed:
        if ls.requires and all(tests_positively(f) for f in ls.requires):
            return ls
    for ls in typed:
        if all(ls.field(n, product, mapping.separators, None) is not None or ls.alternatives(n) for n in needed):
            return ls
    return typed[0]


def _assume(sel: Selection, q: _Query, from_tag: bool, split: Optional[tuple[str, tuple[str, ...]]],
            log: AssumptionLog, mapping: Mapping, category_detected: bool = False) -> None:
    ls, product = sel.logsource, sel.product
    sigma = ", ".join(f"{k}: {v}" for k, v in sel.sigma_logsource.items())
    category = None if category_detected else q.category
    stated = ([f'event.category == "{category}"'] if category and not q.cat_conds else []) + [eql_text(c) for c in sel.absorbed]
    if ls.datasets:
        holds = f"events of data set {' or '.join(ls.datasets)}"
    elif ls.codes:
        holds = f"events whose {ls.key or mapping.code_field} is one of the {len(ls.codes)} {'values' if ls.key else 'event ids'} it lists"
    else:
        holds = f'ECS "{ls.category}" events'
    if ls.category and (ls.datasets or ls.codes):
        holds = f'ECS "{ls.category}" ' + holds
    if ls.event_types:
        holds += f" with event.type {' or '.join(ls.event_types)}"
    members = split[1] if split else product
    if ls.products and product:
        os_values = [k for k, v in mapping.products.items() if v in ((product,) if not split else split[1])]
        holds += f' and host.os.type {" or ".join(repr(v) for v in os_values)}'
    text = (
        f"Sigma log source `{sigma}` stands for `{'` and `'.join(stated) or 'every event'}`: assumes the events "
        f"satisfying these conditions are exactly the events of that log source, which eqlc's mapping takes to be {holds}"
    )
    if ls.event_types and not q.type_conds:
        text += f"; the query does not restrict event.type, the log source holds only event.type {' or '.join(ls.event_types)}"
    if from_tag:
        text += f"; product {product} comes from the rule's OS tag, the query does not test host.os.type"
    if split:
        text += (f"; the query does not test host.os.type, so it is written once per product it covers "
                 f"({', '.join(split[1])})")
    if q.from_index:
        cat_path = split_path(mapping.category_field)

        def outside_index(event: dict, cat=ls.category) -> bool:
            return cat not in values(event, cat_path)

        log.assume(
            f"the query is `any where`; the rule searches {', '.join(q.from_index)} only, the data streams of "
            f"log source `{sigma}`: assumes its events are ECS \"{ls.category}\" events, as the pipelines of "
            f"those data sets make them (targets/sigma/mapping.yaml `indices`)",
            outside_index,
        )
    eql_side = ([ir.Compare(ir.CompareOp.EQ, ir.Field(split_path(mapping.category_field)), ir.String(category))]
                if category and not q.cat_conds else []) + list(sel.absorbed)

    def violated(event: dict) -> bool:
        return all(evaluate(c, event) for c in eql_side) != adapter.member(event, ls, members if ls.products else None, mapping)

    log.assume(text, violated)


def pinned_by_keys(query: ir.EventQuery, keys: list, rule: Rule, mapping: Mapping, log: AssumptionLog) -> ir.EventQuery:
    """A sequence step that pins no event ids, joined on fields that no log source admitting it records
    but an event-id log source does (``[process where event.type == "start"] by
    winlog.event_data.TargetLogonId``: a key of the Security log's EventData, which Sysmon's process
    starts lack, so only the Security log's process starts can join): the step with the ids of that log
    source whose ECS category and type, by its value maps (the pipeline's categorization table), meet the
    step's category and type conditions, stated with a check that sets apart an event of the step's
    category carrying the keys under another id. ``query`` itself when no such log source exists."""
    names = [k.name for k in keys if isinstance(k, ir.Field)]
    if len(names) != len(keys) or not names:
        return query
    try:
        q, product, _tag, admitted = candidates(query, rule, mapping)
    except Refused:
        return query
    if q.code_conds or q.category is None or not admitted:
        return query
    seps = mapping.separators

    def records(ls: LogSource, codes: Optional[tuple[str, ...]] = None) -> bool:
        return all(ls.field(n, product, seps, codes) is not None for n in names)

    if any(ls.codes for ls in admitted) or any(records(ls) for ls in admitted):
        return query  # the step selects its ids already, or a log source admitting it records its keys
    unrecorded = [n for n in names if not any(ls.field(n, product, seps) is not None for ls in admitted)]
    for ls in mapping.logsources.values():
        if not ls.codes or (ls.products and product not in ls.products):
            continue
        # a key only this log's own raw fields hold (its `prefixes`: the Windows event log's EventData),
        # not an ECS field every producer writes (user.id), is what sets its events apart
        if not any(n not in ls.fields and any(n.startswith(p) for p in ls.prefixes) for n in unrecorded):
            continue
        cat, typ = ls.field(mapping.category_field, product, seps), ls.field(mapping.type_field, product, seps)
        if cat is None or cat.value_map is None or typ is None or typ.value_map is None:
            continue
        ids = []
        for code in (str(c) for c in ls.codes):
            facts = {"event": {"category": [k for k, v in cat.value_map.items() if code in {str(x) for x in v}],
                               "type": [k for k, v in typ.value_map.items() if code in {str(x) for x in v}]}}
            try:
                if q.category in facts["event"]["category"] and all(evaluate(c, facts) for c in q.type_conds):
                    ids.append(code)
            except NotImplementedError:
                return query
        if not ids or not records(ls, tuple(ids)):
            continue
        key_paths = [tuple(split_path(n)) for n in names]
        code_path = tuple(split_path(mapping.code_field))
        cat_path = tuple(split_path(mapping.category_field))

        def violated(event: dict, ids=frozenset(ids)) -> bool:
            from eqlc.events import values as ecs_values

            if q.category not in [v for v in ecs_values(event, cat_path) if isinstance(v, str)]:
                return False
            if not all(ecs_values(event, p) for p in key_paths):
                return False
            try:
                if not all(evaluate(c, event) for c in q.type_conds + q.os_conds):
                    return False
            except NotImplementedError:
                return True
            return not {str(v) for v in ecs_values(event, code_path)} & ids

        log.assume(
            f"the sequence step `{query.category or 'any'} where {eql_text(query.condition)[:100]}` joins on {', '.join(names)}, which of the Sigma log sources only "
            f"{'/'.join(str(v) for v in ls.sigma.values() if v)} records, so its events are read as those of event ids "
            f"{', '.join(ids)} (the ids the log source's categorization gives ECS {q.category!r} events meeting the step's "
            f"event.type): assumes no other {q.category!r} event of the step carries those keys",
            violated,
        )
        pin = ir.InSet(ir.Field(tuple(split_path(mapping.code_field))), tuple(ir.String(i) for i in ids))
        terms = query.condition.terms if isinstance(query.condition, ir.And) else (query.condition,)
        return ir.EventQuery(query.category, ir.And(tuple(terms) + (pin,)))
    return query
