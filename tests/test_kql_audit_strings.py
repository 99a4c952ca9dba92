"""Adversarial checks of length() and substring() in KQL (emit.py ``function``, ``substring_to``):
names mixing ASCII, accented and CJK letters and characters above U+FFFF (which Java, and so
Elasticsearch, counts as two UTF-16 units and Kusto's strlen as one code point), empty names,
offsets past either end, negative and computed ends. The emitted query runs on duckdb-kql and must
select what the reference matcher selects on every event the translation's checks keep (audit6).
"""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from eqlc.result import Status
from tests.test_kql_sentinel import _rule, _run
from tests.test_kql_substring_offsets import _ev

CHARS = ["a", "b", "\u00e9", "\u65e5", "\U0001f600", " "]
NAME = st.lists(st.sampled_from(CHARS), max_size=4).map("".join)
ENDS = ["-1", "-2", "3", "length(process.name) - 1", "length(process.name) + 1", "length(process.parent.name)",
        "length(process.name) - length(process.parent.name)", "-length(process.parent.name)"]


def _check(query: str, events: list[dict]) -> tuple[list, dict]:
    tr, got, want, out = _run(_rule(query), events, profile="defender")
    assert tr.status is Status.ASSUMPTIONS, tr.notes
    assert got == want, f"{query}\n{tr.output}\nKQL only: {sorted(set(got) - set(want))}, matcher only: {sorted(set(want) - set(got))}"
    return got, out


def test_characters_above_the_bmp_are_set_apart():
    """length("\U0001f600") is 2 in Elasticsearch (Java) and strlen gives 1: the first translations
    disagreed with the matcher on such names without stating anything."""
    events = [_ev("emoji", "ab", "\U0001f600"), _ev("bmp", "ab", "\u65e5\u672c"), _ev("emoji-name", "\U0001f600a", "cm")]
    got, out = _check('process where substring(process.name, 0, length(process.parent.name)) == "ab"', events)
    assert got == ["bmp"] and set(out) == {"emoji", "emoji-name"}, (got, out)
    got, out = _check('process where length(process.name) == 3', events)
    assert "emoji-name" in out and "above U+FFFF" in out["emoji-name"]
    from eqlc.targets.kql import TARGET

    t = TARGET.compile(_rule('process where length(process.name) == 3'), profile="defender")
    assert any("Basic Multilingual Plane" in n for n in t.notes), t.notes


@settings(max_examples=10, deadline=None, derandomize=True)
@given(names=st.lists(st.tuples(NAME, NAME), min_size=2, max_size=8), start=st.integers(0, 2),
       end=st.sampled_from(ENDS), lit=NAME, negate=st.booleans())
def test_substring_and_length_agree_with_the_matcher(names, start, end, lit, negate):
    events = [_ev(f"e{i}", n, p) for i, (n, p) in enumerate(names)]
    cond = f'substring(process.name, {start}, {end}) == "{lit}"'
    if negate:
        cond = f"not {cond} and length(process.parent.name) >= 1"
    _check(f"process where {cond}", events)
