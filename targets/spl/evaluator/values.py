"""Splunk's value model, as the evaluator represents it.

A Splunk event (a "result") maps field names to values. Splunk has no empty multivalue field:
a field with no values does not exist (``mvcount`` "If the field has no values, this function
returns NULL", Search Reference > Multivalue eval functions). So here a field is absent or a
non-empty Python list; one element is a single value, several a multivalue field. Values from
indexed events are strings (Splunk extracts text); ``eval`` may produce numbers.

Numbers: "During calculations, numbers are treated as double-precision floating-point numbers"
(SPL eval usage), and a field value that looks like a number takes part in numeric comparisons.
"""

from __future__ import annotations

import re
from typing import Any, Optional, Union

Scalar = Union[str, float, int]
Event = dict  # field name -> list[Scalar]

_NUMBER = re.compile(r"^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$")


def is_numeric_text(v: Any) -> bool:
    """A string Splunk would read as a number (plain decimal, optional sign and exponent)."""
    return isinstance(v, str) and bool(_NUMBER.match(v))


def to_number(v: Any) -> Optional[float]:
    """The numeric value of ``v``, or None when it is not a number."""
    if isinstance(v, bool):
        return None
    if isinstance(v, (int, float)):
        return float(v)
    if is_numeric_text(v):
        return float(v)
    return None


def render(v: Scalar) -> str:
    """A value as text (what ``table`` would show): integral floats without ``.0``."""
    if isinstance(v, float) and v.is_integer() and abs(v) < 1e15:
        return str(int(v))
    return str(v)


class Poisoned:
    """A value the documentation leaves open (a data model calculated field over a multivalue field):
    reading it raises :class:`.errors.Undocumented`; a field nothing reads changes no selection."""

    def __init__(self, reason: str) -> None:
        self.reason = reason

    def __repr__(self) -> str:
        return f"<undocumented: {self.reason}>"


def get(event: Event, name: str) -> Optional[list]:
    vals = event.get(name)
    if vals and isinstance(vals[0], Poisoned):
        from .errors import Undocumented

        raise Undocumented(f"the value of {name!r} is not documented here: {vals[0].reason}")
    return vals if vals else None
