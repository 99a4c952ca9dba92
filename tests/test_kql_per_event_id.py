"""SecurityEvent's per-event-id fields (sentinel.yaml ``by_event_id``, targets/kql/per_event_id.py)
rendered for the event ids a sequence leg can hold.

A leg whose filter pins event ids computes user.name, source.ip, process.name... from the branches
for those ids only: the expression is built so, not cut from the full text afterwards. These tests
check the rendering, that a compiled leg carries exactly it, and that it is exact: duckdb-kql and
the reference matcher select the same events, among them events of other ids whose full
expression would give the values the leg tests (they are filtered out all the same)."""

from __future__ import annotations

import pytest

from eqlc import parse_query
from eqlc.result import Status
from eqlc.rule import Rule
from eqlc.targets.kql import TARGET
from eqlc.targets.kql.per_event_id import PerEventId, parse
from eqlc.targets.kql.profile import load_profile
from tests.corpus import all_rules, rule_id
from tests.node.kusto import analyse, declared_tables
from tests.test_kql_sentinel import _sequence_run
from tests.winlog_outcome import with_outcome

WINDOWS = ("logs-system.security*", "logs-windows.forwarded*", "winlogbeat-*")


def _fields():
    return load_profile("sentinel").tables["SecurityEvent"].fields


def _rule(text: str) -> Rule:
    return Rule(query=parse_query(text), query_text=text, name="per event id", index=WINDOWS)


def _legs(output: str) -> list[str]:
    return [part.split(";")[0] for part in output.split("let __leg")[1:]]


def test_the_full_rendering_is_the_fields_expression():
    """With no ids the branches render the one expression every other query reads (and the adapter's
    computed-field check evaluates): iff for one branch, case for several, ``around`` kept."""
    f = _fields()
    assert f["source.port"].expr.startswith("case(EventID in (1100, 1102, ") and f["source.port"].expr.endswith(", long(null))")
    assert f["winlog.event_data.NewProcessName"].expr == 'iff(EventID == 4688, "", NewProcessName)'
    assert f["process.name"].expr.startswith('extract(@"([^\\\\]*)$", 1, case(EventID in (1100, ')
    for fm in f.values():
        if fm.by_event_id is not None:
            assert fm.by_event_id.render() == fm.expr and "{EventData:" not in fm.expr, fm.field


def test_a_leg_renders_only_the_branches_of_its_ids():
    f = _fields()
    assert f["user.name"].by_event_id.render(frozenset({4768})) == 'case(EventID in (4768), tostring(split(TargetUserName, "@")[0]), "")'
    # a branch declared with one id keeps ==; one with several keeps in (...), the kept ids in its order
    assert f["user.name"].by_event_id.render(frozenset({4648, 4625, 4624})) == (
        'case(EventID == 4648, iff(isnotempty(SubjectUserName), SubjectUserName, tostring(split(TargetUserName, "@")[0])), '
        'EventID in (4624, 4625), tostring(split(TargetUserName, "@")[0]), "")')
    # no branch for the ids: the value of every other id; the expression around it stays
    assert f["event.outcome"].by_event_id.render(frozenset({4768})) == '""'
    assert f["event.outcome"].by_event_id.render(frozenset({4688, 4771})) == (
        'case(EventID in (4688), "success", EventID in (4771), "failure", "")')
    assert f["destination.port"].by_event_id.render(frozenset({4624})) == "long(null)"
    assert f["process.parent.name"].by_event_id.render(frozenset({4624})) == 'extract(@"([^\\\\]*)$", 1, "")'
    # a branch without ids is on every id (winlog.logon.id: SubjectLogonId when set)
    assert f["winlog.logon.id"].by_event_id.render(frozenset({4624})) == 'case(isnotempty(SubjectLogonId), SubjectLogonId, "")'
    # an extra predicate goes with its ids (source.ip: IpAddress unless "-")
    assert f["source.ip"].by_event_id.render(frozenset({4768, 5156})).startswith(
        'replace_regex(case(EventID in (4768) and IpAddress != "-", IpAddress, EventID in (5156), replace_regex(')


@pytest.mark.parametrize("spec, otherwise, around", [
    ([], '""', None), ([{"ids": [1]}], '""', None), ([{"value": "x"}], '""', None),
    ([{"ids": [1], "value": "x", "other": 1}], '""', None), ([{"ids": [1], "value": "x"}], None, None),
    ([{"ids": [1], "value": "x"}], '""', "tolower(x)"),
])
def test_malformed_entries_are_errors(spec, otherwise, around):
    with pytest.raises(ValueError):
        parse("f", spec, otherwise, around)


def test_a_compiled_leg_carries_the_rendering_for_its_ids():
    """The narrowing happens where the leg's stage is built: each leg's extend line is the field's
    rendering for the ids its condition pins, and holds no other id's branch."""
    text = ('sequence by winlog.computer_name with maxspan=1m '
            '[authentication where event.code == "4768" and user.name == "alice"] '
            '[authentication where event.code in ("4624", "4625") and source.ip == "10.0.0.1"]')
    tr = TARGET.compile(_rule(text), profile="sentinel")
    assert tr.status is Status.ASSUMPTIONS, tr.notes
    f = _fields()
    first, second = _legs(tr.output)
    assert f"| extend __user_name = {f['user.name'].by_event_id.render(frozenset({4768}))}\n" in first, first
    assert f"| extend __source_ip = {f['source.ip'].by_event_id.render(frozenset({4624, 4625}))}\n" in second, second
    assert "4688" not in first + second and "5156" not in second and "4624" not in first
    assert analyse([tr.output], declared_tables("sentinel")) == [[]], tr.output


def _logon(_id: str, ts: str, code: str, user: str, host: str = "WS1", **data) -> dict:
    return with_outcome({"_id": _id, "@timestamp": ts,
                         "event": {"category": ["authentication"], "type": ["start"], "code": code},
                         "host": {"os": {"type": "windows"}}, "user": {"name": user},
                         "winlog": {"computer_name": host, "event_data": data}})


def test_narrowed_legs_agree_with_the_matcher_on_duckdb_kql():
    """A ticket (4768) for alice then a logon from 10.0.0.1 on the same host: duckdb-kql runs the
    narrowed legs, the matcher the rule. A 4648 (explicit credentials) whose SubjectUserName is alice
    is no first step, though the full user.name expression reads alice for it too."""
    text = ('sequence by winlog.computer_name with maxspan=1m '
            '[authentication where event.code == "4768" and user.name == "alice"] '
            '[authentication where event.code in ("4624", "4625") and source.ip == "10.0.0.1"]')
    events = [
        _logon("tgt", "2026-01-01T00:00:00Z", "4768", "alice"),
        {**_logon("logon", "2026-01-01T00:00:10Z", "4624", "bob"), "source": {"ip": "10.0.0.1"}},
        _logon("explicit", "2026-01-01T00:01:00Z", "4648", "alice", host="WS2", SubjectUserName="alice"),
        {**_logon("logon2", "2026-01-01T00:01:10Z", "4625", "bob", host="WS2"), "source": {"ip": "10.0.0.1"}},
        _logon("tgt-bob", "2026-01-01T00:02:00Z", "4768", "bob", host="WS3"),
        {**_logon("logon3", "2026-01-01T00:02:10Z", "4624", "bob", host="WS3"), "source": {"ip": "10.0.0.1"}},
    ]
    tr, got, want, out = _sequence_run(_rule(text), events)
    assert not out, out
    assert got == want == ["logon", "tgt"], (got, want, tr.output)


def test_the_secondary_logon_rule_agrees_with_the_matcher_on_duckdb_kql():
    """windows/privilege_escalation_create_process_as_different_user: the one corpus query whose text
    changed when the narrowing moved into the generator (its 4624 leg's process.name no longer holds
    a ``false and ... != "-"`` branch, which no row takes). Its generated witnesses are vacuous on
    this profile (tests/data/verify/targets/kql-sentinel.yaml), so it is run here on events shaped as
    Elastic's System integration writes 4624 and 4688."""
    rule = next(r for r in all_rules() if rule_id(r) == "windows/privilege_escalation_create_process_as_different_user.toml")
    svchost = "C:\\Windows\\System32\\svchost.exe"

    def logon(_id: str, ts: str, exe: str, ip: str, logon_id: str, process: str = "seclogo") -> dict:
        return {"_id": _id, "@timestamp": ts,
                "event": {"category": ["authentication"], "type": ["start"], "code": "4624", "action": "logged-in",
                          "outcome": "success"},
                "host": {"os": {"type": "windows"}}, "user": {"id": "S-1-5-21-1-2-3-1001"},
                "process": {"executable": exe, "name": exe.rsplit("\\", 1)[-1]}, "source": {"ip": ip},
                "winlog": {"computer_name": "WS1", "event_data": {"LogonProcessName": process, "TargetLogonId": logon_id}}}

    def start(_id: str, ts: str, logon_id: str) -> dict:
        return with_outcome({"_id": _id, "@timestamp": ts,
                             "event": {"category": ["process"], "type": ["start"], "code": "4688"},
                             "host": {"os": {"type": "windows"}},
                             "winlog": {"computer_name": "WS1", "event_data": {"TargetLogonId": logon_id}}})

    events = [
        logon("seclogon", "2026-01-01T00:00:00Z", svchost, "::1", "0x100"), start("child", "2026-01-01T00:00:05Z", "0x100"),
        logon("other-exe", "2026-01-01T00:01:00Z", "C:\\x\\svc.exe", "::1", "0x200"), start("child2", "2026-01-01T00:01:05Z", "0x200"),
        logon("remote", "2026-01-01T00:02:00Z", svchost, "10.0.0.1", "0x300"), start("child3", "2026-01-01T00:02:05Z", "0x300"),
        logon("not-seclogo", "2026-01-01T00:03:00Z", svchost, "::1", "0x400", "User32"), start("child4", "2026-01-01T00:03:05Z", "0x400"),
    ]
    tr, got, want, out = _sequence_run(rule, events)
    assert "false and" not in tr.output and 'case(EventID in (4624), ProcessName, "")' in tr.output, tr.output
    assert not out, out
    assert got == want == ["child", "seclogon"], (got, want)
