"""Rule (IR) -> SPL text for single-event queries; sequences live in :mod:`.sequence`.

Shape of the output::

    index=ecs sourcetype IN (...) <exact search terms> <prefilter terms>
    | where <exact where-conditions>

The top-level conjunction is split: a conjunct with an exact search form goes to the search
command; every other conjunct goes to ``where`` (exact), and its superset search term, if it has
one, also goes to the search command so that Splunk can use its index. ``search`` evaluates OR
before AND and ``where`` AND before OR, so every compound operand is parenthesised.
"""

from __future__ import annotations

from typing import Optional

from eqlc import ir
from eqlc.result import Notes, Refused
from eqlc.rule import Rule

from .conditions import Cond, ConditionBuilder
from .profile import Profile


def category_condition(rule: Rule, category: Optional[str], profile: Profile) -> Optional[ir.Expr]:
    """``process where`` means ``event.category == "process"`` (a case-sensitive term query), or
    the rule's ``event_category_override`` field; ``any`` adds nothing. In the cim profile the
    category picks the data model dataset instead (see :func:`dataset_terms`)."""
    if category is None or profile.is_cim:
        return None
    fname = rule.event_category_override or "event.category"
    return ir.Compare(ir.CompareOp.EQ, ir.Field(tuple(fname.split("."))), ir.String(category))


def dataset_terms(profile: Profile, category: Optional[str]) -> str:
    if not profile.is_cim:
        return ""
    ds = profile.dataset(category)
    return " ".join(f"tag={t}" for t in ds.tags)


def conjuncts(c: Cond, e: ir.Expr, builder: ConditionBuilder) -> list[Cond]:
    if isinstance(e, ir.And):
        return [builder.build(t) for t in e.terms]
    return [c]


def fold_note(fields: set[str]) -> str:
    return ("case-insensitive search terms on " + ", ".join(sorted(fields)) + " rely on Splunk's search folding only ASCII "
            "letters, as Elasticsearch does; Splunk does not document its non-ASCII folding, so values containing U+0130/U+0131 "
            "(dotted/dotless I), U+212A (Kelvin sign) or U+017F (long s) could match 'i', 'k' or 's' here "
            "(set options.case_insensitive: regex for an exact form)")


def top_conjuncts(e: ir.Expr) -> list[ir.Expr]:
    """The top-level conjuncts, with ``not (a or b)`` rewritten as ``not a and not b``.

    The rewrite is exact here: every where-atom is TRUE or FALSE (never NULL) and search terms are
    two-valued, so De Morgan's law holds; it lets each negated part take its own best form.
    """
    if isinstance(e, ir.And):
        return [x for t in e.terms for x in top_conjuncts(t)]
    if isinstance(e, ir.Not) and isinstance(e.expr, ir.Or):
        return [x for t in e.expr.terms for x in top_conjuncts(ir.Not(t))]
    if isinstance(e, ir.Not) and isinstance(e.expr, ir.Not):
        return top_conjuncts(e.expr.expr)
    return [e]


def split_condition(rule: Rule, query: ir.EventQuery, profile: Profile, notes: Notes) -> tuple[list[str], list[str]]:
    """Search terms and where-conditions (each exact together) for one event query."""
    builder = ConditionBuilder(profile, query.category)
    cat = category_condition(rule, query.category, profile)
    parts: list[ir.Expr] = []
    if cat is not None:
        parts.append(cat)
    parts.extend(top_conjuncts(query.condition))
    search: list[str] = []
    where: list[str] = []
    fold: set[str] = set()
    for e in parts:
        c = builder.build(e)
        if c.where == "true()":
            continue
        for n in c.notes:
            notes.assume(n)
        if c.search is not None:
            search.append(c.search if c.atomic_search else f"({c.search})")
            fold |= set(c.search_ci_fields)
        else:
            where.append(c.where if c.atomic_where else f"({c.where})")
            if c.prefilter:
                search.append(c.prefilter)
                fold |= set(c.search_ci_fields)
    if fold:
        notes.assume(fold_note(fold))
    for n in builder.notes:
        notes.assume(n)
    return search, where


def event_query(rule: Rule, query: ir.EventQuery, profile: Profile, notes: Notes) -> str:
    search, where = split_condition(rule, query, profile, notes)
    head = " ".join(t for t in [profile.scope_terms(rule.index), dataset_terms(profile, query.category)] if t)
    lines = [" ".join([head] + search)]
    if where:
        lines.append("| where " + " AND ".join(where))
    return "\n".join(lines)


def check_query(q: ir.Query) -> None:
    if q.pipes:
        names = ", ".join(p.name for p in q.pipes)
        raise Refused(f"pipes ({names}) are not translated: Elasticsearch returns the earliest/latest N matches of the whole search window, which a scheduled Splunk alert cannot reproduce exactly")


TSTATS_NOTE = ("the tstats form ({file}) assumes that a tstats WHERE clause matches data model fields as the search command "
               "matches fields (tstats documents WHERE <search-query>): values case-insensitively, a multivalue field when any "
               "value matches, NOT also for events without the field")


def tstats_query(rule: Rule, query: ir.EventQuery, profile: Profile) -> tuple[Optional[str], str]:
    """The ``tstats`` form over the accelerated CIM data model, or None and why there is none.

    tstats reads the data model's summaries (and, with ``summariesonly=false``, the default, the raw
    events of time ranges not summarised yet, so no event is missed), restricted to the dataset by
    the data model's own constraint; its WHERE clause is a search query over the dataset's fields
    (``Processes.process_name``). It is produced only when every condition has an exact search
    form (no ``where`` part): tstats cannot run eval expressions over events. ``fillnull_value``
    keeps events without the BY field (tstats drops them otherwise); which events are counted does
    not depend on the BY clause.
    """
    from .profile import TstatsView

    if not profile.is_cim:
        return None, "the tstats form needs the cim profile"
    scratch = Notes()
    view = TstatsView(profile)
    search, where = split_condition(rule, query, view, scratch)  # type: ignore[arg-type]
    if where:
        return None, ("no tstats form: these conditions need eval (where) semantics that a tstats WHERE clause (search "
                      "terms, case-insensitive) cannot express: " + "; ".join(w[:120] for w in where))
    ds = profile.dataset(query.category)
    by = ""
    host = ds.fields.get("host.name")
    if host:
        by = f" BY {ds.node}.{host}"
    text = (
        "```eqlc: tstats form over the accelerated CIM data model; the same events as the search form. summariesonly=false "
        "(the default) also reads events not summarised yet; fillnull_value keeps events without the BY field.```\n"
        f"| tstats summariesonly=false fillnull_value=\"(none)\" count min(_time) AS firstTime max(_time) AS lastTime "
        f"FROM datamodel={ds.datamodel} WHERE {' '.join(search) if search else '*'}{by}"
    )
    return text, ""
