"""Whole queries: one table per event query, ``scan`` for sequences.

Sequences follow Elasticsearch's state machine (shared/research/eql-semantics.md §7.2) with
Kusto's ``scan`` (MicrosoftDocs/dataexplorer-docs, scan-operator.md):

* each term's events come from its own ``let`` leg (its table, condition and join key), tagged
  with ``__stage``; the key is ``tostring(pack_array(k1, k2, ...))`` so values compare exactly and
  by type, as Elasticsearch's ``SequenceKey`` does; non-optional keys must be present;
* ``partition hint.strategy=native by __key`` gives one scan per join key; inside, rows are
  ordered by the timestamp (ties: higher stage first, so one event never fills two stages);
* scan's "Check 1" (a record matching step k takes over step k-1's state, the older state of
  step k is dropped) is Elasticsearch's "a hit takes the latest pending sequence of the previous
  stage"; the first step's "Check 2" (a new record restarts step 1) is "a newer pending sequence
  overwrites the older". Check 2 of later steps (repeated matches of the same step) has no EQL
  counterpart and is disabled with ``isnull(s_k.<timestamp>)``;
* ``maxspan`` is ``Timestamp - s1.Timestamp <= span`` in every later step (a span equal to
  maxspan matches); ``with runs=N`` repeats the term's step N times;
* rows of matches that reached the last step are returned (the ids of every event of a match).
"""

from __future__ import annotations

from typing import Optional

from eqlc import ir
from eqlc.result import Notes, Refused, about
from eqlc.rule import Rule

from . import entity, raw_tables, syntax
from .emit import Checks, Cond, Emitter
from .profile import Profile, Table
from .scan import SequencePlan


def render_where(cond: Cond) -> Optional[str]:
    """``| where`` with one top-level conjunct per line, or None when the condition is always true."""
    if cond is True:
        return None
    if cond is False:
        raise Refused("the condition can never hold on this table (a condition implied by the table is false)")
    return "| where " + cond


def table_of(profile: Profile, q: ir.EventQuery, notes: Notes) -> Table:
    """The table for an event query's category (``any`` is resolved from an event.category test)."""
    category = q.category
    raw = raw_tables.raw_table(profile)
    if raw is not None:  # a raw log table holds every category of its data source
        if raw.note:
            notes.assume(raw.note)
        return raw
    if category is None:
        category = category_from_condition(q.condition)
        if category is None:
            raise Refused("`any` query whose condition does not pin event.category to one value: no single table to search")
    table = profile.table_for(category)
    if table is None:
        raise Refused(f"no {profile.name} table holds `{category}` events (mapped: {', '.join(profile.categories())})")
    if table.note:
        notes.assume(table.note)
    return table


def category_from_condition(e: ir.Expr) -> Optional[str]:
    terms = e.terms if isinstance(e, ir.And) else (e,)
    for t in terms:
        if isinstance(t, ir.Compare) and t.op is ir.CompareOp.EQ and isinstance(t.left, ir.Field) and t.left.name == "event.category" and isinstance(t.right, ir.String):
            return t.right.value
        if isinstance(t, (ir.InSet, ir.WildcardMatch)) and isinstance(t.expr, ir.Field) and t.expr.name == "event.category":
            vals = [v.value for v in t.values] if isinstance(t, ir.InSet) else [p.text for p in t.patterns]  # type: ignore[union-attr]
            if len(set(vals)) == 1 and all(isinstance(v, str) and "*" not in v and "?" not in v for v in vals):
                return vals[0]
    return None


def lookup_lines(em: Emitter) -> list[str]:
    return [f"| lookup kind=leftouter ({lk.query}) on {lk.on}" for lk in em.lookups.values()]  # type: ignore[attr-defined]


def event_query(profile: Profile, q: ir.EventQuery, notes: Notes, pipes: tuple[ir.Pipe, ...] = ()) -> tuple[str, Emitter, Table]:
    table = table_of(profile, q, notes)
    em = Emitter(profile, table, notes)
    raw_tables.assume_category(em, table, q.category)
    cond = em.condition(q.condition)
    lines = [table.name] + lookup_lines(em) + em.prep
    where = render_where(cond)
    if where:
        lines.append(where)
    lines.extend(pipe_lines(profile, pipes))
    return "\n".join(lines), em, table


def pipe_lines(profile: Profile, pipes: tuple[ir.Pipe, ...]) -> list[str]:
    out = []
    ts = profile.timestamp
    for p in pipes:
        if p.name not in ("head", "tail"):
            raise Refused(f"pipe | {p.name}: Elasticsearch supports only head and tail")
        n = p.args[0].value if p.args and isinstance(p.args[0], ir.Number) else 10  # type: ignore[union-attr]
        if p.name == "head":
            out.append(f"| top {n} by {ts} asc")
        else:
            out.append(f"| top {n} by {ts} desc")
            out.append(f"| sort by {ts} asc")
    return out


def sequence_query(profile: Profile, seq: ir.Sequence, notes: Notes) -> tuple[str, Checks]:
    if seq.until is not None:
        raise Refused("sequence with `until`: not translated (scan has no way to cancel the pending sequences of a key)")
    if any(t.missing for t in seq.terms):
        raise Refused("sequence with a missing-event term ![...]: not translated (Elasticsearch's time-window checks have no exact scan form here)")
    ts = profile.timestamp
    checks = Checks()
    lets: list[str] = []
    leg_names: list[str] = []
    nkeys = None
    for i, term in enumerate(seq.terms, start=1):
        table = table_of(profile, term.query, notes)
        em = Emitter(profile, table, notes)
        raw_tables.assume_category(em, table, term.query.category)
        cond = em.condition(term.query.condition)
        keys = seq.keys(term)
        if nkeys is None:
            nkeys = len(keys)
        key_texts, presence = [], []
        for k in keys:
            if not isinstance(k, ir.Field):
                raise Refused("a sequence join key that is not a field is not translated", k)
            with about(k):  # a refusal names the join key it is about (eqlc.broaden)
                fm = em.fieldmap(k)
            if fm.is_array or fm.values is not None or fm.derived_from_command_line:
                raise Refused(f"join key {k.name} ({fm.text}) is an array, value-mapped or read from a command line: not translated", k)
            if fm.key_only:
                notes.assume(entity.note(fm, table.name))
                if fm.unique_within:
                    key_texts.append(fm.unique_within)
                    if fm.unique_within not in em.columns:
                        em.columns.append(fm.unique_within)
                    if k.name not in checks.keyed:
                        checks.keyed.append(k.name)
            key_texts.append(fm.text)
            if not k.optional:
                if fm.is_string:
                    em.note_empty(fm)
                presence.append(f"isnotempty({fm.text})" if fm.is_string else f"isnotnull({fm.text})")
        from .emit import conj

        full = conj([cond, *presence])
        body = [table.name] + lookup_lines(em) + em.prep
        where = render_where(full)
        if where:
            body.append(where)
        key_expr = f"tostring(pack_array({', '.join(key_texts)}))" if key_texts else '""'
        body.append(f"| extend __stage = {i}, __key = {key_expr}")
        name = f"__leg{i}"
        lets.append(f"let {name} = " + "\n    ".join(body) + ";")
        leg_names.append(name)
        checks.merge(em.checks)
    steps: list[str] = []
    n = 0
    first = None
    checks.plan = SequencePlan(tuple(lets), tuple(leg_names), tuple(i for i, t in enumerate(seq.terms, start=1) for _ in range(t.runs)),
                               seq.maxspan.millis if seq.maxspan is not None else None)
    for i, term in enumerate(seq.terms, start=1):
        for _ in range(term.runs):
            n += 1
            name = f"s{n}"
            parts = [f"__stage == {i}"]
            if n == 1:
                first = name
            else:
                if seq.maxspan is not None:
                    parts.append(f"{ts} - {first}.{ts} <= {syntax.timespan(seq.maxspan.millis)}")
                parts.append(f"isnull({name}.{ts})")
            steps.append(f"        step {name}: {' and '.join(parts)} => __step = {n};")
    if seq.maxspan is None:
        notes.assume("sequence without maxspan: every earlier event of the key can start a match (as in Elasticsearch), bounded only by the query's time range")
    notes.assume(f"sequence events with equal {ts} values are ordered by stage (Elasticsearch leaves the order of concurrent events unspecified)")
    out = lets + [
        "let __rows = union " + ", ".join(leg_names),
        f"    | partition hint.strategy=native by __key",
        "    (",
        f"        sort by {ts} asc, __stage desc",
        "        | scan with_match_id=__match declare (__step: long) with (",
        *["    " + s for s in steps],
        "        )",
        "    );",
        "__rows",
        f"| join kind=leftsemi (__rows | where __step == {n} | project __key, __match) on __key, __match",
        f"| sort by {ts} asc",
    ]
    return "\n".join(out), checks


def compile_query(profile: Profile, rule: Rule, notes: Notes) -> tuple[str, Checks]:
    """The query text and what it assumed of each event (the fixture adapter checks it)."""
    q = rule.query
    profile = raw_tables.narrow(profile, rule, notes)
    if rule.event_category_override and not raw_tables.is_raw(profile):
        raise Refused(f"event_category_override={rule.event_category_override}: the rule's categories are read from another field, which no table mapping states")
    if isinstance(q.body, ir.EventQuery):
        text, em, _ = event_query(profile, q.body, notes, q.pipes)
        return text, em.checks
    if isinstance(q.body, ir.Sequence):
        if q.pipes:
            raise Refused("pipes after a sequence count sequences, not events: not translated")
        return sequence_query(profile, q.body, notes)
    raise Refused("sample: unordered matching by join key has no exact Kusto translation in eqlc")
