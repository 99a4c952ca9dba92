"""Sysmon's registry ``Details`` spelling of the values ECS ``registry.data.strings`` holds.

Sysmon writes a registry value's data into ``Details`` as text, except numbers and binary data:
a REG_DWORD as ``DWORD (0x00000001)``, a REG_QWORD as ``QWORD (0x........-0x........)``, binary data
as ``Binary Data``. Elastic's own Sysmon ingest pipeline -- the one that produces the ECS events the
corpus rules are written against (elastic/integrations packages/windows/data_stream/
sysmon_operational/elasticsearch/ingest_pipeline/default.yml, "Set registry fields") -- turns
``Details`` into ``registry.data.strings`` like this (:func:`ecs_of`):

* ``(?i)DWORD \\((0x[0-9A-F]{8})\\)`` (whole text) -> ``[Long.toString(hex)]``, type ``SZ_DWORD``;
* ``(?i)QWORD \\(((0x[0-9A-F]{8})-(0x[0-9A-F]{8}))\\)`` -> ``[Long.toString((first << 8) + second)]``,
  type ``SZ_QWORD`` (the pipeline's own arithmetic, copied as it is);
* anything else that is not empty (``Binary Data``, ``(Empty)``, text) -> ``[Details]``;
* an empty ``Details`` -> no ``registry.data`` at all.

So the Sigma translation of ``registry.data.strings == "1"`` is the *preimage* of "1" under that
function: ``Details`` in ("1", "DWORD (0x00000001)", "QWORD (0x00000000-0x00000001)")
(:func:`preimage`), exact under the assumption that the events' ECS values are what the pipeline
writes. The check (:func:`impossible`) names the ECS values the pipeline never writes: an empty
string, a value spelt like Sysmon's DWORD/QWORD text, and a number type whose string is not the
decimal text the pipeline writes.

This is the same decision as the KQL target's: ``registry.data.strings`` is read from one string
column under the stated one-element assumption; Sigma's column merely spells numbers otherwise, and
the spelling is data the pipeline documents, so it is translated, not refused.
"""

from __future__ import annotations

import re
from typing import Optional

DWORD = re.compile(r"DWORD \((0x[0-9A-F]{8})\)", re.IGNORECASE)
QWORD = re.compile(r"QWORD \(((0x[0-9A-F]{8})-(0x[0-9A-F]{8}))\)", re.IGNORECASE)
_DECIMAL = re.compile(r"0|[1-9][0-9]*")
MAX_QWORD_SPELLINGS = 16  # (first << 8) + second == n has n // 256 + 1 solutions; more are refused
_U32 = 1 << 32
# registry.data.type values that say the data is a number (Elastic's Sysmon pipeline: SZ_DWORD /
# SZ_QWORD; Elastic Defend and ECS's own examples: REG_DWORD / REG_QWORD)
NUMBER_TYPES = {"SZ_DWORD": "dword", "REG_DWORD": "dword", "SZ_QWORD": "qword", "REG_QWORD": "qword"}


def ecs_of(details: str) -> Optional[str]:
    """The registry.data.strings element Elastic's Sysmon pipeline writes for ``details``."""
    if details == "":
        return None
    m = QWORD.fullmatch(details)
    if m:
        return str((int(m.group(2), 16) << 8) + int(m.group(3), 16))
    m = DWORD.fullmatch(details)
    if m:
        return str(int(m.group(1), 16))
    return details


def _hex(n: int) -> list[str]:
    upper = f"0x{n:08X}"
    return list(dict.fromkeys([upper, "0x" + upper[2:].lower()]))


def number_spellings(n: int) -> list[str]:
    """Every Sysmon DWORD/QWORD spelling the pipeline turns into the decimal text of ``n`` (hex
    digits in both letter cases: Sysmon's case is not documented and the pipeline ignores it)."""
    out: list[str] = []
    if n < _U32:
        out.extend(f"DWORD ({h})" for h in _hex(n))
    his = range(max(0, (n - _U32) // 256 + 1), n // 256 + 1)  # (hi << 8) + lo == n with 0 <= lo < 2**32
    if len(his) > MAX_QWORD_SPELLINGS:
        raise ValueError(f"{n} has {len(his)} QWORD spellings")
    pairs = [(hi, n - (hi << 8)) for hi in his if hi < _U32]
    for hi, lo in pairs:
        out.extend(f"QWORD ({a}-{b})" for a in _hex(hi) for b in _hex(lo))
    return list(dict.fromkeys(out))


def preimage(ecs: str) -> list[str]:
    """The Details values the pipeline turns into the ECS string ``ecs`` (empty: none can)."""
    if ecs == "" or DWORD.fullmatch(ecs) or QWORD.fullmatch(ecs):
        return []
    out = [ecs]
    if _DECIMAL.fullmatch(ecs):
        out.extend(number_spellings(int(ecs)))
    return out


def sysmon_spelling(ecs: str, data_type: Optional[str]) -> str:
    """The Details value a Sysmon event of this ECS value and ``registry.data.type`` had (for the
    fixture adapter): numbers of a number type in Sysmon's spelling, everything else as it is."""
    kind = NUMBER_TYPES.get(data_type or "")
    if kind and _DECIMAL.fullmatch(ecs) and int(ecs) < _U32:
        n = int(ecs)
        return f"DWORD (0x{n:08X})" if kind == "dword" else f"QWORD (0x00000000-0x{n:08X})"
    return ecs


def impossible(ecs: object, data_type: Optional[str]) -> bool:
    """Is ``ecs`` a registry.data.strings element Elastic's Sysmon pipeline never writes (or, with
    a number ``data_type``, not the decimal text it writes for numbers)?"""
    if not isinstance(ecs, str):
        return True
    if not preimage(ecs):
        return True
    kind = NUMBER_TYPES.get(data_type or "")
    return bool(kind) and not (_DECIMAL.fullmatch(ecs) and int(ecs) < (_U32 if kind == "dword" else 1 << 64))
