"""EQL sequences -> ``streamstats`` passes that replay Elasticsearch's sequence state machine.

Elasticsearch (shared/research/eql-semantics.md 7.2): events are ordered by timestamp; per join
key, a stage-k hit takes the *latest* pending sequence of stage k-1 whose last event is strictly
earlier and removes it together with every older one (``trimBefore``); the sequence is dropped if
the hit is more than ``maxspan`` after the sequence's first event (a span equal to maxspan
matches). So, per key, with positions in time order:

* a stage-1 hit always starts a pending sequence;
* a stage-k hit at position p (k > 1) succeeds iff the latest stage-(k-1) success L before p exists,
  no stage-k hit lies strictly between L and p (it would have consumed L), and
  ``time(p) - start(L) <= maxspan``; the new stage-k sequence keeps L's start time.
  (Later successes of a stage have later start times, so "latest" is a running ``max``.)
* an event takes part in a match iff it is a final-stage success, or a stage-k success whose next
  stage-(k+1) hit takes part and has no other stage-k success in between (that hit's partner).

``transaction`` cannot express this (it groups by field values with its own start/end and
eviction rules), so each rule above is one ``streamstats current=f ... by <keys>`` pass: forward
passes find the successes, passes over the reversed stream find the partners. Not translated:
``until``, missing events ``![...]``, optional or multivalued join keys, and terms whose join keys
differ (an event would need to sit in two key groups at once).
"""

from __future__ import annotations

from compiler import ir
from compiler.result import Notes, Refused
from compiler.rule import Rule

from . import literals as L
from .conditions import ConditionBuilder
from .emitter import category_condition, dataset_terms, fold_note, top_conjuncts
from .profile import Profile


def _expand(seq: ir.Sequence) -> list[ir.SequenceTerm]:
    terms: list[ir.SequenceTerm] = []
    for t in seq.terms:
        if t.missing:
            raise Refused("missing-event terms ![...] are not translated: Elasticsearch checks them with separate time-window queries that have no exact streamstats form")
        terms.extend([t] * t.runs)
    return terms


def _keys(rule: Rule, seq: ir.Sequence, terms: list[ir.SequenceTerm], profile: Profile) -> list[str]:
    keysets = [seq.keys(t) for t in terms]
    first = keysets[0]
    for ks in keysets[1:]:
        if ks != first:
            raise Refused("sequence terms join on different fields; one event would have to sit in two key groups at once, which streamstats cannot do")
    names = []
    for k in first:
        if not isinstance(k, ir.Field):
            raise Refused("a join key that is not a plain field is not translated")
        if k.optional:
            raise Refused(f"optional join key ?{k.name}: Elasticsearch joins missing values as null, streamstats would drop them")
        if profile.is_array(k.name):
            raise Refused(f"join key {k.name} is multivalued; Elasticsearch joins on each value (a cartesian product), streamstats by a multivalue field is not documented")
        if k.has_index:
            raise Refused(f"join key {k.name} uses an array index")
        cats = {t.query.category for t in terms}
        names.append(profile.splunk_field(k.name, next(iter(cats)) if len(cats) == 1 else None))
    return names


def sequence_query(rule: Rule, seq: ir.Sequence, profile: Profile, notes: Notes) -> str:
    if seq.until is not None:
        raise Refused("sequence ... until [...] is not translated: until events cancel pending sequences between stages, which the streamstats form does not model")
    if profile.is_cim and len({t.query.category for t in seq.terms}) > 1:
        raise Refused("a cim sequence across several data models would need a multi-dataset search; not translated")
    terms = _expand(seq)
    keys = _keys(rule, seq, terms, profile)
    n = len(terms)
    span = seq.maxspan.millis if seq.maxspan else None

    conds = []
    prefilters: list[str] = []
    fold: set[str] = set()
    for t in terms:
        q = t.query
        b = ConditionBuilder(profile, q.category)
        parts = []
        cat = category_condition(rule, q.category, profile)
        if cat is not None:
            parts.append(cat)
        parts.extend(top_conjuncts(q.condition))
        built = [b.build(p) for p in parts]
        built = [c for c in built if c.where != "true()"]
        for c in built:
            for note in c.notes:
                notes.assume(note)
        for note in b.notes:
            notes.assume(note)
        where = " AND ".join(c.where if c.atomic_where else f"({c.where})" for c in built) or "true()"
        conds.append(where)
        pre = []
        for c in built:
            text = c.search if c.search is not None else c.prefilter
            if text and "NOT " not in text:
                pre.append(text if c.atomic_search else f"({text})")
                fold |= set(c.search_ci_fields)
        pre_ds = dataset_terms(profile, q.category)
        prefilters.append(" ".join(([pre_ds] if pre_ds else []) + pre))
    if fold:
        notes.assume(fold_note(fold))
    notes.assume("events with equal timestamps are ordered as Splunk's sort returns them; Elasticsearch orders them by its "
                 "tiebreaker (_shard_doc), so sequences whose events share a timestamp may pair differently")

    by = " ".join(keys)
    head = profile.scope_terms(rule.index)
    if all(prefilters) and len(set(prefilters)) >= 1:
        uniq = list(dict.fromkeys(prefilters))
        head += " " + (uniq[0] if len(uniq) == 1 else "(" + ") OR (".join(uniq) + ")")
    span_text = f"with maxspan={seq.maxspan.value}{seq.maxspan.unit}" if seq.maxspan else "without maxspan"
    lines = [
        f"```eqlc: EQL sequence of {n} stage(s) by {', '.join(keys)} {span_text}. Replays Elasticsearch's matcher: per key, "
        "a stage-k event completes the latest pending stage-(k-1) sequence before it unless another stage-k event came in "
        "between (which consumed it) or the span from the sequence's first event exceeds maxspan; forward streamstats "
        "passes find completed stages, reversed passes find each completing event's partner. transaction is not used: "
        "its grouping and eviction rules differ.```",
        head,
        "| eval " + ", ".join(f"eqlc_h{i}=if({c}, 1, 0)" for i, c in enumerate(conds, 1)),
        "| where (" + " OR ".join(f"eqlc_h{i}=1" for i in range(1, n + 1)) + ")"
        + "".join(f" AND isnotnull({L.field_ref(k)})" for k in keys),
        "| sort 0 _time",
        "| streamstats count AS eqlc_pos",
        "| eval eqlc_ms=round(_time*1000)",
        "| eval eqlc_s1=if(eqlc_h1=1, eqlc_pos, null()), eqlc_t1=if(eqlc_h1=1, eqlc_ms, null())",
    ]
    for k in range(2, n + 1):
        within = f" AND eqlc_ms-eqlc_pt{k}<={span}" if span is not None else ""
        lines += [
            f"| eval eqlc_hp{k}=if(eqlc_h{k}=1, eqlc_pos, null())",
            f"| streamstats current=f max(eqlc_s{k - 1}) AS eqlc_ps{k} max(eqlc_t{k - 1}) AS eqlc_pt{k} max(eqlc_hp{k}) AS eqlc_lh{k} by {by}",
            f"| eval eqlc_ok{k}=if(eqlc_h{k}=1 AND isnotnull(eqlc_ps{k}) AND (isnull(eqlc_lh{k}) OR eqlc_lh{k}<=eqlc_ps{k}){within}, 1, 0)",
            f"| eval eqlc_s{k}=if(eqlc_ok{k}=1, eqlc_pos, null()), eqlc_t{k}=if(eqlc_ok{k}=1, eqlc_pt{k}, null())",
        ]
    lines.append(f"| eval eqlc_pp{n}=eqlc_s{n}")
    lines.append("| reverse")
    for k in range(n - 1, 0, -1):
        lines += [
            f"| streamstats current=f min(eqlc_hp{k + 1}) AS eqlc_nh{k} min(eqlc_pp{k + 1}) AS eqlc_np{k} min(eqlc_s{k}) AS eqlc_ns{k} by {by}",
            f"| eval eqlc_pp{k}=if(isnotnull(eqlc_s{k}) AND isnotnull(eqlc_nh{k}) AND isnotnull(eqlc_np{k}) AND eqlc_np{k}=eqlc_nh{k} "
            f"AND (isnull(eqlc_ns{k}) OR eqlc_ns{k}>=eqlc_nh{k}), eqlc_pos, null())",
        ]
    lines.append("| where " + " OR ".join(f"isnotnull(eqlc_pp{k})" for k in range(1, n + 1)))
    lines.append("| reverse")
    return "\n".join(lines)
