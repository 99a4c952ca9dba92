"""The shared fixture format (NDJSON + expectations.yaml) and the hand-written example fixtures."""

from __future__ import annotations

import pytest

from eqlc.errors import EqlError
from eqlc.fixtures import dump_events, expectation_for, load_expectations, load_events, parse_events
from eqlc.fixtures.atoms import skeleton
from eqlc.fixtures.oracle import Oracle
from eqlc.fixtures.witness import with_category
from eqlc.loaders import load_file
from eqlc.matcher import matcher
from tests.corpus import EXAMPLE_DIR

RULE_FILES = ["rule.eql", "rule.toml", "rule.ndjson", "rule.md", "rule.txt"]


def test_parse_events_skips_blank_and_comment_lines_and_round_trips():
    text = '// a comment\n\n{"_id": "a", "x": {"y": "é"}}\n{"_id": "b", "x.y": null}\n'
    events = parse_events(text)
    assert [e["_id"] for e in events] == ["a", "b"]
    assert parse_events(dump_events(events)) == events


@pytest.mark.parametrize(
    "text, message, line",
    [
        ('{"_id": "a"}\n{"_id": \n', "invalid JSON", 2),
        ('["not", "an", "object"]\n', "must be a JSON object", 1),
        ('{"id": "a"}\n', "no string '_id'", 1),
        ('{"_id": 5}\n', "no string '_id'", 1),
        ('{"_id": "a"}\n{"_id": "b"}\n{"_id": "a"}\n', "duplicate _id 'a' (first on line 1)", 3),
    ],
)
def test_parse_events_errors_name_the_line(text, message, line):
    with pytest.raises(EqlError) as err:
        parse_events(text, "f.ndjson")
    assert message in err.value.message and err.value.line == line and err.value.path == "f.ndjson"


def test_expectations_resolve_fixture_paths_and_reject_bad_shapes(tmp_path):
    assert expectation_for(tmp_path / "nothing_here.eql") is None
    good = tmp_path / "expectations.yaml"
    good.write_text("r.eql:\n  fixtures: sub/f.ndjson\n  matches: [a, b]\n")
    exp = load_expectations(good)["r.eql"]
    assert exp.fixtures == (tmp_path / "sub" / "f.ndjson").resolve() and exp.matches == ("a", "b")
    for bad in ("- a\n- b\n", "r.eql: {fixtures: f.ndjson}\n", "r.eql: {fixtures: f.ndjson, matches: [1]}\n"):
        good.write_text(bad)
        with pytest.raises(EqlError):
            load_expectations(good)


@pytest.mark.parametrize("name", RULE_FILES)
def test_every_example_format_has_hand_written_expectations_the_matcher_meets(name):
    exp = expectation_for(EXAMPLE_DIR / name)
    assert exp is not None and exp.fixtures == (EXAMPLE_DIR / "fixtures.ndjson").resolve()
    events = load_events(exp.fixtures)
    ids = [e["_id"] for e in events]
    assert set(exp.matches) <= set(ids)
    (rule,) = load_file(EXAMPLE_DIR / name)
    m = matcher(rule)
    assert [i for i, e in zip(ids, events) if m.match(e)] == [i for i in ids if i in set(exp.matches)]


def test_example_fixtures_are_ecs_events():
    events = load_events(EXAMPLE_DIR / "fixtures.ndjson")
    for e in events:
        assert isinstance(e["@timestamp"], str) and e["@timestamp"].endswith("Z")
        category = e.get("event", {}).get("category") if isinstance(e.get("event"), dict) else e.get("event.category")
        assert category, e["_id"]
        assert e.get("_note"), e["_id"]  # every hand-written event says what it probes


def test_example_fixtures_cover_every_condition_both_ways():
    """Every atomic condition of the example (each exclusion pattern and listed name counted
    separately) is true on some hand-written event and false on another, and among the events
    that differ from a selected one, each exclusion actually excludes one."""
    (rule,) = load_file(EXAMPLE_DIR / "rule.eql")
    events = load_events(EXAMPLE_DIR / "fixtures.ndjson")
    sk = skeleton(with_category(rule.query.body, rule))
    oracle = Oracle()
    table = oracle.table([a.expr for a in sk.atoms])
    values = [table.values(e) for e in events]
    selected = set(oracle.selected(rule, events))
    missing_true = [a.text for a in sk.atoms if not any(v[a.index] == "T" for v in values)]
    missing_false = [a.text for a in sk.atoms if not any(v[a.index] == "F" for v in values)]
    assert not missing_true and not missing_false, (missing_true, missing_false)
    # Each exclusion (the atoms under `not (...)`) is true on at least one event the rule rejects.
    exclusions = [a for a in sk.atoms if "like~" in a.text or a.text.startswith("process.parent.name in")]
    assert len(exclusions) == 15
    for a in exclusions:
        assert any(v[a.index] == "T" and e["_id"] not in selected for v, e in zip(values, events)), a.text
