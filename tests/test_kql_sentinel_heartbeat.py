"""The agent host's addresses on the sentinel profile (kqlhb, issue 13): ECS host.ip read from the
latest Heartbeat of the SecurityEvent row's Computer (sentinel.yaml `agent_ips` lookup), host.name
as Computer, file.name of share access events, and ``indexOf(a, b) == null`` in scripts. The
queries run on duckdb-kql through the fixture adapter (which writes the Heartbeat rows from the
events' host.ip) against the reference matcher; the events the stated assumptions leave out are
asserted too, and Microsoft's Kusto parser checks every query."""

from __future__ import annotations

import pytest

from eqlc import parse_query
from eqlc.matcher import matcher
from eqlc.result import Status
from eqlc.rule import Rule
from eqlc.targets.kql import TARGET
from eqlc.targets.kql.adapter import load_for
from tests.node.kusto import analyse, declared_tables

WINDOWS = ("logs-system.security*", "logs-windows.forwarded*", "winlogbeat-*")

# the shape of windows/credential_access_dollar_account_relay.toml
RELAY = r'''
authentication where host.os.type == "windows" and event.code in ("4624", "4625") and
 winlog.logon.type == "Network" and winlog.event_data.AuthenticationPackageName == "NTLM" and
 endswith~(user.name, "$") and user.name != "$" and
 source.ip != null and source.ip != "::1" and source.ip != "127.0.0.1" and
 startswith~(host.name, substring(user.name, 0, -1)) and
 (startswith~(substring(user.name, 0, -1), host.name) or startswith~(host.name, concat(substring(user.name, 0, -1), "."))) and
 not endswith(string(source.ip), string(host.ip)) and
 indexOf(string(host.ip), string(source.ip)) == null
'''

# the shape of windows/credential_access_dollar_account_relay_ntlm.toml
RELAY_NTLM = r'''
sequence by winlog.computer_name, source.ip with maxspan=5s
[file where host.os.type == "windows" and event.code : "5145" and
    not startswith~(winlog.computer_name, substring(user.name, 0, -1)) and
    file.name : ("Spoolss", "netdfs", "lsarpc")]
[authentication where host.os.type == "windows" and event.code in ("4624", "4625") and
    endswith~(user.name, "$") and winlog.logon.type : "network" and
    winlog.event_data.AuthenticationPackageName : "NTLM" and
    startswith~(winlog.computer_name, substring(user.name, 0, -1)) and
    not endswith(string(source.ip), string(host.ip)) and
    source.ip != null and source.ip != "::1" and source.ip != "127.0.0.1"]
'''


def _rule(text: str) -> Rule:
    return Rule(query=parse_query(text), query_text=text, name="kql heartbeat", index=WINDOWS)


def _logon(_id: str, host: str | None, user: str, src: str, ips, ts: str = "2026-01-01T00:00:00Z", code: str = "4624",
           computer: str | None = None) -> dict:
    e: dict = {"_id": _id, "@timestamp": ts, "event": {"category": ["authentication"], "code": code},
               "host": {"os": {"type": "windows"}}, "user": {"name": user}, "source": {"ip": src},
               "winlog": {"logon": {"type": "Network"},
                          "event_data": {"AuthenticationPackageName": "NTLM", "TargetUserName": user,
                                         "LogonType": "3", "IpAddress": src}}}
    if host is not None:
        e["host"]["name"] = host
    if ips is not None:
        e["host"]["ip"] = ips
    if computer is not None:
        e["winlog"]["computer_name"] = computer
    return e


RELAY_EVENTS = [
    _logon("hit", "dc01.corp.local", "DC01$", "10.0.0.9", ["10.0.0.5"]),
    _logon("hit-short", "dc02", "dc02$", "10.0.0.9", ["10.0.0.6"], code="4625"),
    # the source is the host's own address
    _logon("self", "dc03", "DC03$", "10.0.0.7", ["10.0.0.7"]),
    # the source ends with the host's address (endsWith, not equality)
    _logon("suffix", "dc04", "DC04$", "10.0.0.9", ["0.0.0.9"]),
    # the host's address contains the source (indexOf)
    _logon("contains", "dc05", "DC05$", "10.0.0.1", ["110.0.0.12"]),
    # no address: the scripts are null, the rule false
    _logon("no-ip", "dc06", "DC06$", "10.0.0.9", None),
    # another machine's account
    _logon("other-account", "dc07", "WS01$", "10.0.0.9", ["10.0.0.8"]),
    # the host name is the account's name with more after it, not a dot
    _logon("longer-host", "dc080", "DC08$", "10.0.0.9", ["10.0.0.10"]),
    # two addresses: Heartbeat's one-address reading does not hold (outside)
    _logon("two-ips", "dc09", "DC09$", "10.0.0.9", ["10.0.0.11", "10.0.0.12"]),
    # one computer, two addresses over time: the latest Heartbeat states the later one (the earlier
    # event is outside the lookup's assumption)
    _logon("moved-early", "dc10", "DC10$", "10.0.0.9", ["10.0.0.13"], ts="2026-01-01T00:00:01Z"),
    _logon("moved-late", "dc10", "DC10$", "10.0.0.13", ["10.0.0.14"], ts="2026-01-01T00:00:02Z"),
    # forwarded: host.* is the collector, winlog.computer_name the origin (outside the mapping)
    _logon("forwarded", "wec01", "DC11$", "10.0.0.9", ["10.0.0.15"], computer="dc11.corp.local"),
    # an address spelled otherwise than Elasticsearch prints it (outside the ip_text assumption)
    _logon("ip-spelling", "dc12", "DC12$", "10.0.0.9", ["FE80::1"]),
]


def test_relay_rule_on_duckdb_kql():
    rule = _rule(RELAY)
    tr = TARGET.compile(rule, profile="sentinel")
    assert tr.status is Status.ASSUMPTIONS and tr.output, tr.notes
    assert "| lookup kind=leftouter (Heartbeat | summarize arg_max(TimeGenerated, ComputerPrivateIPs) by Computer" in tr.output
    assert "indexof(HostIp, __source_ip) < 0" in tr.output
    assert any("latest Heartbeat" in n for n in tr.notes)
    out = TARGET.outside_assumptions(rule, tr, RELAY_EVENTS, profile="sentinel")
    assert set(out) == {"two-ips", "moved-early", "forwarded", "ip-spelling"}, out
    assert "latest Heartbeat row of Computer 'dc10'" in out["moved-early"]
    got = sorted(TARGET.execute(tr, RELAY_EVENTS, profile="sentinel"))
    m = matcher(rule)
    want = sorted(e["_id"] for e in RELAY_EVENTS if m.match(e) and e["_id"] not in out)
    assert got == want == ["hit", "hit-short", "moved-late"], (got, want)
    # the excluded events are ones the query would read wrongly: two of them the matcher selects
    assert {e["_id"] for e in RELAY_EVENTS if m.match(e)} >= {"two-ips", "moved-early"}


def test_adapter_writes_heartbeat_rows_as_lists():
    rule = _rule(RELAY)
    tr = TARGET.compile(rule, profile="sentinel")
    loaded = load_for(tr, RELAY_EVENTS, "sentinel")
    cols, rows = loaded.tables["Heartbeat"]
    assert cols["ComputerPrivateIPs"] == "dynamic" and "HostIp" not in cols
    by_computer = {r["Computer"]: r["ComputerPrivateIPs"] for r in rows}
    assert by_computer["dc01.corp.local"] == '["10.0.0.5"]'
    assert by_computer["dc06"] == "[]"
    assert by_computer["dc10"] == '["10.0.0.14"]'


def _share(_id: str, computer: str, user: str, src: str, name: str, ts: str, ips: list) -> dict:
    # every event of the agent carries its host's addresses (add_host_metadata), these too
    return {"_id": _id, "@timestamp": ts, "event": {"category": ["file"], "code": "5145"},
            "host": {"os": {"type": "windows"}, "ip": ips}, "user": {"name": user}, "source": {"ip": src},
            "file": {"name": name}, "winlog": {"computer_name": computer,
                                               "event_data": {"SubjectUserName": user, "IpAddress": src,
                                                              "RelativeTargetName": name}}}


def test_relay_sequence_on_duckdb_kql():
    """The share access and the logon join on the computer and the source address. Elasticsearch's
    optimizer copies every conjunct that reads a join key to the other steps, that step's key in
    its place (PropagateJoinKeyConstraints, x-pack/plugin/eql/.../optimizer/Optimizer.java; the
    matcher does the same): the logon's startsWith~(winlog.computer_name, substring(user.name, 0,
    -1)) lands in the share access step beside its own negation, and the share access's negation
    in the logon step, so no pair of single-valued events matches. The query copies them too
    (query.with_copied_key_constraints) and selects nothing, as the matcher does; without the copy
    it selected s1 and l1."""
    events = [
        _share("s1", "dc01", "alice", "10.0.0.9", "Spoolss", "2026-01-01T00:00:00Z", ["10.0.0.5"]),
        _logon("l1", None, "DC01$", "10.0.0.9", ["10.0.0.5"], ts="2026-01-01T00:00:02Z", computer="dc01"),
        # the coerced logon comes from the host's own address
        _share("s2", "dc02", "bob", "10.0.0.6", "lsarpc", "2026-01-01T00:00:00Z", ["10.0.0.6"]),
        _logon("l2", None, "DC02$", "10.0.0.6", ["10.0.0.6"], ts="2026-01-01T00:00:01Z", computer="dc02"),
        # a pipe the rule does not list
        _share("s3", "dc03", "carol", "10.0.0.9", "other", "2026-01-01T00:00:00Z", ["10.0.0.7"]),
        _logon("l3", None, "DC03$", "10.0.0.9", ["10.0.0.7"], ts="2026-01-01T00:00:01Z", computer="dc03"),
        # too late (maxspan 5s)
        _share("s4", "dc04", "dave", "10.0.0.9", "netdfs", "2026-01-01T00:00:00Z", ["10.0.0.8"]),
        _logon("l4", None, "DC04$", "10.0.0.9", ["10.0.0.8"], ts="2026-01-01T00:00:09Z", computer="dc04"),
    ]
    rule = _rule(RELAY_NTLM)
    tr = TARGET.compile(rule, profile="sentinel")
    assert tr.status is Status.ASSUMPTIONS and tr.output, tr.notes
    assert 'iff(EventID in (5140, 5145), RelativeTargetName, "")' in tr.output
    out = TARGET.outside_assumptions(rule, tr, events, profile="sentinel")
    assert not out, out
    got = sorted(TARGET.execute(tr, events, profile="sentinel"))
    want = sorted(dict.fromkeys(e["_id"] for m in matcher(rule).run(events, sort=True) for e in m.events))
    assert got == want == [], (got, want)
    # each step reads the other's computer-name test on its own user.name
    leg1 = tr.output.split("let __leg2")[0]
    assert "not(Computer startswith substring(" in leg1 and "and Computer startswith substring(" in leg1, leg1
    # without the copied conjuncts, the pair matches (the copy is what keeps them apart)
    loose = RELAY_NTLM.replace("not startswith~(winlog.computer_name, substring(user.name, 0, -1)) and", "")
    rule2 = _rule(loose.replace("startswith~(winlog.computer_name, substring(user.name, 0, -1)) and", ""))
    tr2 = TARGET.compile(rule2, profile="sentinel")
    got2 = sorted(TARGET.execute(tr2, events, profile="sentinel"))
    want2 = sorted(dict.fromkeys(e["_id"] for m in matcher(rule2).run(events, sort=True) for e in m.events))
    assert got2 == want2 and {"l1", "s1"} <= set(got2), (got2, want2)
    # a share access without host.ip on dc01 states no address for it: outside (the later logon's
    # Heartbeat lists one), and the sequence it started with it
    events[0] = {**events[0], "host": {"os": {"type": "windows"}}}
    out = TARGET.outside_assumptions(rule, tr, events, profile="sentinel")
    assert set(out) >= {"s1"}, out


@pytest.mark.parametrize("text,reason", [
    ('authentication where indexOf(host.name, "x", 1) == null', "start offset"),
    ('authentication where indexOf~(host.name, user.name) == null', "case-insensitive"),
    ('authentication where indexOf(host.name, user.name) == 0', "indexOf"),
])
def test_other_index_of_forms_are_refused(text, reason):
    tr = TARGET.compile(_rule(text), profile="sentinel")
    assert tr.status is Status.REFUSED and any(reason in n for n in tr.notes), tr.notes


def test_microsoft_parser_accepts_the_queries():
    queries = [TARGET.compile(_rule(t), profile="sentinel").output for t in (RELAY, RELAY_NTLM)]
    assert analyse(queries, declared_tables("sentinel")) == [[] for _ in queries]
