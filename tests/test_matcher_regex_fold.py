"""regex~ folds ASCII letters only (Lucene's RegExp.ASCII_CASE_INSENSITIVE), even where RE2
rewrites a class like [sS] into a case-folded literal that would also match U+017F (long s) or
U+212A (Kelvin sign). Found by the SPL target's full-corpus comparison with the matcher
(windows/defense_evasion_file_creation_mult_extension.toml)."""

from __future__ import annotations

import pytest

from eqlc import Rule, matcher, parse_query
from eqlc.targets.python import TARGET as PYTHON

CORPUS_PATTERN = r".*\.(vbs|vbe|bat|js|cmd|wsh|ps1|pdf|docx?|xlsx?|pptx?|txt|rtf|gif|jpg|png|bmp|hta|txt|img|iso)\.exe"
CASES = [
    (CORPUS_PATTERN, "a.vb\u017f.exe", False),
    (CORPUS_PATTERN, "a.VBS.exe", True),
    (r"(bs|be)", "b\u017f", False),
    (r"(bs|be)", "BS", True),
    (r"(ks|kb)", "\u212as", False),
    (r"(ks|kb)", "Ks", True),
]


@pytest.mark.parametrize("pattern,value,expected", CASES)
def test_regex_ci_folds_ascii_only(pattern: str, value: str, expected: bool) -> None:
    query = parse_query(f'file where file.name regex~ """{pattern}"""')
    event = {"_id": "e1", "@timestamp": "2026-11-01T00:00:00Z", "event": {"category": "file"}, "file": {"name": value}}
    assert matcher(query).match(event) is expected
    rule = Rule(query=query, query_text="", name="fold")
    translation = PYTHON.compile(rule)
    assert PYTHON.execute(translation, [event]) == (["e1"] if expected else [])


@pytest.mark.parametrize("letter", "abcdefghijklmnopqrstuvwxyz")
def test_re2_rendering_keeps_every_folded_letter_ascii(letter: str) -> None:
    """``to_pattern(..., flavor="re2")`` is what the matcher and the KQL target hand to RE2: for
    every ASCII letter, alone, in a class, or as a branch of an alternation, the case-insensitive rendering
    matches the letter's two ASCII cases and no other character that Unicode folds to it."""
    import re2

    from eqlc.lucene_regex import to_pattern

    unicode_folds = {c for c in map(chr, range(0x80, 0x3000)) if c.lower() in (letter, letter.upper()) or c.upper() == letter.upper()}
    for source in (letter, f"({letter}|0)", f"(0|{letter})x?", f"[{letter}]|0"):
        rx = re2.compile(to_pattern([source], True, "re2"))
        assert rx.fullmatch(letter) and rx.fullmatch(letter.upper()), source
        assert not any(rx.fullmatch(c) for c in unicode_folds), (source, sorted(unicode_folds))
