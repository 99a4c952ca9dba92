"""Elasticsearch EQL semantics of the matcher, construct by construct.

Each expectation cites where Elasticsearch's behaviour comes from (shared/research/eql-semantics.md
sections, Elasticsearch source files, or its QA suite). The places where that document was
incomplete or wrong are marked CORRECTION and explained in the test's docstring.
"""

from __future__ import annotations

import pytest

from eqlc.errors import EqlError
from eqlc.matcher import infer_mapping, matcher


def ids(query: str, events: list, **kw) -> list:
    m = matcher(query, **kw)
    return [e["_id"] for e in events if m.match(e)]


def ev(_id: str, **fields) -> dict:
    doc: dict = {"_id": _id, "event": {"category": "process"}}
    for path, value in fields.items():
        node = doc
        parts = path.split("__")
        for p in parts[:-1]:
            node = node.setdefault(p, {})
        node[parts[-1]] = value
    return doc


MISSING, NULL = ev("missing"), ev("null", f=None)
X, UPPER_X, Y = ev("x", f="x"), ev("X", f="X"), ev("y", f="y")
ARR, ARR_Y = ev("xy", f=["x", "y"]), ev("y_only", f=["y"])
BASIC = [MISSING, NULL, X, UPPER_X, Y, ARR, ARR_Y]


# -- §1 case sensitivity --------------------------------------------------------------------------


@pytest.mark.parametrize("query,expected", [
    ('any where f == "x"', ["x", "xy"]),              # case-sensitive term, any array element
    ('any where f : "X"', ["x", "X", "xy"]),          # `:` case-insensitive
    ('any where f like "X*"', ["X"]),                 # like: case-sensitive wildcard
    ('any where f like~ "X*"', ["x", "X", "xy"]),
    ('any where f in ("X")', ["X"]),
    ('any where f in~ ("X")', ["x", "X", "xy"]),
    ('any where f regex "X"', ["X"]),
    ('any where f regex~ "X"', ["x", "X", "xy"]),
    ('any where startsWith(f, "X")', ["X"]),
    ('any where startsWith~(f, "X")', ["x", "X", "xy"]),
])
def test_case_sensitivity(query: str, expected: list) -> None:
    assert ids(query, BASIC) == expected


def test_case_insensitive_native_queries_fold_ascii_only() -> None:
    """AutomatonQueries.toCaseInsensitiveChar folds code points <= 128 only (§1)."""
    events = [ev("e1", f="écho.exe"), ev("e2", f="ECHO.EXE")]
    assert ids('any where f : "ÉCHO.EXE"', events) == []
    assert ids('any where f : "echo.exe"', events) == ["e2"]
    assert ids('any where f like~ "É*"', events) == []
    assert ids('any where f regex~ "É.*"', events) == []


def test_script_case_insensitive_equality_folds_unicode() -> None:
    """Script path: `:` without wildcards is StringComparisons.insensitiveEquals, i.e. Java
    compareToIgnoreCase - full Unicode folding (§1's example)."""
    events = [ev("e1", f="écho.exe")]
    assert ids('any where substring(f, 0, 8) : "ÉCHO.EXE"', events) == ["e1"]


def test_script_wildcards_fold_ascii_only_and_stop_at_line_breaks() -> None:
    """CORRECTION to §1 ("in scripts the processors use full Unicode folding"): a `:`/`like~` pattern
    WITH wildcards in a script is QL's RegexProcessor over likeToJavaPattern: Java regex with
    Pattern.CASE_INSENSITIVE only (ASCII folding) and `.*` that does not match line terminators
    (RegexProcessor.java @b6fe48ff; QL StringUtils.likeToJavaPattern). The native wildcard query
    matches across lines."""
    events = [ev("e1", f="écho.exe"), ev("e2", f="ab\ncd")]
    assert ids('any where substring(f, 0, 8) : "ÉCHO*"', events) == []
    assert ids('any where substring(f, 0, 8) : "écho*"', events) == ["e1"]
    assert ids('any where f : "ab*cd"', events) == ["e2"]  # native: Lucene wildcard, DOTALL
    assert ids('any where substring(f, 0, 5) : "ab*cd"', events) == []  # script: Java regex


# -- §2 missing, null, not -----------------------------------------------------------------------


@pytest.mark.parametrize("query,expected", [
    ('any where f == "x"', ["x", "xy"]),
    ('any where f != "x"', ["missing", "null", "X", "y", "y_only"]),          # must_not term
    ('any where not f == "x"', ["missing", "null", "X", "y", "y_only"]),
    ('any where f == null', ["missing", "null"]),
    ('any where f != null', ["x", "X", "y", "xy", "y_only"]),
    ('any where not f in ("x", "z")', ["missing", "null", "X", "y", "y_only"]),
    ('any where f not in ("x", "z")', ["missing", "null", "X", "y", "y_only"]),
    ('any where not f like~ "x*"', ["missing", "null", "y", "y_only"]),
    ('any where not startsWith(f, "x")', ["missing", "null", "X", "y", "y_only"]),
    ('any where not stringContains(f, "x")', ["missing", "null", "X", "y", "y_only"]),
    ('any where not length(f) > 3', ["x", "X", "y", "xy", "y_only"]),          # script: not(null) is false
    ('any where not endsWith(substring(f, 0, 5), "x")', ["X", "y", "xy", "y_only"]),
])
def test_missing_null_and_not(query: str, expected: list) -> None:
    assert ids(query, BASIC) == expected


def test_empty_array_and_array_of_null_have_no_value() -> None:
    """null, [] and [null] index nothing (D-EXISTS); [null, "foo"] exists."""
    events = [ev("empty", f=[]), ev("nulls", f=[None]), ev("mixed", f=[None, "foo"]), ev("blank", f="")]
    assert ids("any where f == null", events) == ["empty", "nulls"]
    assert ids("any where f != null", events) == ["mixed", "blank"]


def test_optional_field_unmapped_everywhere_is_null() -> None:
    """`?f` unmapped in every index becomes the literal null (D-SYN "Optional fields"):
    `?f == null` is true, `?f != null` false (D-SYN's example), `?f` alone prunes the filter.

    CORRECTION to §2's table row "`?f != "x"` ... no match (folds to null, filter pruned)":
    Optimizer.ReplaceNullChecks (Substitution batch, before ConstantFolding) rewrites any ``==``
    with a null operand into IsNull of the OTHER operand, so `null == "x"` is IsNull("x") = false
    and `?f != "x"` is `not false`: every event (Optimizer.java @044fa99d; derived from source)."""
    mapping = {"properties": {"g": {"type": "keyword"}, "event": {"properties": {"category": {"type": "keyword"}}}}}
    im = infer_mapping([], mapping)
    events = [ev("a", g="1"), ev("b")]
    assert ids('any where ?f != "x"', events, mapping=im) == ["a", "b"]
    assert ids('any where ?f == "x"', events, mapping=im) == []
    assert ids("any where ?f != null", events, mapping=im) == []
    assert ids("any where ?f", events, mapping=im) == []
    assert ids("any where ?f == null", events, mapping=im) == ["a", "b"]
    assert ids('any where ?g != "1"', events, mapping=im) == ["b"]
    with pytest.raises(EqlError, match=r"Unknown column \[f\]"):
        matcher('any where f == "x"', mapping=im)
    # without a mapping every field is taken as mapped (dynamic): ?f is a field
    assert ids('any where ?f != "x"', events) == ["a", "b"]


# -- §3 arrays -----------------------------------------------------------------------------------


@pytest.mark.parametrize("query,expected", [
    ('any where process.args == "-e"', ["arr"]),
    ('any where process.args != "-e"', ["one"]),
    ('any where process.args : "-E*"', ["arr"]),
    ('any where process.args in ("-e", "-c")', ["arr"]),
    ('any where startsWith(process.args, "-")', ["arr"]),
    ('any where length(process.args) == 1', ["arr"]),                          # per element
    ('any where not endsWith(substring(process.args, 0, 2), "e")', ["arr", "one"]),  # some element
])
def test_multi_valued_fields(query: str, expected: list) -> None:
    events = [ev("arr", process__args=["a", "-e", "x"]), ev("one", process__args=["abc"])]
    assert ids(query, events) == expected


def test_script_fields_iterate_each_occurrence_independently() -> None:
    """docValuesRewrite: each use of a field in a script is its own loop over the values, so
    `concat(f, f)` tries every pair (MultiValueAwareScriptQuery; QL Scripts.docValuesRewrite)."""
    assert ids('any where concat(f, f) == "xy"', [ev("e", f=["x", "y"])]) == ["e"]


def test_category_is_a_term_query_on_an_array() -> None:
    e = {"_id": "e", "event": {"category": ["process", "network"]}}
    assert ids("process where true", [e]) == ["e"]
    assert ids("network where true", [e]) == ["e"]
    assert ids("file where true", [e]) == []


# -- §4 wildcards ----------------------------------------------------------------------------------


@pytest.mark.parametrize("pattern,value,expected", [
    ("doc?", "docs", True), ("doc?", "doc", False), ("doc?", "doc?", True),
    ("a\\*b", "a\\xyzb", True), ("a\\*b", "a*b", False),    # backslash literal, * wildcard (no escape)
    ("C:\\Windows\\*.exe", "c:\\windows\\x.exe", True),
    ("*ab*ba*", "aba", False), ("*ab*ba*", "abba", True), ("a*a*a*a*b", "a" * 40, False),
    ("?", "é", True), ("??", "é", False),                   # ? is one code point
])
def test_wildcard_patterns(pattern: str, value: str, expected: bool) -> None:
    text = pattern.replace("\\", "\\\\")
    assert ids(f'any where f : "{text}"', [ev("e", f=value)]) == (["e"] if expected else [])


def test_colon_star_is_exists() -> None:
    """ReplaceRegexMatch: a pattern matching everything becomes IsNotNull (numbers match too)."""
    assert ids('any where f : "*"', [ev("n", f=5), ev("s", f="a"), MISSING]) == ["n", "s"]


def test_native_ends_with_uses_lucene_wildcard_syntax() -> None:
    """QueryTranslator.CaseInsensitiveScalarFunctions builds "*" + literal without escaping, so in
    endsWith/stringContains on a field `*`/`?` are wildcards and `\\` escapes (Lucene
    WildcardQuery); startsWith is a prefix query (literal)."""
    events = [ev("e1", f="a-x-b"), ev("e2", f="a*b"), ev("e3", f="ab")]
    assert ids('any where stringContains(f, "a*b")', events) == ["e1", "e2", "e3"]
    assert ids('any where startsWith(f, "a*")', events) == ["e2"]
    three = [ev("e4", f="xb"), ev("e5", f="x\\b"), ev("e6", f="x\\\\b")]
    # literal `\\b` (two backslashes): Lucene reads an escaped backslash, then b
    assert ids('any where endsWith(f, "\\\\\\\\b")', three) == ["e5", "e6"]


# -- §5/§9 regular expressions ---------------------------------------------------------------------


@pytest.mark.parametrize("regex,value,expected", [
    ("ab", "abc", False),          # whole value (Lucene), not a prefix
    ("a.c", "a\nc", True),         # . matches newline
    ("^ab$", "^ab$", True),        # ^ and $ are ordinary characters
    ("a@", "abc", True),           # @ any string
    ("<1-12>", "07", True), ("<1-12>", "13", False), ("<01-12>", "7", False),
    ("[a-c]x", "Bx", False),       # ranges are not folded even with regex~
    ("(a|b)*c", "abababc", True),
])
def test_lucene_regex(regex: str, value: str, expected: bool) -> None:
    text = regex.replace("\\", "\\\\")
    q = f'any where f regex~ "{text}"' if regex.startswith("[a-c]") else f'any where f regex "{text}"'
    assert ids(q, [ev("e", f=value)]) == (["e"] if expected else [])


def test_catastrophic_regex_runs_in_linear_time() -> None:
    import time

    m = matcher('any where f regex "(a+)+b"')
    t = time.perf_counter()
    assert not m.match(ev("e", f="a" * 5000))
    assert time.perf_counter() - t < 1.0


def test_untranslatable_regex_is_a_located_error() -> None:
    with pytest.raises(EqlError, match="intersection"):
        matcher('any where f regex "a&b"')


# -- §6 numbers, functions, scripts ----------------------------------------------------------------


@pytest.mark.parametrize("query,expected", [
    ("any where divide(n, 2) == -3", True),          # Java truncation (-7 / 2)
    ("any where modulo(n, 2) == -1", True),           # sign of the dividend
    ("any where n / 2.0 == -3.5", True),
    ('any where number(" 12 ") == 12', True),         # documented: surrounding blanks ignored
    ('any where number("0x32", 16) == 50', True),
    ('any where stringContains("", "")', False),       # ESU: empty -> false
    ('any where between("welcome to the planet", "welcome", "village") == ""', True),
    ('any where indexOf("subdomain.example.com", ".", -6) == 9', True),
    ('any where substring("Microsoft Windows", -7) == "Windows"', True),
    ("any where length(f) == 1", True),               # script on a missing field: null -> false, f is 'x' here
])
def test_functions_follow_java(query: str, expected: bool) -> None:
    e = ev("e", n=-7, f="x")
    assert ids(query, [e]) == (["e"] if expected else [])


def test_between_with_an_empty_bound_returns_the_string() -> None:
    """CORRECTION to §9's row "left and right empty -> greedy ? whole string : empty" (taken from
    test_string_functions.toml, fold tests ported from the Python implementation): every version
    of Elasticsearch's between (eql .../string/StringUtils.between, BetweenUtils, and the newer
    caseInsensitive variant) starts with `if (hasLength(string) == false || hasLength(left) ==
    false || hasLength(right) == false) return string;` (derived from source)."""
    e = [ev("e", f="welcome to the planet")]
    assert ids('any where between(f, "", "", false) == "welcome to the planet"', e) == ["e"]
    assert ids('any where between(f, "", "planet", false) == "welcome to the planet"', e) == ["e"]


def test_arithmetic_comparison_on_an_integer_field_is_native() -> None:
    """SimplifyComparisonsArithmetics rewrites `x + 1 == 83` to `x == 82` for an integer field, so
    under `not` it is a must_not (matches documents without x); with the field typed by a
    mapping. Without a mapping the type is unknown and it stays a script."""
    mapping = infer_mapping([], {"properties": {"x": {"type": "long"}, "event": {"properties": {"category": {"type": "keyword"}}}}})
    events = [ev("a", x=82), ev("b", x=1), ev("none")]
    assert ids("any where not (x + 1 == 83)", events, mapping=mapping) == ["b", "none"]
    assert ids("any where not (x + 1 == 83)", events) == ["b"]


def test_null_checks_on_expressions_are_scripts() -> None:
    """`null == (x > -1)` is IsNull over a script: true where x is missing (QA nullEqualityWithGt...)."""
    assert ids("any where null == (x > -1)", [ev("a", x=5), ev("none")]) == ["none"]


# -- mappings: types, aliases, null_value, ignore_above, dates, ip, version --------------------------


def test_mapping_types() -> None:
    props = {
        "event": {"properties": {"category": {"type": "alias", "path": "cat"}}},
        "cat": {"type": "keyword"},
        "pid": {"type": "long"},
        "code": {"type": "keyword", "ignore_above": 3},
        "opt": {"type": "keyword", "null_value": "NULL"},
        "host": {"type": "text", "fields": {"keyword": {"type": "keyword"}}},
        "ip": {"type": "ip"},
        "ver": {"type": "version"},
        "when": {"type": "date", "format": "dd-MM-yyyy"},
    }
    im = infer_mapping([], {"properties": props})
    events = [
        {"_id": "a", "cat": "process", "pid": 4, "code": "abcd", "opt": None, "host": "H1", "ip": "10.1.2.3",
         "ver": "1.11.3", "when": "17-12-2022"},
        {"_id": "b", "cat": "process", "pid": "4", "code": "ab", "host": "H2", "ip": "::ffff:10.1.2.3", "ver": "1.2.4-SNAPSHOT"},
    ]
    assert ids('process where pid == "4"', events, mapping=im) == ["a", "b"]  # long: "4" parses
    assert ids('process where code != null', events, mapping=im) == ["b"]     # ignore_above: not indexed
    assert ids('process where opt == "NULL"', events, mapping=im) == ["a"]    # null_value
    assert ids('process where host == "H1"', events, mapping=im) == ["a"]     # text -> keyword subfield
    assert ids('process where cidrMatch(ip, "10.0.0.0/8")', events, mapping=im) == ["a", "b"]
    assert ids('process where ip == "10.1.2.3"', events, mapping=im) == ["a", "b"]  # IPv4-mapped IPv6
    assert ids('process where ver > "1.5.0"', events, mapping=im) == ["a"]    # semver order
    assert ids('process where when == "17-12-2022"', events, mapping=im) == ["a"]


def test_a_number_or_bool_in_a_keyword_field_is_its_text() -> None:
    """Elasticsearch indexes a JSON number or bool in a keyword field as its text
    ({"extension": 1000} is the keyword "1000"). Regression: the runtime-built keyword getter
    passed the int through, and the case-insensitive keyword test crashed on it
    ('int' object has no attribute 'isascii'; the osquery verifier's reference matcher on
    rules_building_block/credential_access_mdmp_file_unusual_extension.toml, whose witnesses hold
    file.extension 1000)."""
    im = infer_mapping([], {"properties": {"file": {"properties": {"extension": {"type": "keyword"}}},
                                           "event": {"properties": {"category": {"type": "keyword"}}}}})
    events = [{"_id": "i", "event": {"category": "file"}, "file": {"extension": 1000}},
              {"_id": "b", "event": {"category": "file"}, "file": {"extension": [True, "dmp"]}},
              {"_id": "f", "event": {"category": "file"}, "file": {"extension": 1.5}},
              {"_id": "s", "event": {"category": "file"}, "file": {"extension": "DMP"}}]
    assert ids('file where file.extension : ("dmp", "mdmp")', events, mapping=im) == ["b", "s"]
    assert ids('file where not file.extension : ("dmp", "mdmp")', events, mapping=im) == ["i", "f"]
    assert ids('file where file.extension == "1000"', events, mapping=im) == ["i"]
    assert ids('file where file.extension : "TRUE"', events, mapping=im) == ["b"]
    assert ids('file where file.extension like~ "1.*"', events, mapping=im) == ["f"]
    assert ids('file where length(file.extension) == 4', [e for e in events if e["_id"] != "b"], mapping=im) == ["i"]


def test_date_literals_round_like_range_queries() -> None:
    """A date literal missing fields covers the whole period for == (ES date math rounding)."""
    e = [{"_id": "a", "event": {"category": "process"}, "@timestamp": "2017-08-30T20:47:33.500Z"}]
    assert ids('process where @timestamp == "2017-08-30T20:47:33Z"', e) == ["a"]
    assert ids('process where @timestamp == "2017-08-30"', e) == ["a"]
    assert ids('process where @timestamp > "2017-08-30T20:47:33Z"', e) == []
    assert ids('process where @timestamp >= "2017-08-30T20:47:33Z"', e) == ["a"]


def test_dotted_keys_are_expanded() -> None:
    """Elasticsearch expands dotted names (D-SUBOBJ); eqlc.events.values decides precedence."""
    events = [{"_id": "a", "event.category": "process", "process.name": "x"},
              {"_id": "b", "event": {"category": "process"}, "process": {"name": "x"}},
              {"_id": "c", "event": {"category": "process"}, "process.name": "y", "process": {"name": "x"}}]
    got = ids('process where process.name == "x"', events)
    from eqlc.events import values

    expected = [e["_id"] for e in events if "x" in values(e, ("process", "name"))]
    assert got == expected and "a" in got and "b" in got


def test_field_to_field_comparison_is_refused() -> None:
    with pytest.raises(EqlError, match="Comparisons against fields"):
        matcher("any where a == b")
    # built as IR (the front end refuses `?x == ?y`): fine when both are unmapped (null == null is
    # true), an error when they are mapped, as in Elasticsearch
    from eqlc import ir

    cond = ir.Compare(ir.CompareOp.EQ, ir.Field(("x",), optional=True), ir.Field(("y",), optional=True))
    q = ir.Query(ir.EventQuery(None, cond))
    assert matcher(q, mapping=infer_mapping([], {"properties": {}})).match({}) is True
    with pytest.raises(EqlError, match="Comparisons against fields"):
        matcher(q, mapping=infer_mapping([], {"properties": {"x": {"type": "keyword"}, "y": {"type": "keyword"}}}))


def test_backticked_dotted_name_is_the_object_path() -> None:
    """A backticked name with dots (the corpus's `kubernetes.audit.annotations.authorization_k8s_io/decision`)
    names the same field as the object path: Elasticsearch maps a dotted field name to objects, so a
    nested document and one with the flat dotted key index the same field. The matcher used to read
    the backticked name only as one flat key, and a nested event's value went unseen."""
    from eqlc.events import values

    nested = ev("nested", k8s={"annotations": {"authorization_k8s_io/decision": "allow"}})
    flat = {"_id": "flat", "event": {"category": "process"}, "k8s.annotations.authorization_k8s_io/decision": "allow"}
    other = ev("other", k8s={"annotations": {"authorization_k8s_io/decision": "forbid"}})
    q = 'process where `k8s.annotations.authorization_k8s_io/decision` == "allow"'
    assert ids(q, [nested, flat, other]) == ["nested", "flat"]
    assert values(nested, ("k8s.annotations.authorization_k8s_io/decision",)) == ["allow"]
