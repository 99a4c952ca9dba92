"""pySigma's Splunk backend on the Sigma rules eqlc emits, run by the same SPL evaluator as eqlc's SPL.

A comparison, not a requirement on pySigma: every event on which pySigma's SPL and eqlc's SPL select
differently is recorded, with the reason, in tests/data/spl/pysigma_disagreements.yaml, and the
test fails when the recomputed disagreements differ from the record (a new one, or one that went
away). Regenerate deliberately with EQLC_SPL_UPDATE_PYSIGMA=1 (add EQLC_FULL_CORPUS=1 to refresh the
whole-corpus summary too, about 3 minutes).

How: eqlc's Sigma target emits each rule in both its profiles (``cased``: EQL's case-sensitive
comparisons as ``|cased``; ``portable``: without ``|cased``, stating per comparison that values do
not differ only in case). pySigma's ``SplunkBackend`` converts them with the same log-source
pipeline the Sigma target's own execution uses (``eqlc_category``/``eqlc_product`` conditions).
Both SPLs run in the evaluator over the same ECS events: eqlc's on the ecs profile's Splunk events,
pySigma's on Splunk events in Sigma's taxonomy built from the Sigma target's mapping (a field with
several values stays one multivalue field, as Splunk extracts it). Events: the example's fixtures,
and per rule the witness events of :mod:`eqlc.targets.spl.witness`, raw and conformed to the Sigma
translation's data assumptions (``Emission.conform``). eqlc's SPL must select what the Python
matcher selects on every one of them (asserted), so each disagreement is pySigma's or the Sigma
rule's, and gets a reason:

* ``sigma_assumption``: the event breaks an assumption the Sigma translation states (its check
  says so); the Sigma rule itself selects differently there, in every backend.
* otherwise the Sigma rule's own meaning, run by the Sigma target's sqlite engine, agrees with eqlc,
  and a model of a pySigma behaviour, applied to the Sigma rule, reproduces pySigma's verdict
  (the models, demonstrated one by one in the tests at the end of this file):
  ``cased_dropped``, ``question_mark``, ``regex_outside_not`` and their combinations.
* ``unexplained``: none of that; the test fails, so a new kind of difference gets looked at.
"""

from __future__ import annotations

import collections
import copy
import functools
import json
import os
import re
from pathlib import Path
from typing import Callable, Optional

import pytest
import yaml

from eqlc.matcher import matcher as eql_matcher  # the reference semantics; never skipped
from eqlc import ir
from eqlc.events import split_path, values
from eqlc.loaders import load_file
from eqlc.result import Refused
from sigma.backends.splunk import SplunkBackend
from sigma.collection import SigmaCollection
from sigma.processing.pipeline import ProcessingPipeline
from eqlc.targets.sigma import engine as sigma_engine
from eqlc.targets.sigma import mapping as sigma_mapping
from eqlc.targets.sigma.adapter import columns as sigma_columns
from eqlc.targets.sigma.emit import Emission, emit
from eqlc.targets.sigma.engine import logsource_pipeline
from eqlc.targets.sigma.yamlout import dump_all
from eqlc.targets.spl import TARGET, evaluator, witness
from eqlc.targets.spl.adapter import text as splunk_text
from tests.corpus import EXAMPLE_DIR, rule_id
from tests.test_spl_corpus import corpus_rules, meeting_stated_assumptions

RECORD = Path(__file__).parent / "data" / "spl" / "pysigma_disagreements.yaml"
PROFILES = ("cased", "portable")
FULL = os.environ.get("EQLC_FULL_CORPUS") == "1"

MECHANISMS = {
    "sigma_assumption": "the event breaks an assumption the Sigma translation states (named after the colon); the Sigma "
                        "rule itself selects differently there, whatever the backend",
    "cased_dropped": "pySigma's Splunk backend refuses a single `|cased` value but, for several values written as "
                     "`field IN (...)`, silently drops `|cased`: the case-sensitive comparison becomes a case-insensitive "
                     "search term",
    "question_mark": "pySigma writes Sigma's one-character wildcard `?` as `*` (wildcard_single = '*'): the SPL also "
                     "matches zero or several characters there",
    "escaped_star": "pySigma writes Sigma's escaped `\\*` (a literal star) as `\\*` in SPL, where the backslash is a "
                    "literal character and `*` stays a wildcard (SPL has no escape for `*`, SigmaHQ/sigma#3617)",
    "regex_outside_not": "pySigma defers a `|re` item to a `| regex` command after the search; when the item sits in an AND "
                         "under `not` (`not (a and re)`), the search keeps `NOT a` and the regex filters positively, so "
                         "the negation no longer covers it",
}


# ---- events ----------------------------------------------------------------------------------
@functools.lru_cache(maxsize=1)
def _sigma_mapping():
    return sigma_mapping.load()


def sigma_splunk_events(events: list[dict]) -> list[dict]:
    """ECS events as Splunk would hold them in Sigma's taxonomy: one event per log source an
    ECS event belongs to (the Sigma target's mapping), multivalue fields kept whole."""
    m = _sigma_mapping()
    rows = []
    for e in events:
        # the Sigma target's own columns (value maps, event ids, log-source columns), multivalue kept whole
        for _ls, base, choices in sigma_columns(e, m):
            row = {"_id": [e["_id"]]}
            row.update({k: [v] for k, v in base.items() if v is not None})
            for col, vals in choices.items():
                vals = [splunk_text(v) for v in vals if v is not None]
                if vals:
                    row[col] = vals
            rows.append(row)
    return rows


def matcher_selection(rule, events: list[dict]) -> list[str]:
    m = eql_matcher(rule)
    if isinstance(rule.query.body, ir.EventQuery):
        return [e["_id"] for e in events if m.match(e)]
    hits = {e["_id"] for match in m.run(events) for e in match.events}
    return [e["_id"] for e in events if e["_id"] in hits]


# ---- models of pySigma's behaviours, as rewrites of the Sigma rule ---------------------------------
def _map_selections(doc: dict, fix: Callable) -> dict:
    det = doc["detection"]
    return {**doc, "detection": {k: (v if k == "condition" else fix(v)) for k, v in det.items()}}


def model_cased_dropped(doc: dict) -> Optional[dict]:
    def fix(sel):
        if isinstance(sel, dict):
            return {k.replace("|cased", ""): v for k, v in sel.items()}
        return [fix(x) for x in sel] if isinstance(sel, list) else sel
    return _map_selections(doc, fix)


def _question_to_star(s: str) -> str:
    out, i = [], 0
    while i < len(s):
        if s[i] == "\\" and i + 1 < len(s) and s[i + 1] in "*?\\":
            out.append(s[i:i + 2])
            i += 2
            continue
        out.append("*" if s[i] == "?" else s[i])
        i += 1
    return "".join(out)


def _escaped_star_as_backslash(s: str) -> str:
    out, i = [], 0
    while i < len(s):
        if s[i] == "\\" and i + 1 < len(s) and s[i + 1] in "*?\\":
            out.append("\\\\*" if s[i + 1] == "*" else s[i:i + 2])
            i += 2
            continue
        out.append(s[i])
        i += 1
    return "".join(out)


def _map_string_values(doc: dict, rewrite: Callable[[str], str]) -> Optional[dict]:
    """Apply `rewrite` to every non-regex string value of every selection (pySigma models)."""
    def fix_value(key, v):
        if "|re" in key:
            return v
        if isinstance(v, str):
            return rewrite(v)
        return [fix_value(key, x) for x in v] if isinstance(v, list) else v

    def fix(sel):
        if isinstance(sel, dict):
            return {k: fix_value(k, v) for k, v in sel.items()}
        return [fix(x) for x in sel] if isinstance(sel, list) else sel
    return _map_selections(doc, fix)


def model_escaped_star(doc: dict) -> Optional[dict]:
    return _map_string_values(doc, _escaped_star_as_backslash)


def model_question_mark(doc: dict) -> Optional[dict]:
    return _map_string_values(doc, _question_to_star)


_COND_TOKEN = re.compile(r"\s*(\(|\)|and\b|or\b|not\b|[A-Za-z0-9_]+)")


def parse_condition(text: str):
    toks = [m.group(1) for m in _COND_TOKEN.finditer(text)]
    pos = [0]

    def peek():
        return toks[pos[0]] if pos[0] < len(toks) else None

    def take():
        pos[0] += 1
        return toks[pos[0] - 1]

    def any_of():
        xs = [all_of()]
        while peek() == "or":
            take()
            xs.append(all_of())
        return xs[0] if len(xs) == 1 else ("or", xs)

    def all_of():
        xs = [negation()]
        while peek() == "and":
            take()
            xs.append(negation())
        return xs[0] if len(xs) == 1 else ("and", xs)

    def negation():
        if peek() == "not":
            take()
            return ("not", [negation()])
        if peek() == "(":
            take()
            x = any_of()
            take()
            return x
        return ("sel", take())

    return any_of()


def model_regex_outside_not(doc: dict) -> Optional[dict]:
    """A ``|re`` item (one value, no OR above it) under a ``not`` that is not its direct parent
    leaves the NOT and filters positively; a selection left empty stands for "true"."""
    det = copy.deepcopy(doc["detection"])
    hoisted: dict = {}

    def walk(node, above):
        if node[0] == "sel":
            sel = det[node[1]]
            if not isinstance(sel, dict):
                return
            for k in [k for k in sel if "|re" in k and not isinstance(sel[k], list)]:
                direct_not = len(sel) == 1 and above and above[-1] == "not"
                if "or" in above or "not" not in above or direct_not:
                    continue
                hoisted[k] = sel.pop(k)
            return
        for child in node[1]:
            walk(child, above + [node[0]])

    walk(parse_condition(det["condition"]), [])
    if not hoisted:
        return None
    for name, sel in det.items():
        if name != "condition" and isinstance(sel, dict) and not sel:
            det[name] = {"eqlc_category": doc["logsource"]["category"]}
    det["eqlc_hoisted_regex"] = hoisted
    det["condition"] = f"({det['condition']}) and eqlc_hoisted_regex"
    return {**doc, "detection": det}


MODELS: list[tuple[str, tuple]] = [
    ("cased_dropped", (model_cased_dropped,)),
    ("question_mark", (model_question_mark,)),
    ("regex_outside_not", (model_regex_outside_not,)),
    ("cased_dropped+question_mark", (model_cased_dropped, model_question_mark)),
    ("cased_dropped+regex_outside_not", (model_cased_dropped, model_regex_outside_not)),
    ("question_mark+regex_outside_not", (model_question_mark, model_regex_outside_not)),
    ("cased_dropped+question_mark+regex_outside_not", (model_cased_dropped, model_question_mark, model_regex_outside_not)),
    ("escaped_star", (model_escaped_star,)),
    ("cased_dropped+escaped_star", (model_cased_dropped, model_escaped_star)),
]


def sigma_selects(doc: Optional[dict], events: list[dict]) -> Optional[set]:
    """The Sigma rule's own meaning on ``events`` (pySigma's sqlite backend, as the Sigma target runs it)."""
    if doc is None:
        return None
    return set(sigma_engine.run(dump_all([doc], []), events, _sigma_mapping()))


# ---- one rule --------------------------------------------------------------------------------
def pysigma_spl(em: Emission) -> list[str]:
    coll = SigmaCollection.from_yaml(em.text)
    return SplunkBackend(processing_pipeline=logsource_pipeline(coll)).convert(coll)


def compare(rule, profile: str, event_sets: Callable[[Emission], list]) -> dict:
    try:
        em = emit(rule, profile)
    except Refused:
        return {"status": "sigma_refused"}
    try:
        queries = pysigma_spl(em)
    except NotImplementedError as err:
        return {"status": "pysigma_refused", "reason": str(err).split(" (while")[0].strip()}
    try:
        pipelines = [evaluator.parse(q) for q in queries]
    except evaluator.SplError as err:
        return {"status": "not_evaluated", "reason": f"pySigma's SPL is outside what the evaluator accepts "
                                                      f"({type(err).__name__}: {err})"[:200]}
    ours = TARGET.compile(rule)
    if ours.output is None:
        return {"status": "eqlc_refused"}
    doc = em.docs[0]
    out: dict = {"status": "compared", "disagreements": {}}
    for mode, events in event_sets(em):
        events = meeting_stated_assumptions(rule, events)  # the types eqlc's SPL states it assumes
        expected = matcher_selection(rule, events)
        got = TARGET.execute(ours, events)
        assert got == expected, (rule_id(rule), mode, sorted(set(got) ^ set(expected)))
        rows = sigma_splunk_events(events)
        theirs = {i for p in pipelines for row in p.run(rows) for i in row["_id"]}
        by_id = {e["_id"]: e for e in events}
        reasons: dict = collections.defaultdict(lambda: {"pysigma_selects": [], "pysigma_misses": []})
        meaning, modelled = None, {}
        for i in [e["_id"] for e in events if (e["_id"] in theirs) != (e["_id"] in got)]:
            side = "pysigma_selects" if i in theirs else "pysigma_misses"
            broken = em.log.violated_by(by_id[i])
            if broken:
                reasons["sigma_assumption: " + broken[0]][side].append(i)
                continue
            if meaning is None:
                meaning = sigma_selects(doc, events)
            if (i in meaning) != (i in got):
                reasons["sigma_rule_differs"][side].append(i)
                continue
            for name, steps in MODELS:
                if name not in modelled:
                    d: Optional[dict] = doc
                    for step in steps:
                        d = step(d) if d is not None else None
                    modelled[name] = sigma_selects(d, events)
                if modelled[name] is not None and (i in modelled[name]) == (i in theirs):
                    reasons[name][side].append(i)
                    break
            else:
                reasons["unexplained"][side].append(i)
        if reasons:
            entries = []
            for key, sides in sorted(reasons.items()):
                reason, _, assumption = key.partition(": ")
                entry = {"reason": reason, **({"assumption": assumption} if assumption else {})}
                entry.update({side: ids for side, ids in sides.items() if ids})
                entries.append(entry)
            out["disagreements"][mode] = entries
    return out


def _witness_sets(rule, raw_too: bool = False):
    """Witness events conformed to the Sigma translation's data assumptions (on raw ones most
    disagreements only restate those assumptions); the example also gets the raw ones."""
    def sets(em: Emission):
        raw = witness.events_for(rule)
        return ([("witness", raw)] if raw_too else []) + [("witness_conformed", [em.conform(e) for e in raw])]
    return sets


def example():
    (rule,) = load_file(EXAMPLE_DIR / "rule.toml")
    fixtures = [json.loads(line) for line in (EXAMPLE_DIR / "fixtures.ndjson").read_text().splitlines() if line.strip()]

    def sets(em: Emission):
        return [("fixtures", fixtures), ("fixtures_conformed", [em.conform(e) for e in fixtures])] + _witness_sets(rule, True)(em)
    return rule, sets


def summarise(results: dict) -> dict:
    summary: dict = {}
    for profile in PROFILES:
        counts: collections.Counter = collections.Counter()
        for per_rule in results.values():
            r = per_rule[profile]
            counts[r["status"] if r["status"] != "pysigma_refused" else "pysigma_refused: " + r["reason"]] += 1
            for entries in r.get("disagreements", {}).values():
                for entry in entries:
                    counts["events: " + entry["reason"]] += len(entry.get("pysigma_selects", [])) + len(entry.get("pysigma_misses", []))
        summary[profile] = dict(sorted(counts.items()))
    return summary


@functools.lru_cache(maxsize=1)
def computed_example() -> dict:
    rule, sets = example()
    return {p: compare(rule, p, sets) for p in PROFILES}


def run_comparison(rules) -> dict:
    results = {}
    for rule in rules:
        results[rule_id(rule)] = {p: compare(rule, p, _witness_sets(rule)) for p in PROFILES}
    return results


def fixed_sample(rules: tuple, size: int = 100) -> list:
    """tests.corpus.sample()'s every-k-th rule, whatever EQLC_FULL_CORPUS says: the record holds
    this sample, so CI and full runs check the same thing."""
    step = len(rules) / size
    return [rules[int(i * step)] for i in range(size)]


def _record_view(example_results: dict, rules: dict) -> dict:
    return {
        "example": example_results,
        "sample_summary": summarise(rules),
        "rules": {k: v for k, v in sorted(rules.items()) if any(x["status"] != "sigma_refused" for x in v.values())},
    }


@pytest.fixture(scope="module")
def rules(tmp_path_factory):
    return corpus_rules(tmp_path_factory)


class _Dumper(yaml.SafeDumper):
    """Block style, except that a list of event ids stays on one (wrapped) line."""

    def represent_list(self, data):
        flow = all(isinstance(x, str) and len(x) < 12 for x in data)
        return self.represent_sequence("tag:yaml.org,2002:seq", data, flow_style=flow)


_Dumper.add_representer(list, _Dumper.represent_list)


def test_disagreements_are_as_recorded(rules):
    """One test (one computation, on one xdist worker): the record, reasons for everything, and
    a comparison that compares something."""
    got = _record_view(computed_example(), run_comparison(fixed_sample(rules)))
    recorded = yaml.safe_load(RECORD.read_text()) if RECORD.exists() else {}
    if os.environ.get("EQLC_SPL_UPDATE_PYSIGMA") == "1":
        full = summarise(run_comparison(rules)) if FULL else recorded.get("full_corpus_summary")
        data = {"mechanisms": MECHANISMS, **got, "full_corpus_summary": full}
        header = ("# pySigma's Splunk backend vs eqlc's SPL on the same events, both run by the SPL reference evaluator.\n"
                  "# Written by tests/test_spl_pysigma.py (EQLC_SPL_UPDATE_PYSIGMA=1; with EQLC_FULL_CORPUS=1 also the\n"
                  "# whole-corpus summary). Per rule and Sigma profile: the status, and per event set and reason the\n"
                  "# events pySigma's SPL selects although eqlc's (= the matcher) does not, or misses.\n")
        RECORD.write_text(header + yaml.dump(data, Dumper=_Dumper, sort_keys=False, width=120, allow_unicode=True))
        recorded = yaml.safe_load(RECORD.read_text())
    # every disagreement has a known reason (otherwise: look at it, then model or record it)
    for section in [got["example"]] + list(got["rules"].values()):
        for r in section.values():
            for entries in r.get("disagreements", {}).values():
                assert all(part in MECHANISMS for e in entries for part in e["reason"].split("+")), entries
    assert recorded["mechanisms"] == MECHANISMS
    assert got["example"] == recorded["example"], "regenerate with EQLC_SPL_UPDATE_PYSIGMA=1 after checking the change"
    assert got["sample_summary"] == recorded["sample_summary"]
    assert got["rules"] == recorded["rules"]
    # not vacuous: rules compared in both profiles, and pySigma-specific reasons found
    summary = got["sample_summary"]
    assert summary["cased"].get("compared", 0) >= 10 and summary["portable"].get("compared", 0) >= 25
    for profile in PROFILES:
        assert any(k.startswith("events: ") and k != "events: sigma_assumption" for k in summary[profile]), summary[profile]


@pytest.mark.skipif(not FULL, reason="whole-corpus comparison: EQLC_FULL_CORPUS=1 (about 3 minutes)")
def test_whole_corpus_summary_is_as_recorded(rules):
    recorded = yaml.safe_load(RECORD.read_text())
    assert summarise(run_comparison(rules)) == recorded["full_corpus_summary"]


# ---- the pySigma behaviours behind the reasons, each on a minimal Sigma rule ---------------------
def _convert(detection: str) -> list[str]:
    text = "title: t\nlogsource: {category: process_creation, product: linux}\ndetection:\n" + detection
    return SplunkBackend(processing_pipeline=ProcessingPipeline()).convert(SigmaCollection.from_yaml(text))


def test_example_cased_profile_is_refused_by_pysigma_and_portable_is_compared():
    got = computed_example()
    assert got["cased"] == {"status": "pysigma_refused", "reason": "Case-sensitive string matching is not supported by backend."}
    assert got["portable"]["status"] == "compared"
    # on the hand-written fixtures, pySigma's SPL differs only where the event breaks a stated Sigma assumption
    assert {e["reason"] for e in got["portable"]["disagreements"]["fixtures"]} == {"sigma_assumption"}


def test_pysigma_refuses_one_cased_value_but_drops_cased_from_a_list():
    with pytest.raises(NotImplementedError, match="Case-sensitive"):
        _convert("  sel:\n    Image|endswith|cased: '/sh'\n  condition: sel\n")
    (q,) = _convert("  sel:\n    Image|endswith|cased: ['/sh', '/bash']\n  condition: sel\n")
    assert q == 'Image IN ("*/sh", "*/bash")'
    assert [r["_id"][0] for r in evaluator.run(q, [{"_id": ["1"], "Image": ["/bin/SH"]}])] == ["1"]


def test_pysigma_writes_question_mark_as_star():
    (q,) = _convert("  sel:\n    Image: '?:\\x.exe'\n  condition: sel\n")
    assert q == 'Image="*:\\\\x.exe"'
    assert [r["_id"][0] for r in evaluator.run(q, [{"_id": ["1"], "Image": ["ab:\\x.exe"]}])] == ["1"]


def test_pysigma_writes_an_escaped_star_as_backslash_and_wildcard():
    (q,) = _convert("  sel:\n    ObjectDN|startswith: 'DC=\\*,'\n  condition: sel\n")
    assert q == 'ObjectDN="DC=\\*,*"'
    # the literal star the Sigma rule asks for does not match; a backslash followed by anything does
    assert evaluator.run(q, [{"_id": ["1"], "ObjectDN": ["DC=*,x"]}]) == []
    assert [r["_id"][0] for r in evaluator.run(q, [{"_id": ["2"], "ObjectDN": ["DC=\\a,x"]}])] == ["2"]


def test_pysigma_moves_a_regex_out_of_a_negated_and():
    det = "  sel:\n    Image: 'a'\n  f1:\n    User: 'u'\n  fre:\n    CommandLine|re: 'x.y'\n  condition: sel and not (f1 and fre)\n"
    (q,) = _convert(det)
    assert q == 'Image="a" NOT (User="u")\n| regex CommandLine="x.y"'
    # not (User=u and CommandLine~x.y) holds for an event without CommandLine; pySigma's SPL drops it
    assert evaluator.run(q, [{"_id": ["1"], "Image": ["a"]}]) == []
    (q,) = _convert(det.replace("not (f1 and fre)", "not fre"))
    assert q == 'Image="a"\n| regex CommandLine!="x.y"'  # a regex directly under not stays negated


def test_pysigma_output_that_is_no_valid_spl():
    # leading field=value terms are moved in front of the rex/eval chain even when they are OR-ed with it
    (q,) = _convert("  sel:\n    Image: 'a'\n  fre:\n    CommandLine|re: 'x.y'\n  condition: sel or fre\n")
    assert q.endswith('| search OR CommandLineCondition="true"')
    with pytest.raises(evaluator.SplSyntaxError):
        evaluator.parse(q)
