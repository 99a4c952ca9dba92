"""Sigma value escaping and the Lucene -> Sigma regex renderer, checked against pySigma and re.

* Escaping: whatever literal/wildcard sequence eqlc writes, pySigma's own ``SigmaString`` parser
  must read back exactly those literals and wildcards (Sigma's backslash rules are subtle: a
  backslash escapes only ``*``, ``?`` and a backslash).
* Regexes: the rendered pattern, searched as the sqlite REGEXP function searches it, must accept
  exactly the strings the reference Lucene rendering (``eqlc.lucene_regex``, full match,
  ``.`` matching newlines) accepts, and must stay inside Sigma's regex subset.
"""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sigma.types import SigmaRegularExpression, SigmaString, SpecialChars

from eqlc import ir
from eqlc.lucene_regex import to_pattern
from eqlc.targets.sigma import regex as sigma_regex
from eqlc.targets.sigma.values import SigmaText, as_modifier_value, compose, literal

ALPHABET = "ab\\*?'\" %_[]xA\u00e9\n"


def _parsed(text: str) -> list:
    """pySigma's reading of a Sigma string: literals merged, wildcards as markers."""
    out: list = []
    for p in SigmaString(text).s:
        if isinstance(p, str):
            if out and isinstance(out[-1], str):
                out[-1] += p
            else:
                out.append(p)
        else:
            out.append(("wildcard", {SpecialChars.WILDCARD_MULTI: "*", SpecialChars.WILDCARD_SINGLE: "?"}[p]))
    return out


def _expected(parts: list) -> list:
    out: list = []
    for p in parts:
        if isinstance(p, ir.Wildcard):
            out.append(("wildcard", p.value))
        elif p:
            if out and isinstance(out[-1], str):
                out[-1] += p
            else:
                out.append(p)
    return out


part = st.one_of(st.text(alphabet=ALPHABET, min_size=1, max_size=6), st.sampled_from([ir.Wildcard.STAR, ir.Wildcard.QUESTION]))


@settings(max_examples=200, deadline=None)
@given(st.lists(part, max_size=6))
def test_compose_round_trips_through_pysigma(parts):
    # adjacent wildcards of the same kind are what they are; only literals need escaping
    assert _parsed(compose(parts)) == _expected(parts)


@settings(max_examples=150, deadline=None)
@given(st.text(alphabet=ALPHABET, max_size=12))
def test_literal_has_no_wildcards_for_pysigma(text):
    s = SigmaString(literal(text))
    assert not s.contains_special()
    assert "".join(p for p in s.s if isinstance(p, str)) == text


@pytest.mark.parametrize(
    "pattern, expected",
    [
        ("C:\\Windows\\*", ("startswith", "C:\\Windows\\\\")),  # a backslash before a wildcard
        ("*\\cmd.exe", ("endswith", "\\cmd.exe")),
        ("*a\\*", ("contains", "a\\\\")),  # a final backslash is doubled: contains appends a wildcard
        ("a\\*b", (None, "a\\\\*b")),  # a literal backslash before a wildcard is doubled
        ("*50_dracut*", ("contains", "50_dracut")),
        ("a?c", (None, "a?c")),
    ],
)
def test_patterns_use_modifiers_and_keep_backslashes(pattern, expected):
    mod, value = as_modifier_value(ir.Pattern(pattern).parts)
    assert (mod, str(value)) == expected
    assert isinstance(value, SigmaText)


def test_literal_star_and_question_are_escaped():
    assert literal("a*b?c") == "a\\*b\\?c"
    assert literal("x\\*") == "x\\\\\\*"  # backslash, then a literal star: three backslashes
    assert _parsed(literal("x\\*")) == ["x\\*"]


# ---- regexes --------------------------------------------------------------------------------

CORPUS_LIKE_REGEXES = [
    "/tmp/[a-z]+",
    "[a-zA-Z0-9]{32}\\.(exe|dll)",
    ".*\\.(sh|py)",
    "(ab|cd)*e?",
    "[^/]+\\.so\\.[0-9]+",
    "\\w+\\s\\d{2,4}",
    "a.b",
    "@",
    "\"quoted\"x",
    "[.]x[-a]",
    "\\^\\$",
    "[0-9]{1,}",
]

REGEX_ALPHABET = "abcdeABCDE/._-09xyz \n\"^$"


@pytest.mark.parametrize("ci", [False, True])
@pytest.mark.parametrize("pattern", CORPUS_LIKE_REGEXES)
def test_regex_stays_in_sigma_subset_and_is_accepted_by_pysigma(pattern, ci):
    r = sigma_regex.render((pattern,), ci)
    assert r.pattern.startswith("^(") and r.pattern.endswith(")$")
    stripped = re.sub(r"\\.", "", r.pattern)  # escaped characters are literals
    assert "(?" not in stripped and "\\" not in stripped, r.pattern
    SigmaRegularExpression(r.pattern).compile()


@settings(max_examples=150, deadline=None)
@given(st.sampled_from(CORPUS_LIKE_REGEXES), st.booleans(), st.text(alphabet=REGEX_ALPHABET, max_size=40))
def test_regex_matches_like_lucene(pattern, ci, value):
    r = sigma_regex.render((pattern,), ci)
    sqlite_side = re.search(("(?s)" if r.dotall else "") + r.pattern, value) is not None
    lucene_side = re.fullmatch(to_pattern((pattern,), ci, flavor="python"), value, re.DOTALL) is not None
    if value.endswith("\n") and sqlite_side and not lucene_side:
        # PCRE/Python `$` also matches before a final newline: the emitter states this assumption
        assert re.fullmatch(to_pattern((pattern,), ci, flavor="python"), value[:-1], re.DOTALL)
        return
    assert sqlite_side == lucene_side, (pattern, ci, value, r.pattern)


def test_regex_case_insensitive_folds_ascii_letters_not_ranges():
    r = sigma_regex.render(("ab[c-d]É",), True)
    assert r.pattern == "^([aA][bB][c-d]É)$"
    assert re.search(r.pattern, "ABcÉ") and not re.search(r.pattern, "ABCÉ") and not re.search(r.pattern, "ABcé")


def test_regex_list_is_an_alternation_of_whole_values():
    r = sigma_regex.render(("ab", "c.d"), False)
    assert r.pattern == "^(ab|c.d)$" and r.dotall
    assert re.search("(?s)" + r.pattern, "c\nd") and not re.search(r.pattern, "xab")


@pytest.mark.parametrize("pattern", ["a&b", "~a", "#"])
def test_untranslatable_lucene_constructs_raise(pattern):
    from eqlc.lucene_regex import Untranslatable

    with pytest.raises(Untranslatable):
        sigma_regex.render((pattern,), False)
