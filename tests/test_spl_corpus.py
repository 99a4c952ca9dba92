"""The SPL target over the shared corpus: coverage by status and reason for every profile, every
emitted search (and its tstats/datamodel forms) parses in the reference evaluator, and the evaluator
selects what the Python matcher selects on witness events derived from each rule's literals
(:mod:`eqlc.targets.spl.witness`).

Coverage counts are asserted against tests/data/spl/coverage.json (rewrite it with
EQLC_SPL_UPDATE_COVERAGE=1 after a deliberate change; the diff then shows what moved): per profile,
the counts by status, the refusals by reason, and for the Windows profile the same over the Windows
event-log rules (index patterns of winlogbeat, the Windows and the System Security integrations). The
whole corpus is compiled once per profile and process (``translations``), whichever tests ask for it.
The matcher comparisons run on ``tests.corpus.sample()`` (100 rules; all 823 with EQLC_FULL_CORPUS=1,
about 2.5 minutes for ecs); for cim and windows on the witnesses inside each translation's stated
assumptions (its own checks say which), in every form the translation has.
"""

from __future__ import annotations

import collections
import dataclasses
import fcntl
import json
import os
import pickle
import re
from pathlib import Path

import pytest

from eqlc.matcher import matcher as eql_matcher  # the reference semantics; never skipped
from eqlc import ir
from eqlc.events import values
from eqlc.result import Status
from eqlc.targets.spl import TARGET, evaluator, witness
from tests.corpus import all_rules, rule_id

DATA = Path(__file__).parent / "data" / "spl"
COVERAGE = DATA / "coverage.json"


def corpus_rules(tmp_path_factory) -> tuple:
    """``tests.corpus.all_rules()``, parsed once per test run and shared by the xdist workers: the
    first worker to need it parses and pickles it under a file lock, the others load the pickle
    (about 1 s instead of a parse of 7 to 14 s)."""
    global _RULES
    if _RULES is not None:
        return _RULES
    if os.environ.get("PYTEST_XDIST_WORKER") is None:
        _RULES = all_rules()
        return _RULES
    root = tmp_path_factory.getbasetemp().parent
    cache = root / "spl_corpus.pickle"
    with open(root / "spl_corpus.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if cache.exists():
            _RULES = pickle.loads(cache.read_bytes())
        else:
            _RULES = all_rules()
            tmp = cache.with_suffix(".tmp")
            tmp.write_bytes(pickle.dumps(_RULES, protocol=pickle.HIGHEST_PROTOCOL))
            tmp.rename(cache)
    return _RULES


_RULES = None


def corpus_sample(rules: tuple) -> tuple:
    """``tests.corpus.sample()`` of ``rules``: every k-th of 100, or all with EQLC_FULL_CORPUS=1."""
    if os.environ.get("EQLC_FULL_CORPUS") == "1":
        return rules
    step = len(rules) / 100
    return tuple(rules[int(i * step)] for i in range(100))


@pytest.fixture(scope="module")
def rules(tmp_path_factory):
    return corpus_rules(tmp_path_factory)


_TRANSLATIONS: dict = {}


def translations(profile: str) -> tuple:
    """(rule, translation) for every corpus rule, compiled once per process and profile."""
    assert _RULES is not None, "a test asks for the rules fixture first"
    if profile not in _TRANSLATIONS:
        _TRANSLATIONS[profile] = tuple((rule, TARGET.compile(rule, profile=profile)) for rule in _RULES)
    return _TRANSLATIONS[profile]


def _reason_class(note: str) -> str:
    """A refusal reason without its rule-specific details (field names, values)."""
    if note.startswith("ECS field "):  # the field and the dataset that lacks it are the reason
        return re.sub(r" of the \S+ profile mapping$", "", note)
    note = re.sub(r"event category '[^']*'", "event category <c>", note)
    if note.startswith("the condition can never hold on "):
        return re.sub(r"\s*\(.*$", "", note)[:200]
    note = re.sub(r"\(.*", "", note)
    return note.split(":")[0].strip()[:100]


WINDOWS_INDEXES = ("winlogbeat-*", "logs-windows.sysmon_operational-*", "logs-system.security*", "logs-windows.forwarded*",
                   "logs-windows.*")


def is_windows_rule(rule) -> bool:
    """A Windows event-log rule: it reads winlogbeat or the Windows / System Security integrations."""
    return any(p in WINDOWS_INDEXES for p in (rule.index or ()))


def _tally(pairs) -> dict:
    counts: collections.Counter = collections.Counter()
    reasons: collections.Counter = collections.Counter()
    for _rule, t in pairs:
        counts[t.status.value] += 1
        if t.status is Status.REFUSED:
            reasons[_reason_class(t.notes[0])] += 1
    return {"counts": dict(sorted(counts.items())), "refused_by_reason": dict(sorted(reasons.items()))}


def coverage(profile: str) -> dict:
    tstats = 0
    for _rule, t in translations(profile):
        if t.status is Status.REFUSED:
            continue
        evaluator.parse(t.output)  # every emitted search parses in the evaluator
        tstats += t.output.splitlines()[-1].startswith("| tstats")
        for name, text in t.artifacts.items():
            if name.endswith(".spl"):
                evaluator.parse(text)
    out = _tally(translations(profile))
    if profile == "cim":
        out["tstats_forms"] = tstats
    if profile == "windows":
        out["windows_rules"] = _tally(p for p in translations(profile) if is_windows_rule(p[0]))
    return out


@pytest.mark.parametrize("profile", ["ecs", "cim", "windows"])
def test_corpus_coverage_is_as_recorded(profile, rules):
    got = coverage(profile)
    assert sum(got["counts"].values()) == len(rules) == 823
    recorded = json.loads(COVERAGE.read_text()) if COVERAGE.exists() else {}
    if os.environ.get("EQLC_SPL_UPDATE_COVERAGE") == "1":
        recorded[profile] = got
        COVERAGE.write_text(json.dumps(recorded, indent=2, sort_keys=True) + "\n")
    assert got == recorded[profile]


def _typed_fields(node, numeric: set, text: set) -> None:
    """Fields the SPL translation assumes typed: compared with ``<``/``>`` and a number (numbers),
    measured with ``length()`` (text)."""
    if isinstance(node, ir.Compare):
        left = node.left
        if node.op is not ir.CompareOp.EQ and isinstance(left, ir.Field) and isinstance(node.right, ir.Number):
            numeric.add(left.path)
        if isinstance(left, ir.FunctionCall) and left.name == "length" and left.args and isinstance(left.args[0], ir.Field):
            text.add(left.args[0].path)
    if dataclasses.is_dataclass(node) and not isinstance(node, type):
        for f in dataclasses.fields(node):
            v = getattr(node, f.name)
            for item in v if isinstance(v, tuple) else (v,):
                if dataclasses.is_dataclass(item):
                    _typed_fields(item, numeric, text)


def meeting_stated_assumptions(rule, events: list[dict]) -> list[dict]:
    """Leave out events that break the types the SPL translation states it assumes (their ECS
    types): numbers in fields compared with ``<``/``>``, text in fields measured with ``length()``.
    Splunk has no types; the matcher, without an index mapping, types each JSON value, and
    generators put placeholders such as "eqlc-neutral" or a number into any field."""
    numeric: set = set()
    text: set = set()
    _typed_fields(rule.query, numeric, text)
    if not numeric and not text:
        return events

    def fits(e):
        return all(isinstance(v, (int, float)) and not isinstance(v, bool) for f in numeric for v in values(e, f)) \
            and all(isinstance(v, str) for f in text for v in values(e, f))
    return [e for e in events if fits(e)]


def matcher_selection(rule, events: list[dict]) -> list[str]:
    m = eql_matcher(rule)
    if isinstance(rule.query.body, ir.EventQuery):
        return [e["_id"] for e in events if m.match(e)]
    hits = {e["_id"] for match in m.run(events) for e in match.events}
    return [e["_id"] for e in events if e["_id"] in hits]


def test_spl_selects_what_the_matcher_selects_on_the_example_fixtures():
    from eqlc.loaders import load_file
    from tests.corpus import EXAMPLE_DIR

    (rule,) = load_file(EXAMPLE_DIR / "rule.toml")
    events = [json.loads(line) for line in (EXAMPLE_DIR / "fixtures.ndjson").read_text().splitlines() if line.strip()]
    t = TARGET.compile(rule, profile="ecs")
    assert TARGET.execute(t, events, profile="ecs") == matcher_selection(rule, events)


def test_ecs_selects_what_the_matcher_selects_on_witness_events_of_the_corpus_sample(rules):
    """Every translated rule of the sample, event queries and sequences: same ids as the matcher.
    The witness events must exercise the rules (some selected, some not), or the test proves nothing."""
    chosen = {rule_id(r) for r in corpus_sample(rules)}
    compared, selective = 0, 0
    failures = []
    for rule, t in translations("ecs"):
        if rule_id(rule) not in chosen or t.status is Status.REFUSED:
            continue
        events = meeting_stated_assumptions(rule, witness.events_for(rule))
        expected = matcher_selection(rule, events)
        got = TARGET.execute(t, events)
        compared += 1
        selective += 0 < len(expected) < len(events)
        if got != expected:
            failures.append((rule_id(rule), sorted(set(got) ^ set(expected))))
    assert not failures
    assert compared >= 90 and selective >= 0.7 * compared, (compared, selective)


@pytest.mark.parametrize("profile", ["cim", "windows"])
def test_data_model_and_add_on_forms_select_what_the_matcher_selects(profile, rules):
    """Every cim/windows translation, on its witness events inside the translation's stated
    assumptions (``outside_assumptions``: the profile's own checks), in each form it has (the search,
    the tstats form, the datamodel search form): the ids the matcher selects. The witnesses must tell
    a right translation from a wrong one often enough (some rules' witnesses all break an assumption
    such as "process.args is the command line split on spaces", which these simple witnesses do not
    keep consistent; tests/test_verify_corpus.py runs the shared generator, which does)."""
    chosen = {rule_id(r) for r in corpus_sample(rules)}
    compared, selective, failures = 0, 0, []
    for rule, t in translations(profile):
        if t.status is Status.REFUSED or rule_id(rule) not in chosen:
            continue
        events = meeting_stated_assumptions(rule, witness.events_for(rule))
        outside = TARGET.outside_assumptions(rule, t, events)
        events = [e for e in events if e["_id"] not in outside]
        expected = matcher_selection(rule, events)
        forms = [("search", TARGET.execute(t, events, profile=profile))]
        forms += [(name, TARGET.run_text(text, events, profile)) for name, text in t.artifacts.items() if name.endswith(".spl")]
        compared += 1
        selective += 0 < len(expected) < len(events)
        for name, got in forms:
            if got != expected:
                failures.append((rule_id(rule), name, sorted(set(got) ^ set(expected))))
    assert not failures
    translated = sum(1 for r, t in translations(profile) if t.status is not Status.REFUSED and rule_id(r) in chosen)
    assert compared == translated > 0
    # not vacuous: on the whole corpus (EQLC_FULL_CORPUS=1) cim has 66 selective comparisons, windows 47
    assert selective >= (0.2 if os.environ.get("EQLC_FULL_CORPUS") == "1" else 0.15) * compared, (compared, selective)


def test_ecs_selects_what_the_matcher_selects_on_compiler_fixtures_witnesses(rules):
    """A second, independent source of events: the shared witness generator (``eqlc fixtures``:
    MC/DC pairs per atom, edge values, sequence scenarios), whose verdicts come from the matcher.
    It is thorough and slower, so CI takes every fifth rule of the sample, leaves witness sets of
    more than 400 events (up to 25 s each in the evaluator) and one rule whose generation alone
    takes about 10 s to EQLC_FULL_CORPUS=1, which takes every translated rule of the corpus."""
    from eqlc.fixtures.witness import generate

    full = os.environ.get("EQLC_FULL_CORPUS") == "1"
    slow = {"rules_building_block/defense_evasion_masquerading_windows_system32_exe.toml"}
    chosen = {rule_id(r) for r in (corpus_sample(rules) if full else corpus_sample(rules)[::5]) if full or rule_id(r) not in slow}
    compared, failures = 0, []
    for rule, t in translations("ecs"):
        if rule_id(rule) not in chosen or t.status is Status.REFUSED:
            continue
        ws = generate(rule)
        if len(ws.events) > 400 and not full:
            continue
        events = meeting_stated_assumptions(rule, ws.events)
        expected = [e["_id"] for e in events if e["_id"] in set(ws.expected)] if len(events) == len(ws.events) \
            else matcher_selection(rule, events)
        got = TARGET.execute(t, events)
        compared += 1
        if got != expected:
            failures.append((rule_id(rule), sorted(set(got) ^ set(expected))[:10]))
    assert not failures
    assert compared >= 12
