"""The `defender` profile's CloudAuditEvents table (issue 13): AWS CloudTrail through Microsoft
Defender for Cloud, chosen by the rule's index patterns beside the device tables chosen by category.

RawEventData is "Full raw event information from the data source in JSON format" (MicrosoftDocs/
defender-docs defender-xdr/advanced-hunting-cloudauditevents-table.md): the CloudTrail record, read by
its own field names as Elastic's pipeline renames them (defender.yaml cites both). The queries run on
duckdb-kql over rows the fixture adapter builds from the same YAML (RawEventData written from the ECS
fields' record paths) and must select what the reference matcher selects among the events inside the
stated assumptions; the record the adapter writes is asserted field by field against a record written
by hand, so the paths are not only checked against themselves.
"""

from __future__ import annotations

import json

import pytest

from eqlc import parse_query
from eqlc.result import Status
from eqlc.rule import Rule
from eqlc.targets.kql import TARGET
from eqlc.targets.kql.adapter import load_for
from tests.test_kql_sentinel import CLOUDTRAIL, _run as run_on_profile


def _rule(text: str, index=CLOUDTRAIL, override=None) -> Rule:
    return Rule(query=parse_query(text), query_text=text, name="kql defender aws", index=index, event_category_override=override)


def _run(rule: Rule, events: list[dict]):
    return run_on_profile(rule, events, "defender")


def _ct(_id: str, action: str = "CreateVirtualMFADevice", key: str = "ASIAXYZ", console=None, error=None,
        outcome: str = "success", rp=None, provider: str = "iam.amazonaws.com") -> dict:
    ct: dict = {"user_identity": {"type": "AssumedRole", "access_key_id": key}}
    if console is not None:
        ct["session_credential_from_console"] = console
    if error is not None:
        ct["error_code"] = error
    if rp is not None:
        ct["request_parameters"] = rp
    return {"_id": _id, "@timestamp": "2026-01-01T00:00:00Z", "data_stream": {"dataset": "aws.cloudtrail"},
            "event": {"action": action, "provider": provider, "outcome": outcome, "category": ["iam"], "type": ["info"]},
            "aws": {"cloudtrail": ct}}


MFA = ('iam where data_stream.dataset == "aws.cloudtrail" and event.provider == "iam.amazonaws.com" and '
       'event.outcome == "success" and event.action in ("CreateVirtualMFADevice", "EnableMFADevice") and '
       'startsWith(aws.cloudtrail.user_identity.access_key_id, "ASIA") and '
       'not aws.cloudtrail.session_credential_from_console == "true"')


def test_cloud_audit_events_rule_runs_on_duckdb_kql_as_the_matcher_decides():
    events = [
        _ct("api-session"), _ct("enable", action="EnableMFADevice"),
        _ct("console", console="true"), _ct("long-term-key", key="AKIAXYZ"),
        _ct("denied", outcome="failure", error="AccessDenied"), _ct("other-action", action="ListUsers"),
        # outside: an outcome Elastic would not have set from the record (no error, yet failure)
        _ct("outcome-without-error", outcome="failure"),
    ]
    tr, got, want, out = _run(_rule(MFA), events)
    assert tr.status is Status.ASSUMPTIONS
    lines = tr.output.splitlines()
    assert lines[:2] == ["CloudAuditEvents", '| where DataSource == "AWS"']
    assert 'tostring(RawEventData["sessionCredentialFromConsole"])' in tr.output
    assert set(out) == {"outcome-without-error"}, out
    assert got == want == ["api-session", "enable"]
    assert any("RawEventData is taken to be the CloudTrail record" in n for n in tr.notes)


def test_request_parameters_are_read_from_the_records_json():
    rule = _rule('iam where event.action == "AttachUserPolicy" and '
                 'stringContains(aws.cloudtrail.request_parameters, "policyArn=arn:aws:iam::aws:policy/AdministratorAccess")')
    events = [
        _ct("admin", action="AttachUserPolicy", rp="{userName=bob, policyArn=arn:aws:iam::aws:policy/AdministratorAccess}"),
        _ct("readonly", action="AttachUserPolicy", rp="{policyArn=arn:aws:iam::aws:policy/ReadOnlyAccess, userName=bob}"),
        _ct("bare", action="AttachUserPolicy", rp="policyArn=arn:aws:iam::aws:policy/AdministratorAccess"),
    ]
    tr, got, want, out = _run(rule, events)
    assert set(out) == {"bare"}, out
    assert got == want == ["admin"]


def test_the_adapter_writes_the_record_elastic_read():
    """RawEventData as the adapter builds it from an ECS event is the CloudTrail record written by
    hand from Elastic's renames (json.userIdentity.accessKeyId -> aws.cloudtrail.user_identity.
    access_key_id, ...), the rendered request parameters as the object they render."""
    rule = _rule('iam where aws.cloudtrail.user_identity.type == "Root" and '
                 'stringContains(aws.cloudtrail.request_parameters, "userName=") and event.action == "X"')
    tr = TARGET.compile(rule, profile="defender")
    ev = _ct("e", action="CreateLoginProfile", console="true", rp="{userName=bob, passwordResetRequired=false}")
    loaded = load_for(tr, [ev], profile="defender")
    cols, rows = loaded.tables["CloudAuditEvents"]
    assert cols["RawEventData"] == "dynamic" and rows[0]["DataSource"] == "AWS"
    assert json.loads(rows[0]["RawEventData"]) == {
        "eventName": "CreateLoginProfile", "eventSource": "iam.amazonaws.com",
        "userIdentity": {"type": "AssumedRole", "accessKeyId": "ASIAXYZ"},
        "sessionCredentialFromConsole": "true",
        "requestParameters": {"userName": "bob", "passwordResetRequired": "false"},
    }


@pytest.mark.parametrize("index, query, table", [
    (CLOUDTRAIL, 'iam where event.action == "X"', "CloudAuditEvents"),
    (("logs-aws.cloudtrail-*",), 'iam where event.action == "X"', "CloudAuditEvents"),
    # the device tables keep every rule whose data is not CloudTrail's
    (("logs-endpoint.events.process-*",), 'process where process.name == "x.exe"', "DeviceProcessEvents"),
    (("filebeat-*",), 'process where process.name == "x.exe"', "DeviceProcessEvents"),
    (("logs-aws.cloudtrail-*", "logs-endpoint.events.process-*"), 'process where process.name == "x.exe"', "DeviceProcessEvents"),
])
def test_the_table_is_chosen_by_the_rules_index_patterns(index, query, table):
    tr = TARGET.compile(_rule(query, index), profile="defender")
    assert tr.output is not None and tr.output.splitlines()[0] == table, (tr.output, tr.notes)


def test_fields_of_the_record_with_no_elastic_rename_are_refused():
    tr = TARGET.compile(_rule('any where aws.cloudtrail.resources.type : "AWS::S3::*"'), profile="defender")
    assert tr.status is Status.REFUSED and any("has no column in CloudAuditEvents" in n for n in tr.notes), tr.notes


def test_cloud_audit_events_query_parses_with_microsofts_parser():
    from tests.node.kusto import analyse, declared_tables

    tr = TARGET.compile(_rule(MFA), profile="defender")
    assert analyse([tr.output], declared_tables("defender")) == [[]]
