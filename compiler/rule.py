"""A detection rule: the parsed query (IR) plus the metadata targets need for deployment."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import PurePath
from typing import Optional

from . import ir
from .oneline import one_line

# MITRE ATT&CK enterprise tactics, for rules that name tactics without ids (documentation pages).
TACTIC_IDS = {
    "reconnaissance": "TA0043", "resource development": "TA0042", "initial access": "TA0001",
    "execution": "TA0002", "persistence": "TA0003", "privilege escalation": "TA0004",
    "defense evasion": "TA0005", "credential access": "TA0006", "discovery": "TA0007",
    "lateral movement": "TA0008", "collection": "TA0009", "command and control": "TA0011",
    "exfiltration": "TA0010", "impact": "TA0040",
}

# the namespace of stable_id's UUIDv5 (a string: `uuid` is imported where used, it costs start-up time)
EQLC_NAMESPACE = "5b0d2f7e-3c1a-4f59-9a55-0c1e2a7e9e01"


@dataclass(frozen=True)
class Technique:
    id: str
    name: str = ""
    subtechniques: tuple["Technique", ...] = ()


@dataclass(frozen=True)
class Threat:
    """One ATT&CK mapping entry: a tactic and the techniques (with sub-techniques) under it."""

    tactic_id: str
    tactic_name: str
    techniques: tuple[Technique, ...] = ()


@dataclass
class Rule:
    """A rule: ``query`` is the IR; ``query_text`` the EQL as written; ``path`` where it came from.

    ``query_line``/``query_column`` locate the query's first character in the file, so errors
    found later (by a target) can still point into the file.
    """

    query: ir.Query
    query_text: str
    path: Optional[str] = None
    name: str = ""
    rule_id: Optional[str] = None
    description: str = ""
    severity: Optional[str] = None
    risk_score: Optional[int] = None
    tags: tuple[str, ...] = ()
    threat: tuple[Threat, ...] = ()
    index: tuple[str, ...] = ()
    interval: Optional[str] = None  # e.g. "5m"
    from_: Optional[str] = None  # look-back, e.g. "now-9m"
    references: tuple[str, ...] = ()
    false_positives: tuple[str, ...] = ()
    author: tuple[str, ...] = ()
    license: Optional[str] = None
    created: Optional[str] = None  # YYYY/MM/DD
    updated: Optional[str] = None
    version: Optional[int] = None
    event_category_override: Optional[str] = None
    timestamp_override: Optional[str] = None
    tiebreaker_field: Optional[str] = None
    query_line: int = 1
    query_column: int = 1
    extra: dict = field(default_factory=dict)
    # set by ``eqlc compile -o`` (eqlc.output.output_stems) so that rules sharing a file stem in one
    # batch get distinct file names; every target names its files after ``file_stem``
    output_stem: Optional[str] = None

    @property
    def stable_id(self) -> str:
        """``rule_id`` or, for sources without one, a UUIDv5 of the rule name."""
        if self.rule_id:
            return self.rule_id
        import uuid

        return str(uuid.uuid5(uuid.UUID(EQLC_NAMESPACE), self.name or self.query_text))

    @property
    def file_stem(self) -> str:
        """The base name of every file written for this rule (``eqlc compile -o``: the query and
        each target's deployment files): the rule file's stem for a one-rule file, so outputs sit
        beside their source under the same name; for a Kibana export (several rules in one file),
        the rule's name as a slug, else its id. ``output_stem``, when set, wins."""
        if self.output_stem:
            return self.output_stem
        if self.path and not self.path.endswith(".ndjson"):
            stem = one_line(PurePath(self.path).stem).strip()  # no line break in a file name or listing
            if stem:
                return stem
        slug = re.sub(r"[^a-z0-9]+", "_", (self.name or "").lower()).strip("_")[:80]
        return slug or re.sub(r"[^A-Za-z0-9_.-]+", "_", self.stable_id)

    @property
    def lookback_ms(self) -> Optional[int]:
        """The look-back window of ``from`` (``now-9m`` -> 540000), if it has that form."""
        return duration_ms(self.from_[4:]) if self.from_ and self.from_.startswith("now-") else None

    @property
    def interval_ms(self) -> Optional[int]:
        return duration_ms(self.interval) if self.interval else None

    @property
    def os_types(self) -> tuple[str, ...]:
        """Operating systems from the rule's ``OS: ...`` tags (lower-case)."""
        return tuple(t.split(":", 1)[1].strip().lower() for t in self.tags if t.lower().startswith("os:"))

    @property
    def platforms(self) -> tuple[str, ...]:
        """The operating systems the rule is written for: its ``OS: ...`` tags, and the bare
        ``Linux``/``macOS``/``Windows`` tags Elastic's older rules use instead (lower-case;
        empty when the rule names none)."""
        bare = tuple(t.lower() for t in self.tags if t.lower() in ("linux", "macos", "windows"))
        return tuple(dict.fromkeys(self.os_types + bare))

    def technique_ids(self) -> list[str]:
        out: list[str] = []
        for th in self.threat:
            for t in th.techniques:
                out.append(t.id)
                out.extend(s.id for s in t.subtechniques)
        return list(dict.fromkeys(out))

    def tactic_names(self) -> list[str]:
        return list(dict.fromkeys(th.tactic_name for th in self.threat if th.tactic_name))


_UNITS = {"ms": 1, "s": 1000, "m": 60_000, "h": 3_600_000, "d": 86_400_000}


def duration_ms(text: Optional[str]) -> Optional[int]:
    """``"5m"`` -> 300000; None for anything else."""
    if not text:
        return None
    for unit in ("ms", "s", "m", "h", "d"):
        if text.endswith(unit) and text[: -len(unit)].isdigit():
            return int(text[: -len(unit)]) * _UNITS[unit]
    return None
