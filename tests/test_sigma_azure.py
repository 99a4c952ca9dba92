"""Azure rules on the Sigma target (issue 14, `sigaz` pass): which Azure records no Sigma taxonomy log
source holds (mapping.yaml ``no_log_source``, evidence cited there), and that a refusal names that record
kind, category or field instead of "not in the mapping". The six Azure corpus rules that read
logs-azure.signinlogs-* / logs-azure.auditlogs-* and the BloodHound user-agent rule are asserted one by one."""

from __future__ import annotations

import pytest

from eqlc.loaders import load_rules
from eqlc.result import Status
from eqlc.targets.sigma import TARGET
from eqlc.targets.sigma.coverage import reason_class, verdict
from eqlc.targets.sigma.mapping import load
from tests.corpus import CORPUS
from tests.test_sigma_sources import rule

AZURE = CORPUS / "integrations" / "azure"

# rule file -> words its refusal must contain (the step, the data set, the category value or the field)
EXPECTED = {
    "persistence_entra_id_rt_to_prt_transition_from_user_device.toml":
        ["sequence step 1", "azure.signinlogs", '"NonInteractiveUserSignInLogs"', "AADNonInteractiveUserSignInLogs"],
    "persistence_entra_id_device_registration_to_prt_chain.toml":
        ["sequence step 1", "azure.signinlogs", '"NonInteractiveUserSignInLogs"'],
    "credential_access_azure_service_principal_signin_then_arc_credential_listing.toml":
        ["sequence step 1", '"ServicePrincipalSignInLogs"', "AADServicePrincipalSignInLogs"],
    # step 1 (interactive sign-ins) is not what decides: step 2 reads AAD Graph activity
    "credential_access_device_code_signin_aad_graph_enum.toml":
        ["sequence step 2", "azure.aadgraphactivitylogs"],
    "persistence_identity_protect_alert_followed_by_device_reg.toml":
        ["sequence step 1", "azure.identity_protection", "RiskyUsers"],
    "persistence_entra_id_suspicious_cloud_device_registration.toml":
        ["sequence step 1", "azure.auditlogs.properties.target_resources.0.modified_properties.1.", "list index"],
    "discovery_bloodhound_user_agents_detected.toml": ["azure.graphactivitylogs"],
}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_azure_corpus_rule_is_refused_for_what_no_taxonomy_source_holds(name):
    if not (AZURE / name).exists():
        pytest.skip(f"corpus rule {name} not in ../shared")
    [r] = load_rules(str(AZURE / name))
    t = TARGET.compile(r)
    assert t.status is Status.REFUSED
    reason = " ".join(t.notes)
    for word in EXPECTED[name]:
        assert word in reason, (word, reason)
    family = reason_class(reason)
    assert verdict(family) == "inexpressible", (family, reason)


def test_interactive_sign_ins_are_not_called_outside_the_taxonomy():
    """azure/signinlogs is a taxonomy service: a query on the data set without a non-interactive category
    is refused for want of a built log source (an open gap), not as outside the taxonomy."""
    r = rule('authentication where data_stream.dataset == "azure.signinlogs" and '
             'azure.signinlogs.properties.authentication_protocol == "deviceCode"')
    t = TARGET.compile(r)
    assert t.status is Status.REFUSED
    reason = " ".join(t.notes)
    assert "taxonomy" not in reason and "(data set azure.signinlogs)" in reason
    assert verdict(reason_class(reason)) == "gap"


def test_an_unlisted_category_value_is_not_called_outside_the_taxonomy():
    """Only the listed categories are outside; ``SignInLogs`` (interactive) or a mix with it is not."""
    for cond in ('azure.signinlogs.category == "SignInLogs"',
                 'azure.signinlogs.category in ("SignInLogs", "NonInteractiveUserSignInLogs")'):
        r = rule(f'authentication where data_stream.dataset == "azure.signinlogs" and {cond}')
        reason = " ".join(TARGET.compile(r).notes)
        assert "taxonomy" not in reason, (cond, reason)


def test_a_later_step_outside_the_taxonomy_decides_a_sequence():
    """A sequence whose first step would translate (a Windows process start) and whose second reads
    Microsoft Graph activity is refused for the second step, before any step is translated."""
    r = rule('sequence by user.name with maxspan=5m '
             '[process where host.os.type == "windows" and event.type == "start" and process.name : "cmd.exe"] '
             '[web where data_stream.dataset : "azure.graphactivitylogs" and url.path : "*/users*"]')
    t = TARGET.compile(r)
    assert t.status is Status.REFUSED
    reason = " ".join(t.notes)
    assert reason.startswith("sequence step 2: no Sigma taxonomy log source holds data set azure.graphactivitylogs"), reason


def test_the_positional_field_entry_only_catches_indexed_paths():
    """``fields`` patterns name list elements by position only: another auditlogs field stays a gap."""
    r = rule('any where data_stream.dataset == "azure.auditlogs" and '
             'azure.auditlogs.operation_name == "Register device"')
    reason = " ".join(TARGET.compile(r).notes)
    assert "list index" not in reason and "(data set azure.auditlogs)" in reason
    m = load()
    assert set(m.no_log_source) >= {"azure.signinlogs", "azure.auditlogs", "azure.aadgraphactivitylogs",
                                    "azure.graphactivitylogs", "azure.identity_protection"}
