"""Stated assumptions, each with a check that finds the fixture events breaking it.

A translation with assumptions is exact *if they hold*. To make that testable, every assumption
the emitter states can carry ``violated(event) -> bool``; the execution tests then require every
disagreement between the SQLite engine and the reference matcher to fall on an event that breaks
a stated assumption. ``violated`` is None for assumptions about the index or the backend rather
than the data (they cannot cause a disagreement on the SQLite engine).

Some assumptions are about how events relate to each other (one host name per ``host.id``, a
sequence that fits in the rule's look-back): those carry ``group(events) -> {_id: detail}``,
which sees every event at once.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Iterable, Optional

Check = Callable[[dict], bool]
GroupCheck = Callable[[list], dict]


@dataclass
class Assumption:
    text: str
    violated: Optional[Check] = None
    group: Optional[GroupCheck] = None


@dataclass
class AssumptionLog:
    items: list[Assumption] = field(default_factory=list)

    def assume(self, text: str, violated: Optional[Check] = None, group: Optional[GroupCheck] = None) -> None:
        for a in self.items:
            if a.text == text:
                # the same statement made for another condition (two event.type tests read through one
                # `cases` field): either check breaks it, as in extend()
                if violated is not None:
                    old = a.violated
                    a.violated = violated if old is None else (lambda x, y: (lambda e: x(e) or y(e)))(old, violated)
                if group is not None and a.group is None:
                    a.group = group
                return
        self.items.append(Assumption(text, violated, group))

    def extend(self, other: "AssumptionLog", scope: Optional[Check] = None) -> None:
        """Add ``other``'s assumptions; with ``scope``, their per-event checks apply only to the
        events ``scope`` accepts (a collection's rule states assumptions about its own log
        source's events). An assumption already stated keeps both checks (either breaks it)."""
        for a in other.items:
            check = a.violated
            if check is not None and scope is not None:
                check = (lambda c, s: (lambda e: s(e) and c(e)))(check, scope)
            mine = next((m for m in self.items if m.text == a.text), None)
            if mine is None:
                self.items.append(Assumption(a.text, check, a.group))
                continue
            if check is not None:
                old = mine.violated
                mine.violated = check if old is None else (lambda x, y: (lambda e: x(e) or y(e)))(old, check)
            if a.group is not None and mine.group is None:
                mine.group = a.group

    @property
    def texts(self) -> list[str]:
        return [a.text for a in self.items]

    def violated_by(self, event: dict) -> list[str]:
        """The assumptions ``event`` breaks by itself (those with a per-event check)."""
        return [a.text for a in self.items if a.violated is not None and a.violated(event)]

    def outside(self, events: Iterable[dict]) -> dict[str, str]:
        """``_id`` -> the first assumption the event breaks, by itself or together with others."""
        events = list(events)
        out: dict[str, str] = {}
        for event in events:
            broken = self.violated_by(event)
            if broken:
                out[str(event["_id"])] = broken[0]
        for a in self.items:
            if a.group is not None:
                for i, detail in a.group(events).items():
                    out.setdefault(str(i), f"{a.text} ({detail})" if detail else a.text)
        return out
