"""eqlc.safe_regex: Python ``re`` meaning in bounded time (issue 19).

Differential: on generated patterns and texts, the RE2 tier finds a match exactly where ``re``
does (same span of the whole match unless the pattern ends in ``$``); catastrophic patterns finish (RE2) or
raise RegexBudgetExceeded within the budget instead of hanging."""

from __future__ import annotations

import re
import threading
import time

import pytest
from hypothesis import example, given, settings, strategies as st

from eqlc import safe_regex

_ATOMS = ["a", "b", "\\n", ".", "[ab]", "[^a]", "[a-c\\d]", "\\d", "\\s", "\\w", "\\W", "\\D", "é", "x", "s", "k",
          "[^k-s]", "[r-tÉ]", "İ", "ı", "ß", "Ω", "[\\w-]", "[^\\W\\d]", "[sS]", "[kK]", "[aA][sS]", "[aA][eE]"]
_QUANTS = ["", "", "*", "+", "?", "{0,2}", "{2}", "*?", "+?", "{1,3}?"]


@st.composite
def patterns(draw, depth=0):
    parts = []
    for _ in range(draw(st.integers(1, 3))):
        kind = draw(st.integers(0, 5 if depth < 2 else 1))
        if kind <= 1:
            node = draw(st.sampled_from(_ATOMS))
        elif kind == 2:
            node = "(" + draw(patterns(depth + 1)) + ")"
        elif kind == 3:
            node = "(?:" + draw(patterns(depth + 1)) + "|" + draw(patterns(depth + 1)) + ")"
        elif kind == 4:
            node = draw(st.sampled_from(["^", "\\A", "\\Z"]))
            parts.append(node)
            continue
        else:
            node = "(?s:" + draw(patterns(depth + 1)) + ")"
        parts.append(node + draw(st.sampled_from(_QUANTS)))
    if depth == 0 and draw(st.booleans()):
        parts.append("$")
    return "".join(parts)


_TEXT = st.text(alphabet=st.sampled_from(list("ab\n1 é٣_xsSkKſ\u212aİıiIßẞΩω\u2126ÉA")), max_size=12)


def _same(m1, m2, spans: bool) -> bool:
    if (m1 is None) != (m2 is None):
        return False
    if m1 is None or not spans:
        return True
    return m1.span() == m2.span()  # group 0; see safe_regex's docstring on sub-group captures


@settings(max_examples=600, deadline=None)
@given(pattern=patterns(), text=_TEXT, dotall=st.booleans(), ignorecase=st.booleans(), ascii_=st.booleans())
@example(pattern=r"((?:[^a]*|a)*)", text="1a", dotall=False, ignorecase=False, ascii_=False)  # found by hypothesis
@example(pattern=r"((a*.*)+?a*)*aa", text="1" * 9, dotall=False, ignorecase=False, ascii_=False)  # found by CI
def test_same_meaning_as_re(pattern, text, dotall, ignorecase, ascii_):
    """Same answer as ``re``; or, where only ``re`` has the meaning and ``re`` itself backtracks
    exponentially on the text, RegexBudgetExceeded, and then ``re`` must really be that slow."""
    flags = (re.DOTALL if dotall else 0) | (re.IGNORECASE if ignorecase else 0) | (re.ASCII if ascii_ else 0)
    ours = safe_regex.compile(pattern, flags, budget=_BUDGET)
    ref = re.compile(pattern, flags)
    spans = not pattern.endswith("$")
    for method in ("search", "match", "fullmatch"):
        _assert_agrees(ours, ref, method, text, spans)


_BUDGET = 0.5


def _assert_agrees(ours, ref, method: str, text, spans: bool) -> None:
    """``ours.method(text)`` finds what ``re`` finds, or ran out of budget on a pattern only
    ``re`` runs and on which ``re`` alone also takes more than half that budget."""
    try:
        got = getattr(ours, method)(text)
    except safe_regex.RegexBudgetExceeded:
        assert ours.engine == "re", (method, ours.pattern, "RE2 ran out of budget")
        with pytest.raises(safe_regex.RegexBudgetExceeded):
            with safe_regex._Budget(_BUDGET / 2):
                getattr(ref, method)(text)
        return
    assert _same(got, getattr(ref, method)(text), spans), (method, ours.pattern, ours.re2_pattern)


@settings(max_examples=200, deadline=None)
@given(pattern=patterns(), text=st.binary(max_size=8), ignorecase=st.booleans())
def test_bytes_patterns_same_meaning(pattern, text, ignorecase):
    p = pattern.encode("ascii", "backslashreplace").replace(b"\\u", b"\\x").replace(b"\\x0130", b"\\xc4")
    p = p.replace(b"\\x0131", b"\\xb1").replace(b"\\x03a9", b"\\xd9")
    flags = re.IGNORECASE if ignorecase else 0
    ours, ref = safe_regex.compile(p, flags, budget=_BUDGET), re.compile(p, flags)
    for method in ("search", "fullmatch"):
        _assert_agrees(ours, ref, method, text, not p.endswith(b"$"))


def test_letter_case_pairs_in_alternations_do_not_take_re2s_unicode_orbit():
    """RE2 reads ``[sS]`` as a case-folded ``s`` and, merging the alternatives of ``vbs|vbe|bat``
    after factoring, adds ``s``'s Unicode orbit (``ſ``): found as a disagreement of the SPL
    evaluator on a corpus witness (file.name ``.vbſ.exe``)."""
    pattern = r"^(?:[vV][bB][sS]|[vV][bB][eE]|[bB][aA][tT]|[kK][aA]|[kK][eE])\Z"
    for text in ("vbſ", "vbs", "VBS", "\u212aa", "ka", "KE", "\u212ae"):
        assert (safe_regex.compile(pattern).search(text) is None) == (re.search(pattern, text) is None), text


@pytest.mark.parametrize("pattern", [r"(a+)+$", r"(.*a){30}", r"^(a|a)*$", r"(x+x+)+y"])
def test_catastrophic_patterns_run_in_linear_time(pattern):
    rx = safe_regex.compile(pattern)
    assert rx.engine == "re2"
    start = time.monotonic()
    for n in (30, 1000, 100_000):
        rx.search("a" * n + "b")
        rx.search("x" * n)
    assert time.monotonic() - start < 2


def test_backtracking_only_constructs_are_budgeted():
    rx = safe_regex.compile(r"(?m)(a+)+$", budget=0.3)  # MULTILINE: re itself runs it
    assert rx.engine == "re"
    start = time.monotonic()
    with pytest.raises(safe_regex.RegexBudgetExceeded):
        rx.search("a" * 40 + "b")
    assert time.monotonic() - start < 2
    assert rx.search("aaa") is not None  # the same object still works afterwards
    back = safe_regex.compile(r"(a)\1")
    assert back.engine == "re" and back.search("xaa").span() == (1, 3)


def test_off_main_thread_refuses_unboundable_patterns():
    out = {}

    def work():
        try:
            safe_regex.compile(r"(?m)(.*a){20}$", budget=0.3).search("a" * 30)
        except safe_regex.RegexBudgetExceeded as exc:
            out["err"] = str(exc)
        out["plain"] = safe_regex.compile(r"(?m)ab+c$").search("xabbc") is not None

    t = threading.Thread(target=work)
    t.start()
    t.join(10)
    assert "cannot be time-bounded" in out["err"] and out["plain"]


def test_repetitions_over_re2_limit():
    rx = safe_regex.compile("^a{1001}$")
    assert rx.engine == "re2"
    assert rx.search("a" * 1001) and not rx.search("a" * 1000) and not rx.search("a" * 1002)


def test_existing_timer_is_preserved():
    import signal

    fired = []
    old = signal.signal(signal.SIGALRM, lambda *a: fired.append(1))
    try:
        signal.setitimer(signal.ITIMER_REAL, 0.5)
        safe_regex.compile(r"(?m)abc$", budget=5).search("xabc")
        assert signal.getitimer(signal.ITIMER_REAL)[0] > 0
        time.sleep(0.7)
        assert fired == [1]
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)


@pytest.mark.parametrize("pattern", [
    r"^(?:[vV][bB][sS]|[vV][bB][eE]|[bB][aA][tT])$",  # the SPL target's case-insensitive alternation
    r"^(?:[sS]|[eE])$",
    r"^(?:[kK]|x)$",
    r"(?a)^(?i:s|e)$",
])
@pytest.mark.parametrize("text", ["vb\u017f", "vbs", "vbS", "\u017f", "\u212a", "k", "K", "s", "e"])
def test_case_pairs_of_s_and_k_do_not_widen_in_re2(pattern, text):
    """RE2 turns ``[sS]`` into a case-folded literal and, merging an alternation's literals into
    one class, adds the fold orbit (long s, Kelvin sign) that ``re`` does not match."""
    rx = safe_regex.compile(pattern)
    assert rx.engine == "re2"
    assert bool(rx.search(text)) == bool(re.search(pattern, text)), (pattern, text)


_EMPTY_ITERATION_PATTERNS = [
    r"((?:[^a]*|a)*)",  # hypothesis' counterexample: RE2 matched "1a", re "1"
    r"(?:a?|b)*",
    r"(?:x*|y)+",
    r"((?:[^a]*|a)*)$",
    r"(?:a|)*",
    r"(?:a*?|b)+c",
    r"(?:a?|b){2,}",
    r"(?:a?b?)*?b",
    r"1(?:(?:a|b?)*c)*",
]


@pytest.mark.parametrize("pattern", _EMPTY_ITERATION_PATTERNS)
def test_repeated_bodies_that_can_match_empty_keep_res_spans(pattern):
    """``re`` ends a loop once an optional iteration matched the empty string; RE2 drops that
    path and tries the body's next alternative, so such patterns must not go to RE2."""
    rx = safe_regex.compile(pattern)
    assert rx.engine == "re", rx.re2_pattern
    ref = re.compile(pattern)
    for text in ("", "1a", "ab", "ba", "xy", "xxyy", "bbc", "aab1", "abaa", "1a\n", "1abcbc", "yx"):
        for method in ("search", "match", "fullmatch"):
            ours, theirs = getattr(rx, method)(text), getattr(ref, method)(text)
            assert (ours and ours.span()) == (theirs and theirs.span()), (method, text)


@pytest.mark.parametrize("pattern", [r"(?:a*|b)?", r"(?:a?|b){2}", r"(?:\A)*1", r"(?:\s*,)*", r"(?:a*b)+", r"(?:a|b)*"])
def test_repeats_the_empty_iteration_rule_cannot_touch_stay_in_re2(pattern):
    """No loop (``?``, ``{n}``), a nullable body with one way to match, or a body that always
    consumes: the two engines agree, RE2 keeps them linear."""
    rx = safe_regex.compile(pattern)
    assert rx.engine == "re2"
    for text in ("", "b", "ab", "aab", "a,,b", "bb"):
        for method in ("search", "match", "fullmatch"):
            ours, theirs = getattr(rx, method)(text), getattr(re.compile(pattern), method)(text)
            assert (ours and ours.span()) == (theirs and theirs.span()), (method, text)
