"""Sequences, samples, ordering and streaming: Elasticsearch's rules (SequenceMatcher,
OrdinalGroup, TumblingWindow, SampleIterator; shared/research/eql-semantics.md section 7)."""

from __future__ import annotations

import itertools

import pytest

from eqlc.matcher import EventOrderError, matcher
from eqlc.matcher import runtime as rt


def E(_id, ts, cat="process", **fields) -> dict:
    d = {"_id": _id, "@timestamp": ts, "event": {"category": cat}}
    d.update(fields)
    return d


def run(query: str, events: list, **kw) -> list:
    opts = {k: kw.pop(k) for k in ("sort", "size", "result_position", "max_samples_per_key") if k in kw}
    return [([None if e is None else e["_id"] for e in m.events], m.keys) for m in matcher(query, **kw).run(events, **opts)]


def test_newest_pending_sequence_wins_and_stages_need_later_events() -> None:
    q = 'sequence by k [process where a == 1] [process where a == 2]'
    evs = [E("a1", 1, a=1, k="x"), E("a2", 2, a=1, k="x"), E("b", 3, a=2, k="x")]
    assert run(q, evs) == [(["a2", "b"], ["x"])]
    # one event cannot fill two stages of one sequence, but it can start one and finish another
    q2 = "sequence [process where true] [process where true]"
    assert run(q2, [E("1", 1), E("2", 2), E("3", 3)]) == [(["1", "2"], []), (["2", "3"], [])]


def test_maxspan_boundary_is_inclusive() -> None:
    q = "sequence with maxspan=1s [process where a == 1] [process where a == 2]"
    assert run(q, [E("x", 0, a=1), E("y", 1000, a=2)]) == [(["x", "y"], [])]
    assert run(q, [E("x", 0, a=1), E("y", 1001, a=2)]) == []


def test_until() -> None:
    q = 'sequence by k [process where a == 1] [process where a == 2] until [process where a == 9]'
    assert run(q, [E("1", 1, a=1, k="x"), E("u", 2, a=9, k="x"), E("2", 3, a=2, k="x")]) == []
    assert run(q, [E("1", 1, a=1, k="x"), E("u", 2, a=9, k="y"), E("2", 3, a=2, k="x")]) == [(["1", "2"], ["x"])]
    # an until event after the sequence completed does not matter
    assert run(q, [E("1", 1, a=1, k="x"), E("2", 3, a=2, k="x"), E("u", 4, a=9, k="x")]) == [(["1", "2"], ["x"])]


def test_join_keys_non_null_unless_optional_and_typed() -> None:
    q = "sequence by k [process where a == 1] [process where a == 2]"
    assert run(q, [E("1", 1, a=1), E("2", 2, a=2)]) == []
    qo = "sequence by ?k [process where a == 1] [process where a == 2]"
    assert run(qo, [E("1", 1, a=1), E("2", 2, a=2)]) == [(["1", "2"], [None])]
    # Java equality of key values: "5" is not 5, true is not 1
    assert run(q, [E("1", 1, a=1, k="5"), E("2", 2, a=2, k=5)]) == []
    assert run(q, [E("1", 1, a=1, k=True), E("2", 2, a=2, k=1)]) == []


def test_multi_valued_keys_are_sorted_distinct_and_cartesian() -> None:
    """PR #89965, and the QA cases sequenceWithMultivalue_*: one candidate per value (doc values:
    sorted, duplicates removed), cartesian product across keys."""
    q = "sequence by k, j [process where a == 1] [process where a == 2]"
    evs = [E("1", 1, a=1, k=["b", "a", "a"], j=["y", "x"]), E("2", 2, a=2, k=["a", "b"], j="x")]
    assert run(q, evs) == [(["1", "2"], ["a", "x"]), (["1", "2"], ["b", "x"])]


def test_runs() -> None:
    q = "sequence [process where a == 1] with runs=3"
    assert run(q, [E(str(i), i, a=1) for i in range(4)]) == [(["0", "1", "2"], []), (["1", "2", "3"], [])]


def test_missing_events() -> None:
    mid = 'sequence with maxspan=1s [process where a == 1] ![process where a == 9] [process where a == 2]'
    assert run(mid, [E("1", 1, a=1), E("2", 5, a=2)]) == [(["1", None, "2"], [])]
    assert run(mid, [E("1", 1, a=1), E("m", 3, a=9), E("2", 5, a=2)]) == []
    trail = 'sequence with maxspan=1s [process where a == 1] ![process where a == 9]'
    assert run(trail, [E("1", 1, a=1), E("m", 500, a=9)]) == []
    assert run(trail, [E("1", 1, a=1), E("m", 1002, a=9)]) == [(["1", None], [])]
    assert run(trail, [E("1", 1, a=1)]) == [(["1", None], [])]
    lead = 'sequence with maxspan=1s ![process where a == 9] [process where a == 1]'
    assert run(lead, [E("m", 1, a=9), E("1", 500, a=1)]) == []
    assert run(lead, [E("m", 1, a=9), E("1", 1500, a=1)]) == [([None, "1"], [])]


def test_trailing_missing_event_decided_while_streaming() -> None:
    """A trailing ![...] waits until maxspan has passed (or its event appears), then the sequence
    is reported without waiting for the end of the stream."""
    q = 'sequence with maxspan=1s [process where a == 1] ![process where a == 9]'
    seen = []

    def stream():
        yield E("1", 0, a=1)
        yield E("x", 500, a=0)
        assert seen == []
        yield E("y", 1001, a=0)  # past the window: decided
        assert seen == [["1", None]]
        yield E("z", 2000, a=0)

    for m in matcher(q).run(stream()):
        seen.append([None if e is None else e["_id"] for e in m.events])
    assert seen == [["1", None]]


def test_ordering_timestamp_then_tiebreaker_nulls_last_then_input() -> None:
    q = "sequence [process where a == 1] [process where a == 2]"
    evs = [E("late", 5, a=2, tb=None), E("b", 5, a=2, tb=2), E("first", 5, a=1, tb=1)]
    assert run(q, evs, tiebreaker_field="tb", sort=True) == [(["first", "b"], [])]
    assert run(q, evs, tiebreaker_field="tb") == [(["first", "b"], [])]  # same-timestamp group buffered
    # without a tiebreaker, equal timestamps keep input order (the _shard_doc tiebreaker)
    assert run(q, [E("x", 5, a=2), E("y", 5, a=1)]) == []


def test_out_of_order_stream_is_an_error_and_sort_fixes_it() -> None:
    q = "sequence [process where a == 1] [process where a == 2]"
    evs = [E("b", 2, a=2), E("a", 1, a=1)]
    with pytest.raises(EventOrderError, match="sort"):
        run(q, evs)
    assert run(q, evs, sort=True) == [(["a", "b"], [])]


def test_head_tail_and_size() -> None:
    evs = [E(str(i), i, a=1) for i in range(6)]
    q = "sequence [process where a == 1] [process where a == 1]"
    assert [x[0] for x in run(q + " | head 2", evs)] == [["0", "1"], ["1", "2"]]
    assert [x[0] for x in run(q + " | tail 1", evs)] == [["4", "5"]]
    assert [x[0] for x in run(q, evs, size=2, result_position="tail")] == [["3", "4"], ["4", "5"]]
    assert [x[0] for x in run("process where a == 1 | tail 2", evs)] == [["4"], ["5"]]


def test_sample_by_key_distinct_events_sorted_keys() -> None:
    """SampleIterator: keys ascending; one event never fills two filters of one sample
    (matchSamples skips events already in the partial sample)."""
    q = "sample by h [any where a == 1] [any where b == 1]"
    evs = [{"_id": "both", "h": "z", "a": 1, "b": 1}, {"_id": "b1", "h": "z", "b": 1},
           {"_id": "x1", "h": "m", "a": 1}, {"_id": "x2", "h": "m", "b": 1}]
    assert run(q, evs) == [(["x1", "x2"], ["m"]), (["both", "b1"], ["z"])]
    many = [{"_id": f"a{i}", "h": "k", "a": 1} for i in range(3)] + [{"_id": "b", "h": "k", "b": 1}]
    assert [x[0] for x in run(q, many, max_samples_per_key=2)] == [["a0", "b"], ["a1", "b"]]


def test_state_is_bounded_on_an_endless_stream(monkeypatch) -> None:
    """Every other event opens a sequence with a new key; with maxspan the in-flight state stays
    at about the window's worth of keys however long the stream runs."""
    engines = []
    real = rt.SequenceEngine.__init__

    def spy(self, spec):
        real(self, spec)
        engines.append(self)

    monkeypatch.setattr(rt.SequenceEngine, "__init__", spy)
    q = "sequence by k with maxspan=1s [process where a == 1] [network where a == 2]"

    def endless():
        for i in itertools.count():
            yield E(str(i), i * 10, a=1, k=f"k{i}")

    # no sequence ever completes (no network events): the run consumes a long slice of the stream
    m = matcher(q)
    checkpoints = []
    for n in (20000, 60000):
        for _ in m.run(itertools.islice(endless(), n)):
            pass
        eng = engines[-1]
        checkpoints.append(sum(len(d) for d in eng.pending.values()))
    # the window holds 100 keys; a sweep runs at least every 1024 events
    assert all(c <= 100 + 1024 for c in checkpoints), checkpoints
    assert checkpoints[1] <= checkpoints[0] + 1024


def test_rule_timestamp_override_falls_back_to_timestamp() -> None:
    from eqlc.parser import parse_query
    from eqlc.rule import Rule

    text = "sequence [process where a == 1] [process where a == 2]"
    rule = Rule(parse_query(text), text, timestamp_override="event.ingested")
    evs = [E("1", 10, a=1, event={"category": "process", "ingested": 1}), E("2", 5, a=2)]
    assert [[e["_id"] for e in m.events] for m in matcher(rule).run(evs, sort=True)] == [["1", "2"]]
