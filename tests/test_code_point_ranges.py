"""eqlc.code_point_ranges (shared by lucene_regex and safe_regex) against plain sets of code points."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from eqlc.code_point_ranges import complement, normalise

TOP = 40
RANGES = st.lists(st.tuples(st.integers(0, TOP), st.integers(0, 6)).map(lambda t: (t[0], min(TOP, t[0] + t[1]))),
                  max_size=6)


def points(ranges: list) -> set:
    return {c for lo, hi in ranges for c in range(lo, hi + 1)}


def _disjoint_sorted_unadjacent(ranges: list) -> bool:
    return all(a[1] + 1 < b[0] for a, b in zip(ranges, ranges[1:])) and all(lo <= hi for lo, hi in ranges)


@given(RANGES)
def test_normalise_keeps_the_points_in_canonical_form(ranges: list) -> None:
    out = normalise(ranges)
    assert points(out) == points(ranges)
    assert _disjoint_sorted_unadjacent(out)


@given(RANGES)
def test_complement_is_every_other_point_up_to_top(ranges: list) -> None:
    out = complement(ranges, TOP)
    assert points(out) == set(range(TOP + 1)) - points(ranges)
    assert _disjoint_sorted_unadjacent(out)
    assert complement(out, TOP) == normalise(ranges)
