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
import re
from dataclasses import dataclass, field
from typing import Any, Optional

from eqlc.events import split_path, values

from .fields import FieldMap, Mapping, TableMap

C_SPACE = " \t\n\v\f\r"  # what boost::algorithm::trim removes in the C locale (std::isspace)
SYNTHETIC_PARENT_PID = 999_999  # a parent pid for events that give parent facts but no parent pid
_INT = re.compile(r"-?[0-9]+")


@dataclass
class Loaded:
    table: str
    main: dict
    joined: dict = field(default_factory=dict)  # join alias -> row dict (or absent)


def _basename(path: str) -> str:
    return path.rsplit("/", 1)[-1]


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


class Adapter:
    """Rows of ``table`` on ``platform`` from ECS events, and back."""

    def __init__(self, mapping: Mapping, table: TableMap, platform: str) -> None:
        self.mapping = mapping
        self.table = table
        self.platform = platform
        self.fields: dict[str, FieldMap] = table.fields[platform]

    # ---- ECS -> rows --------------------------------------------------------------------------
    def column_value(self, fm: FieldMap, table: str, value: Any) -> Any:
        """The column value osquery would hold for the ECS ``value`` (None if it cannot)."""
        sql_type = self.mapping.schema[table][fm.column]
        integer = sql_type in ("BIGINT", "INTEGER")
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

    def _fill(self, row: dict, table: str, fields: list[FieldMap], event: dict) -> bool:
        """Fill ``row`` from ``event``; True if any field had a value."""
        any_value = False
        derived = []
        for fm in fields:
            if fm.kind in ("basename", "extension", "tokens", "token_count"):
                derived.append(fm)
                continue
            if fm.kind != "column":
                continue
            if any(row.get(c) != v for c, v in fm.when):
                continue
            vals = values(event, split_path(fm.ecs))
            if len(vals) != 1 or row.get(fm.column) is not None:
                continue
            cv = self.column_value(fm, table, vals[0])
            if fm.trimmed and isinstance(cv, str):
                cv = cv.strip(C_SPACE)
            if cv is not None:
                row[fm.column] = cv + fm.strip_suffix if (fm.strip_suffix and isinstance(cv, str) and cv) else cv
                any_value = True
        for fm in derived:
            if row.get(fm.column) is not None:
                continue
            vals = values(event, split_path(fm.ecs))
            if fm.kind == "basename" and len(vals) == 1 and isinstance(vals[0], str):
                row[fm.column] = vals[0]
                any_value = True
            elif fm.kind == "tokens" and vals and all(isinstance(v, str) for v in vals):
                joined = " ".join(vals)
                row[fm.column] = (joined.strip(C_SPACE) if fm.trimmed else joined) + fm.strip_suffix
                any_value = True
        for fm in fields:  # osquery's own "no value" markers
            if fm.column and fm.missing and row.get(fm.column) is None and fm.kind != "enum":
                row[fm.column] = fm.missing[0]
        return any_value

    def _choose_enums(self, row: dict, event: dict) -> None:
        by_column: dict[str, list[FieldMap]] = {}
        for fm in self.fields.values():
            if fm.kind == "enum" and not fm.join:
                by_column.setdefault(fm.column, []).append(fm)
        for column, fms in by_column.items():
            domain = list(dict.fromkeys(c for fm in fms for c, _ in fm.values)) + [None]
            best, best_score = None, -1
            for cand in domain:
                score = 0
                for fm in fms:
                    have = normalize(values(event, split_path(fm.ecs)), fm.type)
                    want = normalize(list(fm.value_map.get(cand, ())), fm.type)
                    score += have == want
                if score > best_score:
                    best, best_score = cand, score
            row[column] = best

    def load(self, event: dict) -> Loaded:
        schema = self.mapping.schema
        main = {c: None for c in schema[self.table.name]}
        self._choose_enums(main, event)
        own = [fm for fm in self.fields.values() if not fm.join]
        self._fill(main, self.table.name, own, event)
        out = Loaded(self.table.name, main)
        for alias, join in self.table.joins.items():
            jfields = [fm for fm in self.fields.values() if fm.join == alias]
            jrow = {c: None for c in schema[join.table]}
            if not self._fill(jrow, join.table, jfields, event):
                continue
            key = main.get(join.on)
            missing_markers = {m for fm in own if fm.column == join.on for m in fm.missing}
            if key is None or key in missing_markers:
                key = SYNTHETIC_PARENT_PID
                main[join.on] = key
            if join.table == self.table.name and key == main.get(join.key):
                continue  # a process cannot be its own parent row
            jrow[join.key] = key
            out.joined[alias] = jrow
        return out

    # ---- rows -> ECS --------------------------------------------------------------------------
    def view(self, loaded: Loaded, names: Optional[set] = None) -> dict[str, list]:
        """The ECS values (per field; only ``names`` if given) Elasticsearch would have for these rows."""
        out: dict[str, list] = {"host.os.type": [self.mapping.os_types[self.platform]]}
        for name, fm in self.fields.items():
            if names is None or name in names:
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
        raw = row.get(fm.column)
        if fm.kind == "enum":
            return list(fm.value_map.get(raw, ()))
        if any(loaded.main.get(c) != v for c, v in fm.when):
            return []
        if raw is None or raw in fm.missing:
            return []
        if fm.strip_suffix and isinstance(raw, str) and raw.endswith(fm.strip_suffix):
            raw = raw[: -len(fm.strip_suffix)]
        if fm.kind == "basename":
            return [_basename(str(raw))]
        if fm.kind == "tokens":
            return str(raw).split(" ")
        if fm.kind == "token_count":
            return [len(str(raw).split(" "))]
        if fm.kind == "extension":
            ext = _extension(_basename(str(raw)))
            return [ext] if ext is not None else []
        if fm.type == "long":
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

    def mismatches(self, event: dict, loaded: Loaded, fields: set) -> list[str]:
        """The fields (of ``fields``) whose values the rows cannot reproduce exactly."""
        view = self.view(loaded)
        out = []
        for name in sorted(fields):
            fm = self.fields.get(name)
            ftype = fm.type if fm else "keyword"
            have = normalize(values(event, split_path(name)), ftype)
            want = normalize(view.get(name, []), ftype)
            if have != want:
                out.append(name)
        return out
