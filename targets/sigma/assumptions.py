"""Stated assumptions, each with a check that finds the fixture events breaking it.

A translation with assumptions is exact *if they hold*. To make that testable, every assumption
the emitter states can carry ``violated(event) -> bool``; the execution tests then require every
disagreement between the SQLite engine and the reference matcher to fall on an event that breaks
a stated assumption. ``violated`` is None for assumptions about the index or the backend rather
than the data (they cannot cause a disagreement on the SQLite engine).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Optional

Check = Callable[[dict], bool]


@dataclass
class Assumption:
    text: str
    violated: Optional[Check] = None


@dataclass
class AssumptionLog:
    items: list[Assumption] = field(default_factory=list)

    def assume(self, text: str, violated: Optional[Check] = None) -> None:
        for a in self.items:
            if a.text == text:
                return
        self.items.append(Assumption(text, violated))

    @property
    def texts(self) -> list[str]:
        return [a.text for a in self.items]

    def violated_by(self, event: dict) -> list[str]:
        """The assumptions ``event`` breaks (those with a check)."""
        return [a.text for a in self.items if a.violated is not None and a.violated(event)]
