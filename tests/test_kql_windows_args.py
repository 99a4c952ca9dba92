"""process.args with spaces on Windows (targets/kql/argv.py, "Windows arguments").

A rule about Windows hosts that compares process.args with a value holding a space is read as
Windows splits the command line (Elastic Defend derives process.args with CommandLineToArgvW,
elastic/endpoint#83), under the stated plain form of command line on which every Windows splitter
agrees. Checked here:

* the form's split (``argv.win_split``) against mslex, an independent implementation of the
  CommandLineToArgvW / C runtime rules (``like_cmd=False``; ``ucrt=None`` raises where msvcrt and
  the UCRT disagree, so agreement also shows both C runtimes agree on the form);
* a differential run: random argument vectors with spaces, their command lines quoted as
  CreateProcess callers quote them (``subprocess.list2cmdline``), random EQL conditions with spaced
  values, run as KQL on duckdb-kql and in the Python matcher: equal on every event inside the
  stated assumption, and the adapter leaves out exactly the events outside it (process.args_count,
  counted the same way, in some of the conditions);
* what stays refused (a rule not about Windows hosts, a leaf whose every value has a double
  quote), and Microsoft's parser accepts every query.
"""

from __future__ import annotations

import random
import subprocess

import mslex
import pytest

from eqlc import parse_query
from eqlc.matcher import matcher
from eqlc.result import Status
from eqlc.rule import Rule
from eqlc.targets.kql import TARGET
from eqlc.targets.kql import argv
from eqlc.targets.kql.adapter import exclusions

ALPHABET = "abA -\\."


def rule_of(text: str) -> Rule:
    return Rule(query=parse_query(text), query_text=text, name="kql windows args")


def random_arg(rng: random.Random, extra: str = "") -> str:
    return "".join(rng.choice(ALPHABET + extra) for _ in range(rng.randint(1, 5)))


def random_line(rng: random.Random) -> str:
    """A command line: usually the quoting of an argument vector, sometimes with an argument quoted
    that needs none, runs of spaces or tabs, a stray quote or a leading space (outside the form)."""
    args = [random_arg(rng, '"' if rng.random() < 0.1 else "") for _ in range(rng.randint(1, 4))]
    pieces = []
    for a in args:
        q = subprocess.list2cmdline([a])
        if q == a and rng.random() < 0.2 and a and not a.endswith("\\"):
            q = f'"{a}"'
        pieces.append(q)
    seps = [rng.choice([" ", " ", " ", "  ", "\t"]) for _ in pieces[1:]]
    line = pieces[0] + "".join(s + p for s, p in zip(seps, pieces[1:]))
    if rng.random() < 0.05:
        line = " " + line
    if rng.random() < 0.05:
        line += " "
    return line


def test_plain_form_split_agrees_with_mslex():
    rng = random.Random(7)
    inside = 0
    for _ in range(3000):
        line = random_line(rng)
        split = argv.win_split(line)
        if split is None:
            continue
        inside += 1
        assert split == mslex.split(line, like_cmd=False, check=False, ucrt=None), line
    assert inside > 1500  # the form holds for most quoted vectors


def test_quoted_vectors_round_trip():
    """A vector quoted as CreateProcess callers do splits back to itself when it is in the form."""
    rng = random.Random(8)
    n = 0
    for _ in range(2000):
        args = [random_arg(rng) for _ in range(rng.randint(1, 4))]
        line = subprocess.list2cmdline(args)
        split = argv.win_split(line)
        if split is not None:
            n += 1
            assert split == args, line
        else:  # only a quoted argument ending with a backslash leaves the form
            assert any((" " in a or "\t" in a) and a.endswith("\\") for a in args), line
    assert n > 1500


def events(rng: random.Random, n: int = 60) -> list[dict]:
    out = []
    for i in range(n):
        proc: dict = {"name": "p.exe"}
        shape = rng.random()
        if shape < 0.08:
            pass  # no args, no command line
        else:
            args = [random_arg(rng) for _ in range(rng.randint(1, 4))]
            line = subprocess.list2cmdline(args)
            if shape > 0.9:
                line = line.replace(" ", "  ", 1)  # still the same split
            proc.update({"args": args, "command_line": line, "args_count": len(args)})
        out.append({"_id": f"w{i:02d}", "@timestamp": f"2026-11-04T10:00:{i:02d}.000Z",
                    "event": {"category": ["process"], "type": ["start"], "action": "start"},
                    "host": {"id": "h1", "os": {"type": "windows"}}, "process": proc})
    return out


def eql_string(s: str) -> str:
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


def random_query(rng: random.Random) -> str:
    kind = rng.choice(["==", "in", "in~", ":", "like", "like~", "startsWith", "endsWith", "!="])
    extra = "*?" if kind in (":", "like", "like~") else ""
    if kind in ("startsWith", "endsWith"):
        lit = random_arg(rng).replace("\\", "") or "a"  # a backslash there is refused (no settled meaning)
        cond = f"{kind}{rng.choice(['', '~'])}(process.args, {eql_string(lit)})"
        cond += f" or process.args : {eql_string('a ' + random_arg(rng))}"
    elif kind in ("==", "!="):
        cond = f"process.args {kind} {eql_string(random_arg(rng) + ' ' + random_arg(rng))}"
    else:
        values = [random_arg(rng, extra) for _ in range(rng.randint(1, 4))]
        if not any(" " in v for v in values):
            values.append("a " + random_arg(rng, extra))
        cond = f"process.args {kind} ({', '.join(eql_string(v) for v in values)})"
    if rng.random() < 0.3:
        cond = f"not ({cond})"
    if rng.random() < 0.3:
        cond = f"({cond}) and process.args_count {rng.choice(['==', '>=', '<', '!='])} {rng.randint(1, 4)}"
    return f'process where host.os.type == "windows" and ({cond})'


@pytest.mark.parametrize("profile,seed", [("defender", 1), ("sentinel-asim", 2)])
def test_windows_args_translation_agrees_with_the_matcher(profile, seed):
    from tests.node.kusto import analyse, declared_tables

    rng = random.Random(seed)
    evs = events(rng)
    queries = []
    selected = 0
    for _ in range(25):
        text = random_query(rng)
        rule = rule_of(text)
        t = TARGET.compile(rule, profile=profile)
        assert t.status is Status.ASSUMPTIONS, (text, t.notes)
        assert any(d.windows and d.field == "process.args" for d in t.derived), text
        assert any("as Windows splits a command line" in n for n in t.notes), t.notes
        out = exclusions(t, evs)
        bad = {e["_id"] for d in t.derived for e in evs if d.violation(e)}
        assert set(out) == bad and len(bad) < len(evs) // 5, (text, out)
        m = matcher(rule)
        inside = [e for e in evs if e["_id"] not in bad]
        want = {e["_id"] for e in inside if m.match(e)}
        got = set(TARGET.execute(t, inside))
        assert got == want, f"{text}\n{t.output}\nKQL only: {sorted(got - want)}, matcher only: {sorted(want - got)}"
        selected += len(want)
        queries.append(t.output)
    assert selected > 50  # the conditions select events, spaced arguments among them
    assert analyse(queries, declared_tables(profile)) == [[] for _ in queries]


def _compile(text: str, profile: str = "defender"):
    return TARGET.compile(rule_of(text), profile=profile)


def test_spaced_argument_is_selected_only_as_one_argument():
    t = _compile('process where host.os.type == "windows" and process.args : "Domain Admins"')
    assert t.status is Status.ASSUMPTIONS
    evs = [
        {"_id": "quoted", "event": {"category": ["process"], "type": ["start"]}, "host": {"os": {"type": "windows"}},
         "process": {"args": ["net", "group", "Domain Admins"], "command_line": 'net group "Domain Admins"'}},
        {"_id": "two-words", "event": {"category": ["process"], "type": ["start"]}, "host": {"os": {"type": "windows"}},
         "process": {"args": ["net", "group", "Domain", "Admins"], "command_line": "net group Domain Admins"}},
    ]
    assert exclusions(t, evs) == {}
    assert set(TARGET.execute(t, evs)) == {"quoted"}


def test_not_about_windows_hosts_stays_refused():
    t = _compile('process where process.args : "Domain Admins"')
    assert t.status is Status.REFUSED
    assert "contains a space" in t.notes[0]


def test_double_quote_values():
    only = _compile('process where host.os.type == "windows" and process.args : "group=\\"remote desktop\\""')
    assert only.status is Status.REFUSED and "double quote" in only.notes[0]
    some = _compile('process where host.os.type == "windows" and '
                    'process.args : ("group=\\"remote desktop\\"", "remote desktop")')
    assert some.status is Status.ASSUMPTIONS
    assert any("those alternatives are false" in n for n in some.notes)


def test_count_of_windows_split_arguments():
    """args_count in a rule whose args are read as Windows splits the command line counts those
    arguments (a quoted argument with spaces is one)."""
    t = _compile('process where host.os.type == "windows" and process.args : "a b" and process.args_count == 3')
    assert t.status is Status.ASSUMPTIONS
    assert any(d.windows and d.count for d in t.derived)
    ev = {"_id": "x", "event": {"category": ["process"], "type": ["start"]}, "host": {"os": {"type": "windows"}},
          "process": {"args": ["p.exe", "a b", "c"], "args_count": 3, "command_line": 'p.exe "a b" c'}}
    assert exclusions(t, [ev]) == {}
    assert TARGET.execute(t, [ev]) == ["x"]


def test_other_rules_keep_the_single_space_reading():
    t = _compile('process where host.os.type == "windows" and process.args : "-enc"')
    assert t.status is Status.ASSUMPTIONS
    assert not any(d.windows for d in t.derived)
    assert any("split on single spaces" in n for n in t.notes)
