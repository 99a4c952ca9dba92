"""Sequences: the emitted streamstats SPL, run by the reference evaluator, against an independent
replay of Elasticsearch's sequence state machine (shared/research/eql-semantics.md 7.2)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from compiler.parser import parse_query
from compiler.result import Status
from compiler.rule import Rule
from targets.spl import TARGET, evaluator

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
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
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
    ('sequence by host.id with maxspan=5s [process where true] by process.entity_id [file where true] by process.parent.entity_id', "different fields"),
    ('sequence by host.id [process where true] [file where true] until [process where true]', "until"),
    ('sequence by host.id with maxspan=5s [process where true] ![file where true]', "missing-event"),
    ('sequence by ?host.id [process where true] [file where true]', "optional join key"),
    ('sequence by process.args [process where true] [file where true]', "multivalued"),
])
def test_untranslatable_sequences_are_refused_with_the_reason(query, reason):
    t = TARGET.compile(Rule(query=parse_query(query), query_text=query, name="seq"))
    assert t.status is Status.REFUSED and reason in t.notes[0]
