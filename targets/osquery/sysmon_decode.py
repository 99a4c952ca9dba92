"""Windows event-log fields Elastic derives from one text of the event, read both ways.

Source: elastic/integrations ``packages/windows/data_stream/sysmon_operational/elasticsearch/
ingest_pipeline/default.yml`` (commit 029004a):

* ``registry.hive`` ("Set registry fields" script, events 12-14): the text before the first ``\\``
  of ``TargetObject`` looked up in a fixed table (``HKEY_LOCAL_MACHINE`` and ``HKLM`` are ``HKLM``,
  ``HKEY_USERS`` and ``HKU`` are ``HKU``...); any other first segment gives no hive.
* ``file.hash.*`` (events 6, 7, 15, 26, 29) and ``process.hash.*`` (1, 23, 24, 25): the ``kv``
  processor splits ``Hashes`` on ``,`` and ``=``, a script lower-cases every key and value and drops
  empty and all-zero values. Sysmon writes ``ALGO=hex`` pairs (``SHA1=..,MD5=..,SHA256=..,
  IMPHASH=..``); the translation is exact for that shape (a mapping note says so).

* ``event.outcome`` of a Windows event (elastic/beats winlogbeat/sys/winevent/event.go ``Fields``:
  ``winlog.outcome`` is ``failure`` when the Keywords bitmask has Audit Failure 0x0010000000000000,
  else ``success`` when it has Audit Success 0x0020000000000000; winlogbeat/eventlog renames it to
  ``event.outcome``). osquery's ``windows_events.keywords`` is the event's Keywords text
  (windowseventlogparser.cpp), ``0x`` and 16 hex digits as Windows renders it.

Each reading has its SQL (for the emitter) and its Python twin (for the fixture adapter's view of
a row), written side by side so that they stay the same function.
"""

from __future__ import annotations

from typing import Optional

from . import sqltext

HIVES = {
    "HKEY_CLASSES_ROOT": "HKCR", "HKCR": "HKCR", "HKEY_CURRENT_CONFIG": "HKCC", "HKCC": "HKCC",
    "HKEY_CURRENT_USER": "HKCU", "HKCU": "HKCU", "HKEY_DYN_DATA": "HKDD", "HKDD": "HKDD",
    "HKEY_LOCAL_MACHINE": "HKLM", "HKLM": "HKLM", "HKEY_PERFORMANCE_DATA": "HKPD", "HKPD": "HKPD",
    "HKEY_USERS": "HKU", "HKU": "HKU",
}


def hive_sql(ref: str) -> str:
    """``registry.hive`` of the TargetObject ``ref`` (NULL when its first segment is no hive)."""
    head = f"(CASE WHEN instr({ref}, '\\') > 0 THEN substr({ref}, 1, instr({ref}, '\\') - 1) ELSE {ref} END)"
    arms = " ".join(f"WHEN {sqltext.quote(k)} THEN {sqltext.quote(v)}" for k, v in HIVES.items())
    return f"(CASE {head} {arms} END)"


def hive(target_object: str) -> Optional[str]:
    return HIVES.get(target_object.split("\\", 1)[0])


def hive_target_object(value: str) -> Optional[str]:
    """A TargetObject whose hive is ``value`` (for an event that names only the hive)."""
    return value + "\\" if value in HIVES.values() else None


def hash_sql(ref: str, algorithm: str) -> str:
    """The lower-cased ``algorithm`` value of the Hashes text ``ref`` (NULL when absent, empty or all
    zeros). ``ref`` is bound once in a sub-select."""
    key = sqltext.quote("," + algorithm.lower() + "=")
    n = len(algorithm) + 2
    return (
        "(SELECT CASE WHEN eqlc_v = '' OR eqlc_v NOT GLOB '*[^0]*' THEN NULL ELSE lower(eqlc_v) END FROM "
        f"(SELECT CASE WHEN eqlc_p > 0 THEN substr(substr(eqlc_h, eqlc_p + {n}), 1, instr(substr(eqlc_h, eqlc_p + {n}), ',') - 1) END AS eqlc_v FROM "
        f"(SELECT eqlc_h, instr(lower(eqlc_h), {key}) AS eqlc_p FROM (SELECT ',' || {ref} || ',' AS eqlc_h))))"
    )


def _ascii_lower(text: str) -> str:
    return "".join(c.lower() if c.isascii() else c for c in text)


def hash_value(hashes: str, algorithm: str) -> Optional[str]:
    """Python twin of :func:`hash_sql`."""
    text = "," + hashes + ","
    key = "," + algorithm.lower() + "="
    p = _ascii_lower(text).find(key)
    if p < 0:
        return None
    rest = text[p + len(key):]
    value = rest[: rest.find(",")]
    if value == "" or set(value) == {"0"}:
        return None
    return _ascii_lower(value)


def with_hash(hashes: Optional[str], algorithm: str, value: str) -> Optional[str]:
    """``hashes`` with ``ALGO=value`` appended (None if it already holds another value for it)."""
    have = hash_value(hashes, algorithm) if hashes else None
    if have is not None:
        return hashes if have == value else None
    pair = f"{algorithm.upper()}={value}"
    return pair if not hashes else hashes + "," + pair


def outcome_sql(ref: str) -> str:
    """``event.outcome`` of the Keywords text ``ref``: the hex digit holding bits 52-55 (the 14th
    from the end) decides (NULL when the text is not ``0x`` and at least 14 hex digits)."""
    nibble = f"(instr('0123456789abcdef', lower(substr({ref}, -14, 1))) - 1)"
    ok = f"{ref} GLOB '0[xX]*' AND length({ref}) >= 16 AND {ref} NOT GLOB '0[xX]*[^0-9a-fA-F]*'"
    return (f"(CASE WHEN {ok} THEN (CASE WHEN ({nibble} & 1) = 1 THEN 'failure' "
            f"WHEN ({nibble} & 2) = 2 THEN 'success' END) END)")


def outcome(keywords: str) -> Optional[str]:
    """Python twin of :func:`outcome_sql`."""
    digits = keywords[2:]
    if not keywords[:2] in ("0x", "0X") or len(digits) < 14 or any(c not in "0123456789abcdefABCDEF" for c in digits):
        return None
    n = int(digits[-14], 16)
    return "failure" if n & 1 else "success" if n & 2 else None


def outcome_keywords(value: str) -> Optional[str]:
    """The Keywords text of a Security event with this outcome."""
    return {"success": "0x8020000000000000", "failure": "0x8010000000000000"}.get(value)
