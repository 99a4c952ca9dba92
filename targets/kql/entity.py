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
"""

from __future__ import annotations

from typing import Any, Iterable

from .profile import FieldMap, Profile


def note(fm: FieldMap, table: str) -> str:
    """The assumption a join key on an identifier states."""
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
