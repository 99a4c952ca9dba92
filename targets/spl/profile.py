"""Profiles: which Splunk events and fields an ECS rule reads, from YAML.

The emitter and the fixture adapter both read :class:`Profile`, so a mapping is written once
(``ecs.yaml``/``cim.yaml``/``windows.yaml`` beside this file, deep-merged with a user's
``--mapping FILE``). Three kinds of profile:

* ``ecs`` (``ecs.yaml``): ECS JSON indexed as it is; the rule's index patterns become source types.
* ``datamodel`` (``cim.yaml``): CIM data model datasets (``Endpoint.Processes``...), searched with
  ``tstats`` or ``| datamodel <model> <dataset> search``; fields are named ``<dataset>.<field>``.
* ``raw`` (``windows.yaml``): the raw events of Splunk add-ons (the Sysmon and Windows add-ons'
  ``XmlWinEventLog`` events), selected by constant fields (``source``, ``EventCode``).

A data model or raw profile maps each EQL event category to one or more *datasets*. A dataset
lists the ECS fields it has (:class:`FieldMap`), the ECS values it implies (``facts``: a process
dataset holds process starts, so ``event.type == "start"`` holds for every event in it) and how
it is selected. A field a dataset does not list is refused by name, never dropped.
"""

from __future__ import annotations

import fnmatch
import functools
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

from eqlc.errors import EqlError, MappingError
from eqlc.mapping import ANY as ANY_KEY, load_mapping
from eqlc.result import Refused

HERE = Path(__file__).resolve().parent
PROFILES = ("ecs", "cim", "windows")
KINDS = ("ecs", "datamodel", "raw")
ANY = "any"  # the category key of datasets that serve `any where` queries

# The shape of ecs.yaml / cim.yaml / windows.yaml (and of a user's --mapping file merged over them):
# the keys Profile, Dataset and FieldMap read. Keys starting with x- hold YAML anchors.
_FIELD_SPEC = {"field": None, "note": None, "values": {ANY_KEY: None}, "filled": None, "argv_of": None,
               "argc_of": None, "last_segment_of": None, "separator": None, "excludes": {ANY_KEY: None}}
SCHEMA = {
    "profile": None, "kind": None, "platforms": None, "cim_version": None,
    "scope": {"index": None, "sourcetype_prefix": None, "patterns": {ANY_KEY: {"index": None, "sourcetype": None}}},
    "fields": {"rename": {ANY_KEY: None}, "arrays": None},
    "options": {"case_insensitive": None, "prefilter": None},
    "deploy": {"enabled": None},  # savedsearch.py: searches are created disabled unless this is true
    "datasets": {ANY_KEY: {"category": None, "categories": None, "datamodel": None, "dataset": None, "tags": None,
                           "constants": {ANY_KEY: None}, "requires": None, "prefixes": {ANY_KEY: None}, "note": None,
                           "facts": {ANY_KEY: None}, "fields": {ANY_KEY: _FIELD_SPEC}}},
}

# Field names the emitted SPL may reference. Search terms need a bare name; where/eval quote the
# name in single quotes, which cannot themselves be escaped, so quotes, pipes and whitespace are
# refused outright.
_SAFE_NAME = re.compile(r"^[A-Za-z0-9_@][A-Za-z0-9_.@{}\-:]*$")
_BARE_SEARCH_NAME = re.compile(r"^[A-Za-z_@][A-Za-z0-9_.@{}]*$")


@dataclass(frozen=True)
class FieldMap:
    """How one ECS field is read in a dataset.

    ``field``: the Splunk field. ``note``: an assumption stated whenever a rule reads it.
    ``values``: a value map (ECS value -> the Splunk values standing for it); only the listed ECS
    values translate, and the translation states that the ECS field is spelled as listed.
    ``filled``: the data model fills a missing or empty value (a CIM calculated field such as
    ``if(isnull(dest) OR dest="","unknown",dest)``); the text says with what. ``argv_of``/``argc_of``:
    an argument array/count read from the command line of that ECS field, split on single spaces.
    ``last_segment_of``: the part of that Splunk field after its last ``separator`` (computed with
    eval: ``process.name`` from ``Image``).
    """

    ecs: str
    field: Optional[str] = None
    note: Optional[str] = None
    values: Optional[dict] = None  # str -> tuple[str, ...]
    filled: Optional[str] = None
    argv_of: Optional[str] = None
    argc_of: Optional[str] = None
    last_segment_of: Optional[str] = None
    separator: str = "\\"
    excludes: Optional[dict] = None  # ECS field -> values the note says the events do not have (its check)

    @property
    def plain(self) -> bool:
        return not (self.values or self.argv_of or self.argc_of or self.last_segment_of)


@dataclass(frozen=True)
class Dataset:
    """One selectable set of Splunk events (a CIM dataset, or the raw events of one event code)."""

    name: str
    categories: tuple[str, ...]
    fields: dict
    facts: dict  # ECS field -> tuple of implied values
    datamodel: Optional[str] = None  # data model name ("Endpoint")
    node: Optional[str] = None  # root dataset name ("Processes"): the field prefix
    tags: tuple[str, ...] = ()  # the dataset's constraint tags (CIM)
    constants: dict = field(default_factory=dict)  # raw: Splunk field -> values selecting the dataset
    requires: tuple[str, ...] = ()  # ECS field prefixes an event needs to belong (one of them)
    prefixes: dict = field(default_factory=dict)  # ECS prefix -> Splunk prefix (winlog.event_data. -> "")
    note: Optional[str] = None

    def lookup(self, ecs: str) -> Optional[FieldMap]:
        """How ``ecs`` is read in this dataset, or None when the dataset has no field for it."""
        fm = self.fields.get(ecs)
        if fm is not None:
            return fm
        for pre, splunk in self.prefixes.items():
            rest = ecs[len(pre):]
            if ecs.startswith(pre) and rest and "." not in rest:
                return FieldMap(ecs, splunk + rest)
        return None

    @property
    def label(self) -> str:
        return f"{self.datamodel}.{self.node}" if self.datamodel else self.name

    def prefixed(self, name: str) -> str:
        return f"{self.node}.{name}" if self.node else name


def _field_map(ecs: str, spec) -> FieldMap:
    if isinstance(spec, str):
        return FieldMap(ecs, spec)
    if not isinstance(spec, dict):
        raise EqlError(f"spl mapping: field {ecs}: expected a field name or a mapping, got {spec!r}")
    values = spec.get("values")
    if values is not None:
        values = {str(k): tuple(str(x) for x in (v if isinstance(v, list) else [v])) for k, v in values.items()}
        seen: dict = {}
        for k, vs in values.items():
            for v in vs:
                if v in seen and seen[v] != k:
                    raise EqlError(f"spl mapping: field {ecs}: value {v!r} stands for both {seen[v]!r} and {k!r}")
                seen[v] = k
    return FieldMap(ecs, spec.get("field"), spec.get("note"), values, spec.get("filled"), spec.get("argv_of"),
                    spec.get("argc_of"), spec.get("last_segment_of"), str(spec.get("separator", "\\")),
                    {k: [str(x) for x in v] for k, v in (spec.get("excludes") or {}).items()} or None)


def _dataset(name: str, d: dict) -> Dataset:
    cats = d.get("categories", d.get("category"))
    cats = tuple(ANY if c is None else str(c) for c in (cats if isinstance(cats, list) else [cats]))
    model = d.get("datamodel")
    node = d.get("dataset")
    return Dataset(
        name=name,
        categories=cats,
        fields={k: _field_map(k, v) for k, v in (d.get("fields") or {}).items()},
        facts={k: tuple(str(x) for x in v) for k, v in (d.get("facts") or {}).items()},
        datamodel=model,
        node=node,
        tags=tuple(d.get("tags") or ()),
        constants={str(k): tuple(str(x) for x in (v if isinstance(v, list) else [v]))
                   for k, v in (d.get("constants") or {}).items()},
        requires=tuple(d.get("requires") or ()),
        prefixes={str(k): str(v or "") for k, v in (d.get("prefixes") or {}).items()},
        note=d.get("note"),
    )


@functools.lru_cache(maxsize=32)
def load_profile(name: Optional[str], mapping: Optional[str]) -> "Profile":
    return Profile(name, mapping)


class Profile:
    def __init__(self, name: Optional[str] = None, mapping: Optional[str] = None) -> None:
        name = name or "ecs"
        if name not in PROFILES:
            raise ValueError(f"unknown SPL profile {name!r}; expected one of {', '.join(PROFILES)}")
        self.name = name
        self.data = load_mapping(HERE / f"{name}.yaml", mapping, SCHEMA)
        try:
            self._read()
        except MappingError:
            raise
        except EqlError as exc:
            if not mapping:
                raise
            raise MappingError(exc.message, path=str(mapping)) from None
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            if not mapping:
                raise
            raise MappingError(f"invalid spl mapping: {exc}", path=str(mapping)) from None

    def _read(self) -> None:
        self.kind = str(self.data.get("kind", "ecs"))
        if self.kind not in KINDS:
            raise ValueError(f"kind must be one of {', '.join(KINDS)}")
        opts = self.data.get("options") or {}
        self.case_insensitive = str(opts.get("case_insensitive", "search"))
        if self.case_insensitive not in ("search", "regex"):
            raise ValueError("options.case_insensitive must be 'search' or 'regex'")
        self.prefilter = bool(opts.get("prefilter", True))
        scope = self.data.get("scope") or {}
        self.index = str(scope.get("index", "main"))
        self.sourcetype_prefix = scope.get("sourcetype_prefix")
        self.pattern_overrides = scope.get("patterns") or {}
        fields = self.data.get("fields") or {}
        self.rename = fields.get("rename") or {}
        self.arrays = set(fields.get("arrays") or [])
        self.datasets: dict[str, Dataset] = {n: _dataset(n, d) for n, d in (self.data.get("datasets") or {}).items()
                                             if d is not None}

    @property
    def is_ecs(self) -> bool:
        return self.kind == "ecs"

    @property
    def is_datamodel(self) -> bool:
        return self.kind == "datamodel"

    @property
    def is_raw(self) -> bool:
        return self.kind == "raw"

    # ---- datasets ----------------------------------------------------------------------------
    def datasets_for(self, category: Optional[str]) -> list[Dataset]:
        """The datasets an event query of ``category`` may read, in the order they are tried."""
        key = ANY if category is None else category
        return [d for d in self.datasets.values() if key in d.categories]

    def no_dataset(self, category: Optional[str], node: object = None) -> Refused:
        if category is None:
            return Refused(f"the {self.name} profile has no dataset for 'any' events (an EQL `any where` query); "
                           f"its datasets each hold one event category", node)
        return Refused(f"event category {category!r} has no dataset in the {self.name} profile mapping", node)

    # ---- fields (ecs profile) ----------------------------------------------------------------
    def splunk_field(self, ecs_name: str) -> str:
        """The Splunk field for an ECS field in the ecs profile, or :class:`Refused`."""
        if ecs_name in self.rename:
            name = str(self.rename[ecs_name])
        else:
            name = ecs_name + ("{}" if ecs_name in self.arrays else "")
        return checked_name(name)

    @staticmethod
    def bare_search_name(name: str) -> bool:
        return bool(_BARE_SEARCH_NAME.match(name))

    def is_array(self, ecs_name: str) -> bool:
        return ecs_name in self.arrays

    # ---- scope -------------------------------------------------------------------------------
    def scope_terms(self, index_patterns: tuple[str, ...]) -> str:
        """``index=... sourcetype IN (...)`` for the rule's Elasticsearch index patterns (ecs),
        ``index=...`` otherwise."""
        idx = f"index={_search_value(self.index)}"
        if not self.is_ecs or not index_patterns or not self.sourcetype_prefix:
            return idx
        pairs: list[tuple[str, str]] = []
        for pat in index_patterns:
            override = next((v for k, v in self.pattern_overrides.items() if fnmatch.fnmatchcase(pat, k)), None)
            if override:
                pairs.append((str(override.get("index", self.index)), str(override["sourcetype"])))
            else:
                pairs.append((self.index, f"{self.sourcetype_prefix}{pat}"))
        pairs = list(dict.fromkeys(pairs))
        by_index: dict[str, list[str]] = {}
        for i, st in pairs:
            by_index.setdefault(i, []).append(st)
        parts = []
        for i, sts in by_index.items():
            st = f"sourcetype={_search_value(sts[0])}" if len(sts) == 1 else "sourcetype IN (" + ", ".join(_search_value(s) for s in sts) + ")"
            parts.append(f"index={_search_value(i)} {st}")
        return parts[0] if len(parts) == 1 else "(" + ") OR (".join(parts) + ")"

    def dataset_scope(self, ds: Dataset) -> str:
        """What selects ``ds``, for deployment (e.g. a scope macro): the generating command of a
        data model dataset (``| datamodel Endpoint Processes search``), or the search terms of a raw
        dataset (``index=* source="..." EventCode="1"``)."""
        if self.is_datamodel:
            return f"| datamodel {ds.datamodel} {ds.node} search"
        return " ".join([f"index={_search_value(self.index)}"] + constant_terms(ds))


def constant_terms(ds: Dataset) -> list[str]:
    from .literals import search_string

    out = []
    for k, vs in ds.constants.items():
        out.append(f"{k}={search_string(vs[0])}" if len(vs) == 1 else f"{k} IN ({', '.join(search_string(v) for v in vs)})")
    return out


def checked_name(name: str) -> str:
    if not _SAFE_NAME.match(name):
        raise Refused(f"field name {name!r} cannot be written safely in SPL")
    return name


def _search_value(v: str) -> str:
    from .literals import search_string

    return search_string(v)
