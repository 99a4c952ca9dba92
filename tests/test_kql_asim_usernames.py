"""ASIM user names (issue 13): ``TargetUsername`` / ``ActorUsername`` / ``SrcUsername`` hold
``DOMAIN\\name`` when their ``*UsernameType`` is Windows and the bare name when Simple (ASIM user
entity reference, MicrosoftDocs/azure-docs articles/sentinel/normalization-entity-user.md; the
Microsoft 365 Defender process parser, Azure/Azure-Sentinel Parsers/ASimProcessEvent/Parsers/
vimProcessEventMicrosoft365D.yaml, builds them so), while Elastic writes ECS user.name and
user.domain apart. The fixture adapter composes the columns as the parser does, so these tests
see real-shaped rows: the former translation (user.name compared with the whole column) misses a
Windows user, the present one reads the name after the backslash and the domain before it.

Every query runs on duckdb-kql and must select exactly what the reference matcher selects among
the events inside the stated assumptions; the left-out events are asserted too. Microsoft's Kusto
parser must accept every query."""

from __future__ import annotations

from pathlib import Path

import pytest

from eqlc.matcher import matcher
from eqlc.result import Status
from eqlc.targets.kql import TARGET
from eqlc.targets.kql.adapter import ID_COLUMN, load_for
from tests.node.kusto import analyse, declared_tables
from tests.test_kql_mapping_gaps import _ev, _rule, _run


def _user(_id: str, cat: str, name=None, domain=None) -> dict:
    extra = {"event__type": ["start"]} if cat in ("process", "network") else {"event__type": ["creation"], "event__action": "creation"}
    if cat == "registry":
        extra = {"event__type": ["change"], "registry__hive": "HKLM", "registry__key": "SOFTWARE\\k",
                 "registry__path": "HKLM\\SOFTWARE\\k\\v", "registry__value": "v"}
    e = _ev(_id, cat, **extra)
    if name is not None or domain is not None:
        e["user"] = {k: v for k, v in (("name", name), ("domain", domain)) if v is not None}
    return e


def _users(cat: str) -> list[dict]:
    return [
        _user("win", cat, "johndoe", "CONTOSO"),        # TargetUsername CONTOSO\johndoe, Windows
        _user("WIN", cat, "JohnDoe", "contoso"),        # a name spelt otherwise: `:` folds case, `==` does not
        _user("simple", cat, "johndoe"),                # johndoe, Simple (no domain)
        _user("other", cat, "alice", "CONTOSO"),
        _user("nt", cat, "SYSTEM", "NT AUTHORITY"),     # Sysmon's User "NT AUTHORITY\SYSTEM"
        _user("bare-bs", cat, "a\\b"),                  # a Simple name holding a backslash: read whole
        _user("none", cat),
        # a domain holding a backslash: the column reads CONTOSO\x\johndoe, whose name after the
        # first backslash is x\johndoe (outside the stated reading)
        _user("odd", cat, "johndoe", "CONTOSO\\x"),
        # a domain without a name: CONTOSO\ (Windows), no user.name
        _user("dom-only", cat, None, "CONTOSO"),
    ]


PROC, FILE, NET, REG = _users("process"), _users("file"), _users("network"), _users("registry")


def _lookup(_id: str, name=None, domain=None) -> dict:
    e = _ev(_id, "network", event__type=["connection"], dns__question__name="x.com")
    if name is not None or domain is not None:
        e["user"] = {k: v for k, v in (("name", name), ("domain", domain)) if v is not None}
    return e


# _Im_Dns: the Sysmon DNS parser writes Sysmon's User (DOMAIN\name) typed Windows, always; a name
# without a domain is no row of it (Elastic sets both from such a User)
DNS = [_lookup("d-win", "johndoe", "CONTOSO"), _lookup("d-nt", "SYSTEM", "NT AUTHORITY"),
       _lookup("d-simple", "johndoe"), _lookup("d-none")]

# (query, events, selected, left out)
CASES = [
    ('process where user.name : "johndoe"', PROC, {"win", "WIN", "simple"}, {"odd"}),
    ('process where user.name == "johndoe"', PROC, {"win", "simple"}, {"odd"}),
    ('process where user.name : "SYSTEM" and user.domain : "NT AUTHORITY"', PROC, {"nt"}, {"odd"}),
    ('process where user.name : "a\\\\b"', PROC, {"bare-bs"}, {"odd"}),
    ('process where user.name != "johndoe"', PROC, {"WIN", "other", "nt", "bare-bs", "none", "dom-only"}, {"odd"}),
    ('process where user.name == null', PROC, {"none", "dom-only"}, {"odd"}),
    ('process where user.domain : "contoso"', PROC, {"win", "WIN", "other", "dom-only"}, {"odd"}),
    ('process where user.domain == "CONTOSO" and user.name : "john*"', PROC, {"win"}, {"odd"}),
    ('process where user.domain == null', PROC, {"simple", "bare-bs", "none"}, {"odd"}),
    ('process where user.domain != "NT AUTHORITY"', PROC, {"win", "WIN", "simple", "other", "bare-bs", "none", "dom-only"}, {"odd"}),
    ('file where user.name : "johndoe" and user.domain : "CONTOSO"', FILE, {"win", "WIN"}, {"odd"}),
    ('network where user.name : "johndoe"', NET, {"win", "WIN", "simple"}, {"odd"}),
    ('registry where user.domain : "NT AUTHORITY"', REG, {"nt"}, {"odd"}),
    ('network where dns.question.name : "x.com" and user.name : "johndoe"', DNS, {"d-win"}, {"d-simple"}),
    ('network where dns.question.name : "x.com" and not user.domain == "NT AUTHORITY"', DNS, {"d-win", "d-none"}, {"d-simple"}),
]


@pytest.mark.parametrize("text,events,selected,outside", CASES, ids=[c[0][:60] for c in CASES])
def test_selection_equals_the_matcher_inside_the_assumptions(text, events, selected, outside):
    tr, got, want, out = _run("sentinel-asim", text, events)
    assert got == want == selected, tr.output
    assert set(out) == outside, out


def test_rows_are_shaped_as_asim_parsers_write_them():
    """TargetUsername is DOMAIN\\name typed Windows, or the bare name typed Simple."""
    tr = TARGET.compile(_rule('process where user.name : "johndoe"'), profile="sentinel-asim")
    _cols, rows = load_for(tr, PROC, "sentinel-asim").tables["imProcessCreate"]
    got = {r[ID_COLUMN]: (r["TargetUsername"], r["TargetUsernameType"]) for r in rows}
    assert got["win"] == ("CONTOSO\\johndoe", "Windows")
    assert got["nt"] == ("NT AUTHORITY\\SYSTEM", "Windows")
    assert got["simple"] == ("johndoe", "Simple")
    assert got["dom-only"] == ("CONTOSO\\", "Windows")
    assert got["none"] == ("", "")


def test_the_former_whole_column_reading_missed_a_windows_user(tmp_path: Path):
    """Regression: user.name compared with the whole TargetUsername (the mapping before this fix,
    given here as a user mapping) selects no row holding CONTOSO\\johndoe, though the EQL rule
    matches its ECS event; the present translation selects exactly the matcher's events."""
    old = tmp_path / "old.yaml"
    old.write_text("tables:\n  imProcessCreate:\n    fields:\n      user.name: TargetUsername\n")
    rule = _rule('process where user.name : "johndoe"')
    events = [e for e in PROC if e["_id"] in ("win", "simple", "other")]
    assert {e["_id"] for e in events if matcher(rule).match(e)} == {"win", "simple"}
    before = TARGET.compile(rule, profile="sentinel-asim", mapping=str(old))
    assert "TargetUsername =~ " in before.output, before.output
    assert set(TARGET.execute(before, events, profile="sentinel-asim", mapping=str(old))) == {"simple"}
    now = TARGET.compile(rule, profile="sentinel-asim")
    assert "TargetUsernameType" in now.output, now.output
    assert set(TARGET.execute(now, events, profile="sentinel-asim")) == {"win", "simple"}


def test_the_reading_is_stated():
    tr = TARGET.compile(_rule('process where user.domain : "CONTOSO"'), profile="sentinel-asim")
    assert tr.status is Status.ASSUMPTIONS
    assert any("UsernameType is Windows" in n and "UPN, DN, AWSId" in n for n in tr.notes), tr.notes


def test_microsoft_parser_accepts_every_case():
    tables = declared_tables("sentinel-asim")
    queries = [TARGET.compile(_rule(c[0]), profile="sentinel-asim").output for c in CASES]
    assert analyse(queries, tables) == [[] for _ in queries]
