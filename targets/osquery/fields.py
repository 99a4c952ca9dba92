"""The ECS -> osquery mapping as typed objects (read from ``mapping.yaml``, user-overridable).

The emitter asks a :class:`TableMap` how to read an ECS field on one platform; the fixture
adapter asks the same objects how to fill columns from an ECS event and how to read the ECS
view back from a row. Both therefore agree on every field by construction.
"""

from __future__ import annotations

import functools
import json
import re
from dataclasses import dataclass, field
from importlib.resources import files
from pathlib import Path
from typing import Any, Optional, Union

from eqlc.errors import EqlError
from eqlc.mapping import ANY, load_mapping

DEFAULT_MAPPING = Path(__file__).with_name("mapping.yaml")

# The shape of mapping.yaml (and of a user's --mapping file merged over it): see the field kinds
# at its top. A field spec's ``platforms`` holds field specs again.
_FIELD_SPEC: dict = {"column": None, "basename": None, "extension": None, "values": {ANY: None}, "constant": None,
                     "join": None, "when": {ANY: None}, "refuse": None, "tokens": None, "count": None, "note": None,
                     "type": None, "missing": None, "strip_suffix": None, "trimmed": None}
_FIELD_SPEC["platforms"] = {ANY: _FIELD_SPEC}
SCHEMA = {
    "os_types": {ANY: None}, "os_tags": {ANY: None}, "default_interval": None, "profiles": {ANY: {ANY: None}},
    "tables": {ANY: {"category": None, "platforms": None, "note": None,
                     "joins": {ANY: {"table": None, "key": None, "main": None, "note": None}},
                     "fields": {ANY: _FIELD_SPEC}}},
}
# osquery's table specs, as package data: nothing outside the installed package is read at run
# time. ../shared/schemas/osquery.json is the tests' source of truth; tests/test_osquery_schema.py
# checks that every table and column it has is here with the same type.
SCHEMA_FILE = "schema.json"

Scalar = Union[str, int]
_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


@dataclass(frozen=True)
class FieldMap:
    """How one ECS field is read from an osquery row (see the kinds in ``mapping.yaml``)."""

    ecs: str
    kind: str  # column | basename | extension | enum | constant | refuse | tokens | token_count | absent
    column: Optional[str] = None
    join: Optional[str] = None
    type: str = "keyword"  # keyword | long | ip
    missing: tuple = ()
    values: tuple = ()  # enum: ((column value, (ECS values...)), ...)
    constant: tuple = ()
    when: tuple = ()  # ((column, value), ...)
    strip_suffix: str = ""  # the column holds the ECS value followed by this text
    trimmed: bool = False  # osquery strips leading/trailing whitespace from the column
    note: Optional[str] = None
    reason: Optional[str] = None

    @property
    def value_map(self) -> dict:
        return dict(self.values)


@dataclass(frozen=True)
class JoinMap:
    alias: str
    table: str
    key: str  # column of the joined table
    on: str  # column of the main table
    note: Optional[str] = None


@dataclass(frozen=True)
class TableMap:
    name: str
    category: str
    platforms: tuple[str, ...]
    fields: dict  # platform -> {ecs name: FieldMap}
    joins: dict  # alias -> JoinMap
    note: Optional[str] = None
    column_types: dict = field(default_factory=dict)  # column -> SQL type (from the schema)

    def field(self, name: str, platform: str) -> Optional[FieldMap]:
        return self.fields[platform].get(name)


@dataclass(frozen=True)
class Mapping:
    """The whole mapping: tables, profiles, platform names."""

    tables: dict  # name -> TableMap
    profiles: dict  # profile -> {category: table}
    os_types: dict  # osquery platform -> ECS host.os.type
    os_tags: dict  # rule OS tag -> osquery platform
    default_interval: int
    schema: dict  # table -> {column: SQL type}

    def table_for(self, profile: str, category: str) -> Optional[TableMap]:
        name = self.profiles.get(profile, {}).get(category)
        return self.tables.get(name) if name else None

    def platform_of_os_type(self, os_type: object) -> Optional[str]:
        for platform, ecs in self.os_types.items():
            if ecs == os_type:
                return platform
        return None


@functools.lru_cache(maxsize=1)
def load_schema() -> dict:
    """osquery's table columns and SQL types (from osquery's own specs, shipped beside this module)."""
    data = json.loads(files(__package__).joinpath(SCHEMA_FILE).read_text(encoding="utf-8"))
    return {name: dict(t["columns"]) for name, t in data["tables"].items()}


def _field(name: str, spec: Any) -> FieldMap:
    if spec is None:
        return FieldMap(name, "absent")
    if not isinstance(spec, dict):
        raise ValueError(f"mapping for {name}: expected a mapping, got {spec!r}")
    note = spec.get("note")
    common = dict(join=spec.get("join"), type=spec.get("type", "keyword"), note=" ".join(note.split()) if note else None,
                  missing=tuple(spec.get("missing", ())), when=tuple(sorted((spec.get("when") or {}).items())),
                  strip_suffix=str(spec.get("strip_suffix") or ""), trimmed=bool(spec.get("trimmed")))
    if spec.get("refuse"):
        return FieldMap(name, "refuse", reason=" ".join(str(spec["refuse"]).split()), note=common["note"])
    if spec.get("strip_suffix") and not (spec.get("column") or spec.get("tokens")):
        raise ValueError(f"mapping for {name}: strip_suffix applies to column and tokens fields only")
    if spec.get("constant") is not None:
        vals = spec["constant"]
        vals = vals if isinstance(vals, list) else [vals]
        return FieldMap(name, "constant", constant=tuple(vals), note=common["note"])
    if spec.get("values"):
        values = tuple((k, tuple(v if isinstance(v, list) else [v])) for k, v in spec["values"].items())
        return FieldMap(name, "enum", column=spec["column"], values=values, **common)
    if spec.get("tokens"):
        kind = "token_count" if spec.get("count") else "tokens"
        if kind == "token_count":
            common["type"] = "long"
        return FieldMap(name, kind, column=spec["tokens"], **common)
    for kind in ("basename", "extension"):
        if spec.get(kind):
            return FieldMap(name, kind, column=spec[kind], **common)
    if spec.get("column"):
        return FieldMap(name, "column", column=spec["column"], **common)
    raise ValueError(f"mapping for {name}: no kind (column, basename, extension, values, constant, refuse, tokens)")


def _table(name: str, spec: dict) -> TableMap:
    platforms = tuple(spec.get("platforms", ("linux",)))
    per_platform: dict = {}
    for platform in platforms:
        fields = {}
        for ecs, fspec in (spec.get("fields") or {}).items():
            if isinstance(fspec, dict) and platform in (fspec.get("platforms") or {}):
                fspec = fspec["platforms"][platform]
            fields[ecs] = _field(ecs, fspec)
        per_platform[platform] = fields
    joins = {
        alias: JoinMap(alias, j["table"], j["key"], j["main"], " ".join(j["note"].split()) if j.get("note") else None)
        for alias, j in (spec.get("joins") or {}).items()
    }
    note = spec.get("note")
    return TableMap(name, spec["category"], platforms, per_platform, joins, " ".join(note.split()) if note else None)


@functools.lru_cache(maxsize=32)
def load(override: Optional[str] = None) -> Mapping:
    """The default mapping with ``override`` (a user's YAML path) deep-merged over it.

    A mapping that names unknown tables/columns or has no field kind is a user error
    (:class:`EqlError` naming the file), never an emitter failure."""
    try:
        return _load(override)
    except EqlError:  # located already (an unknown key: a MappingError)
        raise
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise EqlError(f"invalid osquery mapping: {exc}", path=str(override or DEFAULT_MAPPING)) from None


def _load(override: Optional[str]) -> Mapping:
    data = load_mapping(DEFAULT_MAPPING, override, SCHEMA)
    schema = load_schema()
    tables = {name: _table(name, spec) for name, spec in (data.get("tables") or {}).items()}
    for t in tables.values():
        if t.name not in schema:
            raise ValueError(f"mapping table {t.name} is not in osquery's table schema")
        for j in t.joins.values():
            # names from the YAML are written into SQL as identifiers: only known ones pass
            if not _IDENT.fullmatch(j.alias) or j.table not in schema or j.key not in schema[j.table] or j.on not in schema[t.name]:
                raise ValueError(f"mapping join {j.alias} of {t.name}: unknown table or column ({j.table}.{j.key} = {t.name}.{j.on})")
        for fields in t.fields.values():
            for f in fields.values():
                for col, _ in f.when:
                    if col not in schema[t.name]:
                        raise ValueError(f"mapping for {f.ecs}: {t.name} has no column {col} (in `when`)")
        for fields in t.fields.values():
            for f in fields.values():
                table = t.joins[f.join].table if f.join else t.name
                if f.column and f.column not in schema[table]:
                    raise ValueError(f"mapping for {f.ecs}: {table} has no column {f.column}")
                if f.join and f.join not in t.joins:
                    raise ValueError(f"mapping for {f.ecs}: unknown join {f.join}")
    return Mapping(
        tables=tables,
        profiles=dict(data.get("profiles") or {}),
        os_types=dict(data.get("os_types") or {}),
        os_tags={str(k).lower(): v for k, v in (data.get("os_tags") or {}).items()},
        default_interval=int(data.get("default_interval", 300)),
        schema=schema,
    )
