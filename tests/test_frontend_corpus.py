"""Every shared corpus rule parses, and the printer round-trips each one: parse(print(ir)) == ir."""

from __future__ import annotations

from eqlc import EqlError, parse_query, to_eql
from eqlc.loaders import load_file
from tests.corpus import CORPUS, corpus_files, rule_id

EXPECTED_RULES = 823


def test_every_corpus_rule_parses() -> None:
    from tests.corpus import all_rules

    files = corpus_files()
    assert len(files) == EXPECTED_RULES
    try:
        parsed = len(all_rules())  # cached per process: the other corpus tests reuse it
    except EqlError:
        failures = []
        for f in files:
            try:
                load_file(f)
            except EqlError as err:
                failures.append(err.render())
        raise AssertionError("\n\n".join(failures)) from None
    assert parsed == EXPECTED_RULES


def test_round_trip_every_corpus_rule() -> None:
    from tests.corpus import all_rules

    mismatches = []
    for rule in all_rules():
        text = to_eql(rule.query)
        again = parse_query(text)
        if again != rule.query:
            mismatches.append(f"{rule_id(rule)}:\n{text}")
        # printing is a fixed point: the canonical text prints to itself
        assert to_eql(again) == text
    assert mismatches == []


def test_spans_point_into_the_query() -> None:
    """Every IR node keeps its source span (line/column of the query text)."""
    from tests.corpus import all_rules

    rule = next(r for r in all_rules() if r.path.endswith("persistence_manual_dracut_execution.toml"))
    cond = rule.query.body.condition
    first = cond.terms[0]
    assert (first.span.line, first.span.column) == (1, 15)  # host.os.type == "linux"
    lines = rule.query_text.splitlines()
    assert lines[first.span.line - 1][first.span.column - 1 :].startswith('host.os.type == "linux"')


def test_corpus_path_exists() -> None:
    assert CORPUS.is_dir(), f"the shared corpus must be beside the project at {CORPUS}"
