"""Differential check of the args-from-command-line translation (targets/kql/argv.py): random
argument arrays that satisfy the stated assumption (words without spaces, the command line their
space-joined text) and random EQL comparisons on process.args / process.args_count, run as KQL on
duckdb-kql and in the Python matcher. Under the assumption the translation claims to be exact, so
the two must select the same events, every time -- including negations and events without args.

Deterministic (fixed seeds), so a failure reproduces; 150 queries over 48 events in all.
"""

from __future__ import annotations

import random

import pytest

from eqlc import parse_query
from eqlc.matcher import matcher
from eqlc.result import Status
from eqlc.rule import Rule
from eqlc.targets.kql import TARGET
from eqlc.targets.kql.adapter import exclusions

ALPHABET = "abA-/."
PATTERN_EXTRA = "*?"


def random_word(rng: random.Random, extra: str = "") -> str:
    return "".join(rng.choice(ALPHABET + extra) for _ in range(rng.randint(1, 4)))


def events(rng: random.Random, n: int = 48) -> list[dict]:
    out = []
    for i in range(n):
        proc: dict = {"name": "p"}
        shape = rng.random()
        if shape < 0.1:
            pass  # no args, no command line
        elif shape < 0.15:
            proc.update({"args": [], "command_line": ""})
        else:
            args = [random_word(rng) for _ in range(rng.randint(1, 4))]
            proc.update({"args": args, "command_line": " ".join(args), "args_count": len(args)})
        out.append({"_id": f"r{i:02d}", "@timestamp": f"2026-11-04T10:00:{i:02d}.000Z",
                    "event": {"category": ["process"], "type": ["start"], "action": "exec"},
                    "host": {"id": "h1", "os": {"type": "linux"}}, "process": proc})
    return out


def eql_string(s: str) -> str:
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


REGEX_ATOMS = ["a", "b", "A", "-", "/", "\\.", ".", "[ab]", "[^a]", "\\s", "\\S", " ", "(a|-)"]


def random_regex(rng: random.Random) -> str:
    """A small Lucene regex over the alphabet (with '.', classes, a literal space, repeats)."""
    out = []
    for _ in range(rng.randint(0, 4)):
        atom = rng.choice(REGEX_ATOMS)
        out.append(atom + rng.choice(["", "", "*", "+", "?", "{1,2}"]))
    return "".join(out)


def random_query(rng: random.Random) -> str:
    """One process.args / process.args_count condition, sometimes negated."""
    kind = rng.choice(["==", "in", "in~", ":", "like", "like~", "startsWith", "endsWith", "count", "null", "regex", "regex~"])
    if kind.startswith("regex"):
        values = [random_regex(rng) for _ in range(rng.randint(1, 2))]
        cond = f"process.args {kind} ({', '.join(eql_string(v) for v in values)})"
    elif kind == "count":
        cond = f"process.args_count {rng.choice(['==', '>=', '<', '!='])} {rng.randint(0, 4)}"
    elif kind == "null":
        cond = f"process.args {rng.choice(['==', '!='])} null"
    elif kind == "==":
        cond = f"process.args == {eql_string(random_word(rng, PATTERN_EXTRA))}"  # '*'/'?' are characters here
    elif kind in ("startsWith", "endsWith"):
        cond = f"{kind}{rng.choice(['', '~'])}(process.args, {eql_string(random_word(rng))})"
    else:
        extra = PATTERN_EXTRA if kind in (":", "like", "like~") else ""
        values = [random_word(rng, extra) for _ in range(rng.randint(1, 5))]
        cond = f"process.args {kind} ({', '.join(eql_string(v) for v in values)})"
    if rng.random() < 0.35:
        cond = f"not {cond}"
    return f"process where {cond}"


def rule_of(text: str) -> Rule:
    return Rule(query=parse_query(text), query_text=text, name="kql args differential")


@pytest.mark.parametrize("profile,seed", [("defender", 1), ("defender", 2), ("sentinel-asim", 3)])
def test_args_translation_agrees_with_the_matcher(profile, seed):
    rng = random.Random(seed)
    evs = events(rng)
    checked = 0
    regex_forms = operator_forms = word_regexes = 0
    for i in range(60 if profile == "defender" else 30):
        text = random_query(rng)
        rule = rule_of(text)
        t = TARGET.compile(rule, profile=profile)
        assert t.status is Status.ASSUMPTIONS, (text, t.notes)
        assert t.derived, "the translation records what it read from the command line"
        if i == 0:  # the adapter reports nothing: every generated event satisfies the assumption
            assert exclusions(t, evs) == {}
        assert not [e["_id"] for d in t.derived for e in evs if d.violation(e)]
        m = matcher(rule)
        want = {e["_id"] for e in evs if m.match(e)}
        got = set(TARGET.execute(t, evs))
        assert got == want, f"{text}\n{t.output}\nKQL only: {sorted(got - want)}, matcher only: {sorted(want - got)}"
        checked += 1
        regex_forms += "matches regex" in t.output
        word_regexes += "process.args regex" in text
        operator_forms += "startswith" in t.output
    assert checked and regex_forms > 5 and operator_forms > 5 and word_regexes > 2  # every translation form exercised
