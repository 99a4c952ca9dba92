"""Profiles: which Splunk fields, indexes and source types an ECS rule reads, from YAML.

The emitter and the fixture adapter both call :class:`Profile`, so a mapping is written once
(``ecs.yaml``/``cim.yaml`` beside this file, deep-merged with a user's ``--mapping FILE``).
"""

from __future__ import annotations

import fnmatch
import functools
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

from eqlc.errors import MappingError
from eqlc.mapping import ANY, load_mapping
from eqlc.result import Refused

HERE = Path(__file__).resolve().parent
PROFILES = ("ecs", "cim")

# The shape of ecs.yaml / cim.yaml (and of a user's --mapping file merged over them).
SCHEMA = {
    "profile": None,
    "scope": {"index": None, "sourcetype_prefix": None, "patterns": {ANY: {"index": None, "sourcetype": None}}},
    "fields": {"rename": {ANY: None}, "arrays": None},
    "options": {"case_insensitive": None, "prefilter": None},
    "datasets": {ANY: {"datamodel": None, "tags": None, "constants": {ANY: None}, "requires": {ANY: None},
                       "notes": {ANY: None}, "vocabulary": {ANY: None}, "fields": {ANY: None}}},
}

# Field names the emitted SPL may reference. Search terms need a bare name; where/eval quote the
# name in single quotes, which cannot themselves be escaped, so quotes, pipes and whitespace are
# refused outright.
_SAFE_NAME = re.compile(r"^[A-Za-z0-9_@][A-Za-z0-9_.@{}\-:]*$")
_BARE_SEARCH_NAME = re.compile(r"^[A-Za-z_@][A-Za-z0-9_.@{}]*$")


@dataclass(frozen=True)
class Dataset:
    """A CIM dataset. ``constants`` are ECS fields whose value the dataset fixes by definition
    (Endpoint.Processes holds process launches: "The datasets for Processes and Services are for the
    launch of processes", CIM Endpoint data model), ``requires`` what an ECS event needs to belong
    to it, ``notes`` assumptions stated when a mapped field is used."""

    category: str
    datamodel: str
    tags: tuple[str, ...]
    fields: dict
    constants: dict
    requires: dict
    notes: dict
    vocabulary: dict  # ECS field -> the only values its CIM field holds (a stated assumption)

    @property
    def node(self) -> str:
        """The dataset's name inside its data model (``Endpoint.Processes`` -> ``Processes``): tstats
        names the dataset's fields ``Processes.process_name``."""
        return self.datamodel.rsplit(".", 1)[-1]


class TstatsView:
    """The profile as a ``tstats`` WHERE clause sees it: every CIM field is named
    ``<dataset>.<field>`` (``Processes.process_name``); everything else is the profile's."""

    def __init__(self, profile: "Profile") -> None:
        self._profile = profile

    def __getattr__(self, name: str):
        return getattr(self._profile, name)

    def splunk_field(self, ecs_name: str, category: Optional[str] = None) -> str:
        name = self._profile.splunk_field(ecs_name, category)
        return f"{self._profile.dataset(category).node}.{name}"


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
            self._read(mapping)
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            if not mapping:
                raise
            raise MappingError(f"invalid spl mapping: {exc}", path=str(mapping)) from None

    def _read(self, mapping: Optional[str]) -> None:
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
        self.datasets = {
            cat: Dataset(cat, d["datamodel"], tuple(d.get("tags") or ()), d.get("fields") or {},
                         {k: [str(x) for x in v] for k, v in (d.get("constants") or {}).items()},
                         {k: [str(x) for x in v] for k, v in (d.get("requires") or {}).items()},
                         d.get("notes") or {},
                         {k: [str(x) for x in v] for k, v in (d.get("vocabulary") or {}).items()})
            for cat, d in (self.data.get("datasets") or {}).items()
        }

    @property
    def is_cim(self) -> bool:
        return self.name == "cim"

    # ---- fields ------------------------------------------------------------------------------
    def constant(self, ecs_name: str, category: Optional[str]) -> Optional[list[str]]:
        """The fixed values of ``ecs_name`` in the category's CIM dataset, if it has any."""
        if not self.is_cim or category not in self.datasets:
            return None
        return self.datasets[category].constants.get(ecs_name)

    def vocabulary(self, ecs_name: str, category: Optional[str]) -> Optional[list[str]]:
        """The closed set of values the mapping says the field holds, if it declares one."""
        if not self.is_cim or category not in self.datasets:
            return None
        return self.datasets[category].vocabulary.get(ecs_name)

    def field_note(self, ecs_name: str, category: Optional[str]) -> Optional[str]:
        if not self.is_cim or category not in self.datasets:
            return None
        return self.datasets[category].notes.get(ecs_name)

    def splunk_field(self, ecs_name: str, category: Optional[str] = None) -> str:
        """The Splunk field for an ECS field, or :class:`Refused` naming what cannot be mapped."""
        if self.is_cim:
            ds = self.dataset(category)
            target = ds.fields.get(ecs_name)
            if target is None:
                raise Refused(f"ECS field {ecs_name} has no CIM {ds.datamodel} field in the cim profile mapping")
            name = str(target)
        elif ecs_name in self.rename:
            name = str(self.rename[ecs_name])
        else:
            name = ecs_name + ("{}" if ecs_name in self.arrays else "")
        if not _SAFE_NAME.match(name):
            raise Refused(f"field name {name!r} cannot be written safely in SPL")
        return name

    @staticmethod
    def bare_search_name(name: str) -> bool:
        return bool(_BARE_SEARCH_NAME.match(name))

    def is_array(self, ecs_name: str) -> bool:
        return ecs_name in self.arrays

    def dataset(self, category: Optional[str]) -> Dataset:
        if category is None:
            raise Refused("the cim profile needs an event category to choose a data model; 'any' has none")
        ds = self.datasets.get(category)
        if ds is None:
            raise Refused(f"event category {category!r} has no CIM data model in the cim profile mapping")
        return ds

    # ---- scope -------------------------------------------------------------------------------
    def scope_terms(self, index_patterns: tuple[str, ...]) -> str:
        """``index=... sourcetype IN (...)`` for the rule's Elasticsearch index patterns."""
        idx = f"index={_search_value(self.index)}"
        if self.is_cim or not index_patterns or not self.sourcetype_prefix:
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


def _search_value(v: str) -> str:
    from .literals import search_string

    return search_string(v)
