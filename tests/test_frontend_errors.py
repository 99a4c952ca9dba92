"""Malformed inputs: each gives an EqlError with a clear message at the right line and column."""

from __future__ import annotations

import pytest

from eqlc import EqlError, parse_query

# (query, line, column, text the message must contain)
CASES = [
    ("process where", 1, 14, "unexpected end of query"),
    ("process where a ==", 1, 19, "unexpected end of query"),
    ('process where a == "x', 1, 20, "unterminated string"),
    ("process where a == 'x'", 1, 20, "not single quotes"),
    ('process where a = "x"', 1, 17, "Use == instead of ="),
    ('process where a == "C:\\Windows"', 1, 23, "invalid escape sequence '\\W'"),
    ('process where a == "\\u{1}"', 1, 21, "[2-8] hex digits"),
    ('process where a == "\\u{D800}"', 1, 21, "Invalid unicode character code [D800]"),
    ("process where foo(a)", 1, 15, "Unknown function [foo]"),
    ("process where startsWith(a)", 1, 15, "takes 2 argument(s), found 1"),
    ("process where length~(a) > 1", 1, 15, "has no case-insensitive form"),
    # an invalid regex is shown at the offending character of the pattern, through escapes and raw strings
    ('process where a regex "[a-"', 1, 24, "unterminated character class"),
    ('process where a regex "(ab"', 1, 27, "expected ')'"),
    ('process where a regex "a{3,1}"', 1, 25, "upper bound is below lower bound"),
    ('process where\n  a regex~ ("ok", """x\\d[""")', 2, 25, "unterminated character class"),
    ('process where a regex ("ok", "\\\\d\\u{e9}(x")', 1, 42, "expected ')'"),
    ("sequence with maxspan=5 [process where true] [file where true]", 1, 23, "No time unit specified"),
    ("sequence with maxspan=5y [process where true] [file where true]", 1, 24, "Unrecognized time unit [y]"),
    ("sequence with maxspan=1.5s [process where true] [file where true]", 1, 24, "Decimal time interval [1.5] not supported"),
    ("sequence with maxspan=0s [process where true] [file where true]", 1, 23, "A positive maxspan value is required"),
    ("sequence [process where true]", 1, 1, "minimum of 2 queries"),
    ("sequence with maxspan=1m by a [process where true] [file where true]", 1, 10, "[by] before [with]"),
    ("sequence by a [process where true] by b [file where true]", 1, 41, "Inconsistent number of join keys"),
    ("sequence [process where true] ![file where true]", 1, 1, "requires a maxspan"),
    ("sequence [process where true] with runs=0 [file where true]", 1, 31, "runs must be between 1 and 100"),
    ("sample by a [process where true]", 1, 1, "A sample requires a minimum of 2 queries"),
    ("process where a == b", 1, 15, "Comparisons against fields are not (currently) supported"),
    ('process where a < "x" + 1', 1, 19, "arithmetic [+] needs numbers"),
    ('process where "x"', 1, 15, "Condition expression needs to be boolean"),
    ('process where a in ("x", 1)', 1, 15, "in-list mixes types"),
    ("process where a like 5", 1, 22, "right side of 'like' must be a string"),
    ('process where a : ("x", 1)', 1, 25, "right side of ':' must be a string"),
    ('process where cidrMatch(a, "10.0.0.0/33")', 1, 28, "not a valid CIDR block"),
    ("process where a == 1 | unique a", 1, 22, "Pipe [unique] is not supported by Elasticsearch"),
    ("process where a == 1 | head -1", 1, 22, "takes one non-negative integer"),
    ('process where a == 1 | head "x"', 1, 22, "takes one non-negative integer"),
    ("process where a == 1 and", 1, 25, "unexpected end of query"),
    ("process where (a == 1", 1, 22, "expected ')'"),
    ("process where a == 1)", 1, 21, "unexpected ')'"),
    ("process where a == 1 == 2", 1, 22, "comparisons cannot be chained"),
    ("process where a in ()", 1, 21, "unexpected ')'"),
    ("process where a in~ (1, 2)", 1, 15, "every value must be a string"),
    ("process where not", 1, 18, "unexpected end of query"),
    ("process where a == 1 & b == 2", 1, 22, "unexpected character '&'"),
    ("process where a == 1\n  and b ==\n", 2, 11, "unexpected end of query"),
    ("process where a == 1 | tail 2 | filter b", 1, 31, "Pipe [filter] is not supported"),
    ('process where substring(a, "x")', 1, 28, "argument 2 of [substring] must be [number]"),
    ("process where a / 0 > 1", 1, 19, "division by zero"),
    ("", 1, 1, "unexpected end of query"),
    ("process where a[", 1, 16, "unexpected '['"),
    ("process where `a` == 1 and `b == 2", 1, 28, "unexpected character '`'"),
    ("join by a [process where true] [file where true]", 1, 6, "'join' queries are not supported"),
    ("process where a and descendant of [file where true]", 1, 32, "process relationships"),
]


@pytest.mark.parametrize("query,line,column,message", CASES, ids=[c[0][:50] for c in CASES])
def test_malformed_query_reports_position_and_reason(query: str, line: int, column: int, message: str) -> None:
    with pytest.raises(EqlError) as info:
        parse_query(query)
    err = info.value
    assert message in err.message
    assert (err.line, err.column) == (line, column)
    # the rendering shows the offending line with a caret under the column
    rendered = err.render().splitlines()
    assert rendered[0].startswith(f"<query>:{line}:{column}: error: ")
    if query.strip():
        assert rendered[2].index("^") - 2 == column - 1


def test_at_least_thirty_cases() -> None:
    assert len(CASES) >= 30


# Forms Elasticsearch accepts that the front end once rejected (found by Elasticsearch's QA suite).
ACCEPTED = [
    "sample [process where true] by a [file where true] by b",
    "sequence with maxspan=1m [a where true] by k ![b where true] by k with runs=2 [c where true] by k",
    "sequence [a where ?x == ?y] [b where true]",
]


@pytest.mark.parametrize("query", ACCEPTED)
def test_elasticsearch_forms_are_accepted(query: str) -> None:
    parse_query(query)

