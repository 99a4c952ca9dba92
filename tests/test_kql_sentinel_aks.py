"""The `sentinel` KQL profile's AKSAudit table (issue 13: Kubernetes API server audit of AKS clusters
on Sentinel's raw tables), chosen by the rule's index pattern (logs-kubernetes.audit_logs-*).

Queries run on duckdb-kql over the rows the fixture adapter builds from the same profile YAML
(AKSAudit's ObjectRef, User and Annotations objects written from the ECS event's values) and must
select exactly what the reference matcher selects among the events inside the stated assumptions;
the events the computed-field check sets apart (a field with two values, which the query reads as
one object value) are asserted by name. Columns: the AKSAudit table reference; field names:
elastic/integrations packages/kubernetes/data_stream/audit_logs ingest pipeline (cited in
targets/kql/sentinel.yaml).
"""

from __future__ import annotations

import json

import pytest

from eqlc.result import Status
from tests.test_kql_sentinel import _rule, _run

K8S = ("logs-kubernetes.audit_logs-*",)


def _audit(_id: str, verb: str = "get", stage: str = "ResponseComplete", decision: str | None = "allow",
           level: str = "Request", uri: str = "/api/v1/namespaces/default/pods/web-1/exec?command=sh", **ref) -> dict:
    audit: dict = {"verb": verb, "stage": stage, "level": level, "requestURI": uri,
                   "objectRef": {"resource": "pods", "subresource": "exec", "namespace": "default", "name": "web-1"}}
    audit["objectRef"].update(ref)
    audit["objectRef"] = {k: v for k, v in audit["objectRef"].items() if v is not None}
    if decision is not None:
        audit["annotations"] = {"authorization_k8s_io/decision": decision}
    return {"_id": _id, "@timestamp": "2026-01-01T00:00:00Z", "data_stream": {"dataset": "kubernetes.audit_logs"},
            "event": {"action": verb}, "kubernetes": {"audit": audit}}


EXEC = ('any where data_stream.dataset == "kubernetes.audit_logs" and kubernetes.audit.verb in ("get", "create") and '
        'kubernetes.audit.objectRef.subresource == "exec" and kubernetes.audit.stage in ("ResponseComplete", "ResponseStarted") and '
        'kubernetes.audit.level == "Request" and `kubernetes.audit.annotations.authorization_k8s_io/decision` == "allow" and '
        'not (kubernetes.audit.objectRef.namespace == "trident" and kubernetes.audit.objectRef.name like "trident-controller-*") and '
        'not (kubernetes.audit.objectRef.namespace == "vuls" and kubernetes.audit.requestURI like "/api/v1/namespaces/vuls/pods/vuls-*/exec?command=*")')


def test_aks_audit_rule_runs_on_duckdb_kql_as_the_matcher_decides():
    events = [
        _audit("match"),
        _audit("match-create", verb="create", stage="ResponseStarted"),
        _audit("verb-case", verb="GET"),  # == is case-sensitive in EQL and in Kusto
        _audit("forbidden", decision="forbid"),
        _audit("no-decision", decision=None),
        _audit("not-exec", subresource="log"),
        _audit("no-subresource", subresource=None),
        _audit("metadata-level", level="Metadata"),
        _audit("trident", namespace="trident", name="trident-controller-7"),
        _audit("trident-other", namespace="trident", name="web"),
        _audit("vuls", namespace="vuls", uri="/api/v1/namespaces/vuls/pods/vuls-1/exec?command=ls"),
        _audit("vuls-other-uri", namespace="vuls", uri="/api/v1/namespaces/vuls/pods/other/exec?command=ls"),
        # outside: two values of a field the query reads from one object key
        _audit("two-subresources", subresource=["exec", "attach"]),
    ]
    tr, got, want, out = _run(_rule(EXEC, K8S), events)
    assert tr.status is Status.ASSUMPTIONS
    assert tr.output.splitlines()[0] == "AKSAudit"
    assert 'tostring(ObjectRef["subresource"]) == "exec"' in tr.output
    assert 'tostring(Annotations["authorization.k8s.io/decision"]) == "allow"' in tr.output
    assert set(out) == {"two-subresources"}, out
    assert got == want == ["match", "match-create", "trident-other", "vuls-other-uri"], (got, want)
    notes = " ".join(tr.notes)
    assert "Kubernetes API server audit log of AKS clusters, AKSAudit" in notes


def test_aks_audit_rows_hold_the_event_objects_with_kubernetes_annotation_keys():
    """The adapter writes AKSAudit's Annotations with the API server's dotted key, which the query reads;
    an adapter writing Elastic's underscored key would make the rule above select nothing."""
    from eqlc.targets.kql import TARGET
    from eqlc.targets.kql.adapter import load_for

    tr = TARGET.compile(_rule(EXEC, K8S), profile="sentinel")
    loaded = load_for(tr, [_audit("match")], profile="sentinel")
    _cols, [row] = loaded.tables["AKSAudit"]
    assert json.loads(row["Annotations"]) == {"authorization.k8s.io/decision": "allow"}
    assert json.loads(row["ObjectRef"])["subresource"] == "exec" and row["Verb"] == "get"


GROUPS = ('any where data_stream.dataset == "kubernetes.audit_logs" and kubernetes.audit.verb == "create" and '
          'not kubernetes.audit.user.groups == "system:masters"')


def test_aks_audit_user_groups_list_is_tested_element_by_element():
    def ev(_id, groups):
        e = _audit(_id, verb="create")
        if groups is not None:
            e["kubernetes"]["audit"]["user"] = {"username": "alice", "groups": groups}
        return e

    events = [ev("masters", ["system:authenticated", "system:masters"]), ev("one-master", "system:masters"),
              ev("others", ["system:authenticated"]), ev("masters-case", ["System:Masters"]), ev("no-user", None),
              ev("empty", [])]
    tr, got, want, out = _run(_rule(GROUPS, K8S), events)
    assert 'set_has_element(User["groups"], "system:masters")' in tr.output
    assert not out, out
    assert got == want == ["empty", "masters-case", "no-user", "others"], (got, want)


SEQ = ('sequence by user.name with maxspan=5m '
       '[any where kubernetes.audit.objectRef.resource == "roles" and kubernetes.audit.verb == "create"] '
       '[any where kubernetes.audit.objectRef.resource == "deployments" and not kubernetes.audit.user.groups == "system:masters"]')


def test_aks_audit_sequence_by_user_name_runs_as_the_matcher_decides():
    from eqlc.targets.kql import TARGET
    from tests.test_kql_sentinel import matcher

    def ev(_id, minute, resource, user, groups=("dev",)):
        e = _audit(_id, verb="create", resource=resource)
        e["@timestamp"] = f"2026-01-01T00:0{minute}:00Z"
        e["user"] = {"name": user}
        e["kubernetes"]["audit"]["user"] = {"username": user, "groups": list(groups)}
        return e

    events = [ev("r-alice", 0, "roles", "alice"), ev("d-bob", 1, "deployments", "bob"),
              ev("d-alice", 2, "deployments", "alice"), ev("r-carol", 3, "roles", "carol"),
              ev("d-carol", 4, "deployments", "carol", ("system:masters",))]
    rule = _rule(SEQ, K8S)
    tr = TARGET.compile(rule, profile="sentinel")
    assert tr.status is Status.ASSUMPTIONS, tr.notes
    assert not TARGET.outside_assumptions(rule, tr, events, profile="sentinel")
    got = sorted(TARGET.execute(tr, events, profile="sentinel"))
    want = sorted(dict.fromkeys(e["_id"] for m in matcher(rule).run(events, sort=True) for e in m.events))
    assert got == want == ["d-alice", "r-alice"], (got, want)


def test_aks_audit_query_parses_with_microsofts_parser_and_names_its_connector():
    from eqlc.targets.kql import TARGET, sentinel
    from eqlc.targets.kql.profile import load_profile
    from tests.node.kusto import analyse, declared_tables

    queries = [TARGET.compile(_rule(q, K8S), profile="sentinel").output for q in (EXEC, GROUPS, SEQ)]
    assert analyse(queries, declared_tables("sentinel")) == [[], [], []]
    assert sentinel.connectors(load_profile("sentinel"), ["AKSAudit"], []) == [
        {"connectorId": "AzureKubernetes", "dataTypes": ["AKSAudit"]}]


@pytest.mark.parametrize("text, reason", [
    # a list inside the User object: only exact (case-sensitive) equality translates
    ('any where kubernetes.audit.user.groups : "system:masters"', "kubernetes.audit.user.groups is a list"),
    ('any where kubernetes.audit.user.groups like "system:*"', "kubernetes.audit.user.groups is a list"),
    # Elastic's requestObject / responseObject drop metadata and are not read
    ('any where kubernetes.audit.requestObject.spec.containers.image : "*"', "has no column in AKSAudit"),
])
def test_aks_audit_refusals(text, reason):
    from eqlc.targets.kql import TARGET

    tr = TARGET.compile(_rule(text, K8S), profile="sentinel")
    assert tr.status is Status.REFUSED and any(reason in n for n in tr.notes), tr.notes
