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
import re
from typing import Any, Optional

from eqlc import ir
from eqlc.result import Notes, Refused
from eqlc.rule import Rule

from eqlc.events import split_path, values

from .profile import ANY_CATEGORY, FieldMap, Profile, Table, XmlData

CANONICAL_DECIMAL = re.compile(r"0|[1-9][0-9]*")
XML_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]*")
# XML text escaping, decoded in this order (&amp; last, so that "&amp;lt;" reads "&lt;")
XML_ENTITIES = (("&lt;", "<"), ("&gt;", ">"), ("&quot;", '"'), ("&apos;", "'"), ("&amp;", "&"))


def is_raw(profile: Profile) -> bool:
    """Whether the profile's tables are chosen by data source (index patterns)."""
    return any(t.category == ANY_CATEGORY for t in profile.tables.values())


def narrow(profile: Profile, rule: Rule, notes: Notes) -> Profile:
    """The profile restricted to the one raw table holding the rule's data: the table whose
    ``sources`` list every index pattern of the rule. A rule naming no index, or patterns no one
    table lists, is refused (its data is in no raw table of the profile, or in several)."""
    if not is_raw(profile):
        return profile
    index = tuple(rule.index or ())
    if not index:
        raise Refused(f"the rule names no index pattern: the {profile.name} profile picks its raw table by the rule's data source")
    found = [t for t in profile.tables.values() if t.category == ANY_CATEGORY
             and all(p in t.sources or p in t.shared_sources for p in index) and any(p in t.sources for p in index)]
    if len(found) > 1:
        raise Refused(f"the rule's index patterns fit several {profile.name} tables: {', '.join(index)} "
                      f"({', '.join(t.name for t in found)})")
    if not found:
        why = _why_no_table(profile, index)
        raise Refused(f"no {profile.name} table holds the rule's data: index patterns {', '.join(index)}" + (f"; {why}" if why else ""))
    t = found[0]
    if t.source_note:
        notes.assume(t.source_note)
    extra = {f.name: fm for f in _fields(rule.query) if (fm := xml_field(t, f.name)) is not None}
    if extra:
        t = dataclasses.replace(t, fields={**t.fields, **extra})
    return dataclasses.replace(profile, tables={t.name: t}, category_field=rule.event_category_override or "event.category")


def _why_no_table(profile: Profile, index: tuple[str, ...]) -> str:
    """The profile's recorded reason (``no_raw_table`` in its YAML, with sources) why no table holds
    the data of one of ``index``'s patterns: Sentinel keeps it in custom-log tables Microsoft's table
    reference does not document, or the profile maps no table for it, and why."""
    for entry in profile.raw.get("no_raw_table") or ():
        pats = [str(p) for p in entry.get("sources") or ()]
        if any(fnmatch.fnmatchcase(p, q) or p == q for p in index for q in pats):
            return " ".join(str(entry.get("reason", "")).split())
    return ""


def _fields(node: Any):
    """Every ir.Field anywhere in a query (conditions, sequence keys)."""
    if isinstance(node, ir.Field):
        yield node
    elif isinstance(node, (tuple, list)):
        for x in node:
            yield from _fields(x)
    elif dataclasses.is_dataclass(node):
        for f in dataclasses.fields(node):
            yield from _fields(getattr(node, f.name))


def raw_table(profile: Profile) -> Optional[Table]:
    """The raw table of a narrowed profile (every query of the rule reads it), or None."""
    return next((t for t in profile.tables.values() if t.category == ANY_CATEGORY), None)


def category_leaf(category: str, field: str = "event.category") -> ir.Expr:
    return ir.Compare(ir.CompareOp.EQ, ir.Field(tuple(field.split("."))), ir.String(category))


def assume_category(em: Any, table: Table, category: Optional[str]) -> None:
    """For a raw table, state that the rows the query selects are ``category`` events and record
    the assumption as a fact for the adapter to check (events of another category are outside)."""
    from .emit import Fact

    if table.category != ANY_CATEGORY or category is None:
        return
    field = em.profile.category_field
    what = f"`{category}` events" if field == "event.category" else f"events whose {field} is {category!r} (the rule's event_category_override)"
    em.notes.assume(f"the {table.name} rows the query selects are taken to be {what} (Elastic's integration "
                    f"sets {field} from the event; no {table.name} column records it)")
    fact = Fact(category_leaf(category, field), True)
    if not any(f.leaf == fact.leaf for f in em.facts):
        em.facts.append(fact)


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
    if not XML_NAME.fullmatch(data_name) or data_name in xml.not_in_xml:
        return None
    text = f"extract(@'<Data Name=\"{data_name}\">([^<]*)</Data>', 1, {xml.column})"
    for entity, char in XML_ENTITIES:
        text = f"replace_string({text}, {_kql_string(entity)}, {_kql_string(char)})"
    return FieldMap(name, None, "string", note=xml.note, expr=text, columns=(xml.column,))


def _kql_string(s: str) -> str:
    return "'" + s + "'" if '"' in s else '"' + s + '"'


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
