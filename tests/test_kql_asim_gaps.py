"""sentinel-asim mapping gaps closed from the ASIM schema references (issue 13): file open events
(imFileEvent EventType FileAccessed), ... Each query runs on duckdb-kql through the fixture adapter
(the same profile YAML) and must select exactly what the reference matcher selects among the events
inside the stated assumptions, with positives inside; the events the adapter leaves out are asserted
too, so a check that excludes everything cannot pass. Microsoft's Kusto parser checks every query
against the profile's declared tables."""

from __future__ import annotations

import pytest

from eqlc import parse_query
from eqlc.matcher import matcher
from eqlc.result import Status
from eqlc.rule import Rule
from eqlc.targets.kql import TARGET
from tests.node.kusto import analyse, declared_tables

PROFILE = "sentinel-asim"


def _rule(text: str) -> Rule:
    return Rule(query=parse_query(text), query_text=text, name="kql asim gaps")


def _ev(_id: str, cat: str, **fields) -> dict:
    e: dict = {"_id": _id, "@timestamp": "2026-01-01T00:00:00Z", "event": {"category": [cat]},
               "host": {"id": "h1", "os": {"type": "macos"}}}
    for dotted, v in fields.items():
        node = e
        parts = dotted.split("__")
        for p in parts[:-1]:
            node = node.setdefault(p, {})
        node[parts[-1]] = v
    return e


# Elastic Defend's file open events (event.action "open"; macOS and Windows rules of the corpus)
# are imFileEvent's EventType FileAccessed (ASIM File Event schema, EventType).
OPENS = [
    _ev("open", "file", event__action="open", file__path="/Library/Preferences/x.plist", file__name="x.plist",
        process__name="osascript", process__executable="/usr/bin/osascript"),
    _ev("open-other", "file", event__action="open", file__path="/tmp/y", file__name="y", process__name="osascript", process__executable="/usr/bin/osascript"),
    _ev("created", "file", event__action="creation", event__type=["creation"], file__path="/Library/Preferences/x.plist",
        file__name="x.plist", process__name="osascript", process__executable="/usr/bin/osascript"),
    # spelled otherwise than the value map lists it: outside the stated value mapping
    _ev("OPEN", "file", event__action="OPEN", file__path="/Library/Preferences/x.plist", file__name="x.plist",
        process__name="osascript", process__executable="/usr/bin/osascript"),
    _ev("no-action", "file", file__path="/Library/Preferences/x.plist", file__name="x.plist", process__name="osascript", process__executable="/usr/bin/osascript"),
]

CASES = [
    # (query, events, selected, left out)
    ('file where event.action == "open" and file.name == "x.plist"', OPENS, {"open"}, {"OPEN"}),
    ('file where event.action in ("open", "creation") and process.name == "osascript" and file.path like "/Library/*"',
     OPENS, {"open", "created"}, {"OPEN"}),
    ('file where event.action != "open" and file.name == "x.plist"', OPENS, {"created", "no-action"}, {"OPEN"}),
]


def _run(text: str, events: list[dict]):
    rule = _rule(text)
    tr = TARGET.compile(rule, profile=PROFILE)
    assert tr.status is Status.ASSUMPTIONS and tr.output, tr.notes
    out = TARGET.outside_assumptions(rule, tr, events, profile=PROFILE)
    got = set(TARGET.execute(tr, events, profile=PROFILE))
    m = matcher(rule)
    want = {e["_id"] for e in events if e["_id"] not in out and m.match(e)}
    return tr, got, want, out


@pytest.mark.parametrize("text,events,selected,outside", CASES, ids=[c[0][:60] for c in CASES])
def test_selection_equals_the_matcher_inside_the_assumptions(text, events, selected, outside):
    tr, got, want, out = _run(text, events)
    assert got == want == selected, tr.output
    assert set(out) == outside, out


def test_file_open_reads_file_accessed():
    tr = TARGET.compile(_rule('file where event.action == "open"'), profile=PROFILE)
    assert "FileAccessed" in tr.output
    assert any("event.action values are taken to be spelled" in n for n in tr.notes), tr.notes


def test_microsoft_parser_accepts_every_case():
    tables = declared_tables(PROFILE)
    queries = [TARGET.compile(_rule(c[0]), profile=PROFILE).output for c in CASES]
    assert analyse(queries, tables) == [[] for _ in queries]
