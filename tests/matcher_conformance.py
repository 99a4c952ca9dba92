"""Loading and running Elasticsearch's EQL QA suite (shared/conformance/elasticsearch-eql) the way
its Java harness does (see that folder's README): per file, which data/mapping, which id field,
which tiebreaker; ``size`` 50 unless the case says otherwise; ``result_position`` head or tail
(the harness picks one at random, so a case passes only if both give the expected ids); join keys
compared as strings ("null" for null) when the case lists them.

The effective index mapping is the file's explicit mapping completed by Elasticsearch's dynamic
mapping of the data (esmapping.infer_mapping), as in an index that received those documents.
"""

from __future__ import annotations

import functools
import json
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

from eqlc.errors import EqlError
from eqlc.matcher import infer_mapping, matcher, merge_mappings
from eqlc.matcher.esmapping import load_index_mapping

SUITE = Path(__file__).resolve().parent.parent.parent / "shared" / "conformance" / "elasticsearch-eql"
FILETIME_EPOCH = 116444736000000000


@dataclass(frozen=True)
class Dataset:
    events: tuple
    mapping: Any
    id_field: str
    tiebreaker: Optional[str]


@dataclass
class Case:
    file: str
    name: str
    query: Any  # EQL text, or IR for a front-end workaround
    expected: list  # list of alternative id lists
    join_keys: Optional[list] = None
    size: Optional[int] = None
    max_samples_per_key: int = 1


@dataclass
class Outcome:
    passed: bool
    detail: str = ""
    got: list = field(default_factory=list)


def _json_lenient(text: str) -> Any:
    """Elasticsearch's JSON parser accepts ``//`` comment lines (missing-events.data has some)."""
    return json.loads("\n".join(line for line in text.splitlines() if not line.lstrip().startswith("//")))


def _toml(path: Path) -> dict:
    text = path.read_text()
    if path.name == "test_extra.toml":
        # bare `null` inside join_keys arrays (jtoml accepts it, tomllib does not)
        out, in_keys = [], False
        for line in text.splitlines():
            if line.lstrip().startswith("join_keys"):
                in_keys = True
            if in_keys:
                line = re.sub(r'(?<!["\w])null(?!["\w])', '"null"', line)
                if "]" in line:
                    in_keys = False
            out.append(line)
        text = "\n".join(out)
    return tomllib.loads(text)


@functools.lru_cache(maxsize=None)
def dataset(name: str) -> Dataset:
    if name == "endgame":
        events = []
        for e in json.loads((SUITE / "test_data.json").read_text()):
            e = dict(e)
            e["@timestamp"] = (e["timestamp"] - FILETIME_EPOCH) // 10000
            events.append(e)
        mapping = infer_mapping(events, load_index_mapping(SUITE / "mapping-default.json"))
        return Dataset(tuple(events), mapping, "serial_event_id", "serial_event_id")
    if name in ("extra", "missing-events", "sample-multi"):
        events = _json_lenient((SUITE / "data" / f"{name}.data").read_text())
        mapping = infer_mapping(events, load_index_mapping(SUITE / "data" / f"{name}.mapping"))
        id_field = "id" if name == "sample-multi" else "sequence"
        tb = None if name == "sample-multi" else "sequence"
        return Dataset(tuple(events), mapping, id_field, tb)
    if name == "sample":
        events, maps = [], []
        for idx in ("sample1", "sample2", "sample3"):
            evs = _json_lenient((SUITE / "data" / f"{idx}.data").read_text())
            m = load_index_mapping(SUITE / "data" / f"{idx}.mapping")
            maps.append(infer_mapping(evs, m))
            events += evs
        merged = merge_mappings(*maps)
        merged.dynamic = False
        return Dataset(tuple(events), merged, "id", None)
    raise KeyError(name)


FILES = {
    "test_queries.toml": "endgame",
    "additional_test_queries.toml": "endgame",
    "test_queries_date.toml": "endgame",
    "test_queries_supported.toml": "endgame",
    "test_between_queries.toml": "endgame",
    "test_extra.toml": "extra",
    "test_missing_events.toml": "missing-events",
    "test_sample.toml": "sample",
    "test_sample_multi.toml": "sample-multi",
}


def cases(file: str) -> list[Case]:
    data = _toml(SUITE / file)
    out = []
    for i, q in enumerate(data["queries"]):
        exp = q["expected_event_ids"]
        alts = exp if exp and isinstance(exp[0], list) else [exp]
        out.append(Case(
            file, q.get("name") or f"#{i + 1}", q["query"].strip(), alts, q.get("join_keys"),
            q.get("size"), q.get("max_samples_per_key", 1),
        ))
    return out


def _key_text(v: Any) -> str:
    if v is None:
        return "null"
    if isinstance(v, bool):
        return "true" if v else "false"
    return str(v)


def run_case(case: Case, data: Optional[Dataset] = None) -> Outcome:
    data = data or dataset(FILES[case.file])
    try:
        m = matcher(case.query, mapping=data.mapping, tiebreaker_field=data.tiebreaker)  # text or IR
    except EqlError as err:
        return Outcome(False, f"query rejected: {err.message}")
    size = 50 if case.size is None else case.size
    results = []
    for position in ("head", "tail"):
        ids, keys = [], []
        for match in m.run(list(data.events), sort=True, size=size, result_position=position,
                           max_samples_per_key=case.max_samples_per_key):
            for e in match.events:
                ids.append(-1 if e is None else e.get(data.id_field))
            keys += [_key_text(k) for k in match.keys]
        results.append((position, ids, keys))
    for position, ids, keys in results:
        if ids not in case.expected:
            return Outcome(False, f"{position}: got ids {ids}, expected {case.expected[0]}", ids)
        if case.join_keys is not None and keys != [_key_text(k) if k != "null" else "null" for k in case.join_keys]:
            return Outcome(False, f"{position}: got join keys {keys}, expected {case.join_keys}", ids)
    return Outcome(True, got=results[0][1])


# ------------------------------------------------------------------------------------------------
# Front-end workarounds: cases Elasticsearch accepts but compiler/parser.py rejects. The query is
# parsed in a form the front end accepts and the IR is then set to what the original text means,
# so the case still tests the matcher. Each is reported as a front-end bug.
# ------------------------------------------------------------------------------------------------

from dataclasses import replace as _replace  # noqa: E402

from eqlc import ir as _ir  # noqa: E402
from eqlc.parser import parse_query as _parse  # noqa: E402


def _sample_without_shared_keys(text: str) -> _ir.Query:
    """``sample [..] by a [..] by b`` (no ``sample by``): parse with a dummy shared key, drop it."""
    q = _parse(text.replace("sample", "sample by __eqlc_dummy__", 1))
    return _replace(q, body=_replace(q.body, by=()))


def _runs_on_missing(text: str) -> _ir.Query:
    """``![...] by k with runs=2``: parse without the runs, then set it on the missing term."""
    marker = '![ test5 where tag == "missing" ] by k2 with runs=2'
    q = _parse(text.replace(marker, marker.replace(" with runs=2", "")))
    terms = tuple(_replace(t, runs=2) if t.missing else t for t in q.body.terms)
    return _replace(q, body=_replace(q.body, terms=terms))


def _optional_field_comparison(text: str) -> _ir.Query:
    """``?x == ?y``: parse ``?x == "<placeholder>"`` and put the field ``?y`` back."""
    q = _parse(text.replace("?x == ?y", '?x == "__eqlc_placeholder__"'))

    def fix(node):
        from eqlc.matcher.optimize import map_children

        if isinstance(node, _ir.String) and node.value == "__eqlc_placeholder__":
            return _ir.Field(("y",), optional=True)
        return map_children(node, fix)

    def fix_term(t):
        return _replace(t, query=_replace(t.query, condition=fix(t.query.condition)))

    return _replace(q, body=_replace(q.body, terms=tuple(fix_term(t) for t in q.body.terms)))


WORKAROUNDS = {
    ("test_sample.toml", "simpleIpAsKey"): _sample_without_shared_keys,
    ("test_sample.toml", "customDateFormatsAsKey_DifferentKeyNames"): _sample_without_shared_keys,
    ("test_sample_multi.toml", "twoSamplesPerKeyOutOfThree_inlineByKey"): _sample_without_shared_keys,
    ("test_missing_events.toml", "withByKey_runsOnMissing"): _runs_on_missing,
    ("test_extra.toml", "sequenceOptionalFieldAsQueryKeysOnly"): _optional_field_comparison,
    ("test_sample.toml", "optionalFieldAsQueryKeysOnly"): _optional_field_comparison,
}


def run_with_workaround(case: Case, data: Optional[Dataset] = None) -> Outcome:
    fix = WORKAROUNDS[(case.file, case.name)]
    return run_case(_replace(case, query=fix(case.query)), data)  # type: ignore[arg-type]
