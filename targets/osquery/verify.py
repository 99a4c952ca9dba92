"""Checking a translation against the reference semantics, event by event.

For each ECS event the runner writes the rows osquery would hold and runs the pack's queries.
Two comparisons are meaningful:

* the *view* of the rows (the ECS event Elasticsearch would see for exactly those rows) against
  the reference matcher: this must always agree, it is the claim "the SQL selects what the EQL
  rule selects" on data osquery can hold;
* the original event, where the rows reproduce every field the translation reads
  (``mismatches`` is empty): the same claim on the fixture itself. Events the rows cannot
  reproduce (a ``process.name`` that is not the executable's file name, a vendor's
  ``event.action``...) are listed with the fields at fault instead of being compared.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterable, Optional

from eqlc.events import values
from eqlc.matcher import matcher
from eqlc.result import Translation
from eqlc.rule import Rule
from eqlc.target import EVENT_ID_FIELD

from . import fields as F
from .planner import plan
from .adapter import Adapter
from .fuzz import fields_of
from .runner import Runner, event_platform, in_table, pack_queries


@dataclass
class EventCheck:
    id: str
    selected: bool
    loaded: bool  # some query ran over rows made from this event
    mismatches: list = field(default_factory=list)  # fields the rows cannot reproduce
    views: list = field(default_factory=list)  # (view event, selected) per query run
    read_alike: bool = False  # the rule reads every view as it reads the event (see check_events)

    @property
    def faithful(self) -> bool:
        return not self.mismatches

    @property
    def in_scope(self) -> bool:
        """The pack's answer on this event is claimed to be the rule's: the rows reproduce every
        field the translation reads, or the rule reads the rows' event as it reads this one."""
        return self.faithful or self.read_alike


def check_events(
    rule: Rule, translation: Translation, events: Iterable[dict], mapping: Optional[str] = None, profile: Optional[str] = None
) -> list[EventCheck]:
    m = F.load(mapping)
    prof = profile or translation.profile or "events"
    p = plan(rule, m, prof)
    read = p.fields
    body = rule.query.body
    condition_fields = fields_of(body.condition) | read  # type: ignore[union-attr]
    os_named = "host.os.type" in fields_of(body.condition)  # type: ignore[union-attr]
    queries = pack_queries(translation, m)
    runner = Runner(m)
    ref = None
    out = []
    try:
        for event in events:
            runs = runner.run_event(queries, event)
            eid = str(event.get(EVENT_ID_FIELD))
            check = EventCheck(eid, any(r.selected for r in runs), bool(runs))
            if not runs:
                check.mismatches.extend(_unqueried(event, rule, m, prof, p, queries, condition_fields, os_named))
            for r in runs:
                check.mismatches.extend(f for f in r.adapter.mismatches(event, r.loaded, read, os_named) if f not in check.mismatches)
                check.views.append((r.adapter.view_event(r.loaded, eid), r.selected))
            if check.mismatches and check.views:
                # The rows hold the nearest event osquery can record (a Sysmon event.action for a
                # neutral one, the platform's host.os.type for none...). When the rule reads that
                # event as it reads this one, the pack's answer on the rows (which must be the
                # rule's answer on the rows' event, or it disagrees there) is the rule's answer here.
                if ref is None:
                    ref = matcher(rule, mapping=es_index_mapping(m))
                want = ref.match(event)
                check.read_alike = all(ref.match(view) == want for view, _ in check.views)
            out.append(check)
    finally:
        runner.close()
    return out


def _unqueried(event: dict, rule: Rule, m: F.Mapping, profile: str, p, queries: list, read: set, os_named: bool) -> list[str]:
    """Why an event no pack query runs on is outside the translation's claim ([] if it is not).

    No query runs on it when its category is not the rule's (both sides reject it), or when the
    condition is false on every source that could hold it on its platform. That is only right for
    an event such a source can hold exactly: one it cannot (a Windows process event with an
    event.code, which Elastic Defend never writes) is outside; so is one on a platform the packs
    were not built for (the rule's OS tags dropped it, or it was refused there)."""
    cats = values(event, ("event", "category"))
    category = rule.query.body.category  # type: ignore[union-attr]
    if category is not None and not rule.event_category_override and category not in cats:
        return []
    platform = event_platform(event, queries, m)
    holders = [t for c in cats for kind in m.kinds_for(profile, c) for t in kind if platform in t.platforms]
    holders = [t for t in dict.fromkeys(holders) if (t.name, platform) in p.false_sources]
    if not holders:
        return ["host.os.type" if values(event, ("host", "os", "type")) else "event.category"]
    best: Optional[list] = None
    for t in holders:
        adapter = Adapter(m, t, platform)
        bad = adapter.mismatches(event, adapter.load(event), read | {"host.os.type"}, os_named)
        if not bad:
            return []
        best = bad if best is None or len(bad) < len(best) else best
    return best or []


def unrepresentable(rule: Rule, translation: Translation, events: Iterable[dict], mapping: Optional[str] = None) -> dict:
    """``{event id: [fields]}`` for the events outside the translation's claim: osquery's rows
    cannot reproduce them, and the rule reads the rows' event otherwise (:attr:`EventCheck.in_scope`)."""
    return {c.id: c.mismatches for c in check_events(rule, translation, events, mapping) if not c.in_scope}


_ES_TYPES = {"keyword": "keyword", "long": "long", "ip": "ip"}


def _es_type(fm: F.FieldMap) -> str:
    """The ECS type of a mapped field: ``long`` for counts and integer columns, ``ip``, and
    ``boolean`` for a field whose values are all booleans (``code_signature.exists``...)."""
    if fm.kind == "token_count":
        return "long"
    values = [v for _, vs in fm.values for v in vs] if fm.kind == "enum" else list(fm.constant)
    if values and all(isinstance(v, bool) for v in values):
        return "boolean"
    return _ES_TYPES.get(fm.type, "keyword")


def es_index_mapping(mapping: F.Mapping) -> dict:
    """The Elasticsearch index mapping of the ECS fields the osquery mapping defines (ECS types:
    ``process.pid`` long, ``destination.ip`` ip, ``user.id`` keyword...), so that the reference
    matcher types the views' values as an ECS index would."""
    props: dict = {}

    def put(name: str, es_type: str) -> None:
        node = props
        parts = name.split(".")
        for part in parts[:-1]:
            node = node.setdefault(part, {"properties": {}})["properties"]
        have = node.get(parts[-1], {}).get("type")
        if have is None or (have == "keyword" and es_type != "keyword"):
            node[parts[-1]] = {"type": es_type}  # one source's constant never retypes another's column

    put("host.os.type", "keyword")
    for table in mapping.tables.values():
        for fields in table.fields.values():
            for fm in fields.values():
                if fm.kind in ("absent", "refuse"):
                    continue
                put(fm.ecs, _es_type(fm))
    # fields under a wildcard (winlog.event_data.*) are keywords; the matcher reads an unmapped
    # field as a keyword too
    return {"properties": props}


@dataclass
class Disagreement:
    query: str
    platform: str
    view: dict
    sql_selected: bool


def differential(rule: Rule, translation: Translation, rows: int = 40, mapping: Optional[str] = None, seed: int = 0) -> tuple[int, int, list]:
    """Generate ``rows`` row sets per query and platform from the rule's literals (a quarter at
    random, the rest built to make the condition true, or false), run the SQL, and compare with
    the reference matcher on each row set's ECS view.

    Returns (row sets run, row sets the SQL selected, disagreements)."""
    from eqlc.matcher import matcher

    from .fuzz import WitnessMaker

    m = F.load(mapping)
    ref = matcher(rule, mapping=es_index_mapping(m))
    runner = Runner(m)
    ran = selected = 0
    bad: list = []
    try:
        for q in pack_queries(translation, m):
            for platform in q.platforms:
                maker = WitnessMaker(m, q.table, platform, rule.query.body.condition, seed)  # type: ignore[union-attr]
                adapter = Adapter(m, q.table, platform)
                sets = list(maker.rows(rows // 4)) + [maker.witness(i % 3 != 2) for i in range(rows - rows // 4)]
                for i, loaded in enumerate(sets):
                    main_row = runner.load(loaded, q.table, platform)
                    got = runner.selects(q.sql, main_row)
                    view = adapter.view_event(loaded, f"g{i}")
                    ran += 1
                    selected += got
                    if ref.match(view) != got:
                        bad.append(Disagreement(q.sql, platform, view, got))
    finally:
        runner.close()
    return ran, selected, bad
