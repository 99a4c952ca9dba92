"""One EQL rule -> Sigma YAML: a detection rule, or base rules plus a ``temporal_ordered``
correlation for a sequence. Returns the text together with the assumptions and their checks.

Sequences (sigma-correlation-rules-specification.md): ``temporal_ordered`` = the referenced rules
match in this order within ``timespan`` for the same ``group-by`` values. From EQL: one base rule
per sequence term, ``group-by`` from the join keys (``aliases`` when the terms' keys have
different Sigma names), ``timespan`` from ``maxspan``. Not expressible, so refused: ``until``,
missing events ``![...]``, ``with runs``, no ``maxspan``, optional join keys, ``sample``, pipes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Optional

from eqlc import ir
from eqlc.events import values as ecs_values
from eqlc.printer import expr as eql_text
from eqlc.oneline import one_line
from eqlc.result import Refused
from eqlc.rule import Rule

from . import metadata
from .assumptions import AssumptionLog
from .detection import PROFILES, Converter
from .layout import layout
from .logsource import Selection, fields_of, select
from .mapping import Mapping
from .yamlout import dump_all


@dataclass
class Emission:
    text: str
    docs: list[dict]
    log: AssumptionLog
    kind: str  # "rule" | "correlation"
    selections: list[Selection] = field(default_factory=list)
    group_by_text: bool = False
    converters: list[Converter] = field(default_factory=list)  # per detection rule: the fields it read

    def conform(self, event: dict) -> dict:
        """``event`` rewritten so that this translation's data assumptions hold where a rewrite
        keeps the event meaningful (conform.py): per-field ones, canonical IPs, and the log
        source's event.type when the query itself does not test event.type."""
        from .conform import canonical_ips, conform, with_event_type

        specs, sources, ips = [], {}, set()
        for c in self.converters:
            specs.extend(c.used.values())
            ips |= c.ip_fields
            for col, spec in c.ls.plain_columns(c.product, c.mapping.separators).items():
                sources.setdefault(col, spec.ecs)
        out = canonical_ips(conform(event, specs, sources), ips)
        for sel in self.selections:
            ls = sel.logsource
            if ls.event_types and not any(fields_of(c) == {sel.type_field} for c in sel.absorbed):
                out = with_event_type(out, ls.category, ls.event_types[0])
        return out


def _detection_doc(rule: Rule, query: ir.EventQuery, mapping: Mapping, profile: str, log: AssumptionLog,
                   title: Optional[str] = None, suffix: str = "", name: Optional[str] = None) -> tuple[dict, Selection, Converter]:
    sel = select(query, rule, mapping, log)
    conv = Converter(sel.logsource, sel.product, mapping, profile, log)
    body = sel.remaining[0] if len(sel.remaining) == 1 else ir.And(tuple(sel.remaining))
    sexpr = conv.convert(body)
    conv.assume_single_values()
    doc = metadata.header(rule, title=title, suffix=suffix)
    if name:
        doc = {"title": doc.pop("title"), "id": doc.pop("id"), "name": name, **doc}
    doc["logsource"] = sel.sigma_logsource
    doc["detection"] = layout(sexpr)
    doc.update(metadata.footer(rule))
    return doc, sel, conv


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", text.lower()).strip("_")[:60] or "eql_rule"


def timespan(ms: int) -> str:
    if ms % 1000:
        raise Refused(f"maxspan={ms}ms: Sigma correlation timespans are whole seconds")
    s = ms // 1000
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if s % size == 0:
            return f"{s // size}{unit}"
    return f"{s}s"


def emit(rule: Rule, profile: Optional[str] = None, mapping: Optional[Mapping] = None) -> Emission:
    """Raises :class:`Refused` with the reason when the rule has no faithful Sigma form."""
    from .mapping import load

    profile = profile or "cased"
    if profile not in PROFILES:
        raise Refused(f"unknown sigma profile {profile!r}; expected one of {', '.join(PROFILES)}")
    mapping = mapping or load()
    q = rule.query
    if q.pipes:
        raise Refused(f"the pipe | {q.pipes[0].name} has no Sigma equivalent")
    log = AssumptionLog()
    body = q.body
    if isinstance(body, ir.EventQuery):
        doc, sel, conv = _detection_doc(rule, body, mapping, profile, log)
        return Emission(dump_all([doc], _header(rule, log)), [doc], log, "rule", [sel], converters=[conv])
    if isinstance(body, ir.Sample):
        raise Refused("`sample` (unordered events sharing keys, no time window) has no Sigma correlation equivalent")
    return _sequence(rule, body, mapping, profile, log)


def _header(rule: Rule, log: AssumptionLog) -> list[str]:
    lines = [f"Translated by eqlc from EQL rule {rule.name or rule.path or ''!s}".rstrip()]
    if log.items:
        lines.append("Exact if these assumptions hold:")
        lines += [f"- {a.text}" for a in log.items]
    return [one_line(l) for l in lines]  # every YAML line break (\r, NEL, U+2028/9 too) ends a comment


def _sequence(rule: Rule, seq: ir.Sequence, mapping: Mapping, profile: str, log: AssumptionLog) -> Emission:
    if seq.until is not None:
        raise Refused("`until` (drop a sequence when an event occurs) has no Sigma correlation equivalent")
    for t in seq.terms:
        if t.missing:
            raise Refused("missing events `![...]` have no Sigma correlation equivalent")
        if t.runs != 1:
            raise Refused(f"`with runs={t.runs}` (a term repeated) has no exact Sigma correlation equivalent")
    if len(seq.terms) < 2:
        raise Refused("a one-term sequence is not a correlation")
    if seq.maxspan is None:
        raise Refused("a sequence without maxspan: Sigma correlations need a timespan")
    span = timespan(seq.maxspan.millis)
    base = _slug(rule.name or rule.stable_id)
    docs, sels, names, convs = [], [], [], []
    for i, term in enumerate(seq.terms, 1):
        name = f"{base}_step_{i}"
        doc, sel, conv = _detection_doc(rule, term.query, mapping, profile, log,
                                  title=f"{(rule.name or 'EQL sequence').strip()} - Step {i}", suffix=f"/step/{i}", name=name)
        docs.append(doc)
        sels.append(sel)
        names.append(name)
        convs.append(conv)
    # join keys, compared positionally
    nkeys = {len(seq.keys(t)) for t in seq.terms}
    if len(nkeys) != 1:
        raise Refused("the sequence terms have different numbers of join keys")
    group_by, aliases, text_keys = [], {}, []
    key_fields: dict[str, str] = {}
    for k in range(nkeys.pop()):
        names_k = []
        for term, sel, name in zip(seq.terms, sels, names):
            key = seq.keys(term)[k]
            if not isinstance(key, ir.Field):
                raise Refused(f"join key `{eql_text(key)}`: Sigma group-by takes fields only", key)
            if key.optional:
                raise Refused(f"optional join key ?{key.name}: EQL joins events where it is null, Sigma correlations drop them", key)
            spec = sel.logsource.field(key.name, sel.product, mapping.separators)
            if spec is None or spec.kind != "plain":
                raise Refused(
                    f"join key {key.name} has no plain field in the Sigma taxonomy of "
                    f"{sel.logsource.sigma.get('category')}/{sel.product or 'any product'}", key
                )
            if spec.assume:
                log.assume(spec.assume)
            if not spec.number:
                text_keys.append(spec.sigma)
            names_k.append(spec.sigma)
            key_fields[key.name] = spec.sigma
        if len(set(names_k)) == 1:
            group_by.append(names_k[0])
        else:
            alias = f"join_key_{k + 1}"
            aliases[alias] = dict(zip(names, names_k))
            group_by.append(alias)
    if not group_by:
        raise Refused("a sequence without join keys: Sigma's temporal_ordered would correlate unrelated events only by time")
    key_paths = [tuple(k.split(".")) for k in key_fields]

    def multi_valued_key(event: dict) -> bool:
        return any(len(ecs_values(event, p)) > 1 for p in key_paths)

    log.assume(
        f"join keys {', '.join(f'{s} ({e})' for e, s in key_fields.items())} hold one value per event (Elasticsearch "
        f"joins on every value of an array key)",
        multi_valued_key,
    )
    if text_keys:
        log.assume(
            f"join keys {', '.join(dict.fromkeys(text_keys))} are compared case-insensitively by Sigma correlation backends "
            f"(pySigma's sqlite backend lowercases text keys) while EQL compares them exactly: assumes key values never "
            f"differ only in letter case"
        )
    if rule.timestamp_override:
        ts_path, at_path = tuple(rule.timestamp_override.split(".")), ("@timestamp",)

        def other_clock(event: dict) -> bool:
            own = ecs_values(event, ts_path)
            return bool(own) and own != ecs_values(event, at_path)

        log.assume(
            f"the rule orders events by {rule.timestamp_override} (timestamp_override); a Sigma correlation uses the "
            f"backend's event time (@timestamp in the sqlite engine): assumes both give the same order and spans",
            other_clock,
        )
    log.assume(
        "events of consecutive sequence steps have distinct @timestamp values (Sigma orders by timestamp only; EQL "
        "breaks ties by event order)"
    )
    log.assume(
        "each step matches at most one event per join key within maxspan (when it matches several, Sigma's "
        "temporal_ordered names the earliest ones in the window, EQL the most recent pending one; the alert is the same)"
    )
    corr = metadata.header(rule)
    corr["correlation"] = {"type": "temporal_ordered", "rules": names}
    if aliases:
        corr["correlation"]["aliases"] = aliases
    corr["correlation"]["group-by"] = group_by
    corr["correlation"]["timespan"] = span
    corr.update(metadata.footer(rule))
    all_docs = docs + [corr]
    return Emission(dump_all(all_docs, _header(rule, log)), all_docs, log, "correlation", sels, bool(text_keys), convs)
