"""Process identifiers as sequence join keys (``process.entity_id`` -> Defender's
``ProcessUniqueId`` / ``InitiatingProcessUniqueId``, ASIM's ``TargetProcessGuid`` /
``ActingProcessGuid`` / ``SrcProcessGuid``).

Elastic's ``entity_id`` and the vendor's id are different values for the same process, so a
rule's condition on the id (a literal comparison) has no translation: the profile marks such a
field ``key_only`` and only a join key reads it. What a join by key needs is only that the id
*identifies a process as entity_id does*: two events carry equal ids exactly when they are about
the same process. That is the stated assumption (:func:`note`).

Defender documents ``ProcessUniqueId`` as "equal to the Process Start Key in Windows devices"
(defender.yaml cites the reference); Windows documents that key as unique across boot sessions
of one machine (``PsGetProcessStartKey``, learn.microsoft.com/windows-hardware/drivers/ddi/ntddk/
nf-ntddk-psgetprocessstartkey), not across machines. So the profile says ``unique_within:
DeviceId`` and the join key reads the device with the id: equal (DeviceId, id) pairs are the same
process. That is exact only if the events of one ECS ``entity_id`` all come from one device, which
the check below (:func:`scattered`) tests on the rows the fixture adapter loads: every row whose id
value also appears with another device value is left out as outside the assumption.
ASIM documents its GUIDs as identifying the process "across systems"
(articles/sentinel/normalization-schema-process-event.md, TargetProcessGuid), so its profile has
no ``unique_within`` and the join key is the id alone.

The agent (``agent.id``) is joined the same way through the device: neither vendor records an
agent id, and with one agent per device the device's id (Defender's ``DeviceId``, ASIM's
``DvcId``, the columns ``host.id`` fills) tells the same events apart. The profile marks it
``one_to_one: host.id``; :func:`unpaired` is the check (an agent id with several devices, a device
with several agent ids, or one of the two missing leaves the event out), and an event without
``host.id`` is rendered on its agent's device (every table row has one), so the emitter refuses
such a join when the rule reads ``host.id`` too.
"""

from __future__ import annotations

from typing import Any, Iterable

from eqlc.events import split_path, values

from .profile import FieldMap, Profile


def note(fm: FieldMap, table: str) -> str:
    """The assumption a join key on an identifier states."""
    if fm.one_to_one:
        return (f"{fm.field} is joined on {table}.{fm.text}, the column of {fm.one_to_one}: one {fm.field.split('.')[0]} "
                f"per {fm.one_to_one.split('.')[0]}, so {fm.text} is taken to tell events of different "
                f"{fm.field.split('.')[0]}s apart as {fm.field} does (the values themselves differ from Elastic's)")
    scope = f" together with {fm.unique_within} (the id is unique on its device)" if fm.unique_within else ""
    return (f"{fm.field} is joined on {table}.{fm.text}{scope}: taken to identify a process as {fm.field} does "
            f"(equal exactly for events of the same process; the values themselves differ from Elastic's)")


def scattered(profile: Profile, tables: dict[str, tuple[dict[str, str], list[dict[str, Any]]]], keyed: Iterable[str],
              id_column: str) -> dict[str, str]:
    """``_id`` -> reason for every loaded row whose identifier value (any of the ``keyed`` ECS
    fields read with ``unique_within``) also appears on a row, of any table, with another value of
    the scoping column: the query keeps those processes apart, Elasticsearch joins them."""
    keyed = set(keyed)
    seen: dict[str, set] = {}
    uses: list[tuple[str, str, str, Any]] = []  # (row id, field, id value, scope value)
    for t in profile.tables.values():
        _cols, rows = tables.get(t.name, ({}, []))
        for f in keyed:
            fm = t.fields.get(f)
            if fm is None or not fm.unique_within or not fm.column:
                continue
            for r in rows:
                v = r.get(fm.column)
                if v in (None, ""):
                    continue
                seen.setdefault(v, set()).add(r.get(fm.unique_within))
                uses.append((r[id_column], f, v, r.get(fm.unique_within)))
    out: dict[str, str] = {}
    for rid, f, v, scope in uses:
        if len(seen[v]) > 1 and rid not in out:
            others = sorted(str(s) for s in seen[v] if s != scope)
            out[rid] = (f"outside the stated assumption on {f}: its value {v!r} also names a process on another device "
                        f"({', '.join(others)}); the query joins a process id only within its device")
    return out


def unpaired(profile: Profile, tables: dict[str, tuple[dict[str, str], list[dict[str, Any]]]], keyed: Iterable[str],
             by_id: dict[str, dict], id_column: str) -> dict[str, str]:
    """``_id`` -> reason for every loaded row where an identifier the query reads from the column of
    another field (``one_to_one``: agent.id from DeviceId, filled from host.id) does not name the
    same thing as that column: the event lacks one of the two or has several values of the
    identifier, or, over all loaded rows, one identifier value goes with several column values or
    one column value with several identifier values. Only on the other rows does joining on the
    column join exactly the events Elasticsearch joins on the identifier."""
    keyed = set(keyed)
    uses: list[tuple[str, str, str, Any, tuple]] = []  # (row id, field, column, column value, identifier values)
    for t in profile.tables.values():
        _cols, rows = tables.get(t.name, ({}, []))
        for f in keyed:
            fm = t.fields.get(f)
            if fm is None or not fm.one_to_one or not fm.column:
                continue
            for r in rows:
                event = by_id.get(r[id_column], {})
                ids = tuple(str(v) for v in values(event, split_path(f)) if v is not None)
                uses.append((r[id_column], f, fm.column, r.get(fm.column), ids))
    by_value: dict[tuple, set] = {}
    by_column: dict[tuple, set] = {}
    for _rid, f, col, cv, ids in uses:
        if len(ids) == 1 and cv not in (None, ""):
            by_value.setdefault((f, ids[0]), set()).add(cv)
            by_column.setdefault((f, cv), set()).add(ids[0])
    out: dict[str, str] = {}
    for rid, f, col, cv, ids in uses:
        if rid in out:
            continue
        if len(ids) > 1:
            out[rid] = f"outside the stated assumption on {f}: it has several values {list(ids)}, {col} one"
        elif (not ids) != (cv in (None, "")):
            has, lacks = (col, f) if not ids else (f, col)
            out[rid] = f"outside the stated assumption on {f}: the event has a {has} value but no {lacks} value"
        elif ids and len(by_value[(f, ids[0])]) > 1:
            out[rid] = (f"outside the stated assumption on {f}: its value {ids[0]!r} goes with several {col} values "
                        f"({', '.join(sorted(map(str, by_value[(f, ids[0])])))})")
        elif ids and len(by_column[(f, cv)]) > 1:
            out[rid] = (f"outside the stated assumption on {f}: {col} {cv!r} goes with several {f} values "
                        f"({', '.join(sorted(by_column[(f, cv)]))})")
    return out
