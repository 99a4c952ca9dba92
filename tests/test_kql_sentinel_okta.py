"""The `sentinel` KQL profile's OktaV2_CL table (issue 13: the Okta System Log on Sentinel, the custom
table its Okta Single Sign-On solution's codeless connector creates), chosen by the rule's index
patterns (logs-okta.system*, filebeat-*).

Queries run on duckdb-kql over the rows the fixture adapter builds from the same profile YAML and must
select exactly what the reference matcher selects among the events inside the stated assumptions, a
`with runs=` sequence included. Columns: the solution's table definition and DCR transform; fields:
Elastic's Okta pipeline (both cited in targets/kql/sentinel.yaml).
"""

from __future__ import annotations

import json

from eqlc.result import Status
from tests.test_kql_sentinel import _rule, _run

OKTA = ("filebeat-*", "logs-okta.system*")


def _okta(_id: str, ts: str, actor: str, event_type: str, factor=None, reason=None, result=None) -> dict:
    okta: dict = {"event_type": event_type, "actor": {"id": actor}}
    if factor is not None:
        okta["debug_context"] = {"debug_data": {"factor": factor}}
    outcome = {k: v for k, v in (("reason", reason), ("result", result)) if v is not None}
    if outcome:
        okta["outcome"] = outcome
    return {"_id": _id, "@timestamp": f"2026-01-01T00:{ts}Z", "data_stream": {"dataset": "okta.system"}, "okta": okta}


PUSH = ('any where data_stream.dataset == "okta.system" and (okta.event_type == "user.mfa.okta_verify.deny_push" or '
        '(okta.event_type == "user.authentication.auth_via_mfa" and okta.debug_context.debug_data.factor == "OKTA_VERIFY_PUSH" '
        'and okta.outcome.reason == "INVALID_CREDENTIALS"))')
BOMBING = (f'sequence by okta.actor.id with maxspan=10m [{PUSH}] with runs=3 '
           '[any where data_stream.dataset == "okta.system" and okta.event_type in ("user.session.start", "user.authentication.sso") '
           'and okta.outcome.result == "SUCCESS"]')


def test_okta_event_rule_runs_on_duckdb_kql_as_the_matcher_decides():
    events = [
        _okta("deny", "00:00", "a", "user.mfa.okta_verify.deny_push"),
        _okta("push", "00:01", "a", "user.authentication.auth_via_mfa", "OKTA_VERIFY_PUSH", "INVALID_CREDENTIALS"),
        _okta("push-case", "00:02", "a", "user.authentication.auth_via_mfa", "okta_verify_push", "INVALID_CREDENTIALS"),
        _okta("other-factor", "00:03", "a", "user.authentication.auth_via_mfa", "SMS", "INVALID_CREDENTIALS"),
        _okta("no-factor", "00:04", "a", "user.authentication.auth_via_mfa", None, "INVALID_CREDENTIALS"),
        _okta("other-type", "00:05", "a", "user.session.start"),
        # outside: two factors where the query reads one object value
        _okta("two-factors", "00:06", "a", "user.authentication.auth_via_mfa", ["OKTA_VERIFY_PUSH", "SMS"], "INVALID_CREDENTIALS"),
    ]
    tr, got, want, out = _run(_rule(PUSH, OKTA), events)
    assert tr.status is Status.ASSUMPTIONS and tr.output.splitlines()[0] == "OktaV2_CL"
    assert 'tostring(DebugData["factor"]) == "OKTA_VERIFY_PUSH"' in tr.output
    assert set(out) == {"two-factors"}, out
    assert got == want == ["deny", "push"], (got, want)


def test_okta_runs_sequence_by_actor_runs_as_the_matcher_decides():
    events = [
        _okta("a1", "00:00", "a", "user.mfa.okta_verify.deny_push"),
        _okta("a2", "00:01", "a", "user.mfa.okta_verify.deny_push"),
        _okta("b1", "00:01", "b", "user.mfa.okta_verify.deny_push"),
        _okta("a3", "00:02", "a", "user.authentication.auth_via_mfa", "OKTA_VERIFY_PUSH", "INVALID_CREDENTIALS"),
        _okta("a-ok", "00:03", "a", "user.session.start", result="SUCCESS"),
        _okta("b2", "00:04", "b", "user.mfa.okta_verify.deny_push"),
        _okta("b-ok", "00:05", "b", "user.session.start", result="SUCCESS"),  # b had two pushes only
    ]
    from eqlc.targets.kql import TARGET
    from tests.test_kql_sentinel import matcher

    rule = _rule(BOMBING, OKTA)
    tr = TARGET.compile(rule, profile="sentinel")
    assert tr.status is Status.ASSUMPTIONS, tr.notes
    assert not TARGET.outside_assumptions(rule, tr, events, profile="sentinel")
    got = sorted(TARGET.execute(tr, events, profile="sentinel"))
    want = sorted(dict.fromkeys(e["_id"] for m in matcher(rule).run(events, sort=True) for e in m.events))
    assert got == want == ["a-ok", "a1", "a2", "a3"], (got, want)


def test_okta_rows_hold_the_factor_inside_debug_data():
    from eqlc.targets.kql import TARGET
    from eqlc.targets.kql.adapter import load_for

    tr = TARGET.compile(_rule(PUSH, OKTA), profile="sentinel")
    loaded = load_for(tr, [_okta("push", "00:01", "a", "user.authentication.auth_via_mfa", "OKTA_VERIFY_PUSH")], profile="sentinel")
    _cols, [row] = loaded.tables["OktaV2_CL"]
    assert json.loads(row["DebugData"]) == {"factor": "OKTA_VERIFY_PUSH"} and row["EventOriginalType"] == "user.authentication.auth_via_mfa"


def test_okta_query_parses_with_microsofts_parser_and_names_its_connector():
    from eqlc.targets.kql import TARGET, sentinel
    from eqlc.targets.kql.profile import load_profile
    from tests.node.kusto import analyse, declared_tables

    queries = [TARGET.compile(_rule(q, OKTA), profile="sentinel").output for q in (PUSH, BOMBING)]
    assert analyse(queries, declared_tables("sentinel")) == [[], []]
    assert sentinel.connectors(load_profile("sentinel"), ["OktaV2_CL"], []) == [
        {"connectorId": "OktaSSOv2", "dataTypes": ["OktaV2_CL"]}]
