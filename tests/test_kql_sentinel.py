"""The `sentinel` KQL profile: Sentinel's raw tables (SecurityEvent, AWSCloudTrail), chosen by the
rule's index patterns (targets/kql/raw_tables.py).

Queries run on duckdb-kql over tables the fixture adapter builds from the same profile YAML and
must select exactly what the reference matcher (Elasticsearch's semantics) selects among the
events inside the stated assumptions; the events each assumption leaves out are asserted one by
one (a category other than the query's, an event.code not written in decimal, an event.outcome
that Elastic's CloudTrail pipeline would not have set from the record, a fact the table implies)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from eqlc import parse_query
from eqlc.matcher import matcher
from eqlc.result import Status
from eqlc.rule import Rule
from eqlc.targets.kql import TARGET

ROOT = Path(__file__).resolve().parent.parent
WINDOWS = ("logs-system.security*", "logs-windows.forwarded*", "winlogbeat-*")
CLOUDTRAIL = ("filebeat-*", "logs-aws.cloudtrail-*")


def _rule(text: str, index: tuple[str, ...] = WINDOWS, override: str | None = None) -> Rule:
    return Rule(query=parse_query(text), query_text=text, name="kql sentinel", index=index, event_category_override=override)


def _run(rule: Rule, events: list[dict], profile: str = "sentinel"):
    tr = TARGET.compile(rule, profile=profile)
    assert tr.output is not None, tr.notes
    out = TARGET.outside_assumptions(rule, tr, events, profile=profile)
    got = sorted(TARGET.execute(tr, events, profile=profile))
    m = matcher(rule)
    want = sorted(e["_id"] for e in events if m.match(e) and e["_id"] not in out)
    return tr, got, want, out


def _sequence_run(rule: Rule, events: list[dict], *, whole: bool = False, profile: str = "sentinel"):
    """A sequence rule's translation, the ids duckdb-kql selects, the ids of the matcher's sequences,
    and the events outside the stated assumptions (with why). By default both engines run on the
    events inside the assumptions only; ``whole``: both run on every event and the outside ones are
    left out of their results afterwards, as the verifier compares them (an event outside can then
    still change which sequences the events inside form)."""
    tr = TARGET.compile(rule, profile=profile)
    assert tr.output is not None, tr.notes
    out = TARGET.outside_assumptions(rule, tr, events, profile=profile)
    run_on = events if whole else [e for e in events if e["_id"] not in out]
    got = sorted(g for g in TARGET.execute(tr, run_on, profile=profile) if g not in out)
    want = sorted(dict.fromkeys(e["_id"] for m in matcher(rule).run(run_on, sort=True) for e in m.events
                                if e is not None and e["_id"] not in out))
    return tr, got, want, out


def _win(_id: str, code, delegate: str = "krbtgt/CORP", category: str = "iam", os: str = "windows") -> dict:
    return {"_id": _id, "@timestamp": "2026-01-01T00:00:00Z", "event": {"category": [category], "code": code},
            "host": {"os": {"type": os}}, "winlog": {"event_data": {"AllowedToDelegateTo": delegate, "SubjectUserSid": "S-1-5-21-1"}}}


DELEGATION = 'iam where host.os.type == "windows" and event.code == "4738" and winlog.event_data.AllowedToDelegateTo : "*krbtgt*"'
WIN_EVENTS = [
    _win("match", "4738"), _win("match-upper", "4738", "KRBTGT/CORP"), _win("int-code", 4738),
    _win("other-spn", "4738", "cifs/srv"), _win("other-code", "4742"),
    _win("leading-zero", "04738"), _win("not-a-number", "x4738"),
    _win("authentication", "4738", category="authentication"), _win("linux", "4738", os="linux"),
]


def test_security_event_rule_runs_on_duckdb_kql_as_the_matcher_decides():
    tr, got, want, out = _run(_rule(DELEGATION), WIN_EVENTS)
    assert tr.status is Status.ASSUMPTIONS
    assert tr.output.splitlines()[0] == "SecurityEvent"
    assert "EventID == 4738" in tr.output and "AllowedToDelegateTo contains" in tr.output
    assert set(out) == {"leading-zero", "not-a-number", "authentication", "linux"}, out
    assert "not SecurityEvent's EventID written in decimal" not in out["leading-zero"]
    assert "EventID written in decimal" in out["leading-zero"]
    assert "event.category" in out["authentication"]
    assert got == want == ["int-code", "match", "match-upper"]
    notes = " ".join(tr.notes)
    assert "read as the Windows Security event log, SecurityEvent" in notes
    assert "taken to be `iam` events" in notes


@pytest.mark.parametrize("text, reason", [
    ('iam where event.code == "04738"', "not a decimal number"),
    ('iam where event.code : "47*"', "only equality with decimal literals"),
    ('iam where event.code > "4000"', "only equality with decimal literals"),
    # a name that no <Data Name="..."> element can carry
    ('iam where winlog.event_data.Foo.Bar == "x"', "winlog.event_data.Foo.Bar has no column in SecurityEvent"),
    ('iam where winlog.user_data.SubjectUserName == "x"', "has no column"),
])
def test_security_event_refusals(text, reason):
    tr = TARGET.compile(_rule(text), profile="sentinel")
    assert tr.status is Status.REFUSED and reason in tr.notes[0], tr.notes


@pytest.mark.parametrize("index, reason", [
    ((), "names no index pattern"),
    (("logs-endpoint.events.process-*",), "no sentinel table holds the rule's data"),
    # kqlkerb3: Elastic Defend's logs-endpoint.* beside the Security log is stated absent (the rule
    # reads SecurityEvent, tests/test_kql_sentinel_absent_defend.py); beside another vendor's index too,
    # no table holds that vendor's data
    (("logs-system.security*", "logs-endpoint.events.*", "logs-crowdstrike.fdr*"), "no sentinel table holds the rule's data"),
    # Sysmon is the Event table's, the Security log SecurityEvent's: no one table holds both; kqlkerb2:
    # such a rule reads both, routed by winlog.channel (tests/test_kql_sentinel_kerberos_joint.py)
    # filebeat-* holds every Filebeat module: CloudTrail only beside logs-aws.cloudtrail-*
    (("filebeat-*",), "no sentinel table holds the rule's data"),
])
def test_the_table_is_chosen_by_every_index_pattern(index, reason):
    tr = TARGET.compile(_rule('any where event.code == "4624"', index), profile="sentinel")
    assert tr.status is Status.REFUSED and reason in tr.notes[0], tr.notes


def _ct(_id: str, ua: str, outcome: str | None = "success", error: str | None = None, dataset: str | None = "aws.cloudtrail",
        types: tuple[str, ...] = ("info",), action: str = "GetCallerIdentity") -> dict:
    ev: dict = {"_id": _id, "@timestamp": "2026-01-01T00:00:00Z", "event": {"action": action, "type": list(types)},
                "user_agent": {"original": ua}, "aws": {"cloudtrail": {"user_identity": {"type": "IAMUser"}}}}
    if outcome is not None:
        ev["event"]["outcome"] = outcome
    if error is not None:
        ev["aws"]["cloudtrail"]["error_code"] = error
    if dataset is not None:
        ev["data_stream"] = {"dataset": dataset}
    return ev


USER_AGENT = ('any where data_stream.dataset == "aws.cloudtrail" and event.outcome == "success" and '
              '(stringContains(user_agent.original, "+kali") or stringContains(user_agent.original, "TruffleHog"))')
CT_EVENTS = [
    _ct("kali", "aws-cli/2 Linux/6+kali"), _ct("truffle", "TruffleHog"), _ct("plain", "aws-cli/2"),
    _ct("denied", "aws-cli/2 +kali", outcome="failure", error="AccessDenied"),
    _ct("outcome-without-error", "aws-cli/2 +kali", outcome="failure"),
    _ct("error-but-success", "aws-cli/2 +kali", error="AccessDenied"),
    _ct("no-dataset", "aws-cli/2 +kali", dataset=None),
]


def test_cloudtrail_rule_runs_on_duckdb_kql_as_the_matcher_decides():
    tr, got, want, out = _run(_rule(USER_AGENT, CLOUDTRAIL), CT_EVENTS)
    assert tr.output.splitlines()[0] == "AWSCloudTrail"
    assert "ErrorCode" in tr.output and "parse_json(ResponseElements).ConsoleLogin" in tr.output
    # event.outcome is computed from ErrorCode/ErrorMessage as Elastic's pipeline sets it: an event
    # whose outcome the pipeline would not have set from its record is outside; so is an event
    # without the dataset the table implies
    assert set(out) == {"outcome-without-error", "error-but-success", "no-dataset"}, out
    assert got == want == ["kali", "truffle"]


def test_event_category_override_is_the_stated_category_of_the_rows():
    text = 'info where event.action == "ConsoleLogin" and aws.cloudtrail.user_identity.type == "IAMUser"'
    events = [_ct("info", "x", action="ConsoleLogin"), _ct("user", "x", action="ConsoleLogin", types=("user", "change")),
              _ct("other-action", "x")]
    tr, got, want, out = _run(_rule(text, CLOUDTRAIL, override="event.type"), events)
    assert any("event.type is 'info'" in n for n in tr.notes), tr.notes
    assert set(out) == {"user"}
    assert got == want == ["info"]
    # a category profile still refuses a category read from another field; defender reads CloudTrail
    # from its raw CloudAuditEvents table and states it as sentinel does (tests/test_kql_defender_cloudtrail.py)
    assert TARGET.compile(_rule(text, CLOUDTRAIL, override="event.type"), profile="sentinel-asim").status is Status.REFUSED
    dtr = TARGET.compile(_rule(text, CLOUDTRAIL, override="event.type"), profile="defender")
    assert dtr.output.startswith("CloudAuditEvents") and any("event.type is 'info'" in n for n in dtr.notes), dtr.notes


def test_sentinel_deployables_name_the_connectors_of_the_table(tmp_path):
    rules = tmp_path / "rules"
    rules.mkdir()
    for name, text, index in (("delegation", DELEGATION, WINDOWS), ("kali", USER_AGENT, CLOUDTRAIL)):
        (rules / f"{name}.toml").write_text(
            "[rule]\n" f'name = "{name}"\n' f'rule_id = "00000000-0000-0000-0000-00000000000{len(name)}"\n'
            'description = "test"\nseverity = "low"\nrisk_score = 21\ntype = "eql"\nlanguage = "eql"\n'
            f"index = {json.dumps(list(index))}\n" f"query = '''\n{text}\n'''\n", encoding="utf-8")
    out = subprocess.run([sys.executable, "-m", "compiler", "compile", str(rules), "--target", "kql:sentinel", "--json",
                          "-o", str(tmp_path / "out")], capture_output=True, text=True, cwd=ROOT, timeout=180)
    assert out.returncode == 0, out.stderr
    doc = json.loads(out.stdout)
    assert sorted(r["status"] for r in doc["results"]) == ["assumptions", "assumptions"], doc["results"]
    folder = tmp_path / "out"
    delegation = yaml.safe_load((folder / "delegation.sentinel.yaml").read_text(encoding="utf-8"))
    assert delegation["requiredDataConnectors"] == [
        {"connectorId": "SecurityEvents", "dataTypes": ["SecurityEvent"]},
        {"connectorId": "WindowsSecurityEvents", "dataTypes": ["SecurityEvent"]}]
    assert {"entityType": "Host", "fieldMappings": [{"identifier": "FullName", "columnName": "Computer"}]} in delegation["entityMappings"]
    kali = yaml.safe_load((folder / "kali.sentinel.yaml").read_text(encoding="utf-8"))
    assert [c["connectorId"] for c in kali["requiredDataConnectors"]] == ["AWS", "AWSS3"]
    assert kali["query"].startswith("AWSCloudTrail\n| where TimeGenerated >= ago(")
    batch = json.loads((folder / "sentinel-sentinel.json").read_text(encoding="utf-8"))
    queries = sorted(r["properties"]["query"].splitlines()[0] for r in batch["resources"])
    assert queries == ["AWSCloudTrail", "SecurityEvent"]
    # the windowed queries Sentinel runs (ingestion_time() filters) parse with Microsoft's Kusto
    # parser against the tables' declared schema
    from tests.node.kusto import analyse, declared_tables
    assert analyse([r["properties"]["query"] for r in batch["resources"]], declared_tables("sentinel")) == [[], []]


def _dn(_id: str, dn, cls: str | None = "dnsNode") -> dict:
    data: dict = {"ObjectDN": dn}
    if cls is not None:
        data["ObjectClass"] = cls
    return {"_id": _id, "@timestamp": "2026-01-01T00:00:00Z", "event": {"category": ["iam"], "code": "5137"},
            "host": {"os": {"type": "windows"}}, "winlog": {"event_data": data}}


def test_event_data_without_a_column_is_read_from_the_event_xml():
    """ObjectDN and ObjectClass have no SecurityEvent column: they are read from the EventData XML,
    entities decoded; the adapter writes that XML from the ECS event as the stated assumption
    says the agent does, and the computed-field check compares what the query reads with the
    ECS value on duckdb-kql itself."""
    text = ('any where event.code == "5137" and winlog.event_data.ObjectDN : "DC=*wpad*" and '
            'not winlog.event_data.ObjectClass == "container"')
    events = [_dn("wpad", "DC=wpad,DC=corp"), _dn("amp-lt", "DC=wpad&<x>,DC=corp"), _dn("entity-text", "DC=wpad&amp;,DC=corp"),
              _dn("other", "DC=www,DC=corp"), _dn("container", "DC=wpad,DC=corp", cls="container"),
              _dn("no-class", "DC=wpad,DC=corp", cls=None), _dn("two-values", ["DC=wpad", "DC=x"])]
    tr, got, want, out = _run(_rule(text), events)
    assert "EventData" in tr.output and "<Data Name=" in tr.output
    assert any("read from the EventData column" in n for n in tr.notes)
    assert set(out) == {"two-values"}, out
    assert "Data element of EventData holds one" in out["two-values"]
    assert got == want == ["amp-lt", "entity-text", "no-class", "wpad"]


def test_event_data_values_elastic_moves_read_as_missing_for_those_events():
    """Elastic's System integration moves IpAddress (unless "-") out of winlog.event_data for the
    authentication codes (to source.ip): for those event ids the query reads the field as missing,
    so a 4624 event that still carries winlog.event_data.IpAddress (which the pipeline never
    writes) is outside the mapping, and 4779 (not moved) is read from the column."""
    text = 'any where winlog.event_data.IpAddress == "10.0.0.1"'
    def ev(_id, code, ip):
        return {"_id": _id, "@timestamp": "2026-01-01T00:00:00Z", "event": {"code": code},
                "winlog": {"event_data": {"IpAddress": ip}}}
    events = [ev("4779", "4779", "10.0.0.1"), ev("4624-moved", "4624", "10.0.0.1"), ev("4624-dash", "4624", "-"),
              ev("4779-other", "4779", "10.0.0.2")]
    tr, got, want, out = _run(_rule(text), events)
    assert 'iff(EventID in (1100, 1102' in tr.output
    assert set(out) == {"4624-moved"}, out
    assert got == want == ["4779"]


@pytest.mark.parametrize("name", ["NewUACList", "UserAccountControl", "AccessMaskDescription", "ProcessId"])  # PrivilegeList: test_kql_sentinel_privileges
def test_event_data_names_elastic_derives_are_not_read_from_the_xml(name):
    tr = TARGET.compile(_rule(f'iam where winlog.event_data.{name} == "x"'), profile="sentinel")
    assert tr.status is Status.REFUSED and f"winlog.event_data.{name} has no column" in tr.notes[0], tr.notes


def test_event_action_and_logon_type_are_value_maps_onto_int_columns():
    """event.action and winlog.logon.type are Elastic's names for EventID and LogonType (the System
    integration's tables): literal comparisons become int comparisons, an action naming several
    ids selects all of them, and an event whose action and code disagree is outside the mapping."""
    text = 'authentication where event.action == "logged-out" and winlog.logon.type == "Network"'
    def ev(_id, action, code=None, logon="Network", logon_code=None, category="authentication"):
        e = {"_id": _id, "@timestamp": "2026-01-01T00:00:00Z", "event": {"category": [category], "action": action},
             "winlog": {"logon": {"type": logon}}}
        if code is not None:
            e["event"]["code"] = code
        if logon_code is not None:
            e["winlog"]["event_data"] = {"LogonType": logon_code}
        return e
    events = [ev("4634", "logged-out", "4634"), ev("4647", "logged-out", "4647", logon_code="3"), ev("no-code", "logged-out"),
              ev("interactive", "logged-out", "4634", logon="Interactive"), ev("logged-in", "logged-in", "4624"),
              ev("disagree", "logged-out", "4624"), ev("logon-disagree", "logged-out", "4634", logon_code="2"),
              ev("upper", "LOGGED-OUT", "4634")]
    tr, got, want, out = _run(_rule(text), events)
    assert "EventID in (4634, 4647)" in tr.output and "LogonType in (3)" in tr.output, tr.output
    assert set(out) == {"disagree", "logon-disagree", "upper"}, out
    assert got == want == ["4634", "4647", "no-code"]
    assert TARGET.compile(_rule('iam where event.action == "Other Object Access Events"'), profile="sentinel").status is Status.REFUSED  # kqlraw: an unlisted task name (4703's is mapped)
