"""sentinel-asim's `authentication` category (issue 13): sshd logins from ASIM's imAuthentication,
whose OpenSSH parser reads the auth log lines Elastic's System integration makes ssh_login events
(targets/kql/sentinel-asim.yaml, imAuthentication, with the sources). Each query runs on duckdb-kql
through the fixture adapter (the same profile YAML) and must select exactly what the reference
matcher selects among the events inside the stated assumptions, with positives inside; the events
left out are asserted too. Microsoft's Kusto parser checks every query against ASIM's declared
tables."""

from __future__ import annotations

import pytest

from eqlc import parse_query
from eqlc.matcher import matcher
from eqlc.result import Status
from eqlc.rule import Rule
from eqlc.targets.kql import TARGET
from tests.node.kusto import analyse, declared_tables
from tests.test_kql_mapping_gaps import _ev as mapping_gaps_event
from tests.test_kql_mapping_gaps import _run as mapping_gaps_run

PROFILE = "sentinel-asim"


def _rule(text: str) -> Rule:
    return Rule(query=parse_query(text), query_text=text, name="kql asim authentication")


def _ev(_id: str, **fields) -> dict:
    return mapping_gaps_event(_id, "authentication", "linux", **fields)


LOGINS = [
    _ev("ok", event__action="ssh_login", event__outcome="success", user__name="root", source__ip="203.0.113.5"),
    _ev("bad", event__action="ssh_login", event__outcome="failure", user__name="root", source__ip="203.0.113.5"),
    _ev("bad-local", event__action="ssh_login", event__outcome="failure", user__name="admin", source__ip="10.1.2.3"),
    # auditd's USER_LOGIN: no ASIM parser reads it, the table's rows are ssh_login events (a fact)
    _ev("auditd", event__action="user_login", event__outcome="failure", user__name="root", source__ip="203.0.113.5"),
    # a user name the parser would keep a prefix of is read back without it; this one is not a name
    # sshd logs ("invalid user " is the parser's prefix), so the reading differs: left out
    _ev("odd-name", event__action="ssh_login", event__outcome="failure", user__name="invalid user x",
        source__ip="203.0.113.5"),
    # no event.action: not an event of the table (it holds the ssh_login events only)
    _ev("no-action", event__outcome="failure", user__name="root", source__ip="203.0.113.5"),
]

CASES = [
    # (query, events, selected, left out)
    ('authentication where host.os.type == "linux" and event.action in ("ssh_login", "user_login") and '
     'event.outcome == "failure" and source.ip != null and source.ip != "0.0.0.0"', LOGINS,
     {"bad", "bad-local", "odd-name"}, {"auditd"}),
    ('authentication where event.action == "ssh_login" and event.outcome == "success" and user.name == "root"', LOGINS,
     {"ok"}, {"auditd", "odd-name"}),
    ('authentication where event.action : "ssh_login" and cidrmatch(source.ip, "10.0.0.0/8")', LOGINS, {"bad-local"},
     {"auditd"}),
    ('authentication where event.action == "ssh_login" and user.name : "invalid*"', LOGINS, set(), {"auditd", "odd-name"}),
]


def _run(text: str, events: list[dict]):
    return mapping_gaps_run(PROFILE, text, events)


@pytest.mark.parametrize("text,events,selected,outside", CASES, ids=[c[0][:60] for c in CASES])
def test_selection_equals_the_matcher_inside_the_assumptions(text, events, selected, outside):
    tr, got, want, out = _run(text, events)
    assert got == want == selected, tr.output
    assert set(out) == outside, out


def test_the_table_reads_sshd_logon_lines_only():
    tr = TARGET.compile(_rule('authentication where event.action == "ssh_login"'), profile=PROFILE)
    assert tr.output.startswith("imAuthentication"), tr.output
    for line in ('| where LogonProtocol == "ssh"', '| where EventType == "Logon"', '| where RuleName == ""',
                 "| where EventCount == 1"):
        assert line in tr.output, tr.output
    assert any("sshd login rows" in n for n in tr.notes), tr.notes


def test_other_authentication_events_stay_refused():
    # no event.action test: Windows logons and other sources' events would be missed
    tr = TARGET.compile(_rule('authentication where event.outcome == "failure" and user.name == "root"'), profile=PROFILE)
    assert tr.status is Status.REFUSED and "does not require event.action" in tr.notes[0], tr.notes
    # a Windows logon action: no row of the table has it
    tr = TARGET.compile(_rule('authentication where event.action == "logged-in" and user.name == "x"'), profile=PROFILE)
    assert tr.status is Status.REFUSED and tr.notes[0].startswith("the condition can never hold"), tr.notes
    # defender has its own logon table; sentinel-asim's user.domain is not read from sshd's rows
    tr = TARGET.compile(_rule('authentication where event.action == "ssh_login" and user.domain == "x"'), profile=PROFILE)
    assert tr.status is Status.REFUSED, tr.notes


def test_sequence_of_failures_then_success():
    text = ('sequence by host.id, source.ip, user.name with maxspan=15s '
            '[authentication where event.action == "ssh_login" and event.outcome == "failure"] with runs=2 '
            '[authentication where event.action == "ssh_login" and event.outcome == "success"]')
    events = [
        _ev("f1", event__action="ssh_login", event__outcome="failure", user__name="root", source__ip="203.0.113.5"),
        _ev("f2", event__action="ssh_login", event__outcome="failure", user__name="root", source__ip="203.0.113.5"),
        _ev("s", event__action="ssh_login", event__outcome="success", user__name="root", source__ip="203.0.113.5"),
        _ev("s-other", event__action="ssh_login", event__outcome="success", user__name="bob", source__ip="203.0.113.5"),
    ]
    for i, e in enumerate(events):
        e["@timestamp"] = f"2026-01-01T00:00:0{i}Z"
    rule = _rule(text)
    tr = TARGET.compile(rule, profile=PROFILE)
    assert tr.status is Status.ASSUMPTIONS, tr.notes
    got = set(TARGET.execute(tr, events, profile=PROFILE))
    want = {e["_id"] for m in matcher(rule).run(events, sort=True) for e in m.events}
    assert got == want == {"f1", "f2", "s"}


def test_microsoft_parser_accepts_every_case():
    tables = declared_tables(PROFILE)
    queries = [TARGET.compile(_rule(c[0]), profile=PROFILE).output for c in CASES]
    assert analyse(queries, tables) == [[] for _ in queries]


def test_a_query_over_sentinels_limit_is_deployed_unindented():
    """The corpus's internal SSH brute-force rule (`with runs = 60`, a 27-block cidrMatch) is over
    Sentinel's 10,000 characters as written; deployed with its lines unindented (whitespace Kusto
    ignores between tokens) it is within it, and Microsoft's parser accepts the deployed text."""
    import yaml

    from eqlc.loaders import load_rules
    from tests.corpus import CORPUS

    rule = load_rules(CORPUS / "linux" / "credential_access_potential_linux_ssh_bruteforce_internal.toml")[0]
    tr = TARGET.compile(rule, profile=PROFILE)
    assert tr.status is Status.ASSUMPTIONS, tr.notes
    doc = next(yaml.safe_load(v) for k, v in tr.artifacts.items() if k.endswith(".sentinel.yaml"))
    deployed = doc["query"]
    assert len(deployed) <= 10_000 and not any(line.startswith(" ") for line in deployed.split("\n"))
    assert [line.strip() for line in tr.output.split("\n") if line.strip()][0] in deployed
    assert analyse([deployed], declared_tables(PROFILE)) == [[]]
