"""Wrongly typed rule metadata is a located error and never loses the batch (issue 19).

Fuzzed: every metadata key of a detection-rules TOML file and of a Kibana export record gets a
value of a wrong type; ``eqlc check`` (in-process loader and the CLI) reports
``file:line:column`` naming the key, never a traceback, and every other rule of the batch
(other files, and the other records of the same export) still loads."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from eqlc.errors import EqlError
from eqlc.loaders import load_batch, load_file
from eqlc.loaders.fields import INT_FIELDS, STRING_FIELDS, STRING_LIST_FIELDS

from tests.corpus import EXAMPLE_DIR

from .conftest import run_cli

GOOD_TOML = (EXAMPLE_DIR / "rule.toml").read_text()
GOOD_NDJSON = (EXAMPLE_DIR / "rule.ndjson").read_text().splitlines()[0]
KEYS = ("query",) + STRING_FIELDS + STRING_LIST_FIELDS + tuple(INT_FIELDS) + ("threat",)

_scalar = st.one_of(st.integers(-5, 10**12), st.booleans(), st.floats(allow_nan=False, allow_infinity=False), st.text(max_size=5))
_value = st.recursive(_scalar, lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(st.sampled_from("abc"), inner, max_size=2)), max_leaves=6)


def _wrong(key: str, value) -> bool:
    """True when ``value`` is not of the type ``key`` takes."""
    if key in STRING_FIELDS or key == "query":
        return not isinstance(value, str)
    if key in STRING_LIST_FIELDS:
        return not (isinstance(value, str) or isinstance(value, list) and all(isinstance(v, str) for v in value))
    if key in INT_FIELDS:
        lo, hi = INT_FIELDS[key]
        return isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi
    return not isinstance(value, list) or any(not isinstance(v, dict) for v in value)


def _toml(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, str):
        # a TOML basic string: JSON's escapes, plus DEL, which JSON leaves raw and TOML forbids raw
        return json.dumps(value, ensure_ascii=False).replace("\x7f", "\\u007f")
    if isinstance(value, list):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    return "{" + ", ".join(f"{k} = {_toml(v)}" for k, v in value.items()) + "}"


def _toml_with(key: str, value) -> str:
    """The example rule with ``key`` (in [rule]) set to ``value``."""
    lines = GOOD_TOML.split("\n")
    out, in_rule, skip = [], False, False
    for line in lines:
        if line.startswith("["):
            in_rule = line.strip() == "[rule]"
            if key == "threat" and line.startswith("[[rule.threat") or line.startswith("[rule.threat"):
                skip = True
            elif not line.startswith("[rule.threat") and not line.startswith("[[rule.threat"):
                skip = False
        if skip:
            continue
        stripped = line.split("=")[0].strip()
        if in_rule and stripped == key:  # drop the original (possibly multi-line) value
            skip_value = True
            out.append(f"{key} = {_toml(value)}")
            continue
        out.append(line)
    text = "\n".join(out)
    if f"\n{key} = " not in text:
        text = text.replace("[rule]\n", f"[rule]\n{key} = {_toml(value)}\n", 1)
    return _drop_orphans(text, key)


def _drop_orphans(text: str, key: str) -> str:
    """Remove continuation lines of the multi-line value that was replaced."""
    import tomllib

    try:
        tomllib.loads(text)
        return text
    except tomllib.TOMLDecodeError:
        pass
    # the replaced key had a multi-line value: rebuild from the parsed original instead
    import re

    start = re.search(rf"^{key} = .*$", text, re.M)
    lines = text.split("\n")
    idx = text.count("\n", 0, start.start())
    j = idx + 1
    while j < len(lines) and not re.match(r"^[a-z_]+ = |^\[", lines[j]):
        j += 1
    return "\n".join(lines[: idx + 1] + lines[j:])


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(key=st.sampled_from(KEYS), value=_value)
def test_toml_wrong_types_are_located_errors(tmp_path, key, value):
    if not _wrong(key, value):
        return
    text = _toml_with(key, value)
    path = tmp_path / "bad.toml"
    path.write_text(text)
    with pytest.raises(EqlError) as info:
        load_file(path)
    err = info.value
    assert key in err.message and err.path == str(path)
    assert err.line >= 1 and err.column >= 1
    assert text.split("\n")[err.line - 1].lstrip().startswith((key, f"[[rule.{key}", f"[rule.{key}"))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(key=st.sampled_from(KEYS), value=st.one_of(st.none(), _value))
def test_kibana_export_keeps_the_other_rules(tmp_path, key, value):
    if value is not None and not _wrong(key, value):
        return
    if value is None and key != "query":
        return  # null is "absent" for optional metadata
    good = json.loads(GOOD_NDJSON)
    bad = dict(dict(good, name="broken"), **{key: value})
    path = tmp_path / "export.ndjson"
    path.write_text("\n".join([json.dumps(dict(good, name="first")), json.dumps(bad), json.dumps(dict(good, name="third")),
                               json.dumps({"exported_count": 3})]) + "\n")
    batch = load_batch(path)
    assert [r.name for r in batch.rules] == ["first", "third"]
    assert len(batch.errors) == 1
    e = batch.errors[0]
    assert e.line == 2 and key in e.message and ("broken" in e.message or key == "name")
    assert e.column == json.dumps(bad).find(f'"{key}"') + 1


@pytest.mark.parametrize("key, toml_value", [("threat", '["x"]'), ("description", "7"), ("query", "7"), ("risk_score", '"high"'),
                                               ("tags", "[1, 2]"), ("name", "{a = 1}")])
def test_cli_check_batch(tmp_path, key, toml_value):
    """The issue's cases through the CLI: a located error, no traceback, the batch continues."""
    (tmp_path / "good.toml").write_text(GOOD_TOML)
    bad = _toml_with(key, "PLACEHOLDER").replace('"PLACEHOLDER"', toml_value)
    (tmp_path / "bad.toml").write_text(bad)
    export = json.loads(GOOD_NDJSON)
    (tmp_path / "export.ndjson").write_text(json.dumps(dict(export, name="ok")) + "\n" + json.dumps(dict(export, query=None)) + "\n")
    res = run_cli("check", str(tmp_path), "--json")
    assert b"Traceback" not in res.stderr
    doc = json.loads(res.stdout)
    assert res.returncode == 2 and doc["parsed"] == 2 and len(doc["failed"]) == 2, doc
    toml_err = next(f for f in doc["failed"] if f["path"].endswith("bad.toml"))
    assert key in toml_err["message"] and toml_err["line"] > 0 and toml_err["column"] > 0
    ndjson_err = next(f for f in doc["failed"] if f["path"].endswith("export.ndjson"))
    assert ndjson_err["line"] == 2 and "'query' must be a string" in ndjson_err["message"]


def test_report_keeps_the_export_rules(tmp_path):
    export = json.loads(GOOD_NDJSON)
    (tmp_path / "export.ndjson").write_text(json.dumps(dict(export, name="ok")) + "\n" + json.dumps(dict(export, threat=["x"])) + "\n")
    from eqlc.report.batch import report_file

    rows = report_file(str(tmp_path / "export.ndjson"), ["python"])
    assert sorted((r["name"], bool(r["error"])) for r in rows) == [("export", True), ("ok", False)]
