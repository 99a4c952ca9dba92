"""One sequence over the Sysmon log (Event) and the Security log (SecurityEvent) on the sentinel
profile (kqlkerb2, issue 13): the Kerberos correlation rule's shape.

windows/lateral_movement_credential_access_kerberos_correlation.toml joins a connection to port 88
(Sysmon 3, or the Security log's Windows Filtering Platform 5156) with a Kerberos ticket request
(Security 4768/4769) by source.ip and source.port. A rule naming both logs' indices reads both
tables: each step is a union of one leg per table (the routed-tables machinery, raw_tables._routed,
with ``joint_route``: an event is a row of the table its winlog.channel names), each leg with its
own columns; a leg whose condition no row of its table can satisfy is dropped.

The generated witnesses of such a rule carry Elastic Defend's shape (no event.code, no channel),
which this profile reads as no row of either table, so the rule would verify vacuously on them.
These tests verify on hand-written events shaped as Elastic's pipelines write them instead:

* Sysmon 3 (elastic/integrations packages/windows/data_stream/sysmon_operational/elasticsearch/
  ingest_pipeline/default.yml bf3be6b): event.code "3", event.category [network], process.executable
  from Image, process.pid from ProcessId, source/destination ip and port from SourceIp, SourcePort,
  DestinationIp, DestinationPort; winlog.channel as Elastic's event-log input writes it.
* Security 5156 (packages/windows/data_stream/forwarded/elasticsearch/ingest_pipeline/
  security_standard.yml 06a5bac, "Add Connection Events"): Application -> process.executable (the
  \\device\\harddiskvolumeN spelling), SourceAddress/SourcePort/DestAddress/DestPort -> source.* and
  destination.*, no process.pid.
* Security 4768/4769 ("Rename Common Auth Fields"): IpAddress/IpPort -> source.ip/source.port.

They run through the same fixture adapter as corpus verification (eqlc.verify.verify_rule with a
fixtures file), on duckdb-kql against the matcher, and Microsoft's parser checks the query."""

from __future__ import annotations

import json
from pathlib import Path

from eqlc import parse_query
from eqlc.result import Status
from eqlc.rule import Rule
from eqlc.targets.kql import TARGET
from eqlc.verify import target_specs, verify_rule
from tests.corpus import all_rules, rule_id
from tests.node.kusto import analyse, declared_tables
from tests.test_kql_sentinel_kerberos import KERBEROS_EXCLUDED_PROCESSES, KERBEROS_NOT_LOOPBACK

INDEX = ("logs-windows.sysmon_operational-*", "logs-system.security*", "logs-windows.forwarded*", "winlogbeat-*")
SYSMON_CHANNEL = "Microsoft-Windows-Sysmon/Operational"

# the corpus rule's query without its user.id clause (kqlkerb2; the whole corpus rule, user.id read
# from Event's UserName, is verified below: test_the_corpus_rule_verifies_on_sysmon_and_security_rows)
QUERY = r'''
sequence by source.port, source.ip with maxspan=3s
 [network where host.os.type == "windows" and destination.port == 88 and
@EXCLUDED@
  not process.executable : (
      "C:\\Windows\\System32\\svchost.exe",
      "C:\\Program Files\\VMware\\VMware View\\Server\\bin\\ws_TomcatService.exe"
  ) and
  @NOT_LOOPBACK@]
 [authentication where host.os.type == "windows" and event.code in ("4768", "4769")]
'''.replace("\n@EXCLUDED@", KERBEROS_EXCLUDED_PROCESSES).replace("@NOT_LOOPBACK@", KERBEROS_NOT_LOOPBACK)


def _rule() -> Rule:
    return Rule(query=parse_query(QUERY), query_text=QUERY, name="kql kerberos joint", index=INDEX)


def _sysmon3(_id: str, ts: str, exe: str, pid: int, src: str, sport: int, dst: str, dport: int) -> dict:
    return {"_id": _id, "@timestamp": ts,
            "event": {"category": ["network"], "type": ["start", "connection", "protocol"], "code": "3",
                      "action": "Network connection", "kind": "event", "provider": "Microsoft-Windows-Sysmon"},
            "host": {"os": {"type": "windows"}},
            "winlog": {"channel": SYSMON_CHANNEL, "provider_name": "Microsoft-Windows-Sysmon", "event_id": "3"},
            "process": {"executable": exe, "pid": pid},
            "source": {"ip": src, "port": sport}, "destination": {"ip": dst, "port": dport}}


def _wfp5156(_id: str, ts: str, app: str, src: str, sport: int, dst: str, dport: int) -> dict:
    return {"_id": _id, "@timestamp": ts,
            "event": {"category": ["network"], "type": ["connection", "allowed", "start"], "code": "5156",
                      "kind": "event", "provider": "Microsoft-Windows-Security-Auditing"},
            "host": {"os": {"type": "windows"}},
            "winlog": {"channel": "Security", "provider_name": "Microsoft-Windows-Security-Auditing", "event_id": "5156"},
            "process": {"executable": app, "name": app.rsplit("\\", 1)[-1]},
            "source": {"ip": src, "port": sport}, "destination": {"ip": dst, "port": dport}}


def _ticket(_id: str, ts: str, code: str, src: str, sport: int) -> dict:
    return {"_id": _id, "@timestamp": ts,
            "event": {"category": ["authentication"], "type": ["start"], "code": code, "kind": "event",
                      "provider": "Microsoft-Windows-Security-Auditing"},
            "host": {"os": {"type": "windows"}},
            "winlog": {"channel": "Security", "provider_name": "Microsoft-Windows-Security-Auditing", "event_id": code,
                       "event_data": {"TargetUserName": "alice", "TargetDomainName": "CORP"}},
            "source": {"ip": src, "port": sport}}


RUBEUS = "C:\\Users\\a\\rubeus.exe"
EVENTS = [
    # a Sysmon 3 connection to a DC's port 88, then the DC's 4768 from that socket: a match
    _sysmon3("s3-hit", "2026-01-01T00:00:00.000Z", RUBEUS, 4412, "10.0.0.5", 50000, "10.0.0.1", 88),
    _ticket("tgt-hit", "2026-01-01T00:00:01.000Z", "4768", "10.0.0.5", 50000),
    # the Security log's own record of such a connection (WFP 5156), then a 4769: a match
    _wfp5156("wfp-hit", "2026-01-01T00:01:00.000Z", "\\device\\harddiskvolume2\\users\\a\\rubeus.exe",
             "10.0.0.6", 50100, "10.0.0.1", 88),
    _ticket("tgs-hit", "2026-01-01T00:01:02.000Z", "4769", "10.0.0.6", 50100),
    # lsass (Sysmon) and svchost (WFP spelling): excluded processes, no match
    _sysmon3("s3-lsass", "2026-01-01T00:02:00.000Z", "C:\\Windows\\System32\\lsass.exe", 700, "10.0.0.7", 50200,
             "10.0.0.1", 88),
    _ticket("tgt-lsass", "2026-01-01T00:02:01.000Z", "4768", "10.0.0.7", 50200),
    _wfp5156("wfp-svchost", "2026-01-01T00:03:00.000Z", "\\device\\harddiskvolume2\\windows\\system32\\svchost.exe",
             "10.0.0.8", 50300, "10.0.0.1", 88),
    _ticket("tgs-svchost", "2026-01-01T00:03:01.000Z", "4769", "10.0.0.8", 50300),
    # the ticket more than 3s after the connection: no match
    _sysmon3("s3-late", "2026-01-01T00:04:00.000Z", RUBEUS, 4412, "10.0.0.9", 50400, "10.0.0.1", 88),
    _ticket("tgt-late", "2026-01-01T00:04:05.000Z", "4768", "10.0.0.9", 50400),
    # another source port: no join
    _sysmon3("s3-port", "2026-01-01T00:05:00.000Z", RUBEUS, 4412, "10.0.0.10", 50500, "10.0.0.1", 88),
    _ticket("tgt-port", "2026-01-01T00:05:01.000Z", "4768", "10.0.0.10", 50501),
    # not port 88, and a 4624 logon (not a ticket): no match
    _sysmon3("s3-https", "2026-01-01T00:06:00.000Z", RUBEUS, 4412, "10.0.0.11", 50600, "10.0.0.1", 443),
    _ticket("tgt-https", "2026-01-01T00:06:01.000Z", "4768", "10.0.0.11", 50600),
    _sysmon3("s3-logon", "2026-01-01T00:07:00.000Z", RUBEUS, 4412, "10.0.0.12", 50700, "10.0.0.1", 88),
    _ticket("logon", "2026-01-01T00:07:01.000Z", "4624", "10.0.0.12", 50700),
    # the ticket first, the connection after: no match
    _ticket("tgt-first", "2026-01-01T00:08:00.000Z", "4768", "10.0.0.13", 50800),
    _sysmon3("s3-after", "2026-01-01T00:08:01.000Z", RUBEUS, 4412, "10.0.0.13", 50800, "10.0.0.1", 88),
]
EXPECTED = ["s3-hit", "tgs-hit", "tgt-hit", "wfp-hit"]


def _fixtures(tmp_path: Path, events: list[dict]) -> Path:
    path = tmp_path / "kerberos.ndjson"
    path.write_text("".join(json.dumps(e) + "\n" for e in events), encoding="utf-8")
    return path


def test_sequence_reads_both_logs_each_step_a_union_of_their_legs():
    tr = TARGET.compile(_rule(), profile="sentinel")
    assert tr.status is Status.ASSUMPTIONS and tr.output, tr.notes
    heads = [line.split(" = ")[1] for line in tr.output.splitlines() if line.startswith("let __leg")]
    # step 1 on SecurityEvent (5156) and Event (Sysmon 3); step 2 on SecurityEvent only (no Sysmon
    # event is an authentication event: Event's category per event id)
    assert heads == ["SecurityEvent", "Event", "SecurityEvent"], heads
    assert "EventID in (3, 22)" in tr.output and "EventID in (4768, 4769)" in tr.output
    assert any("step 2's condition is false for every row of Event" in n for n in tr.notes), tr.notes
    assert analyse([tr.output], declared_tables("sentinel")) == [[]], tr.output


def test_sequence_over_sysmon_and_security_rows_verifies_on_duckdb_kql(tmp_path):
    path = _fixtures(tmp_path, EVENTS)
    v = verify_rule(_rule(), target_specs(["kql:sentinel"]), fixtures=path)
    assert sorted(v.reference) == EXPECTED
    run = v.runs[0]
    assert run.error is None and not run.refused and not run.internal_error, run
    assert run.outside == {}, run.outside
    assert sorted(run.selected) == EXPECTED, run.selected
    assert run.verified and not run.vacuous, run.verdict


def test_an_event_of_neither_channel_is_outside(tmp_path):
    """An event whose winlog.channel is neither log's (Elastic Defend's shape, the generated
    witnesses) is a row of neither table: left out, said so, not read as a non-match."""
    defend = {k: v for k, v in EVENTS[0].items() if k != "winlog"}
    defend = {**defend, "_id": "defend", "event": {"category": ["network"]}}
    tr = TARGET.compile(_rule(), profile="sentinel")
    out = TARGET.outside_assumptions(_rule(), tr, [defend, *EVENTS[:2]], profile="sentinel")
    assert set(out) == {"defend"} and "row of none of" in out["defend"], out


def test_sysmon_and_security_indices_read_both_tables_only_together():
    """Sysmon's and the Security log's indices together read both tables (a union, each event in its
    channel's table); each log's own indices still read its one table, as before (winlogbeat-*, which
    both logs' events fill, beside Sysmon's index is the Sysmon log: Event alone)."""
    text = 'any where event.code == "4624"'
    both = TARGET.compile(Rule(query=parse_query(text), query_text=text, name="both",
                               index=("logs-windows.sysmon_operational-*", "logs-system.security*")), profile="sentinel")
    assert both.status is Status.ASSUMPTIONS, both.notes
    assert both.output.startswith("union\n") and "    (SecurityEvent\n" in both.output and "    (Event\n" in both.output, both.output
    assert analyse([both.output], declared_tables("sentinel")) == [[]], both.output
    sysmon = TARGET.compile(Rule(query=parse_query(text), query_text=text, name="sysmon",
                                 index=("logs-windows.sysmon_operational-*", "winlogbeat-*")), profile="sentinel")
    assert sysmon.status is Status.ASSUMPTIONS and sysmon.output.startswith("Event\n"), (sysmon.notes, sysmon.output)


def test_a_sysmon_event_logged_later_than_its_utc_time_is_outside():
    """The query orders and spans Event rows by TimeGenerated, the time Windows logged the record
    (Elastic's event.created), while Elastic's @timestamp of a Sysmon event is its UtcTime: stated
    equal, and an event whose event.created differs is left out (a 2.5s logging delay would move the
    connection out of, or into, the 3s span)."""
    tr = TARGET.compile(_rule(), profile="sentinel")
    assert any("event.created differs is outside" in n for n in tr.notes), tr.notes
    same = {**EVENTS[0], "event": {**EVENTS[0]["event"], "created": EVENTS[0]["@timestamp"]}}
    late = {**EVENTS[0], "_id": "late", "source": {"ip": "10.0.0.99", "port": 50999},
            "event": {**EVENTS[0]["event"], "created": "2026-01-01T00:00:02.500Z"}}
    ticket = {**EVENTS[1], "event": {**EVENTS[1]["event"], "created": "2026-01-01T00:00:09.000Z"}}  # Security: not Event's
    out = TARGET.outside_assumptions(_rule(), tr, [same, late, ticket], profile="sentinel")
    assert set(out) == {"late"} and "event.created" in out["late"], out


def _corpus_rule() -> Rule:
    return next(r for r in all_rules() if rule_id(r) == "windows/lateral_movement_credential_access_kerberos_correlation.toml")


def _as_local_system(event: dict, sid: str = "S-1-5-18") -> dict:
    """A Sysmon event as Elastic's pipeline writes it: user.id is the System UserID, the account
    that logged the event (the Sysmon service, Local System; sysmon_operational default.yml "User
    fields", test-events.json)."""
    return {**event, "user": {"id": sid}}


def test_the_corpus_rule_verifies_on_sysmon_and_security_rows(tmp_path):
    """kqlkerb3: the corpus rule itself, with its user.id clause (Event's UserName, value-mapped to
    the well-known SIDs' names) and Elastic Defend's index (stated absent): svchost.exe seen by
    Sysmon is left out only by that clause, for Local System and Network Service; under another
    account it is kept, as in Elasticsearch. A Defend network event is outside, said so."""
    tr = TARGET.compile(_corpus_rule(), profile="sentinel")
    assert tr.status is Status.ASSUMPTIONS, tr.notes
    assert 'UserName in (@"NT AUTHORITY\\NETWORK SERVICE", @"NT AUTHORITY\\SYSTEM")' in tr.output, tr.output
    assert any("logs-endpoint.events.network-*" in n and "taken to be absent" in n for n in tr.notes), tr.notes
    assert analyse([tr.output], declared_tables("sentinel")) == [[]], tr.output
    svchost = "C:\\Windows\\System32\\svchost.exe"
    events = [_as_local_system(e) if e["winlog"]["channel"] == SYSMON_CHANNEL else e for e in EVENTS] + [
        _as_local_system(_sysmon3("svc-system", "2026-01-01T00:10:00.000Z", svchost, 1200, "10.0.0.20", 51000, "10.0.0.1", 88)),
        _ticket("tgt-svc-system", "2026-01-01T00:10:01.000Z", "4768", "10.0.0.20", 51000),
        _as_local_system(_sysmon3("svc-network", "2026-01-01T00:11:00.000Z", svchost, 1300, "10.0.0.21", 51100, "10.0.0.1", 88),
                         "S-1-5-20"),
        _ticket("tgt-svc-network", "2026-01-01T00:11:01.000Z", "4768", "10.0.0.21", 51100),
        _as_local_system(_sysmon3("svc-user", "2026-01-01T00:12:00.000Z", svchost, 1400, "10.0.0.22", 51200, "10.0.0.1", 88),
                         "S-1-5-21-1004336348-1177238915-682003330-1001"),
        _ticket("tgt-svc-user", "2026-01-01T00:12:01.000Z", "4768", "10.0.0.22", 51200),
        {**_sysmon3("defend", "2026-01-01T00:13:00.000Z", RUBEUS, 4412, "10.0.0.23", 51300, "10.0.0.1", 88),
         "event": {"category": ["network"], "type": ["start"], "module": "endpoint", "dataset": "endpoint.events.network"}},
    ]
    path = _fixtures(tmp_path, events)
    v = verify_rule(_corpus_rule(), target_specs(["kql:sentinel"]), fixtures=path)
    want = sorted([*EXPECTED, "svc-user", "tgt-svc-user"])
    assert sorted(v.reference) == want, v.reference
    run = v.runs[0]
    assert run.error is None and not run.refused and not run.internal_error, run
    assert set(run.outside) == {"defend"} and "logs-endpoint.* is absent" in run.outside["defend"], run.outside
    assert sorted(run.selected) == want, run.selected
    assert run.verified and not run.vacuous, run.verdict


def test_user_id_on_event_translates_only_for_the_well_known_sids():
    """Event records the account only as its rendered name: a SID without a documented name (or any
    other comparison) is refused, not read as absent."""
    for text in ('network where event.code == "3" and user.id == "S-1-5-21-1-2-3-1001"',
                 'network where event.code == "3" and user.id : "S-1-5-*"'):
        tr = TARGET.compile(Rule(query=parse_query(text), query_text=text, name="u",
                                 index=("logs-windows.sysmon_operational-*",)), profile="sentinel")
        assert tr.status is Status.REFUSED and "user.id" in tr.notes[0], (text, tr.notes)


def test_a_legs_per_id_expressions_are_cut_to_its_event_ids():
    """kqlkerb3: each sequence leg computes SecurityEvent's per-id fields only for the ids its filter
    lets through (the ~70 "Rename Common Auth Fields" ids cut to 4768/4769 on the ticket leg), so the
    corpus rule fits Sentinel's 10,000-character query limit and deploys. The leg's stage is rendered
    from the field's branches for those ids (targets/kql/per_event_id.py; tests/test_kql_per_event_id.py)."""
    from eqlc.targets.kql.profile import load_profile

    source_ip = load_profile("sentinel").tables["SecurityEvent"].fields["source.ip"].by_event_id
    tr = TARGET.compile(_corpus_rule(), profile="sentinel")
    ticket_leg = tr.output.split("let __leg3 = ")[1].split(";")[0]
    assert "4624" not in ticket_leg and "EventID in (4768, 4769) and IpPort" in ticket_leg, ticket_leg
    assert f"| extend __source_ip = {source_ip.render(frozenset({4768, 4769}))}" in ticket_leg, ticket_leg
    assert len(tr.output) < 10_000 and any(name.endswith(".sentinel.yaml") for name in tr.artifacts), list(tr.artifacts)
