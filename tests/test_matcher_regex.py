"""The matcher's string-matching engines agree with each other and with a reference:

* Lucene regexes: RE2 (in-process, ``to_pattern``) and the standard-library lazy DFA (standalone
  modules without re2, ``to_nfa``) on random patterns and values, case-sensitive and not;
* EQL wildcards: the backtracking-free segment matcher (``_Wild``) and the DFA (``wildcard_nfa``)
  against Python's ``re`` on small inputs (where backtracking is harmless);
* the Lucene-specific constructs (numeric intervals, nested quantifiers, ``@``/``#``).
"""

from __future__ import annotations

import re

import re2
from hypothesis import given, settings
from hypothesis import strategies as st

from eqlc import ir
from eqlc.lucene_regex import has_nested_quantifier, parse_regex, to_nfa, to_pattern, wildcard_nfa
from eqlc.matcher.codegen import parts_segments
from eqlc.matcher.runtime import _DFA, _Wild, _java_double

ALPHABET = "abAB.-\n é"

atoms = st.sampled_from(["a", "b", "A", ".", "[ab]", "[^a]", "[a-b]", "\\.", "\\d", "\\w", "é", "\"ab\"", "(a|b)", "@", "<1-12>"])


@st.composite
def lucene_regex(draw, depth=2):
    parts = []
    for _ in range(draw(st.integers(1, 4))):
        if depth > 0 and draw(st.booleans()):
            inner = draw(lucene_regex(depth=depth - 1))
            atom = f"({inner})"
        else:
            atom = draw(atoms)
        atom += draw(st.sampled_from(["", "", "*", "+", "?", "{1,2}", "*?"]))
        parts.append(atom)
    if draw(st.booleans()):
        return "".join(parts) + "|" + draw(atoms)
    return "".join(parts)


values = st.text(alphabet=ALPHABET + "0123456789", max_size=10)


@settings(max_examples=150, deadline=None)
@given(lucene_regex(), st.lists(values, min_size=1, max_size=6), st.booleans())
def test_dfa_fallback_equals_re2(pattern: str, samples: list, ci: bool) -> None:
    rx = re2.compile(to_pattern([pattern], ci, "re2"))
    dfa = _DFA(to_nfa([pattern], ci))
    for s in samples:
        assert dfa.fullmatch(s) == (rx.fullmatch(s) is not None), (pattern, s, ci)


wild_patterns = st.text(alphabet="ab*?\\.", min_size=0, max_size=8)
wild_values = st.text(alphabet="ab\\.\n*?", max_size=10)


@settings(max_examples=200, deadline=None)
@given(wild_patterns, st.lists(wild_values, min_size=1, max_size=6))
def test_wildcard_engines_agree(pattern: str, samples: list) -> None:
    ref = re.compile("".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern), re.DOTALL)
    segs = parts_segments(ir.Pattern(pattern).parts)
    wild = _Wild([s if isinstance(s, str) else tuple(s) for s in segs])
    dfa = _DFA(wildcard_nfa(pattern, dotall=True))
    no_nl = _DFA(wildcard_nfa(pattern, dotall=False))
    ref_no_nl = re.compile("".join("[^\n\r\x85\u2028\u2029]*" if c == "*" else "[^\n\r\x85\u2028\u2029]" if c == "?" else re.escape(c)
                                   for c in pattern))
    for s in samples:
        expected = ref.fullmatch(s) is not None
        assert wild.match(s) == expected, (pattern, s)
        assert dfa.fullmatch(s) == expected, (pattern, s)
        assert no_nl.fullmatch(s) == (ref_no_nl.fullmatch(s) is not None), (pattern, s)


def test_lucene_specifics() -> None:
    def m(p, s, ci=False):
        a = re2.compile(to_pattern([p], ci)).fullmatch(s) is not None
        b = _DFA(to_nfa([p], ci)).fullmatch(s)
        assert a == b
        return a

    assert m("<1-12>", "7") and m("<1-12>", "007") and not m("<1-12>", "13")
    assert m("<01-12>", "07") and not m("<01-12>", "7")   # same width: fixed, zero-padded
    assert m("a@", "a anything\n") and not m("#", "") and not m("a#", "a")
    assert m("^a$", "^a$") and not m("^a$", "a")           # anchors are characters
    assert m("[a-c]", "b") and not m("[a-c]", "B", ci=True) and m("b", "B", ci=True)
    assert m("[\\D]x", "ax") and not m("[\\D]x", "1x")


def test_nested_quantifiers_simplified() -> None:
    """Lucene has no lazy quantifiers: `.*?` is `(.*)?`, i.e. `.*` - simplified, so targets that
    refuse nested quantifiers for backtracking engines need not refuse it."""
    assert not has_nested_quantifier(parse_regex(".*?net1.*?"))
    assert not has_nested_quantifier(parse_regex("(a+)+b"))  # same language as a+b
    assert has_nested_quantifier(parse_regex("(a+b)+c"))


def test_java_double_text() -> None:
    assert [_java_double(x) for x in (5.0, 0.5, 1e7, 1.5e-5, -2.0)] == ["5.0", "0.5", "1.0E7", "1.5E-5", "-2.0"]


@given(st.text(alphabet="ab*?\\é", max_size=10))
def test_pattern_segments_are_the_text_split_at_stars(text: str) -> None:
    """The matcher's segments of an EQL pattern come from ``ir.Pattern.parts`` (every ``*``/``?`` a
    wildcard, no escape): the text split at ``*`` with ``None`` for ``?``, a run of stars read as one."""
    merged = text
    while "**" in merged:
        merged = merged.replace("**", "*")
    split = [[None if c == "?" else c for c in seg] for seg in merged.split("*")]
    assert parts_segments(ir.Pattern(text).parts) == [s if None in s else "".join(s) for s in split]
