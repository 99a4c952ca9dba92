"""Rule loaders: every input format of the example gives the same IR and the right metadata;
errors inside a rule file point at the file's own line and column; batches survive bad files."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from eqlc import EqlError
from eqlc.loaders import load_batch, load_rules
from tests.corpus import EXAMPLE_DIR

FORMATS = ["eql", "toml", "ndjson", "md", "txt"]


@pytest.mark.parametrize("fmt", FORMATS)
def test_every_format_of_the_example_gives_the_same_query(fmt: str) -> None:
    reference = load_rules(EXAMPLE_DIR / "rule.eql")[0].query
    rules = load_rules(EXAMPLE_DIR / f"rule.{fmt}")
    assert len(rules) == 1
    assert rules[0].query == reference


@pytest.mark.parametrize("fmt", ["toml", "ndjson", "md", "txt"])
def test_metadata_of_the_example(fmt: str) -> None:
    rule = load_rules(EXAMPLE_DIR / f"rule.{fmt}")[0]
    assert rule.name == "Manual Dracut Execution"
    assert rule.severity == "low"
    assert rule.risk_score == 21
    assert rule.interval == "5m" and rule.interval_ms == 300_000
    assert rule.from_ == "now-9m" and rule.lookback_ms == 540_000
    assert "logs-endpoint.events.*" in rule.index
    assert "OS: Linux" in rule.tags and rule.os_types == ("linux",)
    assert rule.author == ("Elastic",)
    assert rule.license == "Elastic License v2"
    assert [t.tactic_id for t in rule.threat] == ["TA0003", "TA0002"]
    assert "dracut" in rule.description


@pytest.mark.parametrize("fmt", ["toml", "ndjson", "md"])
def test_techniques_and_subtechniques(fmt: str) -> None:
    rule = load_rules(EXAMPLE_DIR / f"rule.{fmt}")[0]
    assert rule.technique_ids() == ["T1542", "T1059", "T1059.004"]


def test_plain_text_page_has_tactics_from_tags() -> None:
    rule = load_rules(EXAMPLE_DIR / "rule.txt")[0]
    assert [t.tactic_name for t in rule.threat] == ["Persistence", "Execution"]


def test_toml_rule_id_and_dates() -> None:
    rule = load_rules(EXAMPLE_DIR / "rule.toml")[0]
    assert rule.rule_id == "834ee026-f9f9-4ec7-b5e0-7fbfe84765f4"
    assert rule.created == "2025/01/16"


def test_error_in_toml_points_into_the_file(tmp_path: Path) -> None:
    text = (EXAMPLE_DIR / "rule.toml").read_text().replace('process.name == "dracut"', 'process.name == "dracut" and and')
    bad = tmp_path / "bad.toml"
    bad.write_text(text)
    with pytest.raises(EqlError) as info:
        load_rules(bad)
    err = info.value
    line = text.splitlines()[err.line - 1]
    assert err.path == str(bad)
    assert line[err.column - 1 :].startswith("and and process.parent")
    assert err.render().startswith(f"{bad}:{err.line}:{err.column}: error: unexpected 'and'")


def test_error_in_markdown_points_into_the_file(tmp_path: Path) -> None:
    text = (EXAMPLE_DIR / "rule.md").read_text().replace('"dracut" and process.parent.executable', '"dracut" and process.parent.executable ===')
    bad = tmp_path / "bad.md"
    bad.write_text(text)
    with pytest.raises(EqlError) as info:
        load_rules(bad)
    err = info.value
    assert text.splitlines()[err.line - 1][err.column - 1 :].startswith("=")


def test_invalid_toml_is_located(tmp_path: Path) -> None:
    bad = tmp_path / "broken.toml"
    bad.write_text('[rule]\nname = "x\nquery = "process where true"\n')
    with pytest.raises(EqlError) as info:
        load_rules(bad)
    assert info.value.line == 2 and "invalid TOML" in info.value.message


def test_kibana_export_with_several_rules_and_a_summary(tmp_path: Path) -> None:
    base = json.loads((EXAMPLE_DIR / "rule.ndjson").read_text().splitlines()[0])
    second = dict(base, name="Second", rule_id="r2", query='file where file.name : "a*"')
    kql = dict(base, name="Not EQL", language="kuery", type="query", query="a:b")
    p = tmp_path / "export.ndjson"
    p.write_text("\n".join(json.dumps(x) for x in [base, second, kql, {"exported_count": 3}]) + "\n")
    rules = load_rules(p)
    assert [r.name for r in rules] == ["Manual Dracut Execution", "Second"]


def test_kibana_export_bad_query_names_the_line(tmp_path: Path) -> None:
    base = json.loads((EXAMPLE_DIR / "rule.ndjson").read_text().splitlines()[0])
    p = tmp_path / "export.ndjson"
    p.write_text(json.dumps(base) + "\n" + json.dumps(dict(base, name="Broken", query="process where (")) + "\n")
    with pytest.raises(EqlError) as info:
        load_rules(p)
    assert info.value.line == 2 and "Broken" in info.value.message


def test_batch_keeps_going_past_bad_files(tmp_path: Path) -> None:
    (tmp_path / "good.eql").write_text('process where process.name == "a"\n')
    (tmp_path / "bad.eql").write_text("process where (\n")
    (tmp_path / "binary.eql").write_bytes(b"\xff\xfe\x00")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "also_good.eql").write_text('file where true\n')
    batch = load_batch(tmp_path)
    assert sorted(Path(r.path).name for r in batch.rules) == ["also_good.eql", "good.eql"]
    assert sorted(Path(e.path).name for e in batch.errors) == ["bad.eql", "binary.eql"]


def test_missing_path_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(EqlError, match="no such file"):
        load_rules(tmp_path / "nope.eql")
