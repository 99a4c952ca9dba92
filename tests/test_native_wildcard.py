"""endsWith/stringContains(field, "literal"): Elasticsearch's wildcard query with the literal
unescaped (eqlc.native_wildcard), against the matcher (the judge every target is verified by).

Source: x-pack/plugin/eql/src/main/java/org/elasticsearch/xpack/eql/planner/QueryTranslator.java
(elastic/elasticsearch@30646ad28841c95f01fda741e89bdba6f71395c7, CaseInsensitiveScalarFunctions):
``wildcardQuery = WILDCARD + string + WILDCARD`` for StringContains, ``WILDCARD + string`` for
EndsWith, with ``string = (String) constant.fold()``, no escaping; ql's WildcardQuery passes it to
``QueryBuilders.wildcardQuery`` unchanged; Lucene's WildcardQuery.toAutomaton reads ``*``, ``?``
and ``\\`` (escape; a trailing one literal). A computed first argument runs as a script
(StringContainsFunctionProcessor): text, empty -> false.
"""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from eqlc import ir, parse_query
from eqlc.matcher import matcher
from eqlc.native_wildcard import NativePattern, is_plain, lucene_wildcard_parts, native_parts, query_parts
from eqlc.rule import Rule

S, Q = ir.Wildcard.STAR, ir.Wildcard.QUESTION


@pytest.mark.parametrize("query, parts", [
    ("*a*", (S, "a", S)),
    ("**a***", (S, "a", S)),             # consecutive stars are one
    ("*a\\*b*", (S, "a*b", S)),          # an escaped star is a character
    ("*a\\\\*", (S, "a\\", S)),          # an escaped backslash, then a wildcard
    ("*a\\", (S, "a\\")),                 # a trailing backslash is literal
    ("*a\\?b?*", (S, "a?b", Q, S)),
    ("*C:\\Windows*", (S, "C:Windows", S)),  # a backslash before a plain character escapes it away
    ("**", (S,)),
])
def test_lucene_wildcard_syntax(query, parts):
    assert lucene_wildcard_parts(query) == parts


def test_the_corpus_literals():
    """What the five corpus rules' literals search for (integrations/aws/*: request_parameters)."""
    assert NativePattern.of("stringContains", "principal=\\*").parts == (S, "principal=*", S)
    assert NativePattern.of("stringContains", "principal=\\*").kind is ir.PatternKind.CONTAINS
    assert NativePattern.of("stringContains", "masterUserPassword=*").literal == "masterUserPassword="
    assert NativePattern.of("stringContains", "valuesToAdd=[*]").parts == (S, "valuesToAdd=[", S, "]", S)
    assert NativePattern.of("endsWith", "\\cmd.exe").parts == (S, "cmd.exe")  # \c is c
    assert not is_plain("principal=\\*") and not is_plain("") and is_plain("lambda:InvokeFunction")
    with pytest.raises(ValueError):
        native_parts("startsWith", "a")  # a prefix query: text


def test_starts_with_is_a_prefix_query_of_text():
    """query_parts: startsWith's literal is text (``*``, ``?``, ``\\`` are characters), the other two
    are native_parts; targets (SPL, osquery) and the matcher read all three from it."""
    assert query_parts("startsWith", "a*\\?") == ("a*\\?", S)
    assert query_parts("startsWith", "") == (S,)
    assert NativePattern.of("startsWith", "C:\\").kind is ir.PatternKind.PREFIX
    assert query_parts("stringContains", "a\\*") == native_parts("stringContains", "a\\*") == (S, "a*", S)


def _ids(query: str, values: list) -> list[str]:
    m = matcher(Rule(query=parse_query(query), query_text=query, name="t", rule_id="t"))
    return [str(i) for i, v in enumerate(values) if m.match({"event": {"category": ["process"]}, "f": v})]


def _regex(parts: tuple, ci: bool) -> re.Pattern:
    body = "".join(".*" if p is S else "." if p is Q else re.escape(p) for p in parts)
    return re.compile(body, re.DOTALL | (re.IGNORECASE | re.ASCII if ci else 0))


def test_matcher_native_and_script_paths():
    values = ["a-x-b", "a*b", "ab", "a\\*b", "aQb", "zzz", ""]
    # native (a field): wildcard syntax
    assert _ids('process where stringContains(f, "a*b")', values) == ["0", "1", "2", "3", "4"]
    assert _ids('process where stringContains(f, "a\\\\*b")', values) == ["1"]
    assert _ids('process where stringContains(f, "")', values) == ["0", "1", "2", "3", "4", "5", "6"]
    # script (a computed value): plain text, and the empty string is false
    assert _ids('process where stringContains(substring(f, 0), "a*b")', values) == ["1"]
    assert _ids('process where stringContains(substring(f, 0), "a\\\\*b")', values) == ["3"]
    assert _ids('process where stringContains(substring(f, 0), "")', values) == []


TEXT = st.text(alphabet="ab*?\\-Ab", max_size=6)


@settings(max_examples=150, deadline=None)
@given(lit=TEXT, values=st.lists(TEXT, min_size=1, max_size=6), fn=st.sampled_from(["stringContains", "endsWith"]),
       ci=st.booleans())
def test_native_parts_say_what_the_matcher_selects(lit, values, fn, ci):
    """What the matcher selects (its code is built from native_parts too) is what native_parts says, as a regex."""
    eql_lit = lit.replace("\\", "\\\\")
    got = _ids(f'process where {fn}{"~" if ci else ""}(f, "{eql_lit}")', values)
    rx = _regex(native_parts(fn, lit), ci)
    assert got == [str(i) for i, v in enumerate(values) if rx.fullmatch(v)]
