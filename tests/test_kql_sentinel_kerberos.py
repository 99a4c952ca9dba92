"""Kerberos client addresses on the sentinel profile (kqlkerb, issue 13).

Windows writes the client address of the Kerberos events as IPv6 text, an IPv4 client as the
IPv4-mapped ``::ffff:a.b.c.d`` (MicrosoftDocs windows-itpro-docs auditing/event-4768.md, its sample
event's IpAddress ``::ffff:10.0.0.12``). Elastic's System integration copies IpAddress into source.ip
unchanged (standard.yml "Rename Common Auth Fields"), an ECS ``ip`` field that Elasticsearch
compares and joins as the address ``a.b.c.d``. SecurityEvent's source.ip expression reads that
spelling so (sentinel.yaml ``ip_text: v4_mapped``): an equality with ``10.0.0.5``, a cidrMatch and
a sequence joined on source.ip select on duckdb-kql what the matcher, given the ip mapping, selects
when the rows hold the address as Windows writes it.

The fixture adapter still leaves an event spelling its source.ip ``::ffff:`` out of verification
(raw_tables.IpText): the reference matcher given no index mapping reads source.ip as a dynamic
keyword and compares its text. So these tests build the rows of canonical events through the
adapter and then write IpAddress as Windows does, which is the raw row of the same ECS event.
Microsoft's Kusto parser checks every query."""

from __future__ import annotations

import copy

import duckdb_kql

from eqlc import parse_query
from eqlc.matcher import matcher
from eqlc.result import Status
from eqlc.rule import Rule
from eqlc.targets.kql import TARGET
from eqlc.targets.kql.adapter import ID_COLUMN, _ids_of, _run_sequence, connect, load_for
from eqlc.targets.kql.raw_tables import v4_mapped_reading
from tests.node.kusto import analyse, declared_tables

WINDOWS = ("logs-system.security*", "logs-windows.forwarded*", "winlogbeat-*")
# Elastic's integrations map source.ip as an ECS ``ip`` field (the matcher is told so)
IP_MAPPING = {"properties": {"source": {"properties": {"ip": {"type": "ip"}}}}}


def _rule(text: str) -> Rule:
    return Rule(query=parse_query(text), query_text=text, name="kql kerberos", index=WINDOWS)


def _ticket(_id: str, code: str, src: str, port: int, ts: str) -> dict:
    return {"_id": _id, "@timestamp": ts, "event": {"category": ["authentication"], "code": code},
            "host": {"os": {"type": "windows"}}, "source": {"ip": src, "port": port},
            "winlog": {"event_data": {"TargetUserName": "alice"}}}


def _as_windows_writes(rule: Rule, events: list[dict], spelled: dict[str, str]):
    """(translation, the SecurityEvent rows of ``events`` (canonical source.ip) with IpAddress
    rewritten to ``spelled[id]``, the ECS events with source.ip so spelled)."""
    tr = TARGET.compile(rule, profile="sentinel")
    assert tr.status is Status.ASSUMPTIONS and tr.output, tr.notes
    assert TARGET.outside_assumptions(rule, tr, events, profile="sentinel") == {}
    loaded = copy.deepcopy(load_for(tr, events, "sentinel"))
    _cols, rows = loaded.tables["SecurityEvent"]
    assert sorted(r[ID_COLUMN] for r in rows) == sorted(e["_id"] for e in events)
    for r in rows:
        if r[ID_COLUMN] in spelled:
            assert v4_mapped_reading(spelled[r[ID_COLUMN]]) == r["IpAddress"]
            r["IpAddress"] = spelled[r[ID_COLUMN]]
    raw = [{**e, "source": {**e["source"], "ip": spelled.get(e["_id"], e["source"]["ip"])}} for e in events]
    return tr, loaded, raw


def _select(tr, loaded) -> list[str]:
    con = connect(loaded, tr.output)
    return sorted(_ids_of(duckdb_kql.kql(con, tr.output)))


def _tickets(*specs: tuple[str, str, str, int, str]) -> list[dict]:
    """One Kerberos ticket event per (id, event code, client address, client port, time)."""
    return [_ticket(*spec) for spec in specs]


def _ticket_pair(tgt: str, tgs: str, tgt_ip: str, tgs_ip: str, port: int, hour: int) -> list[dict]:
    """A TGT request (4768) and, a second later from the next client port, a service ticket request (4769)."""
    return _tickets((tgt, "4768", tgt_ip, port, f"2026-01-01T{hour:02d}:00:00Z"),
                    (tgs, "4769", tgs_ip, port + 1, f"2026-01-01T{hour:02d}:00:01Z"))


TICKETS = _tickets(
    ("mapped", "4768", "10.0.0.5", 49273, "2026-01-01T00:00:00Z"),
    ("mapped-upper", "4769", "10.0.0.5", 49274, "2026-01-01T00:00:01Z"),
    ("dotted", "4769", "10.0.0.5", 49275, "2026-01-01T00:00:02Z"),
    ("other", "4768", "10.0.0.6", 49276, "2026-01-01T00:00:03Z"),
    ("ipv6", "4768", "fe80::1", 49277, "2026-01-01T00:00:04Z"),
    ("loopback", "4768", "127.0.0.1", 49278, "2026-01-01T00:00:05Z"),
)
SPELLED = {"mapped": "::ffff:10.0.0.5", "mapped-upper": "::FFFF:10.0.0.5", "other": "::ffff:10.0.0.6",
           "loopback": "::ffff:127.0.0.1"}


def test_v4_mapped_client_address_equals_its_ipv4_address():
    rule = _rule('authentication where event.code in ("4768", "4769") and source.ip == "10.0.0.5"')
    tr, loaded, raw = _as_windows_writes(rule, TICKETS, SPELLED)
    m = matcher(rule, mapping=IP_MAPPING)
    want = sorted(e["_id"] for e in raw if m.match(e))
    assert _select(tr, loaded) == want == ["dotted", "mapped", "mapped-upper"]
    # the reference without the ip mapping compares text: the reason the adapter leaves these out
    assert sorted(e["_id"] for e in raw if matcher(rule).match(e)) == ["dotted"]
    assert any("::ffff:a.b.c.d" in n for n in tr.notes), tr.notes
    assert analyse([tr.output], declared_tables("sentinel")) == [[]], tr.output


def test_v4_mapped_client_address_is_not_loopback_text():
    rule = _rule('authentication where event.code == "4768" and source.ip != null and source.ip != "127.0.0.1"')
    tr, loaded, raw = _as_windows_writes(rule, TICKETS, SPELLED)
    m = matcher(rule, mapping=IP_MAPPING)
    want = sorted(e["_id"] for e in raw if m.match(e))
    assert _select(tr, loaded) == want == ["ipv6", "mapped", "other"]


def test_v4_mapped_client_address_in_cidr_block():
    rule = _rule('authentication where event.code == "4768" and cidrMatch(source.ip, "10.0.0.0/8")')
    tr, loaded, raw = _as_windows_writes(rule, TICKETS, SPELLED)
    m = matcher(rule, mapping=IP_MAPPING)
    want = sorted(e["_id"] for e in raw if m.match(e))
    assert _select(tr, loaded) == want == ["mapped", "other"]
    assert analyse([tr.output], declared_tables("sentinel")) == [[]], tr.output


def test_sequence_joins_the_two_spellings_of_one_address():
    """A TGT then a service ticket from one client: the 4768 spelled ::ffff:, the 4769 dotted (and
    the reverse). Elasticsearch joins them on the address; the query's join key reads the same."""
    text = ('sequence by source.ip with maxspan=5s [authentication where event.code == "4768"] '
            '[authentication where event.code == "4769"]')
    rule = _rule(text)
    events = [*_ticket_pair("tgt", "tgs", "10.0.0.7", "10.0.0.7", 50001, 1),
              *_ticket_pair("tgt-b", "tgs-b", "10.0.0.8", "10.0.0.8", 50003, 2),
              *_ticket_pair("tgt-c", "tgs-c", "10.0.0.9", "10.0.0.10", 50005, 3)]
    spelled = {"tgt": "::ffff:10.0.0.7", "tgs-b": "::ffff:10.0.0.8", "tgt-c": "::ffff:10.0.0.9",
               "tgs-c": "::ffff:10.0.0.10"}
    tr, loaded, raw = _as_windows_writes(rule, events, spelled)
    got = sorted(_run_sequence(tr.plan, loaded, raw, "sentinel", None, tr.output))
    want = sorted(dict.fromkeys(e["_id"] for m in matcher(rule, mapping=IP_MAPPING).run(raw, sort=True) for e in m.events))
    assert got == want == ["tgs", "tgs-b", "tgt", "tgt-b"], (got, want)
    assert analyse([tr.output], declared_tables("sentinel")) == [[]], tr.output


# ---- Sysmon 3's network fields on Event (the network step of the Kerberos correlation rule) -----
SYSMON = ("logs-windows.sysmon_operational-*",)
# the network step of windows/lateral_movement_credential_access_kerberos_correlation.toml, its
# Sysmon event pinned (event.code 3) and without its user.id clause (user.id of a Sysmon event is
# the System UserID, which Event records only as the rendered UserName: value-mapped since kqlkerb3,
# tests/test_kql_sentinel_kerberos_joint.py)
# the rule's process exclusions of that step (also read by tests/test_kql_sentinel_kerberos_joint.py)
KERBEROS_EXCLUDED_PROCESSES = r'''
  process.executable != null and process.pid != 4 and
  not process.executable : (
        "?:\\Windows\\system32\\lsass.exe",
        "\\device\\harddiskvolume*\\windows\\system32\\lsass.exe",
        "\\device\\harddiskvolume*\\windows\\system32\\svchost.exe"
  ) and'''
# the rule's loopback exclusions of that step
KERBEROS_NOT_LOOPBACK = 'source.ip != "127.0.0.1" and destination.ip != "::1" and destination.ip != "127.0.0.1"'
KERBEROS_CONNECTION = ('\nnetwork where host.os.type == "windows" and event.code == "3" and destination.port == 88 and'
                       + KERBEROS_EXCLUDED_PROCESSES + "\n  " + KERBEROS_NOT_LOOPBACK + "\n")


def _sysmon_rule(text: str) -> Rule:
    return Rule(query=parse_query(text), query_text=text, name="kql sysmon network", index=SYSMON)


def _connection(_id: str, exe: str | None, pid: int, src: str, sport: int, dst: str, dport: int,
                ts: str = "2026-01-01T00:00:00Z", code: str = "3") -> dict:
    e: dict = {"_id": _id, "@timestamp": ts, "event": {"category": ["network"], "code": code},
               "host": {"os": {"type": "windows"}}, "process": {"pid": pid},
               "source": {"ip": src, "port": sport}, "destination": {"ip": dst, "port": dport}}
    if exe is not None:
        e["process"]["executable"] = exe
    return e


CONNECTIONS = [
    _connection("hit", "C:\\Users\\a\\rubeus.exe", 4412, "10.0.0.5", 50000, "10.0.0.1", 88),
    _connection("hit-v6", "C:\\Users\\a\\rubeus.exe", 4412, "fe80::5", 50001, "fe80::1", 88),
    _connection("lsass", "C:\\Windows\\System32\\lsass.exe", 700, "10.0.0.5", 50002, "10.0.0.1", 88),
    _connection("svchost-wfp", "\\device\\harddiskvolume2\\windows\\system32\\svchost.exe", 900, "10.0.0.5", 50003,
                "10.0.0.1", 88),
    _connection("system", "System", 4, "10.0.0.5", 50004, "10.0.0.1", 88),
    _connection("https", "C:\\Users\\a\\rubeus.exe", 4412, "10.0.0.5", 50005, "10.0.0.1", 443),
    _connection("loopback", "C:\\Users\\a\\rubeus.exe", 4412, "127.0.0.1", 50006, "10.0.0.1", 88),
    _connection("to-loopback6", "C:\\Users\\a\\rubeus.exe", 4412, "::1", 50007, "::1", 88),
    _connection("no-image", None, 4412, "10.0.0.5", 50008, "10.0.0.1", 88),
    # an address spelled otherwise than Elasticsearch prints it: outside the ip_text assumption
    _connection("v6-spelling", "C:\\Users\\a\\rubeus.exe", 4412, "fe80:0:0:0:0:0:0:5", 50009, "fe80::1", 88),
]


def test_sysmon_network_connection_on_duckdb_kql():
    rule = _sysmon_rule(KERBEROS_CONNECTION)
    tr = TARGET.compile(rule, profile="sentinel")
    assert tr.status is Status.ASSUMPTIONS and tr.output, tr.notes
    assert tr.output.startswith("Event\n") and 'EventLog == "Microsoft-Windows-Sysmon/Operational"' in tr.output
    assert '<Data Name="DestinationPort">' in tr.output and '<Data Name="SourceIp">' in tr.output
    out = TARGET.outside_assumptions(rule, tr, CONNECTIONS, profile="sentinel")
    assert set(out) == {"v6-spelling"}, out
    got = sorted(TARGET.execute(tr, CONNECTIONS, profile="sentinel"))
    m = matcher(rule)
    want = sorted(e["_id"] for e in CONNECTIONS if m.match(e) and e["_id"] not in out)
    assert got == want == ["hit", "hit-v6"], (got, want)
    assert analyse([tr.output], declared_tables("sentinel")) == [[]], tr.output


def test_sysmon_process_id_of_process_access_is_the_source_process():
    """process.pid of Sysmon 10 (ProcessAccess) is its SourceProcessId (the pipeline's later convert)."""
    rule = _sysmon_rule('process where event.code == "10" and process.pid == 4412')
    events = [
        {"_id": "src", "@timestamp": "2026-01-01T00:00:00Z", "event": {"category": ["process"], "code": "10"},
         "process": {"pid": 4412}},
        {"_id": "other", "@timestamp": "2026-01-01T00:00:01Z", "event": {"category": ["process"], "code": "10"},
         "process": {"pid": 4413}},
    ]
    tr = TARGET.compile(rule, profile="sentinel")
    assert tr.status is Status.ASSUMPTIONS and tr.output, tr.notes
    assert '<Data Name="SourceProcessId">' in tr.output
    assert TARGET.outside_assumptions(rule, tr, events, profile="sentinel") == {}
    assert TARGET.execute(tr, events, profile="sentinel") == ["src"]
    # the row Windows writes for it holds SourceProcessId (not ProcessId): the adapter wrote it there
    loaded = load_for(tr, events, "sentinel")
    _cols, rows = loaded.tables["Event"]
    assert any('<Data Name="SourceProcessId">4412</Data>' in r["EventData"] for r in rows)


def test_sysmon_connections_joined_on_the_client_socket():
    """Two Sysmon 3 connections of one client socket (source.port, source.ip), the sequence keys of
    the Kerberos correlation rule, read from Event's EventData."""
    text = ('sequence by source.port, source.ip with maxspan=3s '
            '[network where event.code == "3" and destination.port == 88] '
            '[network where event.code == "3" and destination.port == 389]')
    rule = _sysmon_rule(text)
    events = [
        _connection("k1", "C:\\a.exe", 10, "10.0.0.5", 50000, "10.0.0.1", 88, "2026-01-01T00:00:00Z"),
        _connection("l1", "C:\\a.exe", 10, "10.0.0.5", 50000, "10.0.0.1", 389, "2026-01-01T00:00:01Z"),
        # another port of the same client: no pair
        _connection("k2", "C:\\a.exe", 10, "10.0.0.6", 50001, "10.0.0.1", 88, "2026-01-01T00:01:00Z"),
        _connection("l2", "C:\\a.exe", 10, "10.0.0.6", 50002, "10.0.0.1", 389, "2026-01-01T00:01:01Z"),
        # past maxspan
        _connection("k3", "C:\\a.exe", 10, "10.0.0.7", 50003, "10.0.0.1", 88, "2026-01-01T00:02:00Z"),
        _connection("l3", "C:\\a.exe", 10, "10.0.0.7", 50003, "10.0.0.1", 389, "2026-01-01T00:02:04Z"),
    ]
    tr = TARGET.compile(rule, profile="sentinel")
    assert tr.status is Status.ASSUMPTIONS and tr.output, tr.notes
    assert TARGET.outside_assumptions(rule, tr, events, profile="sentinel") == {}
    got = sorted(TARGET.execute(tr, events, profile="sentinel"))
    want = sorted(dict.fromkeys(e["_id"] for m in matcher(rule).run(events, sort=True) for e in m.events))
    assert got == want == ["k1", "l1"], (got, want)
    assert analyse([tr.output], declared_tables("sentinel")) == [[]], tr.output


def test_sysmon_network_rule_verifies_on_its_witnesses():
    from eqlc.verify import target_specs, verify_rule

    v = verify_rule(_sysmon_rule(KERBEROS_CONNECTION), target_specs(["kql:sentinel"]))
    run = v.runs[0]
    assert run.verdict == "verified", (run.verdict, run.scope)
    assert run.scope.in_scope_positives > 0
