"""A rule -> the osquery queries that express it: which sources, which platforms, which SQL.

* The rule's event category names, in the profile, the *kinds* of events osquery records for it
  (``network``: connections, DNS lookups...), and per kind the *alternative* sources that record
  the same events on some platform (file events: ``file_events``, ``process_file_events``,
  ``ntfs_journal_events``, Sysmon...). ``any`` takes every kind of every category.
* Each source is compiled per osquery platform, because columns and fixed values differ
  (``syscall`` exists only on Linux) and ``host.os.type`` is the platform's. On a platform, each
  kind uses its first alternative that expresses the condition (the preferred source first: a
  native table before one that needs Sysmon); a kind whose alternatives all make the condition
  false is dropped; a kind none of whose alternatives can express it makes the whole platform
  refused, since the rule would miss those events there. Identical SQL is shared.
* The rule's ``OS:`` tags restrict the platforms the packs run on; if that drops a platform on
  which the query could match, it is stated (the query itself does not test ``host.os.type``).
* Sequences, samples and pipes are refused: a scheduled osquery query reads one table's rows
  captured since its last run, and cannot order or correlate events by key and time; and the
  corpus's sequences join on ``process.entity_id``, which no osquery table records.
"""

from __future__ import annotations

from typing import Optional

from eqlc import ir
from eqlc.result import Refused
from eqlc.rule import Rule

from .emitter import Emitter, Plan, QueryPlan, select_sql
from .fields import PLATFORMS, Mapping, TableMap

SEQUENCE_REASON = (
    "{kind}s are not translated: an osquery scheduled query reads the rows one table captured since its "
    "last run and cannot order, key and time-bound several events as EQL {kind}s do (and osquery records no "
    "process.entity_id, the key most sequences join on)"
)


def plan(rule: Rule, mapping: Mapping, profile: str) -> Plan:
    """Compile ``rule``; raises :class:`Refused` with the reason when osquery cannot express it."""
    query = rule.query
    if query.pipes:
        raise Refused(f"the pipe | {query.pipes[0].name} is not translated: osquery scheduled queries have no result window",
                      query.pipes[0])
    body = query.body
    if isinstance(body, (ir.Sequence, ir.Sample)):
        raise Refused(SEQUENCE_REASON.format(kind=query.kind), body)
    assert isinstance(body, ir.EventQuery)
    if profile not in mapping.profiles:
        raise Refused(f"unknown osquery profile {profile!r}; expected one of {', '.join(mapping.profiles)}")
    category, condition = body.category, body.condition
    override = rule.event_category_override
    if override and override != "event.category" and category is not None:
        # `cat where` tests the override field, not event.category (the rule's event_category_override)
        test = ir.Compare(ir.CompareOp.EQ, ir.Field(tuple(override.split("."))), ir.String(category))
        category, condition = None, ir.And((test, condition))
    kinds = _kinds(category, mapping, profile, body)
    sources = list(dict.fromkeys(t for kind in kinds for t in kind))

    tag_platforms = _tag_platforms(rule, mapping)
    served = {p for t in sources for p in t.platforms}
    if tag_platforms is not None and not (tag_platforms & served):
        raise Refused(
            f"the rule is tagged for {', '.join(sorted(rule.os_types))}; osquery's "
            f"{', '.join(t.name for t in sources)} covers {', '.join(sorted(served))} in this target", body
        )
    result = Plan()
    deciding: set = set()
    compiled: list[tuple] = []  # (source, platform, frag)
    refusals: dict = {}  # platform -> Refused
    false_sources: set = set()
    for platform in [p for p in PLATFORMS if p in served]:
        chosen, refusal, decided, false = _compile_platform(kinds, platform, category, condition, mapping)
        if refusal is not None:
            refusals[platform] = refusal
            continue
        if not chosen and (tag_platforms is None or platform in tag_platforms):
            deciding |= decided
        # A source on which the condition is false agrees with the rule on every event it holds,
        # whether or not the OS tags let the pack run there.
        false_sources |= {(t.name, platform) for t in false}
        compiled.extend((t, platform, f) for t, f in chosen)
    result.false_sources = false_sources
    wanted = [p for p in refusals if tag_platforms is None or p in tag_platforms]
    possible = {p for _, p, _ in compiled}
    if wanted and not (possible & (tag_platforms or served)):
        raise refusals[wanted[0]]
    if not compiled:
        names = ", ".join(t.name for t in sources)
        by = ", ".join(sorted(deciding)) or "its constant parts"
        raise Refused(
            f"the condition can never hold for osquery's {names} rows on {', '.join(sorted(served))}: {by} "
            "only take the values listed in the osquery mapping there (see its notes), and the rule's tests on them fail",
            body,
        )

    # Platforms: the rule's OS tags restrict where the packs run.
    if tag_platforms is not None:
        kept = [(t, p, f) for t, p, f in compiled if p in tag_platforms]
        if not kept:
            raise Refused(
                f"the rule is tagged for {', '.join(sorted(rule.os_types))}; osquery's "
                f"{', '.join(sorted({t.name for t, _, _ in compiled}))} runs on {', '.join(sorted(possible))} in this target",
                body,
            )
        dropped = possible - {p for _, p, _ in kept}
        if dropped:
            result.notes.append(
                f"the pack runs only on {', '.join(sorted({p for _, p, _ in kept}))} (the rule's OS tags), although the "
                f"condition does not rule out {', '.join(sorted(dropped))}"
            )
            result.fields.add("host.os.type")
        missing_tags = sorted(o for o in rule.os_types if mapping.os_tags.get(o) not in served)
        if missing_tags:
            result.notes.append(f"the rule is also tagged {', '.join(missing_tags)}; this target has no osquery table for those hosts")
        compiled = kept
    for platform in wanted:
        result.notes.append(f"the query does not run on {platform}: {refusals[platform].reason}")

    # Notes, fields, and one query per distinct SQL text.
    by_sql: dict = {}
    for table, platform, frag in compiled:
        if table.note:
            _add(result.notes, table.note)
        if table.notes.get(platform):
            _add(result.notes, table.notes[platform])
        for n in frag.notes:
            _add(result.notes, n)
        result.fields |= set(frag.fields)
        sql = select_sql(table, frag, mapping.schema[platform])
        key = (table.name, sql)
        if key not in by_sql:
            by_sql[key] = QueryPlan(table.name, [], sql, len(mapping.columns(table.sql_table, platform)))
        by_sql[key].platforms.append(platform)
    result.queries = list(by_sql.values())
    # a refused platform is not one where the condition is false: its events are outside the
    # stated assumption "the query does not run on <platform>", never checked as non-matches
    result.false_on = served - possible - set(refusals)
    result.table_names = list(dict.fromkeys(q.table for q in result.queries))
    return result


def _compile_platform(kinds: list, platform: str, category: Optional[str], condition: ir.Expr, mapping: Mapping):
    """Per kind, the first alternative source on ``platform`` that expresses the condition.

    Returns (chosen [(source, frag)], a refusal or None, fields that decided a false condition,
    the sources where the condition is false)."""
    chosen: list = []
    decided: set = set()
    false: list = []
    for kind in kinds:
        alts = [t for t in kind if platform in t.platforms]
        first: Optional[Refused] = None  # the preferred source's reason is the one reported
        picked = None
        for t in alts:
            cond = condition
            cat_fm = t.field("event.category", platform)
            implied = cat_fm is not None and cat_fm.kind == "constant" and category in cat_fm.constant
            if category is not None and len(t.categories) > 1 and not implied:
                # a source holding events of several categories (event.category from its rows)
                cat = ir.Compare(ir.CompareOp.EQ, ir.Field(("event", "category")), ir.String(category))
                cond = ir.And((cat, condition))
            try:
                frag = Emitter(t, platform, mapping).translate(cond)
            except Refused as r:
                first = first or r
                continue
            if frag.sql is False:
                decided |= set(frag.fields)
                false.append(t)
                continue
            picked = (t, frag)
            break
        if picked is not None:
            chosen.append(picked)
        elif first is not None:
            never = [t for t in alts if t in false]
            if never:
                # another source holds these events but never meets the condition: say so, the
                # refusal alone would suggest that source was not tried
                first = Refused(
                    f"{first.reason} (and osquery's {', '.join(t.name for t in never)} rows, which hold these events "
                    f"too, never meet the condition: the values they record for {', '.join(sorted(decided)) or 'its fields'} "
                    "fail its tests)",
                    first.node,
                )
            return [], first, decided, []
    return chosen, None, decided, false


def _add(notes: list, text: str) -> None:
    if text not in notes:
        notes.append(text)


def _kinds(category: Optional[str], mapping: Mapping, profile: str, node: object) -> list:
    cats = mapping.profiles[profile]
    if category is None:
        out: list = []
        for c in cats:
            for kind in mapping.kinds_for(profile, c):
                if kind not in out:
                    out.append(kind)
        return out
    kinds = mapping.kinds_for(profile, category)
    if not kinds:
        have = ", ".join(cats)
        raise Refused(f"osquery has no {profile} table for the event category {category!r} in this target (covered: {have})", node)
    return kinds


def _tag_platforms(rule: Rule, mapping: Mapping) -> Optional[set]:
    """osquery platforms named by the rule's ``OS:`` tags (None when it has none)."""
    if not rule.os_types:
        return None
    return {mapping.os_tags[o] for o in rule.os_types if o in mapping.os_tags}


def source_of(sql: str, table: str, mapping: Mapping) -> TableMap:
    """The source a pack query reads: the one of ``table`` whose row filter the query carries."""
    from .emitter import filter_sql

    cands = [t for t in mapping.tables.values() if t.sql_table == table]
    # the row filter is written first in WHERE, one condition per line (emitter.select_sql)
    lines = [ln.strip().rstrip(";") for ln in sql.splitlines()]  # the filter may be the last line
    conds = [ln[len("WHERE "):] if ln.startswith("WHERE ") else ln[len("AND "):] for ln in lines
             if ln.startswith(("WHERE ", "AND "))]
    matching = [t for t in cands if conds[: len(t.filter)] == filter_sql(t)]
    if not matching:
        raise ValueError(f"no source of the table {table} matches the query {sql!r}")
    best = max(len(t.filter) for t in matching)
    top = [t for t in matching if len(t.filter) == best]
    if len(top) > 1 and best > 0:
        raise ValueError(f"sources {', '.join(t.name for t in top)} share the row filter of {sql!r}")
    return top[0]
