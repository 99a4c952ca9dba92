"""Adversarial checks of process.args read from a Windows command line (argv.py "Windows arguments",
kqlargv): argument vectors over quotes, backslashes, tabs, "=", spaces, empty arguments, accented
and case-folding letters (the Kelvin sign), written as command lines by Python's list2cmdline, by
mslex (an independent CommandLineToArgvW quoting) or naively joined; the event's process.args is
either mslex's split of its line or the original vector (which may not be that split: the stated
assumption's check must set such events apart). Conditions: ==, in, in~, :, like, like~ with
wildcards, startsWith/endsWith/stringContains (native wildcard literals), negations, args_count.
The query runs on duckdb-kql and must select what the reference matcher selects on every event
the translation's checks keep (audit6: no disagreement found).
"""

from __future__ import annotations

import subprocess

import mslex
from hypothesis import given, settings
from hypothesis import strategies as st

from eqlc.matcher import matcher
from eqlc.result import Status
from eqlc.targets.kql import TARGET
from eqlc.targets.kql.adapter import exclusions
from tests.test_kql_windows_args import eql_string, rule_of

ALPHABET = 'aA \t"\\=\u00e9.\u212aK-'
ARG = st.text(alphabet=ALPHABET, max_size=4)
VALUE = st.text(alphabet=ALPHABET.replace('"', "") + "*?", min_size=1, max_size=4)


def _line(args: list[str], how: int) -> str:
    if how == 0:
        return subprocess.list2cmdline(args)
    if how == 1:
        return mslex.join(args, for_cmd=False)
    return " ".join(args)


def _event(i: int, args: list[str], how: int, consistent: bool) -> dict:
    line = _line(args, how)
    split = mslex.split(line, like_cmd=False, check=False)
    argv = split if consistent else args
    proc: dict = {"name": "p.exe"}
    if line:
        proc["command_line"] = line
    if argv:
        proc.update(args=argv, args_count=len(argv))
    return {"_id": f"w{i:02d}", "@timestamp": f"2026-11-04T10:00:{i:02d}.000Z", "host": {"id": "h1", "os": {"type": "windows"}},
            "event": {"category": ["process"], "type": ["start"], "action": "start"}, "process": proc}


@st.composite
def conditions(draw) -> str:
    kind = draw(st.sampled_from(["==", "in", "in~", ":", "like", "like~", "startsWith", "endsWith", "stringContains", "!="]))
    values = draw(st.lists(VALUE, min_size=1, max_size=3))
    if kind not in (":", "like", "like~"):
        values = [v.replace("*", "").replace("?", "") or "a" for v in values]
    values.append("a " + values[0])  # a spaced value: the Windows reading
    if kind in ("startsWith", "endsWith", "stringContains"):
        cond = " or ".join(f"{kind}{draw(st.sampled_from(['', '~']))}(process.args, {eql_string(v)})" for v in values)
    elif kind in ("==", "!="):
        cond = f"process.args {kind} {eql_string(values[-1])}"
    else:
        cond = f"process.args {kind} ({', '.join(eql_string(v) for v in values)})"
    if draw(st.booleans()):
        cond = f"not ({cond})"
    if draw(st.booleans()):
        cond = f"({cond}) and process.args_count {draw(st.sampled_from(['==', '>=', '<']))} {draw(st.integers(0, 3))}"
    return f'process where host.os.type == "windows" and ({cond})'


@settings(max_examples=8, deadline=None, derandomize=True)
@given(vectors=st.lists(st.tuples(st.lists(ARG, max_size=4), st.integers(0, 2), st.booleans() | st.just(True)),
                        min_size=4, max_size=14),
       text=conditions(), profile=st.sampled_from(["defender", "sentinel-asim"]))
def test_windows_args_agree_with_the_matcher(vectors, text, profile):
    events = [_event(i, args, how, consistent) for i, (args, how, consistent) in enumerate(vectors)]
    rule = rule_of(text)
    t = TARGET.compile(rule, profile=profile)
    assert t.status is Status.ASSUMPTIONS, (text, t.notes)
    out = exclusions(t, events)
    inside = [e for e in events if e["_id"] not in out]
    m = matcher(rule)
    want = {e["_id"] for e in inside if m.match(e)}
    got = set(TARGET.execute(t, inside, profile=profile))
    assert got == want, f"{text}\n{t.output}\nKQL only: {sorted(got - want)}, matcher only: {sorted(want - got)}"
