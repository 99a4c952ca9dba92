"""Regex cost is bounded on every path (issue 19).

* ``check``: a numeric interval or repetition count that is not a Java int is an error, as in
  Lucene (``Integer.parseInt``); an interval expands to O(width^2) alternatives (it was 2^width);
  a pattern whose automaton exceeds eqlc's documented limit is refused with the reason.
* ``match`` and the generated Python module: ``a{1001}`` (over RE2's repetition limit) runs.
* the SPL evaluator, osquery's ``regex_match``, the Sigma sqlite ``REGEXP`` and the endgame
  dialect run catastrophic patterns (``(a+)+$``, ``(.*a){30}``) in bounded time.
"""

from __future__ import annotations

import json
import re
import time

import pytest
from hypothesis import given, settings, strategies as st

from eqlc import lucene_regex as lr
from eqlc.matcher import matcher
from eqlc.targets.python.target import TARGET, load_module

from .conftest import run_cli

EVIL = ["(a+)+$", "(.*a){30}", "(a|aa)+$", "(x+x+)+y"]


def _eql(tmp_path, query: str):
    p = tmp_path / "rule.eql"
    p.write_text(query + "\n")
    return p


@pytest.mark.parametrize("pattern, message", [
    ("<0-99999999999999999>", "interval syntax error"),
    ("<0-2147483648>", "interval syntax error"),
    ("a{2147483648}", "not a Java int"),
    ("(a{1000}){1000}", "too complex"),
    ("((.{100}){100}){100}", "too complex"),
])
def test_check_refuses_unbounded_patterns_quickly(tmp_path, pattern, message):
    rule = _eql(tmp_path, f'process where process.name regex "{pattern}"')
    start = time.monotonic()
    res = run_cli("check", str(rule), timeout=60)
    assert time.monotonic() - start < 30
    assert res.returncode == 2 and message in res.stderr.decode() and b"Traceback" not in res.stderr


@settings(max_examples=300, deadline=None)
@given(a=st.integers(0, 2**31 - 1), b=st.integers(0, 2**31 - 1), n=st.integers(0, 2**31 - 1), zeros=st.integers(0, 3))
def test_interval_expansion_is_exact_and_small(a, b, n, zeros):
    lo, hi = min(a, b), max(a, b)
    node = lr.parse_regex(f"<{lo}-{hi}>")
    assert lr.automaton_size(node) < 5000
    rx = re.compile(lr.to_pattern([f"<{lo}-{hi}>"], flavor="python"))
    fixed = len(str(lo)) == len(str(hi))  # Lucene: bounds of one width -> that width, zero-padded
    for value in (n, lo, hi, max(lo - 1, 0), hi + 1):
        text = "0" * zeros + str(value)
        want = lo <= value <= hi and (not fixed or len(text) == len(str(hi)))
        assert (rx.fullmatch(text) is not None) == want, (lo, hi, text)


def test_fixed_width_interval():
    rx = re.compile(lr.to_pattern(["<007-120>"], flavor="python"))
    assert rx.fullmatch("007") and rx.fullmatch("099") and rx.fullmatch("120")
    assert not rx.fullmatch("7") and not rx.fullmatch("121") and not rx.fullmatch("0007")


def test_repetition_over_re2_limit_runs_in_matcher_and_module():
    q = 'process where process.name regex "a{1001}b{0,1500}"'
    events = [{"event": {"category": "process"}, "process": {"name": "a" * n + "b" * k}, "id": f"{n}-{k}"}
              for n, k in ((1001, 0), (1000, 0), (1001, 1500), (1001, 1501), (1002, 3))]
    want = {"1001-0", "1001-1500"}
    m = matcher(q)
    assert {e["id"] for e in events if m.match(e)} == want
    from eqlc import parse_query
    from eqlc.rule import Rule

    out = TARGET.compile(Rule(query=parse_query(q), query_text=q))
    assert out.status.value == "exact", out.notes
    ns = load_module(out.output, "hostile_a1001")
    assert {e["id"] for e in events if ns["match"](e)} == want


def test_match_cli_a1001(tmp_path):
    rule = _eql(tmp_path, 'process where process.name regex "a{1001}"')
    ev = tmp_path / "ev.ndjson"
    ev.write_text(json.dumps({"event": {"category": "process"}, "process": {"name": "a" * 1001}}) + "\n")
    res = run_cli("match", str(rule), str(ev), "--count")
    assert res.returncode == 0 and res.stdout.strip() == b"1", res.stderr.decode()[-2000:]
    assert b"re2.cc" not in res.stderr  # RE2 does not log parse errors to stderr


@pytest.mark.parametrize("pattern", EVIL)
def test_spl_evaluator_pcre(pattern):
    from eqlc.targets.spl.evaluator import pcre

    start = time.monotonic()
    assert pcre.search(pattern, "a" * 40 + "b") is {"(a+)+$": False, "(.*a){30}": True, "(a|aa)+$": False, "(x+x+)+y": False}[pattern]
    assert pcre.search(pattern, "a" * 40) is {"(a+)+$": True, "(.*a){30}": True, "(a|aa)+$": True, "(x+x+)+y": False}[pattern]
    assert time.monotonic() - start < 3


@pytest.mark.parametrize("pattern", EVIL)
def test_sigma_regexp(pattern):
    from eqlc.targets.sigma.engine import _regexp

    start = time.monotonic()
    _regexp(pattern, "a" * 40 + "b")
    _regexp(pattern, "x" * 5000)
    assert time.monotonic() - start < 3


def test_osquery_regex_match():
    from eqlc.targets.osquery.regex import regex_match

    start = time.monotonic()
    assert regex_match("a" * 40 + "b", "^(?:(?:a+)+)$", 0) is None
    assert regex_match("a" * 40, "^(?:(?:a+)+)$", 0) == "a" * 40
    assert time.monotonic() - start < 3


@pytest.mark.parametrize("pattern", ["(a+)+$", "(.*a){30}"])
def test_endgame_dialect(pattern):
    m = matcher(f'process where match(process_name, "{pattern}")', dialect="endgame")
    ev = {"event_type": "process", "process_name": "a" * 40 + "b"}
    start = time.monotonic()
    list(m.run([ev]))
    assert time.monotonic() - start < 3


def test_endgame_wildcard_with_many_stars():
    pattern = "*a" * 25 + "*c"
    m = matcher(f'process where process_name == "{pattern}"', dialect="endgame")
    start = time.monotonic()
    assert list(m.run([{"event_type": "process", "process_name": "a" * 60}])) == []
    assert time.monotonic() - start < 3


@pytest.mark.parametrize("field", ["process.command_line", "file.path"])
def test_verify_catastrophic_regex_finishes(tmp_path, field):
    rule = _eql(tmp_path, f'process where {field} regex "(.*a){{30}}"')
    res = run_cli("verify", str(rule), "--json", timeout=300)
    assert b"Traceback" not in res.stderr
    doc = json.loads(res.stdout)
    assert doc  # every target produced a verdict (an engine error would be a verdict too)


def test_match_cli_reports_a_budget_overrun(tmp_path):
    """A construct only backtracking can run (look-ahead, in the endgame dialect's Python regex)
    on a catastrophic input: an error and exit 2 within the budget, not a hang or a traceback."""
    ev = tmp_path / "ev.ndjson"
    ev.write_text(json.dumps({"event_type": "process", "process_name": "a" * 40 + "b"}) + "\n")
    start = time.monotonic()
    res = run_cli("match", "--dialect", "endgame", 'process where match(process_name, "((?=a)a+)+$")', str(ev),
                  env={"EQLC_REGEX_BUDGET": "0.5"}, timeout=60)
    assert time.monotonic() - start < 30
    assert res.returncode == 2 and b"cannot be run in bounded time" in res.stderr and b"Traceback" not in res.stderr
