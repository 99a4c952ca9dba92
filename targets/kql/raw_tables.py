"""Raw log tables (the ``sentinel`` profile): tables chosen by the rule's data source, not by its
event category.

Defender's and ASIM's tables each hold one event category (DeviceProcessEvents: ``process``), so
the emitter picks a table from the query's category. Sentinel's raw tables hold one data source
each, of every category: ``SecurityEvent`` is the Windows Security event log (logons are
``authentication``, account changes ``iam``, service installs ``configuration``...),
``AWSCloudTrail`` is CloudTrail. Elastic's rules name their data source by index pattern
(``logs-system.security*``, ``winlogbeat-*``), so a raw table declares the patterns it stands for
(``sources`` in the profile YAML, category ``*``; ``shared_sources`` for patterns that hold other
data too, such as ``filebeat-*``, accepted only beside one of its own) and a rule whose every
pattern one table lists reads that table; the table stands for those indices as DeviceProcessEvents stands for
``process`` events in the other profiles, and the profile states so (``source_note``).

The query's category (``iam where ...``; with a rule's ``event_category_override``, the value of
that field: ``info where`` tests event.type) is then no table fact: the translation states that the
rows the query selects are events of that category in Elastic's terms (Elastic's integrations
derive ``event.category`` from the event code) and the fixture adapter leaves out events of
another category, through the same :class:`~eqlc.targets.kql.emit.Fact` mechanism as table facts.

``keyword_number`` fields: ECS ``event.code`` is a keyword holding the Windows event id as text,
SecurityEvent's ``EventID`` an int. Winlogbeat and Elastic Agent write the id in decimal
(``strconv``-style: no sign, no leading zero), so an equality with a canonical decimal literal is
the int comparison; an event.code spelt otherwise is outside the stated mapping (the adapter
leaves it out), and a comparison that depends on the text (ordering, wildcards, a literal that is
not canonical decimal) is refused.
"""

from __future__ import annotations

import fnmatch

import dataclasses
import ipaddress
import re
from typing import Any, Optional

from eqlc import ir
from eqlc.result import Notes, Refused
from eqlc.rule import Rule

from eqlc.events import split_path, values

from .profile import ANY_CATEGORY, FieldMap, Profile, Table, XmlData, xml_extract

CANONICAL_DECIMAL = re.compile(r"0|[1-9][0-9]*")
XML_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]*")


def is_raw(profile: Profile) -> bool:
    """Whether the profile's tables are chosen by data source (index patterns)."""
    return any(t.category == ANY_CATEGORY for t in profile.tables.values())


def is_hybrid(profile: Profile) -> bool:
    """Whether raw tables stand beside category tables (defender: CloudAuditEvents, the cloud audit
    log, chosen by the rule's index patterns; the device tables by category)."""
    return is_raw(profile) and any(t.category != ANY_CATEGORY for t in profile.tables.values())


def without_raw(profile: Profile) -> Profile:
    """A hybrid profile's category tables only (what a rule whose data no raw table holds reads)."""
    if not is_hybrid(profile):
        return profile
    return dataclasses.replace(profile, tables={n: t for n, t in profile.tables.items() if t.category != ANY_CATEGORY})


def narrow(profile: Profile, rule: Rule, notes: Notes) -> Profile:
    """The profile restricted to the one raw table holding the rule's data: the table whose
    ``sources`` list every index pattern of the rule. A rule naming no index, or patterns no one
    table lists, is refused (its data is in no raw table of the profile, or in several). In a
    hybrid profile such a rule reads the category tables instead."""
    if not is_raw(profile):
        return profile
    index = tuple(rule.index or ())
    if is_hybrid(profile) and not any(t.category == ANY_CATEGORY and index and all(p in t.sources or p in t.shared_sources for p in index)
                                      and any(p in t.sources for p in index) for t in profile.tables.values()):
        return without_raw(profile)
    if not index:
        raise Refused(f"the rule names no index pattern: the {profile.name} profile picks its raw table by the rule's data source")
    full, index = index, _present(profile, index, notes)  # refusals name every pattern of the rule
    found = [t for t in profile.tables.values() if t.category == ANY_CATEGORY
             and all(p in t.sources or p in t.shared_sources for p in index) and any(p in t.sources for p in index)]
    multi = _routed(profile, index)
    if multi:
        multi = _within_data_sets(profile, rule, index, multi, notes)
        for t in multi:
            if t.source_note:
                notes.assume(t.source_note)
        return dataclasses.replace(profile, tables={t.name: t for t in multi},
                                   category_field=rule.event_category_override or "event.category")
    if len(found) > 1:
        raise Refused(f"the rule's index patterns fit several {profile.name} tables: {', '.join(full)} "
                      f"({', '.join(t.name for t in found)})")
    if not found:
        why = _why_no_table(profile, full)
        raise Refused(f"no {profile.name} table holds the rule's data: index patterns {', '.join(full)}" + (f"; {why}" if why else ""))
    t = found[0]
    if t.categories:
        odd = sorted({c or "any" for c in _categories(rule.query)} - set(t.categories))
        if odd or rule.event_category_override:
            raise Refused(f"no {profile.name} table holds the rule's data: index patterns {', '.join(full)}; "
                          f"{t.name} is read for their {', '.join(t.categories)} events only, and the rule has "
                          f"{', '.join(f'`{c}`' for c in odd) or 'an event_category_override'} queries"
                          + (f" ({t.categories_note})" if t.categories_note else ""))
    if t.source_note:
        notes.assume(t.source_note)
    extra = {f.name: fm for f in _fields(rule.query) if (fm := xml_field(t, f.name)) is not None}
    if extra:
        t = dataclasses.replace(t, fields={**t.fields, **extra})
    return dataclasses.replace(profile, tables={t.name: t}, category_field=rule.event_category_override or "event.category")


def _present(profile: Profile, index: tuple[str, ...], notes: Notes) -> tuple[str, ...]:
    """``index`` without the patterns of data the profile takes to be absent (``absent_sources``)
    when other patterns remain: the rule is read from those, and the absence is stated (kqlkerb3:
    Elastic Defend's logs-endpoint.* beside the Windows logs, the reverse of the defender profile,
    which reads logs-endpoint.* and takes the Windows logs to be absent; the fixture adapter leaves
    out events of the absent data sets, adapter._absent_source). A rule naming only such patterns
    is left as it is (refused: no table holds its data)."""
    for entry in profile.raw.get("absent_sources") or ():
        pats = [str(p) for p in entry.get("sources") or ()]
        gone = [p for p in index if any(fnmatch.fnmatchcase(p, q) for q in pats)]
        if gone and len(gone) < len(index):
            index = tuple(p for p in index if p not in gone)
            notes.assume(" ".join(str(entry.get("reason", "")).split()) + f" ({', '.join(gone)})")
    return index


def _routed(profile: Profile, index: tuple[str, ...]) -> list[Table]:
    """The raw tables that together hold the data of ``index``'s patterns when Sentinel splits one
    Elastic data set (or several named by the rule) over several tables, each routed by fact fields
    (``route``: Elastic's azure identity_protection data stream holds the RiskyUsers and
    UserRiskEvents records, AADRiskyUsers and AADUserRiskEvents in Sentinel). Every raw table listing
    one of the patterns as its own must declare a route, and every pattern must be some such table's
    (own or shared); otherwise [] (one table, or none, decides as before). A rule then reads each
    table as a union leg (targets/kql/query.py), and the fixture adapter puts an event in the table
    its route fields name (adapter._lands)."""
    own = [t for t in profile.tables.values() if t.category == ANY_CATEGORY
           and any(p in t.sources or _covers(p, t) for p in index)]
    if any(_covers(p, t) for p in index for t in own):  # a wide pattern (logs-azure.*): route every table
        own = union_legs(own)  # by its data set, as Elastic names it
    elif not any(all(p in t.sources or p in t.shared_sources for p in index) for t in own):
        own = jointly_routed(own)  # kqlkerb2: only where no one table holds every pattern's data
    if len(own) < 2 or not all(t.route for t in own):
        return []
    if not all(any(p in t.sources or p in t.shared_sources or _covers(p, t) for t in own) for p in index):
        return []
    return own


def jointly_routed(tables: list[Table]) -> list[Table]:
    """``tables`` (raw tables a rule reads together) with each one's ``joint_route`` as its route
    when none has a route of its own and every one has a joint route (Event's Sysmon log beside
    SecurityEvent's Security log, routed by winlog.channel; kqlkerb2); otherwise unchanged. The
    emitter (:func:`_routed`) and the fixture adapter (adapter.load_for) both read them so."""
    if len(tables) >= 2 and not any(t.route for t in tables) and all(t.joint_route for t in tables):
        return [dataclasses.replace(t, route=tuple(t.joint_route)) for t in tables]
    return tables


# ---- kqlgraph: one index pattern wider than the tables' own (issue 13) ----
# Elastic names a data stream's indices logs-<data set>-<namespace> (the data stream naming scheme:
# elastic.co/guide/en/fleet/current/data-streams.html), so a rule's pattern such as logs-azure.*
# reads every data set whose name starts with azure. : the data sets some routed tables stand for
# (logs-azure.signinlogs-*, ...) and every other one. Such a pattern is read as the union of the
# tables whose own patterns it covers only when every query of the rule requires data_stream.dataset
# to be one of the data sets those tables hold (or another table of the union holds): events of the
# other data sets then match no query, and leaving them unread changes nothing.

def _covers(pattern: str, t: Table) -> bool:
    """Whether the rule's index ``pattern`` is wider than one of ``t``'s own patterns (every index
    that own pattern names, the rule's pattern names too): fnmatch of the own pattern's text, whose
    ``*`` then stands for itself."""
    return any(s != pattern and "*" in pattern and fnmatch.fnmatchcase(s, pattern) for s in t.sources)


def union_legs(tables: list[Table]) -> list[Table]:
    """Routed raw tables read together (a wide pattern's union), each table without a route of its
    own routed by its data set (:func:`_routed_by_data_set`); the fixture adapter loads the same
    legs, so an event lands in the table of its data set only."""
    if len(tables) < 2 or not any(t.route for t in tables):
        return tables
    return [t if t.route else _routed_by_data_set(t) for t in tables]


def _routed_by_data_set(t: Table) -> Table:
    """A raw table read as one leg of a wide pattern's union when it declares no route of its own:
    its rows are the events of its data set (its ``data_stream.dataset`` fact); without that fact
    it cannot be routed (and the union is not built)."""
    if not t.facts.get(DATA_SET):
        return t
    return dataclasses.replace(t, route=(DATA_SET,))


DATA_SET = "data_stream.dataset"


def _within_data_sets(profile: Profile, rule: Rule, index: tuple[str, ...], tables: list[Table],
                      notes: Notes) -> list[Table]:
    """The routed tables a wide pattern's rule reads, after checking that the pattern's other data
    sets can match no query (see above): every event query of the rule restricts data_stream.dataset
    to data sets the tables' facts name; otherwise refused, naming the pattern. A table none of whose
    data sets any query allows holds no row a query selects, and is left out (stated)."""
    wide = [p for p in index if any(_covers(p, t) for t in tables)]
    if not wide:
        return tables
    held = [v for t in tables for v in t.facts.get(DATA_SET, ())]
    allowed_all: list[tuple[str, bool]] = []
    for q in _event_queries(rule.query):
        allowed = restricted_values(q.condition, DATA_SET)
        if allowed is None or not all(any(_fold_eq(v, h, ci) for h in held) for v, ci in allowed):
            raise Refused(f"no {profile.name} table holds the rule's data: index patterns {', '.join(index)}; "
                          f"{', '.join(wide)} reads every data set of its name, and the rule does not require "
                          f"{DATA_SET} to be one of those the tables {', '.join(t.name for t in tables)} hold "
                          f"({', '.join(sorted(set(held)))})")
        allowed_all.extend(allowed)
    kept = [t for t in tables if any(_fold_eq(v, h, ci) for v, ci in allowed_all for h in t.facts.get(DATA_SET, ()))]
    left = [t.name for t in tables if t not in kept]
    notes.assume(f"{', '.join(wide)} names every data set of its prefix; every query of the rule requires "
                 f"{DATA_SET} to be {' or '.join(repr(v) for v in dict.fromkeys(v for v, _ in allowed_all))}, so only "
                 f"the tables holding those data sets are read"
                 + (f" (not {', '.join(left)})" if left else "") + ", and events of the others match no query")
    return kept


def _fold_eq(a: str, b: str, ci: bool) -> bool:
    from .emit import eq_fold
    return eq_fold(a, b, ci)


def _event_queries(node: Any):
    """Every event query anywhere in a rule's query (a sequence's or join's steps)."""
    return (n for n in _nodes(node) if isinstance(n, ir.EventQuery))


def restricted_values(e: ir.Expr, field: str) -> Optional[list[tuple[str, bool]]]:
    """The values of ``field`` (each with its case-insensitivity) one of which every event satisfying
    ``e`` has, or None when ``e`` does not restrict the field to listed values: a positive literal test
    restricts it; ``and`` by any of its terms (the shortest list is kept: the field may be multi-valued,
    as event.category is, so two terms do not intersect); ``or`` only when each of its terms does;
    ``not`` and everything else restrict nothing. The data sets a wide index pattern's rule reads
    (:func:`_within_data_sets`) and the categories of an ``any`` query (query.restricted_categories)."""
    from .emit import leaf_field, literal_values

    if isinstance(e, ir.Boolean):
        return None if e.value else []
    if isinstance(e, ir.And):
        found = [r for r in (restricted_values(t, field) for t in e.terms) if r is not None]
        return min(found, key=len) if found else None
    if isinstance(e, ir.Or):
        parts = [restricted_values(t, field) for t in e.terms]
        if any(p is None for p in parts):
            return None
        return list(dict.fromkeys(v for p in parts for v in p))  # type: ignore[union-attr]
    f = leaf_field(e)
    if f is None or f.name != field or not isinstance(e, (ir.Compare, ir.InSet, ir.WildcardMatch)):
        return None
    values, ci = literal_values(e)
    return None if values is None else [(v, ci) for v in values]


def is_multi(profile: Profile) -> bool:
    """Whether a narrowed raw profile reads several routed tables (:func:`_routed`)."""
    return sum(1 for t in profile.tables.values() if t.category == ANY_CATEGORY) > 1 and all(
        t.route for t in profile.tables.values() if t.category == ANY_CATEGORY)


def routes(t: Table, event: dict) -> bool:
    """Whether ``event`` is a row of routed raw table ``t``: each route field has one of the table's
    fact values (exact, as Elastic's pipelines write them)."""
    for name in t.route:
        have = [v for v in values(event, split_path(name)) if isinstance(v, str)]
        if not any(v in (t.joint_route.get(name) or t.facts.get(name, ())) for v in have):
            return False
    return True


def _why_no_table(profile: Profile, index: tuple[str, ...]) -> str:
    """The profile's recorded reason (``no_raw_table`` in its YAML, with sources) why no table holds
    the data of one of ``index``'s patterns: Sentinel keeps it in custom-log tables Microsoft's table
    reference does not document, or the profile maps no table for it, and why."""
    for entry in profile.raw.get("no_raw_table") or ():
        pats = [str(p) for p in entry.get("sources") or ()]
        if any(fnmatch.fnmatchcase(p, q) or p == q for p in index for q in pats):
            return " ".join(str(entry.get("reason", "")).split())
    return ""


def _categories(node: Any):
    """The category of every event query anywhere in a rule's query (None for `any`)."""
    return (q.category for q in _event_queries(node))


def _fields(node: Any):
    """Every ir.Field anywhere in a query (conditions, sequence keys)."""
    return (n for n in _nodes(node) if isinstance(n, ir.Field))


def raw_table(profile: Profile) -> Optional[Table]:
    """The raw table of a narrowed profile (every query of the rule reads it), or None."""
    return next((t for t in profile.tables.values() if t.category == ANY_CATEGORY), None)


def category_leaf(category: str, field: str = "event.category") -> ir.Expr:
    return ir.Compare(ir.CompareOp.EQ, ir.Field(tuple(field.split("."))), ir.String(category))


def assume_category(em: Any, table: Table, category: Optional[str], when: Optional[ir.Expr] = None) -> None:
    """For a raw table, state that the rows the query selects are ``category`` events and record
    the assumption as a fact for the adapter to check (events of another category are outside).
    ``when``: the sequence step's condition, whose rows alone the fact is about (the steps of one
    sequence read the same raw table for events of different categories: ``authentication`` then
    ``iam``)."""
    from .emit import Fact

    if table.category != ANY_CATEGORY or category is None:
        return
    field = em.profile.category_field
    what = f"`{category}` events" if field == "event.category" else f"events whose {field} is {category!r} (the rule's event_category_override)"
    rows = f"the {table.name} rows the query selects" if when is None else f"the {table.name} rows a sequence step selects"
    em.notes.assume(f"{rows} are taken to be {what} (Elastic's integration "
                    f"sets {field} from the event; no {table.name} column records it)")
    fact = Fact(category_leaf(category, field), True, when=when)
    if not any(f.leaf == fact.leaf and f.when == fact.when for f in em.facts):
        em.facts.append(fact)


def category_mapped(table: Table, field: str) -> bool:
    """Whether the raw table computes the category field per row (SecurityEvent: from the event id,
    as Elastic's categorization table does), so that a query's category is a test, not an assumption."""
    fm = table.fields.get(field)
    return table.category == ANY_CATEGORY and fm is not None and fm.value_when is not None


_IDS_PREDICATE = re.compile(r"isnotnull\(EventID\) and EventID in \(([0-9, ]+)\)")


def _category_ids(table: Table, field: str, category: str) -> Optional[frozenset[int]]:
    """The event ids whose rows the table's per-id mapping gives ``category`` (None: not of that form)."""
    pred = (table.fields[field].value_when or {}).get(category)
    m = _IDS_PREDICATE.fullmatch(pred or "")
    return frozenset(int(x) for x in m.group(1).split(",")) if m else frozenset() if pred is None else None


def with_category(em: Any, table: Table, category: Optional[str], cond: ir.Expr, when: Optional[ir.Expr] = None) -> ir.Expr:
    """The condition a raw-table query (or sequence step) tests for its category.

    Where the table computes the category field per row (:func:`category_mapped`: SecurityEvent,
    from the event id as Elastic's categorization table does), the category is exact: a condition
    that pins event ids all of that category keeps ``cond`` and states the category of its rows
    (true by the table, and checked); otherwise the category test is added as a conjunct, so rows
    of other ids are not read as events of the query's category. Elsewhere the category is an
    assumption on the rows the query selects (:func:`assume_category`)."""
    field = em.profile.category_field
    if category is None or not category_mapped(table, field):
        assume_category(em, table, category, when)
        return cond
    ids, pinned = _category_ids(table, field, category), pinned_event_ids(table, cond)
    if ids is not None and pinned and pinned <= ids:
        assume_category(em, table, category, when)
        return cond
    return ir.And((category_leaf(category, field), cond))


def check_keyword_number(e: ir.Expr, fm: FieldMap) -> None:
    """Refuse a leaf on a ``keyword_number`` field (event.code -> EventID) that the int column
    cannot decide as Elasticsearch decides it on the keyword."""
    if isinstance(e, ir.IsNull):
        return
    if isinstance(e, ir.Compare) and e.op is ir.CompareOp.EQ:
        lits = [e.right if isinstance(e.left, ir.Field) else e.left]
    elif isinstance(e, ir.InSet):
        lits = [v for v in e.values if not isinstance(v, ir.Null)]
    elif isinstance(e, ir.WildcardMatch) and all(p.kind is ir.PatternKind.EXACT for p in e.patterns):
        lits = [ir.String(p.text) for p in e.patterns]
    else:
        raise Refused(f"{fm.field} is a keyword read from the number {fm.text}: only equality with decimal literals translates")
    for lit in lits:
        if not isinstance(lit, ir.String) or not CANONICAL_DECIMAL.fullmatch(lit.value):
            shown = getattr(lit, "value", lit)
            raise Refused(f"{fm.field} value {shown!r} is not a decimal number as {fm.text} is written: no {fm.text} equivalent")


def keyword_number_breaks(fm: FieldMap, vals: list) -> Optional[str]:
    """Why an event's values of a ``keyword_number`` field are outside the stated mapping, or None."""
    for v in vals:
        text = str(v) if isinstance(v, int) and not isinstance(v, bool) else v
        if not isinstance(text, str) or not CANONICAL_DECIMAL.fullmatch(text):
            return (f"{fm.field} {v!r} is not {fm.text} written in decimal "
                    f"(no sign, no leading zero)")
    return None


# ---- fields read from the event XML (SecurityEvent.EventData) -----------------------------------
def xml_field(table: Table, name: str) -> Optional[FieldMap]:
    """The field ``name`` read from the table's event XML column, when the table has no column of
    its own for it and it names a Data element (``winlog.event_data.ObjectDN`` -> the text of
    ``<Data Name="ObjectDN">``, its XML entities decoded), else None."""
    xml = table.xml
    if xml is None or name in table.fields or not name.startswith(xml.prefix):
        return None
    data_name = name[len(xml.prefix):]
    if not XML_NAME.fullmatch(data_name) or data_name in xml.not_in_xml or data_name in xml.moved:
        return None
    return FieldMap(name, None, "string", note=xml.note, expr=xml_extract(xml.column, data_name, xml.empty_values), columns=(xml.column,))


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _names(node: Any, prefix: tuple[str, ...], out: set[str]) -> None:
    """Dotted names of the leaves under ``node`` (nested objects or dotted keys)."""
    if isinstance(node, dict):
        for k, v in node.items():
            _names(v, prefix + tuple(str(k).split(".")), out)
    else:
        out.add(".".join(prefix))


def event_data_xml(xml: XmlData, event: dict) -> tuple[Optional[str], Optional[str]]:
    """(the event's XML column, None) or (None, why the event cannot be such a row): one
    ``<Data Name="N">`` element per ECS field ``prefix + N`` with one value, its text escaped as the
    stated assumption says the agent writes it (``&``, ``<``, ``>`` as entities)."""
    names: set[str] = set()
    _names(event, (), names)
    parts = []
    for name in sorted(n for n in names if n.startswith(xml.prefix)):
        data_name = name[len(xml.prefix):]
        if not XML_NAME.fullmatch(data_name) or data_name in xml.not_in_xml:
            continue
        vals = values(event, split_path(name))
        if len(vals) > 1:
            return None, f"{name} has {len(vals)} values but a Data element of {xml.column} holds one"
        if not vals:
            continue
        v = vals[0]
        if isinstance(v, (dict, list, bool)):
            return None, f"{name} is not text, as a Data element of {xml.column} is"
        parts.append(f'<Data Name="{data_name}">{_escape(str(v))}</Data>')
    return '<EventData xmlns="http://schemas.microsoft.com/win/2004/08/events/event">' + "".join(parts) + "</EventData>", None


# ---- fields the source derives per event id from one EventData value ---------------------------
def event_id_column(table: Table) -> Optional[str]:
    """The table's event id column: the one ``event.code`` is read from (SecurityEvent.EventID)."""
    fm = table.fields.get("event.code")
    return fm.column if fm is not None and fm.keyword_number else None


def fill_event_data(table: Table, event: dict, event_id: Any) -> list[tuple[tuple[str, ...], str]]:
    """The EventData values (as ECS paths and texts) to write into the raw row of ``event``: for
    each field the source derives from an EventData value for this event id (``event_data_from``:
    user.name from TargetUserName for a logon), the field's value when the event lacks that value.

    The fixture events are ECS documents: a witness of a rule testing user.name carries user.name,
    not the EventData it came from. Writing it back gives the raw row Elastic's pipeline would have
    read it from, so the query is tested on the row it would meet. This is the inverse of the
    field's expression, so it cannot show that the expression is Elastic's derivation (only the
    pipeline source can; sentinel.yaml cites it): it shows that the query's logic over the raw
    columns agrees with the rule's over the ECS fields. An event that holds the EventData value
    too is loaded as it is, and the computed-field check leaves it out when the expression gives
    another value than its ECS field (an event Elastic's pipeline cannot have written)."""
    if table.xml is None or not isinstance(event_id, int):
        return []
    out: list[tuple[tuple[str, ...], str]] = []
    seen: set[str] = set()
    for fm in table.fields.values():
        for ids, name, template in fm.event_data_from:
            if event_id not in ids:
                continue
            path = split_path(table.xml.prefix + name)
            vals = values(event, split_path(fm.field))
            if (name not in seen and len(vals) == 1 and isinstance(vals[0], (str, int)) and not isinstance(vals[0], bool)
                    and not values(event, path)):
                text = _fill_template(template, event)
                if text is not None:
                    out.append((path, text))
                    seen.add(name)
            break
    return out


_TEMPLATE_FIELD = re.compile(r"\{([^{}]+)\}")


def _fill_template(template: str, event: dict) -> Optional[str]:
    """``template`` with each ``{ecs.field}`` replaced by the event's one value of it ("" when
    missing; None when a field has several values or one that is not text)."""
    ok = True

    def one(m: re.Match) -> str:
        nonlocal ok
        vals = values(event, split_path(m.group(1)))
        if len(vals) > 1 or (vals and (not isinstance(vals[0], (str, int)) or isinstance(vals[0], bool))):
            ok = False
            return ""
        return str(vals[0]) if vals else ""

    text = _TEMPLATE_FIELD.sub(one, template)
    return text if ok else None


EVENT_ID_FIELDS = ("event.code", "event.action")


def pinned_event_ids(table: Table, cond: Any) -> Optional[frozenset[int]]:
    """The event ids ``cond`` can hold for (None: not pinned): an equality or set test of
    event.code (decimal literals) or of value-mapped event.action as a conjunct, at the top or in
    every branch of a disjunction."""
    if isinstance(cond, ir.And):
        sets = [x for t in cond.terms if (x := pinned_event_ids(table, t)) is not None]
        return frozenset.intersection(*sets) if sets else None
    if isinstance(cond, ir.Or):
        sets = [pinned_event_ids(table, t) for t in cond.terms]
        return None if any(x is None for x in sets) else frozenset().union(*sets)  # type: ignore[arg-type]
    f, lits = None, []
    if isinstance(cond, ir.Compare) and cond.op is ir.CompareOp.EQ:
        f, lit = (cond.left, cond.right) if isinstance(cond.left, ir.Field) else (cond.right, cond.left)
        lits = [lit]
    elif isinstance(cond, ir.InSet):
        f, lits = cond.expr, list(cond.values)
    elif isinstance(cond, ir.WildcardMatch) and all(p.kind is ir.PatternKind.EXACT for p in cond.patterns):
        f, lits = cond.expr, [ir.String(p.text) for p in cond.patterns]
    elif isinstance(cond, ir.WildcardMatch) and isinstance(cond.expr, ir.Field) and cond.expr.name in EVENT_ID_FIELDS:
        # kqldns: a pattern on value-mapped event.action (`event.action : "Image loaded*"`) pins the
        # ids of the listed actions it matches, decided as the emitter decides it (pattern_keys)
        fm = table.fields.get(cond.expr.name)
        if fm is None or fm.values is None or fm.lookup is not None:
            return None
        return frozenset(int(x) for k in pattern_keys(cond, cond.expr, fm) for x in fm.values[k])
    if not isinstance(f, ir.Field) or f.name not in EVENT_ID_FIELDS:
        return None
    fm = table.fields.get(f.name)
    texts = [lit.value for lit in lits if isinstance(lit, ir.String)]
    if fm is None or len(texts) != len(lits):
        return None
    if fm.values is not None:  # event.action -> the ids its value map lists (case as the test folds)
        ci = getattr(cond, "case_insensitive", False)
        ids = [x for t in texts for k, v in fm.values.items() if (k.lower() == t.lower() if ci else k == t) for x in v]
    else:
        ids = [t for t in texts if CANONICAL_DECIMAL.fullmatch(t)]
        if len(ids) != len(texts):
            return None
    return frozenset(int(x) for x in ids)


def pattern_keys(e: ir.Expr, f: ir.Field, fm: FieldMap) -> list[str]:
    """The values of ``fm``'s value map on which the pattern leaf ``e`` (wildcard, regex,
    startswith...) holds, decided as Elasticsearch decides it on an event holding that value (by the
    reference matcher). Exact where the map lists every value the source sets (the Sysmon pipeline's
    event.action per id): the translation states that the field's values are spelled as the map
    lists them, and the fixture adapter leaves out events whose value is not (emit.Mapped)."""
    from .absent import truth, with_value

    assert fm.values is not None
    return [k for k in fm.values if truth(e, with_value(f.path, k))]


def leg_event_ids(table: Table, cond: ir.Expr, category: Optional[str], category_field: Optional[str]) -> Optional[frozenset[int]]:
    """The event ids every row a raw-table leg selects has (None: not known): those its condition
    pins, else those of its category where the table computes the category per event id (the leg's
    filter then tests it, :func:`with_category`). The leg's per-event-id fields are rendered for
    these ids only (:func:`extended`)."""
    if table.category != ANY_CATEGORY:
        return None
    ids = pinned_event_ids(table, cond)
    if ids is None and category is not None and category_field is not None and category_mapped(table, category_field):
        ids = _category_ids(table, category_field, category)
    return ids


def check_event_id_pinned(table: Table, cond: ir.Expr, keys: tuple = (), category: Optional[str] = None,
                          category_field: Optional[str] = None) -> None:
    """Refuse a condition (or join key) reading a field the source derives per event id
    (``event_data_from``: user.name, process.executable...; ``event_ids``: event.outcome) unless
    the condition pins the event ids, to ids the field's expression is Elastic's derivation for.

    The expressions follow Elastic's scripts for every id they list, but the fixtures can only
    exercise them on events that carry their id: a rule that leaves the ids open
    (``authentication where process.executable : ...``) reads the field on events of every id, and
    its generated witnesses carry none to test it on. Such rules stay refused, as the issue's
    exactness rule asks; so do rules pinning an id whose value the expression does not read (1102's
    user, which Elastic takes from UserData; event.outcome beyond the ids Microsoft documents as
    success-only or failure-only audits).

    The query's category pins the ids too where the table computes the category per event id
    (:func:`category_mapped`): ``authentication where ...`` on SecurityEvent reads only rows whose
    EventID Elastic's categorization table lists for authentication (:func:`with_category` adds
    that test), so the field is read on those ids only, and the fixtures carry one of them
    (kqlwinsec: privilege_escalation_make_token_local)."""
    if table.category != ANY_CATEGORY:
        return
    derived = sorted({f.name for f in _fields((cond, keys))
                      if (fm := table.fields.get(f.name)) is not None and (fm.event_data_from or fm.event_ids)})
    if not derived:
        return
    ids = pinned_event_ids(table, cond)
    if ids is None and category is not None and category_field is not None and category_mapped(table, category_field):
        # only where the condition pins none itself: ids it pins are checked as they are (an id the
        # field's expression does not read stays refused even when the category excludes it)
        ids = _category_ids(table, category_field, category)
    if ids is None:
        raise Refused(f"{table.name} derives {', '.join(derived)} per event id as the Elastic integration does, "
                      f"and the rule's condition does not pin the event ids (event.code or event.action)")
    for name in derived:
        fm = table.fields[name]
        bad = sorted(ids - set(fm.event_ids)) if fm.event_ids else sorted(ids & set(fm.event_ids_unread))
        if bad:
            raise Refused(f"{name} of {table.name} event ids {', '.join(map(str, bad))}: the {table.name} mapping does not "
                          f"read it as Elastic's integration sets it for those ids")


# ---- IP addresses compared as text -------------------------------------------------------------
def canonical_ip(text: str) -> Optional[str]:
    """The address as Elasticsearch prints an ``ip`` field (IPv4 dotted, IPv4-mapped IPv6 as
    IPv4, other IPv6 compressed lower case), or None when ``text`` is no address."""
    try:
        a = ipaddress.ip_address(text)
    except ValueError:
        return None
    if a.version == 6 and a.ipv4_mapped is not None:  # type: ignore[union-attr]
        return str(a.ipv4_mapped)  # type: ignore[union-attr]
    return str(a)


# Windows writes the client address of Kerberos events (4768, 4769, 4771) as IPv6 text, an IPv4
# client as the IPv4-mapped ``::ffff:a.b.c.d`` (MicrosoftDocs windows-itpro-docs, auditing/
# event-4768.md: "Client Address ... Formats vary, and include: IPv6 or IPv4 address;
# ::ffff:IPv4_address; ::1", its sample event's IpAddress ``::ffff:10.0.0.12``). Elastic's System
# integration copies IpAddress into source.ip unchanged ("Rename Common Auth Fields", standard.yml
# 057f555), an ``ip`` field: Elasticsearch stores every address as 16 bytes, IPv4 mapped, and
# compares, joins and prints ``::ffff:10.0.0.12`` as ``10.0.0.12``. A field marked ``ip_text:
# v4_mapped`` reads that spelling as the IPv4 address in its expression (sentinel.yaml source.ip).
V4_MAPPED = re.compile(r"::[fF]{4}:[0-9]+\.[0-9]+\.[0-9]+\.[0-9]+")


def v4_mapped_reading(text: str) -> str:
    """What an ``ip_text: v4_mapped`` expression gives for ``text``: the dotted part of an
    IPv4-mapped ``::ffff:a.b.c.d``, other text unchanged (tests/test_kql_sentinel_kerberos.py
    checks duckdb-kql's answer against it)."""
    return text[7:] if V4_MAPPED.fullmatch(text) else text


@dataclasses.dataclass(frozen=True)
class IpText:
    """An ECS ``ip`` field read from a text column (SecurityEvent.IpAddress for source.ip).

    Elasticsearch compares an ip field as an address ("::ffff:127.0.0.1" equals "127.0.0.1"),
    Kusto's ``==`` compares the column's text. They agree when the column holds each address in
    its canonical spelling and the rule's literals are canonical too; the translation states the
    first (the check below leaves out an event spelling its address otherwise) and refuses a rule
    whose literal is not canonical (:func:`check_ip_literals`).

    A ``v4_mapped`` field's expression also reads ``::ffff:a.b.c.d`` as ``a.b.c.d``
    (:func:`v4_mapped_reading`), as Elasticsearch reads it in an ip field, so real Kerberos events
    meet the query right; the check still leaves such events out, because the reference matcher,
    given no index mapping, reads source.ip as a dynamic keyword and compares its text (kqlkerb:
    tests/test_kql_sentinel_kerberos.py runs the reading on duckdb-kql against the matcher given
    the ip mapping)."""

    field: str

    def violation(self, event: dict) -> Optional[str]:
        for v in values(event, split_path(self.field)):
            if not isinstance(v, str):
                return f"{self.field} {v!r} is not an address in text"
            canon = canonical_ip(v)
            if canon is None:
                return f"{self.field} {v!r} is not an IP address (Elasticsearch rejects it in an ip field)"
            if canon != v:
                return f"{self.field} {v!r} is not spelled as the address prints ({canon!r})"
        return None


def ip_text_note(fm: FieldMap) -> str:
    mapped = (" (the query also reads ::ffff:a.b.c.d, as Windows writes an IPv4 client of the Kerberos events, "
              "as a.b.c.d, Elasticsearch's reading)" if fm.ip_v4_mapped else "")
    return (f"{fm.field} is an IP address compared as the text of {', '.join(c for c in fm.columns if c != 'EventID') or fm.text}, "
            f"taken to spell each address canonically (IPv4 dotted, IPv4-mapped IPv6 as IPv4, IPv6 compressed in "
            f"lower case) as Elasticsearch compares it{mapped}")


def check_ip_literals(table: Table, cond: Any) -> None:
    """Refuse a comparison of an ``ip_text`` field with a literal that is not a canonical address
    (Elasticsearch would compare the address, the query compares text)."""
    for node in _nodes(cond):
        f = None
        lits: list = []
        if isinstance(node, ir.Compare):
            f, lit = (node.left, node.right) if isinstance(node.left, ir.Field) else (node.right, node.left)
            lits = [lit]
        elif isinstance(node, ir.InSet):
            f, lits = node.expr, list(node.values)
        elif isinstance(node, (ir.WildcardMatch, ir.RegexMatch)) and isinstance(node.expr, ir.Field):
            fm = table.fields.get(node.expr.name)
            if fm is not None and fm.ip_text:
                raise Refused(f"{node.expr.name} is an IP address: a pattern match on it is not translated")
            continue
        if not isinstance(f, ir.Field) or (fm := table.fields.get(f.name)) is None or not fm.ip_text:
            continue
        for lit in lits:
            if isinstance(lit, ir.Null):
                continue
            if not isinstance(lit, ir.String) or canonical_ip(lit.value) != lit.value:
                shown = getattr(lit, "value", lit)
                raise Refused(f"{f.name} value {shown!r} is not an IP address spelled canonically: the {table.name} column is compared as text")


def _nodes(node: Any):
    """Every IR node under ``node``."""
    if isinstance(node, (tuple, list)):
        for x in node:
            yield from _nodes(x)
    elif dataclasses.is_dataclass(node) and not isinstance(node, type):
        yield node
        for f in dataclasses.fields(node):
            if f.name != "span":
                yield from _nodes(getattr(node, f.name))


def where_lines(table: Table) -> list[str]:
    """The filter every query on ``table`` starts with (``where`` in the profile: Event holds every
    Windows event log the agent collects; the rule's data is the Sysmon channel's)."""
    return [f"| where {col} == {_literal(v) if isinstance(v, str) else v}" for col, v in table.where.items()]


def _literal(v: str) -> str:
    return '"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"'


# A raw table's computed fields (Sysmon's process.executable: three XML reads with their entity
# decoding) are long Kusto expressions; inlined into every leaf that tests them, a rule with a few
# dozen patterns exceeds Sentinel's 10,000-character query limit. Such a field is computed once,
# in an `extend` before the filter, and the leaves read the column it makes.
EXTEND_OVER = 200  # characters of expression


def extended(em: Any, fm: FieldMap) -> FieldMap:
    """``fm`` read through a column that an ``| extend`` stage of the query computes, when the table
    is a raw table and the field's expression is long; else ``fm`` itself.

    A per-event-id field (``by_event_id``) in a sequence leg whose rows all have one of
    ``em.event_ids`` is computed for those ids only (:meth:`PerEventId.render`): the stage runs before
    the leg's filter, but its column is read only on the rows the filter keeps, where the two
    expressions agree (kqlkerb3: the Kerberos correlation rule's legs over the ~70-id expressions
    exceeded Sentinel's 10,000-character query limit)."""
    if em.table.category != ANY_CATEGORY or not fm.expr or len(fm.expr) <= EXTEND_OVER or fm.argc_of:
        return fm
    # an argument field reads its command line's column, computed once under the line's name
    # (Event's process.args from the Sysmon CommandLine: each leaf repeats the line)
    alias = "__" + re.sub(r"[^A-Za-z0-9_]", "_", fm.argv_of or fm.field)
    expr = fm.by_event_id.render(em.event_ids) if fm.by_event_id is not None and em.event_ids is not None else fm.expr
    line = f"| extend {alias} = {expr}"
    if line not in em.prep:
        em.prep.append(line)
    return dataclasses.replace(fm, expr=alias)


# ---- keyword lists split from a text column for some event ids (kqlfort) ----------------------
# SecurityEvent's PrivilegeList holds the event's text ("SeBackupPrivilege\r\n\t\t\tSeRestorePrivilege"
# as Windows writes it). Elastic's System integration splits it into a list for 4672, 4673, 4674,
# 4741, 4742 and 4743 (standard.yml, 057f555: the split processor, separator "\\s+", which is Java's
# String.split: \s is [ \t\n\x0B\f\r], trailing empty strings dropped) and leaves it one string for
# the other ids. An element of the list is a maximal run of non-whitespace characters, so "some
# element equals L" (L non-empty, without whitespace) is a regex match of L between whitespace or
# the text's ends; on the other ids the one value is the whole text.
JAVA_SPACE = r"[ \t\n\x0B\f\r]"


def words_leaf(e: ir.Expr, fm: FieldMap) -> str:
    """A leaf on a ``words_of`` field: equality, ``in`` and ``:`` with literals, and null."""
    from . import syntax
    from .emit import literal_values

    col, ids = fm.words_of
    if isinstance(e, ir.IsNull):
        return f"isempty({col})"
    lits, ci = literal_values(e)
    if lits is None:
        raise Refused(f"{fm.field} is a list Elastic splits from {col} per event id: only equality, in and ':' "
                      f"with literal values are translated on it")
    split_ids = ", ".join(str(i) for i in ids)
    parts = []
    for lit in dict.fromkeys(lits):
        if lit == "" or re.search(JAVA_SPACE, lit):
            raise Refused(f"{fm.field} value {lit!r} is empty or holds whitespace: no element of the list "
                          f"Elastic splits from {col} on whitespace is")
        word = syntax.quote_regex(f"(^|{JAVA_SPACE}){syntax.literal_regex(lit, ci)}({JAVA_SPACE}|$)")
        # the whole text, compared as Elasticsearch compares a keyword: Kusto's =~ folds more than
        # ASCII letters (É and é, the Kelvin sign and k, İ and i are equal to it), so a
        # case-insensitive comparison is the ASCII-folding regex the word branch uses (audit6)
        whole = (f"{col} matches regex {syntax.quote_regex(syntax.anchored(syntax.literal_regex(lit, True)))}" if ci
                 else f"{col} == {syntax.quote(lit)}")
        parts.append(f"(EventID in ({split_ids}) and {col} matches regex {word}) or "
                     f"(EventID !in ({split_ids}) and {whole})")
    return "(" + " or ".join(parts) + ")"


def words_note(fm: FieldMap) -> str:
    col, ids = fm.words_of
    return (f"{fm.field} is read from {col}, split into words on whitespace for event ids "
            f"{', '.join(str(i) for i in ids)} as Elastic's System integration splits it (other ids: the "
            f"whole text): assumes {col} holds the event's text with no leading whitespace (Java's split "
            f"would make an empty first element of it)")


def fill_words(fm: FieldMap, event: dict, event_id: Any) -> tuple[Optional[str], Optional[str]]:
    """(column text, None) for an ECS event's ``words_of`` field on a row of ``event_id``, or (None,
    why the event cannot be such a row): the words joined by a space for the split ids, the one
    value for the others."""
    col, ids = fm.words_of
    vals = values(event, split_path(fm.field))
    if not vals:
        return "", None
    split = event_id in ids
    if not split:
        if len(vals) > 1 or not isinstance(vals[0], str):
            return None, f"{fm.field} {vals!r} is not one string, as Elastic keeps {col} for event ids other than {sorted(ids)}"
        return vals[0], None
    if any(not isinstance(v, str) or v == "" or re.search(JAVA_SPACE, v) for v in vals):
        return None, (f"{fm.field} {vals!r} holds an empty word or one with whitespace, which splitting "
                      f"{col} on whitespace does not give")
    return " ".join(vals), None


# ---- a long Elastic decodes from text with Java's Long.decode (kqlfort) --------------------------
# Elastic's System integration sets process.pid from the EventData ProcessId with Long.decode
# (standard.yml 057f555, "Rename Common Auth Fields"): "0x1f4", "0X1F4", "#1f4", "500", "0764"
# (octal) and a leading sign all decode; Windows writes the id as 0x-prefixed hex ("Process ID
# [Type = Pointer]: hexadecimal Process ID", MicrosoftDocs windows-itpro-docs event-4624.md).
# Equality with an integer is a regex over the text's ASCII spellings of it; ordering is refused.


def java_long_regex(n: int) -> str:
    """RE2 for every ASCII text Long.decode reads as ``n``: an optional sign, then 0x/0X/# and hex
    digits, or 0 and octal digits, or decimal digits without a leading zero."""
    m = abs(n)
    sign = "[+-]?" if m == 0 else ("-" if n < 0 else r"\+?")
    hexd = "".join(f"[{c}{c.upper()}]" if c.isalpha() else c for c in format(m, "x"))
    forms = [f"(0[xX]|#)0+" if m == 0 else f"(0[xX]|#)0*{hexd}"]
    forms.append("0+" if m == 0 else f"0+{format(m, 'o')}")
    if m:
        forms.append(str(m))
    return f"^{sign}(" + "|".join(f"(?:{f})" for f in forms) + ")$"


def java_long_leaf(e: ir.Expr, fm: FieldMap) -> str:
    """Equality / ``in`` with integers on a ``java_long`` field; null; nothing else."""
    from . import syntax

    if isinstance(e, ir.IsNull):
        return f"isempty({fm.text})"
    if isinstance(e, ir.Compare) and e.op is ir.CompareOp.EQ:
        lits = [e.right if isinstance(e.left, ir.Field) else e.left]
    elif isinstance(e, ir.InSet):
        lits = [v for v in e.values if not isinstance(v, ir.Null)]
    else:
        raise Refused(f"{describe_field(fm)}: only equality and in with integers are translated")
    nums = []
    for v in lits:
        if not (isinstance(v, ir.Number) and isinstance(v.value, int)) or isinstance(v.value, bool):
            raise Refused(f"{describe_field(fm)} compared with {getattr(v, 'value', v)!r}: only integers are translated")
        nums.append(v.value)
    if not nums:
        return "false"
    return " or ".join(f"{fm.text} matches regex {syntax.quote_regex(java_long_regex(n))}" for n in dict.fromkeys(nums))


@dataclasses.dataclass(frozen=True)
class JavaLong:
    """A ``java_long`` field's ECS values are what Long.decode gives: one integer in Java's long
    range. The fixture adapter writes the integer's decimal text into the column (a spelling the
    query's regex reads); an event whose value is a string ("0x1f4", "-0"), a float or a boolean is
    no event Elastic's pipeline writes, and its text would be compared as the matcher cannot
    (audit6: "-0" is 0 for Long.decode, a string other than 0 for the matcher)."""

    field: str

    def violation(self, event: dict) -> Optional[str]:
        vals = values(event, split_path(self.field))
        if len(vals) > 1:
            return f"{self.field} {vals!r} is not one value, as Long.decode gives"
        for v in vals:
            if type(v) is not int or not -(2**63) <= v < 2**63:
                return f"{self.field} {v!r} is not a Java long, the value Long.decode gives"
        return None


def describe_field(fm: FieldMap) -> str:
    return f"{fm.field} is Long.decode of the text {', '.join(fm.columns) or fm.text} holds"
