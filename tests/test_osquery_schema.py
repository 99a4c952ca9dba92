"""The osquery target's table schema ships inside the package (read at run time); the shared copy
(../shared/schemas/osquery.json, from osquery's specs) is the tests' source of truth. Every table and
column the shared copy has must be in the packaged one with the same SQL type; the packaged one may
have more tables (each names its spec in ``source``)."""

from __future__ import annotations

import json
from importlib.resources import files

from tests.corpus import SHARED


def _tables(doc: dict) -> dict[str, dict[str, str]]:
    return {name: dict(t["columns"]) for name, t in doc["tables"].items()}


def test_packaged_osquery_schema_agrees_with_the_shared_copy() -> None:
    shared = _tables(json.loads((SHARED / "schemas" / "osquery.json").read_text(encoding="utf-8")))
    packaged_doc = json.loads(files("eqlc.targets.osquery").joinpath("schema.json").read_text(encoding="utf-8"))
    packaged = _tables(packaged_doc)
    for table, columns in shared.items():
        assert table in packaged, table
        for col, typ in columns.items():
            assert packaged[table].get(col) == typ, (table, col, typ, packaged[table].get(col))
    assert packaged_doc.get("source"), "the packaged schema says where its facts come from"
