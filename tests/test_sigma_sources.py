"""The log sources, value maps, policy items and collections of issue 14, construct by construct.

Each case compiles an EQL query, checks the Sigma it writes, runs it through pySigma's sqlite
backend on hand-made ECS events and compares the selection with the Python matcher (Elasticsearch's
semantics): every difference must fall on an event the translation's own checks
(``outside_assumptions``) set apart, and the events the cases name as in scope must agree.
"""

from __future__ import annotations

import pytest
import yaml

from eqlc import parse_query
from eqlc.matcher import matcher
from eqlc.result import Status
from eqlc.rule import Rule
from eqlc.targets.sigma import TARGET


def rule(query: str, **kw) -> Rule:
    kw.setdefault("name", "Source Case")
    kw.setdefault("rule_id", "00000000-0000-4000-8000-000000000014")
    return Rule(query=parse_query(query), query_text=query, **kw)


def docs(t) -> list[dict]:
    return [d for d in yaml.safe_load_all(t.output) if "detection" in d]


def agree(r: Rule, events: list[dict], profile=None, must_agree=()) -> tuple[set, set, dict]:
    """(Sigma selection, matcher selection, excused): differences only on excused events."""
    t = TARGET.compile(r, profile=profile)
    assert t.status is not Status.REFUSED, t.notes
    got = set(TARGET.execute(t, events, profile=profile))
    m = matcher(r)
    if r.query.kind == "event":
        want = {e["_id"] for e in events if m.match(e)}
    else:
        want = {e["_id"] for x in m.run(events) for e in x.events}
    outside = TARGET.outside_assumptions(r, t, events, profile=profile)
    assert not {i for i in got ^ want if i not in outside}, (sorted(got), sorted(want), outside)
    for i in must_agree:
        assert i not in outside and ((i in got) == (i in want)), (i, outside.get(i))
    return got, want, outside


def ev(i: str, **fields) -> dict:
    out: dict = {"_id": i, "@timestamp": fields.pop("ts", "2026-11-03T10:00:00.000Z")}
    for k, v in fields.items():
        node = out
        parts = k.split("__")
        for p in parts[:-1]:
            node = node.setdefault(p, {})
        node[parts[-1]] = v
    return out


# ---- policy items --------------------------------------------------------------------------

LNX = 'process where host.os.type == "linux" and event.type == "start" and '


def proc(i, cmd, count=None, **kw):
    args = cmd.split(" ")
    return ev(i, event__category=["process"], event__type=["start"], host__os__type="linux",
              process__executable="/bin/x", process__command_line=cmd, process__args=args,
              process__args_count=len(args) if count is None else count, **kw)


@pytest.mark.parametrize("cond, regex", [
    ("process.args_count == 3", "^[^ ]+( [^ ]+){2}$"),
    ("process.args_count >= 2", "^[^ ]+( [^ ]+){1,}$"),
    ("process.args_count <= 2", "^[^ ]+( [^ ]+){0,1}$"),
    ("process.args_count > 1", "^[^ ]+( [^ ]+){1,}$"),
])
def test_args_count_is_a_word_count_of_the_command_line(cond, regex):
    r = rule(LNX + cond)
    [d] = docs(TARGET.compile(r))
    assert d["detection"]["selection_command_line"] == {"CommandLine|re": regex}
    events = [proc("a", "x"), proc("b", "x y"), proc("c", "x y z"), proc("d", "x y z w"), proc("e", "x y", count=5)]
    got, want, outside = agree(r, events, must_agree="abcd")
    assert "e" in outside  # args_count that is not the word count breaks the stated assumption
    assert any("args_count is read from CommandLine" in n for n in TARGET.compile(r).notes)


def test_optional_field_no_log_source_records_reads_as_no_value():
    r = rule(LNX + 'process.executable == "/bin/x" and not ?process.Ext.token.integrity_level_name == "system"')
    t = TARGET.compile(r, profile="cased")
    [d] = docs(t)
    assert d["detection"] == {"selection_image": {"Image|cased": "/bin/x"}, "condition": "selection_image"}
    events = [proc("a", "x"), proc("b", "x", process__Ext__token__integrity_level_name="system")]
    got, want, outside = agree(r, events, profile="cased", must_agree="a")
    assert "b" in outside and "read as having no value" in outside["b"]
    # a condition that needs the value can never hold: refused, not written as a rule that never alerts
    t = TARGET.compile(rule(LNX + '?process.Ext.token.integrity_level_name == "system"'))
    assert t.status is Status.REFUSED and "can never hold" in t.notes[0]


def test_a_condition_true_for_every_event_of_the_log_source_is_an_exists_test():
    r = rule('file where host.os.type == "windows" and event.type == "creation"')
    [d] = docs(TARGET.compile(r))
    assert d["detection"] == {"selection_target_filename": {"TargetFilename|exists": True}, "condition": "selection_target_filename"}
    f = dict(event__category=["file"], event__type=["creation"], host__os__type="windows")
    events = [ev("a", file__path="C:\\x", **f), ev("b", **f), ev("c", file__path="C:\\y", event__category=["file"],
                                                                  event__type=["deletion"], host__os__type="windows")]
    got, want, outside = agree(r, events, must_agree="ac")
    assert "b" in outside  # no TargetFilename: outside "every event has TargetFilename"


def seq(i, key, name, t, host=None, cat="process"):
    e = ev(i, ts=f"2026-11-03T10:00:{t:02d}.000Z", event__category=[cat], event__type=["start"],
           host__os__type="linux", host__id=key, process__executable=f"/bin/{name}", process__name=name)
    if host is not None:
        e["host"]["name"] = host
    return e


def test_host_id_join_groups_by_the_host_name_field():
    r = rule("""sequence by host.id with maxspan=1m
      [process where host.os.type == "linux" and event.type == "start" and process.name == "a"]
      [process where host.os.type == "linux" and event.type == "start" and process.name == "b"]""")
    t = TARGET.compile(r)
    corr = [d for d in yaml.safe_load_all(t.output) if "correlation" in d][0]
    assert corr["correlation"]["group-by"] == ["Computer"]
    events = [seq("a1", "h1", "a", 0, "n1"), seq("b1", "h1", "b", 5, "n1"),       # one host: match
              seq("a2", "h2", "a", 10, "n2"), seq("b2", "h3", "b", 15, "n2"),     # two ids, one name
              seq("a3", "h4", "a", 20), seq("b3", "h4", "b", 25)]                 # no host name
    got, want, outside = agree(r, events, must_agree=["a1", "b1"])
    assert {"a2", "b2", "a3", "b3"} <= set(outside)


def test_sequence_without_maxspan_uses_the_look_back_as_timespan():
    r = rule("""sequence by process.entity_id
      [process where host.os.type == "linux" and event.type == "start" and process.name == "a"]
      [process where host.os.type == "linux" and event.type == "start" and process.name == "b"]""", from_="now-9m")
    t = TARGET.compile(r)
    corr = [d for d in yaml.safe_load_all(t.output) if "correlation" in d][0]
    assert corr["correlation"]["timespan"] == "9m"

    def p(i, key, name, minute):
        e = seq(i, "h", name, 0)
        e["@timestamp"] = f"2026-11-03T10:{minute:02d}:00.000Z"
        e["process"]["entity_id"] = key
        return e

    events = [p("a1", "e1", "a", 0), p("b1", "e1", "b", 5), p("a2", "e2", "a", 20), p("b2", "e2", "b", 40)]
    got, want, outside = agree(r, events, must_agree=["a1", "b1"])
    assert {"a2", "b2"} <= set(outside)  # a match spread over more than the look-back


# ---- collections ---------------------------------------------------------------------------


def test_any_where_over_two_categories_is_one_rule_per_log_source():
    r = rule('any where host.os.type == "linux" and event.category in ("process", "file") and '
             '(process.name == "curl" or file.path == "/tmp/x")')
    t = TARGET.compile(r)
    logsources = sorted(d["logsource"]["category"] for d in docs(t))
    assert logsources == ["file_event", "process_creation"]  # file.path reads as no value in the process rule
    assert sorted(t.artifacts) == sorted(set(t.artifacts)) and all(n.endswith(".yml") for n in t.artifacts)
    assert {n.split("_lnx_")[0] for n in t.artifacts} == {"proc_creation", "file_event"}
    base = dict(host__os__type="linux")
    events = [
        ev("p", event__category=["process"], event__type=["start"], process__executable="/usr/bin/curl", process__name="curl", **base),
        ev("f", event__category=["file"], event__type=["creation"], file__path="/tmp/x", file__name="x", **base),
        ev("n", event__category=["network"], event__type=["start"], process__name="curl", **base),
    ]
    agree(r, events, must_agree="pfn")


def test_os_list_is_one_rule_per_product_and_no_os_one_per_tagged_product():
    r = rule('process where host.os.type in ("linux", "macos") and event.type == "start" and process.name == "kubectl"')
    assert [d["logsource"]["product"] for d in docs(TARGET.compile(r))] == ["linux", "macos"]
    r = rule('process where event.type == "start" and process.name : "kubectl"', tags=("OS: Linux", "OS: Windows"))
    t = TARGET.compile(r)
    assert [d["logsource"]["product"] for d in docs(t)] == ["linux", "windows"]
    events = [ev(i, event__category=["process"], event__type=["start"], host__os__type=os_, process__executable=exe,
                 process__name=exe.replace("\\", "/").rsplit("/", 1)[1])
              for i, os_, exe in [("l", "linux", "/usr/bin/kubectl"), ("w", "windows", "C:\\k\\kubectl"),
                                  ("m", "macos", "/usr/local/bin/kubectl")]]
    got, want, outside = agree(r, events, must_agree="lw")
    assert "m" in outside  # an OS the rule does not cover


# ---- Windows Security log ------------------------------------------------------------------


def sec(i, code, action=None, **kw):
    e = ev(i, event__code=code, host__os__type="windows", **kw)
    if action:
        e["event"]["action"] = action
    return e


def test_security_log_event_ids_logon_type_and_event_data():
    r = rule('authentication where host.os.type == "windows" and event.action == "logged-in" and '
             'winlog.logon.type == "Network" and winlog.event_data.AuthenticationPackageName : "NTLM" and '
             'not user.name : "*$"')
    t = TARGET.compile(r)
    [d] = docs(t)
    assert d["logsource"] == {"product": "windows", "service": "security"}
    sel = {k: v for block in d["detection"].values() if isinstance(block, dict) for k, v in block.items()}
    assert sel["EventID"] == 4624 and sel["LogonType"] == 3 and sel["AuthenticationPackageName"] == "NTLM"
    assert "TargetUserName|endswith" in str(d["detection"])  # user.name of a logon is TargetUserName
    assert next(iter(t.artifacts)).startswith("win_security_")
    auth = dict(event__category=["authentication"], winlog__logon__type="Network",
                winlog__event_data__AuthenticationPackageName="NTLM")
    events = [
        sec("a", "4624", "logged-in", user__name="alice", **auth),
        sec("b", "4624", "logged-in", user__name="host$", **auth),
        sec("c", "4625", "logon-failed", user__name="alice", **auth),
        sec("d", "4624", "logged-in", user__name="alice", event__category=["authentication"],
            winlog__logon__type="Interactive", winlog__event_data__AuthenticationPackageName="NTLM"),
        sec("e", "4625", "logged-in", user__name="alice", **auth),  # action and code disagree
    ]
    got, want, outside = agree(r, events, must_agree="abcd")
    assert got & set("abcd") == {"a"} and "e" in outside


def test_security_fields_that_depend_on_the_event_id_need_pinned_ids():
    t = TARGET.compile(rule('iam where host.os.type == "windows" and event.code == "4738" and user.name == "x"'))
    assert "SubjectUserName" in t.output  # account management: the actor
    t = TARGET.compile(rule('any where host.os.type == "windows" and event.code in ("4624", "4738") and user.name == "x"'))
    assert t.status is Status.REFUSED and "different fields for different event ids" in t.notes[0]


def test_category_of_pinned_event_ids_is_decided_when_translating():
    t = TARGET.compile(rule('iam where host.os.type == "windows" and event.code == "4738" and winlog.event_data.X == "y"'))
    [d] = docs(t)
    assert d["detection"]["selection_x"] == {"X": "y", "EventID": 4738}
    t = TARGET.compile(rule('authentication where host.os.type == "windows" and event.code == "4738" and winlog.event_data.X == "y"'))
    assert t.status is Status.REFUSED and "can never hold" in t.notes[0]


def test_sysmon_process_access_by_event_id():
    r = rule('process where host.os.type == "windows" and event.code == "10" and process.name : "lsass.exe" and '
             'winlog.event_data.GrantedAccess == "0x40"')
    t = TARGET.compile(r, profile="cased")
    [d] = docs(t)
    assert d["logsource"] == {"category": "process_access", "product": "windows"}
    assert d["detection"]["selection_source_image"] == {"SourceImage|endswith": "\\lsass.exe", "GrantedAccess|cased": "0x40"}
    base = dict(event__category=["process"], host__os__type="windows")
    events = [ev("a", event__code="10", process__executable="C:\\W\\lsass.exe", process__name="lsass.exe",
                 winlog__event_data__GrantedAccess="0x40", **base),
              ev("b", event__code="1", process__executable="C:\\W\\lsass.exe", process__name="lsass.exe",
                 winlog__event_data__GrantedAccess="0x40", **base)]
    agree(r, events, profile="cased", must_agree="a")


def test_network_direction_is_sysmon_initiated():
    r = rule('network where host.os.type == "windows" and network.direction : ("outgoing", "egress") and process.name : "x.exe"')
    [d] = docs(TARGET.compile(r))
    assert "Initiated" in str(d["detection"]) and "'true'" in TARGET.compile(r).output
    n = dict(event__category=["network"], event__type=["start"], host__os__type="windows",
             process__executable="C:\\x.exe", process__name="x.exe", destination__ip="203.0.113.9")
    events = [ev("a", network__direction="egress", **n), ev("b", network__direction="ingress", **n),
              ev("c", network__direction="outbound", **n)]
    got, want, outside = agree(r, events, must_agree="abc")  # a value the map does not know: neither selects it
    assert got & set("abc") == {"a"}
    r = rule('network where host.os.type == "windows" and network.direction : "egress" and process.name : "x.exe"')
    events.append(ev("d", network__direction="outgoing", **n))
    got, want, outside = agree(r, events, must_agree="abc")
    assert "d" in outside  # outgoing is Initiated 'true' too, which EQL's `egress` does not accept


# ---- GitHub and CloudTrail -----------------------------------------------------------------


def test_github_category_and_event_type_are_read_from_the_action():
    r = rule('configuration where data_stream.dataset == "github.audit" and github.category == "protected_branch" and '
             'event.type == "change"')
    t = TARGET.compile(r)
    [d] = docs(t)
    assert d["logsource"] == {"product": "github", "service": "audit"}
    assert next(iter(t.artifacts)).startswith("github_")
    gh = dict(data_stream__dataset="github.audit", event__category=["configuration", "web"])
    events = [ev("a", event__action="protected_branch.update", github__category="protected_branch", event__type=["change"], **gh),
              # "destroy" is neither create/add nor delete/remove: the integration types it change
              ev("b", event__action="protected_branch.destroy", github__category="protected_branch", event__type=["change"], **gh),
              ev("c", event__action="repo.update", github__category="repo", event__type=["change"], **gh),
              ev("e", event__action="protected_branch.delete", github__category="protected_branch", event__type=["deletion"], **gh),
              ev("d", event__action="protected_branch.create", github__category="protected_branch", event__type=["change"], **gh)]
    got, want, outside = agree(r, events, must_agree="abce")
    assert got & set("abce") == {"a", "b"} and "d" in outside  # event.type not what the action gives


def test_cloudtrail_outcome_is_the_absence_of_an_error():
    r = rule('any where data_stream.dataset == "aws.cloudtrail" and event.provider == "iam.amazonaws.com" and '
             'event.outcome == "success" and startsWith(aws.cloudtrail.user_identity.access_key_id, "ASIA")')
    t = TARGET.compile(r, profile="cased")
    [d] = docs(t)
    assert d["logsource"] == {"product": "aws", "service": "cloudtrail"}
    text = t.output
    assert "errorCode: null" in text and "errorMessage: null" in text
    assert "userIdentity.accessKeyId|startswith|cased: 'ASIA'" in text
    ct = dict(data_stream__dataset="aws.cloudtrail", event__provider="iam.amazonaws.com",
              aws__cloudtrail__user_identity__access_key_id="ASIA123")
    events = [ev("a", event__outcome="success", **ct),
              ev("b", event__outcome="failure", aws__cloudtrail__error_code="AccessDenied", **ct),
              ev("c", event__outcome="success", aws__cloudtrail__error_code="AccessDenied", **ct)]
    got, want, outside = agree(r, events, profile="cased", must_agree="ab")
    assert "c" in outside


def audit(i: str, syscall, action, **fields) -> dict:
    """An Auditbeat event of one system call (auditd.data.syscall, with go-libaudit's action)."""
    base = dict(event__category=["driver"], host__os__type="linux")
    if syscall is not None:
        base["auditd__data__syscall"] = syscall
    if action is not None:
        base["event__action"] = action
    return ev(i, **{**base, **fields})


def test_linux_auditd_kernel_module_syscalls():
    """`product: linux, service: auditd` for the kernel-module system calls: the syscall name is
    SigmaHQ's enriched SYSCALL field, loaded-kernel-module is init_module or finit_module
    (go-libaudit's normalizations), user.id is the record's uid; the log source holds only these
    syscalls, so Linux process and file rules keep their own log sources."""
    r = rule('driver where host.os.type == "linux" and event.action == "loaded-kernel-module" and '
             'auditd.data.syscall in ("init_module", "finit_module") and user.id != "0"')
    t = TARGET.compile(r)
    [d] = docs(t)
    assert d["logsource"] == {"product": "linux", "service": "auditd"}
    assert "SYSCALL" in str(d["detection"]) and "uid" in str(d["detection"])
    events = [
        audit("a", "init_module", "loaded-kernel-module", user__id="1000"),
        audit("b", "finit_module", "loaded-kernel-module", user__id="0"),
        audit("c", "delete_module", "unloaded-kernel-module", user__id="1000"),
        audit("d", "finit_module", "loaded-kernel-module", user__id="1000", user__audit__id="0"),
        audit("e", "init_module", "unloaded-kernel-module", user__id="1000"),  # action and syscall disagree
    ]
    got, want, outside = agree(r, events, must_agree="abcd")
    assert got & set("abcd") == {"a", "d"} and "e" in outside
    # a process rule naming Auditbeat's exec action stays on process_creation
    t = TARGET.compile(rule('process where host.os.type == "linux" and event.action in ("exec", "executed") and process.name == "x"'))
    [d] = docs(t)
    assert d["logsource"] == {"category": "process_creation", "product": "linux"}


# ---- Kubernetes audit ----------------------------------------------------------------------


K8S = 'any where data_stream.dataset == "kubernetes.audit_logs" and '


def k8s(i, verb, resource, decision="allow", **kw) -> dict:
    out = ev(i, data_stream__dataset="kubernetes.audit_logs", event__action=verb,
             kubernetes__audit__verb=verb, kubernetes__audit__stage="ResponseComplete",
             kubernetes__audit__objectRef__resource=resource, **kw)
    # the matcher reads a backticked field name as one key (eqlc.events), so the annotation is
    # written as Elasticsearch's flat dotted key, which names the same field as the nested object
    out["kubernetes.audit.annotations.authorization_k8s_io/decision"] = decision
    return out


def test_kubernetes_audit_fields_are_the_audit_events_json_paths():
    # Elastic's Kubernetes integration decodes the audit Event into kubernetes.audit.* unchanged, but
    # for annotation keys, whose dots it replaces by underscores; SigmaHQ's kubernetes/audit rules name
    # the Event's fields by their JSON path (verb, objectRef.resource).
    r = rule(K8S + 'kubernetes.audit.verb == "delete" and kubernetes.audit.objectRef.resource == "events" and '
             '`kubernetes.audit.annotations.authorization_k8s_io/decision` == "allow"')
    t = TARGET.compile(r)
    [d] = docs(t)
    assert d["logsource"] == {"category": "application", "product": "kubernetes", "service": "audit"}
    assert next(iter(t.artifacts)).startswith("kubernetes_audit_")
    sel = next(iter(v for k, v in d["detection"].items() if k != "condition"))
    assert sel == {"verb": "delete", "objectRef.resource": "events", "annotations.authorization.k8s.io/decision": "allow"}
    events = [k8s("a", "delete", "events"), k8s("b", "delete", "pods"), k8s("c", "delete", "events", "forbid"),
              k8s("d", "get", "events"), dict(k8s("e", "delete", "events"), data_stream={"dataset": "github.audit"})]
    got, want, _ = agree(r, events, must_agree="abcde")
    assert got == {"a"}


def test_kubernetes_rules_of_the_corpus_pass_sigmahqs_validators(tmp_path):
    from tests import sigmahq_data

    names = ["defense_evasion_events_deleted", "execution_forbidden_creation_request", "execution_user_exec_to_pod"]
    sigmahq_data.assert_corpus_rules_pass(tmp_path, "integrations/kubernetes", names, "kubernetes_audit_")
