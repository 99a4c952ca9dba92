"""The `sentinel` KQL profile's Entra ID tables (issue 13): AADRiskyUsers and AADUserRiskEvents, which
together hold what Elastic's azure identity_protection data stream holds (routed by the record's
category), and AuditLogs; a rule naming several of their index patterns reads each table as a union
leg of its query or of each sequence step (raw_tables._routed).

Queries run on duckdb-kql (sequences: their legs, then the scan model) over the rows the fixture
adapter builds from the same profile YAML, and must select exactly what the reference matcher selects
among the events inside the stated assumptions. Sources are cited in targets/kql/sentinel.yaml.
"""

from __future__ import annotations

import json

from eqlc.result import Status
from tests.test_kql_sentinel import _rule, _sequence_run

IDP = ("logs-azure.identity_protection-*",)
IDP_AUDIT = ("logs-azure.identity_protection-*", "logs-azure.auditlogs-*")

ALERTS = ('sequence by azure.identityprotection.properties.user_principal_name with maxspan=10m '
          '[any where event.module == "azure" and data_stream.dataset == "azure.identity_protection"] with runs=2')
ALERT_THEN_DEVICE = (
    'sequence with maxspan=5m '
    '[any where data_stream.dataset == "azure.identity_protection"] by azure.identityprotection.properties.user_principal_name '
    '[any where data_stream.dataset == "azure.auditlogs" and event.action == "Register device"] '
    'by azure.auditlogs.properties.initiated_by.user.userPrincipalName')


def _risk(_id: str, ts: str, upn, category="UserRiskEvents", module="azure") -> dict:
    ev: dict = {"_id": _id, "@timestamp": f"2026-01-01T00:{ts}Z", "data_stream": {"dataset": "azure.identity_protection"},
                "event": {"module": module, "dataset": "azure.identity_protection"},
                "azure": {"identityprotection": {"properties": {}}}}
    if category is not None:
        ev["azure"]["identityprotection"]["category"] = category
    if upn is not None:
        ev["azure"]["identityprotection"]["properties"]["user_principal_name"] = upn
    return ev


def _audit(_id: str, ts: str, upn, action="Register device", operation_name=None) -> dict:
    ev: dict = {"_id": _id, "@timestamp": f"2026-01-01T00:{ts}Z", "data_stream": {"dataset": "azure.auditlogs"},
                "event": {"module": "azure", "action": action},
                "azure": {"auditlogs": {"properties": {"initiated_by": {"user": {"userPrincipalName": upn}}}}}}
    if operation_name is not None:
        ev["azure"]["auditlogs"]["operation_name"] = operation_name
    return ev


def _sequence(text: str, index: tuple[str, ...], events: list[dict]):
    tr, got, want, out = _sequence_run(_rule(text, index), events)
    assert tr.status is Status.ASSUMPTIONS, tr.notes
    return tr, got, want, out


def test_identity_protection_runs_sequence_reads_both_risk_tables():
    events = [
        # alice: one risky-user record and one risk event 2 minutes apart (two tables, one sequence)
        _risk("a1", "00:00", "alice@corp", "RiskyUsers"), _risk("a2", "02:00", "alice@corp", "UserRiskEvents"),
        # bob: two records 11 minutes apart (past maxspan)
        _risk("b1", "00:00", "bob@corp"), _risk("b2", "11:00", "bob@corp"),
        # carol: the UPN differs in letter case (join keys compare exactly)
        _risk("c1", "00:00", "carol@corp"), _risk("c2", "01:00", "CAROL@corp"),
        # dave: two records, one without a UPN (no join key)
        _risk("d1", "00:00", "dave@corp"), _risk("d2", "01:00", None),
        # outside: a category Elastic's data stream never keeps (dropped by its pipeline)
        _risk("odd", "00:30", "alice@corp", "RiskyServicePrincipals"),
        _risk("none", "00:31", "alice@corp", None),
    ]
    tr, got, want, out = _sequence(ALERTS, IDP, events)
    assert "let __leg1 = AADRiskyUsers" in tr.output and "let __leg2 = AADUserRiskEvents" in tr.output
    assert set(out) == {"odd", "none"}, out
    assert got == want == ["a1", "a2"], (got, want)


def test_alert_then_device_registration_joins_two_tables_by_the_upn():
    events = [
        _risk("r-alice", "00:00", "alice@corp", "RiskyUsers"), _audit("reg-alice", "03:00", "alice@corp"),
        _risk("r-bob", "00:00", "bob@corp"), _audit("reg-bob", "06:00", "bob@corp"),  # past maxspan
        _risk("r-carol", "00:00", "carol@corp"), _audit("add-carol", "01:00", "carol@corp", action="Add device"),
        _risk("r-dave", "00:00", "dave@corp"), _audit("reg-eve", "01:00", "eve@corp"),
        # event.action is the record's operationName, which the pipeline also keeps as operation_name
        _risk("r-fay", "00:00", "fay@corp"), _audit("reg-fay", "01:00", "fay@corp", operation_name="Register device"),
        # outside: event.action and operation_name differ (one column, OperationName, holds both)
        _risk("r-gil", "00:00", "gil@corp"), _audit("reg-gil", "01:00", "gil@corp", operation_name="Add device"),
    ]
    tr, got, want, out = _sequence(ALERT_THEN_DEVICE, IDP_AUDIT, events)
    assert 'tostring(InitiatedBy["user"]["userPrincipalName"])' in tr.output
    assert "step 1's condition is false for every row of AuditLogs" in " ".join(tr.notes)
    assert set(out) == {"reg-gil", "r-gil"}, out  # r-gil: selected only through reg-gil
    assert got == want == ["r-alice", "r-fay", "reg-alice", "reg-fay"], (got, want)


def test_events_route_to_the_table_of_their_category():
    from eqlc.targets.kql import TARGET
    from eqlc.targets.kql.adapter import load_for

    tr = TARGET.compile(_rule(ALERT_THEN_DEVICE, IDP_AUDIT), profile="sentinel")
    assert tr.tables == ["AADRiskyUsers", "AADUserRiskEvents", "AuditLogs"], tr.tables
    loaded = load_for(tr, [_risk("r", "00:00", "u", "RiskyUsers"), _risk("e", "00:00", "u"), _audit("a", "00:00", "u")],
                      profile="sentinel")
    from eqlc.targets.kql.profile import load_profile
    lookup_tables = {lk.table for lk in load_profile("sentinel").lookups.values()}  # Heartbeat (kqlhb): no rows here
    assert {n: [r["__eqlc_id"] for r in rows] for n, (_c, rows) in loaded.tables.items() if n not in lookup_tables} == {
        "AADRiskyUsers": ["r"], "AADUserRiskEvents": ["e"], "AuditLogs": ["a"]}
    assert all(not loaded.tables[n][1] for n in lookup_tables)
    _cols, [row] = loaded.tables["AuditLogs"]
    assert json.loads(row["InitiatedBy"]) == {"user": {"userPrincipalName": "u"}} and row["OperationName"] == "Register device"


def test_one_routed_table_is_read_alone_and_unrouted_patterns_stay_refused():
    from eqlc.targets.kql import TARGET

    tr = TARGET.compile(_rule('any where event.action == "Add device"', ("logs-azure.auditlogs-*",)), profile="sentinel")
    assert tr.status is Status.ASSUMPTIONS and tr.output.splitlines()[0] == "AuditLogs", tr.notes
    # platform logs are no table of this profile: the pattern beside an audit pattern is refused
    tr = TARGET.compile(_rule('any where event.action == "x"', ("logs-azure.auditlogs-*", "logs-azure.platformlogs-*")),
                        profile="sentinel")
    assert tr.status is Status.REFUSED and "no sentinel table holds the rule's data" in " ".join(tr.notes), tr.notes


def test_entra_queries_parse_with_microsofts_parser_and_name_their_connector():
    from eqlc.targets.kql import TARGET, sentinel
    from eqlc.targets.kql.profile import load_profile
    from tests.node.kusto import analyse, declared_tables

    queries = [TARGET.compile(_rule(q, i), profile="sentinel").output for q, i in ((ALERTS, IDP), (ALERT_THEN_DEVICE, IDP_AUDIT))]
    assert analyse(queries, declared_tables("sentinel")) == [[], []]
    rule = _rule(ALERT_THEN_DEVICE, IDP_AUDIT)
    assert sentinel.tables_read(load_profile("sentinel"), rule, queries[1]) == ["AADRiskyUsers", "AADUserRiskEvents", "AuditLogs"]
    assert sentinel.connectors(load_profile("sentinel"), ["AADRiskyUsers", "AuditLogs"], []) == [
        {"connectorId": "AzureActiveDirectory", "dataTypes": ["AADRiskyUsers", "AuditLogs"]}]
