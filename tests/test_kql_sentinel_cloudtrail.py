"""The `sentinel` profile's aws.cloudtrail.request_parameters (issue 13): Elastic's Java rendering of
CloudTrail's requestParameters object, read from AWSCloudTrail.RequestParameters (JSON text).

Elastic's pipelines write ``ctx.json.requestParameters.toString()`` (elastic/integrations packages/aws/
data_stream/cloudtrail/elasticsearch/ingest_pipeline/default.yml; Filebeat's x-pack/filebeat/module/
aws/cloudtrail/ingest/pipeline.yml): ``{k=v, k2=[a, b], k3={x=y}}`` in a HashMap's order. The profile
rebuilds that text from Kusto's compact JSON of the column; targets/kql/cloudtrail.py states when the
two agree and why only order-free containment is translated.

Not circular: the expression tests feed duckdb-kql JSON written by hand (numbers, booleans, nesting,
lists, whitespace) and compare with Java renderings written by hand; the order lemma is checked on
every permutation of each object's entries; the rule tests compare the query with the reference
matcher on rendered events and assert the events each assumption sets apart.
"""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import pytest

from eqlc import ir
from eqlc.fixtures.agreeing import _request_parameters_options, agreeing_rejected
from eqlc.matcher import matcher
from eqlc.native_wildcard import NativePattern
from eqlc.result import Status
from eqlc.targets.kql import TARGET
from eqlc.targets.kql import cloudtrail
from eqlc.targets.kql.profile import load_profile
from tests.test_kql_sentinel import CLOUDTRAIL, _rule, _run

CORPUS = Path(__file__).resolve().parents[2] / "shared" / "corpus" / "elastic-detection-rules"


def _expr() -> str:
    return load_profile("sentinel").tables["AWSCloudTrail"].fields["aws.cloudtrail.request_parameters"].expr or ""


def _kusto_rendering(json_texts: list[str]) -> list[str]:
    """What the profile's expression gives on RequestParameters holding each text (duckdb-kql)."""
    import duckdb
    import duckdb_kql

    con = duckdb.connect()
    con.execute("create table AWSCloudTrail (i integer, RequestParameters varchar)")
    con.executemany("insert into AWSCloudTrail values (?, ?)", list(enumerate(json_texts)))
    rows = duckdb_kql.kql(con, f"AWSCloudTrail | project i, r = {_expr()} | order by i asc").fetchall()
    return [r for _i, r in rows]


# (RequestParameters as a connector may write it, Java's AbstractMap.toString of the parsed object,
# written by hand: Integer/Boolean print as in JSON, strings unquoted, ", " between entries)
CASES = [
    ('{"bucketName": "b1", "VersioningConfiguration": {"Status": "Suspended"}}',
     "{bucketName=b1, VersioningConfiguration={Status=Suspended}}"),
    ('{"dBInstanceIdentifier":"db-1","deletionProtection":false,"applyImmediately":true,"backupRetentionPeriod":7}',
     "{dBInstanceIdentifier=db-1, deletionProtection=false, applyImmediately=true, backupRetentionPeriod=7}"),
    ('{"snapshotId":"snap-1","createVolumePermission":{"add":{"items":[{"userId":"111122223333"}]}},'
     '"attributeType":"CREATE_VOLUME_PERMISSION"}',
     "{snapshotId=snap-1, createVolumePermission={add={items=[{userId=111122223333}]}}, attributeType=CREATE_VOLUME_PERMISSION}"),
    ('{"policyArn":"arn:aws:iam::aws:policy/AdministratorAccess","userName":"alice"}',
     "{policyArn=arn:aws:iam::aws:policy/AdministratorAccess, userName=alice}"),
    ('{ "values" : [ "a b", 1, [ "x" ] ] }', "{values=[a b, 1, [x]]}"),
    ("", ""),  # no parameters: the field is missing
]


def test_the_expression_gives_javas_rendering_of_the_json():
    got = _kusto_rendering([j for j, _ in CASES])
    assert got == [want for _, want in CASES]


def test_parse_and_to_json_invert_the_rendering():
    for text, want in CASES[:-1]:
        obj = cloudtrail.parse(want)
        assert cloudtrail.render(obj) == want
        assert _kusto_rendering([cloudtrail.to_json(want)]) == [want]
        assert json.loads(cloudtrail.to_json(want)) == obj


@pytest.mark.parametrize("text, why", [
    ("attributeType=CREATE_VOLUME_PERMISSION", "does not start with '{'"),
    ("{a=1, b=}", "empty key or value"),
    ("{a=1,b=2}", "neither"),
    ("{a={}}", "neither structure"),  # an empty object: no key where one must start
    ("{a=[]}", "empty key or value"),
    ('{a="q"}', "neither structure"),
    ("{a=x=y}", "neither"),
    ("{a=1, a=2}", "twice"),
    ("{a=" + "x" * 1100 + "}", "over 1024"),
    ("{a=é}", "neither structure"),
])
def test_texts_that_are_no_rendering_are_set_apart(text, why):
    with pytest.raises(cloudtrail.NotRendered, match=why):
        cloudtrail.parse(text)
    v = cloudtrail.Rendered("aws.cloudtrail.request_parameters").violation(
        {"aws": {"cloudtrail": {"request_parameters": text}}})
    assert v is not None and "not Java's rendering" in v


OBJECTS = [
    {"a": "1", "b": {"c": "x", "d": ["p", "q"]}, "e": "add"},
    {"attributeType": "CREATE_VOLUME_PERMISSION", "createVolumePermission": {"add": {"items": [{"userId": "1"}]}}},
    {"k": "v w", "kk": {"x": "y", "z": "w"}, "l": [{"m": "n", "o": "p"}, "q"]},
]


def _permutations(obj):
    """Every rendering of ``obj`` under some order of each object's entries."""
    if isinstance(obj, dict):
        outs = []
        for keys in itertools.permutations(obj):
            for vals in itertools.product(*[_permutations(obj[k]) for k in keys]):
                outs.append("{" + ", ".join(f"{k}={v}" for k, v in zip(keys, vals)) + "}")
        return outs
    if isinstance(obj, list):
        return ["[" + ", ".join(vals) + "]" for vals in itertools.product(*[_permutations(v) for v in obj])]
    return [str(obj)]


def test_containment_of_an_order_safe_literal_does_not_depend_on_the_entries_order():
    """The lemma the translation rests on: a literal without '{', '}', ',' and not starting with a
    space is contained in every order's rendering or in none (and a literal with them is not)."""
    for obj in OBJECTS:
        renders = _permutations(obj)
        assert len(set(renders)) > 1
        subs = {r[i:j] for r in renders for i in range(len(r)) for j in range(i + 1, min(len(r), i + 12) + 1)}
        for lit in subs:
            holds = {lit in r for r in renders}
            if cloudtrail._literal_safe(lit) is None:
                assert len(holds) == 1, (obj, lit)
    # the refused kinds do depend on it
    assert {" e=add" in r for r in _permutations(OBJECTS[0])} == {True, False}
    assert {"{a=1" in r for r in _permutations(OBJECTS[0])} == {True, False}


def _event(_id: str, rp, action: str = "ModifySnapshotAttribute", outcome: str = "success") -> dict:
    ev: dict = {"_id": _id, "@timestamp": "2026-01-01T00:00:00Z", "data_stream": {"dataset": "aws.cloudtrail"},
                "event": {"action": action, "outcome": outcome, "type": ["info"], "provider": "ec2.amazonaws.com"},
                "aws": {"cloudtrail": {"user_identity": {"type": "IAMUser"}}}}
    if rp is not None:
        ev["aws"]["cloudtrail"]["request_parameters"] = rp
    return ev


SHARED = ('info where data_stream.dataset == "aws.cloudtrail" and event.action == "ModifySnapshotAttribute" and '
          'event.outcome == "success" and '
          'stringContains(aws.cloudtrail.request_parameters, "attributeType=CREATE_VOLUME_PERMISSION") and '
          'stringContains(aws.cloudtrail.request_parameters, "add=") and '
          'not stringContains(aws.cloudtrail.request_parameters, "userId=all")')


def test_request_parameters_rule_runs_on_duckdb_kql_as_the_matcher_decides():
    events = [
        _event("shared", "{snapshotId=s, createVolumePermission={add={items=[{userId=1}]}}, attributeType=CREATE_VOLUME_PERMISSION}"),
        _event("shared-first", "{attributeType=CREATE_VOLUME_PERMISSION, createVolumePermission={add={items=[{group=g}]}}}"),
        _event("public", "{attributeType=CREATE_VOLUME_PERMISSION, createVolumePermission={add={items=[{userId=all}]}}}"),
        _event("removed", "{attributeType=CREATE_VOLUME_PERMISSION, createVolumePermission={remove={items=[{userId=1}]}}}"),
        _event("other-attr", "{attributeType=productCodes, createVolumePermission={add={items=[{userId=1}]}}}"),
        _event("value-contains-key", "{attributeType=CREATE_VOLUME_PERMISSIONS, x=[add=1]}"),
        _event("no-parameters", None),
        # outside: the solver's text, no rendering of an object
        _event("bare", "attributeType=CREATE_VOLUME_PERMISSIONadd="),
        # outside: a rendering with an empty value (the integration drops those)
        _event("empty", "{attributeType=CREATE_VOLUME_PERMISSION, add=}"),
    ]
    tr, got, want, out = _run(_rule(SHARED, CLOUDTRAIL, override="event.type"), events)
    assert tr.status is Status.ASSUMPTIONS
    assert "tostring(parse_json(RequestParameters))" in tr.output
    assert set(out) == {"bare", "empty", "value-contains-key"}, out
    assert got == want == ["shared", "shared-first"]
    assert any("Java rendering of RequestParameters" in n for n in tr.notes)


@pytest.mark.parametrize("cond, reason", [
    ('aws.cloudtrail.request_parameters == "{a=b}"', "only stringContains with a literal"),
    ('aws.cloudtrail.request_parameters : "*userName=*"', "only stringContains with a literal"),
    ('startsWith(aws.cloudtrail.request_parameters, "{userName=")', "only stringContains with a literal"),
    ('aws.cloudtrail.request_parameters regex ".*a=b.*"', "only stringContains with a literal"),
    ('stringContains(aws.cloudtrail.request_parameters, "a=b, c=d")', "order of an object's entries"),
    ('stringContains(aws.cloudtrail.request_parameters, "{userName=")', "order of an object's entries"),
    ('stringContains(aws.cloudtrail.request_parameters, " userName=")', "starts with a space"),
    ('stringContains(aws.cloudtrail.request_parameters, aws.cloudtrail.no_such_field)', "no literal"),
    ('stringContains(aws.cloudtrail.request_parameters, aws.cloudtrail.request_parameters)', "no literal"),
])
def test_order_dependent_tests_are_refused(cond, reason):
    tr = TARGET.compile(_rule(f'iam where event.action == "AttachUserPolicy" and {cond}', CLOUDTRAIL), profile="sentinel")
    assert tr.status is Status.REFUSED and any(reason in n for n in tr.notes), tr.notes


def test_request_parameters_query_parses_with_microsofts_parser():
    from tests.node.kusto import analyse, declared_tables

    tr = TARGET.compile(_rule(SHARED, CLOUDTRAIL, override="event.type"), profile="sentinel")
    assert analyse([tr.output], declared_tables("sentinel")) == [[]]


def test_the_witness_generator_writes_renderings_that_keep_the_verdict():
    """The agreeing relation (compiler/fixtures/agreeing.py) turns the solver's run-together literals
    into an object rendering, for selected and for rejected events, keeping the matcher's verdict."""
    rule = _rule(SHARED, CLOUDTRAIL, override="event.type")
    m = matcher(rule)
    fields = {("aws", "cloudtrail", "request_parameters"): "attributeType=CREATE_VOLUME_PERMISSIONadd="}
    opts = [o[("aws", "cloudtrail", "request_parameters")] for o in _request_parameters_options(fields)]
    assert "{attributeType=CREATE_VOLUME_PERMISSION, add=eqlc}" in opts
    for o in opts:
        cloudtrail.parse(o)
    rejected = agreeing_rejected({("aws", "cloudtrail", "request_parameters"): "userId=allattributeType=CREATE_VOLUME_PERMISSIONadd="},
                                 lambda f: not m.match(_event("x", f[("aws", "cloudtrail", "request_parameters")])))
    assert rejected is not None
    text = rejected[("aws", "cloudtrail", "request_parameters")]
    cloudtrail.parse(text)
    assert "userId=all" in text


@pytest.mark.skipif(not CORPUS.is_dir(), reason="the corpus is outside the repository")
def test_a_corpus_rule_is_verified_on_rendered_witnesses():
    from eqlc.loaders import load_file
    from eqlc.verify import target_specs, verify_rule

    rule = load_file(CORPUS / "integrations/aws/exfiltration_ec2_ebs_snapshot_shared_with_another_account.toml")[0]
    v = verify_rule(rule, target_specs(["kql:sentinel"]))
    run = next(r for r in v.runs if (r.spec.name, r.spec.profile) == ("kql", "sentinel"))
    assert run.verdict == "verified", (run.verdict, run.scope)
    assert run.scope.in_scope_positives > 0 and run.scope.in_scope > run.scope.in_scope_positives


# ---- stringContains with wildcard syntax in the literal (eqlc.native_wildcard) -------------------
# Elasticsearch runs stringContains(field, "lit") as the wildcard query "*lit*" with lit unescaped:
# the corpus writes "principal=\\*" (the string principal=\*: an escaped star, a literal
# principal=*), "masterUserPassword=*" and "valuesToAdd=[*]".


def _wild(parts):
    import re

    return re.compile("".join(".*" if p is ir.Wildcard.STAR else "." if p is ir.Wildcard.QUESTION else re.escape(p)
                              for p in parts), re.DOTALL)


LISTS = [
    {"attributeName": "restore", "valuesToAdd": ["111", "222"], "dBSnapshotIdentifier": "s"},
    {"a": {"b": ["x", {"c": "y"}], "d": "e"}, "f": ["g"]},
]


def test_a_literal_that_opens_a_list_then_any_close_is_a_containment_in_every_order():
    """The lemma behind accepting "*L*]*" (cloudtrail._pattern_safe): when L leaves a list open,
    the pattern holds exactly when L occurs, in every order of each object's entries."""
    checked = 0
    for obj in LISTS:
        renders = _permutations(obj)
        subs = {r[i:j] for r in renders for i in range(len(r)) for j in range(i + 1, min(len(r), i + 14) + 1)}
        for lit in subs:
            pat = NativePattern.of("stringContains", lit.replace("\\", "\\\\") + "*]")
            if cloudtrail._pattern_safe(pat) is not None:
                continue
            checked += 1
            rx = _wild(pat.parts)
            holds = {rx.fullmatch(r) is not None for r in renders}
            assert len(holds) == 1 and holds == {lit in renders[0]}, (obj, lit)
    assert checked > 20
    # a pattern over two literal runs may depend on the order, and is refused
    assert {_wild(NativePattern.of("stringContains", "b=*f=").parts).fullmatch(r) is not None
            for r in _permutations(LISTS[1])} == {True, False}
    assert cloudtrail._pattern_safe(NativePattern.of("stringContains", "b=*f=")) is not None


SHARED_SNAPSHOT = ('info where data_stream.dataset == "aws.cloudtrail" and event.action == "ModifySnapshotAttribute" and '
                   'event.outcome == "success" and '
                   'stringContains(aws.cloudtrail.request_parameters, "attributeName=restore") and '
                   'stringContains(aws.cloudtrail.request_parameters, "valuesToAdd=[*]") and '
                   'not stringContains(aws.cloudtrail.request_parameters, "principal=\\\\*")')


def test_wildcard_literals_run_on_duckdb_kql_as_the_matcher_decides():
    events = [
        _event("shared", "{attributeName=restore, valuesToAdd=[111122223333], dBSnapshotIdentifier=s}"),
        _event("shared-last", "{valuesToAdd=[1, 2], dBSnapshotIdentifier=s, attributeName=restore}"),
        _event("removed", "{attributeName=restore, valuesToRemove=[111122223333]}"),
        _event("public", "{attributeName=restore, valuesToAdd=[all], principal=*}"),
        _event("named-principal", "{attributeName=restore, valuesToAdd=[all], principal=123}"),
        # outside: the text of the literal itself holds a backslash, which no rendering holds
        _event("text", "{attributeName=restore, valuesToAdd=[*], principal=\\*}"),
    ]
    tr, got, want, out = _run(_rule(SHARED_SNAPSHOT, CLOUDTRAIL, override="event.type"), events)
    assert tr.status is Status.ASSUMPTIONS
    assert 'contains_cs "principal=*"' in tr.output and "valuesToAdd=\\[" in tr.output
    assert set(out) == {"text"}, out
    assert sorted(got) == sorted(want) == ["named-principal", "shared", "shared-last"]


@pytest.mark.parametrize("lit", ["a*b", "valuesToAdd=[*]]", "x?y", "a*]"])
def test_wildcard_patterns_that_may_span_entries_are_refused(lit):
    tr = TARGET.compile(_rule(f'iam where event.action == "AttachUserPolicy" and '
                              f'stringContains(aws.cloudtrail.request_parameters, "{lit}")', CLOUDTRAIL), profile="sentinel")
    assert tr.status is Status.REFUSED and any("wildcard pattern" in n and "order" in n for n in tr.notes), tr.notes


def test_the_witness_generator_renders_list_values():
    fields = {("aws", "cloudtrail", "request_parameters"): "attributeName=restorevaluesToAdd=[]"}
    opts = [o[("aws", "cloudtrail", "request_parameters")] for o in _request_parameters_options(fields)]
    assert "{attributeName=restore, valuesToAdd=[eqlc]}" in opts
    for o in opts:
        cloudtrail.parse(o)


@pytest.mark.skipif(not CORPUS.is_dir(), reason="the corpus is outside the repository")
@pytest.mark.parametrize("stem", ["exfiltration_rds_snapshot_shared_with_another_account",
                                  "persistence_lambda_cross_account_invocation_backdoor"])
def test_corpus_rules_with_wildcard_literals_are_verified(stem):
    from eqlc.loaders import load_file
    from eqlc.verify import target_specs, verify_rule

    rule = load_file(CORPUS / f"integrations/aws/{stem}.toml")[0]
    v = verify_rule(rule, target_specs(["kql:sentinel"]))
    run = next(r for r in v.runs if (r.spec.name, r.spec.profile) == ("kql", "sentinel"))
    assert run.verdict == "verified", (run.verdict, run.scope)
    assert run.scope.in_scope_positives > 0 and run.scope.in_scope > run.scope.in_scope_positives


# ---- stringContains(request_parameters, another field) ------------------------------------------
# exfiltration_s3_bucket_policy_added_for_external_account_access: `not stringContains(
# aws.cloudtrail.request_parameters, aws.cloudtrail.recipient_account_id)` (a bucket policy naming
# an account other than the bucket owner's). The value sought is an account id; the translation
# states that it is order-safe (cloudtrail.OrderSafeValue) and the adapter checks it per event.
EXTERNAL = ('info where data_stream.dataset == "aws.cloudtrail" and event.action == "PutBucketPolicy" and '
            'event.outcome == "success" and stringContains(aws.cloudtrail.request_parameters, "Effect=Allow") and '
            'not stringContains(aws.cloudtrail.request_parameters, aws.cloudtrail.recipient_account_id)')


def _policy(_id: str, rp, recipient) -> dict:
    ev = _event(_id, rp, action="PutBucketPolicy")
    if recipient is not None:
        ev["aws"]["cloudtrail"]["recipient_account_id"] = recipient
    return ev


POLICY_EVENTS = [
    _policy("external", "{bucketName=b, bucketPolicy={Statement=[{Effect=Allow, Principal={AWS=arn:aws:iam::999988887777:root}}]}}",
            "111122223333"),
    _policy("own-account", "{bucketName=b, bucketPolicy={Statement=[{Effect=Allow, Principal={AWS=arn:aws:iam::111122223333:root}}]}}",
            "111122223333"),
    # the owner's id first among the entries: Kusto's order differs from Java's, containment does not
    _policy("own-first", "{bucketPolicy={Statement=[{Principal={AWS=111122223333}, Effect=Allow}]}, bucketName=b}", "111122223333"),
    _policy("deny", "{bucketName=b, bucketPolicy={Statement=[{Effect=Deny, Principal={AWS=999988887777}}]}}", "111122223333"),
    # EQL: a missing value makes stringContains null and `not` of it null: not selected
    _policy("no-recipient", "{bucketName=b, bucketPolicy={Statement=[{Effect=Allow}]}}", None),
    # outside: "" is what Kusto stores for a missing string (the query reads it as missing)
    _policy("empty-recipient", "{bucketName=b, bucketPolicy={Statement=[{Effect=Allow}]}}", ""),
    # outside: values whose containment depends on the entries' order (a ',' or a leading space)
    _policy("comma", "{a=1, b=2, c={Effect=Allow}}", "1, b=2"),
    _policy("space", "{a=1, b={Effect=Allow}}", " b={Effect=Allow}"),
    _policy("brace", "{a={x=1}, b={Effect=Allow}}", "{x=1}"),
]


@pytest.mark.parametrize("profile", ["sentinel", "defender"])
def test_containment_of_another_fields_value_runs_on_duckdb_kql_as_the_matcher_decides(profile):
    tr, got, want, out = _run(_rule(EXTERNAL, CLOUDTRAIL, override="event.type"), POLICY_EVENTS, profile=profile)
    assert tr.status is Status.ASSUMPTIONS
    assert set(out) == {"empty-recipient", "comma", "space", "brace"}, out
    assert got == want == ["external"], (got, want)
    assert any("recipient_account_id's value, sought as a substring" in n for n in tr.notes)
    assert all("order" in out[k] for k in ("comma", "space", "brace")), out


def test_the_order_safe_value_check_is_the_literal_lemma_on_every_permutation():
    """An order-safe value's containment holds in every order of the entries iff in one (the lemma
    `test_containment_of_an_order_safe_literal...` checks for literals, here for the check's values)."""
    obj = {"a": "111122223333", "b": {"x": "1", "y": ["2", "3"]}, "c": "z"}
    check = cloudtrail.OrderSafeValue("aws.cloudtrail.recipient_account_id", "aws.cloudtrail.request_parameters")
    for value in ("111122223333", "x=1", "y=[2", "2", "c=z", "b=", "=1"):
        assert check.violation({"aws": {"cloudtrail": {"recipient_account_id": value}}}) is None
        verdicts = {value in o for o in _permutations(obj)}
        assert len(verdicts) == 1, value
    for value in ("1, y", " c=z", "z}", "{x=1"):
        assert check.violation({"aws": {"cloudtrail": {"recipient_account_id": value}}}) is not None


def test_containment_of_another_fields_value_parses_with_microsofts_parser():
    from tests.node.kusto import analyse, declared_tables

    rule = _rule(EXTERNAL, CLOUDTRAIL, override="event.type")
    for profile in ("sentinel", "defender"):
        tr = TARGET.compile(rule, profile=profile)
        assert analyse([tr.output], declared_tables(profile)) == [[]], profile


@pytest.mark.skipif(not CORPUS.is_dir(), reason="the corpus is outside the repository")
@pytest.mark.parametrize("target", ["kql:sentinel", "kql"])
def test_the_external_account_bucket_policy_rule_is_verified(target):
    from eqlc.loaders import load_file
    from eqlc.verify import target_specs, verify_rule

    rule = load_file(CORPUS / "integrations/aws/exfiltration_s3_bucket_policy_added_for_external_account_access.toml")[0]
    v = verify_rule(rule, target_specs([target]))
    run = v.runs[0]
    assert run.verdict == "verified", (run.verdict, run.scope)
    assert run.scope.in_scope_positives > 0 and run.scope.in_scope > run.scope.in_scope_positives
