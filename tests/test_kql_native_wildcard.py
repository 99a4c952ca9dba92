"""KQL: endsWith/stringContains(field, "literal") as Elasticsearch runs them, the wildcard query
"*literal" / "*literal*" with the literal unescaped (eqlc.native_wildcard): ``*``/``?`` are wildcards
and ``\\`` escapes. duckdb-kql runs each query; the matcher (Elasticsearch semantics) is the judge;
Microsoft's Kusto parser accepts the queries."""

from __future__ import annotations

import pytest

from tests.node.kusto import analyse, declared_tables
from tests.test_kql_mapping_gaps import TARGET, _ev, _rule, _run

WIN = 'process where host.os.type == "windows" and event.type == "start" and '


def _p(_id: str, cmd: str, exe: str = "C:\\x\\a.exe", args=None) -> dict:
    return _ev(_id, "process", event__type=["start"], event__action="start", process__command_line=cmd,
               process__executable=exe, process__name=exe.rsplit("\\", 1)[-1], process__pid=7,
               process__args=args if args is not None else cmd.split(" "))


EVENTS = [_p("dash", "a-x-b"), _p("star", "a*b"), _p("ab", "ab"), _p("bs", "a\\*b"), _p("q", "aQb"),
          _p("none", "zzz", exe="C:\\y\\cmd.exe"), _p("cased", "A*B", exe="C:\\y\\CMD.EXE")]

CASES = [
    ('stringContains(process.command_line, "a*b")', {"dash", "star", "ab", "bs", "q"}),
    ('stringContains(process.command_line, "a\\\\*b")', {"star"}),        # the string a\*b: a literal a*b
    ('stringContains(process.command_line, "a?b")', {"star", "q"}),
    ('stringContains~(process.command_line, "a\\\\*B")', {"star", "cased"}),
    ('endsWith(process.command_line, "\\\\*b")', {"star", "bs"}),          # ends with *b
    ('endsWith(process.executable, "\\\\cmd.exe")', {"none"}),             # \c is c: ends with cmd.exe
    ('endsWith~(process.executable, "\\\\cmd.exe")', {"none", "cased"}),
    ('stringContains(process.command_line, "")', {e["_id"] for e in EVENTS}),  # "**": every value
    ('stringContains(process.args, "a*b")', {"dash", "star", "ab", "bs", "q"}),
]


@pytest.mark.parametrize("cond,selected", CASES, ids=[c[0] for c in CASES])
def test_defender_selects_what_elasticsearch_selects(cond, selected):
    tr, got, want, out = _run("defender", WIN + cond, EVENTS)
    assert not out, out
    assert got == want == selected, tr.output


def test_microsoft_parser_accepts_every_case():
    queries = [TARGET.compile(_rule(WIN + c), profile="defender").output for c, _ in CASES]
    assert analyse(queries, declared_tables("defender")) == [[] for _ in queries]
