"""Property tests: any text gives an IR or an EqlError (never another exception), and any IR the
strategies can build prints to EQL that parses back to the same IR."""

from __future__ import annotations

import string

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from eqlc import EqlError, ir, parse_query, to_eql
from tests.corpus import sample

TOKENS = [
    "process", "where", "sequence", "sample", "by", "with", "maxspan=", "runs=", "until", "any", "and", "or", "not",
    "in", "in~", "like", "like~", "regex", "regex~", ":", "==", "!=", "<", "<=", ">", ">=", "=", "(", ")", "[", "]",
    "!", "|", "head", "tail", ",", "?", "~", "*", "+", "-", "/", "%", '"', '"""', "'", "\\", "`", "5m", "1", "1.5",
    "null", "true", "false", "a.b", "process.name", "startsWith", "cidrMatch", "length", "\n", " ", "//", "/*", "*/",
]


def _check(text: str) -> None:
    try:
        result = parse_query(text)
    except EqlError as err:
        assert err.message
        assert err.render()
        return
    assert isinstance(result, ir.Query)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.sampled_from(TOKENS), max_size=30).map(" ".join))
def test_token_soup_never_crashes(text: str) -> None:
    _check(text)


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=string.printable + "éİ\u0000\u2028", max_size=80))
def test_random_text_never_crashes(text: str) -> None:
    _check(text)


_CORPUS_QUERIES = [r.query_text for r in sample(40)]


@settings(max_examples=300, deadline=None)
@given(
    st.sampled_from(_CORPUS_QUERIES),
    st.integers(min_value=0, max_value=10_000),
    st.integers(min_value=0, max_value=6),
    st.sampled_from(TOKENS + ["", "x"]),
)
def test_mutated_corpus_queries_never_crash(query: str, pos: int, delete: int, insert: str) -> None:
    i = pos % (len(query) + 1)
    _check(query[:i] + insert + query[i + delete :])


# ---- IR strategies: printer/parser round trip ----------------------------------------------
names = st.from_regex(r"[a-z_][a-z0-9_]{0,6}", fullmatch=True).filter(lambda s: s not in {"and", "or", "not", "in", "like", "regex", "where", "sequence", "sample", "by", "with", "until", "maxspan", "runs", "true", "false", "null", "any"})
fields = st.builds(lambda p, o: ir.Field(tuple(p), o), st.lists(names, min_size=1, max_size=3), st.booleans())
texts = st.text(max_size=12).filter(lambda s: not any(0xD800 <= ord(c) <= 0xDFFF for c in s))
strings = st.builds(ir.String, texts)
numbers = st.builds(ir.Number, st.integers(min_value=0, max_value=10**6))
literals = st.one_of(strings, numbers, st.builds(ir.Boolean, st.booleans()))
patterns = st.builds(ir.Pattern, st.text(alphabet="ab*?\\\"é ", max_size=8))

atoms = st.one_of(
    st.builds(lambda f, v: ir.Compare(ir.CompareOp.EQ, f, v), fields, literals),
    st.builds(lambda f, n, op: ir.Compare(op, f, n), fields, numbers, st.sampled_from(list(ir.CompareOp))),
    st.builds(ir.IsNull, fields),
    st.builds(lambda f, ps, ci: ir.WildcardMatch(f, tuple(ps), ci), fields, st.lists(patterns, min_size=1, max_size=3), st.booleans()),
    st.builds(lambda f, vs: ir.InSet(f, tuple(vs), False), fields, st.lists(strings, min_size=1, max_size=3)),
    st.builds(lambda f, vs: ir.InSet(f, tuple(vs), True), fields, st.lists(strings, min_size=1, max_size=3)),
    st.builds(lambda f, ps, ci: ir.RegexMatch(f, tuple(ps), ci), fields, st.lists(st.sampled_from(["a.*", "[a-c]+", "x|y", "\\d{2,3}"]), min_size=1, max_size=2), st.booleans()),
    st.builds(lambda f, s, ci: ir.FunctionCall("startsWith", (f, s), ci), fields, strings, st.booleans()),
)


def _combine(children: st.SearchStrategy) -> st.SearchStrategy:
    return st.one_of(
        st.builds(ir.Not, children),
        st.lists(children, min_size=2, max_size=3).map(lambda xs: ir.And(_flat(ir.And, xs))),
        st.lists(children, min_size=2, max_size=3).map(lambda xs: ir.Or(_flat(ir.Or, xs))),
    )


def _flat(cls: type, xs: list) -> tuple:
    out = []
    for x in xs:
        out.extend(x.terms if isinstance(x, cls) else [x])
    return tuple(out)


conditions = st.recursive(atoms, _combine, max_leaves=8)


@settings(max_examples=150, deadline=None)
@given(st.sampled_from(["process", "file", None]), conditions)
def test_printed_ir_parses_back_to_itself(category: str | None, condition: object) -> None:
    query = ir.Query(ir.EventQuery(category, condition))
    text = to_eql(query)
    assert parse_query(text) == query, text
