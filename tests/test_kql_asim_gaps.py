"""sentinel-asim mapping gaps closed from the ASIM schema references (issue 13): file open events
(imFileEvent EventType FileAccessed), DNS questions (ASIM's DNS schema, _Im_Dns DnsQuery), the data set of a process row where a condition asks it
of each event (EventProduct "Sysmon" for the Sysmon data sets). Each query runs on duckdb-kql through the fixture adapter
(the same profile YAML) and must select exactly what the reference matcher selects among the events
inside the stated assumptions, with positives inside; the events the adapter leaves out are asserted
too, so a check that excludes everything cannot pass. Microsoft's Kusto parser checks every query
against the profile's declared tables."""

from __future__ import annotations

import pytest

from eqlc import parse_query
from eqlc.result import Status
from eqlc.rule import Rule
from eqlc.targets.kql import TARGET
from tests.node.kusto import analyse, declared_tables
from tests.test_kql_mapping_gaps import _ev as mapping_gaps_event
from tests.test_kql_mapping_gaps import _run as mapping_gaps_run

PROFILE = "sentinel-asim"


def _rule(text: str) -> Rule:
    return Rule(query=parse_query(text), query_text=text, name="kql asim gaps")


def _ev(_id: str, cat: str, **fields) -> dict:
    return mapping_gaps_event(_id, cat, "macos", **fields)


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

# Elastic's DNS lookup events (network, dns.question.name; Elastic Defend and Sysmon event 22) are
# ASIM DNS rows (_Im_Dns); connection events, with no question, are not.
DNS = [
    _ev("coerce", "network", host__os__type="windows", dns__question__name="a1UWhRCxBAAAAb.corp.example",
        process__executable="C:\\Windows\\System32\\svchost.exe", process__name="svchost.exe"),
    _ev("tld", "network", host__os__type="windows", dns__question__name="evil.top",
        process__executable="C:\\Users\\Public\\x.exe", process__name="x.exe", process__pid=42),
    _ev("TLD", "network", host__os__type="windows", dns__question__name="EVIL.TOP",
        process__executable="C:\\Users\\Public\\X.EXE", process__name="X.EXE", process__pid=43),
    _ev("benign", "network", host__os__type="windows", dns__question__name="example.com",
        process__executable="C:\\Users\\Public\\x.exe", process__name="x.exe", process__pid=42),
    # a connection, no question: not a row of _Im_Dns, and no rule requiring a question matches it
    _ev("conn", "network", host__os__type="windows", event__type=["start"], destination__ip="10.0.0.1",
        process__executable="C:\\Users\\Public\\x.exe", process__name="x.exe"),
    # a lookup spelled with another network.protocol than Elastic's pipelines write ("dns")
    _ev("proto", "network", host__os__type="windows", dns__question__name="x.letsencrypt.org", network__protocol="DNS",
        process__executable="C:\\Windows\\System32\\rundll32.exe", process__name="rundll32.exe"),
    _ev("ssl", "network", host__os__type="windows", dns__question__name="acme-v02.api.letsencrypt.org", network__protocol="dns",
        process__executable="C:\\Windows\\System32\\rundll32.exe", process__name="rundll32.exe"),
    # the table's rows are Windows hosts' lookups (Sysmon event 22): outside the stated fact
    _ev("linux", "network", host__os__type="linux", dns__question__name="a1UWhRCxBAAAAb.corp.example",
        process__executable="/usr/bin/dig", process__name="dig"),
]

# Process events of several data sets: the Sysmon ones are imProcessCreate rows whose EventProduct is
# "Sysmon"; the others (Elastic Defend here) rows of another product.
PROCS = [
    _ev("sysmon-system", "process", host__os__type="windows", event__type=["start"], process__name="nltest.exe", process__executable="C:\\Windows\\System32\\nltest.exe",
        user__id="S-1-5-18", data_stream__dataset="windows.sysmon_operational"),
    _ev("defend-system", "process", host__os__type="windows", event__type=["start"], process__name="nltest.exe", process__executable="C:\\Windows\\System32\\nltest.exe",
        user__id="S-1-5-18", data_stream__dataset="endpoint.events.process"),
    _ev("defend-user", "process", host__os__type="windows", event__type=["start"], process__name="nltest.exe", process__executable="C:\\Windows\\System32\\nltest.exe",
        user__id="S-1-5-21-1", data_stream__dataset="endpoint.events.process"),
    _ev("sysmon-user", "process", host__os__type="windows", event__type=["start"], process__name="nltest.exe", process__executable="C:\\Windows\\System32\\nltest.exe",
        user__id="S-1-5-21-1", data_stream__dataset="windows.sysmon_operational"),
    # spelled otherwise than the value map lists it: outside the stated value mapping
    _ev("SYSMON", "process", host__os__type="windows", event__type=["start"], process__name="nltest.exe", process__executable="C:\\Windows\\System32\\nltest.exe",
        user__id="S-1-5-18", data_stream__dataset="Windows.Sysmon_Operational"),
    # both data sets are EventProduct "Sysmon": a query naming only one cannot tell them apart
    _ev("old-sysmon", "process", host__os__type="windows", event__type=["start"], process__name="nltest.exe", process__executable="C:\\Windows\\System32\\nltest.exe",
        user__id="S-1-5-18", data_stream__dataset="windows.sysmon"),
]

CASES = [
    # (query, events, selected, left out)
    ('process where process.name : "nltest.exe" and not (user.id in ("S-1-5-18", "S-1-5-19") and '
     'not data_stream.dataset : ("windows.sysmon_operational", "windows.sysmon"))', PROCS,
     {"sysmon-system", "defend-user", "sysmon-user", "old-sysmon"}, {"SYSMON"}),
    ('process where process.name : "nltest.exe" and not data_stream.dataset == "windows.sysmon_operational" and user.id == "S-1-5-18"',
     PROCS, {"defend-system"}, {"SYSMON", "old-sysmon"}),
    ('network where host.os.type == "windows" and dns.question.name : "*UWhRC*BAAAA*"', DNS, {"coerce"}, {"linux"}),
    ('network where dns.question.name != null and process.name : "x.exe" and dns.question.name regex """.*\\.(top|xyz)"""',
     DNS, {"tld"}, set()),
    ('network where dns.question.name : "*.top" and process.pid == 43', DNS, {"TLD"}, set()),
    ('network where dns.question.name != null and not dns.question.name : ("*.top", "*.corp.example")', DNS, {"benign", "proto", "ssl"},
     set()),
    # network.protocol is a fact of the table (every lookup is "dns"); events without it, or spelling it
    # otherwise, are outside
    ('network where host.os.type == "windows" and network.protocol == "dns" and dns.question.name : "*letsencrypt.org" and '
     'process.executable : "C:\\\\Windows\\\\System32\\\\*.exe" and not process.name : "svchost.exe"', DNS, {"ssl"},
     {"linux", "proto", "coerce", "tld", "TLD", "benign"}),
    ('network where dns.question.name like "*.top" and not process.executable : "?:\\\\Windows\\\\*"', DNS, {"tld"}, set()),
    # dns fields tested without requiring a question: a union of _Im_Dns (the lookups) and
    # imNetworkSession (the connections, "conn", whose dns fields are read as absent), each event in one leg
    ('network where process.name : "x.exe" and not dns.question.name : "*.top"', DNS, {"benign", "conn"}, set()),
    ('network where host.os.type == "windows" and process.name : ("x.exe", "rundll32.exe") and '
     '((dns.question.name != null and dns.question.name : "*.org") or destination.ip == "10.0.0.1")', DNS,
     {"proto", "ssl", "conn"}, {"linux"}),
    ('file where event.action == "open" and file.name == "x.plist"', OPENS, {"open"}, {"OPEN"}),
    ('file where event.action in ("open", "creation") and process.name == "osascript" and file.path like "/Library/*"',
     OPENS, {"open", "created"}, {"OPEN"}),
    ('file where event.action != "open" and file.name == "x.plist"', OPENS, {"created", "no-action"}, {"OPEN"}),
]


def _run(text: str, events: list[dict]):
    return mapping_gaps_run(PROFILE, text, events)


@pytest.mark.parametrize("text,events,selected,outside", CASES, ids=[c[0][:60] for c in CASES])
def test_selection_equals_the_matcher_inside_the_assumptions(text, events, selected, outside):
    tr, got, want, out = _run(text, events)
    assert got == want == selected, tr.output
    assert set(out) == outside, out


def test_file_open_reads_file_accessed():
    tr = TARGET.compile(_rule('file where event.action == "open"'), profile=PROFILE)
    assert "FileAccessed" in tr.output
    assert any("event.action values are taken to be spelled" in n for n in tr.notes), tr.notes


def test_dns_reads_im_dns_only_when_the_question_is_required():
    tr = TARGET.compile(_rule('network where dns.question.name : "*.top"'), profile=PROFILE)
    assert tr.output.startswith("_Im_Dns") and "DnsQuery" in tr.output, tr.output
    # connections (no question) match too: a union of _Im_Dns and imNetworkSession, which reads dns
    # fields as absent (its rows are connections: the lookups are _Im_Dns's)
    tr = TARGET.compile(_rule('network where process.name : "certutil.exe" and not dns.question.name : "localhost"'),
                        profile=PROFILE)
    assert tr.status is Status.ASSUMPTIONS and tr.output.startswith("union"), tr.notes
    assert "(_Im_Dns" in tr.output and "(imNetworkSession" in tr.output and tr.output.count("DnsQuery") == 1, tr.output
    assert any("imNetworkSession is taken to hold no event with a dns.question.name" in n for n in tr.notes), tr.notes
    assert [(r.table, r.field, r.to) for r in tr.routed] == [("imNetworkSession", "dns.question.name", "_Im_Dns")]
    # a sequence term alike: both legs are candidates of its step
    tr = TARGET.compile(_rule('sequence by process.entity_id [process where process.name : "hh.exe"] '
                              '[network where process.name : "hh.exe" and not dns.question.name : "localhost"]'), profile=PROFILE)
    assert tr.status is Status.ASSUMPTIONS and "let __leg2 = _Im_Dns" in tr.output and "let __leg3 = imNetworkSession" in tr.output, tr.output
    # defender has no DNS table: still refused there
    tr = TARGET.compile(_rule('network where process.name : "certutil.exe" and not dns.question.name : "localhost"'),
                        profile="defender")
    assert tr.status is Status.REFUSED, tr.notes
    # the table's rows are Windows hosts' lookups
    tr = TARGET.compile(_rule('network where host.os.type == "linux" and dns.question.name like~ "*.top"'), profile=PROFILE)
    assert tr.status is Status.REFUSED and tr.notes[0].startswith("the condition can never hold"), tr.notes
    # `!= null` requires the question too
    tr = TARGET.compile(_rule('network where dns.question.name != null and not dns.question.name : "*.local"'), profile=PROFILE)
    assert tr.output.startswith("_Im_Dns"), tr.notes
    # the rows are Sysmon event 22 lookups: Elastic Defend's lookup_requested action selects none
    tr = TARGET.compile(_rule('network where event.action == "lookup_requested" and dns.question.name != null'), profile=PROFILE)
    assert tr.status is Status.REFUSED and tr.notes[0].startswith("the condition can never hold"), tr.notes
    # network rules without a dns field still read imNetworkSession
    tr = TARGET.compile(_rule('network where destination.port == 53'), profile=PROFILE)
    assert tr.output.startswith("imNetworkSession"), tr.output


def test_the_data_set_policy_still_decides_other_data_sets():
    # a top-level condition naming the endpoint's data sets: the table stands for them (a fact), as before
    tr = TARGET.compile(_rule('process where data_stream.dataset == "endpoint.events.process" and process.name == "a"'),
                        profile=PROFILE)
    assert "EventProduct" not in tr.output and any("stands for" in n for n in tr.notes), (tr.output, tr.notes)
    # a nested condition naming a data set with no per-row reading stays refused
    tr = TARGET.compile(_rule('process where process.name == "a" and not (user.id == "x" and not data_stream.dataset == "endpoint.events.process")'),
                        profile=PROFILE)
    assert tr.status is Status.REFUSED and "does not select them" in tr.notes[0], tr.notes
    # the per-row reading is sentinel-asim's (EventProduct): defender has no such column
    tr = TARGET.compile(_rule(CASES[0][0]), profile="defender")
    assert tr.status is Status.REFUSED, tr.notes


def test_microsoft_parser_accepts_every_case():
    tables = declared_tables(PROFILE)
    queries = [TARGET.compile(_rule(c[0]), profile=PROFILE).output for c in CASES]
    assert analyse(queries, tables) == [[] for _ in queries]
