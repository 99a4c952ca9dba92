"""Ordering comparisons of a string field with a string literal (``user.id >= "1000000000"``):
Elasticsearch orders keywords by code point (UTF-8 bytes); KQL has no string ``<``/``>=`` and
strcmp() compares UTF-16 "characters", so the target writes the comparison as an RE2 regex over
code points (targets/kql/ordering.py). Checked three ways: google-re2 against Python's code-point
order on strings built to sit at every boundary (a supplementary character against U+E000-U+FFFF
is where UTF-16 order would differ); the emitted queries executed on duckdb-kql against the
reference matcher on both endpoint profiles, missing and empty values included; and Microsoft's
Kusto parser reporting no diagnostics."""

from __future__ import annotations

import itertools

import pytest
import re2

from eqlc import parse_query
from eqlc.matcher import matcher
from eqlc.result import Status
from eqlc.rule import Rule
from eqlc.targets.kql import TARGET
from eqlc.targets.kql.ordering import at_least_regex, holds_for
from tests.node.kusto import analyse, declared_tables

LITERALS = ["1000000000", "", "a", "é", "\ue000", "\U0001F600", "a.b*[c]", "x\U0010FFFF", "\U0010FFFF", "A\nB"]
PROBES = ["", "0", "1", "10", "100000000", "999999999", "1000000000", "1000000000 ", "10000000000", "2", "a", "A",
          "b", "é", "e", "\ue000", "\uffff", "\U0001F600", "\U0001F601", "a.b*[c]", "a.b*[d", "a.b", "x", "x\U0010FFFF",
          "x\U0010FFFFy", "\U0010FFFF", "A\n", "A\nB", "A\nC", "A\nA"]


@pytest.mark.parametrize("literal", LITERALS)
def test_regex_is_code_point_order(literal: str) -> None:
    for strict, op in ((False, ">="), (True, ">")):
        rx = re2.compile(at_least_regex(literal, strict))
        for value in PROBES + [literal, literal + "\x00"]:
            assert bool(rx.search(value)) == holds_for(value, op, literal), (literal, op, value)


def test_utf16_order_would_differ_where_the_regex_does_not() -> None:
    """The case that rules strcmp() out: U+1F600 sorts above U+E000 by code point (Elasticsearch)
    but below it by UTF-16 code unit (a high surrogate, 0xD83D, is below 0xE000)."""
    utf16 = lambda s: s.encode("utf-16-be")  # noqa: E731
    assert utf16("\U0001F600") < utf16("\ue000") and "\U0001F600" > "\ue000"
    assert re2.compile(at_least_regex("\ue000", False)).search("\U0001F600")


def _rule(text: str) -> Rule:
    return Rule(query=parse_query(text), query_text=text, name="kql string ordering")


def _ev(_id: str, **user) -> dict:
    e: dict = {"_id": _id, "@timestamp": "2026-01-01T00:00:00Z", "event": {"category": ["process"], "type": ["start"]},
               "host": {"id": "h1", "os": {"type": "linux"}}, "process": {"name": "systemd-run", "pid": 7}}
    if user:
        e["user"] = user
        # the same text as an executable path: the field the defender case orders (Defender's
        # account columns hold SIDs only, so user.id against a uid is refused there: test_kql_user_sid)
        e["process"]["executable"] = user["id"]
    return e


EVENTS = [_ev("none"), _ev("empty", id=""), _ev("lo", id="999999999"), _ev("eq", id="1000000000"),
          _ev("hi", id="1000000001"), _ev("long", id="10000000000"), _ev("two", id="2"), _ev("zero", id="0"),
          _ev("emoji", id="\U0001F600"), _ev("pua", id="\ue000")]

QUERIES = [
    # "999999999" is above "1000000000" in code-point order ('9' > '1'), "0" below
    ('process where user.id >= "1000000000"', {"lo", "eq", "hi", "long", "two", "emoji", "pua"}),
    ('process where user.id > "1000000000"', {"lo", "hi", "long", "two", "emoji", "pua"}),
    ('process where user.id < "1000000000"', {"empty", "zero"}),
    ('process where user.id <= "1000000000"', {"empty", "eq", "zero"}),
    ('process where "1000000000" <= user.id', {"lo", "eq", "hi", "long", "two", "emoji", "pua"}),
    ('process where user.id >= "\ue000"', {"emoji", "pua"}),
    ('process where not user.id >= "2"', {"none", "empty", "eq", "hi", "long", "zero"}),
    ('process where user.id < ""', set()),
    ('process where user.id >= ""', {"empty", "lo", "eq", "hi", "long", "two", "zero", "emoji", "pua"}),
]
CASES = [(p, q.replace("user.id", "process.executable") if p == "defender" else q, want)
         for p, (q, want) in itertools.product(("defender", "sentinel-asim"), QUERIES)]


@pytest.mark.parametrize("profile,text,want", CASES, ids=[f"{c[0]}:{c[1][14:]}" for c in CASES])
def test_query_selects_what_the_matcher_selects(profile: str, text: str, want: set) -> None:
    rule = _rule(text)
    tr = TARGET.compile(rule, profile=profile)
    assert tr.status in (Status.EXACT, Status.ASSUMPTIONS) and tr.output, tr.notes
    assert "matches regex" in tr.output or text.endswith('""')  # vs "": every string is >= it
    out = TARGET.outside_assumptions(rule, tr, EVENTS, profile=profile)
    got = set(TARGET.execute(tr, EVENTS, profile=profile))
    m = matcher(rule)
    expect = {e["_id"] for e in EVENTS if e["_id"] not in out and m.match(e)}
    assert got == expect, tr.output
    # the matcher's own answer (code-point order) is the one written down, minus any event the
    # profile's stated assumptions leave out
    assert expect == want - set(out)


def test_a_number_literal_is_still_refused() -> None:
    tr = TARGET.compile(_rule("process where user.id >= 1000"), profile="sentinel-asim")
    assert tr.status is Status.REFUSED


def test_microsoft_parser_accepts_the_queries() -> None:
    tables: dict = {}
    for p in ("defender", "sentinel-asim"):
        tables.update(declared_tables(p))
    queries = [TARGET.compile(_rule(q), profile=p).output for p, q, _ in CASES]
    assert analyse(queries, tables) == [[] for _ in queries]
