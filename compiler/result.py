"""The result of compiling one rule for one target: exact, exact with assumptions, broader, or refused.

``broader`` (opt-in, see :mod:`eqlc.broaden`) selects every event the rule selects and possibly
more: it lists, in :attr:`Translation.dropped`, each condition that was replaced because the target
could not express it.

Every target returns a :class:`Translation`; the CLI renders it for people and as
``{"results": [...]}`` JSON (the shape shared by every target).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from contextlib import contextmanager
from typing import Any, Iterator, Optional


class Status(str, enum.Enum):
    EXACT = "exact"
    ASSUMPTIONS = "assumptions"
    BROADER = "broader"
    REFUSED = "refused"

    @property
    def deployable(self) -> bool:
        """A translation a user can deploy: everything but a refusal."""
        return self is not Status.REFUSED


class Refused(Exception):
    """Raised inside an emitter when a construct cannot be translated exactly; the message is
    the reason the user sees. ``node`` is the IR node the refusal is about (an atom, a value
    inside one, or a join key) when it is about one: :mod:`eqlc.broaden` can then replace that
    atom; a refusal without a node (a sequence feature, a missing table) stays a refusal."""

    def __init__(self, reason: str, node: object = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.node = node


@contextmanager
def about(node: object) -> Iterator[None]:
    """Attach ``node`` to a :class:`Refused` raised inside the block that has no node yet: an
    emitter wraps the translation of one atom (or join key) in it, so that every refusal raised
    while translating that atom names it, however deep the raise."""
    try:
        yield
    except Refused as r:
        if r.node is None:
            r.node = node
        raise


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
    Sentinel analytics rule or a savedsearches.conf stanza."""

    target: str
    status: Status
    notes: list[str] = field(default_factory=list)
    output: Optional[str] = None
    artifacts: dict[str, str] = field(default_factory=dict)
    rule_path: Optional[str] = None
    profile: Optional[str] = None
    # the IR node a refusal is about (Refused.node), for eqlc.broaden; not part of the JSON
    refusal_node: Any = field(default=None, compare=False, repr=False)
    # BROADER: the conditions replaced to make the rule translatable (eqlc.broaden.Dropped)
    dropped: list = field(default_factory=list)
    # BROADER: the rule as widened and compiled (its query, and a description naming the dropped conditions)
    widened_rule: Any = field(default=None, compare=False, repr=False)

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
            **({"dropped": [d.as_dict() for d in self.dropped]} if self.dropped else {}),
        }
