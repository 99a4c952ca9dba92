"""Run an emitted KQL query on ECS fixture events with duckdb-kql (PyPI), through tables built
from the SAME profile YAML the emitter reads.

Each ECS event becomes a row of the table whose category it has (``event.category``), with
every mapped field in its column, read with :func:`compiler.events.values` (Elasticsearch's view
of the event). Kusto conventions are reproduced, because duckdb-kql follows SQL's instead
(shared/research/offline-oracles.md §1): a missing string is loaded as ``""`` (Kusto never
stores a null string; with SQL NULLs ``isempty``/``==`` give Kusto-incorrect answers), missing
numbers as NULL.

Some events cannot be rows of a Defender table without changing what they say; they are left
out and reported by :func:`exclusions` with the reason, never silently:

* a field with several values mapped to a one-value column;
* value-mapped fields (event.type/event.action -> ActionType) whose values map to no common
  column value;
* events on which a fact the translation assumed (e.g. ``event.action in ("exec", ...)`` taken
  to hold for every DeviceProcessEvents row) is false in Elasticsearch's terms: the translation
  is only claimed exact where its stated assumptions hold.

Lookup tables (DeviceInfo for host.os.type) get one row per device. ECS states the OS per event,
Defender per device; when one ``host.id`` carries several ``host.os.type`` values in a fixture
set, each (host.id, OS) pair becomes its own device (``h1#os=Linux``).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any, Iterable, Optional

from compiler import ir
from compiler.events import split_path, values
from compiler.result import Status, Translation

from .emit import Fact, eq_fold, literal_values, leaf_field
from .profile import FieldMap, Profile, Table, load_profile

ID_COLUMN = "__eqlc_id"
SQL_TYPES = {"string": "VARCHAR", "long": "BIGINT", "int": "BIGINT", "real": "DOUBLE", "datetime": "TIMESTAMP",
             "bool": "BOOLEAN", "boolean": "BOOLEAN", "dynamic": "VARCHAR", "timespan": "INTERVAL"}


@dataclass
class Loaded:
    """Tables ready for duckdb: name -> (column -> kusto type, rows), plus the events left out."""

    tables: dict[str, tuple[dict[str, str], list[dict[str, Any]]]] = field(default_factory=dict)
    excluded: dict[str, str] = field(default_factory=dict)


def _fact_holds(fact: Fact, event: dict) -> bool:
    """Elasticsearch's truth of an equality-like leaf on a fact field (any value equal)."""
    f = leaf_field(fact.leaf)
    lits, ci = literal_values(fact.leaf)
    assert f is not None and lits is not None
    have = [v for v in values(event, f.path) if isinstance(v, str)]
    return any(eq_fold(h, lit, ci) for h in have for lit in lits)


def _timestamp(v: Any) -> Optional[dt.datetime]:
    if not isinstance(v, str):
        return None
    try:
        t = dt.datetime.fromisoformat(v.replace("Z", "+00:00"))
    except ValueError:
        return None
    return t.astimezone(dt.timezone.utc).replace(tzinfo=None) if t.tzinfo else t


def _scalar(fm: FieldMap, vals: list, typ: str) -> tuple[bool, Any]:
    """(ok, column value) for a one-value column, or (False, reason)."""
    if len(vals) > 1:
        return False, f"{fm.field} has {len(vals)} values but {fm.text} holds one"
    v = vals[0] if vals else None
    if typ == "string":
        if v is None:
            return True, ""
        if isinstance(v, bool):
            return True, "true" if v else "false"
        if isinstance(v, (dict, list)):
            return False, f"{fm.field} is an object"
        return True, str(v)
    if typ in ("long", "int", "real"):
        if v is None:
            return True, None
        if isinstance(v, bool) or not isinstance(v, (int, float, str)):
            return False, f"{fm.field} value {v!r} is not a number"
        try:
            return True, (float(v) if typ == "real" else int(v))
        except ValueError:
            return False, f"{fm.field} value {v!r} is not a number"
    if typ == "datetime":
        return True, _timestamp(v)
    if typ in ("bool", "boolean"):
        return True, v if isinstance(v, bool) else None
    return False, f"{fm.field}: column type {typ} is not loaded by the adapter"


def _device_ids(profile: Profile, events: list[dict]) -> dict[int, str]:
    """host.id per event, split by OS where one host carries several host.os.type values."""
    os_by_host: dict[str, set] = {}
    for e in events:
        hid = (values(e, ("host", "id")) or [""])[0]
        os_by_host.setdefault(str(hid), set()).add(str((values(e, ("host", "os", "type")) or ["<none>"])[0]))
    out = {}
    for i, e in enumerate(events):
        hid = str((values(e, ("host", "id")) or [""])[0])
        if len(os_by_host[hid]) > 1:
            out[i] = f"{hid}#os={(values(e, ('host', 'os', 'type')) or ['<none>'])[0]}"
        else:
            out[i] = hid
    return out


def load(profile: Profile, events: list[dict], facts: Iterable[Fact] = ()) -> Loaded:
    facts = list(facts)
    out = Loaded()
    devices = _device_ids(profile, events)
    lookup_rows: dict[str, dict[str, dict[str, Any]]] = {name: {} for name in profile.lookups}
    for t in profile.tables.values():
        cols = dict(profile.columns_of(t))
        cols[ID_COLUMN] = "string"
        out.tables[t.name] = (cols, [])
    for name, lk in profile.lookups.items():
        cols = {lk.on: profile.types.get(lk.on, "string"), profile.timestamp: "datetime", **lk.columns}
        out.tables[lk.table] = (cols, [])
    for idx, event in enumerate(events):
        eid = str(event.get("_id", idx))
        failed = next((f for f in facts if _fact_holds(f, event) != f.value), None)
        if failed is not None:
            out.excluded[eid] = f"outside the stated assumption on {leaf_field(failed.leaf).name}"  # type: ignore[union-attr]
            continue
        cats = [c for c in values(event, ("event", "category")) if isinstance(c, str)]
        for t in profile.tables.values():
            if t.category not in cats:
                continue
            row, reason = _row(profile, t, event, idx, devices, lookup_rows)
            if reason:
                out.excluded[eid] = f"{t.name}: {reason}"
                continue
            row[ID_COLUMN] = eid
            out.tables[t.name][1].append(row)
    for name, rows in lookup_rows.items():
        out.tables[profile.lookups[name].table][1].extend(rows.values())
    return out


def _row(profile: Profile, t: Table, event: dict, idx: int, devices: dict, lookup_rows: dict) -> tuple[dict, Optional[str]]:
    cols = profile.columns_of(t)
    row: dict[str, Any] = {c: ("" if typ == "string" else None) for c, typ in cols.items()}
    ts = _timestamp((values(event, ("@timestamp",)) or [None])[0])
    row[profile.timestamp] = ts
    if "ReportId" in cols:
        row["ReportId"] = idx + 1
    mapped: dict[str, list[tuple[str, ...]]] = {}
    for fm in t.fields.values():
        vals = values(event, split_path(fm.field))
        if fm.field == "host.id":
            vals = [devices[idx]]
        if fm.lookup is not None:
            lk = fm.lookup
            raw = vals[0] if vals else None
            if raw is None:
                column_value = ""
            elif fm.values and str(raw) in fm.values:
                column_value = fm.values[str(raw)][0]
            else:
                column_value = f"<unmapped ECS value: {raw}>"
            dev = devices[idx]
            prev = lookup_rows[lk.name].get(dev)
            if prev is None or (ts and prev[profile.timestamp] and ts > prev[profile.timestamp]):
                lookup_rows[lk.name][dev] = {lk.on: dev, profile.timestamp: ts, fm.column: column_value}
            continue
        if fm.values is not None:
            hits = [fm.values[str(v)] for v in vals if str(v) in fm.values]
            if hits:
                allowed = [x for h in hits for x in h]
                mapped.setdefault(fm.column or "", []).append(tuple(allowed))
            continue
        if fm.expr:  # computed by the query from other columns (e.g. file.extension from FileName)
            continue
        if fm.is_array:
            import json

            row[fm.column] = json.dumps([v for v in vals])  # type: ignore[index]
            continue
        ok, val = _scalar(fm, vals, fm.type)
        if not ok:
            if fm.field in ("host.os.type",):
                continue
            return row, val
        if fm.field == "@timestamp":
            continue
        row[fm.column] = val  # type: ignore[index]
    for column, options in mapped.items():
        common = [x for x in options[0] if all(x in o for o in options[1:])]
        if not common:
            return row, f"value-mapped fields give {column} no common value ({options})"
        row[column] = common[0]
    return row, None


def exclusions(translation: Translation, events: list[dict], profile: Optional[str] = None, mapping: Optional[str] = None) -> dict[str, str]:
    """Events the adapter leaves out for this translation, with the reason."""
    prof = load_profile(profile or translation.profile, mapping)
    return load(prof, events, getattr(translation, "facts", ())).excluded


def connect(loaded: Loaded, query: Optional[str] = None):
    """A duckdb-kql connection holding the loaded tables (only those ``query`` names, if given)."""
    import re

    import duckdb_kql

    con = duckdb_kql.connect()
    for name, (cols, rows) in loaded.tables.items():
        if query is not None and not re.search(rf"\b{re.escape(name)}\b", query):
            continue
        spec = ", ".join(f'"{c}" {SQL_TYPES.get(typ, "VARCHAR")}' for c, typ in cols.items())
        con.execute(f'CREATE TABLE "{name}" ({spec})')
        if rows:
            names = list(cols)
            marks = ", ".join("?" for _ in names)
            con.executemany(f'INSERT INTO "{name}" VALUES ({marks})', [[r.get(c) for c in names] for r in rows])
    return con


def run(translation: Translation, events: list[dict], profile: Optional[str] = None, mapping: Optional[str] = None) -> list[str]:
    """The ``_id`` of every event the translation's query selects (in output order, distinct)."""
    if translation.status is Status.REFUSED or translation.output is None:
        raise ValueError("a refused translation has no query to run")
    import duckdb_kql

    prof = load_profile(profile or translation.profile, mapping)
    loaded = load(prof, events, getattr(translation, "facts", ()))
    con = connect(loaded, translation.output)
    rel = duckdb_kql.kql(con, translation.output)
    names = [d[0] for d in rel.description]
    if ID_COLUMN not in names:
        raise ValueError(f"the query's output has no {ID_COLUMN} column (it projected it away)")
    pos = names.index(ID_COLUMN)
    out: list[str] = []
    for row in rel.fetchall():
        if row[pos] not in out:
            out.append(row[pos])
    return out
