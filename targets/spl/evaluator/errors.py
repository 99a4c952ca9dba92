"""Errors raised by the SPL reference evaluator.

The evaluator is deliberately strict: it implements only what Splunk's documentation states, and
raises :class:`Undocumented` where the documentation leaves a result open (for example ``NOT`` of a
null comparison, or ``==`` on a multivalue field). A search that relies on such behaviour is not
exact, so the test suite must see it fail rather than have the evaluator guess.
"""

from __future__ import annotations


class SplError(Exception):
    """Base class for evaluator errors."""


class SplSyntaxError(SplError):
    """The text is not valid SPL (for the subset this evaluator understands)."""

    def __init__(self, message: str, position: int = -1) -> None:
        super().__init__(message if position < 0 else f"{message} at offset {position}")
        self.position = position


class Unsupported(SplError):
    """Valid SPL, but a command or function outside the subset eqlc emits."""


class Undocumented(SplError):
    """The documentation does not define the result; an exact translation must not rely on it."""
