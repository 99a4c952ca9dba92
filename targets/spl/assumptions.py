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


# ---- checks of the data model and add-on profiles (cim, windows) ----------------------------------
_LEAF_MATCHERS: dict = {}


def leaf_holds(leaf: ir.Expr, event: dict) -> bool:
    """Elasticsearch's truth of one leaf condition on ``event`` (the Python matcher, the reference
    semantics; a leaf with a missing field is false)."""
    m = _LEAF_MATCHERS.get(leaf)
    if m is None:
        from eqlc.matcher import matcher

        m = _LEAF_MATCHERS[leaf] = matcher(ir.Query(ir.EventQuery(None, leaf)))
    return bool(m.match(event))


def synthetic(ecs_field: str, value) -> dict:
    """An event holding only ``ecs_field`` = ``value`` (a list for several values)."""
    event: dict = {}
    *parents, leaf = split_path(ecs_field)
    node = event
    for p in parents:
        node = node.setdefault(p, {})
    node[leaf] = value
    return event


def fact_check(leaf: ir.Expr, decided: bool) -> Check:
    """The event breaks the fact when the leaf's truth on it is not the decided one."""
    return lambda event: leaf_holds(leaf, event) != decided


def filled_check(ecs_field: str) -> Check:
    """A data model calculated field fills a missing or empty value (and its expression, e.g.
    ``if(isnull(f) OR f="","unknown",f)``, is not documented for several values): the ECS field
    must hold exactly one non-empty value."""
    path = split_path(ecs_field)

    def violated(event: dict) -> bool:
        vals = values(event, path)
        return len(vals) != 1 or vals[0] == "" or isinstance(vals[0], (dict, list))

    return violated


def spelled_check(ecs_field: str, keys: Iterable[str]) -> Check:
    """A value map translates only the listed ECS spellings: every value of the ECS field must be
    one of ``keys`` (exactly, letter case included)."""
    path = split_path(ecs_field)
    keyset = set(keys)

    def violated(event: dict) -> bool:
        return any(not isinstance(v, str) or v not in keyset for v in values(event, path))

    return violated


def consistent_check(ecs_field: str, value_map: dict, sibling: str, sibling_map: Optional[dict] = None) -> Check:
    """``ecs_field`` (value-mapped) and ``sibling`` (written as it is, or through ``sibling_map``) fill
    the same Splunk field: when both are present, they must stand for a common Splunk value (a
    sibling written as it is: each of its values is one ``ecs_field``'s values stand for)."""
    path, spath = split_path(ecs_field), split_path(sibling)

    def violated(event: dict) -> bool:
        mine, theirs = values(event, path), values(event, spath)
        if not mine or not theirs:
            return False
        allowed = {x for v in mine if isinstance(v, str) for x in value_map.get(v, ())}
        if sibling_map is None:
            return any(str(t) not in allowed for t in theirs)
        other = {x for v in theirs if isinstance(v, str) for x in sibling_map.get(v, ())}
        return not allowed & other

    return violated


def segment_check(ecs_field: str, source_ecs: Optional[str], separator: str) -> Check:
    """``ecs_field`` is read as the part of another field after its last ``separator``: the ECS
    event must say the same (both missing, or one value each that agree)."""
    path = split_path(ecs_field)
    spath = split_path(source_ecs) if source_ecs else None

    def violated(event: dict) -> bool:
        mine = values(event, path)
        src = values(event, spath) if spath else []
        if len(mine) > 1 or len(src) > 1:
            return True
        if not src:
            return bool(mine)
        if not isinstance(src[0], str):
            return True
        return mine != [src[0].rsplit(separator, 1)[-1]]

    return violated


def argv_check(ecs_field: str, source: str, count: bool, leaves: Optional[list] = None) -> Check:
    """``process.args`` (or ``process.args_count``) read from a command line split on single
    spaces: the line must be the argument values joined by single spaces, none empty or holding a
    space (and the count their number).

    With ``leaves`` (the translation's conditions on the field; the list may grow while the rule
    is emitted), an event whose line is not that is outside only where one of them answers
    otherwise on the split line than on the field, by the reference matcher: a Windows branch's
    ``powershell  -File ...`` parent (two spaces) is no reason to doubt a ``process.parent.args``
    test of another branch that is false on both readings."""
    spath, fpath = split_path(source), split_path(ecs_field)

    def strict(event: dict) -> bool:
        lines = values(event, spath)
        if len(lines) > 1 or (lines and not isinstance(lines[0], str)):
            return True
        line = lines[0] if lines else ""
        words = line.split(" ") if line else []
        if count:
            if any(w == "" for w in words):
                return True
            have = values(event, fpath)
            return any(isinstance(v, bool) for v in have) or have != ([len(words)] if words else [])
        args = values(event, fpath)
        if not all(isinstance(a, str) and a and " " not in a for a in args):
            return True
        return line != " ".join(args)

    def violated(event: dict) -> bool:
        if not strict(event):
            return False
        lines = values(event, spath)
        if leaves is None or len(lines) > 1 or (lines and not isinstance(lines[0], str)):
            return True
        words = lines[0].split(" ") if lines and lines[0] else []
        read = _with_field(event, fpath, (len(words) if words else None) if count else (words or None))
        return any(_truth(c, event) != _truth(c, read) for leaf in leaves for c in (leaf, ir.Not(leaf)))

    return violated


_MATCHERS: dict = {}


def _truth(cond: ir.Expr, event: dict) -> bool:
    """Elasticsearch's truth of one condition on one event, by the reference matcher."""
    from eqlc.matcher import matcher

    m = _MATCHERS.get(repr(cond))
    if m is None:
        m = _MATCHERS[repr(cond)] = matcher(ir.Query(ir.EventQuery(None, cond)))
    return m.match(event)


def _with_field(event: dict, path: tuple, value) -> dict:
    """A copy of ``event`` whose field at ``path`` is ``value`` (left out for None)."""
    import copy

    out = copy.deepcopy(event)
    out.pop(".".join(map(str, path)), None)
    node = out
    for part in path[:-1]:
        nxt = node.get(part)
        if not isinstance(nxt, dict):
            nxt = node[part] = {}
        node = nxt
    if value is None:
        node.pop(path[-1], None)
    else:
        node[path[-1]] = value
    return out
