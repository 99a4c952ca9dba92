"""The two forms, one meaning: the standalone module ``eqlc compile --target python`` writes gives
the same results as the in-process matcher, for every corpus rule, on generated events.

A standalone module is its header, the embedded runtime (compiler/events.py + runtime.py, the same
text for every rule) and the rule's generated code. The test checks that structure for every
rule, executes the embedded runtime once (with RE2 and with RE2 unavailable, i.e. the standard
library only) and each rule's generated part in a copy of it, and compares the matches (ids and
join keys) with ``eqlc.matcher``'s. A few complete modules also run as scripts in a
subprocess where ``import re2`` fails.
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

from eqlc.matcher import matcher
from eqlc.result import Status
from eqlc.targets.python.module import runtime_text
from eqlc.targets.python.target import TARGET, load_module

from .corpus import EXAMPLE_DIR, all_rules, rule_id
from .matcher_events import events_for, ids_of

MARK = "\n# ==== generated for this rule "


def _runtime_ns(with_re2: bool) -> dict:
    saved = sys.modules.get("re2", None)
    try:
        if not with_re2:
            sys.modules["re2"] = None  # type: ignore[assignment]
        return load_module(runtime_text(), "eqlc_standalone_runtime")
    finally:
        if not with_re2:
            if saved is None:
                del sys.modules["re2"]
            else:
                sys.modules["re2"] = saved


RUNTIME = {True: _runtime_ns(True), False: _runtime_ns(False)}
RT_TEXT = runtime_text()


def _standalone(output: str, m, with_re2: bool, with_filter: bool) -> dict:
    """The module's namespace: its embedded runtime (executed once per RE2 setting) plus its
    generated code. That code is the text the matcher compiled (asserted), so its compiled
    object is executed here rather than re-parsing identical text; every fourth rule compiles
    the module's own text (with the streaming filter and the API) instead."""
    head, sep, generated = output.partition(MARK)
    assert sep, "generated-code marker missing"
    doc, future, _ = head.partition("\n\nfrom __future__ import annotations\n")
    assert future, "the module docstring must come first"
    assert isinstance(ast.literal_eval(doc), str)  # the header (quoting the query) is a valid literal
    assert head.endswith(RT_TEXT), "the module must embed the runtime verbatim"
    assert m.source in generated, "the module must hold exactly the code the matcher runs"
    ns = dict(RUNTIME[with_re2])
    if with_filter:
        exec(compile(sep + generated, "<standalone rule>", "exec"), ns)  # noqa: S102 - generated module
    else:
        exec(m.code, ns)  # noqa: S102
        ns["run"] = lambda events, **kw: ns["_run_query"](ns["SPEC"], events, **kw)
        ns["match"] = lambda e: (not ns["SPEC"].get("pruned")) and bool(ns["SPEC"]["terms"][0]["cond"](e))
    return ns


def _check(rules, n_events: int) -> dict:
    stats = {"compared": 0, "refused": 0, "matches": 0}
    for i, rule in enumerate(rules):
        m = matcher(rule)
        t = TARGET.compile(rule)
        if t.status is Status.REFUSED:
            stats["refused"] += 1
            assert t.notes and "regex" in t.notes[0], (rule_id(rule), t.notes)
            continue
        events = events_for(rule.query, n_events, seed=i)
        if rule.query.kind == "event":
            selected = [m.match(e) for e in events]
            expected = [([e["_id"]], []) for e, ok in zip(events, selected) if ok]
        else:
            expected = ids_of(m.run(events, sort=True))
        for with_re2 in (True, False) if i % 4 == 0 else (True,):
            ns = _standalone(t.output, m, with_re2, with_filter=i % 4 == 0)
            got = ids_of(ns["run"](events, sort=True))
            assert got == expected, (rule_id(rule), with_re2)
            if rule.query.kind == "event":
                assert [ns["match"](e) for e in events] == selected
        stats["compared"] += 1
        stats["matches"] += len(expected)
    return stats


CHUNKS = 4


@pytest.mark.parametrize("chunk", range(CHUNKS))
def test_single_event_rules_standalone_equals_matcher(chunk: int) -> None:
    """Every single-event corpus rule (in 4 chunks, so that workers share them)."""
    rules = [r for r in all_rules() if r.query.kind == "event"]
    assert len(rules) == 660
    stats = _check(rules[chunk::CHUNKS], 12)
    assert stats["refused"] == 0
    assert stats["compared"] == len(rules[chunk::CHUNKS])
    assert stats["matches"] > 100  # the events do exercise the rules


@pytest.mark.parametrize("chunk", range(2))
def test_sequence_and_sample_rules_standalone_equals_matcher(chunk: int) -> None:
    rules = [r for r in all_rules() if r.query.kind != "event"]
    assert len(rules) == 163
    stats = _check(rules[chunk::2], 40)
    assert stats["compared"] + stats["refused"] == len(rules[chunk::2])
    assert stats["matches"] > 10


def test_complete_module_runs_without_re2(tmp_path: Path) -> None:
    """The written file, run as a script by a Python where `import re2` fails."""
    rule = EXAMPLE_DIR / "rule.toml"
    out = tmp_path / "out"
    subprocess.run([sys.executable, "-m", "eqlc.cli", "compile", str(rule), "--target", "python", "-o", str(out)],
                   check=False, capture_output=True)
    from eqlc.loaders import load_rules

    t = TARGET.compile(load_rules(rule)[0])
    module = tmp_path / "rule_module.py"
    module.write_text(t.output)
    blocker = tmp_path / "re2.py"
    blocker.write_text("raise ImportError('re2 blocked for this test')\n")
    fixtures = EXAMPLE_DIR / "fixtures.ndjson"
    proc = subprocess.run([sys.executable, "-S", "-I", str(module), str(fixtures)], capture_output=True, text=True,
                          cwd=tmp_path, timeout=60)
    assert proc.returncode == 0, proc.stderr
    got = [json.loads(line)["_id"] for line in proc.stdout.splitlines()]
    import yaml

    expected = yaml.safe_load((EXAMPLE_DIR / "expectations.yaml").read_text())["rule.toml"]["matches"]
    assert got == expected


def test_execute_returns_fixture_ids() -> None:
    from eqlc.loaders import load_rules
    import yaml

    rule = load_rules(EXAMPLE_DIR / "rule.eql")[0]
    events = [json.loads(x) for x in (EXAMPLE_DIR / "fixtures.ndjson").read_text().splitlines() if x.strip()]
    t = TARGET.compile(rule)
    assert t.status is Status.EXACT
    expected = yaml.safe_load((EXAMPLE_DIR / "expectations.yaml").read_text())["rule.eql"]["matches"]
    assert TARGET.execute(t, events) == expected


@pytest.mark.parametrize("query,reason", [
    ('process where substring(process.name, 0, 3) regex "a.*"', "regex"),
])
def test_refusals_name_the_construct(query: str, reason: str) -> None:
    from eqlc.parser import parse_query
    from eqlc.rule import Rule

    t = TARGET.compile(Rule(parse_query(query), query))
    assert t.status is Status.REFUSED and reason in t.notes[0]


@pytest.mark.parametrize("query", [
    # regression: the header quoted the query by hand, and `\\u{202E}` (an EQL unicode escape, as in
    # windows/defense_evasion_right_to_left_override.toml) is a truncated \\uXXXX escape in Python
    'process where process.name : "*\\u{202E}*"',
    'file where file.path : "C:\\\\Windows\\\\*" and file.name != """a\\"b"""',
    'process where process.name == "x\\ty" or process.name : "*\\u{200B}*"',
])
def test_module_header_quotes_any_query_text(query: str) -> None:
    """The complete module compiles whatever the query's text holds, keeps that text verbatim in its
    docstring, and selects what the matcher selects."""
    from eqlc.parser import parse_query
    from eqlc.rule import Rule

    rule = Rule(parse_query(query), query)
    t = TARGET.compile(rule)
    assert t.status is Status.EXACT
    ns = load_module(t.output)
    assert query in ns["__doc__"]
    names = ["ab\u202ec.exe", "abc.exe", "C:\\Windows\\x", "x\ty", "a\u200b"]
    events = [{"_id": str(i), "@timestamp": i, "event": {"category": c}, "process": {"name": n},
               "file": {"path": n, "name": n}} for i, n in enumerate(names) for c in ("process", "file")]
    m = matcher(rule)
    expected = [e["_id"] for e in events if m.match(e)]
    assert expected, "the events must exercise the rule"
    assert TARGET.execute(t, events) == expected


def test_module_command_line_prefilter_equals_full_decode(tmp_path: Path) -> None:
    """The module's command line reads NDJSON through the embedded prefilter (its NEEDLES, derived
    by eqlc.matcher.needles): with the standard library only (``-S -I``: no Hyperscan, no re2) and
    with Hyperscan when installed, it prints exactly what `--no-prefilter` prints."""
    import random

    from .json_encodings import random_escapes

    picked = [EXAMPLE_DIR / "rule.toml"]
    rules = [r for r in all_rules() if r.query.kind == "event"][::220] + [r for r in all_rules() if r.query.kind == "sequence"][::80]
    from eqlc.loaders import load_rules

    matched = 0
    for k, rule in enumerate(load_rules(picked[0]) + list(rules)):
        t = TARGET.compile(rule)
        if t.status is Status.REFUSED:
            continue
        module = tmp_path / f"m{k}.py"
        module.write_text(t.output)
        assert "\nNEEDLES = [" in t.output, rule_id(rule)
        rng = random.Random(k)
        events = events_for(rule.query, 60, seed=k) + [{"_id": f"pad{i}", "x": "y" * i} for i in range(200)]
        data = tmp_path / f"e{k}.ndjson"
        data.write_bytes(b"".join(random_escapes(e, rng, rng.choice([0.0, 0.05])) + b"\n" for e in events))
        outs = []
        for python in ([sys.executable, "-S", "-I"], [sys.executable]):
            for flag in ([], ["--no-prefilter"]):
                proc = subprocess.run([*python, str(module), str(data), "--sort", *flag], capture_output=True,
                                      text=True, timeout=120, cwd=tmp_path)
                assert proc.returncode == 0, proc.stderr
                outs.append(proc.stdout)
        assert len(set(outs)) == 1, rule_id(rule)
        matched += bool(outs[0].strip())
    assert matched >= 3  # the events exercise the rules
