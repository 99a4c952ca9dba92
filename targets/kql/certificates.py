"""Code signatures through a lookup keyed by the file's hash (Defender's DeviceFileCertificateInfo).

Elastic's events carry the signature of the file they are about (``process.code_signature.trusted``,
``process.parent.code_signature.trusted``, ``dll.code_signature.trusted``). Defender records it in
another table, DeviceFileCertificateInfo, one row per certificate verification of a file, keyed by
the file's SHA1, and documents the join on SHA1 for the created process (defender.yaml cites the
references). The profile states such a field as ``{lookup: file_certificate, column: IsTrusted,
key: SHA1}``: the emitter joins the lookup once per key column (:class:`KeyedLookup`, the
lookup's columns renamed ``<key>_<column>`` so that the process's and its parent's certificates
can be read in one query) and the field reads ``<key>_IsTrusted``.

What that reading assumes (:func:`note`), and what the fixture adapter checks (:func:`attach`):

* the file's row is found by the event row's hash column (SHA1 / InitiatingProcessSHA1), so that
  column is taken to be recorded (Microsoft's sample keeps only rows with ``isnotempty(SHA1)``);
* the table holds, for every file Elastic's event calls signed, a row agreeing with the event's
  signature (IsTrusted is Elastic's ``trusted``: both judge the certificate chain, Defender by
  WinVerifyTrust), the same in every row of one SHA1 (the query keeps the latest row per SHA1);
* a file the event calls unsigned (``code_signature.exists: false``) or a file of a non-Windows host
  (IsTrusted is WinVerifyTrust's verdict, a Windows function) has no row, and no row is read as
  no signature: the query's leaf is then decided as Elasticsearch decides it on an event without
  the field (a bool column from a missing row is null; a negated test gets ``isnotnull``).

The adapter builds DeviceFileCertificateInfo from the ECS events by exactly these rules, from the
same profile entries, and leaves out every event on which a leaf of the rule on a signature field
has another truth (or whose negation has) than on the event *as the query reads it* (its signature
replaced by its hash's row, or removed when there is none): a file whose hash other events sign
otherwise, a signature on an unsigned or non-Windows file, a multi-valued ``trusted``.
An ECS event without the hash field still describes a file with a SHA1 (Defender computes it); when
the query does not read the hash column itself, the adapter gives that row a hash of its own, so the
join is exercised without inventing a collision.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterable, Optional

from eqlc import ir
from eqlc.events import replaced, split_path, values

from .profile import FieldMap, Lookup, Profile

WINDOWS = "windows"  # the ECS host.os.type whose files the table's WinVerifyTrust verdicts describe
# What each column is taken to be (defender.yaml cites the sources)
MEANINGS = {
    "IsTrusted": "IsTrusted (WinVerifyTrust's verdict on the certificate chain) the verdict Elastic's trusted records",
    "Signer": "Signer spelled as Elastic's subject_name (the signing certificate's subject common name, letter case "
              "included)",
}


@dataclass(frozen=True)
class KeyedLookup:
    """One join of ``lookup`` on the event table's column ``key``: the lookup's key column is
    renamed to ``key`` and each of its columns to ``<key>_<column>``."""

    lookup: Lookup
    key: str

    @property
    def on(self) -> str:
        return self.key

    @property
    def query(self) -> str:
        lk = self.lookup
        renamed = [self.key if self.key == lk.on else f"{self.key} = {lk.on}"]
        renamed += [f"{self.key}_{c} = {c}" for c in lk.columns]
        return f"{lk.query} | project {', '.join(renamed)}"


@dataclass(frozen=True)
class Signed:
    """A leaf of the rule on a field read from a keyed lookup, in ``table`` (the adapter's check)."""

    leaf: ir.Expr
    field: str
    table: str


def prefix(field: str) -> str:
    """``process.parent`` for ``process.parent.code_signature.trusted``."""
    return field.rsplit(".code_signature.", 1)[0] if ".code_signature." in field else field.rsplit(".", 1)[0]


def note(fm: FieldMap, table: str) -> str:
    """The assumption a field read from the certificate lookup states."""
    lk = fm.lookup
    assert lk is not None and fm.key
    pre = prefix(fm.field)
    attr = fm.field.rsplit(".", 1)[1]
    meaning = MEANINGS.get(fm.column or "", f"{fm.column} what Elastic's {attr} records")
    return (f"{fm.field} is {lk.table}.{fm.column} of the latest row whose {lk.on} is the file's {table}.{fm.key} "
            f"(Microsoft documents this join on SHA1): {table}.{fm.key} is taken to be recorded, and {lk.table} to hold a "
            f"row for every signed Windows file whose event carries {pre}.code_signature, the same in every row of the "
            f"file's SHA1, with {meaning}; a file with no row (unsigned: {pre}.code_signature.exists false; on a non-Windows "
            f"host; not verified) is read as having no {fm.field}")


def os_refusal(field: str, terms: Iterable[ir.Expr]) -> Optional[str]:
    """Why a rule whose top-level condition pins host.os.type to systems other than Windows cannot
    read a signature from the table (every file it selects would be one with no row), or None."""
    from .emit import eq_fold, leaf_field, literal_values

    for t in terms:
        f = leaf_field(t)
        if f is None or f.name != "host.os.type":
            continue
        lits, ci = literal_values(t)
        if lits and not any(eq_fold(v, WINDOWS, ci) for v in lits):
            return (f"code signature of a file on a non-Windows host ({field} in a rule about {', '.join(lits)} hosts): "
                    f"DeviceFileCertificateInfo records the verdicts of WinVerifyTrust, a Windows function; Microsoft "
                    f"documents no signature rows for other systems")
    return None


def exists_refusal(field: str, table: Any) -> str:
    """Why ``*.code_signature.exists`` is not read from the lookup: the lookup has no row for an
    unsigned file, and none either for an event that carries no signature at all, which
    Elasticsearch tells apart (``exists == false`` selects only the first). Reading both as unsigned
    would need the assumption that every event of the table carries code_signature, which no
    source shows for Elastic's events (not built)."""
    tables = sorted({m.lookup.table for m in table.fields.values() if m.lookup is not None and m.key})
    return (f"field {field} has no exact reading in {table.name}: {', '.join(tables)} holds no row for an unsigned file, "
            f"so an event whose {field} is false and an event without {prefix(field)}.code_signature read alike "
            f"(Elasticsearch's `exists == false` selects only the first)")


def _one(event: dict, field: str) -> tuple[bool, Any]:
    """(present, the value a one-value column holds: None when absent or several)."""
    vals = values(event, split_path(field))
    return bool(vals), (vals[0] if len(vals) == 1 else None)


def _signed(event: dict, pre: str) -> bool:
    """The event's file has a row: not called unsigned, and on a Windows host (or one not named)."""
    exists = values(event, split_path(pre + ".code_signature.exists"))
    if any(v is False for v in exists):
        return False
    os_ = [v for v in values(event, ("host", "os", "type")) if isinstance(v, str)]
    return not os_ or WINDOWS in os_


def _as_read(event: dict, fields: dict[str, Any]) -> dict:
    """A copy of ``event`` whose signature fields hold ``fields`` (None: removed)."""
    return replaced(event, {split_path(name): value for name, value in fields.items()})


def attach(profile: Profile, tables: dict[str, tuple[dict[str, str], list[dict[str, Any]]]], by_id: dict[str, dict],
           signed: list[Signed], read: Optional[set], id_column: str) -> dict[str, str]:
    """Fill the keyed lookups' tables (DeviceFileCertificateInfo) from the loaded rows' events and
    return ``_id`` -> reason for every row outside the stated assumptions (see the module doc);
    those rows are removed from their tables."""
    from .absent import truth

    if not signed:
        return {}
    ts = profile.timestamp
    # (table, key column) -> the signature fields read through it
    keyed: dict[tuple[str, str], list[FieldMap]] = {}
    for s in signed:
        fm = profile.tables[s.table].fields[s.field]
        keyed.setdefault((s.table, fm.key or ""), [])
        if fm not in keyed[(s.table, fm.key or "")]:
            keyed[(s.table, fm.key or "")].append(fm)
    # every field mapped through a keyed lookup, per (table, key): a row carries all of them
    facts_of: dict[tuple[str, str], list[FieldMap]] = {}
    for (tname, key) in keyed:
        facts_of[(tname, key)] = [fm for fm in profile.tables[tname].fields.values() if fm.lookup is not None and fm.key == key]
    lookup_rows: dict[str, dict[str, dict]] = {}
    for (tname, key), fms in facts_of.items():
        _cols, rows = tables[tname]
        for r in rows:
            event = by_id[r[id_column]]
            if r.get(key) in ("", None) and (read is None or key not in read):
                # the file's own hash (module doc), one per table row and key: an event of two categories
                # (process and library) names two files
                r[key] = f"eqlc-sha1:{tname}:{r[id_column]}:{key}"
            h = r.get(key)
            if h in ("", None):
                continue
            for fm in fms:
                if not _signed(event, prefix(fm.field)):
                    continue
                lk = fm.lookup
                assert lk is not None
                present, value = _one(event, fm.field)
                if not present:
                    continue
                table_rows = lookup_rows.setdefault(lk.name, {})
                row = table_rows.setdefault(h, {lk.on: h, ts: r.get(ts)})
                typ = lk.columns.get(fm.column or "", "string")
                if typ in ("bool", "boolean"):
                    value = value if isinstance(value, bool) else None
                elif value is not None and not isinstance(value, str):
                    value = None  # an object or a number: no string column holds it as the event does
                row.setdefault(fm.column, value)
    for name, rows_by_hash in lookup_rows.items():
        lk = profile.lookups[name]
        cols, rows = tables[lk.table]
        for row in rows_by_hash.values():
            rows.append({c: row.get(c) for c in cols})
    bad: dict[str, str] = {}
    for (tname, key), fms in keyed.items():
        leaves = [s for s in signed if s.table == tname and profile.tables[tname].fields[s.field].key == key]
        _cols, rows = tables[tname]
        for r in rows:
            event = by_id[r[id_column]]
            found = {fm.field: (lookup_rows.get(fm.lookup.name, {}).get(r.get(key)) or {}).get(fm.column)  # type: ignore[union-attr]
                     for fm in facts_of[(tname, key)]}
            seen = _as_read(event, found)
            table_name = profile.lookups[fms[0].lookup.name].table  # type: ignore[union-attr]
            for s in leaves:
                if any(truth(c, event) != truth(c, seen) for c in (s.leaf, ir.Not(s.leaf))):
                    have = values(event, split_path(s.field))
                    bad.setdefault(r[id_column], (
                        f"outside the stated assumption on {s.field}: the event's {have!r} and what the query reads from "
                        f"its {key} row of {table_name} ({found.get(s.field)!r}) decide the condition "
                        f"differently (a file signed otherwise under the same hash, unsigned, or on a non-Windows host)"))
                    break
    if bad:
        for _cols, rows in tables.values():
            rows[:] = [r for r in rows if r.get(id_column) not in bad]
    return bad
