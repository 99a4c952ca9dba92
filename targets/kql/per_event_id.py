"""Fields a raw table's source derives per event id (sentinel.yaml ``by_event_id``).

Elastic's System integration fills user.name, source.ip, process.executable... from a different
EventData value for each group of Windows Security event ids ("Rename Common Auth Fields" lists
~70 ids). The profile declares such a field as its branches, each an id list (and an optional
extra predicate) with the value for those ids, plus the value of every other id; this module
renders them as one Kusto ``iff`` (one branch) or ``case`` (several).

Why the branches are data rather than one expression text: a sequence leg whose filter lets
through only some ids (query.sequence_query, raw_tables.leg_event_ids) renders only the branches
for those ids (the Kerberos correlation rule's ticket leg: 4768/4769 of the 70). The column is
read only on rows the filter keeps, so the shorter expression gives the same value on every one
of them; without it that rule's query exceeded Sentinel's 10,000-character limit (kqlkerb3).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, Callable, Optional

HOLE = "{by_event_id}"  # where ``around`` holds the rendered iff/case


@dataclass(frozen=True)
class Branch:
    """Rows whose event id is one of ``ids`` (and, when given, satisfy ``when``) have ``value``;
    a branch without ids is tested by ``when`` alone, on every event id."""

    ids: tuple[int, ...]
    when: str
    value: str


@dataclass(frozen=True)
class PerEventId:
    """A field's branches, the value of rows no branch holds for (``otherwise``), and the expression
    the iff/case sits in (``around``, with :data:`HOLE`; "" for none). ``column`` is the table's
    event id column (bound when the table is loaded: the event.code column)."""

    branches: tuple[Branch, ...]
    otherwise: str
    around: str = ""
    column: str = ""

    def render(self, ids: Optional[frozenset[int]] = None) -> str:
        """The Kusto expression; with ``ids``, for rows of those event ids only: an id branch keeps
        the ids listed in both (in its own order) and is left out when none is; branches without
        ids stay. A branch declared with one id is tested with ``==``, one with several with ``in``.
        No branch left: ``otherwise``, the value of every row then."""
        parts: list[str] = []
        for b in self.branches:
            if b.ids:
                kept = [i for i in b.ids if ids is None or i in ids]
                if not kept:
                    continue
                test = f"{self.column} == {kept[0]}" if len(b.ids) == 1 else \
                    f"{self.column} in ({', '.join(str(i) for i in kept)})"
                parts.append(f"{test} and {b.when}" if b.when else test)
            else:
                parts.append(b.when)
            parts.append(b.value)
        if not parts:
            body = self.otherwise
        else:
            body = f"{'iff' if len(self.branches) == 1 else 'case'}({', '.join([*parts, self.otherwise])})"
        return self.around.replace(HOLE, body) if self.around else body

    def mapped(self, fn: Callable[[str], str]) -> "PerEventId":
        """The branches with ``fn`` applied to every Kusto text ({EventData:N} expanded)."""
        return dataclasses.replace(
            self, branches=tuple(Branch(b.ids, fn(b.when), fn(b.value)) for b in self.branches),
            otherwise=fn(self.otherwise), around=fn(self.around))


def parse(field: str, spec: Any, otherwise: Any, around: Any) -> PerEventId:
    """The ``by_event_id`` entry of ``field`` (a list of {ids, when, value}), with its ``otherwise``
    and ``around`` keys; a malformed entry is a ValueError naming the field."""
    if not isinstance(spec, list) or not spec or otherwise is None:
        raise ValueError(f"by_event_id of {field!r} must list branches and come with `otherwise`")
    branches = []
    for b in spec:
        if not isinstance(b, dict) or "value" not in b or not (b.get("ids") or b.get("when")) \
                or set(b) - {"ids", "when", "value"}:
            raise ValueError(f"a by_event_id branch of {field!r} has `value` and `ids`, `when` or both: {b!r}")
        ids = tuple(int(i) for i in b.get("ids") or ())
        branches.append(Branch(ids, str(b.get("when") or ""), str(b["value"])))
    if around and HOLE not in str(around):
        raise ValueError(f"`around` of {field!r} must hold {HOLE}")
    return PerEventId(tuple(branches), str(otherwise), str(around or ""))
