"""Documented size limits instead of stack overflows and memory blow-ups (issue 19).

* nesting: 300 levels of ``and``/``or`` passed ``check`` and crashed ``match``/``verify`` with
  RecursionError; now ``check`` refuses more than ``MAX_EXPRESSION_DEPTH`` levels at the deepest
  node, and at the limit every eqlc stage runs;
* a 10,000-value ``in`` list: witness generation was quadratic (minutes, GBs); lists longer than
  ``LIST_ATOM_THRESHOLD`` become ``LIST_ATOMS`` chunk atoms, each still covered by an MC/DC pair;
* a 50 MB rule needed ~7 GB: queries over ``MAX_QUERY_CHARS`` and files over
  ``MAX_RULE_FILE_BYTES`` are refused before parsing.
Timings are measured by benchmarks/bench_hostile.py, not asserted here.
"""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings, strategies as st

from eqlc import parse_query
from eqlc.errors import EqlError
from eqlc.fixtures import atoms
from eqlc.fixtures.oracle import Oracle
from eqlc.fixtures.witness import generate
from eqlc.limits import MAX_EXPRESSION_DEPTH, MAX_QUERY_CHARS, MAX_RULE_FILE_BYTES, expression_depth
from eqlc.matcher import matcher
from eqlc.rule import Rule

from .conftest import run_cli


def _nested(levels: int) -> str:
    body = "true"
    for i in range(levels):
        op = "or" if (levels - 1 - i) % 2 == 0 else "and"  # the outermost is an "or"
        body = f'(process.pid == {i} {op} {body})'
    return "process where " + body


def test_deep_nesting_is_refused_at_check(tmp_path):
    rule = tmp_path / "deep.eql"
    rule.write_text(_nested(300) + "\n")
    res = run_cli("check", str(rule))
    err = res.stderr.decode()
    assert res.returncode == 2 and "nested" in err and f"at most {MAX_EXPRESSION_DEPTH}" in err and "Traceback" not in err
    assert f"{rule}:1:" in err  # located at the deepest node
    with pytest.raises(EqlError):
        parse_query(_nested(5000))  # deeper than the parser's own recursion: still an EqlError


def test_every_stage_runs_at_the_limit(tmp_path):
    levels = MAX_EXPRESSION_DEPTH - 4
    q = _nested(levels)
    depth, _ = expression_depth(parse_query(q))
    assert MAX_EXPRESSION_DEPTH - 10 <= depth <= MAX_EXPRESSION_DEPTH
    rule = tmp_path / "deep.eql"
    rule.write_text(q + "\n")
    ev = tmp_path / "ev.ndjson"
    ev.write_text(json.dumps({"event": {"category": "process"}, "process": {"pid": levels - 1}}) + "\n")
    res = run_cli("match", str(rule), str(ev), "--count")
    assert res.returncode == 0 and res.stdout.strip() == b"1", res.stderr.decode()[-2000:]
    res = run_cli("compile", str(rule), "--target", "all", "--json", timeout=300)
    assert b"Traceback" not in res.stderr and b"RecursionError" not in res.stdout, res.stderr.decode()[-2000:]
    res = run_cli("verify", str(rule), "--json", "--targets", "python,spl", timeout=300)
    doc = json.loads(res.stdout)
    assert {r["target"]: r["verdict"] for r in doc["results"]} == {"python": "verified", "spl": "verified"}


@settings(max_examples=60, deadline=None)
@given(ops=st.lists(st.sampled_from(["and", "or", "not"]), min_size=1, max_size=MAX_EXPRESSION_DEPTH - 6),
       pid=st.integers(0, 3))
def test_nested_matcher_is_right(ops, pid):
    """Deeply nested queries below the limit evaluate like Python's own boolean logic."""
    body, value = "process.pid == 0", pid == 0
    for i, op in enumerate(ops):
        atom, atom_v = f"process.pid == {i % 4}", pid == i % 4
        if op == "not":
            body, value = f"not ({body})", not value
        elif op == "and":
            body, value = f"({atom} and {body})", atom_v and value
        else:
            body, value = f"({atom} or {body})", atom_v or value
    m = matcher("process where " + body)
    assert m.match({"event": {"category": "process"}, "process": {"pid": pid}}) is value


def test_long_in_list_witnesses_are_chunked_and_covered():
    n = atoms.LIST_ATOM_THRESHOLD + 904  # 5000 values
    values = [f"v{i:05d}.exe" for i in range(n)]
    q = "process where process.name in (" + ", ".join(json.dumps(v) for v in values) + ")"
    rule = Rule(query=parse_query(q), query_text=q)
    sk = atoms.skeleton(rule.query.body.condition)
    assert len(sk.atoms) == -(-n // -(-n // atoms.LIST_ATOMS))  # one atom per chunk, chunks of equal size
    assert sorted(v for a in sk.atoms for v in (x.value for x in a.expr.values)) == values  # nothing dropped
    ws = generate(rule, Oracle())
    s = ws.summary()
    assert s["atoms"] == len(sk.atoms) + 1 and s["mcdc_unique"] + s["mcdc_masking"] == s["atoms"]  # + the category
    m = matcher(rule)
    selected = [e for e in ws.events if m.match(e)]
    assert selected and len(selected) < len(ws.events)
    assert {e["process"]["name"] for e in selected} <= set(values)


def test_short_lists_keep_one_atom_per_value():
    q = "process where process.name in (" + ", ".join(f'"v{i}"' for i in range(300)) + ")"
    assert len(atoms.skeleton(parse_query(q).body.condition).atoms) == 300


def test_query_and_file_size_limits(tmp_path):
    with pytest.raises(EqlError, match="at most 1000000 characters"):
        parse_query("process where process.name in (" + ", ".join(['"x"'] * (MAX_QUERY_CHARS // 5)) + ")")
    big = tmp_path / "big.eql"
    with open(big, "wb") as f:  # sparse: costs no disk
        f.truncate(MAX_RULE_FILE_BYTES + 1)
    res = run_cli("check", str(big))
    assert res.returncode == 2 and b"at most" in res.stderr and b"Traceback" not in res.stderr
