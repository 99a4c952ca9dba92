"""Sigma `product: m365, service: audit` (issue 14, cloud/SaaS log sources): the Office 365 Management
Activity API record fields SigmaHQ's m365 rules name, read back from Elastic's o365 integration.

Each case compiles an EQL query, runs the Sigma it writes through pySigma's sqlite backend on hand-made
ECS events, and compares the selection with the Python matcher: differences only on events the
translation's own checks set apart, and the events a case names as in scope must agree. The facts come
from Elastic's pipeline (elastic/integrations packages/o365/data_stream/audit/elasticsearch/
ingest_pipeline/default.yml), cited in targets/sigma/mapping.yaml `m365_audit`.
"""

from __future__ import annotations

from eqlc.result import Status
from eqlc.targets.sigma import TARGET
from tests.test_sigma_sources import agree, docs, ev, rule

M365 = 'web where data_stream.dataset == "o365.audit" and '


def o365(i: str, action: str, provider: str = "Exchange", outcome: str = "success", **kw) -> dict:
    return ev(i, data_stream__dataset="o365.audit", event__category=["web"], event__provider=provider,
              event__action=action, event__outcome=outcome, **kw)


def test_operation_and_workload_are_the_records_field_names():
    r = rule(M365 + 'event.provider == "SharePoint" and event.action == "SearchQueryPerformed" and '
             'o365.audit.SearchQueryText : "*password*"')
    t = TARGET.compile(r, profile="cased")
    [d] = docs(t)
    assert d["logsource"] == {"product": "m365", "service": "audit"}
    assert next(iter(t.artifacts)).startswith("microsoft365_")
    sel = next(iter(v for k, v in d["detection"].items() if k != "condition"))
    # a value map writes the Operation spelling it lists; its check sets apart any other spelling
    assert sel["Operation"] == "SearchQueryPerformed" and sel["Workload|cased"] == "SharePoint"
    events = [o365("a", "SearchQueryPerformed", "SharePoint", o365__audit__SearchQueryText="my PASSWORD list"),
              o365("b", "SearchQueryPerformed", "SharePoint", o365__audit__SearchQueryText="holiday"),
              o365("c", "SearchQueryPerformed", "Exchange", o365__audit__SearchQueryText="password"),
              o365("d", "FileAccessed", "SharePoint", o365__audit__SearchQueryText="password"),
              o365("e", "searchqueryperformed", "SharePoint", o365__audit__SearchQueryText="password")]
    got, _want, outside = agree(r, events, profile="cased", must_agree="abcd")
    assert got & set("abcd") == {"a"} and "e" in outside


def test_an_operation_the_pipeline_rewrites_is_refused_not_read_as_operation():
    # the pipeline turns MicrosoftTeams "TeamCreated" into event.action "added-group-account-to" and
    # AzureActiveDirectory "Add user." into "added-user-account": neither spelling is Operation's
    for action in ("added-user-account", "TeamCreated"):
        t = TARGET.compile(rule(M365 + f'event.action == "{action}"'))
        assert t.status is Status.REFUSED, (action, t.notes)


def test_outcome_is_read_from_result_status_as_the_pipeline_lower_cases_it():
    r = rule(M365 + 'event.action == "SoftDelete" and event.outcome == "success"')
    t = TARGET.compile(r)
    assert "ResultStatus" in t.output
    assert any("ComplianceDLPExchange" in n for n in t.notes), t.notes
    events = [o365("a", "SoftDelete", o365__audit__ResultStatus="Succeeded"),
              o365("b", "SoftDelete", outcome="failure", o365__audit__ResultStatus="FAILED"),  # lower-cased: failure
              o365("c", "SoftDelete"),  # no ResultStatus: success
              o365("d", "SoftDelete", outcome="failure", o365__audit__ResultStatus="False"),
              # not what ResultStatus gives: outside
              o365("e", "SoftDelete", outcome="failure", o365__audit__ResultStatus="Succeeded"),
              # a DLP record: its outcome comes from PolicyDetails, not ResultStatus
              o365("f", "SoftDelete", outcome="failure", event__code="ComplianceDLPExchange")]
    got, _want, outside = agree(r, events, must_agree="abcd")
    assert got & set("abcd") == {"a", "c"}
    assert {"e", "f"} <= set(outside)


def test_affected_items_subject_is_read_under_a_one_item_assumption():
    r = rule(M365 + 'event.action == "HardDelete" and o365.audit.AffectedItems.Subject like~ "*new mfa*"')
    t = TARGET.compile(r)
    assert t.status is Status.ASSUMPTIONS and "AffectedItems.Subject|contains" in t.output
    events = [o365("a", "HardDelete", o365__audit__AffectedItems=[{"Subject": "Your NEW MFA method"}]),
              o365("b", "HardDelete", o365__audit__AffectedItems=[{"Subject": "lunch"}]),
              o365("c", "HardDelete", o365__audit__AffectedItems=[{"Subject": "lunch"}, {"Subject": "new mfa"}])]
    got, _want, outside = agree(r, events, must_agree="ab")
    assert got & {"a", "b"} == {"a"} and "c" in outside


def test_m365_rules_of_the_corpus_pass_sigmahqs_validators_and_the_inbox_rule_is_refused(tmp_path):
    from eqlc.loaders import load_rules
    from tests import sigmahq_data
    from tests.corpus import CORPUS

    names = ["defense_evasion_mfa_notification_email_deleted", "discovery_sharepoint_sensitive_term_search"]
    sigmahq_data.assert_corpus_rules_pass(tmp_path, "integrations/o365", names, "microsoft365_")
    # o365.audit.Parameters.* is the pipeline's dict of the record's Name/Value list (no record path),
    # compared with user.domain by endsWith: refused
    [r] = load_rules(str(CORPUS / "integrations" / "o365" / "collection_exchange_new_inbox_rule.toml"))
    assert TARGET.compile(r).status is Status.REFUSED


def test_a_category_the_pipeline_derives_from_unmapped_fields_is_refused_not_never_true():
    # SharePoint file operations are `file` events in ECS (the pipeline adds it by Operation and record
    # type): refused with that reason, where reading it as "never holds" would drop them
    t = TARGET.compile(rule('file where data_stream.dataset == "o365.audit" and event.provider == "SharePoint"'))
    assert t.status is Status.REFUSED and "adds file by Operation and record type" in t.notes[0], t.notes
