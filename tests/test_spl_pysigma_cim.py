"""The cim profile cross-checked against pySigma's Splunk backend with its CIM pipeline
(``splunk_cim_data_model``, output format ``data_model``: a ``tstats`` query) on the Sigma output of
the same rules, both run by the SPL reference evaluator over the same CIM events.

For every corpus rule: eqlc's cim translation, eqlc's Sigma translation (profile ``portable``), and
pySigma's CIM query of that Sigma rule. Coverage is compared (which of the two translates what, and
why pySigma refuses), and, where both translate, both queries run over the rule's witness events as
the cim profile's adapter writes them (CIM fields, constraint tags; the evaluator applies the data
model). Only witnesses inside eqlc's stated cim assumptions are used (eqlc's checks), and eqlc's
search must select exactly what the Python matcher selects on them (asserted), so every difference is
pySigma's or the Sigma rule's, and gets a reason (:data:`MECHANISMS`):

* ``sigma_assumption``: the event breaks an assumption the Sigma translation states;
* ``field_not_in_data_model``: pySigma's query reads a field the CIM 8.5 dataset does not have
  (``Filesystem.process_path``, ``Registry.process_path``): the data model never returns it;
* ``where_reads_a_later_field``: pySigma puts ``<field>Condition="true"`` into the tstats WHERE clause
  although that field is only made later by ``| rex ... | eval``, so that branch never matches;
* ``registry_key_name``: pySigma reads Sigma's TargetObject (the registry path) from
  ``Registry.registry_key_name``, which CIM defines as the key's name;
* ``cased_dropped`` and ``question_mark``: pySigma's Splunk behaviours of tests/test_spl_pysigma.py,
  shown by applying their model to the Sigma rule (its meaning then agrees with pySigma's verdict).

The queries' trailing ``| `drop_dm_object_name(...)` | convert ...`` only rename and format fields;
they are cut before evaluation. A query the evaluator cannot run (a ``BY`` over a multivalue field,
whose result tstats does not document) is recorded as ``not_evaluated`` with the reason.

The record is tests/data/spl/pysigma_cim.yaml: the fixed 100-rule sample's rules and summary (what CI
checks), and the whole corpus's summary (checked with EQLC_FULL_CORPUS=1, about a minute and a half).
Regenerate with EQLC_SPL_UPDATE_PYSIGMA=1 (add EQLC_FULL_CORPUS=1 to refresh the whole-corpus summary)
after checking the change.
"""

from __future__ import annotations

import collections
import os
import re
from pathlib import Path

import pytest
import yaml
from sigma.backends.splunk import SplunkBackend
from sigma.collection import SigmaCollection
from sigma.pipelines.splunk import splunk_cim_data_model

from eqlc.events import values
from eqlc.result import Refused, Status
from eqlc.targets.sigma.emit import emit
from eqlc.targets.spl import TARGET, adapter, evaluator, witness
from eqlc.targets.spl.evaluator import datamodels
from eqlc.targets.spl.profile import load_profile
from tests.corpus import rule_id
from tests.test_spl_corpus import corpus_rules, matcher_selection, meeting_stated_assumptions
from tests.test_spl_pysigma import FULL, MODELS, fixed_sample, sigma_selects

RECORD = Path(__file__).parent / "data" / "spl" / "pysigma_cim.yaml"
MECHANISMS = {
    "sigma_assumption": "the event breaks an assumption the Sigma translation states; the Sigma rule itself selects "
                        "differently there, whatever the backend",
    "field_not_in_data_model": "pySigma's CIM pipeline reads a field the CIM 8.5 dataset does not define (Filesystem and "
                               "Registry have no process_path): the data model never returns it",
    "where_reads_a_later_field": "pySigma writes <field>Condition=\"true\" into the tstats WHERE clause, but the field is "
                                 "made only later by | rex ... | eval, so that branch of the WHERE clause never matches",
    "registry_key_name": "pySigma reads TargetObject (the registry path) from Registry.registry_key_name, which CIM defines "
                         "as the name of the key (\"PrinterDriverData\"); eqlc reads registry_path",
    "cased_dropped": "pySigma drops |cased from a list of values (tests/test_spl_pysigma.py)",
    "question_mark": "pySigma writes Sigma's ? wildcard as * (tests/test_spl_pysigma.py)",
    "regex_outside_not": "pySigma moves a |re item out of a negated AND (tests/test_spl_pysigma.py)",
    "product_ignored": "pySigma's CIM pipeline keeps the log source's category only: the product (linux, windows) adds no "
                       "condition, so the query also reads other operating systems' events (eqlc reads Processes.os)",
    "user_is_domain_name": "Sigma's User is Sysmon's DOMAIN\\name (eqlc reads user.name as its tail, User|endswith "
                           "'\\SYSTEM'); pySigma's CIM pipeline maps User to the data model's user, which the CIM events "
                           "hold as ECS user.name, the name alone, so the backslash pattern never matches there",
}
_DATASET_FIELD = re.compile(r"\b(Processes|Filesystem|Registry|All_Traffic|DNS|Authentication|All_Changes)\.([A-Za-z_]+)")
_DATASETS = {d.node: d for d in datamodels.DATASETS.values()}


def pysigma_cim(text: str) -> list[str]:
    coll = SigmaCollection.from_yaml(text)
    return SplunkBackend(processing_pipeline=splunk_cim_data_model()).convert(coll, output_format="data_model")


def runnable(query: str) -> str:
    """The query without its trailing presentation commands (a macro renaming fields, convert)."""
    cut = query.find("| `drop_dm_object_name(")
    return (query[:cut] if cut >= 0 else query).strip()


def foreign_fields(query: str) -> list[str]:
    """Dataset fields the query names (outside quoted values) that the dataset does not define."""
    bare = re.sub(r'"(?:[^"\\]|\\.)*"', '""', query)
    return sorted({f"{ds}.{name}" for ds, name in _DATASET_FIELD.findall(bare) if name not in _DATASETS[ds].fields})


def _where_clause(query: str) -> str:
    m = re.search(r" where (.*?) by ", query)
    return m.group(1) if m else ""


def compare(rule) -> dict:
    ours = TARGET.compile(rule, profile="cim")
    try:
        em = emit(rule, "portable")
    except Refused:
        return {"status": "sigma_refused", "eqlc_cim": ours.status.value}
    try:
        queries = pysigma_cim(em.text)
    except Exception as err:  # noqa: BLE001 - pySigma's refusal is the result
        return {"status": "pysigma_refused", "eqlc_cim": ours.status.value, "reason": str(err).split(" (while")[0].strip()}
    out: dict = {"status": "compared" if ours.status is not Status.REFUSED else "only_pysigma",
                 "eqlc_cim": ours.status.value}
    foreign = sorted({f for q in queries for f in foreign_fields(q)})
    if foreign:
        out["fields_not_in_data_model"] = foreign
    if ours.status is Status.REFUSED:
        out["eqlc_reason"] = ours.notes[0]
        return out
    try:
        pipelines = [evaluator.parse(runnable(q)) for q in queries]
    except evaluator.SplError as err:
        out["status"] = "not_evaluated"
        out["reason"] = f"{type(err).__name__}: {err}"[:200]
        return out
    events = meeting_stated_assumptions(rule, [em.conform(e) for e in witness.events_for(rule)])
    outside = TARGET.outside_assumptions(rule, ours, events)
    events = [e for e in events if e["_id"] not in outside]
    expected = matcher_selection(rule, events)
    got = TARGET.execute(ours, events)
    assert got == expected, (rule_id(rule), sorted(set(got) ^ set(expected)))
    rows = adapter.adapt(events, load_profile("cim", None), "main", None)
    try:
        theirs = {i for p in pipelines for r in p.run(rows) for i in r.get("_eqlc_from", [])}
    except evaluator.SplError as err:
        out["status"] = "not_evaluated"
        out["reason"] = f"{type(err).__name__}: {err}"[:200]
        return out
    where = " ".join(_where_clause(q) for q in queries)
    product = (em.docs[0].get("logsource") or {}).get("product")
    by_id = {e["_id"]: e for e in events}
    reasons: dict = collections.defaultdict(lambda: {"pysigma_selects": [], "pysigma_misses": []})
    modelled: dict = {}
    for i in [e["_id"] for e in events if (e["_id"] in theirs) != (e["_id"] in set(got))]:
        side = "pysigma_selects" if i in theirs else "pysigma_misses"
        if em.log.violated_by(by_id[i]):
            reasons["sigma_assumption"][side].append(i)
        elif re.search(r"\w+Condition=", where) and side == "pysigma_misses":
            reasons["where_reads_a_later_field"][side].append(i)
        elif foreign and side == "pysigma_misses":
            reasons["field_not_in_data_model"][side].append(i)
        elif product and side == "pysigma_selects" and product not in [str(v) for v in values(by_id[i], ("host", "os", "type"))]:
            reasons["product_ignored"][side].append(i)
        elif re.search(r'\.user(=| IN \()"\*\\\\', where) and side == "pysigma_misses":
            reasons["user_is_domain_name"][side].append(i)
        elif "Registry.registry_key_name" in where:
            reasons["registry_key_name"][side].append(i)
        else:
            for name, steps in MODELS:
                if name not in modelled:
                    d = em.docs[0]
                    for step in steps:
                        d = step(d) if d is not None else None
                    modelled[name] = sigma_selects(d, events)
                if modelled[name] is not None and (i in modelled[name]) == (i in theirs):
                    reasons[name][side].append(i)
                    break
            else:
                reasons["unexplained"][side].append(i)
    if reasons:
        out["disagreements"] = [{"reason": k, **{s: v for s, v in sides.items() if v}} for k, sides in sorted(reasons.items())]
    return out


def summarise(results: dict) -> dict:
    counts: collections.Counter = collections.Counter()
    for r in results.values():
        translated = r["eqlc_cim"] != "refused"
        key = {"compared": "both translate", "not_evaluated": "both translate (pySigma's query not evaluated)",
               "only_pysigma": "only pySigma translates"}.get(r["status"])
        if key is None:
            key = "only eqlc translates" if translated else "neither translates"
            counts[("eqlc only: " if translated else "neither: ") + r["status"]] += 1
        counts[key] += 1
        if r["status"] == "pysigma_refused":
            counts["pysigma refuses: " + r["reason"][:90]] += 1
        for f in r.get("fields_not_in_data_model", []):
            counts["pySigma reads a field CIM 8.5 does not define: " + f] += 1
        for entry in r.get("disagreements", []):
            counts["events: " + entry["reason"]] += len(entry.get("pysigma_selects", [])) + len(entry.get("pysigma_misses", []))
            counts["rules: " + entry["reason"]] += 1
    return dict(sorted(counts.items()))


def _results(rules: tuple) -> dict:
    return {rule_id(r): compare(r) for r in rules}


@pytest.fixture(scope="module")
def rules(tmp_path_factory):
    return corpus_rules(tmp_path_factory)


def _checked(results: dict) -> None:
    for r in results.values():
        for entry in r.get("disagreements", []):
            assert entry["reason"] in MECHANISMS, (entry, r)


def test_cim_against_pysigma_cim_is_as_recorded(rules):
    results = _results(fixed_sample(rules))
    view = {"mechanisms": MECHANISMS, "sample_summary": summarise(results),
            "rules": {k: v for k, v in sorted(results.items()) if v["status"] != "sigma_refused"}}
    recorded = yaml.safe_load(RECORD.read_text()) if RECORD.exists() else {}
    if os.environ.get("EQLC_SPL_UPDATE_PYSIGMA") == "1":
        full = summarise(_results(rules)) if FULL else recorded.get("full_corpus_summary")
        header = ("# eqlc's cim profile vs pySigma's Splunk backend with its CIM pipeline (splunk_cim_data_model, tstats) on\n"
                  "# eqlc's Sigma output of the same rules; both run by the SPL reference evaluator over the same CIM events.\n"
                  "# Written by tests/test_spl_pysigma_cim.py (EQLC_SPL_UPDATE_PYSIGMA=1; with EQLC_FULL_CORPUS=1 also the\n"
                  "# whole-corpus summary).\n")
        data = {"mechanisms": MECHANISMS, "full_corpus_summary": full, "sample_summary": view["sample_summary"],
                "rules": view["rules"]}
        RECORD.write_text(header + yaml.safe_dump(data, sort_keys=False, width=120, allow_unicode=True))
        recorded = yaml.safe_load(RECORD.read_text())
    _checked(results)
    assert recorded["mechanisms"] == MECHANISMS
    assert view["sample_summary"] == recorded["sample_summary"]
    assert view["rules"] == recorded["rules"]
    # not vacuous: rules compared, and pySigma-specific differences found and explained
    assert view["sample_summary"].get("both translate", 0) >= 15
    assert any(k.startswith("events: ") and k != "events: sigma_assumption" for k in view["sample_summary"])


@pytest.mark.skipif(not FULL, reason="whole-corpus comparison: EQLC_FULL_CORPUS=1 (about a minute and a half)")
def test_whole_corpus_summary_is_as_recorded(rules):
    results = _results(rules)
    _checked(results)
    assert summarise(results) == yaml.safe_load(RECORD.read_text())["full_corpus_summary"]


def test_pysigma_cim_reads_fields_the_data_model_does_not_define():
    text = ("title: t\nlogsource: {category: file_event, product: windows}\n"
            "detection:\n  sel:\n    Image|endswith: '\\\\cmd.exe'\n    TargetFilename|endswith: '.lnk'\n  condition: sel\n")
    (q,) = pysigma_cim(text)
    assert foreign_fields(q) == ["Filesystem.process_path"]
    rows = [{"_id": ["1"], "tag": ["endpoint", "filesystem"], "process_path": ["C:\\w\\cmd.exe"], "file_path": ["C:\\a.lnk"]}]
    assert evaluator.run(runnable(q), rows) == []  # the dataset does not return process_path: nothing matches


def test_pysigma_cim_puts_a_later_field_into_the_tstats_where_clause():
    text = ("title: t\nlogsource: {category: process_creation, product: windows}\n"
            "detection:\n  a:\n    Image|endswith: '\\\\x.exe'\n  b:\n    CommandLine|re: 'a.c'\n  condition: a or b\n")
    (q,) = pysigma_cim(text)
    assert re.search(r"where .*processCondition=\"true\".* by ", q)
    rows = [{"_id": ["1"], "tag": ["process", "report"], "process": ["abc"], "process_path": ["C:\\y.exe"]}]
    assert evaluator.run(runnable(q), rows) == []  # the regex branch never matches: its field does not exist yet
