"""Sentinel entity mappings for tables that hold the actor only inside an object (issue 12's
deployables: an alert without entities has to be edited by hand before an analyst can pivot).

AKSAudit keeps the requesting user and addresses in its `User` and `SourceIps` objects; Sentinel
maps an entity from a column of the query's result only, so the deployed query ends with an
`extend` of them (targets/kql/sentinel.py `entity_columns`). That extend must add columns and drop
no row: the selection on duckdb-kql is the same with and without it. OktaV2_CL has scalar actor
columns (ActorUsername, SrcIpAddr) written by the codeless connector's transformKql.
"""

from __future__ import annotations

import dataclasses
import json

import pytest
import yaml

from eqlc.loaders import load_file
from eqlc.result import Status
from eqlc.targets.kql import TARGET
from eqlc.targets.kql.profile import load_profile
from eqlc.targets.kql.sentinel import entity_columns, tables_read
from tests.corpus import CORPUS
from tests.node.kusto import analyse, declared_tables
from tests.test_deploy_sentinel import columns_of, entity_problems
from tests.test_kql_sentinel_aks import EXEC, K8S, _audit
from tests.test_kql_sentinel import _rule

# sentinel-profile translations over tables whose entity columns are objects or were unmapped
RULES = (
    "integrations/kubernetes/defense_evasion_events_deleted.toml",
    "integrations/kubernetes/execution_forbidden_creation_request.toml",
    "integrations/kubernetes/execution_user_exec_to_pod.toml",
    "integrations/kubernetes/privilege_escalation_sensitive_rbac_change_followed_by_workload_modification.toml",
    "integrations/okta/credential_access_okta_mfa_bombing_via_push_notifications.toml",
    "integrations/okta/credential_access_okta_potentially_successful_okta_bombing_via_push_notifications.toml",
    # AADServicePrincipalSignInLogs + AzureActivity, AuditLogs (InitiatedBy extended), Jamf Protect (DvcHostname extended)
    "integrations/azure/credential_access_azure_service_principal_signin_then_arc_credential_listing.toml",
    "integrations/azure/persistence_entra_id_suspicious_cloud_device_registration.toml",
    "macos/privilege_escalation_user_added_to_admin_group.toml",
)


@pytest.mark.parametrize("path", RULES)
def test_the_rule_deploys_with_entities_whose_columns_exist(path):
    [rule] = load_file(CORPUS / path)
    tr = TARGET.compile(rule, profile="sentinel")
    assert tr.status is not Status.REFUSED, tr.notes
    repo = yaml.safe_load(tr.artifacts[f"{rule.file_stem}.sentinel.yaml"])
    arm = json.loads(tr.artifacts[f"{rule.file_stem}.sentinel.json"])["resources"][0]["properties"]
    assert repo["entityMappings"] == arm["entityMappings"] and repo["query"] == arm["query"]
    tables = tables_read(load_profile("sentinel"), rule, tr.output)
    cols = columns_of("sentinel", tables, repo["query"])
    assert repo["entityMappings"] and not entity_problems(repo["entityMappings"], cols), repo["entityMappings"]
    known = {**declared_tables("sentinel")}
    assert analyse([repo["query"]], {t: {**c, "TimeGenerated": "datetime"} for t, c in known.items()}) == [[]]


def test_the_closing_extend_drops_no_row():
    """The same selection on duckdb-kql with the entity column extended as without it. (The
    fixture adapter's AKSAudit rows have no SourceIps: no rule field maps to it, so its extend is
    checked by Microsoft's parser above only.)"""
    rule = _rule(EXEC, index=K8S)
    tr = TARGET.compile(rule, profile="sentinel")
    extend = entity_columns(load_profile("sentinel"), ["AKSAudit"])
    assert set(extend) == {"AuditUserName", "AuditSourceIp"}
    events = [_audit("match"), _audit("match-create", verb="create", stage="ResponseStarted"), _audit("forbidden", decision="forbid")]
    for e in events:
        e["user"] = {"name": "system:serviceaccount:default:web"}
    wide = dataclasses.replace(tr, output=tr.output + f"\n| extend AuditUserName = {extend['AuditUserName']}")
    got = sorted(TARGET.execute(tr, events, profile="sentinel"))
    assert got == ["match", "match-create"]
    assert sorted(TARGET.execute(wide, events, profile="sentinel")) == got
