"""Broader translations: drop, soundly, the conditions a target cannot express.

A target that cannot translate one atom (a field it does not record, a value it cannot spell)
raises :class:`~eqlc.result.Refused` naming that atom (``node``). With ``broader=True`` the
compiler then replaces the atom in the IR by the constant that can only *widen* the selection:

* ``true`` under an even number of negations, ``false`` under an odd one. EQL conditions are
  three-valued (a missing field makes a comparison null); ``and``/``or`` are monotone and ``not``
  antitone in the order false < null < true, so raising an atom to ``true`` where it counts
  positively (``false`` where it counts negatively) can only raise the condition: every event
  the rule selected is still selected.
* The condition of a sequence's ``until`` term and of a missing-event term ``![...]`` counts
  negatively (an event matching it *removes* a sequence), so its polarity starts odd.
* A join key the target cannot express is dropped at its position from every term (fewer keys
  join more events), but only in a sequence with no ``until`` and no missing-event term, where a
  looser join could also cancel more sequences. ``maxspan`` is kept.
* A query with pipes (``head``/``tail``) is never widened: a window over more events is not a
  superset of the window over fewer.

The rule is compiled again, until the target accepts it or the refusal is not about one atom
(then the original refusal stands). A widened rule must keep a *selective* condition
(:func:`selective_conditions`), else it is refused: a translation that fires on every event of its
table or log source is noise, not a detection.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, Callable, Iterator, Optional, Union

from . import ir
from .fixtures.atoms import field_refs
from .printer import expr as print_expr

# Fields that say which log, table or product an event comes from, or which kind of record it is
# (what a target's table or log source already implies), not what happened: an atom on these
# alone selects nothing inside its source. ``event.action`` belongs here because the process,
# file and network rules of the corpus test it for the record kind ("exec", "start",
# "creation"), which a target's table (DeviceProcessEvents, process_events) already is.
SOURCE_FIELDS = frozenset({
    "event.category", "event.type", "event.kind", "event.module", "event.dataset", "event.action",
    "event.provider", "event.agent_id_status", "ecs.version",
})
SOURCE_PREFIXES = ("data_stream.", "host.os.", "agent.")

MAX_ROUNDS = 64  # each round removes at least one atom; a bound against a target that loops


@dataclass(frozen=True)
class Dropped:
    """One condition a broader translation does not test.

    ``condition`` is the EQL text of the constraint removed (for an atom under a negation, the
    negated atom: the exclusion that no longer applies); ``replaced_by`` says how (``true``,
    ``false`` or ``join key``); ``reason`` is the target's refusal that made it necessary."""

    condition: str
    replaced_by: str
    reason: str

    @property
    def text(self) -> str:
        what = f"join key {self.condition[3:]}" if self.replaced_by == "join key" else self.condition
        return f"{what} (because: {self.reason})"

    def as_dict(self) -> dict:
        return {"condition": self.condition, "replaced_by": self.replaced_by, "reason": self.reason}


def _contains(e: Any, node: Any, same: Callable[[Any, Any], bool]) -> bool:
    if same(e, node):
        return True
    if dataclasses.is_dataclass(e) and not isinstance(e, type):
        for f in dataclasses.fields(e):
            v = getattr(e, f.name)
            if isinstance(v, tuple):
                if any(_contains(x, node, same) for x in v):
                    return True
            elif dataclasses.is_dataclass(v) and _contains(v, node, same):
                return True
    return False


def _identical(a: Any, b: Any) -> bool:
    return a is b


def _equal(a: Any, b: Any) -> bool:
    """Same meaning and, when both have one, the same source span (a target may rebuild a node)."""
    if type(a) is not type(b) or a != b:
        return False
    sa, sb = getattr(a, "span", ir.NO_SPAN), getattr(b, "span", ir.NO_SPAN)
    return sa == sb or ir.NO_SPAN in (sa, sb)


def simplify(e: ir.Expr) -> ir.Expr:
    """Fold the boolean constants left by widening (``x and true`` is ``x``, ``not false`` is ``true``)."""
    if isinstance(e, ir.Not):
        inner = simplify(e.expr)
        if isinstance(inner, ir.Boolean):
            return ir.Boolean(not inner.value, span=e.span)
        return e if inner is e.expr else ir.Not(inner, span=e.span)
    if isinstance(e, (ir.And, ir.Or)):
        absorbing = isinstance(e, ir.Or)  # true absorbs an or, false an and
        terms = []
        for t in (simplify(t) for t in e.terms):
            if isinstance(t, ir.Boolean):
                if t.value is absorbing:
                    return ir.Boolean(absorbing, span=e.span)
                continue
            terms.append(t)
        if not terms:
            return ir.Boolean(not absorbing, span=e.span)
        if len(terms) == 1:
            return terms[0]
        if len(terms) == len(e.terms) and all(a is b for a, b in zip(terms, e.terms)):
            return e
        return type(e)(tuple(terms), span=e.span)
    return e


class _Widen:
    def __init__(self, node: Any, same: Callable[[Any, Any], bool], reason: str) -> None:
        self.node, self.same, self.reason = node, same, reason
        self.dropped: list[Dropped] = []

    def cond(self, e: ir.Expr, negated: bool) -> ir.Expr:
        if isinstance(e, (ir.And, ir.Or)):
            terms = tuple(self.cond(t, negated) for t in e.terms)
            return e if all(a is b for a, b in zip(terms, e.terms)) else type(e)(terms, span=e.span)
        if isinstance(e, ir.Not):
            inner = self.cond(e.expr, not negated)
            return e if inner is e.expr else ir.Not(inner, span=e.span)
        if isinstance(e, ir.Boolean) or not _contains(e, self.node, self.same):
            return e
        shown = ir.Not(e) if negated else e
        self.dropped.append(Dropped(print_expr(shown), "false" if negated else "true", self.reason))
        return ir.Boolean(not negated, span=e.span)

    def event(self, q: ir.EventQuery, negated: bool) -> ir.EventQuery:
        c = self.cond(q.condition, negated)
        return q if c is q.condition else dataclasses.replace(q, condition=simplify(c))

    def term(self, t: ir.SequenceTerm, negated: bool) -> ir.SequenceTerm:
        q = self.event(t.query, negated != t.missing)
        return t if q is t.query else dataclasses.replace(t, query=q)


def _key_hit(keys: tuple, node: Any, same: Callable[[Any, Any], bool]) -> Optional[int]:
    return next((i for i, k in enumerate(keys) if _contains(k, node, same)), None)


def _drop_key(body: Union[ir.Sequence, ir.Sample], node: Any, same: Callable[[Any, Any], bool],
              reason: str) -> Optional[tuple[Union[ir.Sequence, ir.Sample], Dropped]]:
    """``body`` without the join key that holds ``node``, at its position in every term; None if
    no key holds it, or if dropping one could cancel more sequences (``until``, ``![...]``)."""
    i = _key_hit(body.by, node, same)
    if i is not None:
        shown = print_expr(body.by[i])
        cut = lambda keys: keys[:i] + keys[i + 1:]  # noqa: E731
        new = dataclasses.replace(body, by=cut(body.by))
    else:
        j = next((j for j in (_key_hit(t.by, node, same) for t in _terms(body)) if j is not None), None)
        if j is None:
            return None
        if any(len(t.by) <= j for t in _terms(body)):
            return None
        shown = ", ".join(dict.fromkeys(print_expr(t.by[j]) for t in body.terms))
        cut = lambda keys: keys[:j] + keys[j + 1:]  # noqa: E731
        terms = tuple(dataclasses.replace(t, by=cut(t.by)) for t in body.terms)
        new = dataclasses.replace(body, terms=terms)
        if isinstance(body, ir.Sequence) and body.until is not None:
            new = dataclasses.replace(new, until=dataclasses.replace(body.until, by=cut(body.until.by)))
    if isinstance(body, ir.Sequence) and (body.until is not None or any(t.missing for t in body.terms)):
        return None
    return new, Dropped(f"by {shown}", "join key", reason)


def _terms(body: Union[ir.Sequence, ir.Sample]) -> tuple[ir.SequenceTerm, ...]:
    if isinstance(body, ir.Sequence) and body.until is not None:
        return body.terms + (body.until,)
    return body.terms


def widen(query: ir.Query, node: Any, reason: str) -> Optional[tuple[ir.Query, list[Dropped]]]:
    """``query`` with every atom holding ``node`` replaced by its widening constant (or the join
    key holding it dropped), and what was dropped; None when nothing can be widened soundly."""
    if node is None or query.pipes:
        return None
    for same in (_identical, _equal):  # the node itself, else a copy a target rebuilt
        w = _Widen(node, same, reason)
        body = query.body
        if isinstance(body, ir.EventQuery):
            new_body: ir.Body = w.event(body, False)
        else:
            keyed = _drop_key(body, node, same, reason)
            if keyed is not None:
                return dataclasses.replace(query, body=keyed[0]), [keyed[1]]
            if _key_hit(body.by, node, same) is not None or any(
                    _key_hit(t.by, node, same) is not None for t in _terms(body)):
                return None  # a join key that cannot be dropped soundly
            terms = tuple(w.term(t, False) for t in body.terms)
            new_body = dataclasses.replace(body, terms=terms)
            if isinstance(body, ir.Sequence) and body.until is not None:
                new_body = dataclasses.replace(new_body, until=w.term(body.until, True))
        if w.dropped:
            return dataclasses.replace(query, body=new_body), w.dropped
    return None


def _positive_conditions(query: ir.Query) -> Iterator[ir.Expr]:
    body = query.body
    if isinstance(body, ir.EventQuery):
        yield body.condition
    else:
        yield from (t.query.condition for t in body.terms if not t.missing)


def _atoms(e: ir.Expr) -> Iterator[ir.Expr]:
    if isinstance(e, (ir.And, ir.Or)):
        for t in e.terms:
            yield from _atoms(t)
    elif isinstance(e, ir.Not):
        yield from _atoms(e.expr)
    elif not isinstance(e, ir.Boolean):
        yield e


def is_source_field(name: str) -> bool:
    return name in SOURCE_FIELDS or name.startswith(SOURCE_PREFIXES)


def selective_conditions(query: ir.Query) -> list[str]:
    """The atoms left in the query's matching terms that can tell two events of the same table or
    log source apart: atoms reading at least one field that is not a source field
    (:data:`SOURCE_FIELDS`: the category, type, kind, action, dataset, OS or agent of the event).
    The conditions of ``until`` and missing-event terms do not count (they only cancel matches).
    Empty when the query would select every event of its source."""
    out = []
    for cond in _positive_conditions(query):
        for atom in _atoms(cond):
            names = [f.name for f in field_refs(atom)]
            if any(not is_source_field(n) for n in names):
                out.append(print_expr(atom))
    return out


def broader_description(rule_description: str, dropped: list[Dropped]) -> str:
    """The description every deployable of a broader rule carries (first, so that a target
    truncating long descriptions keeps it): why an alert may be noise."""
    lines = ["BROADER TRANSLATION (eqlc): fires on every event the Elastic rule fires on, and may fire on more; "
             "these conditions are not tested: " + "; ".join(d.text for d in dropped) + "."]
    if rule_description:
        lines.append(rule_description)
    return "\n\n".join(lines)


def compile_broader(rule: Any, refused: Any, compile_once: Callable[[Any], Any]) -> Any:
    """Widen ``rule`` and compile it again (``compile_once``) until the target accepts it.

    Returns a ``broader`` translation (with :attr:`~eqlc.result.Translation.dropped`), or a
    refusal: ``refused`` itself when nothing can be widened soundly, or a refusal naming the
    dropped conditions when what is left selects nothing within the source."""
    from .result import Status, Translation

    query, dropped, t = rule.query, [], refused
    for _ in range(MAX_ROUNDS):
        if t.status is not Status.REFUSED:
            break
        step = widen(query, t.refusal_node, t.notes[0] if t.notes else "refused")
        if step is None:
            break
        query, more = step
        dropped.extend(more)
        widened = dataclasses.replace(rule, query=query, description=broader_description(rule.description, dropped))
        t = compile_once(widened)
    if t.status is Status.REFUSED:
        if t is not refused and t.notes:  # say what stopped the widening, after the original reason
            refused.notes.append(f"broader: after dropping {'; '.join(d.condition for d in dropped)}, "
                                 f"still refused: {t.notes[0]}")
        return refused
    if not selective_conditions(query):
        return Translation.refused(
            t.target,
            "broader: nothing selective is left once the conditions the target cannot express are dropped "
            f"({'; '.join(d.condition for d in dropped)}): only the event's category, type, action, dataset, "
            "OS or agent would be tested, so it would fire on every event of its source. "
            f"First refusal: {refused.notes[0] if refused.notes else ''}",
            profile=t.profile)
    t.status = Status.BROADER
    t.dropped = dropped
    t.widened_rule = widened
    return t
