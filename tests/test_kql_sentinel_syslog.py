"""The `sentinel` KQL profile's Syslog table for the Linux auth log's account-management lines (issue 13:
logs-system.auth-* on Sentinel), chosen by the rule's index patterns (logs-system.auth-*, filebeat-*).

Elastic's System integration decides a line's iam category, user/group and creation/deletion/change
types from its program, and its outcome from "fail" in the message (message.yml 19bd5ed, cited in
targets/kql/sentinel.yaml); the table reads the same from ProcessName and SyslogMessage. Queries run on
duckdb-kql over the rows the fixture adapter builds from the same profile YAML and must select exactly
what the reference matcher selects among the events inside the stated assumptions.
"""

from __future__ import annotations

import pytest

from eqlc.result import Status
from tests.test_kql_sentinel import _rule, _run

AUTH = ("filebeat-*", "logs-system.auth-*")
# the corpus rules linux/persistence_linux_group_creation.toml and ..._user_account_creation.toml
GROUP = 'iam where host.os.type == "linux" and event.type == "group" and event.type == "creation" and event.outcome == "success"'
USER = 'iam where host.os.type == "linux" and event.type == "user" and event.type == "creation" and event.outcome == "success"'
FAILED = 'iam where event.outcome == "failure" and event.type == "deletion"'

_TYPES = {"groupadd": ["group", "creation"], "groupdel": ["group", "deletion"], "useradd": ["user", "creation"],
          "userdel": ["user", "deletion"], "usermod": ["user", "change"]}


def _line(_id: str, program: str, message=None, outcome=None, categories=("iam",), types=None) -> dict:
    fail = message is not None and "fail" in message
    event = {"category": list(categories), "type": list(types) if types is not None else _TYPES.get(program, ["info"]),
             "outcome": outcome or ("failure" if fail else "success")}
    out: dict = {"_id": _id, "@timestamp": "2026-01-01T00:00:00Z", "event": event, "host": {"os": {"type": "linux"}},
                 "process": {"name": program}}
    if message is not None:
        out["message"] = message
    return out


EVENTS = [
    _line("groupadd", "groupadd", "new group: name=backdoor, GID=1001"),
    _line("groupadd-no-message", "groupadd"),
    _line("groupadd-failed", "groupadd", "groupadd: failed to add group"),
    _line("groupadd-Fail", "groupadd", "Fail is not fail-ure only in lower case"),  # contains "fail": failure
    _line("groupadd-FAIL", "groupadd", "FAILURE spelt in capitals"),  # "fail" not in it: success
    _line("groupdel", "groupdel", "group 'backdoor' removed"),
    _line("groupdel-failed", "groupdel", "cannot remove group: failed"),
    _line("useradd", "useradd", "new user: name=eve, UID=1002, GID=1002, home=/home/eve, shell=/bin/sh"),
    _line("userdel-failed", "userdel", "failed to remove user"),
    # outside: another program's line; an outcome the message contradicts; a category Elastic's
    # sudo/PAM patterns add, which the mapping takes to be absent
    _line("sshd", "sshd", "Accepted password for eve from 10.0.0.1 port 22 ssh2", categories=("authentication",)),
    _line("contradicted", "groupadd", "failed", outcome="success"),
    _line("pam-too", "groupadd", "new group: name=x, GID=7", categories=("iam", "authentication")),
]


@pytest.mark.parametrize("text,selected", [
    (GROUP, ["groupadd", "groupadd-FAIL", "groupadd-no-message"]),
    (USER, ["useradd"]),
    (FAILED, ["groupdel-failed", "userdel-failed"]),
])
def test_account_lines_run_on_duckdb_kql_as_the_matcher_decides(text, selected):
    tr, got, want, out = _run(_rule(text, AUTH), EVENTS)
    assert tr.status is Status.ASSUMPTIONS and tr.output.splitlines()[0] == "Syslog"
    assert set(out) == {"sshd", "contradicted", "pam-too"}, out
    assert got == want == selected, (got, want)


def test_outcome_reads_fail_case_sensitively_as_java_contains():
    tr, *_ = _run(_rule(GROUP, AUTH), EVENTS)
    assert 'SyslogMessage contains_cs "fail"' in tr.output


def test_other_auth_log_rules_are_refused_as_reading_unmapped_lines():
    from eqlc.targets.kql import TARGET

    for text in ('authentication where event.action == "ssh_login" and event.outcome == "failure"',
                 'any where event.outcome == "success"'):
        tr = TARGET.compile(_rule(text, AUTH), profile="sentinel")
        assert tr.status is Status.REFUSED, tr.output
        assert tr.notes[0].startswith("no sentinel table holds the rule's data: ") and \
            "Syslog is read for their iam events only" in tr.notes[0], tr.notes


def test_syslog_queries_parse_with_microsofts_parser_and_name_their_connector():
    from eqlc.targets.kql import TARGET, sentinel
    from eqlc.targets.kql.profile import load_profile
    from tests.node.kusto import analyse, declared_tables

    queries = [TARGET.compile(_rule(q, AUTH), profile="sentinel").output for q in (GROUP, USER, FAILED)]
    assert analyse(queries, declared_tables("sentinel")) == [[], [], []]
    assert sentinel.connectors(load_profile("sentinel"), ["Syslog"], []) == [{"connectorId": "Syslog", "dataTypes": ["Syslog"]}]
