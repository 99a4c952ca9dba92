"""The `sentinel` KQL profile's Microsoft Graph activity log and the user agent of every Azure and
Office 365 data set (issue 13, kqlgraph): MicrosoftGraphActivityLogs, OfficeActivity's UserAgent,
the activity and audit logs' user agent read as absent (their pipelines never set it), and a rule
index pattern wider than the tables' own (logs-azure.*) read as the union of the routed tables whose
data sets every query requires (targets/kql/raw_tables.py, `_within_data_sets`).

Queries run on duckdb-kql over the rows the fixture adapter builds from the same profile YAML and
must select exactly what the reference matcher selects among the events inside the stated
assumptions; the events set apart are pinned. Sources are cited in targets/kql/sentinel.yaml
(blocks kqlgraph) and tests/data/kql/schemas/microsoft-sentinel-tables.json (`graph_source`).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from eqlc.result import Status
from tests.test_kql_sentinel import _rule, _run

CORPUS = Path(__file__).resolve().parent.parent.parent / "shared" / "corpus" / "elastic-detection-rules" / "integrations" / "azure"
WIDE = ("filebeat-*", "logs-azure.*", "logs-o365.audit-*")
HOUND = ('any where data_stream.dataset : ("azure.activitylogs", "azure.graphactivitylogs", "azure.auditlogs", '
         '"azure.signinlogs", "o365.audit") and user_agent.original regex~ "(azure|sharp|blood)(hound)/.*"')


def _ev(_id: str, dataset: str | None, agent: str | None, category: str | None = None) -> dict:
    ev: dict = {"_id": _id, "@timestamp": "2026-01-01T00:00:00Z"}
    if dataset is not None:
        ev["data_stream"] = {"dataset": dataset}
        ev["event"] = {"dataset": dataset, "module": dataset.split(".")[0]}
    if category is not None:
        ev["azure"] = {"signinlogs": {"category": category}}
    if agent is not None:
        ev["user_agent"] = {"original": agent}
    return ev


GRAPH, SIGNIN, O365 = "azure.graphactivitylogs", "azure.signinlogs", "o365.audit"
EVENTS = [
    # each table the union reads, with a matching agent
    _ev("graph", GRAPH, "azurehound/2.1.0"), _ev("signin", SIGNIN, "AzureHound/2.0", "SignInLogs"),
    _ev("noninteractive", SIGNIN, "bloodhound/1.0", "NonInteractiveUserSignInLogs"),
    _ev("o365", O365, "SharpHound/1.0"),
    # regex~ folds ASCII letters; the pattern is anchored at both ends; `.` matches a line break
    _ev("graph-upper", GRAPH, "BLOODHOUND/1"), _ev("graph-newline", GRAPH, "azurehound/\nx"),
    _ev("graph-prefix", GRAPH, "x-azurehound/1"), _ev("graph-no-slash", GRAPH, "azurehound"),
    _ev("graph-long-s", GRAPH, "\u017fharphound/1"), _ev("o365-other", O365, "Mozilla/5.0"),
    _ev("graph-none", GRAPH, None), _ev("signin-empty", SIGNIN, "", "SignInLogs"),
    # the data set is compared with `:` (case-insensitive), but Elastic writes it in lower case: an
    # event of another spelling is in no table (the routing states the data stream's own values)
    _ev("graph-dataset-upper", GRAPH.upper(), "azurehound/1"),
    # a data set no query allows (no table read for it) and one that no Sentinel table is mapped for
    _ev("risk", "azure.identity_protection", "azurehound/1"), _ev("platform", "azure.platformlogs", "azurehound/1"),
    # activity and audit logs: their pipelines never set user_agent.original (no leg reads them); an
    # event carrying one is outside that statement
    _ev("activity-none", "azure.activitylogs", None), _ev("audit-none", "azure.auditlogs", None),
    _ev("activity-agent", "azure.activitylogs", "azurehound/1"), _ev("audit-agent", "azure.auditlogs", "azurehound/1"),
    # a service principal sign-in (no user agent column) carrying one; a managed identity sign-in (no table)
    _ev("sp-agent", SIGNIN, "azurehound/1", "ServicePrincipalSignInLogs"),
    _ev("mi-agent", SIGNIN, "azurehound/1", "ManagedIdentitySignInLogs"),
]


def test_user_agent_rule_reads_every_data_set_that_records_one_as_a_union():
    tr, got, want, out = _run(_rule(HOUND, WIDE), EVENTS)
    assert tr.status is Status.ASSUMPTIONS, tr.notes
    assert tr.output.splitlines()[0] == "union"
    for table in ("OfficeActivity", "SigninLogs", "AADNonInteractiveUserSignInLogs", "MicrosoftGraphActivityLogs"):
        assert f"({table}\n" in tr.output, (table, tr.output)
    for table in ("AuditLogs", "AzureActivity", "AADServicePrincipalSignInLogs", "AADRiskyUsers"):
        assert f"({table}\n" not in tr.output, (table, tr.output)
    notes = " ".join(tr.notes)
    assert "(not AADRiskyUsers, AADUserRiskEvents, AADGraphActivityLogs)" in notes and "no leg searches them" in notes
    # in no table read (another data set spelling, category or data set): the routing sets them apart
    assert {k for k, v in out.items() if "row of none of" in v} == {"graph-dataset-upper", "mi-agent", "risk", "platform"}, out
    # a user agent where the pipeline never writes one (or the table has no column): absent.py's check
    assert {k for k, v in out.items() if "on user_agent.original" in v} == {"activity-agent", "audit-agent", "sp-agent"}, out
    assert len(out) == 7, out
    assert got == want == ["graph", "graph-newline", "graph-upper", "noninteractive", "o365", "signin"], (got, want)


@pytest.mark.parametrize("text, why", [
    # no restriction of the data set: events of every Azure data set could match
    ('any where user_agent.original regex~ "azurehound/.*"', "reads every data set of its name"),
    # a data set no table of the profile holds
    ('any where data_stream.dataset : ("azure.graphactivitylogs", "azure.platformlogs") and user_agent.original : "x"',
     "reads every data set of its name"),
    # a negated restriction restricts nothing
    ('any where not data_stream.dataset : "azure.platformlogs" and user_agent.original : "x"',
     "reads every data set of its name"),
])
def test_a_wide_index_pattern_needs_every_query_to_name_mapped_data_sets(text, why):
    from eqlc.targets.kql import TARGET

    tr = TARGET.compile(_rule(text, WIDE), profile="sentinel")
    assert tr.status is Status.REFUSED and why in " ".join(tr.notes), tr.notes


def test_graph_rule_on_its_own_index_reads_one_table():
    text = 'web where user_agent.original : "python-requests/*" and user.id == "u-1"'
    events = [_ev("a", GRAPH, "python-requests/2.31"), _ev("b", GRAPH, "curl/8"), _ev("c", GRAPH, "python-requests/2")]
    events[0]["user"] = {"id": "u-1"}
    events[1]["user"] = {"id": "u-1"}
    events[2]["user"] = {"id": "u-2"}
    for e in events:
        e["event"]["category"] = ["web"]
    tr, got, want, out = _run(_rule(text, ("logs-azure.graphactivitylogs-*",)), events)
    assert tr.output.splitlines()[0] == "MicrosoftGraphActivityLogs" and "UserId ==" in tr.output, tr.output
    assert not out and got == want == ["a"], (out, got, want)


def test_graph_queries_parse_with_microsofts_parser_and_deploy_without_a_connector():
    from eqlc.loaders import load_file
    from eqlc.targets.kql import TARGET, sentinel
    from eqlc.targets.kql.profile import load_profile
    from tests.node.kusto import analyse, declared_tables

    queries = [TARGET.compile(_rule(HOUND, WIDE), profile="sentinel").output]
    if CORPUS.is_dir():
        queries.append(TARGET.compile(load_file(CORPUS / "discovery_bloodhound_user_agents_detected.toml")[0],
                                      profile="sentinel").output)
    assert all(queries), queries
    assert analyse(queries, declared_tables("sentinel")) == [[] for _ in queries]
    # the Entra ID diagnostic setting fills the table, no Sentinel data connector: none is named
    assert sentinel.connectors(load_profile("sentinel"), ["MicrosoftGraphActivityLogs", "OfficeActivity"], []) == [
        {"connectorId": "Office365", "dataTypes": ["OfficeActivity"]}]


@pytest.mark.skipif(not CORPUS.is_dir(), reason="the corpus is outside the repository")
def test_the_corpus_user_agent_rule_verifies_on_its_witnesses():
    from eqlc.loaders import load_file
    from eqlc.verify import target_specs, verify_rule

    rule = load_file(CORPUS / "discovery_bloodhound_user_agents_detected.toml")[0]
    run = verify_rule(rule, target_specs(["kql:sentinel"])).runs[0]
    assert run.verdict == "verified", (run.verdict, run.scope)
    assert run.scope.in_scope_positives > 0 and run.scope.in_scope > run.scope.in_scope_positives


# ---- the device-code sign-in rule's first step: protocol, resource, user, tenant and outcome ----

SIGNIN_INDEX = ("logs-azure.signinlogs-*",)
DEVICE_CODE = ('authentication where data_stream.dataset == "azure.signinlogs" and event.outcome == "success" and '
               'azure.signinlogs.properties.authentication_protocol == "deviceCode" and '
               'azure.signinlogs.properties.resource_id == "00000002-0000-0000-c000-000000000000" and '
               'azure.signinlogs.category == "SignInLogs" and user.id == "u-1" and azure.tenant_id == "t-1"')


def _signin(_id: str, error=None, outcome="success", protocol="deviceCode", resource="00000002-0000-0000-c000-000000000000",
            user="u-1", tenant="t-1", category="SignInLogs") -> dict:
    props: dict = {"authentication_protocol": protocol, "resource_id": resource}
    if error is not None:
        props["status"] = {"error_code": error}
    ev: dict = {"_id": _id, "@timestamp": "2026-01-01T00:00:00Z", "data_stream": {"dataset": SIGNIN},
                "event": {"dataset": SIGNIN, "module": "azure", "category": ["authentication"]},
                "azure": {"tenant_id": tenant, "signinlogs": {"category": category, "properties": props}}}
    if outcome is not None:
        ev["event"]["outcome"] = outcome
    if user is not None:
        ev["user"] = {"id": user}
    return ev


def test_device_code_sign_in_fields_run_on_duckdb_kql_as_the_matcher_decides():
    events = [
        _signin("ok"), _signin("ok-zero", error=0),
        _signin("failed", error=50126, outcome="failure"), _signin("other-protocol", protocol="oAuth2"),
        _signin("other-resource", resource="00000003-0000-0000-c000-000000000000"), _signin("other-user", user="u-2"),
        _signin("other-tenant", tenant="t-2"), _signin("no-user", user=None),
        _signin("protocol-case", protocol="DeviceCode"),  # == is case-sensitive
        # outside: an outcome the pipeline would not have written from the error code
        _signin("odd-outcome", error=50126, outcome="success"), _signin("no-outcome", outcome=None),
    ]
    tr, got, want, out = _run(_rule(DEVICE_CODE, SIGNIN_INDEX), events)
    assert tr.output.splitlines()[0] == "SigninLogs", tr.output
    for text in ('AuthenticationProtocol == "deviceCode"', 'ResourceIdentity == "00000002', 'AADTenantId == "t-1"',
                 'UserId == "u-1"', 'parse_json(Status)["errorCode"]'):
        assert text in tr.output, (text, tr.output)
    assert set(out) == {"odd-outcome", "no-outcome"}, out
    assert got == want == ["ok", "ok-zero"], (got, want)


def test_a_non_interactive_sign_in_has_no_tenant_column_so_the_device_code_rule_is_refused():
    from eqlc.targets.kql import TARGET
    from tests.node.kusto import declared_tables

    # the schema copy of Microsoft's reference (signin_source): the record's tenant has no column
    columns = declared_tables("sentinel")["AADNonInteractiveUserSignInLogs"]
    assert "AADTenantId" not in columns and {"TenantId", "HomeTenantId", "ResourceTenantId"} <= set(columns)
    assert "AADTenantId" in declared_tables("sentinel")["SigninLogs"]
    # the outcome, protocol and user read from both sign-in tables
    text = DEVICE_CODE.replace(' and azure.tenant_id == "t-1"', "").replace('"SignInLogs"', '"NonInteractiveUserSignInLogs"')
    tr = TARGET.compile(_rule(text, SIGNIN_INDEX), profile="sentinel")
    assert tr.status is Status.ASSUMPTIONS and tr.output.splitlines()[0] == "AADNonInteractiveUserSignInLogs", tr.notes
    tr = TARGET.compile(_rule(DEVICE_CODE.replace('"SignInLogs"', '"NonInteractiveUserSignInLogs"'), SIGNIN_INDEX),
                        profile="sentinel")
    assert tr.status is Status.REFUSED and "azure.tenant_id has no column in AADNonInteractiveUserSignInLogs" in tr.notes[0]
    if CORPUS.is_dir():
        from eqlc.loaders import load_file

        rule = load_file(CORPUS / "credential_access_device_code_signin_aad_graph_enum.toml")[0]
        tr = TARGET.compile(rule, profile="sentinel")
        assert tr.status is Status.REFUSED, tr.notes
        assert tr.notes[0].startswith("field azure.tenant_id has no column in AADNonInteractiveUserSignInLogs"), tr.notes


def test_device_code_fields_parse_with_microsofts_parser():
    from eqlc.targets.kql import TARGET
    from tests.node.kusto import analyse, declared_tables

    text = DEVICE_CODE.replace(' and azure.tenant_id == "t-1"', "").replace('azure.signinlogs.category == "SignInLogs" and ', "")
    queries = [TARGET.compile(_rule(DEVICE_CODE, SIGNIN_INDEX), profile="sentinel").output,
               TARGET.compile(_rule(text, SIGNIN_INDEX), profile="sentinel").output,
               TARGET.compile(_rule('any where azure.tenant_id == "t"',
                                    ("logs-azure.aadgraphactivitylogs-*",)), profile="sentinel").output]
    assert all(queries), queries
    assert analyse(queries, declared_tables("sentinel")) == [[] for _ in queries]


@pytest.mark.parametrize("index, column, dataset", [
    (("logs-azure.activitylogs-*",), "ActivityStatusValue", "azure.activitylogs"),
    (("logs-azure.auditlogs-*",), "Result", "azure.auditlogs"),
])
def test_activity_and_audit_outcomes_are_read_in_lower_case_as_the_shared_pipeline_writes_them(index, column, dataset):
    """Elastic's azure-shared-pipeline (called last by the activitylogs and auditlogs pipelines)
    lower-cases event.outcome, while AzureActivity's ActivityStatusValue holds "Success" / "Failure"
    (Microsoft's queries compare it with =~): a row holding the status in upper case must be read as
    the lower-case outcome Elastic indexes. The rows are written as the table holds them (the fixture
    adapter would write the event's own lower-case value)."""
    import duckdb_kql

    from eqlc.targets.kql import TARGET
    from eqlc.targets.kql.adapter import ID_COLUMN, Loaded, connect, load_for

    tr = TARGET.compile(_rule('any where event.outcome == "success"', index), profile="sentinel")
    assert tr.status is Status.ASSUMPTIONS, tr.notes
    event = {"_id": "e", "@timestamp": "2026-01-01T00:00:00Z", "data_stream": {"dataset": dataset},
             "event": {"dataset": dataset, "module": "azure", "outcome": "success"}}
    loaded = load_for(tr, [event], profile="sentinel")
    table = tr.output.splitlines()[0]
    cols, [row] = loaded.tables[table]
    assert row[column] == "success"
    rows = [{**row, ID_COLUMN: v, column: v} for v in ("Success", "success", "SUCCESS", "Failure", "Started")]
    tables = {n: (c, rows if n == table else r) for n, (c, r) in loaded.tables.items()}
    con = connect(Loaded(tables), tr.output)
    got = sorted(r[list(r).index(ID_COLUMN)] if isinstance(r, dict) else r[0]
                 for r in duckdb_kql.kql(con, f"{tr.output} | project {ID_COLUMN}").fetchall())
    assert got == ["SUCCESS", "Success", "success"], got
