"""A sequence joined on process.args read from a command line (linux/execution_network_event_post_
compilation: the compiler's arguments joined with the linker's output file name). Elasticsearch
joins a multi-valued key on each of its distinct values (the reference matcher's key_function); the
KQL leg repeats its row once per distinct argument split from the command line (targets/kql/
query.py argv_key), under the profiles' stated reading of process.args. Executed on duckdb-kql
against the matcher on both endpoint profiles, with a repeated argument (which must not fill two
runs of one step) and events outside the stated split; Microsoft's parser reports nothing."""

from __future__ import annotations

import pytest

from eqlc import parse_query
from eqlc.matcher import matcher
from eqlc.result import Status
from eqlc.rule import Rule
from eqlc.targets.kql import TARGET
from tests.node.kusto import analyse, declared_tables


def _rule(text: str) -> Rule:
    return Rule(query=parse_query(text), query_text=text, name="kql args join key")


def _proc(_id: str, t: int, args: list[str], host: str = "h1", name: str = "gcc", line: str | None = None) -> dict:
    return {"_id": _id, "@timestamp": f"2026-01-01T00:00:{t:02d}Z", "host": {"id": host, "os": {"type": "linux"}},
            "event": {"category": ["process"], "type": ["start"], "action": "exec"},
            "process": {"name": name, "executable": f"/usr/bin/{name}", "pid": 10 + t, "args": args, "command_line": " ".join(args) if line is None else line}}


def _file(_id: str, t: int, name: str, host: str = "h1") -> dict:
    return {"_id": _id, "@timestamp": f"2026-01-01T00:00:{t:02d}Z", "host": {"id": host, "os": {"type": "linux"}},
            "event": {"category": ["file"], "type": ["creation"], "action": "creation"},
            "file": {"name": name, "path": f"/tmp/{name}"}, "process": {"name": "ld", "executable": "/usr/bin/ld", "pid": 99}}


COMPILE_THEN_LINK = ('sequence by host.id with maxspan=1m [process where host.os.type == "linux" and process.name == "gcc"] '
                     'by process.args [file where host.os.type == "linux" and event.action == "creation"] by file.name')
EVENTS = [
    _proc("c1", 1, ["gcc", "-o", "prog", "prog.c"]), _file("f1", 2, "prog"),          # joins on the 3rd argument
    _proc("c2", 3, ["gcc", "-o", "x", "-o", "y"]), _file("f2", 4, "-o"),             # a repeated argument joins once
    _proc("c3", 5, ["gcc", "a.c"], host="h2"), _file("f3", 6, "b.c", host="h2"),     # no argument equals the name
    _file("f4", 7, "gcc", host="h3"), _proc("c4", 8, ["gcc", "z"], host="h3"),       # wrong order
    # a quoted argument with a space: outside the stated split (the adapter leaves it out)
    _proc("c5", 9, ["gcc", "my prog"], host="h4", line='gcc "my prog"'), _file("f5", 10, "my prog", host="h4"),
]
REPEATED_RUNS = ('sequence by host.id with maxspan=1m [process where host.os.type == "linux" and process.name == "gcc"] '
                 'by process.args with runs=2')
RUNS_EVENTS = [_proc("r1", 1, ["gcc", "-o", "-o"]), _proc("r2", 2, ["gcc", "q"], host="h2"), _proc("r3", 3, ["gcc", "w"], host="h2")]

CASES = [(p, q, ev, want) for p in ("defender", "sentinel-asim") for q, ev, want in (
    (COMPILE_THEN_LINK, EVENTS, {"c1", "f1", "c2", "f2"}),
    # r1's "-o" twice is one key value: one event cannot fill both runs; r2, r3 share "gcc"
    (REPEATED_RUNS, RUNS_EVENTS, {"r2", "r3"}),
)]


@pytest.mark.parametrize("profile,text,events,want", CASES, ids=[f"{c[0]}:{i % 2}" for i, c in enumerate(CASES)])
def test_sequence_selects_what_the_matcher_selects(profile: str, text: str, events: list, want: set) -> None:
    rule = _rule(text)
    tr = TARGET.compile(rule, profile=profile)
    assert tr.status is Status.ASSUMPTIONS and tr.output, tr.notes
    assert "mv-expand with_itemindex=" in tr.output
    out = TARGET.outside_assumptions(rule, tr, events, profile=profile)
    got = set(TARGET.execute(tr, events, profile=profile))
    m = matcher(rule)
    inside = [e for e in events if e["_id"] not in out]
    expect = {e["_id"] for x in m.run(inside, sort=True) for e in x.events}
    assert got - set(out) == expect, tr.output
    assert expect == want, (expect, out)


def test_microsoft_parser_accepts_the_queries() -> None:
    tables: dict = {}
    for p in ("defender", "sentinel-asim"):
        tables.update(declared_tables(p))
    queries = [TARGET.compile(_rule(q), profile=p).output for p, q, _, _ in CASES]
    assert analyse(queries, tables) == [[] for _ in queries]


def test_witnesses_of_an_args_join_key_keep_the_command_line_in_step() -> None:
    """The witness generator completes process.command_line from the pinned process.args key;
    each scenario's key must carry the command line along (compiler/fixtures/sequences.py
    _with_keys), else every selected witness is outside the stated reading of the arguments."""
    from eqlc.fixtures.oracle import Oracle
    from eqlc.fixtures.witness import generate

    ws = generate(_rule(COMPILE_THEN_LINK), Oracle())
    with_args = [e for e in ws.events if "args" in e.get("process", {})]
    assert with_args and set(ws.expected)
    for e in with_args:
        args = e["process"]["args"]
        assert e["process"].get("command_line") == " ".join(args if isinstance(args, list) else [args]), e
