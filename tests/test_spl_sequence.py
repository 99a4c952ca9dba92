"""Sequences: the emitted streamstats SPL, run by the reference evaluator, against an independent
replay of Elasticsearch's sequence state machine (shared/research/eql-semantics.md 7.2)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from eqlc.parser import parse_query
from eqlc.result import Status
from eqlc.rule import Rule
from eqlc.targets.spl import TARGET, adapter, evaluator
from eqlc.targets.spl.profile import load_profile

T0 = datetime(2026, 11, 1, tzinfo=timezone.utc)

QUERIES = {
    2: 'sequence by host.id with maxspan=5s [process where process.name == "A"] [process where process.name == "B" or user.name == "B"]',
    3: ('sequence by host.id with maxspan=6s [process where process.name == "A" or user.name == "A"] '
        '[process where process.name == "B" or user.name == "B"] [process where process.name == "C"]'),
    "runs": 'sequence by host.id with maxspan=4s [process where process.name == "A"] with runs=2 [process where user.name == "B"]',
    "nospan": 'sequence by host.id [process where process.name == "A"] [process where user.name == "B"]',
}


def stages_of(query_key):
    a = lambda e: e.get("n") == "A"
    a_or = lambda e: e.get("n") == "A" or e.get("u") == "A"
    b = lambda e: e.get("n") == "B" or e.get("u") == "B"
    ub = lambda e: e.get("u") == "B"
    c = lambda e: e.get("n") == "C"
    return {2: ([a, b], 5000), 3: ([a_or, b, c], 6000), "runs": ([a, a, ub], 4000), "nospan": ([a, ub], None)}[query_key]


def reference(events, stages, maxspan_ms):
    """Elasticsearch: per key, one pending sequence per stage (a newer one overwrites); a stage-k hit
    takes the pending stage-(k-1) sequence (removing it) and keeps it if within maxspan."""
    matched: set[str] = set()
    pending: dict = {}
    n = len(stages)
    for e in events:
        if e.get("k") is None:
            continue
        slots = pending.setdefault(e["k"], [None] * n)
        for k in range(n, 0, -1):  # higher stages first: an event never completes its own new sequence
            if not stages[k - 1](e):
                continue
            if k == 1:
                slots[0] = (e["ms"], [e["id"]])
                continue
            prev = slots[k - 2]
            slots[k - 2] = None
            if prev is None or (maxspan_ms is not None and e["ms"] - prev[0] > maxspan_ms):
                continue
            seq = (prev[0], prev[1] + [e["id"]])
            if k == n:
                matched.update(seq[1])
            else:
                slots[k - 1] = seq
    return matched


def to_ecs(events):
    out = []
    for e in events:
        doc = {"_id": e["id"], "@timestamp": (T0 + timedelta(milliseconds=e["ms"])).isoformat().replace("+00:00", "Z"),
               "event": {"category": ["process"]}}
        if e.get("k") is not None:
            doc["host"] = {"id": e["k"]}
        if e.get("n"):
            doc["process"] = {"name": e["n"]}
        if e.get("u"):
            doc["user"] = {"name": e["u"]}
        out.append(doc)
    return out


EVENT = st.fixed_dictionaries({
    "k": st.sampled_from(["h1", "h2", None]),
    "n": st.sampled_from(["A", "B", "C", "x", None]),
    "u": st.sampled_from(["A", "B", "y", None]),
    "gap": st.sampled_from([0, 500, 1000, 2000, 3000, 4000, 6000]),
})


def build(raw):
    ms = 0
    events = []
    for i, r in enumerate(raw):
        ms += r["gap"] or 1  # strictly increasing: equal timestamps have no defined order
        events.append({"id": f"e{i:02d}", "ms": ms, "k": r["k"], "n": r["n"], "u": r["u"]})
    return events


@pytest.mark.parametrize("key", list(QUERIES))
@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(raw=st.lists(EVENT, min_size=0, max_size=14))
def test_streamstats_sequence_equals_elasticsearch_state_machine(key, raw):
    rule = Rule(query=parse_query(QUERIES[key]), query_text=QUERIES[key], name="seq")
    t = TARGET.compile(rule)
    assert t.status is not Status.REFUSED, t.notes
    events = build(raw)
    stages, span = stages_of(key)
    assert set(TARGET.execute(t, to_ecs(events))) == reference(events, stages, span)


def test_documented_sequence_example_shape():
    rule = Rule(query=parse_query(QUERIES[2]), query_text=QUERIES[2], name="seq")
    t = TARGET.compile(rule)
    assert t.output.startswith("```eqlc: EQL sequence of 2 stage(s) by host.id with maxspan=5s")
    names = [c.name for c in evaluator.parse(t.output).commands]
    assert "streamstats" in names and "transaction" not in t.output.split("```")[2]
    events = build([{"k": "h1", "n": "A", "u": None, "gap": 1000}, {"k": "h1", "n": None, "u": "B", "gap": 5000},
                    {"k": "h1", "n": "A", "u": None, "gap": 1000}, {"k": "h1", "n": "B", "u": None, "gap": 5001}])
    # span of exactly 5 s matches (e00, e01); 5.001 s does not (e02, e03)
    assert TARGET.execute(t, to_ecs(events)) == ["e00", "e01"]


@pytest.mark.parametrize("query,reason", [
    ('sequence by host.id [process where true] [file where true] until [process where true]', "until"),
    ('sequence by host.id with maxspan=5s [process where true] ![file where true]', "missing-event"),
    ('sequence by ?host.id [process where true] [file where true]', "optional join key"),
])
def test_untranslatable_sequences_are_refused_with_the_reason(query, reason):
    t = TARGET.compile(Rule(query=parse_query(query), query_text=query, name="seq"))
    assert t.status is Status.REFUSED and reason in t.notes[0]


# ---- join keys on different fields per term, and multivalued keys, against the Python matcher ----
from eqlc.matcher import matcher as eql_matcher  # noqa: E402  (the reference semantics; never skipped)

KEYED = {
    "positional": ('sequence by host.id with maxspan=5s [process where process.name != "x"] by process.entity_id '
                   '[network where true] by process.parent.entity_id'),
    "three": ('sequence by host.id [process where true] by process.entity_id [network where true] '
              'by process.parent.entity_id [process where user.name != "B"] by process.entity_id'),
    "multivalued": 'sequence by process.args with maxspan=4s [process where process.name == "A"] [process where process.name == "B"]',
    "no_shared": ('sequence with maxspan=6s [process where process.name == "A"] by process.entity_id '
                  '[network where true] by process.parent.entity_id'),
}

KEY_VALUES = st.sampled_from([None, "a", "b", ["a", "b"], ["b", "b"], []])


def keyed_events(raw):
    out = []
    ms = 0
    for i, r in enumerate(raw):
        ms += r["gap"] or 1  # strictly increasing: equal timestamps have no defined order
        doc = {"_id": f"e{i:02d}", "@timestamp": (T0 + timedelta(milliseconds=ms)).isoformat().replace("+00:00", "Z"),
               "event": {"category": r["cat"]}}
        if r["host"] is not None:
            doc["host"] = {"id": r["host"]}
        proc = {}
        for name, v in (("entity_id", r["eid"]), ("name", r["name"]), ("args", r["args"])):
            if v is not None:
                proc[name] = v
        if r["peid"] is not None:
            proc["parent"] = {"entity_id": r["peid"]}
        if proc:
            doc["process"] = proc
        if r["user"]:
            doc["user"] = {"name": r["user"]}
        out.append(doc)
    return out


KEYED_EVENT = st.fixed_dictionaries({
    "cat": st.sampled_from([["process"], ["network"], ["process", "network"]]),
    "host": st.sampled_from(["h1", "h2", None]),
    "eid": KEY_VALUES, "peid": KEY_VALUES, "args": KEY_VALUES,
    "name": st.sampled_from(["A", "B", "C", "x", None]),
    "user": st.sampled_from(["B", None]),
    "gap": st.sampled_from([0, 1000, 2000, 3000, 6000]),
})


def matcher_ids(query, events):
    hits = set()
    for m in eql_matcher(query).run(events):
        hits.update(e["_id"] for e in m.events)
    return [e["_id"] for e in events if e["_id"] in hits]


@pytest.mark.parametrize("key", list(KEYED))
@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(raw=st.lists(KEYED_EVENT, min_size=0, max_size=12))
def test_positional_and_multivalued_join_keys_select_what_the_matcher_selects(key, raw):
    q = KEYED[key]
    t = TARGET.compile(Rule(query=parse_query(q), query_text=q, name="seq"))
    assert t.status is not Status.REFUSED, t.notes
    events = keyed_events(raw)
    assert TARGET.execute(t, events) == matcher_ids(q, events)
    rows = evaluator.parse(t.output).run(adapter.adapt(events, load_profile("ecs", None), "ecs", None))
    ids = [r["_id"][0] for r in rows]
    assert len(ids) == len(set(ids)), "each matching event is returned once (dedup eqlc_pos)"


def test_an_event_in_two_stages_under_different_keys():
    """e1 starts a sequence under process.entity_id "a" and completes one under its parent "p":
    both roles at once, each in its own key group, and it is reported once."""
    q = KEYED["no_shared"]
    t = TARGET.compile(Rule(query=parse_query(q), query_text=q, name="seq"))
    events = [
        {"_id": "e0", "@timestamp": "2026-11-01T00:00:00Z", "event": {"category": ["process"]}, "process": {"name": "A", "entity_id": "p"}},
        {"_id": "e1", "@timestamp": "2026-11-01T00:00:01Z", "event": {"category": ["process", "network"]},
         "process": {"name": "A", "entity_id": "a", "parent": {"entity_id": "p"}}},
        {"_id": "e2", "@timestamp": "2026-11-01T00:00:02Z", "event": {"category": ["network"]}, "process": {"parent": {"entity_id": "a"}}},
    ]
    assert TARGET.execute(t, events) == ["e0", "e1", "e2"] == matcher_ids(q, events)
    assert t.output.rstrip().endswith("| dedup eqlc_pos")
    names = [c.name for c in evaluator.parse(t.output).commands]
    assert names.count("mvexpand") == 1 and "transaction" not in names


def test_a_multivalued_key_joins_on_each_value():
    q = KEYED["multivalued"]
    t = TARGET.compile(Rule(query=parse_query(q), query_text=q, name="seq"))
    ev = lambda i, s, name, args: {"_id": i, "@timestamp": f"2026-11-01T00:00:0{s}Z", "event": {"category": ["process"]},
                                   "process": {"name": name, "args": args}}
    events = [ev("e0", 0, "A", ["x", "y"]), ev("e1", 1, "B", ["y"]), ev("e2", 2, "A", ["z"]), ev("e3", 3, "B", ["Z"])]
    assert TARGET.execute(t, events) == ["e0", "e1"] == matcher_ids(q, events)


def test_numeric_comparison_assumption_excuses_exactly_the_breaking_key_group():
    """Regression (windows/defense_evasion_parent_process_pid_spoofing.toml): `pid > 0` is
    translated under the stated assumption that the field holds numbers. A string value breaks
    it: the SPL target's own check must name that event and the events sharing its join key (the
    matches they could form changed), and nothing else; where the assumption holds, the search
    selects what the matcher selects."""
    q = ('sequence by host.id with maxspan=1m [process where process.name == "A"] by process.pid '
         '[process where process.parent.pid > 0] by process.parent.pid')
    rule = Rule(query=parse_query(q), query_text=q, name="seq")
    t = TARGET.compile(rule)
    assert t.status is Status.ASSUMPTIONS and any("holds numbers" in n for n in t.notes)
    ev = lambda i, s, host, proc: {"_id": i, "@timestamp": f"2026-11-01T00:00:0{s}Z", "event": {"category": ["process"]},
                                   "host": {"id": host}, "process": proc}
    events = [
        ev("a1", 0, "h1", {"name": "A", "pid": 7}), ev("a2", 1, "h1", {"parent": {"pid": 7}}),          # numbers: in scope
        ev("b1", 2, "h2", {"name": "A", "pid": "k1"}), ev("b2", 3, "h2", {"parent": {"pid": "k1"}}),    # "k1" > 0 as text
        ev("c1", 4, "h3", {"name": "A", "pid": 5}),
    ]
    outside = TARGET.outside_assumptions(rule, t, events)
    assert set(outside) == {"b1", "b2"}
    assert "holds numbers" in outside["b2"] and outside["b1"].startswith("shares a join key with b2")
    want = [i for i in matcher_ids(q, events) if i not in outside]
    got = [i for i in TARGET.execute(t, events) if i not in outside]
    assert got == want == ["a1", "a2"]
    assert "b2" in matcher_ids(q, events)  # the excused difference is real: Elasticsearch compares text there
