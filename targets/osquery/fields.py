"""The ECS -> osquery mapping as typed objects (read from ``mapping.yaml``, user-overridable).

The emitter asks a :class:`TableMap` (one *source*: an osquery table, possibly restricted to some
rows, e.g. ``windows_events`` rows of the Sysmon channel) how to read an ECS field on one
platform; the fixture adapter asks the same objects how to fill columns from an ECS event and how
to read the ECS view back from a row. Both therefore agree on every field by construction.

The column facts come from osquery's table specs, shipped as ``schema.json`` beside this module:
per table the columns of its ``schema([...])`` and of each platform's ``extended_schema``, so a
query is prepared against exactly the columns osquery declares on the platform it runs on.
"""

from __future__ import annotations

import functools
import json
import re
from dataclasses import dataclass, field, replace
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
                     "type": None, "missing": None, "strip_suffix": None, "trimmed": None, "json_path": None,
                     "separator": None, "separator_required": None, "cases": None, "of_path": None, "load_from": None,
                     "quote_args": None, "decode": None, "head": None, "only": None,
                     "fallback": None}
_FIELD_SPEC["platforms"] = {ANY: _FIELD_SPEC}
SCHEMA = {
    "os_types": {ANY: None}, "os_tags": {ANY: None}, "default_interval": None, "profiles": {ANY: {ANY: None}},
    "common_flags": None,
    "tables": {ANY: {"category": None, "categories": None, "platforms": None, "note": None, "osquery": None,
                     "filter": None, "table": None,
                     "joins": {ANY: {"table": None, "key": None, "main": None, "note": None}},
                     "fields": {ANY: _FIELD_SPEC}}},
}
# osquery's table specs, as package data: nothing outside the installed package is read at run
# time. ../shared/schemas/osquery.json is the tests' source of truth for the tables it has;
# tests/test_osquery_schema.py checks that they agree and records the provenance of the others.
SCHEMA_FILE = "schema.json"
PLATFORMS = ("linux", "darwin", "windows")

Scalar = Union[str, int]
_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_JSON_KEY = re.compile(r"[A-Za-z0-9_]+")


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
    when: tuple = ()  # ((column, value), ...): only such rows have the field
    strip_suffix: str = ""  # the column holds the ECS value followed by this text
    trimmed: bool = False  # osquery strips leading/trailing whitespace from the column
    note: Optional[str] = None
    reason: Optional[str] = None
    separator: str = "/"  # basename / extension: the path separator
    json_path: str = ""  # the value is JSON_EXTRACT(column, json_path) (windows_events.data)
    cases: tuple = ()  # ((((column, value), ...), column, json path), ...): rows matching a case read there
    quote_args: bool = False  # the column joins the arguments, each with a space or '"' written std::quoted
    separator_required: bool = False  # basename: no value when the path has no separator
    head: bool = False  # basename: the text before the last separator instead (no separator: no value)
    of_path: bool = False  # extension: after the last '.' of the whole path (Elastic's Windows integration)
    decode: str = ""  # sysmon_details / sysmon_hive / sysmon_hash:ALGO: derived as Elastic does (sysmon_decode.py)
    only: tuple = ()  # wildcard template: the names it covers
    fallback: str = ""  # json_path read when the json_path's value is missing (or a `missing` marker)
    load_from: tuple = ()  # witnesses only: ECS fields that carry this datum in another producer's events

    @property
    def value_map(self) -> dict:
        return dict(self.values)

    def columns(self) -> tuple:
        """Every column the value is read from (the main one first)."""
        return (self.column,) + tuple(c for _, c, _ in self.cases) if self.column else ()

    def column_for(self, row: dict) -> Optional[str]:
        """The column holding the value in ``row`` (``cases`` decide on the row's other columns)."""
        for conds, col, _ in self.cases:
            if all(when_holds(row.get(c), v) for c, v in conds):
                return col
        return self.column

    def json_path_for(self, row: dict) -> str:
        """The JSON path of the value in ``row`` (a case may read another key of the document)."""
        for conds, _, path in self.cases:
            if all(when_holds(row.get(c), v) for c, v in conds):
                return path or self.json_path
        return self.json_path

    def when_row(self, row: dict) -> bool:
        """Does ``row`` have the field at all (its ``when`` conditions hold)?"""
        return all(when_holds(row.get(c), v) for c, v in self.when)

    def ref(self, alias: str) -> str:
        """SQL of the raw value in a row of ``alias`` (before basename, tokens... are applied)."""
        from . import sqltext

        def read(col: str, path: str) -> str:
            return f"JSON_EXTRACT({alias}.{col}, {sqltext.quote(path)})" if path else f"{alias}.{col}"

        base = read(self.column or "", self.json_path)
        if self.fallback:
            first = base
            for m in self.missing:
                first = f"NULLIF({first}, {sqltext.literal(m)})"
            base = f"COALESCE({first}, {read(self.column or '', self.fallback)})"
        if self.cases:
            arms = " ".join(
                "WHEN " + " AND ".join(when_sql(f"{alias}.{c}", v) for c, v in conds) + f" THEN {read(col, path or self.json_path)}"
                for conds, col, path in self.cases
            )
            base = f"(CASE {arms} ELSE {base} END)"
        return base


@dataclass(frozen=True)
class JoinMap:
    alias: str
    table: str
    key: str  # column of the joined table
    on: str  # column of the main table
    note: Optional[str] = None


@dataclass(frozen=True, eq=False)
class TableMap:
    """One source: the rows of an osquery table (``table``) that ``filter`` selects, read as ECS
    events of ``categories``. ``name`` is the source's name (the table's name unless several
    sources share a table)."""

    name: str
    category: str
    platforms: tuple[str, ...]
    fields: dict  # platform -> {ecs name: FieldMap}
    joins: dict  # alias -> JoinMap
    note: Optional[str] = None
    column_types: dict = field(default_factory=dict)
    table: str = ""  # the osquery table (defaults to name)
    categories: tuple = ()
    filter: tuple = ()  # ((column, (values...)), ...): the rows of the table this source reads
    wildcards: dict = field(default_factory=dict)  # platform -> ((prefix, FieldMap template), ...)
    osquery: dict = field(default_factory=dict)  # min_version, flags, config (per platform)
    notes: dict = field(default_factory=dict)  # platform -> note stated with every query on it

    @property
    def sql_table(self) -> str:
        return self.table or self.name

    def field(self, name: str, platform: str) -> Optional[FieldMap]:
        fm = self.fields[platform].get(name)
        if fm is not None:
            return fm
        for prefix, template in self.wildcards.get(platform, ()):
            if name.startswith(prefix):
                rest = name[len(prefix):]
                if not _JSON_KEY.fullmatch(rest):
                    return FieldMap(name, "refuse", reason=f"the name {rest!r} is not read as a JSON key of the event data")
                if template.only and rest not in template.only:
                    return FieldMap(name, "refuse", reason=(
                        f"{name} is not read from osquery's {self.sql_table}: the mapping reads only the "
                        f"event data names Elastic's integration keeps as they are ({', '.join(template.only)})"))
                fm = replace(template, ecs=name)
                if fm.json_path:
                    fm = replace(fm, json_path=fm.json_path.format(rest))
                return fm
        return None

    def wildcard_fields(self, platform: str) -> tuple:
        return self.wildcards.get(platform, ())


@dataclass(frozen=True)
class Mapping:
    """The whole mapping: sources, profiles, platform names."""

    tables: dict  # source name -> TableMap
    profiles: dict  # profile -> {category: ((source, ...), ...)}: per event kind, alternative sources
    os_types: dict  # osquery platform -> ECS host.os.type
    os_tags: dict  # rule OS tag -> osquery platform
    default_interval: int
    schema: dict  # platform -> table -> {column: SQL type}
    common_flags: dict = field(default_factory=dict)  # platform -> flags every evented pack needs

    def kinds_for(self, profile: str, category: str) -> list:
        """The event kinds of ``category`` in ``profile``: per kind, its alternative sources."""
        return [[self.tables[n] for n in kind] for kind in self.profiles.get(profile, {}).get(category, ())]

    def table_for(self, profile: str, category: str) -> Optional[TableMap]:
        kinds = self.kinds_for(profile, category)
        return kinds[0][0] if kinds and kinds[0] else None

    def platform_of_os_type(self, os_type: object) -> Optional[str]:
        for platform, ecs in self.os_types.items():
            if ecs == os_type:
                return platform
        return None

    def columns(self, table: str, platform: str) -> dict:
        return self.schema[platform][table]


@functools.lru_cache(maxsize=1)
def schema_document() -> dict:
    return json.loads(files(__package__).joinpath(SCHEMA_FILE).read_text(encoding="utf-8"))


@functools.lru_cache(maxsize=1)
def load_schema() -> dict:
    """platform -> table -> {column: SQL type}: the columns osquery's specs declare for a table on
    a platform (its ``schema`` plus that platform's ``extended_schema``), for the tables built
    there."""
    out: dict = {p: {} for p in PLATFORMS}
    for name, t in schema_document()["tables"].items():
        for platform in t["platforms"]:
            cols = dict(t["columns"])
            cols.update((t.get("extended") or {}).get(platform, {}))
            out[platform][name] = cols
    return out


def _note(text: Any) -> Optional[str]:
    return " ".join(str(text).split()) if text else None


def _scalar_key(v: Any) -> Any:
    return v


def _when(spec: Any) -> tuple:
    """``{column: value or [values]}`` as sorted ((column, value or tuple of values), ...)."""
    return tuple(sorted((c, tuple(v) if isinstance(v, list) else v) for c, v in (spec or {}).items()))


def when_holds(have: Any, want: Any) -> bool:
    """Does a row's column value ``have`` meet a ``when`` value (one value, or a tuple of them)?"""
    return have in want if isinstance(want, tuple) else have == want


def when_sql(ref: str, want: Any) -> str:
    """SQL of a ``when`` condition on the column ``ref``."""
    from . import sqltext

    if isinstance(want, tuple):
        return f"{ref} IN ({', '.join(sqltext.literal(v) for v in want)})"
    return f"{ref} = {sqltext.literal(want)}"


def _field(name: str, spec: Any) -> FieldMap:
    if spec is None:
        return FieldMap(name, "absent")
    if not isinstance(spec, dict):
        raise ValueError(f"mapping for {name}: expected a mapping, got {spec!r}")
    note = _note(spec.get("note"))
    cases = tuple(
        (_when(c["when"]), str(c.get("column") or spec.get("column") or ""), str(c.get("json_path") or ""))
        for c in (spec.get("cases") or ())
    )
    common = dict(join=spec.get("join"), type=spec.get("type", "keyword"), note=note,
                  missing=tuple(spec.get("missing", ())), when=_when(spec.get("when")),
                  strip_suffix=str(spec.get("strip_suffix") or ""), trimmed=bool(spec.get("trimmed")),
                  separator=str(spec.get("separator") or "/"), json_path=str(spec.get("json_path") or ""),
                  cases=cases, quote_args=bool(spec.get("quote_args")),
                  separator_required=bool(spec.get("separator_required")), of_path=bool(spec.get("of_path")),
                  head=bool(spec.get("head")),
                  decode=str(spec.get("decode") or ""), fallback=str(spec.get("fallback") or ""), only=tuple(str(x) for x in (spec.get("only") or ())),
                  load_from=tuple(str(x) for x in (spec.get("load_from") or ())))
    if common["decode"] not in ("", "sysmon_details", "sysmon_hive", "windows_outcome") and not common["decode"].startswith("sysmon_hash:"):
        raise ValueError(f"mapping for {name}: unknown decode {common['decode']!r}")
    if spec.get("refuse"):
        return FieldMap(name, "refuse", reason=_note(spec["refuse"]), note=note)
    if spec.get("strip_suffix") and not (spec.get("column") or spec.get("tokens")):
        raise ValueError(f"mapping for {name}: strip_suffix applies to column and tokens fields only")
    if spec.get("constant") is not None:
        vals = spec["constant"]
        vals = vals if isinstance(vals, list) else [vals]
        return FieldMap(name, "constant", constant=tuple(vals), note=note)
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
    categories = tuple(spec.get("categories") or [spec["category"]])
    per_platform: dict = {}
    wildcards: dict = {}
    notes: dict = {}
    for platform in platforms:
        fields = {}
        wild = []
        for ecs, fspec in (spec.get("fields") or {}).items():
            if isinstance(fspec, dict) and not fspec.get("refuse") and platform in (fspec.get("platforms") or {}):
                fspec = fspec["platforms"][platform]  # (a refusal, e.g. from an override, holds on every platform)
            if ecs.endswith(".*"):
                wild.append((ecs[:-1], _field(ecs, fspec)))
            else:
                fields[ecs] = _field(ecs, fspec)
        per_platform[platform] = fields
        wildcards[platform] = tuple(sorted(wild, key=lambda w: -len(w[0])))
        pnote = (spec.get("platform_notes") or {}).get(platform)
        if pnote:
            notes[platform] = _note(pnote)
    joins = {
        alias: JoinMap(alias, j["table"], j["key"], j["main"], _note(j.get("note")))
        for alias, j in (spec.get("joins") or {}).items()
    }
    filt = tuple((c, tuple(v if isinstance(v, list) else [v])) for c, v in (spec.get("filter") or {}).items())
    return TableMap(name, categories[0], platforms, per_platform, joins, _note(spec.get("note")), table=str(spec.get("table") or name),
                    categories=categories, filter=filt, wildcards=wildcards, osquery=dict(spec.get("osquery") or {}), notes=notes)


def _kinds(value: Any) -> tuple:
    """A profile's entry for a category: a source name, a list of alternative sources, or a list
    of event kinds (each a list of alternatives)."""
    if isinstance(value, str):
        return ((value,),)
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return (tuple(value),)
    if isinstance(value, list):
        return tuple(tuple([v] if isinstance(v, str) else v) for v in value)
    raise ValueError(f"profile entry {value!r}: expected a source name or a list")


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


def _check_columns(t: TableMap, schema: dict) -> None:
    for platform in t.platforms:
        cols = schema[platform].get(t.sql_table)
        if cols is None:
            raise ValueError(f"source {t.name}: osquery's table specs have no table {t.sql_table} on {platform}")
        for c, _ in t.filter:
            if c not in cols:
                raise ValueError(f"source {t.name}: {t.sql_table} has no column {c} (in `filter`)")
        for j in t.joins.values():
            # names from the YAML are written into SQL as identifiers: only known ones pass
            jcols = schema[platform].get(j.table, {})
            if not _IDENT.fullmatch(j.alias) or not jcols or j.key not in jcols or j.on not in cols:
                raise ValueError(f"mapping join {j.alias} of {t.name}: unknown table or column ({j.table}.{j.key} = {t.sql_table}.{j.on}) on {platform}")
        fms = list(t.fields[platform].values()) + [fm for _, fm in t.wildcards.get(platform, ())]
        for f in fms:
            if f.join and f.join not in t.joins:
                raise ValueError(f"mapping for {f.ecs}: unknown join {f.join}")
            table = t.joins[f.join].table if f.join else t.sql_table
            tcols = schema[platform][table]
            for col in f.columns():
                if col not in tcols:
                    raise ValueError(f"mapping for {f.ecs}: {table} has no column {col} on {platform}")
            for col, _ in f.when + tuple(c for conds, _, _ in f.cases for c in conds):
                if col not in cols:
                    raise ValueError(f"mapping for {f.ecs}: {t.sql_table} has no column {col} (in `when`/`cases`) on {platform}")


def _load(override: Optional[str]) -> Mapping:
    data = load_mapping(DEFAULT_MAPPING, override, SCHEMA)
    schema = load_schema()
    tables = {name: _table(name, spec) for name, spec in (data.get("tables") or {}).items()}
    for t in tables.values():
        _check_columns(t, schema)
    profiles = {p: {c: _kinds(v) for c, v in (cats or {}).items()} for p, cats in (data.get("profiles") or {}).items()}
    for p, cats in profiles.items():
        for c, kinds in cats.items():
            for kind in kinds:
                for n in kind:
                    if n not in tables:
                        raise ValueError(f"profile {p}, category {c}: unknown source {n}")
    return Mapping(
        tables=tables,
        profiles=profiles,
        os_types=dict(data.get("os_types") or {}),
        os_tags={str(k).lower(): v for k, v in (data.get("os_tags") or {}).items()},
        default_interval=int(data.get("default_interval", 300)),
        schema=schema,
        common_flags={k: list(v or ()) for k, v in (data.get("common_flags") or {}).items()},
    )
