"""Print, as one JSON document, what eqlc derives from some corpus rules: their generated
witnesses (``eqlc.fixtures.witness.generate``, what ``eqlc verify`` runs the targets on) and their
matcher prefilter needles (``eqlc.matcher.needles``).

Run by tests/test_hash_seed.py in subprocesses with different ``PYTHONHASHSEED`` values (the seed
is fixed when the interpreter starts, so it cannot vary inside one test process): the documents
must be byte-identical. Events are written with their keys in the order the generator built them
(no ``sort_keys``), so an order that follows set iteration is caught too.

Usage: python -m tests.hash_seed_probe --witnesses RULE.toml... --needles RULE.toml...
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any, Optional

from eqlc.fixtures.oracle import Oracle
from eqlc.fixtures.witness import generate
from eqlc.loaders import load_file
from eqlc.matcher import matcher


def _needle_set(needles: Optional[frozenset]) -> Optional[list]:
    """A needle set as a sorted list (the set itself is unordered; which set is chosen is the point)."""
    if needles is None:
        return None
    return sorted([n.text.decode("utf-8", "replace"), n.ci, n.generic] for n in needles)


def witnesses_of(path: Path) -> list:
    oracle = Oracle()
    out = []
    for rule in load_file(path):
        ws = generate(rule, oracle)
        out.append({"name": rule.name, "events": ws.events, "expected": ws.expected, "summary": ws.summary()})
    return out


def needles_of(path: Path) -> list:
    out = []
    for rule in load_file(path):
        n = matcher(rule).needles
        out.append({"name": rule.name, "needles": _needle_set(n.needles), "reason": n.reason,
                    "alternatives": [_needle_set(a) for a in n.alternatives]})
    return out


def main(argv: Optional[list] = None) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--witnesses", nargs="*", default=[], type=Path)
    ap.add_argument("--needles", nargs="*", default=[], type=Path)
    args = ap.parse_args(argv)
    doc: dict[str, Any] = {
        "witnesses": {p.name: witnesses_of(p) for p in args.witnesses},
        "needles": {p.name: needles_of(p) for p in args.needles},
    }
    # the "rule" key of a summary is the rule's absolute path: the same in every subprocess
    sys.stdout.write(json.dumps(doc, default=repr, ensure_ascii=False, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
