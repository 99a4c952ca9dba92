"""Field names are Sigma taxonomy names, checked offline.

``sigma check``'s ``sigmahq_invalid_fieldname`` validator downloads SigmaHQ's taxonomy, so it is
excluded offline; this test does its job with the field lists of that taxonomy
(tests/data/sigma/taxonomy_fields.yaml): every Sigma field in the mapping, and every field the
emitter writes for the corpus sample, belongs to its log source's taxonomy (for a rule without a
product: to that category's taxonomy in some product).
"""

from __future__ import annotations

from pathlib import Path

import yaml

from eqlc.result import Refused
from eqlc.targets.sigma.emit import emit
from eqlc.targets.sigma.mapping import load
from tests.corpus import rule_id, sample

TAXONOMY = yaml.safe_load((Path(__file__).parent / "data" / "sigma" / "taxonomy_fields.yaml").read_text())


def allowed(category: str, product) -> set:
    if product:
        return set(TAXONOMY[product][category])
    return set().union(*(TAXONOMY[p][category] for p in TAXONOMY if category in TAXONOMY[p]))


def test_mapping_uses_taxonomy_fields_of_each_product():
    m = load()
    for ls in m.logsources.values():
        category = ls.sigma["category"]
        for product in ls.products:
            names = {s.sigma for e in ls.fields if (s := ls.field(e, product, m.separators)) is not None}
            assert names <= allowed(category, product), (ls.name, product, names - allowed(category, product))


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
                extra = _fields(doc["detection"]) - allowed(ls["category"], ls.get("product"))
                assert not extra, (rule_id(r), ls, extra)
                checked += 1
    assert checked >= 25
