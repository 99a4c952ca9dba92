"""The short case-insensitive RE2 form (``(?i:...)`` runs, s/k as ``(?-i:s|S)``) means exactly
what the long one (``[aA]`` per letter) means: ASCII folding only, as Elasticsearch folds.

Checked with google-re2 (the engine family Kusto and DuckDB use), against the ASCII-folding
equality that defines EQL's ``:``/``like~`` on a literal, on every ASCII character and on the
non-ASCII characters that some Unicode case mapping folds to or from ASCII; then end to end on
duckdb-kql against the Python matcher.
"""

from __future__ import annotations

import re2
from hypothesis import given, settings
from hypothesis import strategies as st

from eqlc.result import Status
from eqlc.targets.kql import TARGET
from eqlc.targets.kql.emit import ascii_fold
from eqlc.targets.kql.syntax import anchored, literal_regex, quote_regex, re2_fold_safe

# Characters whose Unicode case mappings meet ASCII or each other: long s, Kelvin sign, dotted
# and dotless i, sharp s (folds to "ss"), ligature ff, Angstrom sign, micro sign, e acute.
TRICKY = "\u017f\u212a\u0130\u0131\u00df\u1e9e\ufb00\u212b\u00c5\u00e5\u00b5\u03bc\u00e9\u00c9"
ASCII = "".join(chr(c) for c in range(1, 128))


def as_kusto(literal: str) -> str:
    """The anchored pattern as the emitter writes it (``quote_regex`` applies the fold-safe pass)."""
    text = quote_regex(anchored(literal_regex(literal, True)))
    assert text.startswith('@"') or text.startswith('"')
    return re2_fold_safe(anchored(literal_regex(literal, True)))


def variants(literal: str) -> set[str]:
    """Strings to try against a literal: it, its swapped case, and every single-character
    substitution by a case variant or a character from TRICKY."""
    out = {literal, literal.swapcase(), literal.upper(), literal.lower()}
    for i, ch in enumerate(literal):
        for alt in {ch.upper(), ch.lower(), *TRICKY}:
            out.add(literal[:i] + alt + literal[i + 1:])
    return out


def agrees(literal: str) -> None:
    pattern = as_kusto(literal)
    for s in variants(literal):
        expected = ascii_fold(s) == ascii_fold(literal)
        assert (re2.fullmatch(pattern, s) is not None) == expected, (literal, pattern, s)


def test_every_ascii_character_in_a_long_run() -> None:
    """Each ASCII character inside a run long enough to be written as a ``(?i:...)`` group."""
    for ch in ASCII:
        for literal in (f"ab{ch}cd", f"{ch}xyz", f"xyz{ch}", f"{ch}{ch}ab"):
            agrees(literal)


def test_every_tricky_character_breaks_the_run_and_matches_exactly() -> None:
    for ch in TRICKY:
        for literal in (f"windows{ch}ab", f"{ch}system32", f"ab{ch}"):
            agrees(literal)
            assert ch in literal_regex(literal, True)


def test_s_and_k_are_not_folded_to_long_s_or_kelvin() -> None:
    pattern = as_kusto("kernelsys")
    assert "(?i:" in pattern
    assert re2.fullmatch(pattern, "KERNELSYS") and re2.fullmatch(pattern, "KernelSys")
    assert not re2.fullmatch(pattern, "\u212aernelsys") and not re2.fullmatch(pattern, "kernel\u017fys")


def test_the_short_form_is_shorter_on_words() -> None:
    assert len(literal_regex("microsoft\\windows\\system32", True)) < len("".join(
        f"[{c.lower()}{c.upper()}]" if c.isalpha() else c for c in "microsoft\\\\windows\\\\system32"))
    assert literal_regex("a", True) == "[aA]"  # one letter: the class is shorter than a group


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.sampled_from(ASCII + TRICKY + "sSkK"), min_size=1, max_size=12))
def test_any_literal(literal: str) -> None:
    agrees(literal)


def test_corpus_style_rules_agree_with_the_matcher_on_duckdb() -> None:
    """End to end: wildcard and equality leaves written in the short form select, on duckdb-kql,
    the events the Python matcher selects (both profiles)."""
    from tests.test_kql_execute import matcher_ids, rule_of

    rule = rule_of('process where process.name like~ ("*SysKernel?.exe", "powershell*", "cmd.exe") '
                   'and process.command_line : "*windows\\\\system32*"')
    names = ["SYSKERNELx.exe", "syskernel1.EXE", "\u017fyskernel1.exe", "sys\u212aernel1.exe", "PowerShell_ise.exe",
             "CMD.EXE", "cmd.ex\u00e9"]
    lines = ["C:\\WINDOWS\\System32\\x", "c:\\window\u017f\\system32\\x", "C:\\Windows\\SyStem32"]
    events = []
    for i, name in enumerate(names):
        for j, line in enumerate(lines):
            events.append({"_id": f"e{i}_{j}", "@timestamp": "2026-01-01T00:00:00Z", "event": {"category": ["process"],
                           "type": ["start"], "action": "exec"}, "host": {"id": "h1", "os": {"type": "windows"}},
                           "process": {"name": name, "executable": "C:\\Tools\\" + name,
                                                                         "command_line": line}})
    for profile in ("defender", "sentinel-asim"):
        t = TARGET.compile(rule, profile=profile)
        assert t.status is not Status.REFUSED, t.notes
        assert "(?i:" in t.output
        from eqlc.targets.kql.adapter import exclusions

        kept = [e for e in events if e["_id"] not in exclusions(t, events)]
        assert TARGET.execute(t, kept) == matcher_ids(rule, kept)
        assert matcher_ids(rule, kept)  # the case is not vacuous
