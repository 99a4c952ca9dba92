"""aws.cloudtrail.resources.arn on the KQL `sentinel` (AWSCloudTrail.Resources) and `defender`
(CloudAuditEvents.RawEventData.resources) profiles (issue 13): the list of the ARNs of the record's
resources objects, which Elasticsearch matches when any ARN matches; the query searches the list's
compact JSON for a value the regex matches whole (targets/kql/json_list.py).

Not circular: the events hold lists of several ARNs (an S3 object and its bucket, as PutObject
records carry them) where one element matches and another does not, the query runs on duckdb-kql
and is compared with the reference matcher, and the events the stated assumption sets apart are
asserted one by one.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from eqlc.result import Status
from eqlc.targets.kql import TARGET, json_list
from tests.test_kql_sentinel import CLOUDTRAIL, _rule, _run

CORPUS = Path(__file__).resolve().parents[2] / "shared" / "corpus" / "elastic-detection-rules"

RANSOM = ('file where data_stream.dataset == "aws.cloudtrail" and event.provider == "s3.amazonaws.com" and '
          'event.action == "PutObject" and event.outcome == "success" and '
          'aws.cloudtrail.resources.arn regex~ "arn:aws:s3:::[^/]+/.*?(decrypt|ransom).*" and '
          'not aws.cloudtrail.resources.arn regex~ ".*(AWSLogs|CloudTrail).*"')


def _put(_id: str, arns) -> dict:
    ev: dict = {"_id": _id, "@timestamp": "2026-01-01T00:00:00Z", "data_stream": {"dataset": "aws.cloudtrail"},
                "event": {"action": "PutObject", "outcome": "success", "provider": "s3.amazonaws.com", "category": ["file"]},
                "aws": {"cloudtrail": {"user_identity": {"type": "IAMUser"}}}}
    if arns is not None:
        ev["aws"]["cloudtrail"]["resources"] = {"arn": arns}
    return ev


EVENTS = [
    _put("object-and-bucket", ["arn:aws:s3:::victim/HOW_TO_DECRYPT.txt", "arn:aws:s3:::victim"]),
    _put("bucket-first", ["arn:aws:s3:::victim", "arn:aws:s3:::victim/docs/Ransom-note.html"]),
    _put("one-value", "ARN:AWS:S3:::victim/readme-ransom"),
    # the keyword in the bucket name only: [^/]+/ needs it after the first '/'
    _put("keyword-in-bucket", ["arn:aws:s3:::ransom-bucket/file.txt", "arn:aws:s3:::ransom-bucket"]),
    # another element (the bucket) matches the excluded pattern: not selected
    _put("cloudtrail-bucket", ["arn:aws:s3:::my-cloudtrail-logs/x/decrypt.txt", "arn:aws:s3:::my-cloudtrail-logs"]),
    _put("excluded-in-bucket-only", ["arn:aws:s3:::victim/decrypt.txt", "arn:aws:s3:::awslogs-bucket"]),
    # no element matches whole although the text of two would ("arn:aws:s3:::a" then "/decrypt")
    _put("split", ["arn:aws:s3:::a", "/decrypt"]),
    _put("no-resources", None),
    _put("plain", ["arn:aws:s3:::victim/report.pdf"]),
    # outside: what the JSON text escapes
    _put("quote", ['arn:aws:s3:::victim/"decrypt".txt']),
    _put("backslash", ["arn:aws:s3:::victim/de\\crypt.txt"]),
    _put("newline", ["arn:aws:s3:::victim/decrypt\n.txt"]),
    _put("long", ["arn:aws:s3:::victim/decrypt" + "x" * 1100]),
    _put("non-ascii", ["arn:aws:s3:::victim/décrypt-ransom.txt"]),  # a serialiser may write \u00e9
]


@pytest.mark.parametrize("profile", ["sentinel", "defender"])
def test_any_element_regex_runs_on_duckdb_kql_as_the_matcher_decides(profile):
    tr, got, want, out = _run(_rule(RANSOM, CLOUDTRAIL), EVENTS, profile=profile)
    assert tr.status is Status.ASSUMPTIONS, tr.notes
    assert set(out) == {"quote", "backslash", "newline", "long", "non-ascii"}, out
    assert got == want == ["bucket-first", "object-and-bucket", "one-value"], (got, want)
    assert any("list of the ARN values" in n for n in tr.notes)


@pytest.mark.parametrize("regex, reason", [
    ('"arn:aws:s3:::[^a]+"', None),                  # a negated class: '"' taken out, translated
    ('"arn:aws:s3:::[\\"a]+"', "may match '\"'"),    # a class holding the delimiter
    ('"arn:aws:s3:::[ -~]+"', "may match '\"'"),     # a range across it
    ('"""arn:aws:s3:::\\S+"""', None),               # \S: '"' taken out
    ('"""arn:aws:s3:::[\\S]+"""', "may match '\"'"),
    ('"""a\\"b"""', "matches '\"'"),                 # a quoted (escaped) '"'
])
def test_regexes_that_could_cross_a_value_are_refused(regex, reason):
    tr = TARGET.compile(_rule(f"file where aws.cloudtrail.resources.arn regex {regex}", CLOUDTRAIL), profile="sentinel")
    if reason is None:
        assert tr.status is Status.ASSUMPTIONS, tr.notes
    else:
        assert tr.status is Status.REFUSED and any(reason in n for n in tr.notes), tr.notes


@pytest.mark.parametrize("cond, reason", [
    ('startsWith(aws.cloudtrail.resources.arn, "arn:aws:s3")', "only regex, equality and wildcard tests"),
    ('aws.cloudtrail.resources.arn >= "arn:aws:s3"', "only regex, equality and wildcard tests"),
    ('aws.cloudtrail.resources.arn : "arn:aws:s3:::\\"b*"', "ends a value in the JSON text"),
    ('aws.cloudtrail.resources.arn == "arn:aws:s3:::\\"b"', "ends a value in the JSON text"),
])
def test_other_tests_of_the_list_are_refused(cond, reason):
    tr = TARGET.compile(_rule(f"file where {cond}", CLOUDTRAIL), profile="sentinel")
    assert tr.status is Status.REFUSED and any(reason in n for n in tr.notes), tr.notes


# ---- AuditLogs: AdditionalDetails pairs and TargetResources index paths ------------------------
AUDIT = ("logs-azure.auditlogs-*",)
DEVICE = ('any where data_stream.dataset == "azure.auditlogs" and event.action == "Add device" and '
          '(azure.auditlogs.properties.additional_details.value like "Dsreg/*" or '
          'azure.auditlogs.properties.additional_details.value == "DeviceRegistrationClient" or '
          'azure.auditlogs.properties.additional_details.value : "*odata.client/*") and '
          '`azure.auditlogs.properties.target_resources.0.modified_properties.1.display_name` == "CloudAccountEnabled" and '
          '`azure.auditlogs.properties.target_resources.0.modified_properties.1.new_value` == "[true]"')


def _device(_id: str, details, props=None) -> dict:
    ev: dict = {"_id": _id, "@timestamp": "2026-01-01T00:00:00Z", "data_stream": {"dataset": "azure.auditlogs"},
                "event": {"action": "Add device"}, "azure": {"auditlogs": {"properties": {}}}}
    if details is not None:
        ev["azure"]["auditlogs"]["properties"]["additional_details"] = [{"key": f"k{i}", "value": v} for i, v in enumerate(details)]
    if props is not None:  # Elastic's index-keyed modified_properties of target_resources.0
        ev["azure"]["auditlogs"]["properties"]["target_resources"] = {"0": {"modified_properties": {
            str(i): {"display_name": n, "new_value": v} for i, (n, v) in enumerate(props)}}}
    return ev


CLOUD = [("AccountEnabled", "[true]"), ("CloudAccountEnabled", "[true]")]
DEVICE_EVENTS = [
    _device("dsreg-second", ["AddDevice", "Dsreg/10.0 (Windows 10.0.19045)"], CLOUD),
    _device("client", ["DeviceRegistrationClient"], CLOUD),
    _device("odata-any-case", ["x", "Microsoft.OData.Client/7.12"], CLOUD),
    _device("dsreg-case", ["dsreg/10.0"], CLOUD),                       # like is case-sensitive
    _device("client-prefix", ["DeviceRegistrationClient2"], CLOUD),     # == is the whole value
    _device("split-across", ["Dsreg", "/10.0"], CLOUD),                 # no one value matches
    _device("wrong-index", ["Dsreg/1"], [("CloudAccountEnabled", "[true]"), ("AccountEnabled", "[true]")]),
    _device("false", ["Dsreg/1"], [("AccountEnabled", "[true]"), ("CloudAccountEnabled", "[false]")]),
    _device("no-details", None, CLOUD),
    _device("no-properties", ["Dsreg/1"]),
    _device("quote", ['Dsreg/"1"'], CLOUD),                            # outside: JSON escapes it
]


def test_additional_details_and_target_resource_paths_run_on_duckdb_kql_as_the_matcher_decides():
    tr, got, want, out = _run(_rule(DEVICE, AUDIT), DEVICE_EVENTS)
    assert tr.status is Status.ASSUMPTIONS, tr.notes
    assert 'TargetResources[0]["modifiedProperties"][1]["displayName"]' in tr.output
    assert set(out) == {"quote"}, out
    assert got == want == ["client", "dsreg-second", "odata-any-case"], (got, want)


def test_the_audit_log_query_parses_with_microsofts_parser():
    from tests.node.kusto import analyse, declared_tables

    tr = TARGET.compile(_rule(DEVICE, AUDIT), profile="sentinel")
    assert analyse([tr.output], declared_tables("sentinel")) == [[]]


@pytest.mark.skipif(not CORPUS.is_dir(), reason="the corpus is outside the repository")
def test_the_suspicious_cloud_device_registration_rule_is_verified():
    from eqlc.loaders import load_file
    from eqlc.verify import target_specs, verify_rule

    rule = load_file(CORPUS / "integrations/azure/persistence_entra_id_suspicious_cloud_device_registration.toml")[0]
    v = verify_rule(rule, target_specs(["kql:sentinel"]))
    run = v.runs[0]
    assert run.verdict == "verified", (run.verdict, run.scope)
    assert run.scope.in_scope_positives > 0 and run.scope.in_scope > run.scope.in_scope_positives


def test_a_negated_class_never_matches_the_delimiter():
    pattern = json_list.value_regex(("a[^b]c", "x.y", "p\\Sq"), "ARN", False)
    assert '[^"b]' in pattern and '[^"]' in pattern and '[^"' in pattern.split("p")[-1]


def test_the_any_element_query_parses_with_microsofts_parser():
    from tests.node.kusto import analyse, declared_tables

    for profile in ("sentinel", "defender"):
        tr = TARGET.compile(_rule(RANSOM, CLOUDTRAIL), profile=profile)
        assert analyse([tr.output], declared_tables(profile)) == [[]], profile


@pytest.mark.skipif(not CORPUS.is_dir(), reason="the corpus is outside the repository")
@pytest.mark.parametrize("target", ["kql:sentinel", "kql"])
def test_the_ransom_keyword_rule_is_verified(target):
    from eqlc.loaders import load_file
    from eqlc.verify import target_specs, verify_rule

    rule = load_file(CORPUS / "integrations/aws/impact_s3_bucket_object_uploaded_with_ransom_keyword.toml")[0]
    v = verify_rule(rule, target_specs([target]))
    run = v.runs[0]
    assert run.verdict == "verified", (run.verdict, run.scope)
    assert run.scope.in_scope_positives > 0 and run.scope.in_scope > run.scope.in_scope_positives
