"""The fast paths give the same answers as the plain ones:

* ``run()`` on a single-event query (the condition inlined in a generated loop) == ``match()``;
* ``MatcherSet.match_all`` (rules of a category in one function, field reads shared) == each
  rule's own matcher;
* streaming a sorted input == ``sort=True``;
* ``infer_mapping`` types fields as Elasticsearch's dynamic mapping does.
"""

from __future__ import annotations

from eqlc.matcher import infer_mapping, matcher
from eqlc.matcher.multi import matcher_set

from .corpus import all_rules, rule_id, sample
from .matcher_events import events_for


def test_run_filter_equals_match_and_matcher_set_equals_rules() -> None:
    rules = [r for r in sample() if r.query.kind == "event" and not r.event_category_override]
    assert len(rules) >= 60
    events = []
    for i, r in enumerate(rules):
        for e in events_for(r.query, 6, seed=i):
            e["_id"] = f"r{i}-{e['_id']}"
            events.append(e)
    singles = [matcher(r) for r in rules]
    ms = matcher_set(rules)
    hits = 0
    for m, r in zip(singles, rules):
        by_match = [e["_id"] for e in events if m.match(e)]
        by_run = [x.events[0]["_id"] for x in m.run(events)]
        assert by_run == by_match, rule_id(r)
        hits += len(by_match)
    assert hits > 20
    for e in events:
        assert ms.match_all(e) == [i for i, m in enumerate(singles) if m.match(e)], e["_id"]


def test_streaming_sorted_input_equals_sort() -> None:
    rules = [r for r in all_rules() if r.query.kind == "sequence"][::10]
    for i, r in enumerate(rules):
        events = events_for(r.query, 30, seed=i)  # generated in timestamp order
        m = matcher(r)
        a = [[e["_id"] for e in x.events if e] for x in m.run(events)]
        b = [[e["_id"] for e in x.events if e] for x in m.run(events, sort=True)]
        assert a == b, rule_id(r)


def test_infer_mapping_is_elasticsearch_dynamic_mapping() -> None:
    m = infer_mapping([{"a": 1, "b": 1.5, "c": True, "d": "x", "e": "2020-01-01T00:00:00Z", "f": {"g": "y"}, "h": None}])
    assert m.field_type(("a",)).family == "long"
    assert m.field_type(("b",)).family == "double"
    assert m.field_type(("c",)).family == "boolean"
    assert m.field_type(("d",)).family == "keyword" and m.field_type(("d",)).ignore_above == 256
    assert m.field_type(("e",)).family == "date"
    assert m.field_type(("f", "g")).family == "keyword"
    assert m.field_type(("h",)) is None
