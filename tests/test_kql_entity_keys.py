"""Process identifiers as sequence join keys (targets/kql/entity.py) and sequences run offline
(targets/kql/scan.py: the legs on duckdb-kql, the scan by a model of Kusto's documented logic).

* Defender: ``process.entity_id`` is ``ProcessUniqueId`` (DeviceProcessEvents) or
  ``InitiatingProcessUniqueId`` (acting-process tables), joined together with ``DeviceId``
  (a Process Start Key is unique on its device only); the adapter leaves out events whose
  entity_id also names a process on another device, and only those.
* ASIM: ``TargetProcessGuid`` / ``ActingProcessGuid`` / ``SrcProcessGuid``, unique across systems.
* A condition on an identifier is refused (the values are the vendor's, not Elastic's).
* Every sequence runs: its selection equals the reference matcher's among the events inside the
  stated assumptions, with witnesses in scope (not vacuous), on both profiles.
"""

from __future__ import annotations

import pytest

from eqlc import parse_query
from eqlc.matcher import matcher
from eqlc.result import Status
from eqlc.rule import Rule
from eqlc.targets.kql import TARGET
from tests.node.kusto import analyse, declared_tables

PROFILES = ["defender", "sentinel-asim"]


def _rule(text: str) -> Rule:
    return Rule(query=parse_query(text), query_text=text, name="kql entity keys")


def _proc(_id: str, ts: str, ent: str, name: str, host: str = "h1", parent: str = "P0") -> dict:
    return {"_id": _id, "@timestamp": f"2026-01-01T00:{ts}Z", "event": {"category": ["process"], "type": ["start"], "action": "exec"},
            "host": {"id": host, "os": {"type": "windows"}},
            "process": {"entity_id": ent, "name": name, "executable": f"C:\\\\w\\\\{name}", "parent": {"entity_id": parent}}}


def _net(_id: str, ts: str, ent: str, port: int, host: str = "h1", name: str = "x.exe") -> dict:
    return {"_id": _id, "@timestamp": f"2026-01-01T00:{ts}Z", "event": {"category": ["network"], "type": ["start"]},
            "host": {"id": host, "os": {"type": "windows"}}, "destination": {"port": port},
            "process": {"entity_id": ent, "name": name, "executable": f"C:\\\\w\\\\{name}"}}


def _file(_id: str, ts: str, ent: str, fname: str, host: str = "h1", name: str = "x.exe") -> dict:
    return {"_id": _id, "@timestamp": f"2026-01-01T00:{ts}Z", "event": {"category": ["file"], "type": ["creation"], "action": "creation"},
            "host": {"id": host, "os": {"type": "windows"}}, "file": {"name": fname, "path": f"C:\\\\t\\\\{fname}"},
            "process": {"entity_id": ent, "name": name, "executable": f"C:\\\\w\\\\{name}"}}


EVENTS = [
    # A: cmd then 443 within a minute (matches); B: too late; C: same id on two devices (left out
    # on Defender, where the query joins within a device; a match on ASIM and in Elasticsearch)
    _proc("pA", "00:00", "A", "cmd.exe"), _net("nA", "00:10", "A", 443),
    _proc("pB", "00:00", "B", "cmd.exe"), _net("nB", "02:10", "B", 443),
    _proc("pC", "00:00", "C", "cmd.exe", host="h1"), _net("nC", "00:10", "C", 443, host="h2"),
    # D: two cmd starts before the connection: Elasticsearch keeps the latest pending sequence
    _proc("pD1", "00:00", "D", "cmd.exe"), _proc("pD2", "00:20", "D", "cmd.exe"), _net("nD", "00:30", "D", 443),
    # E: a child of A (parent entity_id A) writes a file
    _proc("pE", "00:05", "E", "rundll32.exe", parent="A"), _file("fE", "00:15", "E", "a.dll"),
    # F: a network event of another process with the same name: the key keeps it apart
    _net("nF", "00:12", "F", 443),
]

SEQUENCES = [
    'sequence with maxspan=1m [process where process.name : "cmd.exe"] by process.entity_id '
    '[network where destination.port == 443] by process.entity_id',
    'sequence by process.entity_id with maxspan=1m [process where process.name : "cmd.exe"] [network where destination.port == 443]',
    # parent -> child: the child's parent.entity_id joins the parent's entity_id
    'sequence with maxspan=1m [process where process.name : "cmd.exe"] by process.entity_id '
    '[process where process.name : "rundll32.exe"] by process.parent.entity_id',
    'sequence with maxspan=1m [process where process.name : "rundll32.exe"] by process.entity_id '
    '[file where file.name : "*.dll"] by process.entity_id',
    'sequence with maxspan=1m [process where true] by process.entity_id with runs=2 [network where true] by process.entity_id',
]


def _run(text: str, profile: str):
    rule = _rule(text)
    tr = TARGET.compile(rule, profile=profile)
    assert tr.status is Status.ASSUMPTIONS and tr.output is not None, tr.notes
    out = TARGET.outside_assumptions(rule, tr, EVENTS, profile=profile)
    got = TARGET.execute(tr, EVENTS, profile=profile)
    inside = [e for e in EVENTS if e["_id"] not in out]
    want = list(dict.fromkeys(e["_id"] for m in matcher(rule).run(inside, sort=True) for e in m.events))
    return tr, got, want, out


@pytest.mark.parametrize("profile", PROFILES)
@pytest.mark.parametrize("text", SEQUENCES)
def test_sequence_on_entity_ids_selects_what_the_matcher_selects(text, profile):
    tr, got, want, out = _run(text, profile)
    assert sorted(got) == sorted(want), tr.output
    assert want, "no witness in scope: the test would prove nothing"
    assert any("identify a process as" in n for n in tr.notes)


def test_selections_are_the_ones_derived_by_hand():
    """Not only equal to the matcher: the expected matches, worked out from EQL's semantics."""
    _tr, got, _want, out = _run(SEQUENCES[0], "defender")
    assert sorted(got) == ["nA", "nD", "pA", "pD2"]
    assert set(out) == {"pC", "nC"}
    _tr, got, _want, out = _run(SEQUENCES[0], "sentinel-asim")
    assert sorted(got) == ["nA", "nC", "nD", "pA", "pC", "pD2"] and not out
    _tr, got, _want, _out = _run(SEQUENCES[2], "defender")
    assert sorted(got) == ["pA", "pE"]


def test_defender_key_reads_the_device_with_the_id():
    tr = TARGET.compile(_rule(SEQUENCES[0]), profile="defender")
    assert "pack_array(DeviceId, ProcessUniqueId)" in tr.output
    assert "pack_array(DeviceId, InitiatingProcessUniqueId)" in tr.output
    tr = TARGET.compile(_rule(SEQUENCES[0]), profile="sentinel-asim")
    assert "pack_array(TargetProcessGuid)" in tr.output and "pack_array(SrcProcessGuid)" in tr.output


def test_only_a_cross_device_id_is_left_out():
    """The check is the assumption's: an entity_id on two devices (the query keeps them apart,
    Elasticsearch joins them); one device per id otherwise, whatever the other fields."""
    tr = TARGET.compile(_rule(SEQUENCES[0]), profile="defender")
    out = TARGET.outside_assumptions(_rule(SEQUENCES[0]), tr, EVENTS, profile="defender")
    assert set(out) == {"pC", "nC"}
    assert all("also names a process on another device" in why for why in out.values())
    # a query not keyed on an identifier leaves nothing out for it
    plain = 'sequence by host.id with maxspan=1m [process where process.name : "cmd.exe"] [network where destination.port == 443]'
    tr = TARGET.compile(_rule(plain), profile="defender")
    out = TARGET.outside_assumptions(_rule(plain), tr, EVENTS, profile="defender")
    # (events of one host tied in time are set apart by the tie-order check, adapter.step_ties)
    assert not [why for why in out.values() if "another device" in why], out


@pytest.mark.parametrize("profile", PROFILES)
@pytest.mark.parametrize("text", [
    'process where process.entity_id == "A"',
    'sequence [process where process.entity_id != null] [network where true]',
])
def test_a_condition_on_an_identifier_is_refused(text, profile):
    tr = TARGET.compile(_rule(text), profile=profile)
    assert tr.status is Status.REFUSED
    assert "vendor's own process identifier" in tr.notes[0]


def test_parent_id_has_no_column_on_acting_tables():
    """Defender records no id of the initiating process's parent (research: INEX)."""
    tr = TARGET.compile(_rule('sequence [file where true] by process.parent.entity_id [process where true] by process.entity_id'))
    assert tr.status is Status.REFUSED and "process.parent.entity_id has no column in DeviceFileEvents" in tr.notes[0]


def test_microsoft_parser_accepts_every_sequence():
    tables: dict = {}
    queries = []
    for p in PROFILES:
        tables.update(declared_tables(p))
        queries += [TARGET.compile(_rule(s), profile=p).output for s in SEQUENCES]
    assert analyse(queries, tables) == [[] for _ in queries]


def test_an_event_whose_sequence_partner_is_outside_is_reported():
    """The assumption says the events outside it do not occur; a sequence event whose selection
    changes without them (its partner is gone) is reported too, by the reference matcher."""
    odd = _net("nX", "00:10", "X", 443)
    odd["network"] = {"direction": "EGRESS"}  # spelled otherwise than the value map lists it
    events = [_proc("pX", "00:00", "X", "cmd.exe"), odd, _proc("pA", "00:00", "A", "cmd.exe"), _net("nA", "00:10", "A", 443)]
    events[3]["network"] = {"direction": "egress"}
    text = ('sequence with maxspan=1m [process where process.name : "cmd.exe"] by process.entity_id '
            '[network where network.direction : "egress"] by process.entity_id')
    rule = _rule(text)
    tr = TARGET.compile(rule, profile="defender")
    out = TARGET.outside_assumptions(rule, tr, events, profile="defender")
    assert set(out) == {"nX", "pX"}
    assert "through another event" in out["pX"]
    assert sorted(TARGET.execute(tr, events, profile="defender")) == ["nA", "pA"]
