"""Elasticsearch index mappings, as the matcher needs them: field types, aliases, ``null_value``,
``ignore_above``, multi-fields, date formats, and ES's dynamic mapping of unmapped JSON values.

Why the matcher cares: what a comparison means in Elasticsearch depends on the field's *type*.
``pid == "4"`` matches a ``long`` field holding ``4`` (the term is parsed as a number); a ``keyword``
field with ``ignore_above: 256`` indexes nothing for longer values; a field with
``null_value: "NULL"`` matches ``== "NULL"`` where the document holds ``null``; ``event.category``
may be an ``alias`` of ``event_type``; ``@timestamp`` is a ``date`` whose literals are parsed with
the field's ``format``. Sources: Elasticsearch reference, "Field data types", "alias",
"null_value", "ignore_above", "format", "Dynamic field mapping" (date_detection on by default with
``strict_date_optional_time`` and ``yyyy/MM/dd HH:mm:ss Z||yyyy/MM/dd Z``; numeric_detection off).

Without a mapping the matcher types each *value* by its JSON type (string -> keyword, integer ->
long, float -> double, boolean -> boolean), except the timestamp field, which is a date.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Optional, Union

from ..errors import EqlError

# Types the matcher distinguishes; every ES type maps onto one of them.
KEYWORD, LONG, DOUBLE, BOOLEAN, DATE, IP, VERSION, DYNAMIC, TEXT, OBJECT = (
    "keyword", "long", "double", "boolean", "date", "ip", "version", "dynamic", "text", "object",
)

_TYPE_FAMILY = {
    "keyword": KEYWORD, "constant_keyword": KEYWORD, "wildcard": KEYWORD, "match_only_text": TEXT,
    "text": TEXT, "long": LONG, "integer": LONG, "short": LONG, "byte": LONG, "unsigned_long": LONG,
    "double": DOUBLE, "float": DOUBLE, "half_float": DOUBLE, "scaled_float": DOUBLE,
    "boolean": BOOLEAN, "date": DATE, "date_nanos": DATE, "ip": IP, "version": VERSION,
    "object": OBJECT, "nested": OBJECT, "flattened": KEYWORD,
}

DEFAULT_DATE_FORMAT = "strict_date_optional_time||epoch_millis"


@dataclass(frozen=True)
class FieldType:
    """What the matcher needs to know about one leaf field."""

    family: str
    path: tuple[str, ...]  # where the value lives in ``_source`` (aliases resolved)
    ignore_above: Optional[int] = None
    null_value: Any = None
    date_format: str = DEFAULT_DATE_FORMAT
    constant: Any = None  # constant_keyword value
    es_type: str = ""


DYNAMIC_FIELD = FieldType(DYNAMIC, ())


@dataclass
class IndexMapping:
    """A parsed ``{"properties": ...}`` mapping. ``dynamic`` is False when fields absent from the
    mapping are unmapped (``"dynamic": "strict"``/``false`` or a mapping completed from data)."""

    properties: dict = field(default_factory=dict)
    dynamic: bool = True

    def lookup(self, path: tuple[str, ...]) -> Optional[dict]:
        """The raw mapping entry of a dotted path (object ``properties`` and multi-fields)."""
        return _lookup(self.properties, list(path))

    def field_type(self, path: tuple[str, ...]) -> Optional[FieldType]:
        """The resolved type of ``path``; None when the field is not in the mapping."""
        entry = self.lookup(path)
        seen = 0
        while entry is not None and entry.get("type") == "alias":
            seen += 1
            if seen > 10:
                raise EqlError(f"alias loop at field [{'.'.join(path)}]")
            path = tuple(str(entry["path"]).split("."))
            entry = self.lookup(path)
        if entry is None:
            return None
        return _to_field_type(entry, path)


def _lookup(props: dict, parts: list[str]) -> Optional[dict]:
    if not parts:
        return None
    # ES mappings may hold dotted names; try the longest match first.
    for j in range(len(parts), 0, -1):
        name = ".".join(parts[:j])
        entry = props.get(name)
        if entry is None:
            continue
        rest = parts[j:]
        if not rest:
            return entry
        sub = entry.get("properties")
        if sub is not None:
            found = _lookup(sub, rest)
            if found is not None:
                return found
        multi = entry.get("fields")
        if multi is not None and len(rest) == 1 and rest[0] in multi:
            sub_entry = dict(multi[rest[0]])
            sub_entry["_multi_field_of"] = entry
            return sub_entry
    return None


def _to_field_type(entry: dict, path: tuple[str, ...]) -> FieldType:
    es_type = str(entry.get("type", "object" if "properties" in entry else "object"))
    family = _TYPE_FAMILY.get(es_type, KEYWORD if es_type.startswith("[runtime") else OBJECT)
    source_path = path
    if "_multi_field_of" in entry:
        source_path = path[:-1]  # a multi-field reads its parent's source value
    if family == TEXT:
        # EQL compares exactly, on the text field's keyword multi-field (QL exactAttribute()).
        for _name, sub in (entry.get("fields") or {}).items():
            sub_family = _TYPE_FAMILY.get(str(sub.get("type")), KEYWORD)
            if sub_family == KEYWORD or str(sub.get("type", "")).startswith("[runtime"):
                return FieldType(KEYWORD, source_path, sub.get("ignore_above"), sub.get("null_value"), es_type=es_type)
        return FieldType(TEXT, source_path, es_type=es_type)
    return FieldType(
        family,
        source_path,
        entry.get("ignore_above"),
        entry.get("null_value"),
        str(entry.get("format", DEFAULT_DATE_FORMAT)),
        entry.get("value"),
        es_type,
    )


def load_index_mapping(mapping: Union[None, str, Path, dict, IndexMapping]) -> Optional[IndexMapping]:
    """Accept a mapping as a dict (``{"properties": ...}`` or ``{"mappings": {...}}``), a JSON/YAML
    file path (``#`` comment lines allowed, as in Elasticsearch's QA data), or an IndexMapping."""
    if mapping is None or isinstance(mapping, IndexMapping):
        return mapping
    if isinstance(mapping, (str, Path)):
        p = Path(mapping)
        try:
            text = p.read_text(encoding="utf-8")
        except OSError as err:
            raise EqlError(f"cannot read mapping: {err.strerror}", path=str(p)) from None
        text = "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("#"))
        try:
            data = json.loads(text)
        except json.JSONDecodeError:
            import yaml

            try:
                data = yaml.safe_load(text)
            except yaml.YAMLError as err:
                raise EqlError(f"invalid mapping (neither JSON nor YAML): {err}", path=str(p)) from None
    else:
        data = mapping
    if not isinstance(data, dict):
        raise EqlError("an index mapping must be an object with 'properties'")
    if "mappings" in data and isinstance(data["mappings"], dict):
        data = data["mappings"]
    dynamic = data.get("dynamic", True)
    dynamic = not (dynamic is False or str(dynamic).lower() in ("false", "strict"))
    return IndexMapping(dict(data.get("properties") or {}), dynamic)


# ------------------------------------------------------------------------------------------------
# Dynamic mapping: the mapping Elasticsearch would create while indexing ``events``
# ------------------------------------------------------------------------------------------------

_DATE_DETECT = [
    re.compile(r"^\d{4}-\d{2}-\d{2}(T\d{2}(:\d{2}(:\d{2}([.,]\d{1,9})?)?)?)?(Z|[+-]\d{2}(:?\d{2})?)?$"),
    re.compile(r"^\d{4}/\d{2}/\d{2}( \d{2}:\d{2}:\d{2})? ?[+-]\d{4}$"),
]


def _dynamic_entry(value: Any) -> Optional[dict]:
    if isinstance(value, bool):
        return {"type": "boolean"}
    if isinstance(value, int):
        return {"type": "long"}
    if isinstance(value, float):
        return {"type": "float"}
    if isinstance(value, str):
        if any(p.match(value) for p in _DATE_DETECT):
            return {"type": "date"}
        return {"type": "text", "fields": {"keyword": {"type": "keyword", "ignore_above": 256}}}
    return None


def infer_mapping(events: Iterable[dict], mapping: Union[None, dict, IndexMapping] = None) -> IndexMapping:
    """The mapping an index would have after ``events`` were indexed into it with ``mapping``:
    explicit fields kept, new fields typed from the first non-null value that introduced them
    (Elasticsearch's dynamic mapping). The result has ``dynamic = False`` (it is complete)."""
    base = load_index_mapping(mapping) or IndexMapping()
    props = json.loads(json.dumps(base.properties))  # deep copy

    def add(props: dict, parts: list[str], value: Any) -> None:
        name = parts[0]
        if len(parts) > 1:
            entry = props.setdefault(name, {"properties": {}})
            if "properties" not in entry:
                return  # a leaf already holds this name; ES would reject the document
            add(entry["properties"], parts[1:], value)
            return
        if isinstance(value, dict):
            entry = props.setdefault(name, {"properties": {}})
            if "properties" in entry:
                for k, v in value.items():
                    add(entry["properties"], k.split("."), v)
            return
        if isinstance(value, list):
            for item in value:
                add(props, parts, item)
            return
        if value is None or name in props:
            return
        if base.lookup(tuple(parts)) is not None:
            return
        entry = _dynamic_entry(value)
        if entry is not None:
            props[name] = entry

    for event in events:
        for key, value in event.items():
            if key.startswith("_") and key in ("_id", "_index", "_source"):
                continue
            add(props, key.split("."), value)
    return IndexMapping(props, dynamic=False)


def merge_mappings(*mappings: Union[dict, IndexMapping]) -> IndexMapping:
    """Several indices searched together (``index1,index2``): one mapping whose date fields accept
    every index's format (``a||b``), as each document is parsed with its own index's format."""
    out: dict = {}

    def merge(dst: dict, src: dict) -> None:
        for name, entry in src.items():
            if name not in dst:
                dst[name] = json.loads(json.dumps(entry))
                continue
            cur = dst[name]
            if "properties" in entry and "properties" in cur:
                merge(cur["properties"], entry["properties"])
            elif cur.get("type") == "date" and entry.get("type") == "date":
                fmts = [f for f in str(cur.get("format", DEFAULT_DATE_FORMAT)).split("||")]
                for f in str(entry.get("format", DEFAULT_DATE_FORMAT)).split("||"):
                    if f not in fmts:
                        fmts.append(f)
                cur["format"] = "||".join(fmts)

    for m in mappings:
        im = load_index_mapping(m)
        if im is not None:
            merge(out, im.properties)
    return IndexMapping(out, dynamic=True)


# ------------------------------------------------------------------------------------------------
# Date formats -> a parser spec the runtime understands (plain tuples: they are embedded in
# standalone modules as literals)
# ------------------------------------------------------------------------------------------------

_ISO_NAMES = {
    "strict_date_optional_time", "date_optional_time", "strict_date_optional_time_nanos", "strict_date_time",
    "date_time", "strict_date_time_no_millis", "date_time_no_millis", "strict_date", "date",
    "strict_date_hour_minute_second", "date_hour_minute_second", "strict_date_hour_minute_second_millis",
    "date_hour_minute_second_millis", "strict_date_hour_minute_second_fraction", "iso8601",
}
_JAVA_TOKENS = [
    ("yyyy", r"(?P<year>[+-]?\d{4,9})"), ("uuuu", r"(?P<year>[+-]?\d{4,9})"), ("yy", r"(?P<year2>\d{2})"),
    ("MM", r"(?P<month>\d{2})"), ("M", r"(?P<month>\d{1,2})"), ("dd", r"(?P<day>\d{2})"), ("d", r"(?P<day>\d{1,2})"),
    ("HH", r"(?P<hour>\d{2})"), ("H", r"(?P<hour>\d{1,2})"), ("mm", r"(?P<minute>\d{2})"), ("ss", r"(?P<second>\d{2})"),
    ("SSSSSSSSS", r"(?P<fraction>\d{9})"), ("SSSSSS", r"(?P<fraction>\d{6})"), ("SSS", r"(?P<fraction>\d{3})"),
    ("XXX", r"(?P<zone>Z|[+-]\d{2}:\d{2})"), ("XX", r"(?P<zone>Z|[+-]\d{4})"), ("X", r"(?P<zone>Z|[+-]\d{2}(?:\d{2})?)"),
    ("ZZ", r"(?P<zone>[+-]\d{2}:?\d{2}|Z)"), ("Z", r"(?P<zone>[+-]\d{4}|Z)"),
]


def date_format_spec(fmt: str) -> tuple:
    """``"dd-MM-yyyy||epoch_millis"`` -> ``(("pattern", regex), ("epoch_millis",))``."""
    out = []
    for part in str(fmt).split("||"):
        part = part.strip()
        if part in _ISO_NAMES:
            out.append(("iso",))
        elif part in ("epoch_millis", "epoch_second"):
            out.append((part,))
        else:
            out.append(("pattern", _java_pattern_regex(part)))
    return tuple(out)


def _java_pattern_regex(pattern: str) -> str:
    out = []
    i = 0
    while i < len(pattern):
        if pattern[i] == "'":
            j = pattern.index("'", i + 1) if "'" in pattern[i + 1 :] else len(pattern)
            out.append(re.escape(pattern[i + 1 : j]))
            i = j + 1
            continue
        for tok, rx in _JAVA_TOKENS:
            if pattern.startswith(tok, i):
                out.append(rx)
                i += len(tok)
                break
        else:
            ch = pattern[i]
            if ch.isalpha():
                raise EqlError(f"unsupported date format [{pattern}]: pattern letter '{ch}'")
            out.append(re.escape(ch))
            i += 1
    return "^" + "".join(out) + "$"
