"""Parse the whole shared corpus and report rules/second for eqlc and for the `eql` package.

    python benchmarks/bench_parse.py [--repeat 3] [--corpus ../shared/corpus/elastic-detection-rules]

Both parsers get the same query strings (read from the TOML files beforehand, so file I/O is not
timed). eqlc's time includes building the IR and the semantic checks; eql's includes its AST and
its own checks, in its Elasticsearch-syntax mode. The best of ``--repeat`` runs is reported.
"""

from __future__ import annotations

import argparse
import sys
import time
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from eqlc import parse_query  # noqa: E402
from eqlc.parser import _lark  # noqa: E402


def best_of(repeat: int, fn) -> float:
    best = float("inf")
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t)
    return best


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--corpus", type=Path, default=ROOT.parent / "shared" / "corpus" / "elastic-detection-rules")
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    queries = [tomllib.loads(f.read_text())["rule"]["query"] for f in sorted(args.corpus.rglob("*.toml"))]
    n = len(queries)

    t0 = time.perf_counter()
    _lark()
    grammar_build = time.perf_counter() - t0
    eqlc_time = best_of(args.repeat, lambda: [parse_query(q) for q in queries])

    import eql

    def eql_parse() -> None:
        with eql.parser.elasticsearch_syntax, eql.parser.ignore_missing_functions, eql.parser.allow_sample, \
                eql.parser.allow_runs, eql.parser.allow_negation:
            for q in queries:
                eql.parse_query(q)

    eql_time = best_of(args.repeat, eql_parse)
    print(f"rules: {n}")
    print(f"eqlc grammar build (once per process): {grammar_build * 1000:.0f} ms")
    print(f"eqlc: {eqlc_time:.2f} s, {n / eqlc_time:.0f} rules/s")
    print(f"eql {eql.__version__}: {eql_time:.2f} s, {n / eql_time:.0f} rules/s")
    print(f"eqlc / eql speed: {eql_time / eqlc_time:.2f}x")


if __name__ == "__main__":
    main()
