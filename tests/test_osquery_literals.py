"""Adversarial literals round-trip through the emitted SQL unchanged (property tests).

Values with quotes, backslashes, SQL wildcards (%, _), EQL wildcards (*, ?), GLOB brackets ([),
regex metacharacters, newlines and non-ASCII text go into ==, :, in~, like/like~ and regex
conditions (built as IR, so no EQL escaping is involved). The emitted SQL must be one statement
whose string literals carry the value exactly, and running it must select exactly the rows
Elasticsearch would: checked against a small independent statement of the documented
semantics (whole-value wildcard with * and ?, ASCII-only case folding, exact ==).
"""

from __future__ import annotations

import re

from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from eqlc import ir
from eqlc.result import Status
from eqlc.rule import Rule
from eqlc.targets.osquery import TARGET, engine, fields
from eqlc.targets.osquery.adapter import Loaded
from eqlc.targets.osquery.runner import Runner, pack_queries

SPECIAL = "'\"\\%_*?[]{}()^$.|+-/:;= \n\taAzZ09éÉİıſ\u212a€𝄞"
ALPHABET = SPECIAL + "bcxyz\x7f\u00a0\u0130\u200b\U0001f600"
text = st.text(alphabet=ALPHABET, min_size=1, max_size=16)
FILLERS = st.sampled_from(["", "a", "é", "X y", "%_", "*?", "'", "\\", "\n"])
SETTINGS = settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])

FIELD = ir.Field(("process", "command_line"))
MAPPING = fields.load(None)
TABLE = MAPPING.tables["process_events"]
RUNNER = Runner(MAPPING)


def compile_condition(cond: ir.Expr):
    r = Rule(query=ir.Query(ir.EventQuery("process", cond)), query_text="<ir>", name="literal test", tags=("OS: Linux",))
    t = TARGET.compile(r)
    assert t.status is not Status.REFUSED, t.notes
    (q,) = pack_queries(t, MAPPING)
    return t, q.sql


def sql_string_literals(sql: str) -> list[str]:
    """The string literals of an SQLite statement (a literal is '...' with '' for a quote)."""
    return [m.replace("''", "'") for m in re.findall(r"'((?:[^']|'')*)'", sql)]


def selects(sql: str, cmdline: str) -> bool:
    row = {c: None for c in MAPPING.schema["linux"]["process_events"]}
    row.update(pid=1, path="/bin/x", cmdline=cmdline, syscall="execve", parent=-1)
    main = RUNNER.load(Loaded("process_events", row), TABLE)
    return RUNNER.selects(sql, main)


def one_statement(sql: str) -> None:
    assert engine.prepare(RUNNER.conn, sql) is None  # sqlite3 refuses a second statement in one execute


def ascii_fold(s: str) -> str:
    return "".join(c.lower() if c.isascii() else c for c in s)


def es_wildcard(pattern: str, value: str, ci: bool) -> bool:
    """Elasticsearch: * any run, ? one code point, everything else literal, whole value."""
    rx = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    if ci:
        pattern, value = ascii_fold(pattern), ascii_fold(value)
        rx = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.fullmatch(rx, value, re.DOTALL) is not None


@SETTINGS
@given(value=text)
def test_equality_literal_round_trips(value):
    t, sql = compile_condition(ir.Compare(ir.CompareOp.EQ, FIELD, ir.String(value)))
    one_statement(sql)
    assert value in sql_string_literals(sql)
    assert selects(sql, value)
    assert not selects(sql, value + "x")
    assert selects(sql, ascii_fold(value)) == (ascii_fold(value) == value)


@SETTINGS
@given(value=text.filter(lambda s: "*" not in s and "?" not in s), other=text)
def test_case_insensitive_literal_round_trips(value, other):
    for cond in (ir.InSet(FIELD, (ir.String(value),), case_insensitive=True),
                 ir.WildcardMatch(FIELD, (ir.Pattern(value),), case_insensitive=True)):
        t, sql = compile_condition(cond)
        one_statement(sql)
        assert selects(sql, value.swapcase() if value.isascii() else value)
        assert selects(sql, other) == (ascii_fold(other) == ascii_fold(value))


@SETTINGS
@given(pattern=text, fill=st.lists(FILLERS, min_size=8, max_size=8), other=text, ci=st.booleans())
def test_wildcard_patterns_match_as_elasticsearch(pattern, fill, other, ci):
    assume(pattern.strip("*") != "")  # '*' alone also matches '', which osquery marks as "no value"
    t, sql = compile_condition(ir.WildcardMatch(FIELD, (ir.Pattern(pattern),), case_insensitive=ci))
    one_statement(sql)
    filled, k = [], 0
    for c in pattern:
        if c == "*":
            filled.append(fill[k % 8])
            k += 1
        elif c == "?":
            filled.append((fill[k % 8] or "é")[0])
            k += 1
        else:
            filled.append(c)
    value = "".join(filled)
    for v in (value, other, value + other):
        if v:
            assert selects(sql, v) == es_wildcard(pattern, v, ci), v


@SETTINGS
@given(value=st.text(alphabet=ALPHABET, min_size=1, max_size=12), other=text)
def test_regex_of_an_escaped_literal_matches_only_the_literal(value, other):
    lucene = "".join(c if c.isascii() and c.isalnum() else "\\" + c for c in value)
    t, sql = compile_condition(ir.RegexMatch(FIELD, (lucene,), case_insensitive=False))
    one_statement(sql)
    assert selects(sql, value)
    assert selects(sql, other) == (other == value)
    assert not selects(sql, value + "\n")


def test_nul_is_refused():
    r = Rule(query=ir.Query(ir.EventQuery("process", ir.Compare(ir.CompareOp.EQ, FIELD, ir.String("a\x00b")))),
             query_text="<ir>", name="nul")
    t = TARGET.compile(r)
    assert t.status is Status.REFUSED and "NUL" in t.notes[0]
