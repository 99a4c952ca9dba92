"""The result of compiling one rule for one target: exact, exact with assumptions, broader, refused,
or error.

``broader`` (opt-in, see :mod:`eqlc.broaden`) selects every event the rule selects and possibly
more: it lists, in :attr:`Translation.dropped`, each condition that was replaced because the target
could not express it.

Every target returns a :class:`Translation`; the CLI renders it for people and as
``{"results": [...]}`` JSON (the shape shared by every target). ``error`` is not a verdict on the
rule: the target raised (an eqlc bug, or a broken installation), so nothing is known about the rule;
it is never shown as a refusal, and it makes ``compile``, ``verify`` and ``report --strict`` exit 3.
"""

from __future__ import annotations

import enum
import sys
from dataclasses import dataclass, field
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator, Optional


class Status(str, enum.Enum):
    EXACT = "exact"
    ASSUMPTIONS = "assumptions"
    BROADER = "broader"
    REFUSED = "refused"
    ERROR = "error"  # the target raised: an internal error, never a refusal

    @property
    def deployable(self) -> bool:
        """A translation a user can deploy: exact, assumptions or broader (not a refusal or an error)."""
        return self not in (Status.REFUSED, Status.ERROR)


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
    # the IR node a refusal is about (Refused.node), for eqlc.broaden; not part of the JSON
    refusal_node: Any = field(default=None, compare=False, repr=False)
    # BROADER: the conditions replaced to make the rule translatable (eqlc.broaden.Dropped)
    dropped: list = field(default_factory=list)
    # BROADER: the rule as widened and compiled (its query, and a description naming the dropped conditions)
    widened_rule: Any = field(default=None, compare=False, repr=False)
    output_file: Optional[str] = None
    # the files ``eqlc compile -o`` wrote for this translation (main output first, then artifacts)
    files: list[str] = field(default_factory=list)
    error: Optional[str] = None  # status ERROR: "ExceptionType: message"

    @classmethod
    def failed(cls, target: str, exc: BaseException, **kw: object) -> "Translation":
        """Status ERROR for an exception raised by ``target`` while compiling (type and message,
        without install paths)."""
        text = describe_exception(exc)
        return cls(target, Status.ERROR, [f"internal error in the {target} target: {text}"], None, error=text, **kw)  # type: ignore[arg-type]

    @classmethod
    def refused(cls, target: str, reason: str, **kw: object) -> "Translation":
        return cls(target, Status.REFUSED, [reason], None, **kw)  # type: ignore[arg-type]

    @classmethod
    def from_notes(cls, target: str, output: str, notes: Notes, **kw: object) -> "Translation":
        status = Status.ASSUMPTIONS if notes.assumptions else Status.EXACT
        return cls(target, status, list(notes.assumptions), output, **kw)  # type: ignore[arg-type]

    def as_dict(self) -> dict:
        out = {
            "rule": self.rule_path,
            "target": self.target,
            "profile": self.profile,
            "status": self.status.value,
            "notes": list(self.notes),
            "output": self.output,
            "files": list(self.files),
            **({"dropped": [d.as_dict() for d in self.dropped]} if self.dropped else {}),
        }
        if self.error is not None:
            out["error"] = self.error
        return out


def _install_roots() -> list[tuple[str, str]]:
    """(directory, replacement) pairs: where eqlc and its dependencies are installed."""
    here = Path(__file__).resolve().parent  # eqlc (compiler/ in a checkout)
    roots = [(str(here.parent / "targets"), "eqlc/targets"), (str(here.parent / "grammar"), "eqlc/grammar"),
             (str(here), "eqlc")]
    for p in sorted({p for p in sys.path if p.endswith(("site-packages", "dist-packages"))}, key=len, reverse=True):
        roots.append((p, "<site-packages>"))
    return roots


def redact_install_paths(text: str) -> str:
    """``text`` with the directories eqlc and its dependencies are installed in replaced by
    ``eqlc``/``<site-packages>``: a message names the package file, never the machine's layout."""
    for root, name in _install_roots():
        text = text.replace(root, name)
    return text


def describe_exception(exc: BaseException) -> str:
    """``Type: message`` of an unexpected exception, for an ``error`` result or an engine error."""
    message = str(exc)
    return redact_install_paths(f"{type(exc).__name__}: {message}" if message else type(exc).__name__)
