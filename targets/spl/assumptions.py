"""Stated assumptions that can tell which fixture events break them.

A note the emitter states is a plain string for users; :class:`CheckedNote` is that string plus
``violated(event) -> bool``, written where the note is written so that the check says exactly
what the note says and nothing wider. :func:`outside_assumptions` (``SplTarget.outside_assumptions``)
lists the events breaking a checked note; for a sequence also the events sharing a join key with
one (Elasticsearch pairs events only within a join key, so a breaking event can change the
matches of exactly those). Notes without a check (ordering of ties, memory limits, UTF-8 mode of
PCRE, ...) are about the engine or the index, not about the fixture data, and excuse nothing.
"""

from __future__ import annotations

from typing import Callable, Iterable, Optional

from eqlc import ir
from eqlc.events import split_path, values
from eqlc.targets.sequence_scope import spread_over_join_keys

Check = Callable[[dict], bool]


class CheckedNote(str):
    """A stated assumption (the text) with the check that finds events breaking it."""

    violated: Optional[Check]

    def __new__(cls, text: str, violated: Optional[Check] = None) -> "CheckedNote":
        obj = super().__new__(cls, text)
        obj.violated = violated
        return obj

    def __reduce__(self):  # pickling keeps the text only (a check is a closure): re-compile to check
        return (str, (str(self),))


def holds_numbers(ecs_field: str) -> Check:
    """``ecs_field`` holds only JSON numbers (booleans are not numbers)."""
    path = split_path(ecs_field)

    def violated(event: dict) -> bool:
        return any(isinstance(v, bool) or not isinstance(v, (int, float)) for v in values(event, path))

    return violated


def broken(notes: Iterable[str], event: dict) -> Optional[str]:
    """The first checked note ``event`` breaks, or None."""
    for n in notes:
        check = getattr(n, "violated", None)
        if check is not None and check(event):
            return str(n)
    return None


def outside_assumptions(query: ir.Query, notes: Iterable[str], events: Iterable[dict]) -> dict[str, str]:
    notes = list(notes)
    events = list(events)
    out: dict[str, str] = {}
    for e in events:
        why = broken(notes, e)
        if why is not None:
            out[str(e.get("_id"))] = why
    return spread_over_join_keys(query, out, events)
