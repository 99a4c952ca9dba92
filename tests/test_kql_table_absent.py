"""A field of a table's own category that the table records nothing for, read as having no value
(``absent`` in a profile table: defender's DeviceNetworkEvents and ECS network.protocol, the
application protocol, which Elastic sets on DNS lookups and Sysmon's port names and Defender's
connection rows have no column for). A leaf on it is decided as Elasticsearch decides it on an
event without the field, the assumption is stated, and the fixture adapter leaves out each event
whose value decides the leaf otherwise (targets/kql/absent.py)."""

from __future__ import annotations

from eqlc import parse_query
from eqlc.result import Status
from eqlc.rule import Rule
from eqlc.targets.kql import TARGET
from tests.test_kql_optional_absent import judged


def _rule(text: str) -> Rule:
    return Rule(query=parse_query(text), query_text=text, name="kql table absent")


def _conn(_id: str, protocol: str | None, port: int = 443) -> dict:
    event: dict = {"_id": _id, "@timestamp": "2026-01-01T00:00:00Z",
                   "event": {"category": ["network"], "type": ["start"]},
                   "host": {"id": "dev-1", "os": {"type": "windows"}},
                   "process": {"name": "WerFault.exe", "pid": 10},
                   "destination": {"ip": "203.0.113.9", "port": port}}
    if protocol is not None:
        event["network"] = {"protocol": protocol}
    return event


EVENTS = [_conn("no-protocol", None), _conn("sysmon-https", "https"), _conn("dns-lookup", "dns", port=53),
          _conn("other-port", None, port=80)]


def test_a_negated_protocol_test_holds_on_every_row_and_events_it_decides_otherwise_are_left_out():
    tr, got, want, out = judged(_rule('network where process.name : "werfault.exe" and network.protocol != "dns" and '
                                      'destination.port == 443'), EVENTS, "defender")
    assert tr.status is Status.ASSUMPTIONS
    assert "protocol" not in tr.output.lower().replace("network.transport", "")  # decided, no column read
    assert any(n.startswith("network.protocol has no column in DeviceNetworkEvents (profile defender): its rows are "
                            "taken to carry none") for n in tr.notes), tr.notes
    assert set(out) == {"dns-lookup"}, out
    assert got == want == ["no-protocol", "sysmon-https"]


def test_a_positive_protocol_test_can_never_hold_on_the_table():
    tr = TARGET.compile(_rule('network where network.protocol == "dns" and process.name == "x.exe"'), profile="defender")
    assert tr.status is Status.REFUSED and tr.notes[0].startswith("the condition can never hold"), tr.notes


def test_the_asim_profile_does_not_read_it_as_absent():
    tr = TARGET.compile(_rule('network where network.protocol != "dns"'), profile="sentinel-asim")
    assert tr.status is Status.REFUSED and "network.protocol has no column" in tr.notes[0]


def test_microsoft_parser_reports_no_diagnostic():
    from tests.node.kusto import analyse, declared_tables

    tr = TARGET.compile(_rule('sequence by process.entity_id with maxspan=5s '
                              '[process where process.name : "werfault.exe"] '
                              '[network where process.name : "werfault.exe" and network.protocol != "dns"]'), profile="defender")
    assert tr.status is Status.ASSUMPTIONS, tr.notes
    assert analyse([tr.output], declared_tables("defender")) == [[]]
