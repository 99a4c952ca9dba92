"""Optional fields (``?f``) that the table has no column for, read as having no value.

Elasticsearch reads an optional field that no index maps as missing (EQL reference, "Optional
fields": ``?field`` "returns null" when the field is not mapped instead of failing the query); the
osquery target reads such fields the same way. A table that records nothing for the field is
such an index, so a leaf on it is decided at compile time as the reference matcher decides it on
an event without the field. That is an assumption about the data (a real event could carry the
field), so it is stated, and its check (:func:`breaks`) leaves out every event on which the
leaf, or its negation, takes another truth value than on an event without the field.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Optional

from eqlc import ir

_MATCHERS: dict[str, Any] = {}


def truth(cond: ir.Expr, event: dict) -> bool:
    """Elasticsearch's truth of one condition on one event, by the reference matcher."""
    from eqlc.matcher import matcher

    key = repr(cond)
    m = _MATCHERS.get(key)
    if m is None:
        m = _MATCHERS[key] = matcher(ir.Query(ir.EventQuery(None, cond)))
    return m.match(event)


def with_value(path: tuple, value: str) -> dict:
    """An event holding ``value`` in the field at ``path`` and nothing else."""
    event: dict = {}
    node = event
    for part in path[:-1]:
        node = node.setdefault(str(part), {})
    node[str(path[-1])] = value
    return event


@dataclass(frozen=True)
class Absent:
    """A leaf on field ``field`` decided as on an event without the field: an optional field the
    table has no column for, or (in a leg of a multi-category union) a field only other tables
    record."""

    leaf: ir.Expr
    field: str
    table: Optional[str] = None  # a union leg's table: assumed of that table's rows only


def decide(leaf: ir.Expr, negated: bool) -> bool:
    """The constant the emitter puts for ``leaf`` on an event without its field. The emitter
    negates a leaf under ``not`` itself, so under an odd number of ``not`` the constant is the
    one whose negation is the matcher's truth of ``not leaf`` (three-valued: a comparison with a
    missing value and its negation can both be false)."""
    if negated:
        return not truth(ir.Not(leaf), {})
    return truth(leaf, {})


def breaks(absent: Absent, event: dict) -> Optional[str]:
    """Why ``event`` is outside the assumption that ``absent.field`` has no value, or None."""
    for cond in (absent.leaf, ir.Not(absent.leaf)):
        if truth(cond, event) != truth(cond, {}):
            shown = absent.field if absent.table else "?" + absent.field
            return (f"outside the stated assumption on {shown}: the table records no such column, but the "
                    f"event's value decides the condition otherwise")
    return None
