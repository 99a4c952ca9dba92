"""The `sentinel` KQL profile's OfficeActivity table (issue 13: Microsoft 365 audit on Sentinel's raw
tables), chosen by the rule's index patterns (logs-o365.audit-*).

Queries run on duckdb-kql over the rows the fixture adapter builds from the same profile YAML and must
select exactly what the reference matcher selects among the events inside the stated assumptions;
the events each assumption sets apart are asserted one by one (an event.action Elastic rewrites, an
outcome its o365 pipeline would not have set from ResultStatus, a record listing several items).
Facts: elastic/integrations packages/o365/data_stream/audit/elasticsearch/ingest_pipeline/default.yml;
columns: the OfficeActivity table reference (cited in targets/kql/sentinel.yaml).
"""

from __future__ import annotations

import pytest

from eqlc.result import Status
from tests.test_kql_sentinel import _rule, _run

O365 = ("logs-o365.audit-*", "filebeat-*")


def _o365(_id: str, action: str, subjects=("Your new MFA method",), outcome: str = "success",
          status: str | None = None, provider: str = "Exchange", **extra) -> dict:
    audit: dict = {"AffectedItems": [{"Subject": s} for s in subjects]}
    if status is not None:
        audit["ResultStatus"] = status
    ev = {"_id": _id, "@timestamp": "2026-01-01T00:00:00Z", "data_stream": {"dataset": "o365.audit"},
          "event": {"category": ["web"], "provider": provider, "action": action, "outcome": outcome},
          "o365": {"audit": audit}}
    ev["event"].update(extra)
    return ev


MFA_MAIL = ('web where data_stream.dataset == "o365.audit" and event.provider == "Exchange" and '
            'event.action in ("SoftDelete", "HardDelete") and event.outcome == "success" and '
            'o365.audit.AffectedItems.Subject like~ ("*new mfa*", "*authenticator*") and '
            'not o365.audit.AffectedItems.Subject like~ "*sign-in*"')


def test_office_activity_rule_runs_on_duckdb_kql_as_the_matcher_decides():
    events = [
        _o365("match", "SoftDelete"),
        _o365("match-status", "HardDelete", status="Succeeded"),
        _o365("match-case", "SoftDelete", subjects=("AUTHENTICATOR app added",)),
        _o365("failed", "SoftDelete", outcome="failure", status="FAILED"),  # lower-cased by the pipeline
        _o365("sign-in", "SoftDelete", subjects=("new MFA sign-in",)),
        _o365("other-op", "Send"),
        _o365("sharepoint", "SoftDelete", provider="SharePoint"),
        # outside: an outcome ResultStatus does not give (a DLP record's comes from its policy details)
        _o365("dlp", "SoftDelete", outcome="failure", code="ComplianceDLPExchange"),
        # outside: two items, of which the query reads the first
        _o365("two-items", "SoftDelete", subjects=("lunch", "new mfa")),
        # outside: another spelling of an operation than the value map lists
        _o365("case-op", "softdelete"),
        # outside: not a `web` event
        dict(_o365("not-web", "SoftDelete"), event={"category": ["file"], "provider": "Exchange",
                                                    "action": "SoftDelete", "outcome": "success"}),
    ]
    tr, got, want, out = _run(_rule(MFA_MAIL, O365), events)
    assert tr.status is Status.ASSUMPTIONS
    assert tr.output.splitlines()[0] == "OfficeActivity"
    assert 'Operation in ("SoftDelete", "HardDelete")' in tr.output
    assert "parse_json(AffectedItems)[0].Subject" in tr.output and "tolower(ResultStatus)" in tr.output
    assert set(out) == {"dlp", "two-items", "case-op", "not-web"}, out
    assert got == want == ["match", "match-case", "match-status"]
    notes = " ".join(tr.notes)
    assert "read as the Office 365 audit log, OfficeActivity" in notes and "more than one item" in notes


@pytest.mark.parametrize("text, reason", [
    # SharePoint/Exchange search records' SearchQueryText has no OfficeActivity column
    ('web where o365.audit.SearchQueryText : "*password*"', "o365.audit.SearchQueryText has no column in OfficeActivity"),
    # Elastic rewrites MicrosoftTeams' TeamCreated to this name: not Operation's spelling
    ('web where event.action == "added-group-account-to"', "event.action"),
    ('web where event.action == "TeamCreated"', "event.action"),
])
def test_office_activity_refusals(text, reason):
    tr = TARGET_compile(_rule(text, O365))
    assert tr.status is Status.REFUSED and any(reason in n for n in tr.notes), tr.notes


def TARGET_compile(rule):
    from eqlc.targets.kql import TARGET

    return TARGET.compile(rule, profile="sentinel")


def test_office_activity_query_parses_with_microsofts_parser_and_names_its_connector():
    from eqlc.targets.kql import sentinel
    from eqlc.targets.kql.profile import load_profile
    from tests.node.kusto import analyse, declared_tables

    tr = TARGET_compile(_rule(MFA_MAIL, O365))
    assert analyse([tr.output], declared_tables("sentinel")) == [[]]
    assert sentinel.connectors(load_profile("sentinel"), ["OfficeActivity"], []) == [
        {"connectorId": "Office365", "dataTypes": ["OfficeActivity"]}]


@pytest.mark.parametrize("index, why", [
    # kqlgraph: Graph activity logs are read from MicrosoftGraphActivityLogs; platform logs from no table
    (("logs-azure.signinlogs-*", "logs-azure.platformlogs-*"), "no table mapping is built for the other Elastic azure data"),
    (("logs-okta*", ".alerts-security.*"), "OktaV2_CL"),  # kqlraw: logs-okta.system* alone reads OktaV2_CL
    (("filebeat-*", "logs-google_workspace.drive-*"), "GWorkspace_ReportsAPI_"),
    # an index no entry names keeps the plain reason
    (("logs-endpoint.events.process-*",), None),
])
def test_data_no_raw_table_holds_is_refused_with_the_recorded_reason(index, why):
    tr = TARGET_compile(_rule('any where true', index))
    assert tr.status is Status.REFUSED
    [note] = tr.notes
    assert note.startswith("no sentinel table holds the rule's data: index patterns ")
    assert (why in note) if why else ";" not in note, note
