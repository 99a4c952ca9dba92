"""Each target's mapping schema (the keys a --mapping file may use) matches the YAML it ships:
every key the target's own files use at a fixed level is in its schema, so that a user's file
written like them is never rejected, and a typo is (tests/test_cli_usage.py checks the messages)."""

from __future__ import annotations

from pathlib import Path

import pytest

from eqlc.errors import MappingError
from eqlc.mapping import ANY, check_keys
from eqlc.targets.kql import profile as kql
from eqlc.targets.osquery import fields as osquery
from eqlc.targets.sigma import mapping as sigma
from eqlc.targets.spl import profile as spl

SHIPPED = [
    (sigma.SCHEMA, sigma.DEFAULT_MAPPING),
    *[(kql.SCHEMA, f) for f in kql.PROFILE_FILES.values()],
    *[(spl.SCHEMA, spl.HERE / f"{p}.yaml") for p in spl.PROFILES],
    (osquery.SCHEMA, osquery.DEFAULT_MAPPING),
    *[(osquery.SCHEMA, f) for f in sorted((osquery.DEFAULT_MAPPING.parent / "mappings").glob("*.yaml"))],
]


@pytest.mark.parametrize("schema,path", SHIPPED, ids=[Path(p).name for _s, p in SHIPPED])
def test_every_shipped_mapping_fits_its_schema_alone(schema, path) -> None:
    check_keys(path, schema)  # no default to fall back on: the schema alone must allow every key


def test_keys_of_the_target_s_own_file_are_allowed_at_their_place(tmp_path: Path) -> None:
    schema = {"tables": {ANY: {"fields": None}}}
    default = {"tables": {"t1": {"fields": {}, "extra": 1}}}
    user = tmp_path / "m.yaml"
    user.write_text("tables:\n  t1:\n    extra: 2\n")
    check_keys(user, schema, default)
    user.write_text("tables:\n  t2:\n    extra: 2\n")  # only t1 has `extra`
    with pytest.raises(MappingError, match=r"m.yaml:3:5: error: unknown key 'extra' under tables > t2; expected one of fields"):
        check_keys(user, schema, default)


def test_merge_keys_and_x_keys(tmp_path: Path) -> None:
    schema = {"a": {"b": None}}
    user = tmp_path / "m.yaml"
    user.write_text("x-anchor: &x {b: 1}\na:\n  <<: *x\n")
    check_keys(user, schema)
    user.write_text("x-anchor: &x {c: 1}\na:\n  <<: *x\n")
    with pytest.raises(MappingError, match="unknown key 'c' under a; expected one of b"):
        check_keys(user, schema)
    user.write_text("- a\n")
    with pytest.raises(MappingError, match="must be a YAML mapping"):
        check_keys(user, schema)
