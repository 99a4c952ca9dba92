"""ASIM's imNetworkSession implies event.type start/connection, as Defender's DeviceNetworkEvents
does (sentinel-asim.yaml `facts`): a comparison with event.type is decided from the list and
stated, and the fixture adapter leaves out the events whose event.type says otherwise; the query
runs on duckdb-kql and selects what the reference matcher selects inside that assumption."""

from __future__ import annotations

import pytest

from eqlc import parse_query
from eqlc.matcher import matcher
from eqlc.result import Status
from eqlc.rule import Rule
from eqlc.targets.kql import TARGET


def _net(_id: str, types: list[str], name: str = "x.exe") -> dict:
    return {"_id": _id, "@timestamp": "2026-01-01T00:00:00Z", "host": {"id": "h1", "os": {"type": "linux"}},
            "event": {"category": ["network"], "type": types},
            "destination": {"ip": "10.0.0.1", "port": 443}, "source": {"ip": "10.0.0.2", "port": 5000},
            "process": {"name": name, "executable": f"/usr/bin/{name}", "pid": 4}}


EVENTS = [_net("start", ["start"]), _net("conn", ["connection", "start"]), _net("end", ["end"]),
          _net("other", ["start"], "y.exe")]


@pytest.mark.parametrize("profile", ["defender", "sentinel-asim"])
def test_event_type_on_the_network_table_is_decided_from_its_facts(profile):
    rule = Rule(query=parse_query('network where event.type == "start" and process.name == "x.exe"'),
                query_text="", name="network facts")
    tr = TARGET.compile(rule, profile=profile)
    assert tr.status is Status.ASSUMPTIONS, tr.notes
    assert any(n.startswith('event.type == "start" is taken to hold for every') for n in tr.notes), tr.notes
    out = TARGET.outside_assumptions(rule, tr, EVENTS, profile=profile)
    assert set(out) == {"end"}, out
    got = sorted(TARGET.execute(tr, EVENTS, profile=profile))
    m = matcher(rule)
    assert got == sorted(e["_id"] for e in EVENTS if m.match(e) and e["_id"] not in out) == ["conn", "start"]


@pytest.mark.parametrize("profile", ["defender", "sentinel-asim"])
def test_an_event_type_the_network_table_never_has_is_refused(profile):
    rule = Rule(query=parse_query('network where event.type == "end"'), query_text="", name="network facts")
    tr = TARGET.compile(rule, profile=profile)
    assert tr.status is Status.REFUSED and "never hold" in tr.notes[0], tr.notes
