"""The osquery target's table schema ships inside the package (read at run time).

* ../shared/schemas/osquery.json (Linux columns of four tables, from osquery's specs) is the source
  of truth for the tables it has: every column it lists is in the packaged schema, on Linux, with
  the same SQL type.
* Every packaged table carries its provenance (spec path and commit) and agrees with the column
  list recorded from that spec in tests/data/osquery/spec_columns.yaml (schema and per-platform
  extended_schema, the SQL types as the spec declares them).
* The engine builds each platform's tables from it: a query naming a column another platform has
  (Windows' file.original_filename on Linux) does not prepare.
"""

from __future__ import annotations

import json
import sqlite3
from importlib.resources import files
from pathlib import Path

import pytest
import yaml

from eqlc.targets.osquery import engine, fields
from tests.corpus import SHARED

SPEC_COLUMNS = Path(__file__).parent / "data" / "osquery" / "spec_columns.yaml"
OSQUERY_TYPES = {"TEXT", "INTEGER", "BIGINT", "UNSIGNED_BIGINT", "DOUBLE", "BLOB", "DATETIME"}


def _packaged() -> dict:
    return json.loads(files("eqlc.targets.osquery").joinpath("schema.json").read_text(encoding="utf-8"))


def _cols(lines: list) -> dict:
    return dict(line.split(" ", 1) for line in lines)


def test_packaged_osquery_schema_agrees_with_the_shared_copy() -> None:
    shared = json.loads((SHARED / "schemas" / "osquery.json").read_text(encoding="utf-8"))["tables"]
    linux = fields.load_schema()["linux"]
    for table, t in shared.items():
        assert table in linux, table
        for col, typ in t["columns"].items():
            assert linux[table].get(col) == typ, (table, col, typ, linux[table].get(col))
    assert _packaged().get("source"), "the packaged schema says where its facts come from"


def test_every_packaged_table_matches_the_column_list_recorded_from_its_spec() -> None:
    recorded = yaml.safe_load(SPEC_COLUMNS.read_text(encoding="utf-8"))
    packaged = _packaged()["tables"]
    assert set(packaged) == set(recorded)
    for name, t in packaged.items():
        r = recorded[name]
        assert t["spec"] == f"{r['spec']}@{r['commit']}" and len(r["commit"]) == 40, name
        assert r["spec"].startswith("specs/") and r["spec"].endswith(f"{name}.table"), name
        assert t["platforms"] == r["platforms"], name
        assert list(t["columns"].items()) == list(_cols(r["schema"]).items()), name  # same columns, order, types
        assert {p: dict(c) for p, c in (t.get("extended") or {}).items()} == {
            p: _cols(c) for p, c in (r.get("extended_schema") or {}).items()}, name
        for typ in list(t["columns"].values()) + [v for c in (t.get("extended") or {}).values() for v in c.values()]:
            assert typ in OSQUERY_TYPES, (name, typ)


def test_every_source_of_the_mapping_reads_a_table_of_its_platforms() -> None:
    m = fields.load()
    schema = fields.load_schema()
    for src in m.tables.values():
        for p in src.platforms:
            assert src.sql_table in schema[p], (src.name, p)
            spec_platforms = _packaged()["tables"][src.sql_table]["platforms"]
            assert p in spec_platforms, (src.name, p)


@pytest.mark.parametrize("platform,ok", [("windows", True), ("linux", False), ("darwin", False)])
def test_platform_columns_are_only_on_their_platform(platform: str, ok: bool) -> None:
    conn = engine.connect(platform)
    sql = "SELECT f.original_filename FROM file AS f WHERE f.path = 'x'"
    try:
        if ok:
            engine.prepare(conn, sql)
        else:
            with pytest.raises(sqlite3.OperationalError):
                engine.prepare(conn, sql)
    finally:
        conn.close()


def test_tables_of_one_platform_do_not_exist_on_another() -> None:
    conn = engine.connect("linux")
    try:
        with pytest.raises(sqlite3.OperationalError):
            engine.prepare(conn, "SELECT * FROM process_etw_events")
        engine.prepare(conn, "SELECT syscall FROM process_events")
    finally:
        conn.close()
    conn = engine.connect("darwin")
    try:
        with pytest.raises(sqlite3.OperationalError):
            engine.prepare(conn, "SELECT syscall FROM process_events")  # a Linux extended_schema column
        engine.prepare(conn, "SELECT cmdline_count FROM es_process_events")
    finally:
        conn.close()
