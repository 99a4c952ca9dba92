"""Errors that name file, line and column and show the offending line with a caret.

Every failure a user can cause (syntax, semantics, a rule file that cannot be read) is an
:class:`EqlError`; the CLI prints :meth:`EqlError.render` and exits 2, never a traceback.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional


@dataclass
class EqlError(Exception):
    """A problem in user input, located at 1-based ``line``/``column`` of ``source``."""

    message: str
    line: int = 0
    column: int = 0
    source: Optional[str] = None  # the text the line/column refer to (query or whole file)
    path: Optional[str] = None

    def __post_init__(self) -> None:
        super().__init__(self.message)

    def __str__(self) -> str:
        return self.render()

    @property
    def location(self) -> str:
        where = self.path or "<query>"
        if self.line:
            return f"{where}:{self.line}:{self.column}"
        return where

    def render(self) -> str:
        """``path:line:col: error: message`` followed by the source line and a caret."""
        head = f"{self.location}: error: {self.message}"
        if not (self.source and self.line):
            return head
        lines = self.source.splitlines()
        if not 1 <= self.line <= len(lines):
            return head
        text = lines[self.line - 1].replace("\t", " ")
        caret = " " * max(self.column - 1, 0) + "^"
        return f"{head}\n  {text}\n  {caret}"

    def relocated(self, path: Optional[str], source: str, line_offset: int, column_offset: int = 0) -> "EqlError":
        """The same error, moved from query coordinates into a file's coordinates.

        ``line_offset`` is the number of file lines before the query's first line;
        ``column_offset`` applies to the query's first line only (a query may start mid-line).
        """
        col = self.column + (column_offset if self.line == 1 else 0)
        return EqlError(self.message, self.line + line_offset if self.line else 0, col, source, path)

    def as_dict(self) -> dict:
        return {"path": self.path, "line": self.line, "column": self.column, "message": self.message}


class UsageError(EqlError):
    """A mistake in how eqlc was called (an option value, a path that does not exist) rather than
    in a rule. Rendered as one line, ``error: message`` (``PATH: error: message`` when it is about a
    path), never with a ``<query>:`` location, because no query is involved."""

    @property
    def location(self) -> str:
        return self.path or ""

    def render(self) -> str:
        return f"{self.path}: error: {self.message}" if self.path else f"error: {self.message}"


class UnknownTarget(UsageError):
    """A target name that is not registered (``eqlc.compile(rule, "splunk")``)."""


class UnknownProfile(UsageError):
    """A profile the target does not have (``eqlc.compile(rule, "kql", profile="sentinel")``)."""


class MappingError(EqlError, ValueError):
    """A ``--mapping`` file the target cannot use: a key the target's mapping schema does not have
    (located at its file, line and column), or a value it cannot read. Also a ``ValueError``, which
    is what the targets' loaders raised for a bad value before."""


class PartialLoad(EqlError):
    """A file holding several rules (a Kibana export) where some failed: ``rules`` loaded,
    ``errors`` did not. Strict callers see the first error; batch callers keep the rules."""

    def __init__(self, rules: list, errors: list[EqlError]) -> None:
        first = errors[0]
        super().__init__(first.message, first.line, first.column, first.source, first.path)
        self.rules = rules
        self.errors = errors


class RegexBudgetExceeded(RuntimeError):
    """A backtracking regular expression ran past its time budget (or could not be bounded).

    Raised by :mod:`eqlc.safe_regex` (which re-exports it); defined here so that a caller that only
    catches it (``eqlc match``) need not import safe_regex (signal, threading, re's parser) at start-up."""
