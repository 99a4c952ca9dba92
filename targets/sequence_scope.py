"""Which events a broken assumption reaches in a sequence: those sharing a join key with it.

A target's ``outside_assumptions`` check finds the events that break a stated assumption. In a
single-event query only those can be selected differently. In a sequence, Elasticsearch pairs
events only within one join key, so an event breaking an assumption can change whether the
other events of its key are in a match, and nothing beyond them. :func:`spread_over_join_keys`
extends a per-event verdict to those events (keys compared as text, the coarsest way a target
compares them: a wider key group only excuses more of the same group, never another group).
A sequence without join keys is one group: every event is reached.
"""

from __future__ import annotations

from typing import Iterable

from eqlc import ir
from eqlc.events import split_path, values


def _key_tuples(body, event: dict) -> set:
    """Every join-key tuple ``event`` could take in any term (of a Sequence or Sample)."""
    out: set = set()
    until = getattr(body, "until", None)
    for term in list(body.terms) + ([until] if until is not None else []):
        per_position = []
        for k in body.keys(term):
            if not isinstance(k, ir.Field):
                return {()}  # a computed key: be conservative, one group
            vals = [str(v) for v in values(event, split_path(k.name))]
            per_position.append(vals or ([None] if k.optional else []))
        if all(per_position):
            combos: list[tuple] = [()]
            for vals in per_position:
                combos = [c + (v,) for c in combos for v in vals]
            out.update(combos)
    return out


def spread_over_join_keys(query: ir.Query, outside: dict[str, str], events: Iterable[dict]) -> dict[str, str]:
    """``outside`` (``_id`` -> broken assumption) plus, for a sequence or sample, every event
    sharing a join key with one of them (reason: which event it shares the key with)."""
    body = query.body
    if not outside or not isinstance(body, (ir.Sequence, ir.Sample)):
        return dict(outside)
    events = list(events)
    out = dict(outside)
    tainted: dict = {}
    for e in events:
        i = str(e.get("_id"))
        if i in outside:
            for k in _key_tuples(body, e):
                tainted.setdefault(k, (i, outside[i]))
    for e in events:
        i = str(e.get("_id"))
        if i in out:
            continue
        for k in _key_tuples(body, e):
            if k in tainted:
                src, why = tainted[k]
                out[i] = f"shares a join key with {src}, which breaks: {why}"
                break
    return out
