"""Rule (IR) -> SPL text for single-event queries; sequences live in :mod:`.sequence`.

Shape of the output, per profile kind::

    ecs        index=ecs sourcetype IN (...) <exact search terms> <prefilter terms>
               | where <exact where-conditions>
    raw        index=* source="..." EventCode="1" <search terms>
               | eval <derived fields>
               | where <exact where-conditions>
    datamodel  | tstats summariesonly=false count ... FROM datamodel=<model>.<dataset> WHERE <terms> BY <dataset>.dest
               (when every condition is a search term), otherwise
               | datamodel <model> <dataset> search
               | search <terms>
               | where <exact where-conditions>

The top-level conjunction is split: a conjunct with an exact search form goes to the search
command; every other conjunct goes to ``where`` (exact), and its superset search term, if it has
one, also goes to the search command so that Splunk can use its index. ``search`` evaluates OR
before AND and ``where`` AND before OR, so every compound operand is parenthesised.

A data model or raw profile reads one dataset per query (:func:`choose_dataset`): the first of the
category's datasets whose fields the query uses and on which its condition can hold.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional

from eqlc import ir
from eqlc.result import Notes, Refused
from eqlc.rule import Rule

from .conditions import ConditionBuilder
from .profile import Dataset, Profile, constant_terms


def category_condition(rule: Rule, category: Optional[str], profile: Profile) -> Optional[ir.Expr]:
    """``process where`` means ``event.category == "process"`` (a case-sensitive term query), or
    the rule's ``event_category_override`` field; ``any`` adds nothing. In the cim and windows
    profiles the category picks the dataset instead (:func:`choose_dataset`)."""
    if category is None or not profile.is_ecs:
        return None
    fname = rule.event_category_override or "event.category"
    return ir.Compare(ir.CompareOp.EQ, ir.Field(tuple(fname.split("."))), ir.String(category))


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


class NeverTrue(Refused):
    """The condition is false on every event of the dataset (a fact decided it)."""


@dataclass
class Split:
    """One event query's condition as search terms, eval fields and where-conditions (exact together)."""

    search: list[str]
    where: list[str]
    evals: dict = field(default_factory=dict)
    dataset: Optional[Dataset] = None
    notes: list = field(default_factory=list)


def build_conds(rule: Rule, query: ir.EventQuery, profile: Profile, dataset: Optional[Dataset] = None):
    """Each top-level conjunct as a :class:`Cond` (constant-true ones dropped), and the builder that
    holds the mapping's notes and eval fields. Raises :class:`NeverTrue` when a conjunct is false
    on every event of ``dataset``."""
    builder = ConditionBuilder(profile, query.category, dataset)
    if dataset is not None:
        from .dataset_leaves import category_note, dataset_notes

        dataset_notes(builder)
        category_note(builder, query.category, query.condition)
    cat = category_condition(rule, query.category, profile)
    parts: list[ir.Expr] = []
    if cat is not None:
        parts.append(cat)
    parts.extend(top_conjuncts(query.condition))
    conds = []
    for e in parts:
        c = builder.build(e)
        if c.where == "true()":
            continue
        if c.where == "false()" and dataset is not None:
            why = next((n for n in builder.notes if "taken to be false" in n), None)
            raise NeverTrue(f"the condition can never hold on {dataset.label} events" + (f": {why}" if why else ""), e)
        conds.append(c)
    return conds, builder


def split_condition(rule: Rule, query: ir.EventQuery, profile: Profile, dataset: Optional[Dataset] = None) -> Split:
    """Search terms and where-conditions (each exact together) for one event query."""
    conds, builder = build_conds(rule, query, profile, dataset)
    out = Split([], [], dataset=dataset)
    fold: set[str] = set()
    assumed: list[str] = []
    for c in conds:
        assumed.extend(c.notes)
        if c.search is not None:
            out.search.append(c.search if c.atomic_search else f"({c.search})")
            fold |= set(c.search_ci_fields)
        else:
            out.where.append(c.where if c.atomic_where else f"({c.where})")
            if c.prefilter:
                out.search.append(c.prefilter)
                fold |= set(c.search_ci_fields)
    if fold:
        assumed.append(fold_note(fold))
    out.notes = list(builder.notes) + assumed
    out.evals = dict(builder.evals)
    return out


def first_dataset(query: ir.EventQuery, profile: Profile, attempt):
    """``attempt(dataset)`` on each dataset of the query's category in order: the first result, or
    the first dataset's reason for refusing (a field it lacks, or a condition that never holds)."""
    candidates = profile.datasets_for(query.category)
    if not candidates:
        raise profile.no_dataset(query.category, query)
    from .dataset_leaves import missing_fields

    errors: list[tuple[int, int, Refused]] = []
    for i, ds in enumerate(candidates):
        try:
            return attempt(ds)
        except Refused as r:
            errors.append((missing_fields(query, ds), i, r))
    raise min(errors, key=lambda x: x[:2])[2]


def choose_dataset(rule: Rule, query: ir.EventQuery, profile: Profile) -> Split:
    """The split condition on the first dataset that has every field the query reads and on which
    its condition can hold."""
    if profile.is_ecs:
        return split_condition(rule, query, profile)
    return first_dataset(query, profile, lambda ds: split_condition(rule, query, profile, ds))


def eval_lines(evals: dict) -> list[str]:
    return ["| eval " + ", ".join(f"{k}={v}" for k, v in evals.items())] if evals else []


@dataclass
class Emitted:
    text: str
    artifacts: dict = field(default_factory=dict)  # file suffix -> text
    comments: tuple = ()


TSTATS_NOTE = ("the tstats form assumes that a tstats WHERE clause matches data model fields as the search command "
               "matches fields (tstats documents WHERE <search-query>): values case-insensitively, a multivalue field when any "
               "value matches, NOT also for events without the field")


def event_query(rule: Rule, query: ir.EventQuery, profile: Profile, notes: Notes) -> Emitted:
    split = choose_dataset(rule, query, profile)
    for n in split.notes:
        notes.assume(n)
    ds = split.dataset
    where = ["| where " + " AND ".join(split.where)] if split.where else []
    if profile.is_ecs:
        head = " ".join([profile.scope_terms(rule.index)] + split.search)
        return Emitted("\n".join([head] + where))
    assert ds is not None
    if profile.is_raw:
        head = " ".join([profile.dataset_scope(ds)] + split.search)
        return Emitted("\n".join([head] + eval_lines(split.evals) + where))
    dm = [profile.dataset_scope(ds)] + ([f"| search {' '.join(split.search)}"] if split.search else []) \
        + eval_lines(split.evals) + where
    datamodel_form = "\n".join(dm)
    if split.where or split.evals:
        why = ("no tstats form: these conditions need eval (where) semantics that a tstats WHERE clause (search terms, "
               "case-insensitive) cannot express: " + "; ".join(w[:120] for w in split.where))
        return Emitted(datamodel_form, comments=(why,))
    notes.assume(TSTATS_NOTE)
    return Emitted(tstats_text(ds, split.search), {".datamodel.spl": datamodel_form + "\n"})


def tstats_text(ds: Dataset, search: list[str]) -> str:
    """The ``tstats`` form over the accelerated data model dataset.

    tstats reads the data model's summaries (and, with ``summariesonly=false``, the default, the raw
    events of time ranges not summarised yet, so no event is missed), restricted to the dataset by
    the data model's own constraint; its WHERE clause is a search query over the dataset's fields
    (``Processes.process_name``). ``fillnull_value`` keeps events without the BY field (tstats
    drops them otherwise); which events are counted does not depend on the BY clause.
    """
    by = f" BY {ds.prefixed('dest')}" if ds.lookup("host.name") and ds.lookup("host.name").field == "dest" else ""
    where = f" WHERE {' '.join(search)}" if search else ""
    return (
        "```eqlc: tstats over the accelerated CIM data model; the same events as the datamodel search form. summariesonly=false "
        "(the default) also reads events not summarised yet; fillnull_value keeps events without the BY field.```\n"
        f"| tstats summariesonly=false fillnull_value=\"(none)\" count min(_time) AS firstTime max(_time) AS lastTime "
        f"FROM datamodel={ds.datamodel}.{ds.node}{where}{by}"
    )


def check_query(q: ir.Query) -> None:
    if q.pipes:
        names = ", ".join(p.name for p in q.pipes)
        raise Refused(f"pipes ({names}) are not translated: Elasticsearch returns the earliest/latest N matches of the whole search window, which a scheduled Splunk alert cannot reproduce exactly", q.pipes[0])


__all__ = ["Emitted", "NeverTrue", "Split", "check_query", "choose_dataset", "constant_terms", "event_query", "fold_note",
           "split_condition", "top_conjuncts"]
