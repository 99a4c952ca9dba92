"""The ECS -> Sigma taxonomy mapping (``mapping.yaml``), read by the emitter and the fixture adapter.

Keeping one parsed view of the YAML for both sides is what makes execution meaningful: the rows the
SQLite engine sees are built from exactly the field correspondences the emitter used, so a
disagreement with the Python matcher can only come from semantics, not from two mappings drifting.

A log source is chosen by what its events are (mapping.yaml ``logsources``): an ECS event
category and event types (endpoint categories such as ``process_creation``), the data set it
comes from (``datasets``: cloud and SaaS audit logs), or the event ids it records (``codes``: the
Windows Security log, Sysmon event ids). A field entry may hold several alternatives that apply
to different event ids (``codes``): the Windows Security log writes the account of a logon in
``TargetUserName`` and the actor of a user-management event in ``SubjectUserName``, both of which
winlogbeat copies to ECS ``user.name``.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional, Union

from eqlc.mapping import ANY, load_mapping

DEFAULT_MAPPING = Path(__file__).with_name("mapping.yaml")

# The shape of mapping.yaml (and of a user's --mapping file): see the entry forms at its top.
_FIELD_ENTRY = {"field": None, "type": None, "assume": None, "products": None, "tail_of": None, "after": None,
                "excludes": None, "argv_of": None, "array": None, "spelling": None, "spelling_type": None, "source": None, "values": None,
                "cases": None, "cases_of": None, "fill": None, "from_string": None, "pattern": None, "prefix_of": None,
                "sep": None, "codes": None, "constant": None, "fold": None, "count_of": None, "unless": {ANY: None},
                "words_of": None, "flags_of": None, "flags": {ANY: None}, "absent": None, "fallback": None,
                "target_of": None, "query": None, "hex_of": None}
_LOGSOURCE = {
    "category": None, "event_type": None, "products": None, "fields": {ANY: _FIELD_ENTRY},
    "datasets": None, "key": None, "present": None, "codes": None, "prefixes": None, "requires": None, "indices": None,
    "syslog_line": {"column": None, "programs": {ANY: None}, "source": None},
    # a Sigma logsource (sigma-specification, "Log Source"): category, product, service, definition
    "sigma": {"category": None, "product": None, "service": None, "definition": None},
}
SCHEMA = {
    "products": {ANY: None}, "separators": {ANY: None}, "source_fields": None, "action_event_types": {ANY: None},
    "category_field": None, "type_field": None, "os_field": None, "logsources": {ANY: _LOGSOURCE},
    "endpoint_sources": None, "foreign_actions": {ANY: None}, "expected_event_types": {ANY: None}, "file_prefixes": None, "join_fields": None,
    "composed": {ANY: {"from": None, "sep": None, "products": None}},
    "no_log_source": {ANY: {"reason": None, "field": None, "values": {ANY: None}, "fields": {ANY: None}}},
}


@dataclass(frozen=True)
class FieldSpec:
    """How one ECS field is read from a Sigma log source.

    ``kind`` is ``plain`` (same value under another name), ``tail`` (the ECS value is the part of
    ``sigma`` after the last ``after`` character: a file name, an extension), ``argv`` (the ECS
    array is ``sigma`` split on single spaces), ``argc`` (the ECS number is how many words
    ``sigma`` splits into on single spaces), ``words`` (the ECS array is ``sigma`` split on runs of
    whitespace: the Security log's PrivilegeList), ``flags`` (the ECS array names the bits set in the hex
    number ``sigma``: NewUACList from NewUacValue), ``hex`` (the ECS number is ``sigma``'s text, 0x and hex
    digits, decoded: the Security log's ProcessId) or ``cases`` (the ECS value is decided by a condition
    on Sigma fields, one per value: GitHub's event.type from its action).

    A plain field may carry ``values`` (ECS value -> the Sigma value or values it stands for: a
    value map) or ``from_string`` (the ECS keyword holds the decimal digits of the Sigma number:
    event.code "4624" is EventID 4624).
    """

    ecs: str
    sigma: str
    kind: str = "plain"
    number: bool = False
    assume: Optional[str] = None
    products: Optional[tuple[str, ...]] = None
    after: tuple[str, ...] = ()
    excludes: tuple[str, ...] = ()
    values: Optional[tuple[tuple[str, tuple], ...]] = None
    from_string: bool = False
    codes: Optional[tuple[str, ...]] = None
    cases: Optional[tuple[tuple[str, Any], ...]] = None
    source: Optional[str] = None  # where the correspondence is documented (for the assumption text)
    fold: bool = False  # value-map keys match whatever the letter case of the ECS value
    fill: bool = True  # the adapter fills the column from it (False: an ECS array such as event.category,
    #                    whose values a value map relates to the column without determining it)
    array: bool = False  # the ECS field is an array (registry.data.strings): one value is assumed
    spelling: Optional[str] = None  # the Sigma field spells values otherwise (sysmon_registry_details: spelling.py)
    spelling_type: Optional[str] = None  # the ECS field naming the value's type (registry.data.type)
    # ECS field -> values: events carrying one of them are derived otherwise by the producer (o365's DLP
    # records get event.outcome from PolicyDetails), so the correspondence is stated for the others only
    unless: tuple[tuple[str, tuple], ...] = ()
    # kind ``flags``: name -> bit; the ECS list holds the names of the bits set in ``sigma``'s hex number
    flags: Optional[tuple[tuple[str, int], ...]] = None
    # raw values that stand for no value (the Security log's "-" in IpAddress, which Elastic's pipeline drops)
    absent: tuple[str, ...] = ()
    # a plain field the producer fills from a second column when ``sigma`` has no value (Elastic's Sysmon
    # pipeline: network.protocol from DestinationPortName, else SourcePortName); ``absent`` holds for both
    fallback: Optional[str] = None
    # kind ``target``: the column holding the query; the ECS value is ``sigma`` (the path), followed by
    # ``after[0]`` and the query when the request has one (a web request target, url.original)
    query: Optional[str] = None

    @property
    def value_map(self) -> Optional[dict]:
        return {k: v for k, v in self.values} if self.values is not None else None

    def mapped(self, value: object) -> tuple:
        """The Sigma values the value map gives an ECS value (none for a value it does not know)."""
        if not isinstance(value, str) or self.values is None:
            return ()
        for k, v in self.values:
            if k == value or (self.fold and k.lower() == value.lower()):
                return v
        return ()


def _tuple(v: object) -> Optional[tuple]:
    if v is None:
        return None
    return tuple(v) if isinstance(v, (list, tuple)) else (v,)


@dataclass(frozen=True)
class LogSource:
    name: str
    category: Optional[str]  # the ECS event.category it holds (None: any)
    event_types: Optional[tuple[str, ...]]  # None: any event.type
    sigma: dict
    products: tuple[str, ...]  # host.os.type products (empty: a service with its own Sigma product)
    fields: dict  # ecs name -> raw YAML entry
    present: Optional[str] = None  # a Sigma field every event of this log source carries
    datasets: Optional[tuple[str, ...]] = None  # event.dataset / data_stream.dataset values it holds
    codes: Optional[tuple[str, ...]] = None  # event.code values it holds
    prefixes: dict = field(default_factory=dict)  # ECS prefix -> {exclude: [...]}: X.<name> is <name>
    requires: tuple[str, ...] = ()  # ECS fields every event of the log source has (dns.question.name)
    key: Optional[str] = None  # the ECS field facts of its events depend on (default: the event id)
    # Elastic index patterns (data streams) holding only its events: an `any where` rule searching only
    # these reads this log source (logsource._category_from_index)
    indices: tuple[str, ...] = ()
    # a log source of raw syslog lines searched by keywords (linux/auth): {column: the line's column, which
    # the execution pipeline maps Sigma keywords to; programs: program -> the event.type values the producer
    # derives from that program's lines (adapter.syslog_line writes a line from an ECS event with it)}
    syslog_line: Optional[dict] = None

    @property
    def is_service(self) -> bool:
        """A source whose Sigma log source names its own product (aws, github...) or service."""
        return not self.products or "service" in self.sigma

    def _entries(self, ecs: str) -> list[dict]:
        raw = self.fields.get(ecs)
        if raw is None:
            for prefix, opts in self.prefixes.items():
                if ecs.startswith(prefix) and "." not in ecs[len(prefix):]:
                    name = ecs[len(prefix):]
                    only = (opts or {}).get("only")
                    if name and name not in (opts or {}).get("exclude", ()) and (only is None or name in only):
                        return [{"field": name}]
            return []
        if isinstance(raw, str):
            return [{"field": raw}]
        if isinstance(raw, list):
            return [r if isinstance(r, dict) else {"field": r} for r in raw]
        return [raw]

    def field(self, ecs: str, product: Optional[str], separators: dict,
              codes: Optional[tuple[str, ...]] = None) -> Optional[FieldSpec]:
        """The spec of ``ecs`` in this log source for ``product`` and, where an entry depends on
        the event id, for events whose event.code is one of ``codes`` (None if unmapped there)."""
        for raw in self._entries(ecs):
            spec = self._spec(ecs, raw, product, separators)
            if spec is None:
                continue
            if spec.codes is not None and (codes is None or not set(codes) <= set(spec.codes)):
                continue
            return spec
        return None

    def alternatives(self, ecs: str) -> list[dict]:
        """Every raw entry of ``ecs`` (for refusal reasons naming the event ids each applies to)."""
        return self._entries(ecs)

    def _spec(self, ecs: str, raw: dict, product: Optional[str], separators: dict) -> Optional[FieldSpec]:
        products = tuple(raw["products"]) if raw.get("products") else None
        if products is not None and product not in products:
            return None
        seps = tuple(separators.get(product if product else None, separators.get("null", ["/", "\\"])))
        codes = tuple(str(c) for c in raw["codes"]) if raw.get("codes") is not None else None

        def chars(v: object) -> tuple[str, ...]:
            if v == "path_separator":
                return seps
            return tuple(v or ())  # type: ignore[arg-type]

        common = dict(assume=raw.get("assume"), products=products, codes=codes, source=raw.get("source"),
                      fill=raw.get("fill", True), fold=bool(raw.get("fold")),
                      unless=tuple((str(k), tuple(_tuple(v) or ())) for k, v in (raw.get("unless") or {}).items()))
        if "argv_of" in raw:
            return FieldSpec(ecs, raw["argv_of"], kind="argv", **common)
        if "words_of" in raw:
            return FieldSpec(ecs, raw["words_of"], kind="words", **common)
        if "flags_of" in raw:
            return FieldSpec(ecs, raw["flags_of"], kind="flags",
                             flags=tuple((str(k), int(v)) for k, v in raw["flags"].items()), **common)
        if "count_of" in raw:
            return FieldSpec(ecs, raw["count_of"], kind="argc", **common)
        if "hex_of" in raw:
            return FieldSpec(ecs, raw["hex_of"], kind="hex", **common)
        if "tail_of" in raw:
            after = chars(raw.get("after"))
            excludes = chars(raw.get("excludes")) if raw.get("excludes") else after
            return FieldSpec(ecs, raw["tail_of"], kind="tail", after=after,
                             excludes=tuple(dict.fromkeys(after + excludes)), **common)
        if "cases" in raw:
            return FieldSpec(ecs, raw["cases_of"], kind="cases",
                             cases=tuple((str(k), v) for k, v in raw["cases"].items()), **common)
        if "prefix_of" in raw:
            return FieldSpec(ecs, raw["prefix_of"], kind="prefix", after=(raw.get("sep", "."),),
                             excludes=((raw["pattern"],) if raw.get("pattern") else ()), **common)
        if "constant" in raw:
            return FieldSpec(ecs, str(raw["constant"]), kind="constant", **common)
        if "target_of" in raw:
            return FieldSpec(ecs, raw["target_of"], kind="target", after=(raw.get("sep") or "?",),
                             query=raw["query"], **common)
        values = None
        if raw.get("values") is not None:
            values = tuple((str(k), _tuple(v)) for k, v in raw["values"].items())
        return FieldSpec(ecs, raw["field"], number=raw.get("type") == "number", values=values,
                         absent=tuple(str(a) for a in raw.get("absent") or ()), fallback=raw.get("fallback"),
                         from_string=bool(raw.get("from_string")), array=bool(raw.get("array")),
                         spelling=raw.get("spelling"), spelling_type=raw.get("spelling_type"), **common)

    def column_sources(self, product: Optional[str], separators: dict, kind: str = "plain") -> dict[str, list[FieldSpec]]:
        """Sigma column -> the ECS fields of ``kind`` (plain: holding its value) it is read from, in the
        order the adapter reads them (the first with a value fills the column)."""
        out: dict[str, list[FieldSpec]] = {}
        for ecs in self.fields:
            for raw in self._entries(ecs):
                spec = self._spec(ecs, raw, product, separators)
                if spec is not None and spec.kind == kind:
                    out.setdefault(spec.sigma, []).append(spec)
        return out

    def plain_columns(self, product: Optional[str], separators: dict) -> dict[str, FieldSpec]:
        """Sigma column -> the first plain ECS field holding its value."""
        return {col: specs[0] for col, specs in self.column_sources(product, separators).items()}


@dataclass(frozen=True)
class Mapping:
    products: dict
    separators: dict
    source_fields: tuple[str, ...]
    action_event_types: dict  # event.action value -> the ECS event.type it implies
    category_field: str
    type_field: str
    os_field: str
    logsources: dict  # name -> LogSource
    join_fields: dict = field(default_factory=dict)  # ECS join key -> {field, from}: correlation group-by only
    dataset_fields: tuple[str, ...] = ("event.dataset", "data_stream.dataset")
    code_field: str = "event.code"
    file_prefixes: dict = field(default_factory=dict)  # "product_category_service" -> SigmaHQ file name prefix
    endpoint_sources: tuple[str, ...] = ()  # event.module / data set values of endpoint agents
    # event.action value -> the third-party data set whose pipeline alone writes it (mapping.yaml)
    foreign_actions: dict = field(default_factory=dict)
    # ECS event.category -> the event.type values ECS expects with it (mapping.yaml expected_event_types)
    expected_event_types: dict = field(default_factory=dict)
    # Sigma column -> {from: [ECS fields], sep, products}: a column no ECS field holds whole, which the
    # fixture adapter writes by joining the ECS fields read from its parts (Sysmon's User, DOMAIN\name)
    composed: dict = field(default_factory=dict)
    # data set -> {reason}, {field, values: {value: reason}} or {fields: {regex: reason}}: what no Sigma
    # taxonomy log source (or none of its fields) holds
    # (mapping.yaml no_log_source), so that a refusal names it instead of "not in the mapping"
    no_log_source: dict = field(default_factory=dict)
    raw: dict = field(default_factory=dict, compare=False, repr=False)

    def for_category(self, category: str) -> list[LogSource]:
        return [ls for ls in self.logsources.values() if ls.category == category]

    def by_sigma(self, category: Optional[str]) -> Optional[LogSource]:
        for ls in self.logsources.values():
            if ls.sigma.get("category") == category:
                return ls
        return None


def column_of(raw: object) -> list[str]:
    """The Sigma fields a raw mapping entry reads (whatever its kind and alternatives)."""
    if isinstance(raw, str):
        return [raw]
    if isinstance(raw, list):
        return [c for r in raw for c in column_of(r)]
    if isinstance(raw, dict):
        for key in ("field", "tail_of", "argv_of", "count_of", "cases_of", "prefix_of", "target_of", "hex_of"):
            if raw.get(key):
                return [raw[key]] + ([raw["query"]] if key == "target_of" and raw.get("query") else [])
    return []


def _separators(raw: dict) -> dict:
    out = {}
    for k, v in (raw or {}).items():
        out[None if k in (None, "null") else k] = list(v)
    return out


def parse(raw: dict) -> Mapping:
    logsources = {}
    for name, ls in (raw.get("logsources") or {}).items():
        et = ls.get("event_type")
        logsources[name] = LogSource(
            name=name,
            category=ls.get("category"),
            event_types=tuple(et) if et else None,
            sigma=dict(ls.get("sigma") or {"category": name}),
            products=tuple(ls.get("products") or ()),
            fields=dict(ls.get("fields") or {}),
            present=ls.get("present"),
            datasets=tuple(ls["datasets"]) if ls.get("datasets") else None,
            codes=tuple(str(c) for c in ls["codes"]) if ls.get("codes") else None,
            prefixes=dict(ls.get("prefixes") or {}),
            requires=tuple(ls.get("requires") or ()),
            key=ls.get("key"),
            indices=tuple(ls.get("indices") or ()),
            syslog_line=dict(ls["syslog_line"]) if ls.get("syslog_line") else None,
        )
    return Mapping(
        products=dict(raw.get("products") or {}),
        separators=_separators(raw.get("separators") or {}),
        source_fields=tuple(raw.get("source_fields") or ()),
        action_event_types=dict(raw.get("action_event_types") or {}),
        category_field=raw.get("category_field", "event.category"),
        type_field=raw.get("type_field", "event.type"),
        os_field=raw.get("os_field", "host.os.type"),
        logsources=logsources,
        join_fields=dict(raw.get("join_fields") or {}),
        dataset_fields=tuple(raw.get("dataset_fields") or ("event.dataset", "data_stream.dataset")),
        code_field=raw.get("code_field", "event.code"),
        file_prefixes=dict(raw.get("file_prefixes") or {}),
        endpoint_sources=tuple(raw.get("endpoint_sources") or ()),
        foreign_actions=dict(raw.get("foreign_actions") or {}),
        expected_event_types={k: tuple(v) for k, v in (raw.get("expected_event_types") or {}).items()},
        composed=dict(raw.get("composed") or {}),
        no_log_source=dict(raw.get("no_log_source") or {}),
        raw=raw,
    )


@functools.lru_cache(maxsize=16)
def load(override: Optional[Union[str, Path]] = None) -> Mapping:
    """The default mapping, with the user's ``--mapping`` file deep-merged over it."""
    return parse(load_mapping(DEFAULT_MAPPING, str(override) if override else None, SCHEMA))
