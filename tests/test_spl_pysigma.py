"""pySigma's Splunk backend output for the Sigma rules eqlc emits, run by the same SPL evaluator.

This is a comparison, not a requirement on pySigma: the test records where pySigma's SPL and eqlc's
SPL disagree on the same events and why. Findings (asserted below, so a change shows):

* pySigma's Splunk backend refuses ``|cased`` ("Case-sensitive string matching is not supported by
  backend"), which is how the Sigma target writes EQL's case-sensitive ``==``/``in``/``like``: the
  example rule (``process.name == "dracut"``) cannot be converted at all.
* Rules it converts use search terms only (case-insensitive): where EQL compares case-sensitively,
  pySigma's SPL selects more events (e.g. ``Image="*/sh"`` also matches ``/bin/SH``).
* Regular expressions under OR become ``rex``/``eval`` chains, outside the evaluator's subset.
"""

from __future__ import annotations

import json

import pytest

import targets.sigma as sigma_target  # noqa: E402  (both are real dependencies: never skipped)
import sigma.backends.splunk  # noqa: E402,F401

from sigma.backends.splunk import SplunkBackend  # noqa: E402
from sigma.collection import SigmaCollection  # noqa: E402

from compiler.loaders import load_file  # noqa: E402
from targets.sigma import adapter as sigma_adapter  # noqa: E402
from targets.sigma import mapping as sigma_mapping  # noqa: E402
from targets.sigma.engine import logsource_pipeline  # noqa: E402
from targets.spl import TARGET, evaluator  # noqa: E402
from tests.corpus import EXAMPLE_DIR, sample  # noqa: E402


def pysigma_spl(rule) -> list[str]:
    t = sigma_target.TARGET.compile(rule)
    if t.output is None:
        raise LookupError("sigma target refused")
    coll = SigmaCollection.from_yaml(t.output)
    return SplunkBackend(processing_pipeline=logsource_pipeline(coll)).convert(coll)


def sigma_rows(events):
    m = sigma_mapping.load()
    out = []
    for e in events:
        for row in sigma_adapter.rows(e, m):
            d = {k: [v if isinstance(v, str) else json.dumps(v)] for k, v in row.items() if v is not None}
            d["_id"] = [e["_id"]]
            out.append(d)
    return out


def test_pysigma_cannot_convert_the_example_because_of_cased():
    (rule,) = load_file(EXAMPLE_DIR / "rule.toml")
    with pytest.raises(NotImplementedError, match="Case-sensitive"):
        pysigma_spl(rule)


def test_pysigma_on_a_corpus_sample():
    """How much of pySigma's Splunk output for eqlc's Sigma rules the evaluator can even run."""
    counts = {"converted": 0, "cased": 0, "outside_subset": 0, "sigma_refused": 0}
    for rule in sample(100)[:10]:
        try:
            queries = pysigma_spl(rule)
        except LookupError:
            counts["sigma_refused"] += 1
            continue
        except NotImplementedError as err:
            assert "Case-sensitive" in str(err)
            counts["cased"] += 1
            continue
        try:
            for q in queries:
                evaluator.parse(q)
        except evaluator.Unsupported:
            counts["outside_subset"] += 1
            continue
        counts["converted"] += 1
    assert sum(counts.values()) == 10
    assert counts["cased"] > 0 and counts["converted"] > 0, counts


def test_pysigma_search_terms_are_case_insensitive_where_eql_is_not():
    # pySigma writes Sigma's default (case-insensitive) matching as search terms; eqlc's SPL keeps
    # EQL's case-sensitive == in where. Same events, different selections:
    q = 'eqlc_category="process_creation" Image IN ("*/sh")'
    rows = [{"_id": ["1"], "eqlc_category": ["process_creation"], "Image": ["/bin/SH"]}]
    assert [r["_id"][0] for r in evaluator.run(q, rows)] == ["1"]
