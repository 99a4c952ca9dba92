"""A rule -> the osquery queries that express it: which tables, which platforms, which SQL.

* The rule's event category picks the table of the profile (``events``: ``process_events``,
  ``file_events``, ``socket_events``; ``hunting``: ``processes``); ``any`` tries every table of
  the profile and keeps those where the condition can hold (a refusal on any of them refuses
  the rule, since Elasticsearch would search that category too).
* Each table is compiled per osquery platform, because columns and fixed values differ
  (``syscall`` exists only on Linux) and ``host.os.type`` is the platform's. Platforms where the
  condition is false are dropped; identical SQL is shared.
* The rule's ``OS:`` tags restrict the platforms the pack runs on; if that drops a platform on
  which the query could match, it is stated (the query itself does not test ``host.os.type``).
* Sequences, samples and pipes are refused: a scheduled osquery query reads one table's rows
  captured since its last run, and cannot order or correlate events by key and time.
"""

from __future__ import annotations

from typing import Optional

from eqlc import ir
from eqlc.result import Refused
from eqlc.rule import Rule

from .emitter import Emitter, Plan, QueryPlan, select_sql
from .fields import Mapping

SEQUENCE_REASON = (
    "{kind}s are not translated: an osquery scheduled query reads the rows one table captured since its "
    "last run and cannot order, key and time-bound several events as EQL {kind}s do"
)


def plan(rule: Rule, mapping: Mapping, profile: str) -> Plan:
    """Compile ``rule``; raises :class:`Refused` with the reason when osquery cannot express it."""
    query = rule.query
    if query.pipes:
        raise Refused(f"the pipe | {query.pipes[0].name} is not translated: osquery scheduled queries have no result window")
    body = query.body
    if isinstance(body, (ir.Sequence, ir.Sample)):
        raise Refused(SEQUENCE_REASON.format(kind=query.kind))
    assert isinstance(body, ir.EventQuery)
    if profile not in mapping.profiles:
        raise Refused(f"unknown osquery profile {profile!r}; expected one of {', '.join(mapping.profiles)}")
    category, condition = body.category, body.condition
    override = rule.event_category_override
    if override and override != "event.category" and category is not None:
        # `cat where` tests the override field, not event.category (the rule's event_category_override)
        test = ir.Compare(ir.CompareOp.EQ, ir.Field(tuple(override.split("."))), ir.String(category))
        category, condition = None, ir.And((test, condition))
    tables = _tables(category, mapping, profile)

    tag_platforms = _tag_platforms(rule, mapping)
    served = {p for t in tables for p in t.platforms}
    if tag_platforms is not None and not (tag_platforms & served):
        raise Refused(
            f"the rule is tagged for {', '.join(sorted(rule.os_types))}; osquery's "
            f"{', '.join(t.name for t in tables)} covers {', '.join(sorted(served))} in this target"
        )
    result = Plan()
    deciding: set = set()
    compiled: list[tuple] = []  # (table, platform, frag)
    platform_refusals: list[str] = []
    refused_on: set = set()  # platforms where the condition could not be translated (not: is false)
    for table in tables:
        per_platform: list[tuple] = []
        refusals: list[tuple] = []
        for platform in table.platforms:
            try:
                frag = Emitter(table, platform, mapping).translate(condition)
            except Refused as r:
                refusals.append((platform, r))
                refused_on.add(platform)
                continue
            if frag.sql is not False:
                per_platform.append((platform, frag))
            elif tag_platforms is None or platform in tag_platforms:
                deciding |= set(frag.fields)
        wanted = [p for p, _ in refusals if tag_platforms is None or p in tag_platforms]
        if wanted and not per_platform:
            platform, r = next((p, r) for p, r in refusals if p in wanted)
            raise r
        if category is None and wanted:
            raise next(r for p, r in refusals if p in wanted)
        for platform, r in refusals:
            if platform in wanted:
                platform_refusals.append(f"the query does not run on {platform}: {r.reason}")
        compiled.extend((table, p, f) for p, f in per_platform)
    if not compiled:
        names = ", ".join(t.name for t in tables)
        by = ", ".join(sorted(deciding)) or "its constant parts"
        raise Refused(
            f"the condition can never hold for osquery's {names} rows on {', '.join(sorted(served))}: {by} "
            "only take the values listed in the osquery mapping there (see its notes), and the rule's tests on them fail"
        )

    # Platforms: the rule's OS tags restrict where the pack runs.
    possible = {p for _, p, _ in compiled}
    if tag_platforms is not None:
        kept = [(t, p, f) for t, p, f in compiled if p in tag_platforms]
        if not kept:
            raise Refused(
                f"the rule is tagged for {', '.join(sorted(rule.os_types))}; osquery's "
                f"{', '.join(sorted({t.name for t, _, _ in compiled}))} runs on {', '.join(sorted(possible))} in this target"
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
    result.notes.extend(platform_refusals)

    # Notes, fields, and one query per distinct SQL text.
    by_sql: dict = {}
    for table, platform, frag in compiled:
        if table.note:
            _add(result.notes, table.note)
        for n in frag.notes:
            _add(result.notes, n)
        result.fields |= set(frag.fields)
        sql = select_sql(table, frag, mapping.schema)
        key = (table.name, sql)
        if key not in by_sql:
            by_sql[key] = QueryPlan(table.name, [], sql, len(mapping.schema[table.name]))
        by_sql[key].platforms.append(platform)
    result.queries = list(by_sql.values())
    # a refused platform is not one where the condition is false: its events are outside the
    # stated assumption "the query does not run on <platform>", never checked as non-matches
    result.false_on = {p for t in tables for p in t.platforms} - possible - refused_on
    result.table_names = list(dict.fromkeys(q.table for q in result.queries))
    return result


def _add(notes: list, text: str) -> None:
    if text not in notes:
        notes.append(text)


def _tables(category: Optional[str], mapping: Mapping, profile: str) -> list:
    if category is None:
        names = list(dict.fromkeys(mapping.profiles[profile].values()))
        return [mapping.tables[n] for n in names]
    table = mapping.table_for(profile, category)
    if table is None:
        have = ", ".join(f"{c} ({t})" for c, t in mapping.profiles[profile].items())
        raise Refused(f"osquery has no {profile} table for the event category {category!r} in this target (covered: {have})")
    return [table]


def _tag_platforms(rule: Rule, mapping: Mapping) -> Optional[set]:
    """osquery platforms named by the rule's ``OS:`` tags (None when it has none)."""
    if not rule.os_types:
        return None
    return {mapping.os_tags[o] for o in rule.os_types if o in mapping.os_tags}
