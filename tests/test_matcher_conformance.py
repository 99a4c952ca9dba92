"""Conformance of the Python matcher with Elasticsearch's own EQL QA suite (elasticsearch dialect)
and with the eql package's suite (endgame dialect). Pass counts per file are asserted, and the
exact set of non-passing cases must equal the lists (with reasons) in tests/data/matcher/*.yaml:
a fix or a regression both fail the test until the list is updated."""

from __future__ import annotations

import json
import os
import tomllib
from pathlib import Path

import pytest
import yaml

from eqlc.errors import EqlError
from eqlc.matcher import infer_mapping, matcher
from eqlc.matcher.esmapping import load_index_mapping

from .matcher_conformance import FILES, SUITE, WORKAROUNDS, Dataset, cases, dataset, run_case, run_with_workaround

DATA = Path(__file__).parent / "data" / "matcher"
ES = yaml.safe_load((DATA / "es_conformance.yaml").read_text())
EQL = yaml.safe_load((DATA / "eql_suite.yaml").read_text())


@pytest.mark.parametrize("file", list(ES["files"]))
def test_elasticsearch_suite_file(file: str) -> None:
    expected = ES["files"][file]
    all_cases = cases(file)
    assert len(all_cases) == expected["cases"]
    listed = set((ES["not_passing"].get(file) or {}))
    workaround: set = set()
    failing = {}
    for case in all_cases:
        outcome = run_case(case)
        if not outcome.passed:
            failing[case.name] = outcome.detail
    assert set(failing) == listed | workaround, failing
    assert len(all_cases) - len(failing) == expected["passing"]


def test_every_elasticsearch_file_is_accounted_for() -> None:
    on_disk = {p.name for p in SUITE.glob("*.toml")}
    assert on_disk == set(ES["files"]) | set(ES["excluded"])
    assert set(ES["files"]) == set(FILES)


@pytest.mark.parametrize("file,name", sorted(WORKAROUNDS))
def test_fixed_front_end_bugs_pass_through_the_real_front_end(file: str, name: str) -> None:
    """Cases the front end once rejected (see the YAML) now parse, and give the same result as
    the IR the old workaround built by hand."""
    assert name in ES["fixed_front_end_bugs"][file]
    case = next(c for c in cases(file) if c.name == name)
    assert run_case(case).passed
    assert run_with_workaround(case).passed


def test_version_cases_pass_with_a_version_mapping() -> None:
    """The two listed version-range cases fail only because the copied mapping lacks `version`."""
    base = dataset("extra")
    props = dict(load_index_mapping(SUITE / "data" / "extra.mapping").properties)
    props["version"] = {"type": "version"}
    data = Dataset(base.events, infer_mapping(base.events, {"properties": props}), "sequence", "sequence")
    names = set(ES["not_passing"]["test_extra.toml"])
    for case in cases("test_extra.toml"):
        if "Version" in case.name:
            assert run_case(case, data).passed, case.name
    assert names <= {c.name for c in cases("test_extra.toml") if "Version" in c.name}


# ------------------------------------------------------------------------------------------------
# The eql package's suite, endgame dialect
# ------------------------------------------------------------------------------------------------


def _eql_etc() -> Path:
    import eql

    return Path(os.path.dirname(eql.__file__)) / "etc"


def _reason(message: str) -> str:
    if "process relationships" in message:
        return "relationships"
    if "'join'" in message:
        return "join"
    if "fork" in message:
        return "fork"
    if "arraySearch" in message or "arrayCount" in message:
        return "array_loops"
    return "other: " + message


def test_eql_package_suite_in_endgame_dialect() -> None:
    etc = _eql_etc()
    queries = tomllib.loads((etc / "test_queries.toml").read_text())["queries"]
    data = json.loads((etc / "test_data.json").read_text())
    assert len(queries) == EQL["cases"]
    passing = 0
    refused = {}
    wrong = []
    for pos, q in enumerate(queries, 1):
        dialect = "endgame-cs" if q.get("case_sensitive") else "endgame"
        try:
            m = matcher(q["query"], dialect=dialect)
        except EqlError as err:
            refused[pos] = _reason(err.message)
            continue
        ids = [e.get("serial_event_id") for match in m.run(data) for e in match.events]
        if ids == q["expected_event_ids"]:
            passing += 1
        else:
            wrong.append((q["query"], ids, q["expected_event_ids"]))
    assert not wrong, wrong[:3]
    assert passing == EQL["passing"]
    assert refused == {row["case"]: row["reason"] for row in EQL["not_passing"]}
    assert set(refused.values()) <= set(EQL["reasons"])
