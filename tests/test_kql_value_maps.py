"""Every value-mapped field of both KQL profiles (host.os.type -> OSPlatform / DvcOs, event.type and
event.action -> ActionType / EventType, network.transport, network.direction, event.outcome):
a case-insensitive rule matches an ECS value in any letter case, the column test only the column
value the map gives the listed spelling. The translation states that the ECS values are spelled as
the map lists them, and the adapter's check leaves out events spelling one otherwise; on every
other event the query selects what the matcher selects. Runs duckdb-kql and the reference matcher
over every (profile, table, field, listed value)."""

from __future__ import annotations

import pytest

from eqlc import parse_query
from eqlc.events import split_path
from eqlc.matcher import matcher
from eqlc.rule import Rule
from eqlc.targets.kql import TARGET
from eqlc.targets.kql.profile import PROFILE_FILES, load_profile


def _cases() -> list[tuple[str, str, str, str]]:
    out = []
    for profile in PROFILE_FILES:
        for table in load_profile(profile).tables.values():
            for fm in table.fields.values():
                if fm.values:
                    for key in fm.values:
                        out.append((profile, table.category, fm.field, key))
    return out


CASES = _cases()


def _event(_id: str, category: str, field: str, value: str) -> dict:
    e: dict = {"_id": _id, "@timestamp": "2026-01-01T00:00:00Z", "event": {"category": [category if category != "any" else "iam"]},
               "host": {"id": "h1", "os": {"type": "windows"}}}
    node = e
    path = split_path(field)
    for part in path[:-1]:
        node = node.setdefault(part, {})
    node[path[-1]] = [value] if field == "event.type" else value
    return e


def test_the_audit_covers_every_value_map():
    fields = {(p, f) for p, _, f, _ in CASES}
    assert {("defender", "host.os.type"), ("defender", "event.type"), ("defender", "event.action"),
            ("defender", "network.transport"), ("defender", "event.outcome"), ("sentinel-asim", "host.os.type"),
            ("sentinel-asim", "event.outcome"), ("sentinel-asim", "network.direction"), ("sentinel", "event.action"),
            ("sentinel", "winlog.logon.type")} <= fields


@pytest.mark.parametrize("profile,category,field,key", CASES, ids=[f"{p}-{c}-{f}-{k}" for p, c, f, k in CASES])
def test_a_value_in_another_letter_case_is_outside_the_stated_mapping(profile, category, field, key):
    # a raw table of the `sentinel` profile (category "*") is chosen by the rule's index patterns
    raw = next((t for t in load_profile(profile).tables.values() if t.category == category == "*" and field in t.fields
                and key in (t.fields[field].values or {})), None)
    if raw is not None:
        category = "any"
    text = f'{category} where {field} : "{key}"'  # `:` is case-insensitive in EQL
    # a table holding only the events whose field its facts name (imAuthentication: event.action
    # ssh_login) is read for a condition requiring it: the rule and the events name it too
    pinned = next(((t.rows_need, t.facts[t.rows_need][0]) for t in load_profile(profile).tables.values()
                   if t.category == category and t.rows_need and not t.chosen_by and t.rows_need in t.facts), None)
    if pinned is not None:
        text += f' and {pinned[0]} == "{pinned[1]}"'
    rule = Rule(query=parse_query(text), query_text=text, name="value map case", index=raw.sources if raw else ())
    tr = TARGET.compile(rule, profile=profile)
    assert tr.output is not None, tr.notes
    assert any(n.startswith(f"{field} values are taken to be spelled as the {profile} value map lists them") for n in tr.notes)
    odd = key.upper() if key.upper() != key else key.lower()
    events = [_event("listed", category, field, key), _event("other-case", category, field, odd),
              _event("unlisted", category, field, "eqlc-unlisted")]
    if pinned is not None:
        for e in events:
            node = e
            *parents, last = split_path(pinned[0])
            for part in parents:
                node = node.setdefault(part, {})
            node[last] = pinned[1]
    out = TARGET.outside_assumptions(rule, tr, events, profile=profile)
    assert set(out) == {"other-case"} and "spelled otherwise than the value map's" in out["other-case"], out
    m = matcher(rule)
    got = sorted(TARGET.execute(tr, events, profile=profile))
    assert got == sorted(e["_id"] for e in events if m.match(e) and e["_id"] not in out) == ["listed"]


def test_sigma_states_the_product_spelling_of_its_log_source_and_checks_it():
    """The Sigma target's only value map, host.os.type -> product (and event.type -> the log source),
    is a log-source assumption: it names the listed spelling and its check leaves out 'LINUX'."""
    from eqlc.target import get_target

    sigma = get_target("sigma")
    text = 'process where host.os.type : "linux" and event.type : "start" and process.executable == "/bin/x"'
    rule = Rule(query=parse_query(text), query_text=text, name="sigma value map case")
    tr = sigma.compile(rule)
    assert any('host.os.type "linux"' in n or "host.os.type 'linux'" in n for n in tr.notes), tr.notes
    base = {"@timestamp": "2026-01-01T00:00:00Z", "event": {"category": ["process"], "type": ["start"]},
            "process": {"executable": "/bin/x"}}
    events = [dict(base, _id="listed", host={"os": {"type": "linux"}}), dict(base, _id="upper", host={"os": {"type": "LINUX"}}),
              dict(base, _id="type-upper", host={"os": {"type": "linux"}}, event={"category": ["process"], "type": ["START"]})]
    assert set(sigma.outside_assumptions(rule, tr, events)) == {"upper", "type-upper"}
    assert sigma.execute(tr, events) == ["listed"]
