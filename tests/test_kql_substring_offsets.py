"""substring() with a negative or computed end offset in KQL (issue 13): EQL's substring is Python's
slice ``s[start:end]``, Kusto's takes a length, so the emitter resolves the end first (a negative end
counts from the string's end, an end past the string is its length).

Each query runs on duckdb-kql over rows the fixture adapter builds from the same profile YAML, and
is compared with the reference matcher on hand-written events chosen at the slice's edges: an end
that is negative only because the string is short (``length(s) - 3`` on a 2-letter name is -1, which
Python reads as ``len - 1``: the first letter), an end past the string, and a one-letter string.
Microsoft's parser checks every query.
"""

from __future__ import annotations

import pytest

from eqlc.result import Status
from tests.test_kql_sentinel import _rule, _run

NAMES = ["", "a", "ab", "abc", "abcd", "cmd.exe", "CMD.EXE"]


def _ev(_id: str, name: str, parent: str = "cm") -> dict:
    ev = {"_id": _id, "@timestamp": "2026-01-01T00:00:00Z", "host": {"os": {"type": "windows"}},
          "event": {"category": ["process"], "type": ["start"]}, "process": {"parent": {"name": parent}}}
    if name:
        ev["process"]["name"] = name
    return ev


PARENTS = ["", "a", "ab", "abc", "cm", "cmd.ex", "CMD"]
EVENTS = [_ev(f"n{i}-p{j}", n, p) for i, n in enumerate(NAMES) for j, p in enumerate(PARENTS)]

QUERIES = [
    'process where substring(process.name, 0, -1) == "cmd.ex"',
    'process where substring(process.name, 0, -1) == ""',
    'process where substring(process.name, 0, -3) == "a"',
    'process where substring(process.name, 0, length(process.name) - 3) == "a"',
    'process where substring(process.name, 1, length(process.name) - 1) == "b"',
    'process where substring(process.name, 0, length(process.name) + 2) == "abc"',
    'process where startswith~(process.parent.name, substring(process.name, 0, -1))',
    'process where not startswith~(process.parent.name, substring(process.name, 0, length(process.name) - 1))',
    'process where startswith(process.name, substring(process.parent.name, 1, -1))',
]


@pytest.mark.parametrize("query", QUERIES)
def test_negative_and_computed_ends_agree_with_the_matcher(query):
    tr, got, want, out = _run(_rule(query), EVENTS, profile="defender")
    assert tr.status in (Status.EXACT, Status.ASSUMPTIONS), tr.notes
    assert "strlen(" in tr.output
    assert got == want, (query, got, want, out)


def test_the_short_string_edge_is_exercised():
    """length(s) - 3 on "ab" is -1, which EQL reads as len - 1: the slice is "a", so "ab" matches."""
    tr, got, want, out = _run(_rule(QUERIES[3]), EVENTS, profile="defender")
    assert "n2-p0" in want and "n3-p0" not in want, want
    assert got == want


@pytest.mark.parametrize("query,reason", [
    ('process where substring(process.name, -2) == "xe"', "start offset"),
    ('process where substring(process.name, 0, length(process.name) / 2) == "cm"', "not an integer expression"),
])
def test_other_offsets_stay_refused(query, reason):
    from eqlc.targets.kql import TARGET

    tr = TARGET.compile(_rule(query), profile="defender")
    assert tr.status is Status.REFUSED and any(reason in n for n in tr.notes), tr.notes


def test_queries_parse_with_microsofts_parser():
    from eqlc.targets.kql import TARGET
    from tests.node.kusto import analyse, declared_tables

    outs = [TARGET.compile(_rule(q), profile="defender").output for q in QUERIES]
    assert analyse(outs, declared_tables("defender")) == [[] for _ in outs]
