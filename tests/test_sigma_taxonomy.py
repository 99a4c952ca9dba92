"""Field names and log sources are those of SigmaHQ's taxonomy, checked offline.

``sigma check``'s ``sigmahq_invalid_fieldname`` and ``sigmahq_logsource_unknown`` validators download
SigmaHQ's taxonomy; tests/data/sigma/sigmahq/sigmahq_taxonomy.json holds the entries of that file
(pySigma-validators-sigmaHQ tools/sigmahq_taxonomy.json, version 20251205) for the log sources
eqlc's mapping names. Every Sigma field the mapping writes belongs to its log source's field list
(a log source whose list is empty, the services such as aws/cloudtrail, accepts any name, as the
validator does), and every log source is SigmaHQ's, except those listed below with the reason.
"""

from __future__ import annotations

import json
from pathlib import Path

import yaml

from eqlc.result import Refused
from eqlc.targets.sigma.emit import emit
from eqlc.targets.sigma.mapping import column_of, load
from tests.corpus import rule_id, sample

DATA = Path(__file__).parent / "data" / "sigma"
TAXONOMY = json.loads((DATA / "sigmahq" / "sigmahq_taxonomy.json").read_text())["taxonomy"]
FIELDS = {
    (e["logsource"]["product"], e["logsource"]["category"], e["logsource"]["service"]): set(e["field"]["native"] + e["field"]["custom"])
    for e in TAXONOMY.values()
}
# Log sources of the mapping that SigmaHQ's taxonomy json does not list, and why they are written
NOT_IN_SIGMAHQ = yaml.safe_load((DATA / "allowed_logsources.yaml").read_text())


def _key(logsource: dict, product) -> tuple:
    return (logsource.get("product") or product, logsource.get("category"), logsource.get("service"))


def test_every_log_source_is_sigmahqs_or_listed_with_a_reason():
    m = load()
    for ls in m.logsources.values():
        for product in ls.products or [None]:
            key = _key(ls.sigma, product)
            assert key in FIELDS or list(key) in NOT_IN_SIGMAHQ, key


def test_mapping_uses_taxonomy_fields_of_each_log_source():
    m = load()
    for ls in m.logsources.values():
        for product in ls.products or [None]:
            allowed = FIELDS.get(_key(ls.sigma, product))
            if not allowed:  # not in the json (listed above) or a service without a field list
                continue
            names = {c for ecs in ls.fields for spec in [ls.field(ecs, product, m.separators)] if spec is not None
                     for c in column_of(ls.fields[ecs]) if spec.kind not in ("constant",)}
            names |= {n for opts in ls.prefixes.values() for n in (opts or {}).get("only", [])}
            assert names <= allowed, (ls.name, product, names - allowed)
            if ls.prefixes:  # a prefix mapping without `only` would accept names the taxonomy lacks
                assert all((opts or {}).get("only") for opts in ls.prefixes.values()), ls.name


def _fields(detection: dict) -> set:
    out = set()
    for name, block in detection.items():
        if name == "condition":
            continue
        for item in block if isinstance(block, list) else [block]:
            out |= {k.split("|")[0] for k in item}
    return out


def test_emitted_fields_are_taxonomy_fields():
    checked = 0
    for r in sample():
        try:
            em = emit(r)
        except Refused:
            continue
        for doc in em.docs:
            if "detection" in doc:
                ls = doc["logsource"]
                allowed = FIELDS.get(_key(ls, None))
                if not allowed:
                    continue
                extra = _fields(doc["detection"]) - allowed
                assert not extra, (rule_id(r), ls, extra)
                checked += 1
    assert checked >= 25
