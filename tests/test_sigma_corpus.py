"""The Sigma target over the shared corpus.

* Coverage (all 823 rules, cheap): exact / with assumptions / refused by reason class, asserted
  against tests/data/sigma/coverage.yaml (regenerate with ``python -m eqlc.targets.sigma.coverage``
  after a deliberate change, and say why in the commit).
* Every remaining refusal belongs to a family coverage.py classes (from ../shared/research/
  coverage-gaps.md) as inexpressible in Sigma, apart from the families listed in
  tests/data/sigma/coverage.yaml under ``not_inexpressible`` (with why).
* pySigma in-process on ``tests.corpus.sample()`` (100 rules; EQLC_FULL_CORPUS=1 for all): every
  translation parses, passes ``sigma check``'s validators, SigmaHQ's included (issues only from
  tests/data/sigma/allowed_issues.yaml) and converts with the sqlite backend; the default profile
  converts with sigma-cli's splunk, kusto (microsoft_xdr, sentinel_asim), lucene, esql and eql
  backends except where the backend names one of its own limits (conversions.py), and the counts
  per backend are those of tests/data/sigma/conversions.yaml (``python -m
  eqlc.targets.sigma.conversions`` prints the whole corpus's).
* Execution on the sample's event rules: witness events generated from each rule by
  ``eqlc.fixtures.witness`` and judged by ``eqlc.matcher``; raw and conformed
  (``Emission.conform``: per-field assumptions made true) events. Every disagreement must fall on
  an event that breaks an assumption the translation states.
"""

from __future__ import annotations

import functools
from pathlib import Path

import pytest
import yaml

from eqlc.result import Refused, Status
from eqlc.targets.sigma import TARGET, conversions, validate
from eqlc.targets.sigma.coverage import coverage, verdict
from eqlc.targets.sigma.emit import emit
from tests import sigmahq_data
from tests.corpus import FULL, all_rules, rule_id, sample

DATA = Path(__file__).parent / "data" / "sigma"
EXCLUDES = sigmahq_data.EXCLUDES
ALLOWED_ISSUES = set(yaml.safe_load((DATA / "allowed_issues.yaml").read_text()))
EXPECTED = yaml.safe_load((DATA / "coverage.yaml").read_text())
EXPECTED_COVERAGE = EXPECTED["coverage"]
EXPECTED_CONVERSIONS = yaml.safe_load((DATA / "conversions.yaml").read_text())


@functools.lru_cache(maxsize=None)
def _corpus_translations(profile: str) -> tuple:
    return tuple(TARGET.compile(r, profile=profile) for r in all_rules())


def test_corpus_coverage():
    cov = coverage(all_rules(), "portable", _corpus_translations("portable")).as_dict()
    print(yaml.safe_dump(cov, sort_keys=False))
    assert cov == EXPECTED_COVERAGE, "coverage changed: rerun `python -m eqlc.targets.sigma.coverage` and update tests/data/sigma/coverage.yaml"
    assert cov["total"] == len(all_rules()) == cov["exact"] + cov["assumptions"] + cov["refused"]
    assert not any(k.startswith("other") for k in cov["refused_by_reason"])
    # the cased profile differs only in how case is handled, never in what is translated
    cased = coverage(all_rules(), "cased", _corpus_translations("cased")).as_dict()
    assert cased == cov


def test_remaining_refusals_are_inexpressible():
    """Every refusal left is of a family coverage.py classes as inexpressible in Sigma (the reason and its
    source in the label and comment), or of an open gap family (verdict "gap": what is missing) that
    coverage.yaml lists under not_inexpressible with its exact count -- so a gap can neither be hidden
    under an inexpressible label nor appear or close without this file saying so."""
    cov = coverage(all_rules(), "portable", _corpus_translations("portable")).as_dict()
    allowed = EXPECTED["not_inexpressible"] or {}
    for family, n in cov["refused_by_reason"].items():
        v = verdict(family)
        assert v in ("inexpressible", "gap"), (family, v, n)  # every refusal is in a classified family
        if v == "gap":
            assert allowed.get(family) == n, f"open gap {family!r}: {n} rules, coverage.yaml says {allowed.get(family)}"
    for family in allowed:
        assert verdict(family) == "gap", f"{family!r} is listed as not inexpressible but classed {verdict(family)}"
        assert family in cov["refused_by_reason"], f"{family!r} is closed: remove it from not_inexpressible"
    translated = cov["exact"] + cov["assumptions"]
    assert translated >= EXPECTED["translated_at_least"], translated
    gaps = sum(allowed.values())
    print(f"translated {translated}, refused {cov['refused']}: inexpressible {cov['refused'] - gaps}, open gaps {gaps}")


def test_every_family_has_a_verdict():
    from eqlc.targets.sigma.coverage import REASON_FAMILIES

    for label, _pattern, v in REASON_FAMILIES:
        assert v in ("inexpressible", "gap"), (label, v)
        assert label.startswith("gap: ") == (v == "gap"), label  # a gap says so in the reports too


@functools.lru_cache(maxsize=None)
def _translated(profile: str) -> tuple:
    sigmahq_data.in_process()
    out = []
    for r in sample():
        try:
            out.append((rule_id(r), r, emit(r, profile)))
        except Refused:
            continue
    return tuple(out)


@pytest.mark.parametrize("profile", ["portable", "cased"])
def test_sample_passes_offline_sigma_check(profile):
    translated = _translated(profile)
    assert len(translated) >= (100 if FULL else 25)
    seen = set()
    for rid, _rule, em in translated:
        res = validate.check(em.text, EXCLUDES)
        assert not res.errors, (rid, res.errors)
        kinds = {k for k, _ in res.issues}
        assert kinds <= ALLOWED_ISSUES, (rid, res.issues)
        seen |= kinds
    print(f"{len(translated)} rules checked; allowed issues seen: {sorted(seen)}")


def test_sample_converts_with_sqlite_in_both_profiles():
    for profile in ("portable", "cased"):
        for rid, _rule, em in _translated(profile):
            queries = validate.convert(em.text, "sqlite")
            assert queries and all(q.strip() for q in queries), rid


def test_default_output_converts_with_sigma_cli_backends():
    """The default (portable) profile, as ``sigma convert`` with splunk, kusto (microsoft_xdr,
    sentinel_asim) and elasticsearch (lucene, esql, eql): every failure names a limit of the backend
    or its pipeline, and the counts are those recorded for the sample."""
    rules = [r for _rid, r, _em in _translated("portable")]
    got = conversions.measure(rules, "portable")
    print(yaml.safe_dump(got, sort_keys=False))
    for backend in validate.MEASURED:
        assert not any(k.startswith("other") for k in got[backend]), (backend, got[backend])
        assert "case-sensitive matching (|cased)" not in got[backend]  # portable never writes |cased
    mode = "full" if FULL else "sample"
    assert got == EXPECTED_CONVERSIONS[mode], "conversion counts changed: update tests/data/sigma/conversions.yaml"


def test_cased_profile_fails_only_where_a_backend_has_no_case_sensitive_match():
    translated = _translated("cased")[::4]
    for rid, _rule, em in translated:
        for backend in ("splunk", "kusto"):
            try:
                validate.convert(em.text, backend)
            except Exception as err:  # noqa: BLE001
                assert conversions.limit_of(err) is not None, (rid, backend, err)


def test_correlations_of_the_corpus_are_accepted_by_pysigma():
    from sigma.collection import SigmaCollection
    from sigma.correlations import SigmaCorrelationRule

    n = 0
    for t in _corpus_translations("portable"):
        if t.status is Status.REFUSED or "\ncorrelation:" not in t.output:
            continue
        c = SigmaCollection.from_yaml(t.output)
        c.resolve_rule_references()
        [corr] = [x for x in c.rules if isinstance(x, SigmaCorrelationRule)]
        assert len(corr.rules) == len(c.rules) - 1 and corr.group_by and corr.timespan.seconds > 0
        n += 1
    assert n == EXPECTED_COVERAGE["translated_kinds"]["correlation"]


# ---- execution on generated witness events ---------------------------------------------


def _event_rules() -> list:
    """Event rules of the sample (every third one in CI: witness generation is the slow part;
    EQLC_FULL_CORPUS=1 takes every translated event rule of the corpus)."""
    rules = [(rid, r) for rid, r, em in _translated("portable") if em.kind in ("rule", "collection")]
    return rules if FULL else rules[::3]


@functools.lru_cache(maxsize=1)
def _oracle():
    from eqlc.fixtures.oracle import Oracle

    return Oracle()


@pytest.mark.parametrize("rid, rule", _event_rules(), ids=[rid for rid, _ in _event_rules()])
def test_witness_events_agree_with_the_matcher(rid, rule):
    from eqlc.fixtures.witness import generate

    oracle = _oracle()
    ws = generate(rule, oracle)
    em = emit(rule)
    t = TARGET.compile(rule)
    stats = []
    for mode in ("raw", "conformed"):
        events = ws.events if mode == "raw" else [em.conform(e) for e in ws.events]
        expected = set(ws.expected) if mode == "raw" else set(oracle.selected(rule, events))
        got = set(TARGET.execute(t, events))
        outside = TARGET.outside_assumptions(rule, t, events)
        unexplained = sorted(i for i in got ^ expected if i not in outside)
        assert not unexplained, (mode, unexplained[:5])
        clean = {e["_id"] for e in events if e["_id"] not in outside}
        stats += [len(events), len(got ^ expected), len(clean), len(clean & expected)]
        if mode == "conformed":
            # the comparison is not vacuous: events where every assumption holds exist and agree
            assert clean, "no conformed event satisfies the assumptions"
    # events / disagreements (all explained) / events keeping every assumption / of those selected
    print("SIGMA-WITNESS", rid, "raw", *stats[:4], "conformed", *stats[4:])


@functools.lru_cache(maxsize=1)
def _correlation_rules() -> list:
    """Corpus rules that become correlations (the sample has none): the two with the fewest
    terms' conditions in CI, all of them with EQLC_FULL_CORPUS=1."""
    out = []
    for t, r in zip(_corpus_translations("portable"), all_rules()):
        if t.status is not Status.REFUSED and "\ncorrelation:" in t.output:
            out.append((rule_id(r), r))
    return out if FULL else sorted(out, key=lambda x: len(x[1].query_text))[:2]


@pytest.mark.parametrize("rid, rule", _correlation_rules(), ids=[rid for rid, _ in _correlation_rules()])
def test_sequence_witness_scenarios_agree_with_the_matcher(rid, rule):
    """Each witness scenario is an isolated group of events (own keys, own hour); the Sigma
    correlation must select the same events of a scenario as the matcher, unless one of the
    scenario's events breaks a stated assumption."""
    from eqlc.fixtures.witness import generate

    oracle = _oracle()
    ws = generate(rule, oracle)
    em = emit(rule)
    t = TARGET.compile(rule)
    assert ws.scenarios
    for mode in ("raw", "conformed"):
        events = ws.events if mode == "raw" else [em.conform(e) for e in ws.events]
        expected = set(ws.expected) if mode == "raw" else set(oracle.selected(rule, events))
        got = set(TARGET.execute(t, events))
        outside = TARGET.outside_assumptions(rule, t, events)
        agree = 0
        for s in ws.scenarios:
            ids = set(s.event_ids)
            if got & ids == expected & ids:
                agree += 1
                continue
            assert any(i in outside for i in ids), (mode, s.name, sorted(expected & ids), sorted(got & ids))
        print("SIGMA-SEQUENCE", rid, mode, len(ws.scenarios), agree)
        assert agree >= len(ws.scenarios) // 2
