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
passes find the successes, passes over the reversed stream find the partners.

Join keys. Elasticsearch compares the terms' keys *positionally* (``[file] by file.path`` joins
``[process] by process.executable``), needs every key of a term to have a value, and makes one
candidate per value of a multivalued key (the cartesian product across keys, PR #89965): so an
event stands, for stage i, in every key tuple of K_i = values(f_i1) x ... x values(f_iP), and in
no other. The search makes that explicit before the replay:

* ``eqlc_h<i>`` is 1 iff the event meets term i's condition and has every key field of term i;
* per key position p, ``eqlc_k<p>`` collects the distinct values (``mvdedup``) of the position's
  fields of the terms the event meets (appended step by step, so ``mvappend`` never sees a null);
* ``mvexpand`` per position yields one result per tuple of V_1 x ... x V_P ("one event for each
  value in the multivalue field", applied per position: the cartesian product); a result keeps
  ``eqlc_h<i>`` only if its tuple is in K_i, i.e. each ``eqlc_k<p>`` is a value of f_ip, tested as
  ``mvcount(mvdedup(mvappend(f, k))) = mvcount(mvdedup(f))`` (adding k adds no new value). Results
  in no K_i are dropped. That is exactly one result per (event, candidate key) with the stages the
  event can fill under that key, so the replay ``by eqlc_k1 ... eqlc_kP`` sees what Elasticsearch's
  per-key state machine sees; an event's results share its ``eqlc_pos``, and the final ``dedup
  eqlc_pos`` returns each matching event once.

Not translated: ``until``, missing events ``![...]``, optional join keys (a missing value would need
a null key distinct from every string), keys that are not plain fields.
"""

from __future__ import annotations

from typing import Optional

from eqlc import ir
from eqlc.result import Notes, Refused
from eqlc.rule import Rule
from eqlc.sequence_keys import with_copied_key_constraints

from . import literals as L
from .conditions import ConditionBuilder
from .emitter import build_conds, eval_lines, first_dataset, fold_note
from .profile import ANY, Dataset, Profile

TIES_NOTE = ("events with equal timestamps are ordered as Splunk's sort returns them; Elasticsearch orders them by its "
             "tiebreaker (_shard_doc), so sequences whose events share a timestamp may pair differently")
MVEXPAND_NOTE = ("mvexpand (one result per join-key value) keeps each expanded chunk of results in memory, up to "
                 "limits.conf max_mem_usage_mb (500 MB by default); beyond it Splunk truncates the chunk with a warning "
                 "and sequences in the dropped results would be missed")


def _expand(seq: ir.Sequence) -> list[ir.SequenceTerm]:
    terms: list[ir.SequenceTerm] = []
    for t in seq.terms:
        if t.missing:
            raise Refused("missing-event terms ![...] are not translated: Elasticsearch checks them with separate time-window queries that have no exact streamstats form")
        terms.extend([t] * t.runs)
    return terms


def _datasets(rule: Rule, terms: list[ir.SequenceTerm], profile: Profile) -> list[Optional[Dataset]]:
    """The dataset each term reads (None in the ecs profile)."""
    if profile.is_ecs:
        return [None] * len(terms)
    chosen: dict = {}
    out = []
    for t in terms:
        if id(t) not in chosen:
            chosen[id(t)] = first_dataset(t.query, profile, lambda ds, q=t.query: (build_conds(rule, q, profile, ds), ds)[1])
        out.append(chosen[id(t)])
    _refuse_terms_read_as_each_other(rule, terms, out, profile)
    return out


def _refuse_terms_read_as_each_other(rule: Rule, terms: list[ir.SequenceTerm], datasets: list[Optional[Dataset]],
                                     profile: Profile) -> None:
    """Refuse a sequence whose matches can never be inside the stated assumptions.

    A raw profile tells datasets apart by the event category only: an ECS event of a category two
    datasets serve (a process start and a Sysmon image load are both ``process`` events) is read as
    a row of each, and each dataset's stated facts (``event.type`` change for every image load) are
    checked on it. When one term's condition can never hold on another term's dataset (a
    ``event.type == "start"`` step against the image-load facts), every event of that term breaks
    that dataset's facts, so every match has an event outside the assumptions: the translation
    would be proven on nothing (an assumption every positive breaks is a refusal)."""
    from .emitter import NeverTrue

    for i, (t, di) in enumerate(zip(terms, datasets)):
        cat = t.query.category
        if di is None or cat is None:
            continue  # an `any` step's events need not be of a category the other dataset serves
        for j, dj in enumerate(datasets):
            if dj is None or dj is di or not (cat in dj.categories or ANY in dj.categories):
                continue
            try:
                build_conds(rule, t.query, profile, dj)
            except NeverTrue as why:
                raise Refused(
                    f"sequence step {i + 1} reads the {di.label} dataset and step {j + 1} the {dj.label} dataset, which "
                    f"the {profile.name} profile cannot keep apart: both hold {cat} events, so an event of step {i + 1} "
                    f"is read as a {dj.label} row too and must meet that dataset's stated facts, and step {i + 1}'s "
                    f"condition never holds there ({why.reason}); no match could be "
                    f"inside the stated assumptions") from None
            except Refused:
                continue


def _key_fields(seq: ir.Sequence, terms: list[ir.SequenceTerm], profile: Profile,
                datasets: list[Optional[Dataset]]) -> list[list[str]]:
    """Per expanded term, the Splunk field of each join-key position."""
    out: list[list[str]] = []
    width = None
    for t, ds in zip(terms, datasets):
        names = []
        b = ConditionBuilder(profile, t.query.category, ds)
        for k in seq.keys(t):
            if not isinstance(k, ir.Field):
                raise Refused("a join key that is not a plain field is not translated", k)
            if k.optional:
                raise Refused(f"optional join key ?{k.name}: Elasticsearch joins missing values as null, which needs a null key "
                              "distinct from every string value; not translated", k)
            if k.has_index:
                raise Refused(f"join key {k.name} uses an array index", k)
            names.append(b.field_name(k))
        if width is not None and len(names) != width:
            raise Refused("sequence terms have different numbers of join keys", seq)
        width = len(names)
        out.append(names)
    return out


def _membership(ds: Optional[Dataset], b: ConditionBuilder) -> list[str]:
    """Where-conditions saying that an event belongs to a raw dataset (its constant fields)."""
    if ds is None or not ds.constants:
        return []
    return [b.equal_strings(k, list(vs)).where for k, vs in ds.constants.items()]


def _term_conditions(rule: Rule, terms: list[ir.SequenceTerm], profile: Profile, notes: Notes,
                     datasets: list[Optional[Dataset]]) -> tuple[list[str], list[str], dict, list[str]]:
    conds: list[str] = []
    prefilters: list[str] = []
    evals: dict = {}
    mapping_notes: list[str] = []
    fold: set[str] = set()
    for t, ds in zip(terms, datasets):
        q = t.query
        built, b = build_conds(rule, q, profile, ds)
        for c in built:
            for note in c.notes:
                notes.assume(note)
        mapping_notes.extend(b.notes)
        evals.update(b.evals)
        member = _membership(ds, b)
        conds.append(" AND ".join(member + [c.where if c.atomic_where else f"({c.where})" for c in built]) or "true()")
        pre = []
        for c in built:
            text = c.search if c.search is not None else c.prefilter
            if text and "NOT " not in text:
                pre.append(text if c.atomic_search else f"({text})")
                fold |= set(c.search_ci_fields)
        if ds is not None and profile.is_raw:
            from .profile import constant_terms

            pre = constant_terms(ds) + pre
        prefilters.append(" ".join(pre))
    if fold:
        notes.assume(fold_note(fold))
    return conds, prefilters, evals, mapping_notes


def _merged(notes: list) -> list:
    """The terms' notes, one per text: terms stating the same assumption about different events (a
    category note holds each term's own condition) get one note whose check is any of theirs."""
    from .assumptions import CheckedNote

    by_text: dict = {}
    for n in notes:
        by_text.setdefault(str(n), []).append(n)
    out = []
    for text, group in by_text.items():
        checks = [c for c in (getattr(n, "violated", None) for n in group) if c is not None]
        if len(checks) > 1:
            out.append(CheckedNote(text, lambda event, cs=tuple(checks): any(c(event) for c in cs)))
        else:
            out.append(group[0])
    return out


def _hit_flags(conds: list[str], keys: list[list[str]]) -> str:
    """``eqlc_h<i>``: term i's condition (a conjunction of atomic or parenthesised parts, so no
    top-level OR) and a value in each of its key fields (Elasticsearch needs non-null keys)."""
    parts = []
    for i, (c, names) in enumerate(zip(conds, keys), 1):
        tests = ([] if c == "true()" else [c]) + [f"isnotnull({L.field_ref(f)})" for f in dict.fromkeys(names)]
        parts.append(f"eqlc_h{i}=if({' AND '.join(tests) or 'true()'}, 1, 0)")
    return "| eval " + ", ".join(parts)


def _any_hit(n: int) -> str:
    return " OR ".join(f"eqlc_h{i}=1" for i in range(1, n + 1))


def _key_lines(keys: list[list[str]], n: int) -> tuple[list[str], list[str]]:
    """Commands that build eqlc_k<p> per position, expand them, and keep each result's stages."""
    width = len(keys[0])
    lines: list[str] = []
    member: dict[int, list[str]] = {}
    for p in range(width):
        var = f"eqlc_k{p + 1}"
        fields = list(dict.fromkeys(names[p] for names in keys))
        if len(fields) == 1:
            lines.append(f"| eval {var}=mvdedup({L.field_ref(fields[0])})")
            continue
        for j, f in enumerate(fields):
            users = " OR ".join(f"eqlc_h{i}=1" for i in range(1, n + 1) if keys[i - 1][p] == f)
            ref = L.field_ref(f)
            if j == 0:
                lines.append(f"| eval {var}=if({users}, {ref}, null())")
            else:
                lines.append(f"| eval {var}=if({users}, if(isnull({var}), {ref}, mvappend({var}, {ref})), {var})")
        lines.append(f"| eval {var}=mvdedup({var})")
        for i in range(1, n + 1):
            ref = L.field_ref(keys[i - 1][p])
            member.setdefault(i, []).append(f"mvcount(mvdedup(mvappend({ref}, {var})))=mvcount(mvdedup({ref}))")
    lines += [f"| mvexpand eqlc_k{p + 1}" for p in range(width)]
    if member:
        lines.append("| eval " + ", ".join(
            f"eqlc_h{i}=if(eqlc_h{i}=1 AND {' AND '.join(tests)}, 1, 0)" for i, tests in sorted(member.items())))
        lines.append(f"| where {_any_hit(n)}")
    return lines, [f"eqlc_k{p + 1}" for p in range(width)]


def _differing_positions(seq: ir.Sequence, terms: list[ir.SequenceTerm]) -> list[list[str]]:
    width = len(seq.keys(terms[0]))
    out = []
    for p in range(width):
        names = list(dict.fromkeys(seq.keys(t)[p].name for t in terms))
        if len(names) > 1:
            out.append(names)
    return out


def sequence_query(rule: Rule, seq: ir.Sequence, profile: Profile, notes: Notes) -> str:
    if seq.until is not None:
        raise Refused("sequence ... until [...] is not translated: until events cancel pending sequences between stages, which the streamstats form does not model")
    # Elasticsearch's PropagateJoinKeyConstraints: a step's conjunct that reads a join key and another
    # field is copied to the other steps (eqlc.sequence_keys); the streamstats form reads each step's
    # condition, so it translates the copied sequence
    seq = with_copied_key_constraints(seq)
    terms = _expand(seq)
    datasets = _datasets(rule, terms, profile)
    if profile.is_datamodel and len({d.label for d in datasets if d is not None}) > 1:
        raise Refused("a sequence across data model datasets (" + ", ".join(dict.fromkeys(d.label for d in datasets if d))
                      + ") needs one search over several datasets, which the datamodel command does not make; not translated", seq)
    keys = _key_fields(seq, terms, profile, datasets)
    n = len(terms)
    span = seq.maxspan.millis if seq.maxspan else None
    conds, prefilters, evals, mapping_notes = _term_conditions(rule, terms, profile, notes, datasets)
    for note in _merged(mapping_notes):
        notes.assume(note)
    notes.assume(TIES_NOTE)
    keyed = bool(keys[0])
    if keyed:
        notes.assume(MVEXPAND_NOTE)
    for names in _differing_positions(seq, terms):
        notes.assume(f"join keys {', '.join(names)} (one key position) compare as text in Splunk; Elasticsearch also compares "
                     "their types (a number never joins a string), which agree when the fields hold values of one ECS type")

    uniq = list(dict.fromkeys(prefilters))
    pre = (uniq[0] if len(uniq) == 1 else "(" + ") OR (".join(uniq) + ")") if all(prefilters) else ""
    if profile.is_datamodel:
        head_lines = [profile.dataset_scope(datasets[0])] + ([f"| search {pre}"] if pre else [])
    else:
        head_lines = [" ".join(x for x in [profile.scope_terms(rule.index), pre] if x)]
    head_lines += eval_lines(evals)
    span_text = f"with maxspan={seq.maxspan.value}{seq.maxspan.unit}" if seq.maxspan else "without maxspan"
    key_text = "by " + "; ".join(", ".join(names) for names in dict.fromkeys(tuple(k) for k in keys)) if keyed else "without join keys"
    lines = [
        f"```eqlc: EQL sequence of {n} stage(s) {key_text} {span_text}. Replays Elasticsearch's matcher: one result per "
        "event and candidate join key (positional keys, one candidate per value: mvexpand), then per key a stage-k event "
        "completes the latest pending stage-(k-1) sequence before it unless another stage-k event came in between (which "
        "consumed it) or the span from the sequence's first event exceeds maxspan; forward streamstats passes find "
        "completed stages, reversed passes find each completing event's partner. transaction is not used: its grouping "
        "and eviction rules differ.```",
        *head_lines,
        _hit_flags(conds, keys),
        f"| where {_any_hit(n)}",
        "| sort 0 _time",
        "| streamstats count AS eqlc_pos",
    ]
    by_fields: list[str] = []
    if keyed:
        key_lines, by_fields = _key_lines(keys, n)
        lines += key_lines
    by = (" by " + " ".join(by_fields)) if by_fields else ""
    lines += [
        "| eval eqlc_ms=round(_time*1000)",
        "| eval eqlc_s1=if(eqlc_h1=1, eqlc_pos, null()), eqlc_t1=if(eqlc_h1=1, eqlc_ms, null())",
    ]
    for k in range(2, n + 1):
        within = f" AND eqlc_ms-eqlc_pt{k}<={span}" if span is not None else ""
        lines += [
            f"| eval eqlc_hp{k}=if(eqlc_h{k}=1, eqlc_pos, null())",
            f"| streamstats current=f max(eqlc_s{k - 1}) AS eqlc_ps{k} max(eqlc_t{k - 1}) AS eqlc_pt{k} max(eqlc_hp{k}) AS eqlc_lh{k}{by}",
            f"| eval eqlc_ok{k}=if(eqlc_h{k}=1 AND isnotnull(eqlc_ps{k}) AND (isnull(eqlc_lh{k}) OR eqlc_lh{k}<=eqlc_ps{k}){within}, 1, 0)",
            f"| eval eqlc_s{k}=if(eqlc_ok{k}=1, eqlc_pos, null()), eqlc_t{k}=if(eqlc_ok{k}=1, eqlc_pt{k}, null())",
        ]
    lines.append(f"| eval eqlc_pp{n}=eqlc_s{n}")
    lines.append("| reverse")
    for k in range(n - 1, 0, -1):
        lines += [
            f"| streamstats current=f min(eqlc_hp{k + 1}) AS eqlc_nh{k} min(eqlc_pp{k + 1}) AS eqlc_np{k} min(eqlc_s{k}) AS eqlc_ns{k}{by}",
            f"| eval eqlc_pp{k}=if(isnotnull(eqlc_s{k}) AND isnotnull(eqlc_nh{k}) AND isnotnull(eqlc_np{k}) AND eqlc_np{k}=eqlc_nh{k} "
            f"AND (isnull(eqlc_ns{k}) OR eqlc_ns{k}>=eqlc_nh{k}), eqlc_pos, null())",
        ]
    lines.append("| where " + " OR ".join(f"isnotnull(eqlc_pp{k})" for k in range(1, n + 1)))
    lines.append("| reverse")
    if keyed:
        lines.append("| dedup eqlc_pos")
    return "\n".join(lines)
