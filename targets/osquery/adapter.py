"""ECS fixture events <-> osquery rows, through the same mapping the emitter uses.

``load`` writes an ECS event as the row(s) osquery would hold for it: the event's own row in the
rule's table, plus the row the query joins (the parent's ``processes`` row), with osquery's own
"no value" markers (``''``, ``-1``) where the event has no value. ``view`` reads rows back as
the ECS event Elasticsearch would see for them (the fields the mapping defines, nothing else).

An event is *faithful* for a set of fields when its view has the same values for them. osquery
records less than ECS (``process.name`` is derived from the path, ``event.action`` from the
syscall, there is one value per column), so some events cannot be written exactly; the
verification compares the SQL with the reference matcher on the view of every loaded event
(always meaningful) and with the original event where it is faithful.
"""

from __future__ import annotations

import ipaddress
import json
import re
from dataclasses import dataclass, field
from typing import Any, Optional

from eqlc.events import split_path, values

from .fields import FieldMap, Mapping, TableMap, when_holds
from . import sysmon_decode

C_SPACE = " \t\n\v\f\r"  # what boost::algorithm::trim removes in the C locale (std::isspace)
SYNTHETIC_PARENT_PID = 999_999  # a parent pid for events that give parent facts but no parent pid
SYNTHETIC_IMAGE_PATH = "C:\\eqlc\\image.exe"  # an image path for events that give its PE facts but no path
SYNTHETIC_IMAGE_PATH_POSIX = "/eqlc/image"
_INT = re.compile(r"-?[0-9]+")


@dataclass
class Loaded:
    table: str
    main: dict
    joined: dict = field(default_factory=dict)  # join alias -> row dict (or absent)


def _basename(path: str, sep: str = "/") -> str:
    return path.rsplit(sep, 1)[-1]


def _extension(name: str) -> Optional[str]:
    if "." not in name:
        return None
    ext = name.rsplit(".", 1)[-1]
    return ext or None


def normalize(vals: list, ftype: str) -> frozenset:
    """The values Elasticsearch indexes for a field of type ``ftype`` (for comparisons)."""
    out = set()
    for v in vals:
        if ftype == "long":
            if isinstance(v, bool):
                out.add(("bool", v))
            elif isinstance(v, int):
                out.add(v)
            elif isinstance(v, float) and v.is_integer():
                out.add(int(v))
            elif isinstance(v, str) and _INT.fullmatch(v.strip()):
                out.add(int(v))
            else:
                out.add(("raw", repr(v)))
        elif ftype == "ip":
            try:
                a = ipaddress.ip_address(str(v))
                if isinstance(a, ipaddress.IPv6Address) and a.ipv4_mapped is not None:
                    a = a.ipv4_mapped
                out.add(str(a))
            except ValueError:
                out.add(("raw", repr(v)))
        else:
            if isinstance(v, bool):
                out.add("true" if v else "false")
            elif isinstance(v, (int, str)):
                out.add(str(v))
            else:
                out.add(("raw", repr(v)))
    return frozenset(out)


def flat_names(node: Any, prefix: str = "") -> list[str]:
    """The dotted names of every leaf of an event (nested objects and dotted keys alike)."""
    out: list[str] = []
    if isinstance(node, dict):
        for k, v in node.items():
            name = f"{prefix}.{k}" if prefix else str(k)
            if isinstance(v, dict):
                out.extend(flat_names(v, name))
            else:
                out.append(name)
    return out


def cpp_quoted(arg: str) -> str:
    """``std::quoted(arg)``: the text in double quotes, with '"' and '\\' escaped by '\\'."""
    return '"' + arg.replace("\\", "\\\\").replace('"', '\\"') + '"'


def join_args(args: list[str], quote: bool) -> str:
    """osquery's argument text: the arguments joined by single spaces; with ``quote`` (macOS
    EndpointSecurity, es_utils.cpp ``appendQuotedString``) an argument holding a space or '"' is
    written std::quoted."""
    if not quote:
        return " ".join(args)
    return " ".join(cpp_quoted(a) if (" " in a or '"' in a) else a for a in args)


_DWORD = re.compile(r"(?i)DWORD \((0x[0-9A-F]{8})\)")
_QWORD = re.compile(r"(?i)QWORD \(((0x[0-9A-F]{8})-(0x[0-9A-F]{8}))\)")


def sysmon_details(details: str) -> str:
    """registry.data.strings for a Sysmon Details text, as Elastic's sysmon_operational pipeline
    writes it (DWORD as decimal, QWORD as (high << 8) + low, anything else as it is)."""
    m = _DWORD.fullmatch(details)
    if m:
        return str(int(m.group(1)[2:], 16))
    m = _QWORD.fullmatch(details)
    if m:
        return str((int(m.group(2)[2:], 16) << 8) + int(m.group(3)[2:], 16))
    return details


def sysmon_details_of(value: str, data_type: Any) -> str:
    """The Details text Sysmon writes for an ECS registry.data.strings value (a DWORD when the event
    says the value is one and the string is its decimal number)."""
    if data_type == "SZ_DWORD" and value.isdigit() and int(value) < 2 ** 32:
        return f"DWORD (0x{int(value):08x})"
    return value


def json_get(doc: Any, path: str) -> Any:
    """SQLite's ``JSON_EXTRACT(doc, '$.a.b')`` for the simple paths the mapping uses."""
    node = doc
    for key in path.split(".")[1:]:
        if not isinstance(node, dict) or key not in node:
            return None
        node = node[key]
    return node if not isinstance(node, (dict, list)) else json.dumps(node)


def json_put(doc: dict, path: str, value: str) -> None:
    node = doc
    keys = path.split(".")[1:]
    for key in keys[:-1]:
        node = node.setdefault(key, {})
    node[keys[-1]] = value


_DERIVED_DECODES = ("sysmon_hive", "windows_outcome")


class Adapter:
    """Rows of a source (``table``) on ``platform`` from ECS events, and back."""

    def __init__(self, mapping: Mapping, table: TableMap, platform: str) -> None:
        self.mapping = mapping
        self.table = table
        self.platform = platform
        self.fields: dict[str, FieldMap] = table.fields[platform]
        self.enum_columns = {fm.column for fm in self.fields.values() if fm.kind == "enum"} | {c for c, _ in table.filter}

    def columns(self, table: str) -> dict:
        return self.mapping.schema[self.platform][table]

    def field(self, name: str) -> Optional[FieldMap]:
        return self.table.field(name, self.platform)

    def event_fields(self, event: dict) -> list[FieldMap]:
        """The source's fields, with its wildcard fields (``winlog.event_data.*``) instantiated for
        the names the event has."""
        out = list(self.fields.values())
        wild = self.table.wildcard_fields(self.platform)
        if wild:
            for name in flat_names(event):
                if name not in self.fields and any(name.startswith(p) for p, _ in wild):
                    fm = self.field(name)
                    if fm is not None:
                        out.append(fm)
        return out

    # ---- ECS -> rows --------------------------------------------------------------------------
    def column_value(self, fm: FieldMap, table: str, value: Any) -> Any:
        """The column value osquery would hold for the ECS ``value`` (None if it cannot)."""
        integer = not fm.json_path and self.columns(table)[fm.column] in ("BIGINT", "INTEGER")
        if fm.type == "ip":
            try:
                a = ipaddress.ip_address(str(value))
            except ValueError:
                return None
            if isinstance(a, ipaddress.IPv6Address) and a.ipv4_mapped is not None:
                a = a.ipv4_mapped
            return str(a) if isinstance(a, ipaddress.IPv4Address) else a.exploded
        if integer:
            if isinstance(value, bool):
                return None
            if isinstance(value, int):
                return value
            if isinstance(value, str) and _INT.fullmatch(value) and str(int(value)) == value:
                return int(value)
            return None
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, (str, int)):
            return str(value)
        return None

    @staticmethod
    def _get(row: dict, fm: FieldMap, col: str) -> Any:
        if fm.json_path:
            return json_get(json.loads(row[col]), fm.json_path_for(row)) if row.get(col) else None
        return row.get(col)

    @staticmethod
    def _set(row: dict, fm: FieldMap, col: str, value: Any) -> None:
        if fm.json_path:
            doc = json.loads(row[col]) if row.get(col) else {}
            json_put(doc, fm.json_path_for(row), value)
            row[col] = json.dumps(doc, ensure_ascii=False)
        else:
            row[col] = value

    def _put_decoded(self, row: dict, fm: FieldMap, col: str, value: str) -> bool:
        """Store the EventData text a decoded field (registry.hive, file.hash.*) is read from."""
        have = self._get(row, fm, col)
        if fm.decode == "sysmon_hive":
            if have is not None:
                return False  # the TargetObject from registry.path decides the hive
            text = sysmon_decode.hive_target_object(value)
        elif fm.decode == "windows_outcome":
            if have is not None:
                return False
            text = sysmon_decode.outcome_keywords(value)
        else:
            text = sysmon_decode.with_hash(have, fm.decode.split(":", 1)[1], value)
        if text is None:
            return False
        self._set(row, fm, col, text)
        return True

    def _put(self, row: dict, fm: FieldMap, col: str, value: Any) -> bool:
        """Store ``value`` in ``col`` (inside the JSON document for a ``json_path`` field)."""
        if fm.json_path:
            doc = json.loads(row[col]) if row.get(col) else {}
            path = fm.json_path_for(row)
            if json_get(doc, path) is not None:
                return False
            json_put(doc, path, value)
            row[col] = json.dumps(doc, ensure_ascii=False)
            return True
        if row.get(col) is not None:
            return False
        row[col] = value
        return True

    @staticmethod
    def _event_values(event: dict, fm: FieldMap) -> list:
        """The event's values of ``fm``'s field; an event without it may name the same datum
        under another producer's field (``load_from``: Elastic Defend's dll.path for the image a
        Sysmon image-load event records as file.path). The rows then hold the nearest event
        osquery records; whether the rule reads it alike is checked, not assumed."""
        vals = values(event, split_path(fm.ecs))
        for other in fm.load_from:
            if vals:
                break
            vals = values(event, split_path(other))
        return vals

    def _fill(self, row: dict, table: str, fields: list[FieldMap], event: dict) -> bool:
        """Fill ``row`` from ``event``; True if any field had a value."""
        any_value = False
        derived = []
        # arguments written as osquery writes them (quoted on macOS) come before the command line
        quoted = [fm for fm in fields if fm.kind == "tokens" and fm.quote_args]
        for fm in quoted:
            vals = values(event, split_path(fm.ecs))
            if vals and all(isinstance(v, str) for v in vals) and row.get(fm.column) is None:
                row[fm.column] = join_args(vals, True) + fm.strip_suffix
                any_value = True
        for fm in fields:
            if fm.kind in ("basename", "extension", "tokens", "token_count") or fm.decode in _DERIVED_DECODES or fm.decode.startswith("sysmon_hash:"):
                derived.append(fm)
                continue
            if fm.kind != "column":
                continue
            vals = self._event_values(event, fm)
            if vals:
                for c, v in fm.when:  # a `when` column no enumeration decides: the row has the field
                    if row.get(c) is None and c not in self.enum_columns:
                        row[c] = v[0] if isinstance(v, tuple) else v
            if not fm.when_row(row):
                continue
            col = fm.column_for(row)
            if len(vals) != 1 or col is None:
                continue
            if fm.decode == "sysmon_details" and isinstance(vals[0], str):
                vals = [sysmon_details_of(vals[0], (values(event, ("registry", "data", "type")) or [None])[0])]
            cv = self.column_value(fm, table, vals[0])
            if fm.trimmed and isinstance(cv, str):
                cv = cv.strip(C_SPACE)
            if cv is not None:
                cv = cv + fm.strip_suffix if (fm.strip_suffix and isinstance(cv, str) and cv) else cv
                any_value = self._put(row, fm, col, cv) or any_value
        derived.sort(key=lambda f: f.head)  # a name first, then the domain before it
        for fm in derived:
            col = fm.column_for(row)
            if fm.kind == "basename" and fm.head:
                vals = values(event, split_path(fm.ecs))
                if len(vals) == 1 and isinstance(vals[0], str):
                    have = self._get(row, fm, col)
                    if isinstance(have, str) and have not in fm.missing and fm.separator not in have:
                        self._set(row, fm, col, vals[0] + fm.separator + have)
                        any_value = True
                    elif have is None or have in fm.missing:
                        self._set(row, fm, col, vals[0] + fm.separator)
                        any_value = True
                continue
            if col is None or (row.get(col) is not None and not fm.json_path):
                continue
            vals = self._event_values(event, fm)
            if fm.decode and len(vals) == 1 and isinstance(vals[0], str):
                any_value = self._put_decoded(row, fm, col, vals[0]) or any_value
                continue
            if fm.kind == "basename" and len(vals) == 1 and isinstance(vals[0], str):
                any_value = self._put(row, fm, col, vals[0]) or any_value
            elif fm.kind == "extension" and len(vals) == 1 and isinstance(vals[0], str) and vals[0] and not fm.of_path:
                # only the extension is known: a stand-in name with it (the path is not read then)
                any_value = self._put(row, fm, col, f"eqlc-file.{vals[0]}") or any_value
            elif fm.kind == "tokens" and vals and all(isinstance(v, str) for v in vals):
                joined = join_args(vals, fm.quote_args)
                text = (joined.strip(C_SPACE) if fm.trimmed else joined) + fm.strip_suffix
                if fm.json_path:
                    any_value = self._put(row, fm, col, text) or any_value
                else:
                    row[col] = text
                    any_value = True
        for fm in fields:  # osquery's own "no value" markers
            if fm.json_path or fm.kind == "enum" or not fm.missing:
                continue
            col = fm.column_for(row)
            if col and row.get(col) is None:
                row[col] = fm.missing[0]
        return any_value

    def _choose_enums(self, row: dict, event: dict, join: Optional[str] = None) -> None:
        """Set each enumerated column (and filtered column) to the value whose ECS reading agrees
        with the most of the event's fields on that column."""
        fields = [fm for fm in self.fields.values() if fm.join == join and fm.column and not fm.json_path]
        enum_cols = {fm.column for fm in fields if fm.kind == "enum"}
        filt = dict(self.table.filter) if join is None else {}
        enum_cols |= set(filt)
        for column in enum_cols:
            fms = [fm for fm in fields if fm.column == column and fm.kind in ("enum", "column") and not fm.cases]
            domain = list(dict.fromkeys(c for fm in fms if fm.kind == "enum" for c, _ in fm.values))
            for fm in fms:
                if fm.kind == "column":
                    vals = values(event, split_path(fm.ecs))
                    if len(vals) == 1:
                        cv = self.column_value(fm, self.table.sql_table, vals[0])
                        if cv is not None and cv not in domain:
                            domain.append(cv)
            if column in filt:
                domain = [d for d in domain if d in filt[column]] or [filt[column][0]]
            else:
                domain.append(None)
            if join is not None and not any(values(event, split_path(fm.ecs)) for fm in fms):
                continue  # nothing about the joined row: leave it to the other fields
            # fields present only on rows whose `when` holds for this column (Security process.executable
            # for the event ids Elastic reads it from): a value of the event's field asks for such a row
            gated = [(fm, [v for c, v in fm.when if c == column]) for fm in self.fields.values() if fm.join == join]
            gated = [(fm, conds) for fm, conds in gated if conds and values(event, split_path(fm.ecs))]
            best, best_score = domain[0], -1
            for cand in domain:
                score = sum(all(when_holds(cand, v) for v in conds) for _, conds in gated)
                for fm in fms:
                    have = normalize(values(event, split_path(fm.ecs)), fm.type)
                    if fm.kind == "enum":
                        want = normalize(list(fm.value_map.get(cand, ())), fm.type)
                    else:
                        want = normalize([cand] if cand is not None and cand not in fm.missing else [], fm.type)
                    score += have == want
                if score > best_score:
                    best, best_score = cand, score
            row[column] = best

    def _choose_json_enums(self, row: dict, event: dict) -> None:
        """An enumerated value inside the JSON document (winlog.logon.type from EventData's
        LogonType): the listed value whose ECS reading is the event's."""
        for fm in self.fields.values():
            if fm.kind != "enum" or not fm.json_path or fm.join:
                continue
            have = normalize(values(event, split_path(fm.ecs)), fm.type)
            for cand, ecs in fm.values:
                if normalize(list(ecs), fm.type) == have and have:
                    self._put(row, fm, fm.column, str(cand))
                    break

    def load(self, event: dict) -> Loaded:
        main = {c: None for c in self.columns(self.table.sql_table)}
        self._choose_enums(main, event)
        self._choose_json_enums(main, event)
        fields = self.event_fields(event)
        own = [fm for fm in fields if not fm.join]
        self._fill(main, self.table.sql_table, own, event)
        out = Loaded(self.table.name, main)
        for alias, join in self.table.joins.items():
            jfields = [fm for fm in fields if fm.join == alias]
            jrow = {c: None for c in self.columns(join.table)}
            self._choose_enums(jrow, event, alias)
            chosen = any(jrow.get(fm.column) is not None for fm in jfields if fm.kind == "enum")
            if not self._fill(jrow, join.table, jfields, event) and not chosen:
                continue
            key = main.get(join.on)
            missing_markers = {m for fm in own if fm.column == join.on for m in fm.missing}
            if key is None or key in missing_markers:
                # the event gives facts of the joined row but not the key the join reads (a
                # parent's pid, the image's path): osquery always has one, so use a stand-in
                text = self.columns(self.table.sql_table)[join.on] not in ("BIGINT", "INTEGER")
                key = (SYNTHETIC_IMAGE_PATH if self.platform == "windows" else SYNTHETIC_IMAGE_PATH_POSIX) if text else SYNTHETIC_PARENT_PID
                main[join.on] = key
            if join.table == self.table.sql_table and key == main.get(join.key):
                continue  # a process cannot be its own parent row
            jrow[join.key] = key
            out.joined[alias] = jrow
        return out

    # ---- rows -> ECS --------------------------------------------------------------------------
    def view_fields(self, loaded: Loaded) -> list[FieldMap]:
        out = list(self.fields.values())
        wild = self.table.wildcard_fields(self.platform)
        for prefix, template in wild:
            if not template.json_path:
                continue
            raw = loaded.main.get(template.column)
            doc = json.loads(raw) if isinstance(raw, str) and raw else {}
            node: Any = doc
            for key in template.json_path.split("{}")[0].rstrip(".").split(".")[1:]:
                node = node.get(key) if isinstance(node, dict) else None
            if isinstance(node, dict):
                for key in node:
                    name = prefix + key
                    if name not in self.fields:
                        fm = self.field(name)
                        if fm is not None and fm.kind not in ("refuse", "absent"):
                            out.append(fm)
        return out

    def view(self, loaded: Loaded, names: Optional[set] = None) -> dict[str, list]:
        """The ECS values (per field; only ``names`` if given) Elasticsearch would have for these rows."""
        out: dict[str, list] = {"host.os.type": [self.mapping.os_types[self.platform]]}
        for fm in self.view_fields(loaded):
            if names is None or fm.ecs in names:
                out[fm.ecs] = self.field_values(fm, loaded)
        if names:
            for name in names - set(out):
                fm = self.field(name)
                if fm is not None:
                    out[name] = self.field_values(fm, loaded)
        return out

    def field_values(self, fm: FieldMap, loaded: Loaded) -> list:
        if fm.kind == "constant":
            return list(fm.constant)
        if fm.kind in ("refuse", "absent"):
            return []
        row = loaded.joined.get(fm.join) if fm.join else loaded.main
        if row is None:
            return []
        if fm.join:
            join = self.table.joins[fm.join]
            if row.get(join.key) is None or row.get(join.key) != loaded.main.get(join.on):
                return []  # the joined row is not the one the query's join finds
        col = fm.column_for(loaded.main if not fm.join else row)
        raw = row.get(col)
        if fm.json_path:
            path = fm.json_path_for(loaded.main if not fm.join else row)
            doc = json.loads(raw) if isinstance(raw, str) and raw else None
            raw = json_get(doc, path) if doc is not None else None
            if fm.fallback and doc is not None and (raw is None or raw in fm.missing):
                raw = json_get(doc, fm.fallback)
        if fm.kind == "enum":
            return list(fm.value_map.get(raw, ()))
        if not fm.when_row(loaded.main):
            return []
        if raw is None or raw in fm.missing:
            return []
        if fm.strip_suffix and isinstance(raw, str) and raw.endswith(fm.strip_suffix):
            raw = raw[: -len(fm.strip_suffix)]
        if fm.decode == "sysmon_details":
            return [sysmon_details(str(raw))]
        if fm.decode == "sysmon_hive":
            h = sysmon_decode.hive(str(raw))
            return [h] if h is not None else []
        if fm.decode == "windows_outcome":
            h = sysmon_decode.outcome(str(raw))
            return [h] if h is not None else []
        if fm.decode.startswith("sysmon_hash:"):
            h = sysmon_decode.hash_value(str(raw), fm.decode.split(":", 1)[1])
            return [h] if h is not None else []
        if fm.kind == "basename" and fm.head:
            text = str(raw)
            return [text.rsplit(fm.separator, 1)[0]] if fm.separator in text else []
        if fm.kind == "basename":
            if fm.separator_required and fm.separator not in str(raw):
                return []
            return [_basename(str(raw), fm.separator)]
        if fm.kind == "tokens":
            return str(raw).split(" ")
        if fm.kind == "token_count":
            return [len(str(raw).split(" "))]
        if fm.kind == "extension" and fm.of_path:
            text = str(raw)
            if fm.separator in text and "." in text and len(text) > 1:
                return [text.rsplit(".", 1)[1]]
            return []
        if fm.kind == "extension":
            ext = _extension(_basename(str(raw), fm.separator))
            return [ext] if ext is not None else []
        if fm.type == "long":
            if isinstance(raw, str) and not (raw.isascii() and raw.isdigit()):
                return []
            return [int(raw)]
        if fm.type == "ip":
            try:
                a = ipaddress.ip_address(str(raw))
            except ValueError:
                return []
            if isinstance(a, ipaddress.IPv6Address) and a.ipv4_mapped is not None:
                a = a.ipv4_mapped
            return [str(a)]
        return [str(raw)]

    def view_event(self, loaded: Loaded, event_id: Any = None, names: Optional[set] = None) -> dict:
        """The view as an ECS event document (dotted keys, ``_id`` kept)."""
        doc: dict = {}
        for name, vals in self.view(loaded, names).items():
            if vals:
                doc[name] = vals[0] if len(vals) == 1 else vals
        if event_id is not None:
            doc["_id"] = event_id
        return doc

    def mismatches(self, event: dict, loaded: Loaded, fields: set, os_named: bool = True) -> list[str]:
        """The fields (of ``fields``) whose values the rows cannot reproduce exactly.

        With ``os_named=False`` (the rule's condition does not test host.os.type; only the packs'
        platforms depend on it) an event that names no OS is read as one of the platform it is
        loaded on."""
        view = self.view(loaded, set(fields))
        out = []
        for name in sorted(fields):
            fm = self.field(name)
            ftype = fm.type if fm else "keyword"
            if name == "host.os.type" and not os_named and not values(event, ("host", "os", "type")):
                continue
            have = normalize(values(event, split_path(name)), ftype)
            want = normalize(view.get(name, []), ftype)
            if have != want:
                out.append(name)
        return out
