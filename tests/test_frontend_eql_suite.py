"""The eql package's own conformance queries (read from the installed package, never copied).

In the endgame dialect every query parses except those using syntax Elasticsearch removed
(process relationships, join, fork, array loop functions); each is listed with its reason in
tests/data/frontend/eql_suite_unparsed.yaml. In the elasticsearch dialect, legacy Endgame forms
(`=`, single quotes, ?"raw" strings, non-head/tail pipes, field-vs-field comparisons) are rejected
with Elasticsearch's own messages.
"""

from __future__ import annotations

import os
import tomllib
from collections import Counter
from pathlib import Path

import eql
import pytest
import yaml

from eqlc import EqlError, parse_query, to_eql

DATA = Path(__file__).parent / "data" / "frontend" / "eql_suite_unparsed.yaml"


def _suite() -> list[dict]:
    path = Path(os.path.dirname(eql.__file__)) / "etc" / "test_queries.toml"
    return tomllib.loads(path.read_text())["queries"]


def _outcomes(dialect: str) -> dict[int, str | None]:
    out: dict[int, str | None] = {}
    for i, case in enumerate(_suite()):
        try:
            q = parse_query(case["query"], dialect=dialect)
            assert parse_query(to_eql(q), dialect=dialect) == q
            out[i] = None
        except EqlError as err:
            out[i] = err.message
    return out


def test_endgame_dialect_parses_all_but_removed_syntax() -> None:
    expected = yaml.safe_load(DATA.read_text())
    outcomes = _outcomes("endgame")
    failed = {i: msg for i, msg in outcomes.items() if msg is not None}
    listed = {entry["index"]: entry for entry in expected["endgame_unparsed"]}
    assert set(failed) == set(listed), "unlisted or newly passing eql-suite queries"
    for i, msg in failed.items():
        assert listed[i]["reason"] in msg
    assert len(outcomes) - len(failed) == expected["endgame_parsed"] == 203


def test_elasticsearch_dialect_rejects_legacy_syntax_with_reasons() -> None:
    outcomes = _outcomes("elasticsearch")
    reasons = Counter()
    for msg in outcomes.values():
        if msg is None:
            reasons["parsed"] += 1
        elif "Use == instead of =" in msg:
            reasons["= for equality"] += 1
        elif "single quotes" in msg or 'not [?"]' in msg:
            reasons["single-quoted or ?raw strings"] += 1
        elif "is not supported by Elasticsearch" in msg:
            reasons["pipe other than head/tail"] += 1
        elif "Comparisons against fields" in msg:
            reasons["field-vs-field comparison"] += 1
        elif "removed" in msg:
            reasons["removed syntax"] += 1
        else:
            reasons[msg] += 1
    expected = yaml.safe_load(DATA.read_text())["elasticsearch_outcomes"]
    assert dict(reasons) == expected


@pytest.mark.parametrize("query,dialect", [("process where a = 1", "endgame"), ("process where a == 'x'", "endgame")])
def test_legacy_forms_mean_the_same_as_modern_ones(query: str, dialect: str) -> None:
    modern = query.replace(" = ", " == ").replace("'", '"')
    assert parse_query(query, dialect=dialect) == parse_query(modern)
