"""EQL string functions index Java strings: UTF-16 code units, not code points (audit7).

Elasticsearch runs ``substring`` as ``StringUtils.substringSlice`` (x-pack/plugin/eql
``org.elasticsearch.xpack.eql.util.StringUtils``: ``string.length()`` then
``Strings.substring(string, start, end)``, i.e. ``String.substring``), ``indexOf`` as
``String.indexOf(substring, startIndex)`` (``IndexOfFunctionProcessor``) and ``between`` as
``indexOf``/``lastIndexOf`` then ``string.substring(start, idx)`` (``StringUtils.between``): every
position is a UTF-16 code unit, so a character above U+FFFF (U+1F600) is two positions, and a cut
between them leaves a lone surrogate (OpenJDK ``String.substring`` copies the code-unit range,
``StringUTF16.newString(value, beginIndex, subLen)``, without checking pairs; a Python string holds it
as a lone surrogate code point). ``startsWith`` /
``endsWith`` / ``stringContains`` compare UTF-16 units too, so a lone high surrogate is a prefix of
every character it starts. ``SubstringFunctionProcessor.doProcess`` returns the input unchanged when
the start is null. The matcher sliced Python code points (``length()`` already counted units, so
``substring(f, 0, length(f) - 1)`` was inconsistent with it on such text); these tests fail on that
code.
"""

from __future__ import annotations

import pytest

from eqlc.matcher import matcher
from eqlc.matcher.runtime import _from_units, _units

SMILE, GRIN = "\U0001F600", "\U0001F601"  # both start with the high surrogate U+D83D


def _ev(_id: str, **fields) -> dict:
    return {"_id": _id, "event": {"category": "process"}, **fields}


EVENTS = [
    _ev("smile-abc", f=SMILE + "abc", g=SMILE + "x"),
    _ev("grin", f=GRIN, g=SMILE + "x"),
    _ev("abc", f="abc", g="ab"),
    _ev("a-smile-A", f="a" + SMILE + "A", g="x"),
]


def ids(query: str) -> list:
    m = matcher(query)
    return [e["_id"] for e in EVENTS if m.match(e)]


@pytest.mark.parametrize("query,expected", [
    # the astral character is positions 0 and 1: "abc" starts at 2
    ('any where substring(f, 2) == "abc"', ["smile-abc"]),
    ('any where substring(f, 0, 2) == "\\u{1F600}"', ["smile-abc"]),
    ('any where substring(f, -3) == "abc"', ["smile-abc", "abc"]),
    ('any where substring(f, 1, 3) == "bc"', ["abc"]),
    # a cut inside the pair: one unit, a lone surrogate, that sorts as U+D83D (below U+E000, above "z")
    ('any where length(substring(f, 0, 1)) == 1 and substring(f, 0, 1) > "z" and substring(f, 0, 1) < "\\u{E000}"',
     ["smile-abc", "grin"]),
    ('any where length(substring(f, 1, 2)) == 1 and substring(f, 1, 2) > "z"', ["smile-abc", "grin", "a-smile-A"]),
    # the lone high surrogate of U+1F600 is a prefix of U+1F601 (same high surrogate) in UTF-16
    ('any where startsWith(f, substring(g, 0, 1))', ["smile-abc", "grin", "abc"]),
    ('any where startsWith(f, substring(g, 0, 2))', ["smile-abc", "abc"]),
    ('any where stringContains(f, substring(g, 0, 1)) and not stringContains(f, substring(g, 0, 2))',
     ["grin"]),
    ('any where endsWith(substring(f, 0, 1), substring(g, 0, 1))', ["smile-abc", "grin", "abc"]),
    # indexOf returns and takes UTF-16 positions
    ('any where indexOf(f, "a") == 2', ["smile-abc"]),
    ('any where indexOf(f, "b", 3) == 3', ["smile-abc"]),
    ('any where indexOf(f, "A") == 3', ["a-smile-A"]),
    ('any where indexOf~(f, "a", 1) == 3', ["a-smile-A"]),
    # between cuts the same positions it found
    ('any where between(f, "a", "A") == "\\u{1F600}"', ["a-smile-A"]),
    ('any where between~(f, "A", "a") == "\\u{1F600}"', ["a-smile-A"]),
    # length agrees with substring: the last unit dropped leaves the high surrogate
    ('any where length(substring(f, 0, length(f) - 1)) == 1 and substring(f, 0, length(f) - 1) > "z"', ["grin"]),
    # a null start returns the input unchanged (SubstringFunctionProcessor.doProcess)
    ('any where substring(f, length(missing), 1) == "abc"', ["abc"]),
])
def test_positions_are_utf16_units(query, expected):
    assert ids(query) == expected


def test_units_round_trip_keeps_lone_surrogates():
    """Splitting then joining is the identity on every string, lone surrogates included, and a pair
    cut apart then put back together is the character again (as two Java chars are)."""
    for s in ["", "abc", SMILE, "a" + SMILE + "b", "\ud83d", "x\ude00", GRIN + "\ud83d"]:
        assert _from_units(_units(s)) == s
    u = _units(SMILE)
    assert len(u) == 2 and _from_units(u[:1]) == "\ud83d" and _from_units(u[:1] + u[1:]) == SMILE


# ---- the runtime functions against a Java model built on UTF-16 bytes (independent of _units) ------
from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from eqlc.matcher.runtime import _fn_between, _fn_index_of, _fn_substring  # noqa: E402

TEXT = st.lists(st.sampled_from(["a", "b", "A", "\u00e9", SMILE, GRIN, "\ud83d", "\ude00", "\U00010400"]), max_size=6).map("".join)


def _java(s: str) -> bytes:
    return s.encode("utf-16-le", "surrogatepass")


def _str(b: bytes) -> str:
    return b.decode("utf-16-le", "surrogatepass")


def _java_substring_slice(s: str, start: int, end: int) -> str:
    """StringUtils.substringSlice over the string's UTF-16 code units (2 bytes each)."""
    b = _java(s)
    n = len(b) // 2
    if not s:
        return s
    if start < 0:
        start += n
    start = max(start, 0)
    if end < 0:
        end += n
    end = min(max(end, 0), n)
    return "" if start >= end else _str(b[2 * start:2 * end])


def _java_index_of(s: str, p: str, start: int) -> int:
    """String.indexOf(p, start): the first code-unit position >= start where p's units occur."""
    b, q = _java(s), _java(p)
    n = len(b) // 2
    for i in range(min(max(start, 0), n), n + 1):  # Java: a start past the end is the end
        if b[2 * i:2 * i + len(q)] == q:
            return i
    return -1


@settings(max_examples=300, deadline=None, derandomize=True)
@given(s=TEXT, p=TEXT, a=st.integers(-8, 8), b=st.integers(-8, 8))
def test_runtime_string_positions_are_javas(s, p, a, b):
    s = _from_units(_units(s))  # a pair written as two surrogates is one character, as in Java
    p = _from_units(_units(p))
    assert _fn_substring(s, a, b) == _java_substring_slice(s, a, b)
    assert _fn_substring(s, a) == _java_substring_slice(s, a, len(_java(s)) // 2)
    r = _java_index_of(s, p, a)
    assert _fn_index_of(s, p, a) == (None if r < 0 else r)
    if s and p:
        i = _java_index_of(s, p, 0)
        want = "" if i < 0 else (lambda st_: "" if (j := _java_index_of(s, p, st_)) < 0 else _str(_java(s)[2 * st_:2 * j]))(i + len(_java(p)) // 2)
        assert _fn_between(s, p, p) == want
