"""Coverage of the KQL target over the whole shared corpus, for both profiles: how many rules
translate exactly, with stated assumptions, or are refused (grouped by reason). The counts are
compared with tests/data/kql/coverage.yaml (regenerate with EQLC_KQL_COVERAGE_WRITE=1 after a
deliberate change) and printed; every refusal must carry a specific reason and every
translation its query and deployment files.

Parsing the corpus costs ~14 s of CPU per process; :func:`corpus_rules` lets the pytest-xdist
workers of one run share one parse (a pickle in the run's shared temporary directory).
"""

from __future__ import annotations

import collections
import fcntl
import os
import pickle
import re
from pathlib import Path

import pytest
import yaml

from eqlc.result import Status
from eqlc.targets.kql import TARGET
from tests import corpus
from tests.corpus import all_rules

DATA = Path(__file__).resolve().parent / "data" / "kql"
BASELINE = DATA / "coverage.yaml"


def reason_group(note: str) -> str:
    """A refusal reason with its specifics (field names, values) folded, for counting."""
    note = re.sub(r'"[^"]*"|\'[^\']*\'', "X", note)
    note = re.sub(r"(field \??[\w.@]+) has no column in \w+ \(profile [\w-]+\)", r"\1 has no column", note)
    note = re.sub(r"no [\w-]+ table holds `\w+` events.*", "no table for the event category", note)
    note = re.sub(r"value X has no \w+ equivalent.*", "value not in the value mapping", note)
    note = re.sub(r"^([\w.]+) value X contains a space, but .*", r"\1 value with a space (args are read from the command line)", note)
    note = re.sub(r"^join key ([\w.]+) \(\w+\) is .*", r"join key \1 is an array, value-mapped or derived column", note)
    return note.split(":")[0][:80]


def xdist_worker() -> str:
    """The pytest-xdist worker running this process ("master" without xdist)."""
    return os.environ.get("PYTEST_XDIST_WORKER", "master")


def corpus_rules(tmp_path_factory) -> tuple:
    """``tests.corpus.all_rules()``, parsed once per test run and shared by the xdist workers: the
    first worker to need it parses and pickles it under a file lock; the others wait for the
    pickle and load it (~1.5 s). Waiting costs no wall time on a machine whose cores are busy
    (a second parse would compete with the first for them) and at most the parse's ~14 s
    otherwise."""
    if xdist_worker() == "master":
        return all_rules()
    root = tmp_path_factory.getbasetemp().parent
    cache = root / "kql_corpus.pickle"
    if cache.exists():
        return pickle.loads(cache.read_bytes())
    with open(root / "kql_corpus.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if cache.exists():
            return pickle.loads(cache.read_bytes())
        rules = all_rules()
        tmp = cache.with_suffix(".tmp")
        tmp.write_bytes(pickle.dumps(rules, protocol=pickle.HIGHEST_PROTOCOL))
        tmp.rename(cache)
        return rules


def corpus_sample(rules: tuple) -> tuple:
    """``tests.corpus.sample()`` of ``rules`` (the same every-k-th choice, or all rules with
    EQLC_FULL_CORPUS=1)."""
    if corpus.FULL or corpus.SAMPLE_SIZE >= len(rules):
        return rules
    step = len(rules) / corpus.SAMPLE_SIZE
    return tuple(rules[int(i * step)] for i in range(corpus.SAMPLE_SIZE))


@pytest.fixture(scope="module")
def rules(tmp_path_factory):
    return corpus_rules(tmp_path_factory)


def coverage(profile: str, rules: tuple) -> dict:
    counts = collections.Counter()
    reasons = collections.Counter()
    for rule in rules:
        t = TARGET.compile(rule, profile=profile)
        counts[t.status.value] += 1
        if t.status is Status.REFUSED:
            assert t.output is None and len(t.notes) == 1 and len(t.notes[0]) > 20, t.notes
            reasons[reason_group(t.notes[0])] += 1
        else:
            assert t.output and t.artifacts, rule.path
            assert any(name.endswith(".sentinel.yaml") for name in t.artifacts)
            if t.status is Status.ASSUMPTIONS:
                assert all(len(n) > 20 for n in t.notes)
    return {"total": sum(counts.values()), **{s.value: counts[s.value] for s in Status},
            "refused_by_reason": dict(reasons.most_common())}


@pytest.mark.parametrize("profile", ["defender", "sentinel-asim", "sentinel"])
def test_corpus_coverage(profile, rules):
    got = coverage(profile, rules)
    print(f"\n{profile}: {got['exact']} exact, {got['assumptions']} with assumptions, {got['refused']} refused of {got['total']}")
    for reason, n in list(got["refused_by_reason"].items())[:12]:
        print(f"  {n:4d}  {reason}")
    if os.environ.get("EQLC_KQL_COVERAGE_WRITE") == "1":
        data = yaml.safe_load(BASELINE.read_text()) if BASELINE.exists() else {}
        data[profile] = got
        BASELINE.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True))
    baseline = yaml.safe_load(BASELINE.read_text(encoding="utf-8"))[profile]
    assert got["total"] == len(rules) == baseline["total"]
    assert {k: got[k] for k in ("exact", "assumptions", "refused")} == {k: baseline[k] for k in ("exact", "assumptions", "refused")}
    assert got["refused_by_reason"] == baseline["refused_by_reason"]
