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
from eqlc.sequence_keys import with_copied_key_constraints

from . import adapter, metadata
from .assumptions import AssumptionLog
from .detection import PROFILES, Converter, SConst
from .layout import layout
from .logsource import Selection, fields_of, outside_taxonomy, pinned_by_keys, products_to_split, select
from .split import branches
from .mapping import Mapping
from .yamlout import dump_all


@dataclass
class SigmaFile:
    """One file of a translation, as sigma-cli reads it: a detection rule, or a correlation with
    its base rules (SigmaHQ's combined format)."""

    name: str  # SigmaHQ-style file name (prefix of its log source + the rule's file stem)
    docs: list[dict]


@dataclass
class Emission:
    text: str
    docs: list[dict]
    log: AssumptionLog
    kind: str  # "rule" | "collection" | "correlation"
    selections: list[Selection] = field(default_factory=list)
    group_by_text: bool = False
    converters: list[Converter] = field(default_factory=list)  # per detection rule: the fields it read
    files: list[SigmaFile] = field(default_factory=list)

    def file_texts(self, header: list[str]) -> dict[str, str]:
        """``{file name: YAML text}`` of every file (each with the translation's header)."""
        return {f.name: dump_all(f.docs, header) for f in self.files}

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
            if ls.event_types and ls.category and not any(fields_of(c) == {sel.type_field} for c in sel.absorbed):
                out = with_event_type(out, ls.category, ls.event_types[0])
        return out


def _detection_doc(rule: Rule, query: ir.EventQuery, mapping: Mapping, profile: str, log: AssumptionLog,
                   title: Optional[str] = None, suffix: str = "", name: Optional[str] = None,
                   split: Optional[tuple[str, tuple[str, ...]]] = None, in_collection: bool = False
                   ) -> tuple[dict, Selection, Converter]:
    sel = select(query, rule, mapping, log, split)
    conv = Converter(sel.logsource, sel.product, mapping, profile, log, sel.codes)
    conv.foreign_absent = in_collection
    body = sel.remaining[0] if len(sel.remaining) == 1 else ir.And(tuple(sel.remaining))
    conv.winargv = conv.windows_argv_fields(body)
    sexpr = conv.convert(body)
    if isinstance(sexpr, SConst):
        if not sexpr.value:
            never = NeverHolds(
                "the condition can never hold on this log source (optional fields it does not record read as having "
                "no value, comparisons no value of its fields can meet)"
            )
            never.selection = sel
            raise never
        sexpr = conv.always()
    conv.assume_single_values()
    doc = metadata.header(rule, title=title, suffix=suffix)
    if name:
        doc = {"title": doc.pop("title"), "id": doc.pop("id"), "name": name, **doc}
    doc["logsource"] = sel.sigma_logsource
    doc["detection"] = layout(sexpr)
    doc.update(metadata.footer(rule))
    return doc, sel, conv


class NeverHolds(Refused):
    """A detection that no event of its log source can meet (under the assumptions stated);
    ``selection`` is that log source's selection, when one was made."""

    selection: Optional[Selection] = None


def file_name(rule: Rule, logsource: dict, mapping: Mapping, correlation: bool = False, part: str = "") -> str:
    """SigmaHQ's file name for a rule of ``logsource``: the prefix SigmaHQ's filename validator
    expects for it (``file_prefixes`` in mapping.yaml), then the rule's file stem; correlations
    start with ``correlation_`` (sigmahq_correlation_filename_prefix)."""
    key = "_".join(str(logsource.get(k)).replace("None", "none") for k in ("product", "category", "service"))
    prefix = mapping.file_prefixes.get(key)
    if prefix is None and logsource.get("product"):
        prefix = mapping.file_prefixes.get(f"{logsource['product']}_none_none", "")
    stem = _slug(rule.file_stem or rule.name or rule.stable_id)
    base = (("correlation_" if correlation else "") + (prefix or "") + stem)[:80].rstrip("_")
    if part:
        base = base[: 80 - len(part) - 1].rstrip("_") + "_" + part
    if len(base) < 10:
        base = (base + "_sigma_rule")[:80]
    return base + ".yml"


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

    profile = profile or PROFILES[0]
    if profile not in PROFILES:
        raise Refused(f"unknown sigma profile {profile!r}; expected one of {', '.join(PROFILES)}")
    mapping = mapping or load()
    q = rule.query
    if q.pipes:
        raise Refused(f"the pipe | {q.pipes[0].name} has no Sigma equivalent")
    log = AssumptionLog()
    body = q.body
    two_fields = _field_to_field(body)
    if two_fields is not None:
        raise Refused(
            f"`{eql_text(two_fields)[:160]}`: {two_fields.name}() is translated only with a field and a string literal; "
            "Sigma compares two fields' values only as equal or unequal (the `fieldref` modifier, which combines with "
            "`neq` only: sigma-specification sigma-appendix-modifiers.md v2.1.0), whatever the log source", two_fields)
    if isinstance(body, ir.EventQuery):
        return _collection(rule, with_category_field(body, rule, mapping), mapping, profile, log)
    if isinstance(body, ir.Sample):
        raise Refused("`sample` (unordered events sharing keys, no time window) has no Sigma correlation equivalent")
    return _sequence(rule, body, mapping, profile, log)


def _field_to_field(node: object) -> Optional[ir.FunctionCall]:
    """The first startsWith/endsWith/stringContains in ``node`` whose second argument is not a string
    literal (another field, a function of one): no Sigma rule states it, so it is the reason given
    before any log source is chosen (the choice would otherwise name a lesser blocker first)."""
    if isinstance(node, ir.FunctionCall) and node.name in ("startsWith", "endsWith", "stringContains") \
            and len(node.args) == 2 and not isinstance(node.args[1], ir.String):
        return node
    for name in getattr(node, "__dataclass_fields__", {}):
        v = getattr(node, name)
        for x in v if isinstance(v, tuple) else (v,):
            if hasattr(x, "__dataclass_fields__"):
                hit = _field_to_field(x)
                if hit is not None:
                    return hit
    return None


def with_category_field(query: ir.EventQuery, rule: Rule, mapping: Mapping) -> ir.EventQuery:
    """``CAT where C`` of a rule whose ``event_category_override`` names another field than
    event.category: Elasticsearch reads the category word from that field (the EQL search API's
    ``event_category_field``), so the query is ``any where FIELD == "CAT" and C``, exactly. The AWS
    rules' ``info where`` with override event.type is then a test of CloudTrail's event.type."""
    field = rule.event_category_override
    if not field or field == mapping.category_field or query.category is None:
        return query
    test = ir.Compare(ir.CompareOp.EQ, ir.Field(tuple(field.split("."))), ir.String(query.category))
    rest = query.condition.terms if isinstance(query.condition, ir.And) else (query.condition,)
    return ir.EventQuery(None, ir.And((test, *rest)))


def _lookback_span(rule: Rule, seq: ir.Sequence, log: AssumptionLog) -> int:
    """A sequence without ``maxspan``: Elasticsearch matches it within whatever the rule searches,
    the look-back window of each run (``from``), so that window is the correlation's timespan."""
    ms = rule.lookback_ms
    if not ms:
        raise Refused("a sequence without maxspan and without a look-back window (`from`): Sigma correlations need a timespan")
    keys = [k for k in seq.by]

    def too_long(events: list) -> dict:
        """Events of one join-key group spread over more than the look-back window."""
        from eqlc.targets.sequence_scope import _key_tuples  # the grouping the verifier uses

        groups: dict = {}
        for e in events:
            for k in _key_tuples(seq, e):
                groups.setdefault(k, []).append(e)
        out = {}
        for k, es in groups.items():
            ts = sorted(t for t in (_millis(e) for e in es) if t is not None)
            if ts and ts[-1] - ts[0] > ms:
                for e in es:
                    out[str(e["_id"])] = f"its join-key group spans {(ts[-1] - ts[0]) // 1000}s"
        return out

    log.assume(
        f"the sequence has no maxspan; Elasticsearch finds it within the rule's look-back window ({rule.from_}), so the "
        f"correlation's timespan is {timespan(ms)}: assumes the events of a match lie within one such window"
        + (f" (join keys {', '.join(eql_text(k) for k in keys)})" if keys else ""),
        group=too_long,
    )
    return ms


def _millis(event: dict) -> Optional[int]:
    import datetime

    v = ecs_values(event, ("@timestamp",))
    if not v or not isinstance(v[0], str):
        return None
    try:
        t = datetime.datetime.fromisoformat(v[0].replace("Z", "+00:00"))
    except ValueError:
        return None
    return int(t.timestamp() * 1000)


def _join_field(key: ir.Field, mapping: Mapping, log: AssumptionLog):
    """A join key no log source records as a detection field, grouped by the field the backend
    provides for it (``join_fields`` in mapping.yaml: ``host.id`` -> ``Computer``, filled from
    ``host.name``), under the assumption that both identify the same things."""
    from .mapping import FieldSpec

    raw = mapping.join_fields[key.name]
    col, src = raw["field"], raw["from"]
    kpath, spath = tuple(key.name.split(".")), tuple(src.split("."))

    def unpaired(event: dict) -> bool:
        return bool(ecs_values(event, kpath)) != bool(ecs_values(event, spath))

    def not_one_to_one(events: list) -> dict:
        by_key: dict = {}
        by_src: dict = {}
        for e in events:
            for k in ecs_values(e, kpath):
                by_key.setdefault(str(k), set()).update(str(v) for v in ecs_values(e, spath))
            for v in ecs_values(e, spath):
                by_src.setdefault(str(v), set()).update(str(k) for k in ecs_values(e, kpath))
        out = {}
        for e in events:
            ks, vs = [str(k) for k in ecs_values(e, kpath)], [str(v) for v in ecs_values(e, spath)]
            if any(len(by_key.get(k, ())) > 1 for k in ks) or any(len(by_src.get(v, ())) > 1 for v in vs):
                out[str(e["_id"])] = f"{key.name} and {src} do not pair one to one"
        return out

    log.assume(
        f"the correlation groups {key.name} by {col}, the host field Sigma backends provide ({src} in ECS): assumes every "
        f"event has both, and each {key.name} has one {src} and each {src} one {key.name}",
        unpaired,
        group=not_one_to_one,
    )
    return FieldSpec(key.name, col)


def _composed_join(key: ir.Field, spec, mapping: Mapping, log: AssumptionLog):
    """A join key that is the last part of a composed column (user.name of Sysmon's User, DOMAIN\\name):
    the correlation groups by the whole column, which splits a user.name group whose events name
    different domains -- stated, and checked per join-key group."""
    from .mapping import FieldSpec

    raw = mapping.composed[spec.sigma]
    parts = list(raw.get("from") or ())
    if not parts or parts[-1] != key.name:
        return spec
    others = [tuple(p.split(".")) for p in parts[:-1]]
    kpath = key.path

    def mixed(events: list) -> dict:
        seen: dict = {}
        for e in events:
            for k in ecs_values(e, kpath):
                seen.setdefault(str(k), set()).add(tuple(tuple(map(str, ecs_values(e, o))) for o in others))
        return {str(e["_id"]): f"{key.name} comes with several {', '.join(parts[:-1])} values"
                for e in events if any(len(seen.get(str(k), ())) > 1 for k in ecs_values(e, kpath))}

    joined = (raw.get("sep") or "").join(parts)
    log.assume(
        f"the correlation groups {key.name} by {spec.sigma} ({joined}): assumes the events sharing a {key.name} share "
        f"its {', '.join(parts[:-1])} too",
        group=mixed,
    )
    return FieldSpec(key.name, spec.sigma)


def _collection(rule: Rule, query: ir.EventQuery, mapping: Mapping, profile: str, log: AssumptionLog) -> Emission:
    """One event query as one Sigma rule, or as a collection (one rule per log source) when it
    names several (split.py) or names no OS for an OS-based log source (one rule per product)."""
    split = branches(query, mapping, AssumptionLog())
    if len(split) > 1 and len(products_to_split(query, rule, mapping)) <= 1:
        # an `or` over data-source fields the log source records (CloudTrail's eventName) needs no split
        try:
            whole = AssumptionLog()
            one = _collection_of(rule, [(query, "", _single_split(query, rule, mapping))], mapping, profile, whole)
            log.extend(whole)
            return one
        except Refused:
            pass
    parts: list[tuple[ir.EventQuery, str, Optional[tuple[str, tuple[str, ...]]]]] = []
    for br in branches(query, mapping, log):
        products = products_to_split(br.query, rule, mapping)
        if len(products) <= 1 and not products:
            parts.append((br.query, br.label, None))
            continue
        for p in products:
            label = " ".join(x for x in (br.label, p) if x)
            parts.append((br.query, label, (p, tuple(products))))
    return _collection_of(rule, parts, mapping, profile, log)


def _product_only(label: str, split) -> bool:
    """A part that differs from the others only by product (the same query for each OS)."""
    return split is not None and label == split[0]


def _extend_scoped(log: AssumptionLog, blog: AssumptionLog, sel: Optional[Selection], mapping: Mapping) -> None:
    """Add one rule of a collection's assumptions to the collection's: the log-source assumption
    about every event, the others checked on that rule's log-source events only (every event when
    no log source was selected)."""
    if sel is None:
        log.extend(blog)
        return
    stands_for = AssumptionLog([a for a in blog.items if a.text.startswith("Sigma log source `")])
    own = AssumptionLog([a for a in blog.items if not a.text.startswith("Sigma log source `")])
    log.extend(stands_for)
    log.extend(own, scope=(lambda ls, p: (lambda e: adapter.member(e, ls, p, mapping)))(sel.logsource, sel.product))


def _single_split(query: ir.EventQuery, rule: Rule, mapping: Mapping) -> Optional[tuple[str, tuple[str, ...]]]:
    products = products_to_split(query, rule, mapping)
    return (products[0], (products[0],)) if len(products) == 1 else None


def _collection_of(rule: Rule, parts: list, mapping: Mapping, profile: str, log: AssumptionLog) -> Emission:
    docs, sels, convs, files = [], [], [], []
    several = len(parts) > 1
    dropped = 0
    used_names: set = set()
    for q, label, split in parts:
        title = f"{(rule.name or 'EQL rule').strip()} ({label.title()})" if several else None
        suffix = f"/part/{label}" if several else ""
        blog = AssumptionLog() if several else log
        try:
            doc, sel, conv = _detection_doc(rule, q, mapping, profile, blog, title=title, suffix=suffix, split=split,
                                            in_collection=several and bool(label) and not _product_only(label, split))
        except NeverHolds as never:
            if not several:
                raise
            # this branch selects nothing (its optional fields have no value on its log source): the
            # collection is the other branches; what made it so is stated, and checked on the events
            # of that log source (an event of another log source is no row of this branch's rule);
            # the log-source assumption itself is about every event
            _extend_scoped(log, blog, never.selection, mapping)
            dropped += 1
            continue
        if several:
            # the log-source assumption is about every event; the others about this rule's events only
            _extend_scoped(log, blog, sel, mapping)
        docs.append(doc)
        sels.append(sel)
        convs.append(conv)
        name = file_name(rule, doc["logsource"], mapping, part=_slug(label) if several else "")
        n = 2
        while name in used_names:
            name = file_name(rule, doc["logsource"], mapping, part=f"{_slug(label)}_{n}")
            n += 1
        used_names.add(name)
        files.append(SigmaFile(name, [doc]))
    if not docs:
        raise NeverHolds("the condition can never hold on any of the log sources it names")
    if several:
        _assume_collection(docs, log)
    return Emission(dump_all(docs, _header(rule, log)), docs, log, "collection" if several else "rule", sels,
                     converters=convs, files=files)


def _assume_collection(docs: list[dict], log: AssumptionLog) -> None:
    log.assume(
        f"the rule is written as a collection of {len(docs)} Sigma rules, one per log source it names; an event is "
        f"selected when any of them selects it (an event several of them select raises one alert per rule)"
    )


def header_lines(rule: Rule, log: AssumptionLog) -> list[str]:
    """The comment lines every file of a translation starts with (the rule and its assumptions)."""
    return _header(rule, log)


def _header(rule: Rule, log: AssumptionLog) -> list[str]:
    lines = [f"Translated by eqlc from EQL rule {rule.name or rule.path or ''!s}".rstrip()]
    if log.items:
        lines.append("Exact if these assumptions hold:")
        lines += [f"- {a.text}" for a in log.items]
    return [one_line(l) for l in lines]  # every YAML line break (\r, NEL, U+2028/9 too) ends a comment


def _sequence(rule: Rule, seq: ir.Sequence, mapping: Mapping, profile: str, log: AssumptionLog) -> Emission:
    if seq.until is not None:
        raise Refused("`until` (drop a sequence when an event occurs) has no Sigma correlation equivalent")
    # Elasticsearch's PropagateJoinKeyConstraints: a step's conjunct that reads a join key and another
    # field is copied to the other steps (eqlc.sequence_keys); each step's rule reads the copied condition
    seq = with_copied_key_constraints(seq)
    for t in seq.terms:
        if t.missing:
            raise Refused("missing events `![...]` have no Sigma correlation equivalent")
        if t.runs != 1:
            raise Refused(f"`with runs={t.runs}` (a term repeated) has no exact Sigma correlation equivalent")
    if len(seq.terms) < 2:
        raise Refused("a one-term sequence is not a correlation")
    for i, term in enumerate(seq.terms, 1):  # a step no taxonomy log source holds decides, whatever its place
        outside = outside_taxonomy(term.query, mapping)
        if outside:
            raise Refused(f"sequence step {i}: {outside}")
    if seq.maxspan is None:
        span_ms = _lookback_span(rule, seq, log)
    else:
        span_ms = seq.maxspan.millis
    span = timespan(span_ms)
    base = _slug(rule.name or rule.stable_id)
    docs, sels, names, convs = [], [], [], []
    for i, term in enumerate(seq.terms, 1):
        name = f"{base}_step_{i}"
        parts = branches(term.query, mapping, log)
        if len(parts) > 1:
            raise Refused(
                f"sequence step {i} names several log sources; a Sigma correlation step is one rule (temporal_ordered "
                f"has no alternatives within a step)"
            )
        tq = pinned_by_keys(parts[0].query, list(seq.keys(term)), rule, mapping, log)
        products = products_to_split(tq, rule, mapping)
        split = (products[0], (products[0],)) if len(products) == 1 else None
        doc, sel, conv = _detection_doc(rule, tq, mapping, profile, log,
                                  title=f"{(rule.name or 'EQL sequence').strip()} - Step {i}", suffix=f"/step/{i}", name=name,
                                  split=split)
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
            spec = sel.logsource.field(key.name, sel.product, mapping.separators, sel.codes)
            if spec is None and key.name in mapping.join_fields:
                spec = _join_field(key, mapping, log)
            if spec is not None and spec.kind == "tail" and spec.sigma in mapping.composed:
                spec = _composed_join(key, spec, mapping, log)
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
    files = [SigmaFile(file_name(rule, docs[0]["logsource"], mapping, correlation=True), all_docs)]
    return Emission(dump_all(all_docs, _header(rule, log)), all_docs, log, "correlation", sels, bool(text_keys), convs,
                    files)
