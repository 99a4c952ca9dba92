"""Mapping gaps closed from Microsoft's table references (issue 13): file.Ext.original.* (renamed
files), ActionType value maps for logon/registry/network events, network.direction, integrity
level, ASIM's ActingProcessId/ActorUserId. Each query runs on duckdb-kql through the fixture
adapter (the same profile YAML) and must select exactly what the reference matcher selects among
the events inside the stated assumptions, with positives inside; the events the adapter leaves out
are asserted too, so a check that excludes everything cannot pass."""

from __future__ import annotations

import pytest

from eqlc import parse_query
from eqlc.matcher import matcher
from eqlc.result import Status
from eqlc.rule import Rule
from eqlc.targets.kql import TARGET
from tests.node.kusto import analyse, declared_tables


def _rule(text: str) -> Rule:
    return Rule(query=parse_query(text), query_text=text, name="kql mapping gaps")


def _ev(_id: str, cat: str, os_type: str = "windows", **fields) -> dict:
    """An ECS event on host h1 (``os_type``); ``a__b=v`` sets the nested field a.b (and overrides)."""
    e: dict = {"_id": _id, "@timestamp": "2026-01-01T00:00:00Z", "event": {"category": [cat]},
               "host": {"id": "h1", "os": {"type": os_type}}}
    for dotted, v in fields.items():
        node = e
        parts = dotted.split("__")
        for p in parts[:-1]:
            node = node.setdefault(p, {})
        node[parts[-1]] = v
    return e


RENAMES = [
    _ev("r-exe", "file", event__action="rename", event__type=["change"], file__name="a.tmp",
        file__Ext__original__name="a.exe", file__Ext__original__extension="exe"),
    _ev("r-EXE", "file", event__action="rename", event__type=["change"], file__name="b.tmp",
        file__Ext__original__name="b.EXE", file__Ext__original__extension="EXE"),
    _ev("r-dll", "file", event__action="rename", event__type=["change"], file__name="c.tmp",
        file__Ext__original__name="c.dll", file__Ext__original__extension="dll"),
    _ev("r-none", "file", event__action="rename", event__type=["change"], file__name="d.tmp"),
    # an original extension that does not agree with the original name: outside the stated
    # assumption on Defender (the extension is cut from PreviousFileName)
    _ev("r-odd", "file", event__action="rename", event__type=["change"], file__name="e.tmp",
        file__Ext__original__name="e.txt", file__Ext__original__extension="exe"),
]

NETWORK = [
    _ev("in", "network", event__type=["start"], event__action="connection_accepted", network__direction="ingress", destination__port=445),
    _ev("in2", "network", event__type=["start"], event__action="connection_accepted", network__direction="incoming", destination__port=445),
    _ev("out", "network", event__type=["start"], event__action="connection_attempted", network__direction="egress", destination__port=445,
        process__pid=7),
    _ev("out2", "network", event__type=["start"], event__action="connection_attempted", network__direction="outgoing", destination__port=80),
    # spelled otherwise than the value map lists it: outside the stated value mapping
    _ev("odd", "network", event__type=["start"], event__action="connection_attempted", network__direction="EGRESS", destination__port=445),
    # direction and action disagree: no row value gives both (left out)
    _ev("mixed", "network", event__type=["start"], event__action="connection_accepted", network__direction="egress", destination__port=445),
]

REGISTRY = [
    _ev("set", "registry", event__type=["change"], event__action="modification", registry__hive="HKLM", registry__key="SOFTWARE\\x",
        registry__path="HKLM\\SOFTWARE\\x\\v", registry__value="v", user__id="S-1-5-18", process__pid=7),
    _ev("del", "registry", event__type=["deletion"], event__action="deletion", registry__hive="HKLM", registry__key="SOFTWARE\\x",
        registry__path="HKLM\\SOFTWARE\\x\\v", registry__value="v", user__id="S-1-5-18", process__pid=8),
]

FILES = [
    _ev("f1", "file", event__type=["creation"], event__action="file_create_event", file__name="a.exe", process__pid=7, user__id="S-1-5-18"),
    _ev("f2", "file", event__type=["change"], event__action="overwrite", file__name="b.exe", process__pid=8, user__id="S-1-5-21-1"),
]

CASES = [
    ("defender", 'network where network.direction : ("incoming", "ingress") and destination.port == 445', NETWORK,
     {"in", "in2"}, {"odd", "mixed"}),
    # egress and outgoing are the same ActionTypes: an "outgoing" event cannot be told from an
    # "egress" one by the query, so the value map's stated agreement leaves it out
    ("defender", 'network where network.direction == "egress" and event.action == "connection_attempted"', NETWORK,
     {"out"}, {"odd", "mixed", "out2"}),
    ("sentinel-asim", 'network where event.type == "start" and event.action == "connection_accepted"', NETWORK,
     {"in", "in2"}, {"mixed"}),
    ("sentinel-asim", 'network where network.direction : ("outgoing", "egress") and process.pid == 7', NETWORK,
     {"out"}, {"odd", "mixed"}),
    ("defender", 'registry where event.action != "deletion" and registry.value == "v"', REGISTRY, {"set"}, set()),
    ("sentinel-asim", 'registry where event.action != "deletion" and user.id == "S-1-5-18" and process.pid == 7', REGISTRY,
     {"set"}, set()),
    ("sentinel-asim", 'file where event.action in ("file_create_event", "overwrite") and process.pid == 8', FILES, {"f2"}, set()),
    ("sentinel-asim", 'file where user.id == "S-1-5-18" and event.action == "file_create_event"', FILES, {"f1"}, set()),

    # (profile, query, events, selected, left out)
    ("defender", 'file where event.action == "rename" and file.Ext.original.extension : "exe"', RENAMES,
     {"r-exe", "r-EXE"}, {"r-odd"}),
    ("sentinel-asim", 'file where event.action == "rename" and file.Ext.original.extension : "exe"', RENAMES,
     {"r-exe", "r-EXE", "r-odd"}, set()),
    ("defender", 'file where file.Ext.original.extension : ("dll", "exe") and not file.Ext.original.name : "*.exe"', RENAMES,
     {"r-dll"}, {"r-odd"}),
]


def _run(profile: str, text: str, events: list[dict]):
    rule = _rule(text)
    tr = TARGET.compile(rule, profile=profile)
    assert tr.status is Status.ASSUMPTIONS and tr.output, tr.notes
    out = TARGET.outside_assumptions(rule, tr, events, profile=profile)
    got = set(TARGET.execute(tr, events, profile=profile))
    m = matcher(rule)
    want = {e["_id"] for e in events if e["_id"] not in out and m.match(e)}
    return tr, got, want, out


@pytest.mark.parametrize("profile,text,events,selected,outside", CASES, ids=[f"{c[0]}:{c[1][:50]}" for c in CASES])
def test_selection_equals_the_matcher_inside_the_assumptions(profile, text, events, selected, outside):
    tr, got, want, out = _run(profile, text, events)
    assert got == want == selected, tr.output
    assert set(out) == outside, out


def test_microsoft_parser_accepts_every_case():
    tables: dict = {}
    for p in ("defender", "sentinel-asim"):
        tables.update(declared_tables(p))
    queries = [TARGET.compile(_rule(c[1]), profile=c[0]).output for c in CASES]
    assert analyse(queries, tables) == [[] for _ in queries]
