"""The result of compiling one rule for one target: exact, exact with assumptions, or refused.

Every target returns a :class:`Translation`; the CLI renders it for people and as
``{"results": [...]}`` JSON (the shape shared by every target).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Optional


class Status(str, enum.Enum):
    EXACT = "exact"
    ASSUMPTIONS = "assumptions"
    REFUSED = "refused"


class Refused(Exception):
    """Raised inside an emitter when a construct cannot be translated exactly; the message is
    the reason the user sees."""

    def __init__(self, reason: str, node: object = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.node = node


@dataclass
class Notes:
    """What an emitter learned while translating: stated assumptions (the translation is exact
    only if they hold)."""

    assumptions: list[str] = field(default_factory=list)

    def assume(self, text: str) -> None:
        if text not in self.assumptions:
            self.assumptions.append(text)


@dataclass
class Translation:
    """``output`` is the main emitted text; ``artifacts`` extra files (name -> text), such as a
    Sentinel analytics rule or a savedsearches.conf stanza. ``output_file`` names the file
    ``output`` is written to (``eqlc compile -o``): None for the rule's file stem and the target's
    extension; "" when ``output`` is not written on its own because the artifacts hold it in the
    files its users import (a Sigma collection written as one SigmaHQ-named file per rule)."""

    target: str
    status: Status
    notes: list[str] = field(default_factory=list)
    output: Optional[str] = None
    artifacts: dict[str, str] = field(default_factory=dict)
    rule_path: Optional[str] = None
    profile: Optional[str] = None
    output_file: Optional[str] = None

    @classmethod
    def refused(cls, target: str, reason: str, **kw: object) -> "Translation":
        return cls(target, Status.REFUSED, [reason], None, **kw)  # type: ignore[arg-type]

    @classmethod
    def from_notes(cls, target: str, output: str, notes: Notes, **kw: object) -> "Translation":
        status = Status.ASSUMPTIONS if notes.assumptions else Status.EXACT
        return cls(target, status, list(notes.assumptions), output, **kw)  # type: ignore[arg-type]

    def as_dict(self) -> dict:
        return {
            "rule": self.rule_path,
            "target": self.target,
            "status": self.status.value,
            "notes": list(self.notes),
            "output": self.output,
        }
