"""grammar/lalr_tables.py (the stored LALR tables, loaded instead of built at start-up) is current:
built from this grammar, and parsing with it gives the same trees as a freshly built parser."""

from __future__ import annotations

import hashlib

import lark

from eqlc.grammar import grammar_text, lalr_tables
from eqlc.parser import LARK_OPTIONS, _lark

from .corpus import sample


def test_tables_match_the_grammar() -> None:
    assert lalr_tables.GRAMMAR_SHA256 == hashlib.sha256(grammar_text().encode()).hexdigest(), (
        "grammar/eql.lark changed: run `python scripts/build_parser_tables.py`")


def test_stored_tables_parse_like_a_fresh_build() -> None:
    fresh = lark.Lark(grammar_text(), **LARK_OPTIONS)
    stored = lark.Lark.load({"data": lalr_tables.DATA, "memo": lalr_tables.MEMO})
    if lalr_tables.LARK_VERSION == lark.__version__:
        assert _lark().parser.parser.parser.parse_table.states == stored.parser.parser.parser.parse_table.states
    texts = [r.query_text for r in sample()] + ['process where a == "b" and not c : ("d*", "?e")']
    for text in texts:
        assert stored.parse(text) == fresh.parse(text), text
