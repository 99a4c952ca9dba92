"""Optional fields (``?f``) with no column in the table are read as having no value, as
Elasticsearch reads an optional field no index maps (targets/kql/absent.py): the leaf is decided
at compile time as the reference matcher decides it on an event without the field, the
assumption is stated, and the fixture adapter leaves out exactly the events whose value of the
field would decide the leaf otherwise. Queries run on duckdb-kql and must select what the
matcher selects among the events inside the assumption."""

from __future__ import annotations

import pytest

from eqlc import parse_query
from eqlc.matcher import matcher
from eqlc.result import Status
from eqlc.rule import Rule
from eqlc.targets.kql import TARGET

PROFILES = ["defender", "sentinel-asim"]


def _rule(text: str) -> Rule:
    return Rule(query=parse_query(text), query_text=text, name="kql optional absent")


def _ev(_id: str, name: str, wd: str | None = None) -> dict:
    process: dict = {"name": name, "executable": f"/usr/bin/{name}", "pid": 7, "command_line": name, "args": [name]}
    if wd is not None:
        process["entry_leader"] = {"executable": wd}
    return {"_id": _id, "@timestamp": "2026-01-01T00:00:00Z",
            "event": {"category": ["process"], "type": ["start"], "action": "exec"},
            "host": {"id": "h1", "os": {"type": "linux"}}, "process": process}


EVENTS = [
    _ev("sh-none", "sh"), _ev("sh-tmp", "sh", "/tmp"), _ev("sh-home", "sh", "/home/u"),
    _ev("ls-none", "ls"), _ev("ls-tmp", "ls", "/tmp"),
]


def judged(rule: Rule, events: list[dict], profile: str):
    """(translation, ids the query selects on duckdb-kql, ids the reference matcher selects among
    the events inside the stated assumptions, the events outside them with the reason)."""
    tr = TARGET.compile(rule, profile=profile)
    assert tr.output is not None, tr.notes
    out = TARGET.outside_assumptions(rule, tr, events, profile=profile)
    got = sorted(TARGET.execute(tr, events, profile=profile))
    m = matcher(rule)
    want = sorted(e["_id"] for e in events if m.match(e) and e["_id"] not in out)
    return tr, got, want, out


def _run(text: str, profile: str):
    return judged(_rule(text), EVENTS, profile)


@pytest.mark.parametrize("profile", PROFILES)
@pytest.mark.parametrize("text, selected, outside", [
    # a disjunct on the absent field is false: the rule reduces to its other branch (the check is
    # per leaf, so sh-tmp, which the rule selects either way, is left out too: conservative)
    ('process where process.name == "sh" or ?process.entry_leader.executable == "/tmp"', ["sh-home", "sh-none"], {"sh-tmp", "ls-tmp"}),
    # the matcher holds a negated comparison with a missing value true; so does the translation
    ('process where process.name == "sh" and not ?process.entry_leader.executable == "/tmp"', ["sh-home", "sh-none"], {"sh-tmp", "ls-tmp"}),
    ('process where process.name == "sh" and ?process.entry_leader.executable != "/tmp"', ["sh-home", "sh-none"], {"sh-tmp", "ls-tmp"}),
    # a null test holds on an event without the field
    ('process where process.name == "sh" and ?process.entry_leader.executable == null', ["sh-none"], {"sh-tmp", "sh-home", "ls-tmp"}),
])
def test_absent_optional_field_is_decided_as_missing_and_checked(profile, text, selected, outside):
    tr, got, want, out = _run(text, profile)
    assert tr.status is Status.ASSUMPTIONS
    assert any(n.startswith("?process.entry_leader.executable has no column") for n in tr.notes), tr.notes
    assert "entry_leader" not in tr.output and "/tmp" not in tr.output  # decided at compile time, no column read
    assert set(out) == outside, out
    assert got == want
    assert got == selected


@pytest.mark.parametrize("profile", PROFILES)
def test_condition_that_needs_the_absent_field_is_refused(profile):
    tr = TARGET.compile(_rule('process where ?process.entry_leader.executable == "/tmp"'), profile=profile)
    assert tr.status is Status.REFUSED
    assert "never hold" in tr.notes[0], tr.notes


@pytest.mark.parametrize("profile", PROFILES)
def test_a_field_without_question_mark_is_still_refused(profile):
    tr = TARGET.compile(_rule('process where process.name == "sh" or process.entry_leader.executable == "/tmp"'), profile=profile)
    assert tr.status is Status.REFUSED
    assert "process.entry_leader.executable has no column" in tr.notes[0]
