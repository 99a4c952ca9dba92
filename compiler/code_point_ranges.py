"""Sets of code points as sorted, disjoint ``(lo, hi)`` ranges (both ends included).

Two regex readers build character classes from such sets: :mod:`eqlc.lucene_regex` (Lucene
regexes for the matcher, RE2 patterns and NFAs) and :mod:`eqlc.safe_regex` (Python ``re`` classes
spelled for RE2). Both merge and complement ranges the same way, so the two operations live here
once. No imports: both modules are loaded lazily to keep ``eqlc match``'s start-up small.
"""

from __future__ import annotations

MAX_CODE = 0x10FFFF  # the last Unicode code point


def normalise(ranges: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """``ranges`` sorted, with overlapping or adjacent ranges merged."""
    out: list[tuple[int, int]] = []
    for lo, hi in sorted(ranges):
        if out and lo <= out[-1][1] + 1:
            out[-1] = (out[-1][0], max(out[-1][1], hi))
        else:
            out.append((lo, hi))
    return out


def complement(ranges: list[tuple[int, int]], top: int = MAX_CODE) -> list[tuple[int, int]]:
    """The code points from 0 to ``top`` in none of ``ranges`` (which may overlap, in any order)."""
    out, prev = [], 0
    for lo, hi in sorted(ranges):
        if lo > prev:
            out.append((prev, lo - 1))
        prev = max(prev, hi + 1)
    if prev <= top:
        out.append((prev, top))
    return out
