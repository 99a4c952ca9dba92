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

import dataclasses

from typing import Optional

from eqlc import ir
from eqlc.checks import fields_in
from eqlc.result import Notes, Refused, about
from eqlc.rule import Rule

from eqlc.sequence_keys import with_copied_key_constraints

from . import cloudtrail, entity, raw_tables, shapes, syntax
from .absent import truth
from .emit import Checks, Cond, Emitter, Routed, eq_fold, leaf_field
from .profile import Profile, Table
from .scan import SequencePlan



def argv_key(expand: list[str], line: str, n: int) -> str:
    """A join key on the arguments split from the command line ``line``: one row per distinct
    argument (Elasticsearch joins a multi-valued key on each of its distinct values: the reference
    matcher's key_function), the first occurrence of each value kept (``array_index_of`` gives the
    first index). Appends the ``mv-expand`` lines to ``expand`` and returns the key column."""
    col, idx = f"__arg{n}", f"__argi{n}"
    expand.append(f'| mv-expand with_itemindex={idx} {col} = split({line}, " ") to typeof(string)')
    expand.append(f'| where array_index_of(split({line}, " "), {col}) == {idx}')
    return col

def list_key_rows(expand: list[str], profile: Profile, col: str, key: str, n: int) -> str:
    """A join key on one key of the objects of a dynamic list column (okta.target.id: OktaV2_CL's
    OriginalTarget, key id): one leg row per object whose key is not empty (Elasticsearch joins a
    multi-valued key on each of its values; the source's pipeline drops empty values). Each value
    is taken to appear once per event (stated; :class:`eqlc.targets.kql.json_list.DistinctKeys`
    checks it), so the rows are one per distinct value. Appends the ``mv-expand`` lines to
    ``expand`` and returns the key column."""
    item, name = f"__item{n}", f"__lk{n}"
    source = col if profile.types.get(col) == "dynamic" else f"parse_json({col})"
    expand.append(f"| mv-expand {item} = {source} to typeof(dynamic)")
    expand.append(f"| extend {name} = tostring({item}[{syntax.quote(key)}])")
    expand.append(f"| where isnotempty({name})")
    return name


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
    table = profile.table_for(category, field_names(q.condition))
    if table is None:
        raise Refused(f"no {profile.name} table holds `{category}` events (mapped: {', '.join(profile.categories())})")
    require_rows(table, q.condition)
    if table.note:
        notes.assume(table.note)
    return table


def field_names(e: ir.Expr) -> list[str]:
    """The ECS fields a condition reads (they choose the table, :meth:`Profile.table_for`)."""
    return [f.name for f in raw_tables._fields(e)]


def requires_rows(table: Table, cond: ir.Expr) -> bool:
    """Whether ``cond`` requires ``table.rows_need`` (see :func:`require_rows`)."""
    need = table.rows_need
    if not need:
        return True
    terms = cond.terms if isinstance(cond, ir.And) else (cond,)
    for t in terms:
        f = leaf_field(t)
        if f is not None and f.name == need and not isinstance(t, ir.Not) and not truth(t, {}):
            return True
        # `need != null`: false on an event without it, as a test of its value is
        if isinstance(t, ir.Not) and isinstance(t.expr, ir.IsNull) and (g := leaf_field(t.expr)) is not None and g.name == need:
            return True
    return False


def split_tables(profile: Profile, q: ir.EventQuery) -> Optional[list[Table]]:
    """The two legs of a query of one category whose condition chooses a table holding only the
    events with a value in one field (_Im_Dns, dns.question.name: it tests dns fields) without
    requiring that value, when the profile names the table holding the category's other events
    (``others_in``: imNetworkSession): the chosen table, then that one. None otherwise.

    Elasticsearch's ``network where ... and not dns.question.name : "localhost"`` matches both DNS
    lookups and connections; a union of the two tables, each event read in the one leg that holds
    it (a lookup in _Im_Dns, a connection in imNetworkSession, where dns fields are read as
    absent), selects the same events (targets/kql/emit.py ``Routed``)."""
    if raw_tables.is_raw(profile):
        return None
    category = q.category if q.category is not None else category_from_condition(q.condition)
    if category is None:
        return None
    table = profile.table_for(category, field_names(q.condition))
    if table is None or not table.others_in or requires_rows(table, q.condition):
        return None
    return [table, profile.tables[table.others_in]]


def routed_leg(profile: Profile, tables: list[Table], table: Table) -> Optional[Routed]:
    """The :class:`Routed` split a leg of :func:`split_tables` reads with (its second leg), or None."""
    chosen = tables[0]
    if len(tables) != 2 or table is not tables[1] or not chosen.others_in:
        return None
    assert chosen.rows_need is not None
    return Routed(table.name, chosen.rows_need, chosen.name, chosen.chosen_by)


def state_split(notes: Notes, split: list[Table]) -> None:
    """State how a :func:`split_tables` union reads the events: each in the one table that holds it."""
    chosen, rest = split
    notes.assume(f"{chosen.category} events with a {chosen.rows_need} are read from {chosen.name} only, and the others "
                 f"from {rest.name} only: {rest.name} is taken to hold no event with a {chosen.rows_need}, and the "
                 f"query reads a union of the two")


def require_rows(table: Table, cond: ir.Expr) -> None:
    """A table that holds only the events with a value in ``rows_need`` (CloudProcessEvents: the
    processes of containers, container.id) may only be read for a condition that requires that
    value: one of its top-level conjuncts tests the field itself and is false on an event without
    it (``container.id : "*"``). Otherwise events the rule matches (host processes) are in no row
    the query reads, which no assumption makes exact: refused."""
    need = table.rows_need
    if requires_rows(table, cond):
        return
    if not table.chosen_by:  # imAuthentication: its rows are the events whose `need` its facts name
        raise Refused(f"{table.name} holds only the `{table.category}` events whose {need} is "
                      f"{' or '.join(table.facts.get(need, ()))} ({need} implied), but the condition does not require "
                      f"{need} (a top-level test false on an event without it): the rule may match others")
    raise Refused(f"the condition tests {', '.join(sorted(set(table.chosen_by)))} fields, which only {table.name} records, "
                  f"but does not require {need} (a top-level test false on an event without it): {table.name} holds "
                  f"only the events that have one, and the rule may match others")


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


def restricted_categories(e: ir.Expr) -> Optional[list[tuple[str, bool]]]:
    """The event.category values (each with its case-insensitivity) one of which every event
    satisfying ``e`` has, or None when ``e`` does not restrict the category to listed values
    (raw_tables.restricted_values: a positive literal test restricts it; ``and`` by any of its terms,
    the shortest list kept, since event.category is multi-valued; ``or`` only when each term does)."""
    return raw_tables.restricted_values(e, "event.category")


def union_tables(profile: Profile, q: ir.EventQuery) -> list[Table]:
    """The tables of an ``any`` query whose condition names several categories: one per category
    it allows. A category no table holds is a refusal (its events could match and are searched
    nowhere), as is a condition that allows every category."""
    if raw_tables.is_multi(profile):  # routed raw tables (one data set split over several): every one a leg
        return [t for t in profile.tables.values()]
    allowed = restricted_categories(q.condition)
    if allowed is None:
        raise Refused("`any` query whose condition does not restrict event.category to listed values: events of every "
                      "category match it, and no set of tables holds them all")
    tables: list[Table] = []
    names = field_names(q.condition)
    for value, ci in allowed:
        hits = [t for c in dict.fromkeys(t.category for t in profile.tables.values() if eq_fold(value, t.category, ci))
                if (t := profile.table_for(c, names)) is not None]
        if not hits:
            raise Refused(f"no {profile.name} table holds `{value}` events (mapped: {', '.join(profile.categories())})")
        for t in hits:
            require_rows(t, q.condition)
        tables.extend(t for t in hits if t not in tables)
    return tables


def union_query(profile: Profile, q: ir.EventQuery, notes: Notes, pipes: tuple[ir.Pipe, ...] = (),
                split: Optional[list[Table]] = None) -> tuple[str, Checks]:
    """An ``any`` query over several categories: a Kusto ``union`` of one leg per table, each
    with its own column mapping (MicrosoftDocs, kusto/query/union-operator.md: ``union`` returns
    the rows of every leg; with the default ``kind=outer`` a column a leg lacks is null in its
    rows, which no leg's condition reads, since each leg filters before the union).

    Each leg decides the table's facts (``event.category == "file"`` is false on a process table)
    and reads a field that only other tables record as absent (:meth:`Emitter.absent_leaf`, stated,
    with its check scoped to the leg's table); a leg whose condition can never hold there is
    dropped, with a stated reason. One leg left is a plain query."""
    checks = Checks()
    legs: list[list[str]] = []
    dropped: list[str] = []
    if split is not None:
        state_split(notes, split)
    for table in (split if split is not None else union_tables(profile, q)):
        em = Emitter(profile, table, notes, leg=True, routed=routed_leg(profile, split, table) if split else None)
        shapes.check_os(table, q.condition)
        cond = em.condition(raw_tables.with_category(em, table, q.category, q.condition))
        for fact in em.facts:
            fact.table = table.name
        checks.merge(em.checks)
        if cond is False:
            dropped.append(table.name)
            continue
        if table.note:
            notes.assume(table.note)
        body = [table.name] + raw_tables.where_lines(table) + lookup_lines(em) + em.prep
        where = render_where(cond)
        if where:
            body.append(where)
        legs.append(body)
    if not legs:
        raise Refused("the condition can never hold on any table its categories name (a condition implied by each table is false)")
    if dropped:
        notes.assume(f"the query's condition is false for every row of {', '.join(dropped)} (decided from the table's implied "
                     f"values above), so no leg searches {'it' if len(dropped) == 1 else 'them'}")
    if len(legs) == 1:
        lines = legs[0]
    else:
        lines = ["union"] + [("    (" + "\n    ".join(b) + ")" + ("," if i < len(legs) - 1 else "")) for i, b in enumerate(legs)]
    lines.extend(pipe_lines(profile, pipes))
    return "\n".join(lines), checks


def lookup_lines(em: Emitter) -> list[str]:
    return [f"| lookup kind=leftouter ({lk.query}) on {lk.on}" for lk in em.lookups.values()]  # type: ignore[attr-defined]


def event_query(profile: Profile, q: ir.EventQuery, notes: Notes, pipes: tuple[ir.Pipe, ...] = ()) -> tuple[str, Emitter, Table]:
    table = table_of(profile, q, notes)
    em = Emitter(profile, table, notes)
    raw_tables.check_event_id_pinned(table, q.condition, category=q.category, category_field=profile.category_field)
    raw_tables.check_ip_literals(table, q.condition)
    shapes.check_os(table, q.condition)
    cloudtrail.check_rendered_literals(table, q.condition)
    cond = em.condition(raw_tables.with_category(em, table, q.category, q.condition))
    lines = [table.name] + raw_tables.where_lines(table) + lookup_lines(em) + em.prep
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


def sequence_legs(profile: Profile, seq: ir.Sequence, notes: Notes):
    """(stage, term, table, union leg?) for each leg of a sequence: one per term, or, for an ``any``
    term over several categories, one per table of its union (:func:`union_tables`), all of the
    same stage: scan then sees the rows of every leg as that step's candidates."""
    for i, term in enumerate(seq.terms, start=1):
        q = term.query
        if raw_tables.is_multi(profile) or (raw_tables.raw_table(profile) is None and q.category is None
                                            and category_from_condition(q.condition) is None):
            for table in union_tables(profile, q):
                yield i, term, table, True
        elif (split := split_tables(profile, q)) is not None:
            state_split(notes, split)
            for table in split:
                yield i, term, table, split
        else:
            yield i, term, table_of(profile, q, notes), False


def term_refusal(profile: Profile, terms: tuple[ir.SequenceTerm, ...]) -> Optional[Refused]:
    """The refusal of the first term whose own query the profile cannot translate, or None.

    A sequence or sample construct eqlc does not translate (``until``, a missing-event term, pipes
    after a sequence, ``sample``) is refused; but when one of its terms is refused on its own (a
    field no table records, a category no table holds), that is the reason that stays however the
    construct is built, so it is the one reported (issue 13 classes refusals by their reason)."""
    for term in terms:
        q = term.query
        try:
            if raw_tables.is_multi(profile) or (not raw_tables.is_raw(profile) and q.category is None
                                                and category_from_condition(q.condition) is None):
                union_query(profile, q, Notes())
            elif (split := split_tables(profile, q)) is not None:
                union_query(profile, q, Notes(), split=split)
            else:
                event_query(profile, q, Notes())
        except Refused as why:
            return why
    return None


def sequence_query(profile: Profile, seq: ir.Sequence, notes: Notes) -> tuple[str, Checks]:
    if seq.until is not None and (why := term_refusal(profile, seq.terms + (seq.until,))) is not None:
        raise why
    if any(t.missing for t in seq.terms):
        if (why := term_refusal(profile, seq.terms)) is not None:
            raise why
        if not trailing_missing_only(seq):
            raise Refused(
                "sequence with a missing-event term ![...]: not translated (only one trailing missing-event term in a "
                "sequence without until is: Elasticsearch's time-window checks of a leading or middle one, or of "
                "several, have no exact scan form here)")
    seq = with_copied_key_constraints(seq)
    ts = profile.timestamp
    checks = Checks()
    lets: list[str] = []
    leg_names: list[str] = []
    miss_names: list[str] = []  # the rows of a trailing missing-event term (trailing_missing_only)
    nkeys = None
    for i, term, table, leg in sequence_legs(profile, seq, notes):
        em = Emitter(profile, table, notes, leg=bool(leg), routed=routed_leg(profile, leg, table) if isinstance(leg, list) else None,
                     event_ids=raw_tables.leg_event_ids(table, term.query.condition, term.query.category, profile.category_field))
        raw_tables.check_event_id_pinned(table, term.query.condition, tuple(seq.keys(term)), category=term.query.category,
                                        category_field=profile.category_field)
        raw_tables.check_ip_literals(table, term.query.condition)
        shapes.check_os(table, term.query.condition, tuple(seq.keys(term)))
        cloudtrail.check_rendered_literals(table, term.query.condition)
        cond = em.condition(raw_tables.with_category(em, table, term.query.category, term.query.condition,
                                                     when=term.query.condition))
        if leg:
            for fact in em.facts:
                fact.table = table.name
            if cond is False:  # a union leg that can never match: dropped, with the reason stated
                checks.merge(em.checks)
                notes.assume(f"step {i}'s condition is false for every row of {table.name} (decided from the table's "
                             f"implied values), so no leg of that step searches it")
                continue
            if table.note:
                notes.assume(table.note)
        keys = seq.keys(term)
        if nkeys is None:
            nkeys = len(keys)
        key_texts, presence = [], []
        expand: list[str] = []  # mv-expand lines of join keys with several values per row
        for k in keys:
            if not isinstance(k, ir.Field):
                raise Refused("a sequence join key that is not a field is not translated", k)
            with about(k):  # a refusal names the join key it is about (eqlc.broaden)
                fm = em.fieldmap(k)
            if fm.list_key:  # one key of each object of a dynamic list column (okta.target.id)
                if k.optional:
                    raise Refused(f"optional join key ?{k.name} read from a list of objects: not translated", k)
                from . import json_list

                key_texts.append(list_key_rows(expand, profile, fm.list_key[0], fm.list_key[1], len(expand)))
                distinct = json_list.DistinctKeys(k.name)
                if distinct not in em.derived:
                    em.derived.append(distinct)  # type: ignore[arg-type]
                notes.assume(json_list.distinct_keys_note(fm))
                continue
            if fm.argv_of and not fm.argc_of and k.name not in em._winargv and not fm.is_array and fm.values is None \
                    and fm.value_when is None:
                # the arguments read from a command line (split on single spaces, the assumption
                # em.fieldmap stated and registered for the adapter's check): Elasticsearch joins on
                # each distinct value, so the leg's row is repeated once per distinct argument
                key_texts.append(argv_key(expand, fm.text, len(expand)))
                if not k.optional:
                    if fm.is_string:
                        em.note_empty(fm)
                    presence.append(f"isnotempty({fm.text})")
                continue
            if fm.is_array or fm.key_list or fm.values is not None or fm.derived_from_command_line or fm.value_when is not None:
                raise Refused(f"join key {k.name} ({fm.text}) is an array, value-mapped or read from a command line: not translated", k)
            if fm.key_only:
                notes.assume(entity.note(fm, table.name))
                if fm.unique_within:
                    key_texts.append(fm.unique_within)
                    if fm.unique_within not in em.columns:
                        em.columns.append(fm.unique_within)
                    if k.name not in checks.keyed:
                        checks.keyed.append(k.name)
                if fm.one_to_one:
                    if any(f.name == fm.one_to_one for t in seq.terms
                           for f in [*fields_in(t.query.condition), *(x for x in seq.keys(t) if isinstance(x, ir.Field))]):
                        raise Refused(f"join key {k.name} reads {fm.text}, the column of {fm.one_to_one}, which the rule "
                                      f"reads too: not translated (an event without {fm.one_to_one} is read as on its "
                                      f"{k.name.split('.')[0]}'s device)", k)
                    if k.name not in checks.keyed:
                        checks.keyed.append(k.name)
            key_texts.append(fm.text)
            if not k.optional:
                if fm.is_string:
                    em.note_empty(fm)
                presence.append(f"isnotempty({fm.text})" if fm.is_string else f"isnotnull({fm.text})")
        from .emit import conj

        full = conj([cond, *presence])
        body = [table.name] + raw_tables.where_lines(table) + lookup_lines(em) + em.prep
        where = render_where(full)
        if where:
            body.append(where)
        body.extend(expand)
        key_expr = f"tostring(pack_array({', '.join(key_texts)}))" if key_texts else '""'
        body.append(f"| extend __stage = {i}, __key = {key_expr}")
        if term.missing:  # a trailing missing-event term's rows: not a scan step (the __cut below)
            name = f"__miss{i}"
            miss_names.append(name)
        else:
            name = f"__leg{len(leg_names) + 1}"
            leg_names.append(name)
        lets.append(f"let {name} = " + "\n    ".join(body) + ";")
        checks.merge(em.checks)
    missing = [i for i, term in enumerate(seq.terms, start=1)
               if not term.missing and f"__stage = {i}," not in "\n".join(lets)]
    if missing:
        raise Refused(f"step {missing[0]} of the sequence can never hold on any table its categories name (a condition "
                      f"implied by each table is false)")
    steps: list[str] = []
    n = 0
    first = None
    until = until_leg(profile, seq, notes, checks) if seq.until is not None else None
    if until is not None:
        lets.append(until)
    checks.plan = SequencePlan(tuple(lets), tuple(leg_names),
                               tuple(i for i, t in enumerate(seq.terms, start=1) if not t.missing for _ in range(t.runs)),
                               seq.maxspan.millis if seq.maxspan is not None else None,
                               "__until" if until is not None else None,
                               tuple(miss_names), len(seq.terms) if miss_names else None)
    for i, term in enumerate(seq.terms, start=1):
        if term.missing:
            continue
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
    ]
    if miss_names:  # a completed match is dropped when a missing-term event of its key lies in (last event, first + maxspan]
        assert seq.maxspan is not None
        out += [
            f"let __done = __rows | where __step == {n} | project __key, __match, __end = {ts};",
            "let __cut = __rows",
            "    | where __step == 1",
            f"    | project __key, __match, __begin = {ts}",
            "    | join kind=inner (__done) on __key, __match",
            f"    | join kind=inner ({miss_names[0] if len(miss_names) == 1 else 'union ' + ', '.join(miss_names)} "
            f"| project __key, __mt = {ts}) on __key",
            f"    | where __mt > __end and __mt <= __begin + {syntax.timespan(seq.maxspan.millis)}",
            "    | distinct __key, __match;",
            "__rows",
            "| join kind=leftsemi (__done | join kind=leftanti (__cut) on __key, __match | project __key, __match) on __key, __match",
        ]
    elif until is None:
        out += ["__rows", f"| join kind=leftsemi (__rows | where __step == {n} | project __key, __match) on __key, __match"]
    else:  # a completed match is dropped when an until event of its key lies in [first event, last event)
        out += [
            f"let __done = __rows | where __step == {n} | project __key, __match, __end = {ts};",
            "let __cut = __rows",
            "    | where __step == 1",
            f"    | project __key, __match, __begin = {ts}",
            "    | join kind=inner (__done) on __key, __match",
            f"    | join kind=inner (__until | project __key, __ut = {ts}) on __key",
            "    | where __ut >= __begin and __ut < __end",
            "    | distinct __key, __match;",
            "__rows",
            "| join kind=leftsemi (__done | join kind=leftanti (__cut) on __key, __match | project __key, __match) on __key, __match",
        ]
    out.append(f"| sort by {ts} asc")
    return "\n".join(out), checks


def trailing_missing_only(seq: ir.Sequence) -> bool:
    """Whether the sequence's missing-event terms are one trailing ``![...]`` (after every positive
    term, no ``until``; Elasticsearch requires a maxspan with missing events).

    Elasticsearch keeps a completed sequence unless the first event of that term with its join key
    after its last positive event (strictly later timestamp) lies at most maxspan after its first
    event (TumblingWindow.doCheckMissingEvents; shared/research/eql-semantics.md 7.2; the reference
    matcher's ``_check_trailing``): it is dropped exactly when some such event has a timestamp in
    (last event, first event + maxspan]. That is a join of the scan's completed matches with the
    term's rows of their key, filtered to that window (the query's ``__cut``): no event order
    beyond timestamps is read, so equal timestamps need no assumption."""
    missing = [i for i, t in enumerate(seq.terms) if t.missing]
    return (len(missing) == 1 and missing[0] == len(seq.terms) - 1 and seq.until is None and seq.maxspan is not None
            and seq.terms[-1].runs == 1 and any(not t.missing for t in seq.terms))


def until_leg(profile: Profile, seq: ir.Sequence, notes: Notes, checks: Checks) -> str:
    """The ``let __until`` rows of a sequence's ``until`` term (its table, condition and join key).

    Elasticsearch drops a key's pending sequences when an until event of the key arrives (the
    reference matcher: after the event's own stage hits, so a sequence the until event completes
    still completes; shared/research/eql-semantics.md 7.2). A scan without the until term keeps a
    superset of those pending sequences: every one Elasticsearch dropped started before the until
    event, and a sequence started after it is the same in both (in scan a later start overwrites
    an earlier one at each step it passes). So the query keeps the scan's completed matches that
    no until event of their key falls in, from the first event (inclusive: an until event that is
    the first event drops it) to the last (exclusive: one that is the last event does not). Ties
    between an until event and another event of the key are ordered by no timestamp: stated, and
    checked (:func:`until_ties`)."""
    term = seq.until
    assert term is not None
    q = term.query
    if raw_tables.is_multi(profile) or (raw_tables.raw_table(profile) is None and q.category is None
                                        and category_from_condition(q.condition) is None):
        raise Refused("sequence with `until` over several tables: not translated")
    table = table_of(profile, q, notes)
    em = Emitter(profile, table, notes)
    raw_tables.check_event_id_pinned(table, q.condition, tuple(seq.keys(term)), category=q.category,
                                        category_field=profile.category_field)
    raw_tables.check_ip_literals(table, q.condition)
    shapes.check_os(table, q.condition, tuple(seq.keys(term)))
    cloudtrail.check_rendered_literals(table, q.condition)
    cond = em.condition(raw_tables.with_category(em, table, q.category, q.condition, when=q.condition))
    key_texts, presence = [], []
    for k in seq.keys(term):
        if not isinstance(k, ir.Field):
            raise Refused("a sequence join key that is not a field is not translated", k)
        with about(k):
            fm = em.fieldmap(k)
        if (fm.is_array or fm.key_list or fm.values is not None or fm.derived_from_command_line or fm.value_when is not None
                or fm.key_only or fm.list_key):
            raise Refused(f"until join key {k.name} ({fm.text}) is an array, value-mapped, read from a command line or "
                          f"an identifier with a scope: not translated", k)
        key_texts.append(fm.text)
        if not k.optional:
            if fm.is_string:
                em.note_empty(fm)
            presence.append(f"isnotempty({fm.text})" if fm.is_string else f"isnotnull({fm.text})")
    from .emit import conj

    if cond is False:
        notes.assume("the until condition can never hold on its table, so no until event drops a sequence")
    body = [table.name] + raw_tables.where_lines(table) + lookup_lines(em) + em.prep
    where = render_where(conj([cond, *presence])) if cond is not False else "| where false"
    if where:
        body.append(where)
    key_expr = f"tostring(pack_array({', '.join(key_texts)}))" if key_texts else '""'
    body.append(f"| extend __stage = 0, __key = {key_expr}")
    checks.merge(em.checks)
    notes.assume(f"an until event whose {profile.timestamp} equals that of another event of its join key that "
                 f"fills a sequence step is taken to be absent (Elasticsearch leaves the order of concurrent events unspecified)")
    return "let __until = " + "\n    ".join(body) + ";"


def with_category_field(q: ir.EventQuery, field: str) -> ir.EventQuery:
    """``CAT where C`` of a rule whose event_category_override names ``field``: Elasticsearch reads
    the category word from that field, so the query is ``any where field == "CAT" and C``."""
    if q.category is None:
        return q
    test = ir.Compare(ir.CompareOp.EQ, ir.Field(tuple(field.split("."))), ir.String(q.category))
    rest = q.condition.terms if isinstance(q.condition, ir.And) else (q.condition,)
    return ir.EventQuery(None, ir.And((test, *rest)))


def compile_query(profile: Profile, rule: Rule, notes: Notes) -> tuple[str, Checks]:
    """The query text and what it assumed of each event (the fixture adapter checks it)."""
    q = rule.query
    profile = raw_tables.narrow(profile, rule, notes)
    body = q.body
    override = rule.event_category_override
    if raw_tables.is_raw(profile):
        # a raw table is chosen by the rule's data source; its category (or override) is a stated assumption
        override = None
    if override and override != "event.category":
        if not isinstance(body, ir.EventQuery):
            raise Refused(f"event_category_override={override} in a sequence: the terms' categories are read from another field, which no table mapping states")
        body = with_category_field(body, override)
    if isinstance(body, ir.EventQuery):
        if raw_tables.is_multi(profile) or (not raw_tables.is_raw(profile) and body.category is None
                                            and category_from_condition(body.condition) is None):
            return union_query(profile, body, notes, q.pipes)
        if (split := split_tables(profile, body)) is not None:
            return union_query(profile, body, notes, q.pipes, split=split)
        text, em, _ = event_query(profile, body, notes, q.pipes)
        return text, em.checks
    if isinstance(q.body, ir.Sequence):
        if q.pipes:
            sequence_query(profile, q.body, Notes())  # a term's own refusal is the reason that stays
            raise Refused("pipes after a sequence count sequences, not events: not translated")
        return sequence_query(profile, q.body, notes)
    if isinstance(q.body, ir.Sample):
        raise term_refusal(profile, q.body.terms) or Refused(
            "sample: unordered matching by join key has no exact Kusto translation in eqlc")
    raise Refused("sample: unordered matching by join key has no exact Kusto translation in eqlc")
