"""Process ids, agents, domains, integrity level and registry hives mapped from Microsoft's table
references (issue 13, the "user, group and logon fields, process ids, domains and agents" family).
Each query runs on duckdb-kql through the fixture adapter (the same profile YAML) and must select
exactly what the reference matcher selects among the events inside the stated assumptions, with
positives inside; the events the adapter leaves out are asserted too, so a check that excludes
everything cannot pass. Microsoft's Kusto parser must accept every query."""

from __future__ import annotations

import pytest

from eqlc.matcher import matcher
from eqlc.result import Status
from eqlc.targets.kql import TARGET
from tests.node.kusto import analyse, declared_tables
from tests.test_kql_mapping_gaps import _ev, _rule, _run

PROCESSES = [
    _ev("p7", "process", event__type=["start"], process__name="sh", process__executable="/bin/sh", process__pid=70, process__parent__pid=7),
    _ev("p8", "process", event__type=["start"], process__name="sh", process__executable="/bin/sh", process__pid=80, process__parent__pid=8),
    _ev("p-none", "process", event__type=["start"], process__name="sh", process__executable="/bin/sh", process__pid=90),
]

CONNECTIONS = [
    _ev("eth", "network", event__type=["start"], destination__domain="eth-mainnet.example.com", destination__port=443),
    _ev("ETH", "network", event__type=["start"], destination__domain="ETH-mainnet.example.com", destination__port=443),
    _ev("other", "network", event__type=["start"], destination__domain="example.org", destination__port=443),
    _ev("no-domain", "network", event__type=["start"], destination__port=8080),
    # not a domain: the host part the query cuts from RemoteUrl is "eth-mainnet.example.com", not
    # the ECS value (outside the stated reading)
    _ev("url", "network", event__type=["start"], destination__domain="eth-mainnet.example.com/x", destination__port=443),
    _ev("port", "network", event__type=["start"], destination__domain="ethereum.example.com:8545", destination__port=8545),
]

def _reg(_id: str, hive: str, path: str) -> dict:
    key, value = path.split("\\", 1)[1].rsplit("\\", 1)
    return _ev(_id, "registry", event__type=["change"], registry__hive=hive, registry__key=key, registry__path=path,
               registry__value=value)


HIVES = [
    _reg("hklm", "HKLM", "HKLM\\SOFTWARE\\Run\\v"),
    _reg("users", "HKEY_USERS", "HKEY_USERS\\S-1-5-21\\SOFTWARE\\Run\\v"),
    # the same hive spelt HKU: the rule's list does not name it, the query (HKEY_USERS) does, so the
    # condition depends on the spelling (outside the stated assumption)
    _reg("hku", "HKU", "HKU\\S-1-5-21\\SOFTWARE\\Run\\v"),
    _reg("hkcu", "HKCU", "HKCU\\SOFTWARE\\Run\\v"),
    # registry.hive names another hive than its path: not a row the table can hold
    _reg("odd", "HKLM", "HKEY_USERS\\S-1-5-21\\SOFTWARE\\Run\\v"),
]

def _il(_id: str, level) -> dict:
    e = _ev(_id, "process", event__type=["start"], process__name="cmd.exe", process__executable="C:\\cmd.exe")
    if level is not None:
        e["process"]["Ext"] = {"token": {"integrity_level_name": level}}
    return e


LEVELS = [_il("sys", "system"), _il("Sys", "System"), _il("SYS", "SYSTEM"), _il("high", "high"), _il("none", None)]

# (profile, query, events, selected, left out)
CASES = [
    # Defender ProcessIntegrityLevel, value-mapped: SYSTEM is not a listed spelling; under `==`, an
    # event spelt "System" has the row value of "system" but another truth (left out)
    ("defender", 'process where process.Ext.token.integrity_level_name : "System"', LEVELS, {"sys", "Sys"}, {"SYS"}),
    ("defender", 'process where process.Ext.token.integrity_level_name == "system"', LEVELS, {"sys"}, {"SYS", "Sys"}),
    ("defender", 'process where process.Ext.token.integrity_level_name != "system"', LEVELS, {"high", "none"}, {"SYS", "Sys"}),
    ("defender", 'process where ?process.Ext.token.integrity_level_name : ("high", "medium")', LEVELS, {"high"}, {"SYS"}),
    # registry.hive is RegistryKey's first segment, the rule's spellings rewritten to the full names
    *[(p, 'registry where registry.hive : ("HKEY_USERS", "HKLM") and registry.value == "v"', HIVES, {"hklm", "users"}, {"hku", "odd"})
      for p in ("defender", "sentinel-asim")],
    *[(p, 'registry where registry.hive != "HKEY_CURRENT_USER"', HIVES, {"hklm", "users", "hku"}, {"hkcu", "odd"})
      for p in ("defender", "sentinel-asim")],
    # Defender DeviceNetworkEvents: destination.domain is the host part of RemoteUrl
    ("defender", 'network where destination.domain like ("eth-mainnet*", "ethereum*")', CONNECTIONS, {"eth"}, {"url", "port"}),
    ("defender", 'network where destination.domain : "eth-mainnet*"', CONNECTIONS, {"eth", "ETH"}, {"url", "port"}),
    ("defender", 'network where destination.domain == null and destination.port == 8080', CONNECTIONS, {"no-domain"}, {"url", "port"}),
    ("defender", 'network where destination.domain != "example.org"', CONNECTIONS, {"eth", "ETH", "no-domain"}, {"url", "port"}),
    # ASIM imProcessCreate: the acting process is ECS's parent (ActingProcessId)
    ("sentinel-asim", 'process where process.parent.pid == 7 and process.name == "sh"', PROCESSES, {"p7"}, set()),
    # `!=` holds on an event without the field (Elasticsearch's must_not), and ActingProcessId is ""
    ("sentinel-asim", 'process where process.parent.pid != 7', PROCESSES, {"p8", "p-none"}, set()),
]

def _agent_proc(_id: str, ts: str, name: str, agent, host: str) -> dict:
    e = _ev(_id, "process", event__type=["start"], process__name=name, process__executable=f"/usr/bin/{name}")
    e["@timestamp"] = ts
    if host is None:
        del e["host"]["id"]
    else:
        e["host"]["id"] = host
    if agent is not None:
        e["agent"] = {"id": agent}
    return e


T0, T1 = "2026-01-01T00:00:00Z", "2026-01-01T00:00:01Z"
AGENTS = [
    _agent_proc("x1", T0, "a", "A", "h1"), _agent_proc("x2", T1, "b", "A", "h1"),
    # two agents on one device: the query joins them (same DeviceId), Elasticsearch does not
    _agent_proc("y1", T0, "a", "B", "h2"), _agent_proc("y2", T1, "b", "C", "h2"),
    # no agent.id: Elasticsearch joins nothing, the query joins on the device
    _agent_proc("z1", T0, "a", None, "h3"), _agent_proc("z2", T1, "b", None, "h3"),
    # one agent id on two devices: Elasticsearch joins them, the query does not
    _agent_proc("w1", T0, "a", "D", "h4"), _agent_proc("w2", T1, "b", "D", "h5"),
    # no host.id: the row is on its agent's device (every row has one), so agents E and F stay apart
    _agent_proc("v1", T0, "a", "E", None), _agent_proc("v2", T1, "b", "E", None), _agent_proc("u2", T1, "b", "F", None),
]
AGENT_SEQUENCE = 'sequence by agent.id with maxspan=1m [process where process.name == "a"] [process where process.name == "b"]'

SEQUENCES = [
    *[(p, AGENT_SEQUENCE, AGENTS, {"x1", "x2", "v1", "v2"}, {"y1", "y2", "z1", "z2", "w1", "w2"}) for p in ("defender", "sentinel-asim")],
    # a network connection by pid 7, then a child of pid 7: joined on SrcProcessId == ActingProcessId
    ("sentinel-asim",
     'sequence by host.id [network where destination.port == 53] by process.pid '
     '[process where process.name == "sh"] by process.parent.pid',
     [_ev("n7", "network", event__type=["start"], destination__port=53, process__pid=7),
      *[dict(e, **{"@timestamp": "2026-01-01T00:00:01Z"}) for e in PROCESSES]],
     {"n7", "p7"}, set()),
]


@pytest.mark.parametrize("profile,text,events,selected,outside", CASES, ids=[f"{c[0]}:{c[1][:50]}" for c in CASES])
def test_selection_equals_the_matcher_inside_the_assumptions(profile, text, events, selected, outside):
    tr, got, want, out = _run(profile, text, events)
    assert got == want == selected, tr.output
    assert set(out) == outside, out


@pytest.mark.parametrize("profile,text,events,selected,outside", SEQUENCES, ids=[f"{c[0]}:{c[1][:50]}" for c in SEQUENCES])
def test_sequences_agree_with_the_matcher(profile, text, events, selected, outside):
    """Sequences run offline as their legs on duckdb-kql plus the scan model (targets/kql/scan.py)."""
    rule = _rule(text)
    tr = TARGET.compile(rule, profile=profile)
    assert tr.status is Status.ASSUMPTIONS and tr.output, tr.notes
    out = TARGET.outside_assumptions(rule, tr, events, profile=profile)
    got = TARGET.execute(tr, events, profile=profile)
    inside = [e for e in events if e["_id"] not in out]
    want = list(dict.fromkeys(e["_id"] for m in matcher(rule).run(inside, sort=True) for e in m.events))
    assert sorted(got) == sorted(want) == sorted(selected), tr.output
    assert set(out) == outside, out


def test_microsoft_parser_accepts_every_case():
    tables: dict = {}
    for p in ("defender", "sentinel-asim"):
        tables.update(declared_tables(p))
    queries = [TARGET.compile(_rule(c[1]), profile=c[0]).output for c in CASES + SEQUENCES]
    assert analyse(queries, tables) == [[] for _ in queries]


@pytest.mark.parametrize("profile", ["defender", "sentinel-asim"])
def test_agent_id_is_a_join_key_only(profile):
    """agent.id's values are Elastic's, DeviceId/DvcId the vendor's: a condition on it is refused,
    and the join key states what it assumes."""
    tr = TARGET.compile(_rule('process where agent.id == "A"'), profile=profile)
    assert tr.status is Status.REFUSED, tr.output
    tr = TARGET.compile(_rule(AGENT_SEQUENCE), profile=profile)
    assert any("one agent per host" in n for n in tr.notes), tr.notes
    # both read from one column: refused rather than reading an event's missing host.id as its agent's device
    tr = TARGET.compile(_rule(AGENT_SEQUENCE.replace('name == "b"', 'name == "b" and host.id != "h1"')), profile=profile)
    assert tr.status is Status.REFUSED and "reads too" in tr.notes[0], tr.notes


@pytest.mark.parametrize("profile,field,says", [
    ("defender", "process.real_user.id", "Windows SIDs only"),
    ("defender", "process.parent.group.id", "Windows SIDs only"),
    ("sentinel-asim", "process.user.id", "no effective, real or saved user id or group id"),
])
def test_a_field_no_column_holds_is_refused_saying_why(profile, field, says):
    """Profile YAML `unmapped`: the refusal names what the vendor's reference records instead."""
    tr = TARGET.compile(_rule(f'process where {field} == "0"'), profile=profile)
    assert tr.status is Status.REFUSED
    assert tr.notes[0].startswith(f"field {field} has no column in ") and says in tr.notes[0], tr.notes
