"""The `sentinel` KQL profile's Entra ID sign-in tables (issue 13, kqlsign2): SigninLogs,
AADNonInteractiveUserSignInLogs and AADServicePrincipalSignInLogs, which hold the user and service
principal sign-ins Elastic's azure signinlogs data stream keeps (routed by the record's category),
AuditLogs' event.outcome, and AzureActivity.

Queries run on duckdb-kql (sequences: their legs, then the scan model) over the rows the fixture
adapter builds from the same profile YAML, and must select exactly what the reference matcher selects
among the events inside the stated assumptions; the events set apart are pinned. Sources are cited in
targets/kql/sentinel.yaml (block kqlsign2) and tests/data/kql/schemas/microsoft-sentinel-tables.json
(`signin_source`).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from eqlc.result import Status
from tests.test_kql_sentinel import _rule, matcher
from tests.test_kql_sentinel_entra import _sequence

SIGNIN = ("filebeat-*", "logs-azure.signinlogs-*")
AUDIT = ("logs-azure.auditlogs-*",)
CORPUS = Path(__file__).resolve().parent.parent.parent / "shared" / "corpus" / "elastic-detection-rules" / "integrations" / "azure"

# The shape of persistence_entra_id_rt_to_prt_transition_from_user_device: a non-interactive refresh
# token sign-in, then a PRT sign-in of any category from an unmanaged device, joined on the user and
# the device (a property of DeviceDetail, JSON text in one table and dynamic in the other).
RT_TO_PRT = (
    'sequence by azure.signinlogs.properties.user_id, azure.signinlogs.properties.device_detail.device_id with maxspan=1h '
    '[authentication where data_stream.dataset == "azure.signinlogs" and '
    ' azure.signinlogs.category == "NonInteractiveUserSignInLogs" and '
    ' azure.signinlogs.properties.incoming_token_type == "refreshToken" and '
    ' azure.signinlogs.properties.token_protection_status_details.sign_in_session_status == "unbound" and '
    ' azure.signinlogs.properties.device_detail.trust_type == "Azure AD joined"] '
    '[authentication where data_stream.dataset == "azure.signinlogs" and '
    ' azure.signinlogs.properties.incoming_token_type == "primaryRefreshToken" and '
    ' azure.signinlogs.properties.device_detail.is_managed != true and '
    ' not user_agent.original == "Windows-AzureAD-Authentication-Provider/1.0"]')


def _signin(_id: str, ts: str, user, device, token: str, category="NonInteractiveUserSignInLogs", managed=None,
            session="unbound", agent=None) -> dict:
    props: dict = {"incoming_token_type": token, "device_detail": {"trust_type": "Azure AD joined"},
                   "token_protection_status_details": {"sign_in_session_status": session}}
    if user is not None:
        props["user_id"] = user
    if device is not None:
        props["device_detail"]["device_id"] = device
    if managed is not None:
        props["device_detail"]["is_managed"] = managed
    ev: dict = {"_id": _id, "@timestamp": f"2026-01-01T00:{ts}Z", "data_stream": {"dataset": "azure.signinlogs"},
                "event": {"module": "azure", "dataset": "azure.signinlogs", "category": ["authentication"]},
                "azure": {"signinlogs": {"category": category, "properties": props}}}
    if agent is not None:
        ev["user_agent"] = {"original": agent}
    return ev


def test_refresh_token_then_prt_reads_both_sign_in_tables_by_category():
    events = [
        # alice: a non-interactive refresh, then an interactive PRT sign-in from an unmanaged device
        _signin("a1", "00:00", "alice", "dev-a", "refreshToken"),
        _signin("a2", "10:00", "alice", "dev-a", "primaryRefreshToken", category="SignInLogs", managed=False),
        # bob: the PRT sign-in names no isManaged (a missing bool is not true)
        _signin("b1", "00:00", "bob", "dev-b", "refreshToken"),
        _signin("b2", "05:00", "bob", "dev-b", "primaryRefreshToken"),
        # carol: a managed device
        _signin("c1", "00:00", "carol", "dev-c", "refreshToken"),
        _signin("c2", "05:00", "carol", "dev-c", "primaryRefreshToken", category="SignInLogs", managed=True),
        # dave: the refresh is an interactive sign-in (SigninLogs: step 1 never reads it)
        _signin("d1", "00:00", "dave", "dev-d", "refreshToken", category="SignInLogs"),
        _signin("d2", "05:00", "dave", "dev-d", "primaryRefreshToken", managed=False),
        # eve: the PRT sign-in is from another device (join key) or the Windows sign-in agent
        _signin("e1", "00:00", "eve", "dev-e", "refreshToken"),
        _signin("e2", "05:00", "eve", "dev-other", "primaryRefreshToken", managed=False),
        _signin("e3", "06:00", "eve", "dev-e", "primaryRefreshToken", agent="Windows-AzureAD-Authentication-Provider/1.0"),
        # fay: the session was bound; gil: past maxspan
        _signin("f1", "00:00", "fay", "dev-f", "refreshToken", session="bound"),
        _signin("f2", "05:00", "fay", "dev-f", "primaryRefreshToken"),
        _signin("g1", "00:00", "gil", "dev-g", "refreshToken"),
        {**_signin("g2", "00:00", "gil", "dev-g", "primaryRefreshToken"), "@timestamp": "2026-01-01T01:00:01Z"},
        # outside: isManaged is not a JSON bool; a service principal sign-in carrying a token type (its
        # table has no such column); a managed identity sign-in (no table mapped here)
        _signin("h1", "00:00", "hal", "dev-h", "refreshToken"),
        _signin("h2", "05:00", "hal", "dev-h", "primaryRefreshToken", managed="no"),
        _signin("s1", "00:00", "sam", "dev-s", "refreshToken"),
        _signin("s2", "05:00", "sam", "dev-s", "primaryRefreshToken", category="ServicePrincipalSignInLogs"),
        _signin("m1", "00:00", "mia", "dev-m", "refreshToken"),
        _signin("m2", "05:00", "mia", "dev-m", "primaryRefreshToken", category="ManagedIdentitySignInLogs"),
    ]
    tr, got, want, out = _sequence(RT_TO_PRT, SIGNIN, events)
    assert "let __leg1 = AADNonInteractiveUserSignInLogs" in tr.output and "SigninLogs" in tr.output
    assert 'tostring(parse_json(DeviceDetail)["deviceId"])' in tr.output
    assert "step 1's condition is false for every row of SigninLogs" in " ".join(tr.notes)
    # h1, s1 and m1 are selected only through the events set apart
    assert set(out) == {"h1", "h2", "s1", "s2", "m1", "m2"}, out
    assert got == want == ["a1", "a2", "b1", "b2"], (got, want)


def test_events_route_to_the_table_of_their_category_with_json_text_objects():
    from eqlc.targets.kql import TARGET
    from eqlc.targets.kql.adapter import load_for

    tr = TARGET.compile(_rule(RT_TO_PRT, SIGNIN), profile="sentinel")
    assert tr.tables == ["SigninLogs", "AADNonInteractiveUserSignInLogs", "AADServicePrincipalSignInLogs"], tr.tables
    loaded = load_for(tr, [_signin("n", "00:00", "u", "d", "refreshToken", managed=False),
                           _signin("i", "00:00", "u", "d", "primaryRefreshToken", category="SignInLogs")], profile="sentinel")
    from eqlc.targets.kql.profile import load_profile
    lookup_tables = {lk.table for lk in load_profile("sentinel").lookups.values()}  # Heartbeat (kqlhb): no rows here
    assert {n: [r["__eqlc_id"] for r in rows] for n, (_c, rows) in loaded.tables.items() if n not in lookup_tables} == {
        "AADNonInteractiveUserSignInLogs": ["n"], "SigninLogs": ["i"], "AADServicePrincipalSignInLogs": []}
    assert all(not loaded.tables[n][1] for n in lookup_tables if n in loaded.tables)
    _cols, [row] = loaded.tables["AADNonInteractiveUserSignInLogs"]
    assert json.loads(row["DeviceDetail"]) == {"deviceId": "d", "trustType": "Azure AD joined", "isManaged": False}
    assert json.loads(row["TokenProtectionStatusDetails"]) == {"signInSessionStatus": "unbound"}
    assert row["IncomingTokenType"] == "refreshToken" and row["UserId"] == "u"


def _audit(_id: str, outcome) -> dict:
    ev: dict = {"_id": _id, "@timestamp": "2026-01-01T00:00:00Z", "data_stream": {"dataset": "azure.auditlogs"},
                "event": {"module": "azure", "action": "Register device"},
                "azure": {"auditlogs": {"operation_name": "Register device"}}}
    if outcome is not None:
        ev["event"]["outcome"] = outcome
    return ev


@pytest.mark.parametrize("text,selected", [
    ('any where data_stream.dataset == "azure.auditlogs" and event.outcome == "success"', {"ok"}),
    ('any where data_stream.dataset == "azure.auditlogs" and event.outcome != "success"', {"bad", "none"}),
    ('any where data_stream.dataset == "azure.auditlogs" and event.outcome : "success"', {"ok"}),
    ('any where data_stream.dataset == "azure.auditlogs" and event.outcome == null', {"none"}),
])
def test_audit_outcome_is_the_result_the_pipeline_keeps(text, selected):
    from eqlc.targets.kql import TARGET

    events = [_audit("ok", "success"), _audit("Ok", "Success"), _audit("bad", "failure"), _audit("none", None),
              _audit("timeout", "timeout")]  # outside: the pipeline keeps no other result as event.outcome
    # (kqlgraph) nor one in upper case: the azure-shared-pipeline it calls last lower-cases event.outcome
    rule = _rule(text, AUDIT)
    tr = TARGET.compile(rule, profile="sentinel")
    assert tr.status is Status.ASSUMPTIONS, tr.notes
    out = TARGET.outside_assumptions(rule, tr, events, profile="sentinel")
    assert set(out) == {"timeout", "Ok"}, out
    got = set(TARGET.execute(tr, [e for e in events if e["_id"] not in out], profile="sentinel"))
    m = matcher(rule)
    want = {e["_id"] for e in events if e["_id"] not in out and m.match(e)}
    assert got == want == selected, tr.output


# The shape of credential_access_azure_service_principal_signin_then_arc_credential_listing: a service
# principal sign-in (AADServicePrincipalSignInLogs, error code from ResultType) then an Azure activity
# (AzureActivity) by the same application, each step with its own join key.
SP_THEN_ARC = (
    'sequence with maxspan=30m '
    '[authentication where data_stream.dataset == "azure.signinlogs" and '
    ' azure.signinlogs.category == "ServicePrincipalSignInLogs" and azure.signinlogs.properties.status.error_code == 0] '
    ' by azure.signinlogs.properties.app_id '
    '[any where data_stream.dataset == "azure.activitylogs" and '
    ' azure.activitylogs.operation_name : "MICROSOFT.KUBERNETES/CONNECTEDCLUSTERS/LISTCLUSTERUSERCREDENTIAL/ACTION" and '
    ' event.outcome : ("Success", "success")] by azure.activitylogs.identity.claims.appid')
SP_ARC = ("logs-azure.signinlogs-*", "logs-azure.activitylogs-*")
LIST = "MICROSOFT.KUBERNETES/CONNECTEDCLUSTERS/LISTCLUSTERUSERCREDENTIAL/ACTION"


def _sp(_id: str, ts: str, app, code) -> dict:
    props: dict = {"status": {}}
    if app is not None:
        props["app_id"] = app
    if code is not None:
        props["status"]["error_code"] = code
    return {"_id": _id, "@timestamp": f"2026-01-01T00:{ts}Z", "data_stream": {"dataset": "azure.signinlogs"},
            "event": {"module": "azure", "dataset": "azure.signinlogs", "category": ["authentication"]},
            "azure": {"signinlogs": {"category": "ServicePrincipalSignInLogs", "properties": props}}}


def _activity(_id: str, ts: str, app, operation=LIST, outcome="success") -> dict:
    ev: dict = {"_id": _id, "@timestamp": f"2026-01-01T00:{ts}Z", "data_stream": {"dataset": "azure.activitylogs"},
                "event": {"module": "azure", "dataset": "azure.activitylogs", "action": operation},
                "azure": {"activitylogs": {"operation_name": operation, "identity": {"claims": {"appid": app}}}}}
    if outcome is not None:
        ev["event"]["outcome"] = outcome
    return ev


def test_service_principal_sign_in_then_activity_joins_two_tables_by_the_application():
    events = [
        _sp("a1", "00:00", "app-a", 0), _activity("a2", "10:00", "app-a"),
        _sp("b1", "00:00", "app-b", 0), _activity("b2", "10:00", "app-b", outcome="success"),
        _sp("c1", "00:00", "app-c", 7000215), _activity("c2", "10:00", "app-c"),  # failed sign-in
        _sp("d1", "00:00", "app-d", 0), _activity("d2", "10:00", "app-d", outcome="failure"),
        _sp("e1", "00:00", "app-e", 0), _activity("e2", "10:00", "app-e", operation="MICROSOFT.KUBERNETES/CONNECTEDCLUSTERS/READ"),
        _sp("f1", "00:00", "app-f", 0), _activity("f2", "31:00", "app-f"),  # past maxspan
        _sp("g1", "00:00", "app-g", None), _activity("g2", "10:00", "app-g"),  # no error code
        _sp("h1", "00:00", "app-h", 0), _activity("h2", "10:00", "app-other"),
        # outside: an operation name not in upper case (read as OPERATIONNAMEVALUE upper-cased); an
        # outcome the pipeline takes from properties.result (ActivityStatusValue holds resultType)
        _sp("i1", "00:00", "app-i", 0), _activity("i2", "10:00", "app-i", operation=LIST.lower()),
        _sp("j1", "00:00", "app-j", 0), _activity("j2", "10:00", "app-j", outcome="unknown"),
        # (kqlgraph) an outcome in upper case: the azure-shared-pipeline lower-cases it, so none is
        _sp("k1", "00:00", "app-k", 0), _activity("k2", "10:00", "app-k", outcome="Success"),
    ]
    tr, got, want, out = _sequence(SP_THEN_ARC, SP_ARC, events)
    assert "let __leg1 = AADServicePrincipalSignInLogs" in tr.output and "tolong(ResultType) == 0" in tr.output
    assert 'toupper(OperationNameValue) =~ "MICROSOFT.KUBERNETES' in tr.output and 'Claims_d["appid"]' in tr.output
    assert set(out) == {"i1", "i2", "j2", "k1", "k2"}, out  # i1, k1: selected only through i2, k2
    assert got == want == ["a1", "a2", "b1", "b2"], (got, want)


RULES = ("persistence_entra_id_rt_to_prt_transition_from_user_device.toml",
         "persistence_entra_id_device_registration_to_prt_chain.toml",
         "credential_access_azure_service_principal_signin_then_arc_credential_listing.toml")


def test_sign_in_queries_parse_with_microsofts_parser_and_name_their_connector():
    from eqlc.loaders import load_file
    from eqlc.targets.kql import TARGET, sentinel
    from eqlc.targets.kql.profile import load_profile
    from tests.node.kusto import analyse, declared_tables

    queries = [TARGET.compile(_rule(RT_TO_PRT, SIGNIN), profile="sentinel").output,
               TARGET.compile(_rule(SP_THEN_ARC, SP_ARC), profile="sentinel").output]
    if CORPUS.is_dir():
        queries += [TARGET.compile(load_file(CORPUS / r)[0], profile="sentinel").output for r in RULES]
    assert all(queries), queries
    assert analyse(queries, declared_tables("sentinel")) == [[] for _ in queries]
    assert sentinel.connectors(load_profile("sentinel"), ["SigninLogs", "AADNonInteractiveUserSignInLogs"], []) == [
        {"connectorId": "AzureActiveDirectory", "dataTypes": ["SigninLogs", "AADNonInteractiveUserSignInLogs"]}]
    assert sentinel.connectors(load_profile("sentinel"), ["AADServicePrincipalSignInLogs", "AzureActivity"], []) == [
        {"connectorId": "AzureActiveDirectory", "dataTypes": ["AADServicePrincipalSignInLogs"]},
        {"connectorId": "AzureActivity", "dataTypes": ["AzureActivity"]}]


@pytest.mark.skipif(not CORPUS.is_dir(), reason="the corpus is outside the repository")
@pytest.mark.parametrize("name", RULES)
def test_the_corpus_sign_in_rules_verify_on_their_witnesses(name):
    from eqlc.loaders import load_file
    from eqlc.verify import target_specs, verify_rule

    rule = load_file(CORPUS / name)[0]
    run = verify_rule(rule, target_specs(["kql:sentinel"])).runs[0]
    assert run.verdict == "verified", (run.verdict, run.scope)
    assert run.scope.in_scope_positives > 0 and run.scope.in_scope > run.scope.in_scope_positives
