"""Documented limits on the size of what eqlc accepts, checked before any stage that could
exhaust the stack or memory on hostile input.

* :data:`MAX_EXPRESSION_DEPTH`: how deeply one query's expressions may nest (``and``/``or``/
  ``not``/functions/arithmetic, counted on the IR). eqlc's matcher, code generator, witness
  generator, emitters and reference evaluators recurse over the tree; at this depth every one of
  them runs (tested), while 300 levels used to pass ``check`` and then end in RecursionError.
  Elasticsearch has no fixed number for EQL: its parser turns a stack overflow into "EQL
  statement is too large, causing stack overflow when generating the parsing tree", and the
  bool queries it builds are bounded by the node setting ``indices.query.bool.max_nested_depth``.
  The corpus's deepest rule nests 11 levels.
* :data:`MAX_QUERY_CHARS`: the longest query eqlc parses. Parsing, the IR and the generated
  matcher take about 125 bytes of memory per query character (measured: a 5 MB query needed
  624 MB and 50 s, so a 50 MB one needed about 7 GB); the corpus's longest query has 46,905
  characters, this limit is about 21 times that (a 1 MB query: see benchmarks/bench_hostile.py).
* :data:`MAX_RULE_FILE_BYTES`: the largest rule file eqlc reads (a Kibana export holds many
  rules, each query still bounded by :data:`MAX_QUERY_CHARS`).
* :data:`eqlc.lucene_regex.MAX_AUTOMATON_STATES`: the largest regex automaton.

Engines have limits of their own below these (SQLite's parser stack of 100, which osquery
shares; duckdb-kql's recursive parser): there a verification reports an engine error for that
target, never a crash.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from .errors import EqlError

MAX_EXPRESSION_DEPTH = 100
MAX_QUERY_CHARS = 1_000_000
MAX_RULE_FILE_BYTES = 64 * 1024 * 1024


def expression_depth(node: Any) -> tuple[int, Any]:
    """The nesting depth of an IR tree and its deepest node, computed without recursion."""
    best, deepest = 0, node
    stack = [(node, 0)]
    while stack:
        n, d = stack.pop()
        if d > best:
            best, deepest = d, n
        for f in dataclasses.fields(n):
            if f.name == "span":
                continue
            v = getattr(n, f.name)
            for c in (v if isinstance(v, tuple) else (v,)):
                if dataclasses.is_dataclass(c) and not isinstance(c, type):
                    stack.append((c, d + 1))
    return best, deepest


def check_depth(query: Any) -> None:
    """Raise :class:`EqlError` at the deepest node when ``query`` nests past the limit."""
    depth, node = expression_depth(query)
    if depth > MAX_EXPRESSION_DEPTH:
        span = getattr(node, "span", None)
        raise EqlError(
            f"expression nested {depth} levels deep; eqlc accepts at most {MAX_EXPRESSION_DEPTH} "
            f"(Elasticsearch too refuses statements nested deeply enough to overflow its parser's stack)",
            getattr(span, "line", 0) or 1, getattr(span, "column", 0) or 1)


def check_query_size(text: str) -> None:
    """Raise :class:`EqlError` for a query over :data:`MAX_QUERY_CHARS`, before parsing it."""
    if len(text) > MAX_QUERY_CHARS:
        raise EqlError(f"query is {len(text)} characters long; eqlc parses queries of at most {MAX_QUERY_CHARS} "
                       f"characters (the corpus's longest has 46,905)", 1, 1)


def check_file_size(size: int, path: str) -> None:
    """Raise :class:`EqlError` for a rule file over :data:`MAX_RULE_FILE_BYTES`."""
    if size > MAX_RULE_FILE_BYTES:
        raise EqlError(f"rule file is {size} bytes; eqlc reads rule files of at most {MAX_RULE_FILE_BYTES} bytes "
                       f"(Kibana exports of thousands of rules included)", path=path)
