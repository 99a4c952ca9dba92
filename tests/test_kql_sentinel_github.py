"""The `sentinel` KQL profile's GitHubAuditLogsV2_CL table (issue 13: the GitHub Enterprise audit log on
Sentinel, the custom table its GitHub solution's audit-log connector creates), chosen by the rule's
index pattern (logs-github.audit-*).

Queries run on duckdb-kql over the rows the fixture adapter builds from the same profile YAML and must
select exactly what the reference matcher selects among the events inside the stated assumptions; the
events each assumption sets apart are asserted by name (a github.category Elastic's grok would not
have derived from the action, an event of another category than the query's). Columns: the
solution's table definition; fields: Elastic's GitHub audit pipeline (both cited in
targets/kql/sentinel.yaml).
"""

from __future__ import annotations

import pytest

from eqlc.result import Status
from tests.test_kql_sentinel import _rule, _run

GITHUB = ("logs-github.audit-*",)


def _gh(_id: str, action: str, category=None, permission: str | None = None, cats=("configuration", "web")) -> dict:
    gh: dict = {}
    if category is not None:
        gh["category"] = category
    if permission is not None:
        gh["permission"] = permission
    return {"_id": _id, "@timestamp": "2026-01-01T00:00:00Z", "data_stream": {"dataset": "github.audit"},
            "event": {"category": list(cats), "action": action, "dataset": "github.audit", "module": "github"},
            "user": {"name": "octocat"}, "github": gh}


OWNER = ('iam where data_stream.dataset == "github.audit" and event.action == "org.update_member" and '
         'github.permission == "admin"')


def test_github_rule_runs_on_duckdb_kql_as_the_matcher_decides():
    iam = ("configuration", "web", "iam")
    events = [
        _gh("match", "org.update_member", "org", "admin", iam),
        _gh("read", "org.update_member", "org", "read", iam),
        _gh("admin-case", "org.update_member", "org", "Admin", iam),  # == is case-sensitive on both sides
        _gh("other-action", "org.add_member", "org", "admin", iam),
        _gh("action-case", "ORG.update_member", None, "admin", iam),
        # outside: not an `iam` event (Elastic adds iam for org and team actions only)
        _gh("not-iam", "org.update_member", "org", "admin"),
    ]
    tr, got, want, out = _run(_rule(OWNER, GITHUB), events)
    assert tr.status is Status.ASSUMPTIONS
    assert tr.output.splitlines()[0] == "GitHubAuditLogsV2_CL"
    assert 'Action == "org.update_member"' in tr.output and 'Permission == "admin"' in tr.output
    assert set(out) == {"not-iam"}, out
    assert got == want == ["match"], (got, want)
    assert any("GitHubAuditLogsV2_CL" in n and "logs-github.audit-*" in n for n in tr.notes)


CATEGORY = 'configuration where github.category == "integration_installation" and not event.action : "*.create"'


def test_github_category_is_computed_from_the_action_as_elastics_grok_sets_it():
    events = [
        _gh("match", "integration_installation.destroy", "integration_installation"),
        _gh("create", "integration_installation.create", "integration_installation"),
        _gh("other", "repo.destroy", "repo"),
        # outside: a category the grok would not give for this action (it keeps the text before the first ".")
        _gh("wrong-category", "repo.destroy", "integration_installation"),
        # outside: no category for an action whose head is not lower-case letters and "_" (the grok fails)
        _gh("upper-head", "Integration_installation.destroy", "integration_installation"),
    ]
    tr, got, want, out = _run(_rule(CATEGORY, GITHUB), events)
    assert r'extract(@"(?m)^([a-z_]+)\.", 1, Action) == "integration_installation"' in tr.output
    assert set(out) == {"wrong-category", "upper-head"}, out
    assert got == want == ["match"], (got, want)


def _typed(_id: str, action: str, types, category=None) -> dict:
    ev = _gh(_id, action, category if category is not None else action.split(".")[0])
    ev["event"]["type"] = list(types)
    return ev


CHANGE = 'configuration where github.category == "protected_branch" and event.type == "change"'
DELETION = 'configuration where event.type : "DELETION" and not event.type == "group"'


@pytest.mark.parametrize("query, want_ids", [
    (CHANGE, ["match", "second-line"]),
    (DELETION, ["deleted", "removed"]),
])
def test_github_event_type_is_read_per_value_from_the_action(query, want_ids):
    events = [
        _typed("match", "protected_branch.policy_override", ["change"]),
        _typed("created", "protected_branch.create", ["creation"]),
        _typed("deleted", "protected_branch.destroy_delete", ["deletion"]),
        _typed("removed", "repo.remove_topic", ["deletion"]),
        _typed("both", "protected_branch.add_delete", ["creation", "deletion"]),
        _typed("org-removed", "org.remove_member", ["group", "user", "deletion"]),
        # the grok reads the action's second line when its first has no category (Joni's ^ is per line)
        _typed("second-line", "Not a category\nprotected_branch.update", ["change"], "protected_branch"),
        # outside: a type the pipeline would not set for this action
        _typed("wrong-type", "protected_branch.update", ["deletion"]),
        _typed("unknown-type", "protected_branch.update", ["change", "info"]),
    ]
    tr, got, want, out = _run(_rule(query, GITHUB), events)
    assert tr.status is Status.ASSUMPTIONS and 'contains_cs "remove"' in tr.output
    assert set(out) == {"wrong-type", "unknown-type"}, out
    assert got == want, (got, want)
    assert sorted(want) == sorted(want_ids + (["both"] if query == DELETION else [])), want


def test_github_query_parses_with_microsofts_parser_and_names_its_connector():
    from eqlc.targets.kql import TARGET, sentinel
    from eqlc.targets.kql.profile import load_profile
    from tests.node.kusto import analyse, declared_tables

    queries = [TARGET.compile(_rule(q, GITHUB), profile="sentinel").output for q in (OWNER, CATEGORY, CHANGE, DELETION)]
    assert analyse(queries, declared_tables("sentinel")) == [[], [], [], []]
    assert sentinel.connectors(load_profile("sentinel"), ["GitHubAuditLogsV2_CL"], []) == [
        {"connectorId": "GitHubAuditDefinitionV2", "dataTypes": ["GitHubAuditLogsV2_CL"]}]


@pytest.mark.parametrize("text, reason", [
    # event.type is read per value from the action: only literal tests translate
    ('configuration where event.type like "ch*"', "event.type is computed per value in GitHubAuditLogsV2_CL"),
    ('configuration where event.type == null', "event.type is computed per value"),
    # json.team or json.data.team: the table's Team column holds only the former
    ('configuration where github.team == "core"', "github.team has no column in GitHubAuditLogsV2_CL"),
])
def test_github_refusals(text, reason):
    from eqlc.targets.kql import TARGET

    tr = TARGET.compile(_rule(text, GITHUB), profile="sentinel")
    assert tr.status is Status.REFUSED and any(reason in n for n in tr.notes), tr.notes
