"""Access to the shared rule corpus for tests.

Whole-corpus runs are slow for some targets (engines, subprocesses), so tests use
:func:`sample` (a fixed, deterministic 100-rule sample: every k-th file in sorted order) unless
``EQLC_FULL_CORPUS=1`` is set, in which case the sample *is* the whole corpus. Tests that assert
counts over the full corpus and are cheap use :func:`all_rules` directly.
"""

from __future__ import annotations

import functools
import os
from pathlib import Path

from eqlc.loaders import load_file
from eqlc.rule import Rule

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared"
CORPUS = SHARED / "corpus" / "elastic-detection-rules"
EXAMPLE_DIR = ROOT / "examples" / "manual_dracut_execution"
FULL = os.environ.get("EQLC_FULL_CORPUS") == "1"
SAMPLE_SIZE = 100


@functools.lru_cache(maxsize=1)
def corpus_files() -> tuple[Path, ...]:
    return tuple(sorted(CORPUS.rglob("*.toml")))


@functools.lru_cache(maxsize=1)
def all_rules() -> tuple[Rule, ...]:
    """Every corpus rule, parsed once per test process."""
    out: list[Rule] = []
    for f in corpus_files():
        out.extend(load_file(f))
    return tuple(out)


def sample(size: int = SAMPLE_SIZE) -> tuple[Rule, ...]:
    """A fixed sample of ``size`` rules (every k-th), or all rules with EQLC_FULL_CORPUS=1."""
    rules = all_rules()
    if FULL or size >= len(rules):
        return rules
    step = len(rules) / size
    return tuple(rules[int(i * step)] for i in range(size))


def rule_id(rule: Rule) -> str:
    """A short test id for a corpus rule: its path relative to the corpus."""
    try:
        return str(Path(rule.path).relative_to(CORPUS))
    except ValueError:
        return str(rule.path)
