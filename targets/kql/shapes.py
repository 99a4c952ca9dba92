"""Columns that hold one kind of value only: a field read from such a column is exact only for
events whose values have that shape (``shape`` in a profile's field entry).

Defender's account columns (``AccountSid``, ``InitiatingProcessAccountSid``) hold a Windows
security identifier: Microsoft's table references describe them as the "Security Identifier (SID)
of the account". Elastic's ``user.id`` holds the SID on Windows but the numeric uid on Linux and
macOS (Elastic Defend; ECS ``user.id``: "Unique identifier of the user"), which no Defender column
records. So the mapping states that ``user.id`` is a SID, the fixture adapter's check sets apart
every event whose value is not (:func:`breaks`), and a comparison with a literal of another shape
(``user.id == "0"``, ``user.id != "0"``, ``user.id >= "1000000000"``) is refused
(:func:`check_literals`): every event that decides it differently from a SID-only column is
outside the assumption, so the assumption would exclude exactly what the rule is about.
"""

from __future__ import annotations

import re
from typing import Iterable, Optional

from eqlc import ir
from eqlc.checks import fields_in
from eqlc.result import Refused

from .profile import FieldMap, Table

OS_FIELD = "host.os.type"


def _literals(e: ir.Expr) -> Iterable[object]:
    if isinstance(e, ir.Compare):
        yield e.right if isinstance(e.left, ir.Field) else e.left
    elif isinstance(e, ir.InSet):
        yield from (v for v in e.values if not isinstance(v, ir.Null))
    elif isinstance(e, ir.WildcardMatch):
        yield from (ir.String(p.text) for p in e.patterns if p.kind is ir.PatternKind.EXACT)


def check_literals(e: ir.Expr, fm: FieldMap) -> None:
    """Refuse a leaf comparing a ``shape`` field with a literal of another shape."""
    if not fm.shape:
        return
    for lit in _literals(e):
        value = getattr(lit, "value", lit)
        if not isinstance(value, str) or not re.fullmatch(fm.shape, value):
            raise Refused(f"{fm.field} compared with {value!r}, which is not {fm.shape_name}: every {fm.text} value is "
                          f"{fm.shape_name}, so the events this comparison is about have no {fm.text} equivalent")


def breaks(fm: FieldMap, vals: list) -> Optional[str]:
    """Why an event's values of a ``shape`` field are outside the stated mapping, or None."""
    for v in vals:
        if v is not None and not (isinstance(v, str) and re.fullmatch(fm.shape or "", v)):
            return f"{fm.field} {v!r} is not {fm.shape_name}, as every {fm.text} value is"
    return None


def pinned_values(cond: ir.Expr, name: str) -> Optional[frozenset[str]]:
    """The values (lower-cased) ``cond`` allows the field ``name`` to hold on a matching event,
    or None when it does not pin them: an equality or set test as a conjunct, at the top or in
    every branch of a disjunction."""
    if isinstance(cond, ir.And):
        sets = [x for t in cond.terms if (x := pinned_values(t, name)) is not None]
        return frozenset.intersection(*sets) if sets else None
    if isinstance(cond, ir.Or):
        sets = [pinned_values(t, name) for t in cond.terms]
        return None if any(x is None for x in sets) else frozenset().union(*sets)  # type: ignore[arg-type]
    f, lits = None, []
    if isinstance(cond, ir.Compare) and cond.op is ir.CompareOp.EQ:
        f, lits = (cond.left, [cond.right]) if isinstance(cond.left, ir.Field) else (cond.right, [cond.left])
    elif isinstance(cond, ir.InSet):
        f, lits = cond.expr, list(cond.values)
    elif isinstance(cond, ir.WildcardMatch) and all(p.kind is ir.PatternKind.EXACT for p in cond.patterns):
        f, lits = cond.expr, [ir.String(p.text) for p in cond.patterns]
    if not isinstance(f, ir.Field) or f.name != name or not all(isinstance(x, ir.String) for x in lits):
        return None
    return frozenset(x.value.lower() for x in lits)  # type: ignore[union-attr]


def check_os(table: Table, cond: ir.Expr, keys: tuple = ()) -> None:
    """Refuse a query (or a sequence term) that reads a ``shape`` field whose shape the source
    writes on some operating systems only (``shape.os``: a SID on Windows) while its condition
    pins host.os.type to others: every event it can select breaks the stated shape."""
    names = {f.name for f in fields_in(cond)} | {k.name for k in keys if isinstance(k, ir.Field)}
    pinned = None
    for name in sorted(names):
        fm = table.fields.get(name)
        if fm is None or not fm.shape or not fm.shape_os:
            continue
        pinned = pinned if pinned is not None else pinned_values(cond, OS_FIELD)
        if pinned is not None and not pinned & set(fm.shape_os):
            raise Refused(f"{name} is read from {fm.text}, whose values are {fm.shape_name}, written for "
                          f"{OS_FIELD} {' or '.join(fm.shape_os)} only, and the condition pins {OS_FIELD} to "
                          f"{', '.join(sorted(pinned))}: no event it selects has an {fm.text} equivalent")


__all__ = ["check_literals", "breaks", "check_os", "pinned_values"]
