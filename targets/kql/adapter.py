"""Run an emitted KQL query on ECS fixture events with duckdb-kql (PyPI), through tables built
from the SAME profile YAML the emitter reads.

Each ECS event becomes a row of the table whose category it has (``event.category``; a table
that holds only the events with a value in one field, ``rows_need``, takes only those: container
processes, with container.id, in CloudProcessEvents), with
every mapped field in its column, read with :func:`eqlc.events.values` (Elasticsearch's view
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
  is only claimed exact where its stated assumptions hold;
* events where a field the translation compares with Kusto's case-insensitive operators holds a
  non-ASCII character that a Unicode case mapping folds to ASCII (İ, ı, ſ, K): the translation
  states that such values are absent (Kusto documents those operators for ASCII only; duckdb-kql
  folds them with SQL lower());
* events on which a field the translation read from a command line (``process.args`` from
  ``process.command_line``, see :mod:`eqlc.targets.kql.argv`) is not what the stated assumption says
  (an argument with a space, a command line that is not the arguments joined by spaces).

Fields read from a command line get no column of their own: the command line's column is loaded
from the ECS command-line field, exactly as for any rule.

Lookup tables (DeviceInfo for host.os.type) get one row per device. ECS states the OS per event,
Defender per device; when one ``host.id`` carries several ``host.os.type`` values in a fixture
set, each (host.id, OS) pair becomes its own device (``h1#os=Linux``).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
import json
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any, Iterable, Optional

from eqlc import ir
from eqlc.checks import fields_in
from eqlc.events import replaced, split_path, values
from eqlc.result import Status, Translation

from . import certificates, syntax
from .absent import Absent, breaks, truth, with_value
from .argv import Derived
from .emit import Fact, eq_fold, literal_values, leaf_field
from .entity import scattered, unpaired
from .scan import SequencePlan, run_scan, scan_rows
from .hives import Respelt
from . import fortigate
from .profile import ANY_CATEGORY, KV_PAIR, FieldMap, HiveColumn, Profile, Table, UsernameColumn, load_profile
from .shapes import breaks as shape_breaks
from .raw_tables import (event_data_xml, event_id_column, fill_event_data, fill_words, jointly_routed, keyword_number_breaks, routes,
                         union_legs, without_raw, xml_field)

ID_COLUMN = "__eqlc_id"
SQL_TYPES = {"string": "VARCHAR", "long": "BIGINT", "int": "BIGINT", "real": "DOUBLE", "datetime": "TIMESTAMP",
             "bool": "BOOLEAN", "boolean": "BOOLEAN", "dynamic": "VARCHAR", "timespan": "INTERVAL"}


@dataclass
class Loaded:
    """Tables ready for duckdb: name -> (column -> kusto type, rows), plus the events left out."""

    tables: dict[str, tuple[dict[str, str], list[dict[str, Any]]]] = field(default_factory=dict)
    excluded: dict[str, str] = field(default_factory=dict)


def _ci_category_literals(facts: list[Fact]) -> tuple[str, ...]:
    """The literals of the case-insensitive event.category tests the translation decided from table
    facts (emit.Emitter.fact states their spelling assumption); empty when there are none."""
    out: list[str] = []
    for f in facts:
        fld = leaf_field(f.leaf)
        if fld is not None and fld.name == "event.category":
            lits, ci = literal_values(f.leaf)
            if ci and lits:
                out.extend(lits)
    return tuple(out)


def _category_case_variant(known: set[str], literals: tuple[str, ...], cats: list[str]) -> Optional[str]:
    """Why an event is outside the stated spelling of event.category: a case-insensitive test on
    the category matches one of its values that no table holds exactly (``LIBRARY``), so the event
    is read from no table."""
    odd = next((c for c in cats if c not in known and any(eq_fold(c, lit, True) for lit in literals)), None)
    if odd is None:
        return None
    return f"outside the stated spelling of event.category: {odd!r} is a case variant no table holds"


def _lands(t: Table, cats: list[str], event: dict, split_by: Iterable[Any] = ()) -> bool:
    """Whether ``event`` is a row of table ``t``: it has the table's category and, for a table
    holding only the events with a value in one field (CloudProcessEvents: ``rows_need``
    container.id, the processes of containers), a non-empty value there. A translation reading a
    union split by such a field (``split_by``, emit.Routed: _Im_Dns and imNetworkSession) takes the
    events with a value in it to be rows of the other table only."""
    if t.category not in cats and t.category != ANY_CATEGORY:
        return False
    if t.route and not routes(t, event):  # routed raw tables: the table its route fields name
        return False
    if t.rows_need:
        return any(v not in (None, "") for v in values(event, split_path(t.rows_need)))
    for r in split_by:
        if r.table == t.name and any(v not in (None, "") for v in values(event, split_path(r.field))):
            return False
    return True


def _absent_source(profile: Profile, event: dict) -> Optional[str]:
    """Why ``event`` is outside the raw-tables profile's statement that a data source is absent
    (``absent_sources``, kqlkerb3: Elastic Defend's logs-endpoint.*): its event.module,
    event.dataset or data_stream.dataset names that source's data sets; or None."""
    if not any(t.category == ANY_CATEGORY for t in profile.tables.values()):
        return None
    for entry in profile.raw.get("absent_sources") or ():
        names = [str(d) for d in entry.get("datasets") or ()]
        for path in ("event.module", "event.dataset", "data_stream.dataset"):
            hit = next((v for v in values(event, split_path(path)) if isinstance(v, str)
                        and any(v == d or v.startswith(d + ".") for d in names)), None)
            if hit is not None:
                return (f"outside the stated assumption that {', '.join(map(str, entry.get('sources') or ()))} "
                        f"is absent: its {path} is {hit!r}")
    return None


def _created_breaks(name: str, event: dict) -> Optional[str]:
    """Why ``event``'s ``name`` (a table's ``created_field``: the time its time column records)
    differs from its @timestamp, which the query reads from that column, or None (equal, or absent)."""
    have = [v for v in values(event, split_path(name)) if v is not None]
    if not have:
        return None
    ts = _timestamp((values(event, ("@timestamp",)) or [None])[0])
    if len(have) > 1 or _timestamp(have[0]) is None or _timestamp(have[0]) != ts:
        return f"{name} {have!r} is not the event's @timestamp, which the query reads from the table's time column"
    return None


def _fact_holds(fact: Fact, event: dict) -> bool:
    """Elasticsearch's truth of an equality-like leaf on a fact field (any value equal)."""
    f = leaf_field(fact.leaf)
    lits, ci = literal_values(fact.leaf)
    assert f is not None
    if lits is None:  # a pattern decided by the reference matcher (emit.Emitter.fact)
        return truth(fact.leaf, event)
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


def _device_ids(profile: Profile, events: list[dict], agents: Iterable[str] = ()) -> dict[int, str]:
    """host.id per event, split by OS where one host carries several host.os.type values.

    ``agents``: identifier fields the translation joins on through the device column they name
    one-to-one (agent.id, entity.unpaired): an event without host.id is then on its agent's device
    (every table row has a device; the emitter refuses such a join when the rule reads host.id)."""
    agents = [split_path(a) for a in agents]

    def host(e: dict) -> str:
        hid = (values(e, ("host", "id")) or [""])[0]
        if hid in ("", None):
            for path in agents:
                got = values(e, path)
                if len(got) == 1 and got[0] not in ("", None):
                    return f"device-of-{'.'.join(path)}-{got[0]}"
        return str(hid)

    os_by_host: dict[str, set] = {}
    for e in events:
        hid = host(e)
        os_by_host.setdefault(str(hid), set()).add(str((values(e, ("host", "os", "type")) or ["<none>"])[0]))
    out = {}
    for i, e in enumerate(events):
        hid = host(e)
        if len(os_by_host[hid]) > 1:
            out[i] = f"{hid}#os={(values(e, ('host', 'os', 'type')) or ['<none>'])[0]}"
        else:
            out[i] = hid
    return out


def load(profile: Profile, events: list[dict], facts: Iterable[Fact] = (), derived: Iterable[Derived] = (),
         computed: Iterable[str] = (), folded: Iterable[str] = (), mapped: Iterable[Any] = (),
         spelled: Iterable[Respelt] = (), emptied: Iterable[str] = (), absent: Iterable[Absent] = (),
         columns: Optional[Iterable[str]] = None, keyed: Iterable[str] = (), signed: Iterable[Any] = (),
         split_by: Iterable[Any] = ()) -> Loaded:
    """The tables for ``events`` and the events left out, for a translation that assumed
    ``facts``... ``emptied`` and reads ``columns`` (None: every column): a value that cannot be
    loaded into a column (several values for a one-value column) leaves the event out only when
    the query reads that column."""
    read = None if columns is None else set(columns)
    facts = list(facts)
    ci_categories = _ci_category_literals(facts)  # once per load, not per event
    table_categories = {t.category for t in profile.tables.values()}
    absent = list(absent)
    emptied_paths = [(name, split_path(name)) for name in emptied]
    derived = list(derived)
    folded_paths = [(name, split_path(name)) for name in folded]
    mapped = list(mapped)
    out = Loaded()
    keyed = list(keyed)
    split_by = list(split_by)
    devices = _device_ids(profile, events, [f for f in keyed if any((fm := t.fields.get(f)) is not None and fm.one_to_one
                                                                    for t in profile.tables.values())])
    lookup_rows: dict[str, dict[str, dict[str, Any]]] = {name: {} for name in profile.lookups}
    routed = [t for t in profile.tables.values() if t.route]
    for t in profile.tables.values():
        cols = dict(profile.columns_of(t))
        cols[ID_COLUMN] = "string"
        out.tables[t.name] = (cols, [])
    for name, lk in profile.lookups.items():
        cols = {lk.on: profile.types.get(lk.on, "string"), profile.timestamp: "datetime",
                **{lk.stored_as_list.get(c, c): ("dynamic" if c in lk.stored_as_list else t) for c, t in lk.columns.items()}}
        out.tables[lk.table] = (cols, [])
    # (lookup, key) -> [(event id, table, value)]: the events that stated a lookup row's value
    stated: dict[tuple[str, str], list[tuple[str, str, Any]]] = {}
    for idx, event in enumerate(events):
        eid = str(event.get("_id", idx))
        cats = [c for c in values(event, ("event", "category")) if isinstance(c, str)]
        # a fact is about one table's rows (a union leg, a sequence reading several tables): events
        # that land in no table of it are not its rows
        landed = {t.name for t in profile.tables.values() if _lands(t, cats, event, split_by)}
        if not landed and routed:
            out.excluded[eid] = (f"outside the stated source mapping: the event is a row of none of "
                                 f"{', '.join(t.name for t in routed)} (its {', '.join(dict.fromkeys(f for t in routed for f in t.route))} "
                                 f"is none of the values those tables hold)")
            continue
        gone = _absent_source(profile, event) if landed else None
        if gone is not None:
            out.excluded[eid] = gone
            continue
        late = next(((t.name, why) for t in profile.tables.values() if t.name in landed and t.created_field
                     and (why := _created_breaks(t.created_field, event))), None)
        if late is not None:
            out.excluded[eid] = f"outside the stated assumption on @timestamp ({late[0]}): {late[1]}"
            continue
        failed = next((f for f in facts if (not f.table or f.table in landed) and _fact_holds(f, event) != f.value
                       and (f.when is None or truth(f.when, event))), None)
        if failed is not None:
            out.excluded[eid] = f"outside the stated assumption on {leaf_field(failed.leaf).name}"  # type: ignore[union-attr]
            continue
        odd = _category_case_variant(table_categories, ci_categories, cats) if ci_categories else None
        if odd is not None:
            out.excluded[eid] = odd
            continue
        present = next((why for a in absent if (a.table is None or a.table in landed) and (why := breaks(a, event))), None)
        if present is not None:
            out.excluded[eid] = present
            continue
        odd = next(((name, v) for name, path in folded_paths for v in values(event, path)
                    if isinstance(v, str) and any(syntax.folds_to_ascii(ch) for ch in v)), None)
        if odd is not None:
            out.excluded[eid] = (f"outside the stated assumption on case folding: {odd[0]} {odd[1]!r} has a non-ASCII "
                                 f"letter that a Unicode case mapping folds to ASCII")
            continue
        blank = next((name for name, path in emptied_paths if "" in values(event, path)), None)
        if blank is not None:
            out.excluded[eid] = (f"outside the stated assumption on {blank}: it holds \"\", which Kusto stores"
                                 f" for a missing string and the query reads as missing")
            continue
        broken = next(((d, why) for d in derived if (why := d.violation(event))), None)
        if broken is not None:
            out.excluded[eid] = f"outside the stated assumption on {broken[0].field}: {broken[1]}"
            continue
        for t in profile.tables.values():
            if not _lands(t, cats, event, split_by):
                continue
            source = event  # what the row is written from
            if t.fill == fortigate.FILL:
                written, why = fortigate.fill(event)
                if why:
                    out.excluded[eid] = f"{t.name}: outside the stated assumption on event.outcome: {why}"
                    continue
                for path, text in written:  # the message of a login, which ECS documents do not carry
                    source = _with_value(source, path, text)
            row, reason, contributions, problems = _cached_row(profile, t, source, idx, devices)
            if t.category == ANY_CATEGORY and (idc := event_id_column(t)) and (fill := fill_event_data(t, event, row.get(idc))):
                raw = event  # the raw row holds the EventData the event's derived fields came from
                for path, text in fill:
                    raw = _with_value(raw, path, text)
                row, reason, contributions, problems = _cached_row(profile, t, raw, idx, devices)
            if not reason:
                reason = next((why for col, why in problems.items() if read is None or col in read), None)
            for lk_name, dev, lk_row in contributions:
                lk = profile.lookups[lk_name]
                if lk.on in row:  # keyed by the row's own join column (Heartbeat on Computer)
                    dev = row[lk.on]
                    lk_row[lk.on] = dev
                stated.setdefault((lk_name, str(dev)), []).append(
                    (eid, t.name, tuple(v for k, v in lk_row.items() if k not in (lk.on, profile.timestamp))))
                prev = lookup_rows[lk_name].get(dev)
                ts = lk_row[profile.timestamp]
                if prev is None or (ts and prev[profile.timestamp] and ts > prev[profile.timestamp]):
                    lookup_rows[lk_name][dev] = lk_row
            if not reason:
                reason = _mapped_breaks(mapped, t.name, row, event)
            if reason:
                out.excluded[eid] = f"{t.name}: {reason}"
                continue
            row[ID_COLUMN] = eid
            out.tables[t.name][1].append(row)
    _drop_restated(profile, out, lookup_rows, stated)
    for name, rows in lookup_rows.items():
        lk = profile.lookups[name]
        for r in rows.values():
            for col, stored in lk.stored_as_list.items():
                v = r.pop(col, "")
                r[stored] = json.dumps([] if v in ("", None) else [v])
        out.tables[lk.table][1].extend(rows.values())
    by_id = {str(e.get("_id", i)): e for i, e in enumerate(events)}
    # DeviceFileCertificateInfo rows from the events' signatures, and the rows outside that reading
    out.excluded.update(certificates.attach(profile, out.tables, by_id, list(signed), read, ID_COLUMN))
    _check_computed(profile, out, by_id, list(computed), list(spelled))
    _check_keyed(profile, out, list(keyed), by_id)
    return out


def _check_keyed(profile: Profile, out: Loaded, keyed: list[str], by_id: dict[str, dict]) -> None:
    """Leave out rows outside the stated assumption on process identifiers joined within their
    device (:func:`eqlc.targets.kql.entity.scattered`) and on identifiers read from the column of
    a field they name one-to-one (:func:`eqlc.targets.kql.entity.unpaired`)."""
    if not keyed:
        return
    bad = scattered(profile, out.tables, keyed, ID_COLUMN)
    bad.update((k, v) for k, v in unpaired(profile, out.tables, keyed, by_id, ID_COLUMN).items() if k not in bad)
    if bad:
        for _cols, rows in out.tables.values():
            rows[:] = [r for r in rows if r.get(ID_COLUMN) not in bad]
        out.excluded.update(bad)


def _check_computed(profile: Profile, out: Loaded, by_id: dict[str, dict], computed: list[str],
                    spelled: list[Respelt] = ()) -> None:
    """Leave out rows where a field the translation reads through a profile expression (e.g.
    ASIM's process.name cut from TargetProcessName) differs from the event's ECS value.

    The expression is evaluated by duckdb-kql itself on the loaded rows, so the check is the
    query's own reading of the column, not a Python re-implementation of it.

    A field whose expression spells a registry hive in full (``hive_spelling``: registry.path read
    as RegistryKey\\RegistryValueName) is compared with the ECS value up to the hive's spelling
    (HKLM, \\REGISTRY\\MACHINE, MACHINE or HKEY_LOCAL_MACHINE); the translation states that the
    rule's conditions on it select the same keys whichever spelling an event uses, so each such
    condition (``spelled``) is evaluated by the reference matcher as the rule states it on the event
    and as the query tests it (hive prefixes rewritten) on the path the query reads: the event is
    left out exactly when the two truths differ (:func:`_spelling_breaks`)."""
    import duckdb_kql

    for t in profile.tables.values():
        fields = {f: fm for f in computed if (fm := t.fields.get(f) or xml_field(t, f)) is not None}  # XML fields: per rule
        exprs = {f: fm for f, fm in fields.items() if fm.expr and not fm.derived_from_command_line}
        cols, rows = out.tables[t.name]
        predicates = {f: fm for f, fm in fields.items() if fm.value_when is not None}
        if predicates and rows:
            _check_predicates(t.name, out, cols, rows, by_id, predicates)
        if not exprs or not rows:
            continue
        query = f"{t.name} | project {ID_COLUMN}, " + ", ".join(f"__v{i} = tostring({fm.expr})" for i, fm in enumerate(exprs.values()))
        con = connect(Loaded({t.name: (cols, rows)}), query)
        bad: dict[str, str] = {}
        for eid, *got in duckdb_kql.kql(con, query).fetchall():
            for (name, fm), value in zip(exprs.items(), got):
                have = values(by_id[eid], split_path(name))
                want = "" if not have else str(have[0]) if len(have) == 1 else None
                if fm.hive_spelling and t.hives is not None and want is not None:
                    why = _spelling_breaks(t.hives, name, want, value or "", by_id[eid], spelled, fm.columns)
                    if why:
                        bad.setdefault(eid, f"outside the stated assumption on {name}: {why}")
                    continue
                if want != (value or ""):
                    bad.setdefault(eid, (
                        f"outside the stated assumption on {name}: {name} {have!r} differs from the value the "
                        f"{profile.name} profile computes from {', '.join(fm.columns) or fm.text} ({value!r})"))
        if bad:
            rows[:] = [r for r in rows if r[ID_COLUMN] not in bad]
            out.excluded.update(bad)


def _check_predicates(table: str, out: Loaded, cols: dict, rows: list[dict], by_id: dict[str, dict],
                      predicates: dict[str, FieldMap]) -> None:
    """Leave out rows where a field read through per-value predicates (``value_when``: GitHub's
    event.type from the action) has values other than those the predicates give on the row: each
    listed value's predicate must hold exactly when the event's field holds that value, and the event
    must hold no unlisted value. duckdb-kql evaluates the predicates on the loaded rows."""
    import duckdb_kql

    items = [(name, v, pred) for name, fm in predicates.items() for v, pred in (fm.value_when or {}).items()]
    query = f"{table} | project {ID_COLUMN}, " + ", ".join(f"__p{i} = ({pred})" for i, (_n, _v, pred) in enumerate(items))
    con = connect(Loaded({table: (cols, rows)}), query)
    bad: dict[str, str] = {}
    for eid, *got in duckdb_kql.kql(con, query).fetchall():
        event = by_id[eid]
        for (name, value, _pred), holds in zip(items, got):
            have = [str(x) for x in values(event, split_path(name))]
            if bool(holds) != (value in have):
                bad.setdefault(eid, f"outside the stated assumption on {name}: {name} {have!r} "
                                    f"{'lacks' if holds else 'holds'} {value!r}, which the {table} row gives "
                                    f"{'it' if holds else 'it not'} ({_pred})")
        for name, fm in predicates.items():
            odd = [str(x) for x in values(event, split_path(name)) if str(x) not in (fm.value_when or {})]
            if odd:
                bad.setdefault(eid, f"outside the stated assumption on {name}: {odd[0]!r} is not a value the source sets")
    if bad:
        rows[:] = [r for r in rows if r[ID_COLUMN] not in bad]
        out.excluded.update(bad)


def _with_value(event: dict, path: tuple[str, ...], value: str) -> dict:
    """A copy of ``event`` whose field ``path`` holds ``value`` only (dotted or nested keys)."""
    return replaced(event, {path: value})


def _spelling_breaks(hives: HiveColumn, name: str, ecs: str, kql: str, event: dict, spelled: list[Respelt],
                     columns: tuple[str, ...] = ()) -> Optional[str]:
    """Why the event is outside the hive-spelling assumption on field ``name`` (read by the query
    as ``kql``, ECS value ``ecs``), or None.

    The event must be a path of a key or value whose hive the table's spelling names
    (``ecs`` respelt in full is ``kql``), and every condition on the field must have the same
    truth as the rule states it on ``ecs`` and as the query tests it (hive prefixes rewritten) on
    ``kql``: only then is the row the query sees the event the rule sees."""
    full = hives.spellings.respell_path(ecs)
    if full is None and ecs:
        return (f"{name} {ecs!r} does not start with a hive ({', '.join(hives.names)} or a full name), so it is "
                f"not {hives.hive_field}\\{hives.key_field}\\registry.value as {hives.column} records keys")
    if (full or ecs) != kql and name == hives.hive_field:
        return f"{name} {ecs!r} is not the hive of the key the row records (the query reads {kql!r} from {hives.column})"
    if (full or ecs) != kql:
        return (f"{name} {ecs!r} is not {hives.hive_field}\\{hives.key_field}\\registry.value (the query reads "
                f"{kql!r} from {', '.join(columns) or hives.column})")
    respelt = _with_value(event, split_path(name), kql) if ecs != kql else event
    path = split_path(name)
    for pair in spelled:
        if ecs == kql and pair.leaf == pair.query:
            continue
        if not any(f.path == path for f in fields_in(pair.leaf)):
            continue  # a condition on another hive-spelt field (registry.path vs registry.hive): checked with that field
        es, kq = truth(pair.leaf, event), truth(pair.query, respelt)
        if es != kq:
            rewritten = "" if pair.leaf == pair.query else " (its hive prefixes rewritten to the full names)"
            return (f"the rule's condition on {name} is {es} for {ecs!r} but {kq} as the query tests it{rewritten} on "
                    f"the same path with the hive spelt in full as {hives.column} records it ({kql!r}): it depends "
                    f"on the hive's spelling")
    return None


_ROWS: dict[tuple, tuple] = {}


def _drop_restated(profile: Profile, out: Loaded, lookup_rows: dict, stated: dict) -> None:
    """A lookup holds one row per key, the latest (Heartbeat's latest row per Computer): an event
    whose value differs from that row's cannot be read through the lookup, so it is left out
    (outside the lookup's stated assumption) and its rows removed. Lookups keyed by device split
    the devices instead (_device_ids), so their values agree per key already."""
    for (name, key), events in stated.items():
        final = lookup_rows[name].get(key)
        if final is None:
            continue
        lk = profile.lookups[name]
        want = tuple(v for k, v in final.items() if k not in (lk.on, profile.timestamp))
        for eid, table, got in events:
            if got == want or eid in out.excluded:
                continue
            out.excluded[eid] = (f"outside the stated assumption on {lk.table}: the latest {lk.table} row of {lk.on} "
                                 f"{key!r} states {dict(zip(lk.columns, want))}, the event {dict(zip(lk.columns, got))}")
            rows = out.tables[table][1]
            rows[:] = [r for r in rows if r.get(ID_COLUMN) != eid]


def _cached_row(profile: Profile, t: Table, event: dict, idx: int, devices: dict) -> tuple[dict, Optional[str], list, dict]:
    """:func:`_row`, remembered by the event's content (and profile, table, position, device):
    the test suites load the same fixtures for hundreds of queries. The entry keeps the profile
    alive, so its ``id`` cannot be reused while the entry exists."""
    key = (id(profile), t.name, idx, devices[idx], json.dumps(event, sort_keys=True, default=repr))
    hit = _ROWS.get(key)
    if hit is None:
        if len(_ROWS) > 50_000:
            _ROWS.clear()
        hit = _ROWS[key] = (*_row(profile, t, event, idx, devices), profile)
    row, reason, contributions, problems, _ = hit
    return dict(row), reason, [(n, d, dict(r)) for n, d, r in contributions], dict(problems)


def _row(profile: Profile, t: Table, event: dict, idx: int, devices: dict) -> tuple[dict, Optional[str], list, dict]:
    """The table row for ``event`` (or the reason it cannot be one), the lookup-table rows it
    contributes, as (lookup name, device, row), and the columns it cannot fill, with the reason
    (a field with several values for a one-value column): the event is a row for a query that
    does not read them."""
    contributions: list[tuple[str, str, dict]] = []
    problems: dict[str, str] = {}
    cols = profile.columns_of(t)
    row: dict[str, Any] = {c: ("" if typ == "string" else None) for c, typ in cols.items()}
    ts = _timestamp((values(event, ("@timestamp",)) or [None])[0])
    row[profile.timestamp] = ts
    if "ReportId" in cols:
        row["ReportId"] = idx + 1
    mapped: dict[str, list[tuple[str, ...]]] = {}
    docs: dict[str, dict] = {}  # JSON columns built from json_path fields (CloudAuditEvents.RawEventData)
    objects: dict[str, dict] = {}
    pairs: dict[str, list[str]] = {}  # key=value columns built from kv_path fields (AdditionalExtensions)
    words: list[FieldMap] = []  # words_of fields (SecurityEvent.PrivilegeList)
    filled: dict[str, tuple[str, Any]] = {}  # column -> (ECS field, value) a plain field wrote
    for fm in t.fields.values():
        if fm.key_list:  # one key of each object of a JSON list (json_list.py): the list from the values
            from . import json_list
            vals = [v for v in values(event, split_path(fm.field)) if v is not None]
            if any(json_list.breaks(v) for v in vals):
                continue  # outside the stated assumption (json_list.PlainValues sets the event apart)
            if fm.json_path:
                col, *keys = fm.json_path.split(".")
                node = docs.setdefault(col, {})
                for k in keys[:-1]:
                    node = node.setdefault(k, {})
                if vals:
                    node[keys[-1]] = json_list.to_json(fm, vals)
            elif vals and fm.column:
                row[fm.column] = json.dumps(json_list.to_json(fm, vals), separators=(",", ":"))
            continue
        if fm.list_key:  # one key of each object of a dynamic list column (OktaV2_CL.OriginalTarget)
            vals = [v for v in values(event, split_path(fm.field)) if v is not None]
            if vals:  # one object per value, as the source's list holds them (query.KeyValues checks them)
                row[fm.list_key[0]] = json.dumps([{fm.list_key[1]: v} for v in vals], separators=(",", ":"))
            continue
        if fm.json_path:
            why = _put_json(docs, fm, values(event, split_path(fm.field)))
            if why:
                problems[fm.json_path.split(".")[0]] = f"outside the stated assumption on {fm.field}: {why}"
            continue
        if fm.one_to_one:  # its column is the other field's (agent.id: DeviceId, filled from host.id)
            continue
        if fm.words_of:  # a list split from a text column (SecurityEvent.PrivilegeList): written as
            words.append(fm)  # words once the row's event id is known (below)
            continue
        if fm.kv_path:  # a key=value pair of a text column (CommonSecurityLog.AdditionalExtensions)
            why = _put_kv_value(pairs, fm, values(event, split_path(fm.field)))
            if why:
                problems[fm.kv_path[0]] = f"outside the stated assumption on {fm.field}: {why}"
            continue
        if fm.object_key:  # the name of a JSON object column's member (Jamf's event: {"od_group_add": {}})
            for v in values(event, split_path(fm.field)):
                if isinstance(v, str) and v:
                    objects.setdefault(fm.object_key, {}).setdefault(v, {})
            continue
        if fm.object_member:  # a key of the member another field names (group.name of event["od_group_add"])
            kinds = [v for v in values(event, split_path(fm.member_by or "")) if isinstance(v, str)]
            if len(kinds) == 1 and kinds[0] in fm.members:
                _put_object_value(objects, (fm.object_member[0], kinds[0], fm.object_member[1]),
                                  values(event, split_path(fm.field)))
            continue  # else not written: the computed-field check sets apart a value the query reads as ""
        if fm.object_path:  # a value inside a JSON object column (AKSAudit.ObjectRef["resource"])
            vals = values(event, split_path(fm.field))
            _put_object_value(objects, fm.object_path, [list(vals)] if fm.is_array and vals else vals)
            continue
        if (fm.expr and not fm.column) or fm.derived_from_command_line or fm.value_when is not None:  # computed by the query from other columns
            continue  # (file.extension from FileName, process.args from the command line)
        # an expression with a column of its own refines that raw column, loaded from the field
        # itself (sentinel.yaml: winlog.event_data.IpAddress read as "" for the events whose value
        # Elastic moves elsewhere); the computed-field check compares the two
        vals = values(event, split_path(fm.field))
        if fm.field == "host.id":
            vals = [devices[idx]]
        if fm.lookup is not None and fm.key:
            continue  # a lookup keyed by the row's hash: built from all rows at once (certificates.attach)
        if fm.lookup is not None:
            lk = fm.lookup
            if len(set(map(str, vals))) > 1:
                # a lookup row states one value per device (DeviceInfo's OSPlatform): an event
                # carrying several (host.os.type ["macos", "windows"]) cannot be one device's row,
                # and reading its first value would make a test on another value false
                problems[fm.column or fm.field] = (f"outside the stated assumption on {fm.field}: it holds several"
                                                   f" values {vals!r}, but {lk.table} states one {fm.column} per device")
                continue
            raw = vals[0] if vals else None
            if raw is None:
                column_value = ""
            elif fm.values and str(raw) in fm.values:
                column_value = fm.values[str(raw)][0]
            elif fm.values is None:  # the value itself (Heartbeat's address)
                column_value = str(raw)
            else:
                column_value = f"<unmapped ECS value: {raw}>"
            dev = devices[idx]
            contributions.append((lk.name, dev, {lk.on: dev, profile.timestamp: ts, fm.column: column_value}))
            continue
        if fm.values is not None:
            hits = [fm.values[str(v)] for v in vals if str(v) in fm.values]
            if hits:
                allowed = [x for h in hits for x in h]
                mapped.setdefault(fm.column or "", []).append(tuple(allowed))
            continue
        if fm.is_array:
            row[fm.column] = json.dumps([v for v in vals])  # type: ignore[index]
            continue
        if fm.cef_text and (why := _cef_text_breaks(fm, vals)):
            problems[fm.column or fm.field] = f"outside the stated assumption on {fm.field}: {why}"
            continue
        ok, val = _scalar(fm, vals, fm.type)
        if ok and fm.keyword_number and (why := keyword_number_breaks(fm, vals)):
            ok, val = False, why
        if ok and fm.shape and (why := shape_breaks(fm, vals)):
            ok, val = False, why
        if not ok:
            if fm.field in ("host.os.type",):
                continue
            problems[fm.column or fm.field] = f"outside the stated assumption on {fm.field}: {val}" if fm.note else val
            continue
        if fm.field == "@timestamp":
            continue
        if fm.java_map and isinstance(val, str) and val:  # the JSON object the rendering shows (cloudtrail.py)
            from .cloudtrail import NotRendered, to_json
            try:
                val = to_json(val)
            except NotRendered as e:
                problems[fm.column or fm.field] = f"outside the stated assumption on {fm.field}: {e}"
                continue
        # two ECS fields one column holds (AuditLogs.OperationName: event.action and
        # azure.auditlogs.operation_name, which Elastic's pipeline copies from one record field): a
        # missing one leaves the other's value, two different values are no row of the table
        prev = filled.get(fm.column or "")
        if prev is not None and val in ("", None):
            continue
        if prev is not None and prev[1] != val:
            problems[fm.column or fm.field] = (f"outside the stated mapping: {prev[0]} and {fm.field} are both "
                                               f"{fm.column}, but they differ ({prev[1]!r}, {val!r})")
            continue
        if val not in ("", None):
            filled[fm.column or ""] = (fm.field, val)
        row[fm.column] = val  # type: ignore[index]
    for col, doc in docs.items():
        row[col] = json.dumps(doc, separators=(",", ":"))
    for col, obj in objects.items():
        row[col] = json.dumps(obj)
    for col, kvs in pairs.items():
        row[col] = KV_PAIR.join(kvs)
    for col, value in t.where.items():  # the table's filter column: every row the profile reads has it
        row[col] = value
    if t.xml is not None:  # SecurityEvent.EventData: the event's other data as event XML
        xml, why = event_data_xml(t.xml, event)
        if why:
            problems[t.xml.column] = f"outside the stated assumption on {t.xml.prefix}*: {why}"
        else:
            row[t.xml.column] = xml
    if t.username is not None:  # ASIM TargetUsername: DOMAIN\\name (Windows) or name (Simple)
        why = _fill_username(t.username, event, row)
        if why:
            problems[t.username.column] = why
    if t.hives is not None:  # RegistryKey: the key's path, its hive spelt in full
        reason = _fill_registry_key(t, event, row)
        if reason:
            return row, reason, contributions, problems
    for column, options in mapped.items():
        common = [x for x in options[0] if all(x in o for o in options[1:])]
        if not common:
            return row, f"value-mapped fields give {column} no common value ({options})", contributions, problems
        have = row.get(column)
        if have not in ("", None):  # a plain field filled the column too (event.code -> EventID)
            if str(have) not in common:
                return row, f"value-mapped fields give {column} one of {common}, another field {have!r}", contributions, problems
            continue
        row[column] = int(common[0]) if cols.get(column) in ("int", "long") else common[0]
    for fm in words:
        text, why = fill_words(fm, event, row.get("EventID"))
        if why:
            problems[fm.words_of[0]] = f"outside the stated assumption on {fm.field}: {why}"
        else:
            row[fm.words_of[0]] = text
    return row, None, contributions, problems


def _fill_username(un: UsernameColumn, event: dict, row: dict) -> Optional[str]:
    """Fill an ASIM user name column and its type column from user.domain and user.name, as ASIM's
    parsers build them (Azure/Azure-Sentinel Parsers/ASimProcessEvent/Parsers/
    vimProcessEventMicrosoft365D.yaml: ``TargetUsername = iff(AccountDomain == '', AccountName,
    strcat(AccountDomain, '\\', AccountName))``, ``TargetUsernameType = iff(AccountDomain == '',
    'Simple', 'Windows')``). An event with neither field leaves both empty. Several values of
    either field cannot be one column value: the reason is returned (the event is no row for a
    query that reads the column). The profile's expressions read the two fields back; the
    computed-field check compares them with the event's (a backslash inside a domain or name)."""
    names = values(event, ("user", "name"))
    domains = values(event, ("user", "domain"))
    if len(names) > 1 or len(domains) > 1:
        return (f"outside the stated assumption on user.name: {un.column} holds one user "
                f"(user.name {names!r}, user.domain {domains!r})")
    name = "" if not names or names[0] is None else str(names[0])
    domain = "" if not domains or domains[0] is None else str(domains[0])
    if not name and not domain:
        return None
    kind = "Windows" if domain else "Simple"
    if un.only_type and kind != un.only_type:
        return (f"outside the stated assumption on user.name: the table's parser writes {un.only_type} names only "
                f"in {un.column}, and user.name {name!r} without a user.domain is a {kind} one")
    row[un.column] = f"{domain}\\{name}" if domain else name
    row[un.type_column] = kind
    return None


def _put_json(docs: dict[str, dict], fm: FieldMap, vals: list) -> Optional[str]:
    """Write the ECS value of a ``json_path`` field at its path of the JSON column's document
    (a rendered request_parameters as the object it renders), or say why it cannot be."""
    if not vals:
        return None
    if len(vals) > 1 or not isinstance(vals[0], str):
        return f"{vals!r} is not one string, as the record holds it"
    value: Any = vals[0]
    if fm.java_map:
        from .cloudtrail import NotRendered, parse
        try:
            value = parse(value)
        except NotRendered as e:
            return str(e)
    col, *keys = (fm.json_path or "").split(".")
    node = docs.setdefault(col, {})
    for k in keys[:-1]:
        node = node.setdefault(k, {})
        if not isinstance(node, dict):
            return f"the record's {'.'.join(keys)} lies under a value another field sets"
    node[keys[-1]] = value
    return None


# Characters a FortiGate value cannot hold for its CEF pair to read back as Elastic's field: the
# pair separator of AdditionalExtensions, what CEF escapes ("=" and "\\") or removes (quotes:
# Fortinet, "FortiOS to CEF log field mapping guidelines"), and what Elastic's pipeline strips (the
# control characters, gsub [\u0000-\u001F\u007F]) or trims (surrounding spaces).
_KV_UNSAFE = re.compile(r'[;=\\"\x00-\x1f\x7f]|^\s|\s$')


def _cef_text_breaks(fm: FieldMap, vals: list) -> Optional[str]:
    """Why the ECS values cannot be one CEF extension value that reads back as Elastic has it."""
    if not vals:
        return None
    if len(vals) > 1 or not isinstance(vals[0], str):
        return f"{fm.field} {vals!r} is not one string, as a CEF extension value is"
    if _KV_UNSAFE.search(vals[0]):
        return (f"{fm.field} {vals[0]!r} holds a character CEF escapes or removes, the pair separator "
                f"{KV_PAIR!r}, a control character or surrounding space")
    return None


def _put_kv_value(pairs: dict[str, list[str]], fm: FieldMap, vals: list) -> Optional[str]:
    """Append ``key=value`` for an ECS field read from a key=value column, or say why the event
    cannot be such a row: several values, or a value the CEF pair does not carry as Elastic has it."""
    why = _cef_text_breaks(fm, vals)
    if why or not vals:
        return why
    pairs.setdefault(fm.kv_path[0], []).append(f"{fm.kv_path[1]}={vals[0]}")
    return None


def _put_object_value(objects: dict[str, dict], path: tuple[str, ...], vals: list) -> None:
    """Write an ECS field's values at ``path`` (column, key, key...) of the row's JSON objects: one
    value as itself, several as a list (which the computed-field check then sets apart, as the
    query reads one), none as no key. Two fields writing one path with different values leave the
    later one there, and the check sets the event apart by the other field."""
    if not vals:
        return

    def container(key) -> Any:  # what holds ``key``: a list for an index, an object for a name
        return [] if isinstance(key, int) else {}

    def child(node: Any, key, nxt) -> Any:
        if isinstance(key, int):  # a list index: earlier elements are objects the query does not read
            while len(node) <= key:
                node.append({})
            if not isinstance(node[key], type(container(nxt))) or (isinstance(nxt, int) and node[key] == {}):
                node[key] = container(nxt)
            return node[key]
        cur = node.get(key)
        if not isinstance(cur, type(container(nxt))):
            cur = node[key] = container(nxt)
        return cur

    node = objects.setdefault(path[0], container(path[1]))
    if not isinstance(node, type(container(path[1]))):
        node = objects[path[0]] = container(path[1])
    for key, nxt in zip(path[1:-1], path[2:]):
        node = child(node, key, nxt)
    last = path[-1]
    value = vals[0] if len(vals) == 1 else list(vals)
    if isinstance(last, int):
        while len(node) <= last:
            node.append({})
    node[last] = value


def _fill_registry_key(t: Table, event: dict, row: dict) -> Optional[str]:
    """Fill the table's registry key column (RegistryKey) from the ECS event, in the table's
    spelling, or say why the event cannot be such a row.

    From ``registry.path`` when the event has one: its hive respelt in full (HKLM\\, \\REGISTRY\\MACHINE\\,
    MACHINE\\ -> HKEY_LOCAL_MACHINE\\, :mod:`eqlc.targets.kql.hives`) and, when the path ends with the
    event's ``registry.value``, without it (the value name has its own column). An ECS event states
    the path as its source spells the hive; the table row of the same operation spells it in full,
    which is what the query reads. Without a path, from ``registry.hive`` (any spelling) and the
    hive-relative ``registry.key``. A path naming no hive is kept as it is: the stated assumption
    that a path starts with its hive is checked per translation (:func:`_spelling_breaks`)."""
    hv = t.hives
    assert hv is not None
    path_fm = next((fm for fm in t.fields.values() if fm.hive_spelling and fm.field != hv.hive_field), None)
    paths = values(event, split_path(path_fm.field)) if path_fm is not None else []
    if len(paths) > 1:
        return f"{path_fm.field} has {len(paths)} values but {hv.column} holds one"  # type: ignore[union-attr]
    if paths:
        path = str(paths[0])
        full = hv.spellings.respell_path(path) or path
        value_fm = next((fm for fm in t.fields.values() if fm.column and fm.column in path_fm.columns  # type: ignore[union-attr]
                         and fm.column != hv.column and not fm.expr), None)
        names = values(event, split_path(value_fm.field)) if value_fm is not None else []
        name = str(names[0]) if len(names) == 1 else ""
        row[hv.column] = full[: -len(name) - 1] if name and full.endswith("\\" + name) else full
        return None
    hive_vals, key_vals = values(event, split_path(hv.hive_field)), values(event, split_path(hv.key_field))
    if len(hive_vals) > 1 or len(key_vals) > 1:
        return f"{hv.hive_field}/{hv.key_field} have several values but {hv.column} holds one"
    row[hv.column] = "\\".join([hv.full(str(h)) for h in hive_vals] + [str(v) for v in key_vals])
    return None


def _mapped_breaks(checks: list, table: str, row: dict, event: dict) -> Optional[str]:
    """Why the row breaks a value-mapping assumption of the translation: the field holds a value
    spelled otherwise than the value map lists it (``LINUX`` for ``linux``: the map, and so the
    column the row would have, is stated for the listed spelling only), or a leaf on a value-mapped
    field has an Elasticsearch truth that differs from the truth of the column test it was
    translated to, on the column value this adapter built from the SAME mapping."""
    for m in checks:
        if m.table != table:
            continue
        f = leaf_field(m.leaf)
        assert f is not None
        have = [v for v in values(event, f.path) if isinstance(v, str)]
        odd = next(((h, k) for h in have if h not in m.spellings for k in m.spellings if eq_fold(h, k, True)), None)
        if odd is not None:
            return (f"outside the stated value mapping: {f.name} {odd[0]!r} is spelled otherwise than the value map's "
                    f"{odd[1]!r}")
        if m.column not in row:
            continue
        if isinstance(m.leaf, ir.IsNull):
            es = not values(event, f.path)
        else:
            lits, ci = literal_values(m.leaf)
            # a pattern leaf (kqldns: `event.action : "Image loaded*"` on Sysmon's action map) by
            # the reference matcher, on the field's values alone
            es = (any(eq_fold(h, lit, ci) for h in have for lit in lits) if lits is not None
                  else any(truth(m.leaf, with_value(f.path, h)) for h in have))
        if es != (("" if row[m.column] is None else str(row[m.column])) in m.allowed):
            return (f"outside the stated value mapping: {f.name} {have!r} makes the leaf {es}, but the row's "
                    f"{m.column} {row[m.column]!r} makes its translation ({m.column} in {list(m.allowed)}) {not es}")
    return None


_LOADED: "OrderedDict[tuple, tuple[Loaded, Profile]]" = OrderedDict()


def load_for(translation: Translation, events: list[dict], profile: Optional[str] = None, mapping: Optional[str] = None) -> Loaded:
    """:func:`load` for what ``translation`` assumed, remembered (a few, least recently used
    dropped) by the profile, the events' content and those assumptions: many queries run over
    the same fixtures. The result must not be modified."""
    prof = load_profile(profile or translation.profile, mapping)
    checks = tuple(tuple(getattr(translation, name, ())) for name in ("facts", "derived", "computed", "folded", "mapped", "spelled", "emptied", "absent"))
    columns = getattr(translation, "columns", None)
    keyed = tuple(getattr(translation, "keyed", ()))
    signed = tuple(getattr(translation, "signed", ()))
    raw = tuple(getattr(translation, "tables", None) or ())
    routed = tuple(getattr(translation, "routed", ()))
    key = (id(prof), raw, json.dumps(events, sort_keys=True, default=repr), repr(checks), repr(columns), keyed, repr(signed),
           routed)
    hit = _LOADED.get(key)
    if hit is not None:
        _LOADED.move_to_end(key)
        return hit[0]
    # a raw-tables translation reads the one table its rule's index patterns chose (raw_tables.narrow):
    # only its rows are built, so that the checks of a table the query does not read (AWSCloudTrail's
    # user.name expression on a SecurityEvent rule) never leave an event out
    # (routed as the emitter routes them: a wide pattern's union by data set, kqlgraph; the Sysmon
    # and Security logs read together by channel, kqlkerb2)
    used = dataclasses.replace(
        prof, tables={t.name: t for t in jointly_routed(union_legs([t for n, t in prof.tables.items() if n in raw]))}) \
        if raw else without_raw(prof)
    loaded = load(used, events, *checks, columns=columns, keyed=keyed, signed=signed, split_by=routed)
    _LOADED[key] = (loaded, prof)  # the entry keeps the profile alive, so its id is not reused
    while len(_LOADED) > 32:
        _LOADED.popitem(last=False)
    return loaded


def dependents(rule: Any, events: list[dict], outside: dict[str, str]) -> dict[str, str]:
    """Events of a sequence (or piped) query whose selection depends on events outside the stated
    assumptions: the assumption says those events do not occur, and without them the rule selects
    these events otherwise than on the whole fixture (a sequence partner, or the pending
    sequence that would have been overwritten, is gone). Decided by the reference matcher on both
    event sets; each is reported with the reason."""
    from eqlc.matcher import matcher

    def chosen(evs: list[dict]) -> set[str]:
        return {str(e.get("_id")) for m in matcher(rule).run(evs, sort=True) for e in m.events if isinstance(e, dict)}

    inside = [e for i, e in enumerate(events) if str(e.get("_id", i)) not in outside]
    whole, kept = chosen(events), chosen(inside)
    return {str(e.get("_id", i)): ("outside the stated assumptions through another event: without the events outside them "
                                   "the rule " + ("no longer selects" if str(e.get("_id", i)) in whole else "selects") + " this one")
            for i, e in enumerate(inside) if (str(e.get("_id", i)) in whole) != (str(e.get("_id", i)) in kept)}


def until_ties(rule: Any, events: list[dict], outside: dict[str, str]) -> dict[str, str]:
    """The events a sequence query with ``until`` takes to be absent (query.until_leg): an until
    event whose timestamp equals that of another event of its join key that fills a sequence
    step, and that other event. Elasticsearch orders such concurrent events in no stated way, the
    query compares timestamps. Decided by the reference matcher's truth of each term's query."""
    from eqlc import ir as _ir

    body = rule.query.body
    if not isinstance(body, _ir.Sequence) or body.until is None:
        return {}

    def holds(term: Any, event: dict) -> bool:
        q = term.query
        cond = q.condition if q.category is None else _ir.And((category_leaf_of(q.category), q.condition))
        return truth(cond, event)

    def key(term: Any, event: dict) -> tuple:
        return tuple(tuple(values(event, k.path)) if isinstance(k, _ir.Field) else () for k in body.keys(term))

    inside = [(str(e.get("_id", i)), e) for i, e in enumerate(events) if str(e.get("_id", i)) not in outside]
    stage = {(eid, key(t, e), _timestamp((values(e, ("@timestamp",)) or [None])[0]))
             for eid, e in inside for t in body.terms if not t.missing and holds(t, e)}
    out: dict[str, str] = {}
    for eid, e in inside:
        if not holds(body.until, e):
            continue
        k, ts = key(body.until, e), _timestamp((values(e, ("@timestamp",)) or [None])[0])
        for sid, sk, sts in stage:
            if sid != eid and sk == k and sts == ts and ts is not None:
                why = ("outside the stated assumption on until: an until event has the timestamp of another event of "
                       "its join key that fills a sequence step")
                out.setdefault(eid, why)
                out.setdefault(sid, why)
    return out


def step_ties(rule: Any, events: list[dict], outside: dict[str, str]) -> dict[str, str]:
    """The check of the sequence query's stated tie order (query.sequence_query: "sequence events
    with equal timestamps are ordered by stage"): two events of one join key that each fill a
    sequence step at the same timestamp. Elasticsearch orders them by its tiebreaker (none is
    stated), the reference matcher by input position, the query by stage, so a match can differ
    (two tied step-1 events: each order keeps the other one's pending sequence). Decided by the
    reference matcher's truth of each term's query, as :func:`until_ties` (audit6)."""
    from eqlc import ir as _ir

    body = rule.query.body
    if not isinstance(body, _ir.Sequence):
        return {}

    def holds(term: Any, event: dict) -> bool:
        q = term.query
        cond = q.condition if q.category is None else _ir.And((category_leaf_of(q.category), q.condition))
        return truth(cond, event)

    def join_keys(term: Any, event: dict) -> list[tuple]:
        # kqlmiss: the keys the event joins on, one per combination of the key fields' values (a
        # multi-valued key such as okta.target.id joins on each value); none when a non-optional
        # key field has no value (such an event joins no sequence, so it ties with none)
        import itertools

        per = []
        for k in body.keys(term):
            vals = list(dict.fromkeys(repr(v) for v in values(event, k.path))) if isinstance(k, _ir.Field) else ["()"]
            if not vals:
                if not (isinstance(k, _ir.Field) and k.optional):
                    return []
                vals = ["None"]
            per.append(vals)
        return list(itertools.product(*per))

    seen: dict[tuple, str] = {}
    out: dict[str, str] = {}
    tied: set = set()
    why = ("outside the stated assumption on the order of concurrent events: another event of its join key fills a "
           "sequence step at the same timestamp")
    for i, e in enumerate(events):
        eid = str(e.get("_id", i))
        if eid in outside:
            continue
        ts = _timestamp((values(e, ("@timestamp",)) or [None])[0])
        if ts is None:
            continue
        for k in dict.fromkeys(jk for t in body.terms if not t.missing and holds(t, e) for jk in join_keys(t, e)):
            other = seen.setdefault((k, ts), eid)
            if other != eid:
                out.setdefault(eid, why)
                out.setdefault(other, why)
                tied.add(k)
    if tied:
        # audit7: the order of the tied events decides which sequences their key forms, so every
        # other event of that key can be selected otherwise too (a step-1 event taken by the tied
        # step-2 event in one order completes with a later one in the other); the query runs on all
        # events, so `dependents` (the matcher without the events set apart) does not see it
        terms = list(body.terms) + ([body.until] if body.until is not None else [])
        why_key = ("outside the stated assumption on the order of concurrent events: events of its join key fill "
                   "sequence steps at one timestamp, and their order decides the key's sequences")
        for i, e in enumerate(events):
            eid = str(e.get("_id", i))
            if eid in outside or eid in out:
                continue
            if any(jk in tied for t in terms if holds(t, e) for jk in join_keys(t, e)):
                out[eid] = why_key
    return out


def category_leaf_of(category: str) -> Any:
    from .raw_tables import category_leaf

    return category_leaf(category)


def exclusions(translation: Translation, events: list[dict], profile: Optional[str] = None, mapping: Optional[str] = None) -> dict[str, str]:
    """Events the adapter leaves out for this translation, with the reason."""
    return dict(load_for(translation, events, profile, mapping).excluded)


_CONNECTIONS: "OrderedDict[str, Any]" = OrderedDict()
_MAX_CONNECTIONS = 8


def connect(loaded: Loaded, query: Optional[str] = None):
    """A duckdb-kql connection holding the loaded tables (only those ``query`` names, if given).

    Connections are kept (a few, least recently used dropped) by the exact content of the tables
    they hold: running many queries over the same fixture tables reuses one in-memory database
    instead of rebuilding it per query. Queries only read, so a reused database is the same
    database."""
    import hashlib
    import re

    import duckdb_kql

    wanted = {name: spec for name, spec in loaded.tables.items()
              if query is None or re.search(rf"\b{re.escape(name)}\b", query)}
    key = hashlib.sha256(json.dumps(wanted, sort_keys=True, default=repr).encode()).hexdigest()
    con = _CONNECTIONS.get(key)
    if con is not None:
        _CONNECTIONS.move_to_end(key)
        return con
    con = duckdb_kql.connect()
    for name, (cols, rows) in wanted.items():
        spec = ", ".join(f'"{c}" {SQL_TYPES.get(typ, "VARCHAR")}' for c, typ in cols.items())
        con.execute(f'CREATE TABLE "{name}" ({spec})')
        if rows:
            names = list(cols)
            marks = ", ".join("?" for _ in names)
            con.executemany(f'INSERT INTO "{name}" VALUES ({marks})', [[r.get(c) for c in names] for r in rows])
    _CONNECTIONS[key] = con
    while len(_CONNECTIONS) > _MAX_CONNECTIONS:
        _CONNECTIONS.popitem(last=False)[1].close()
    return con


class EngineCannotRun(RuntimeError):
    """The offline engine lacks a construct the query uses (``scan``/``partition``, ``mv-apply``;
    cidrMatch is written with ``parse_ipv4``/``parse_ipv6``, which it runs): the query cannot be executed here, which is not a translation bug."""


def run(translation: Translation, events: list[dict], profile: Optional[str] = None, mapping: Optional[str] = None) -> list[str]:
    """The ``_id`` of every event the translation's query selects (in output order, distinct)."""
    if translation.status is Status.REFUSED or translation.output is None:
        raise ValueError("a refused translation has no query to run")
    import duckdb_kql

    loaded = load_for(translation, events, profile, mapping)
    plan = getattr(translation, "plan", None)
    if plan is not None:
        return _run_sequence(plan, loaded, events, profile or translation.profile, mapping, translation.output)
    con = connect(loaded, translation.output)
    try:
        rel = duckdb_kql.kql(con, translation.output)
    except duckdb_kql.KqlUnsupportedError as err:
        # an engine limit, not a wrong translation (tests/data/kql/engine_limits.yaml): say so
        raise EngineCannotRun(f"duckdb-kql, the offline KQL engine, cannot run this query ({err}); its syntax "
                              f"is checked by Microsoft's Kusto parser only, its selection is unverified") from None
    return _ids_of(rel)


def _ids_of(rel) -> list[str]:
    """The event ids a query's result holds, each once, in row order."""
    names = [d[0] for d in rel.description]
    if ID_COLUMN not in names:
        raise ValueError(f"the query's output has no {ID_COLUMN} column (it projected it away)")
    pos = names.index(ID_COLUMN)
    out: list[str] = []
    for row in rel.fetchall():
        if row[pos] not in out:
            out.append(row[pos])
    return out


def _run_sequence(plan: SequencePlan, loaded: Loaded, events: list[dict], profile: Optional[str], mapping: Optional[str],
                  query_text: Optional[str] = None) -> list[str]:
    """A sequence query: its legs on duckdb-kql, its ``scan`` by the model of Kusto's scan logic
    (:mod:`eqlc.targets.kql.scan`: duckdb-kql has no ``scan``/``partition``)."""
    import duckdb_kql

    prof = load_profile(profile, mapping)
    query = plan.rows_query(prof.timestamp, ID_COLUMN)
    con = connect(loaded, query)
    try:
        rows = duckdb_kql.kql(con, query).fetchall()
    except duckdb_kql.KqlUnsupportedError as err:
        raise EngineCannotRun(f"duckdb-kql, the offline KQL engine, cannot run this sequence's legs ({err}); its syntax "
                              f"is checked by Microsoft's Kusto parser only, its selection is unverified") from None
    order = {str(e.get("_id", i)): i for i, e in enumerate(events)}
    if (plan.missing or plan.until) and query_text is not None:
        return _run_after_scan(plan, loaded, query_text, prof.timestamp, scan_rows(plan, rows, order))
    return run_scan(plan, rows, order)


SCAN_TABLE = "EqlcScanRows"


def _run_after_scan(plan: SequencePlan, loaded: Loaded, query: str, timestamp: str,
                    accepted: list[tuple[str, Any, str, int, int]]) -> list[str]:
    """The query's joins after its scan, run on duckdb-kql as written: ``__rows`` (what the scan
    accepted, from the model of Kusto's scan) becomes a table, and the emitted text that follows
    ``let __rows = ...`` (the ``__cut`` join of an until term or of a trailing missing-event term)
    runs over it and the legs. So the window condition the query states is the one executed, not a
    model of it (scan.run_scan's own ``__cut`` model serves callers without the query text)."""
    import dataclasses

    import duckdb_kql

    lines = query.split("\n")
    start = next(i for i, line in enumerate(lines) if line.startswith("let __rows = "))
    end = next(i for i in range(start, len(lines)) if lines[i] == "    );")
    text = "\n".join(plan.lets) + f"\nlet __rows = {SCAN_TABLE};\n" + "\n".join(lines[end + 1:])
    cols = {ID_COLUMN: "string", timestamp: "datetime", "__key": "string", "__match": "long", "__step": "long"}
    table = [dict(zip(cols, row)) for row in accepted]
    con = connect(dataclasses.replace(loaded, tables={**loaded.tables, SCAN_TABLE: (cols, table)}), text)
    try:
        rel = duckdb_kql.kql(con, text)
    except duckdb_kql.KqlUnsupportedError as err:
        raise EngineCannotRun(f"duckdb-kql, the offline KQL engine, cannot run this sequence's joins ({err}); its syntax "
                              f"is checked by Microsoft's Kusto parser only, its selection is unverified") from None
    return _ids_of(rel)
