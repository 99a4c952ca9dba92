"""What ``eqlc compile`` (and the other batch commands) show and write, as a person reads it:
``-o`` never overwrites one rule's files with another's, maps every rule to its files (printed
and in ``--json``), prints one line per rule and a table per target instead of the translations;
``--target all`` does not print the Python module's runtime; several paths, globs and
``--query``; ``verify``'s matrix keeps one line per event at 80 columns."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest

from eqlc.cli import main
from eqlc.loaders import load_rules
from eqlc.output import output_stems
from eqlc.rule import Rule
from eqlc.parser import parse_query
from tests.corpus import EXAMPLE_DIR

RULE = str(EXAMPLE_DIR / "rule.toml")


def run(capsys, *args: str) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as exc:
        main(list(args))
    captured = capsys.readouterr()
    return exc.value.code, captured.out, captured.err


def test_same_stem_inputs_get_distinct_stable_names(capsys, tmp_path: Path) -> None:
    out = tmp_path / "out"
    code, stdout, err = run(capsys, "compile", str(EXAMPLE_DIR), "--target", "kql", "-o", str(out), "--json")
    assert code == 0, err
    doc = json.loads(stdout)
    results = doc["results"]
    assert len(results) == 5
    mains = [Path(r["files"][0]).name for r in results]
    assert sorted(mains) == ["manual_dracut_execution.kql", "rule_eql.kql", "rule_md.kql", "rule_toml.kql", "rule_txt.kql"]
    every = [f for r in results for f in r["files"]]
    # per rule: the query, the Sentinel YAML and ARM template, the Defender Graph body and its eqlc metadata
    assert len(every) == len(set(every)) == 25
    assert all(Path(f).is_file() for f in every)
    batch = [f for b in doc["batches"] for f in b["files"]]
    assert [Path(f).name for f in batch] == ["sentinel-defender.json"]  # the batch's one ARM template
    assert sorted(p.name for p in out.iterdir()) == sorted(Path(f).name for f in every + batch)
    assert all(r["profile"] == "defender" for r in results)
    # stable: the same inputs in another order give each rule the same names
    rules = load_rules(EXAMPLE_DIR)
    assert output_stems(rules[::-1]) == output_stems(rules)[::-1]


def test_stems_are_unique_across_folders_and_case(tmp_path: Path) -> None:
    for sub in ("linux", "windows"):
        (tmp_path / sub).mkdir()
        (tmp_path / sub / "rule.eql").write_text('process where process.name == "a"\n')
    (tmp_path / "linux" / "Rule.toml").write_text((EXAMPLE_DIR / "rule.toml").read_text())
    rules = load_rules(tmp_path)
    stems = output_stems(rules)
    # rule/Rule collide on a case-insensitive file system; the format does not tell them apart,
    # the folder does
    assert dict(zip((Path(r.path).relative_to(tmp_path).as_posix() for r in rules), stems)) == {
        "linux/Rule.toml": "Rule_linux_toml", "linux/rule.eql": "rule_linux_eql", "windows/rule.eql": "rule_windows_eql"}
    twins = [Rule(parse_query('process where true'), 'process where true', name="same") for _ in range(2)]
    assert output_stems(twins) == ["same_1", "same_2"]


def test_with_o_one_line_per_rule_and_a_table_per_target(capsys, tmp_path: Path) -> None:
    out = tmp_path / "out"
    code, stdout, err = run(capsys, "compile", str(EXAMPLE_DIR), "--target", "all", "-o", str(out))
    assert code == 0, err
    lines = stdout.splitlines()
    rule_lines = [x for x in lines if " -> " in x and ": " in x]
    assert len(rule_lines) == 25  # 5 rules x 5 targets
    toml_kql = next(x for x in rule_lines if x.startswith(RULE + " -> kql (defender)"))
    assert re.fullmatch(re.escape(RULE) + r" -> kql \(defender\): assumptions -> " + re.escape(str(out / "kql" / "rule_toml.kql"))
                        + r" \(\+4 more\); `process` events are read from DeviceProcessEvents.* \(\+\d+ more\)", toml_kql), toml_kql
    # osquery reads the arguments from the command line by default (args-strict.yaml opts out)
    assert any(re.search(r"-> osquery \(events\): assumptions -> .*rule_toml\.sql", x) for x in rule_lines)
    assert "DeviceProcessEvents\n| lookup" not in stdout  # no translation text
    table = stdout[stdout.index("per target"):]
    for row in ("sigma (portable)", "kql (defender)", "spl (ecs)", "osquery (events)", "python"):
        assert row in table
    assert re.search(r"python\s+│\s+5 │\s+5 │\s+0 │\s+0 │\s+0 │\s+6 │", table), table
    assert f"python: {out / 'python' / 'eqlc_rules.py'} (for the whole batch)" in stdout
    assert sorted(p.name for p in out.iterdir()) == ["kql", "osquery", "python", "sigma", "spl"]
    assert f"osquery: {out / 'osquery' / 'packs' / 'eqlc.linux.pack.json'} (for the whole batch)" in stdout


def test_target_all_without_o_never_prints_the_module_runtime(capsys) -> None:
    code, stdout, _ = run(capsys, "compile", RULE, "--target", "all")
    assert code == 0
    assert "compiler/matcher/runtime.py (embedded)" not in stdout and "def _run_query" not in stdout
    assert re.search(r"Standalone matcher for the EQL rule 'Manual Dracut Execution' .*\(\d+ lines of standard-library "
                     r"Python; write it with -o DIR or --target python\)", stdout)
    code, alone, _ = run(capsys, "compile", RULE, "--target", "python")
    assert "def _run_query" in alone  # asked for on its own, the module is printed


def test_json_results_name_profile_and_files(capsys, tmp_path: Path) -> None:
    code, stdout, _ = run(capsys, "compile", RULE, "--target", "all,kql:sentinel-asim", "--json")
    assert code == 0
    results = json.loads(stdout)["results"]
    assert [(r["target"], r["profile"]) for r in results] == [
        ("sigma", "portable"), ("kql", "defender"), ("spl", "ecs"), ("osquery", "events"), ("python", None),
        ("kql", "sentinel-asim")]
    assert all(r["files"] == [] for r in results)
    assert all(set(r) >= {"rule", "target", "profile", "status", "notes", "output", "files"} for r in results)
    out = tmp_path / "o"
    code, stdout, _ = run(capsys, "compile", RULE, "-t", "kql", "-t", "kql:sentinel-asim", "-o", str(out), "--json")
    doc = json.loads(stdout)
    assert [Path(r["files"][0]).parent.name for r in doc["results"]] == ["kql", "kql-sentinel-asim"]


def test_several_paths_globs_and_an_inline_query(capsys, tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    shutil.copy(EXAMPLE_DIR / "rule.eql", tmp_path / "a" / "one.eql")
    shutil.copy(EXAMPLE_DIR / "rule.toml", tmp_path / "two.toml")
    code, stdout, _ = run(capsys, "compile", str(tmp_path / "a"), str(tmp_path / "*.toml"), "--target", "spl", "--json")
    assert code == 0
    assert [Path(r["rule"]).name for r in json.loads(stdout)["results"]] == ["one.eql", "two.toml"]
    code, stdout, _ = run(capsys, "check", str(tmp_path / "**" / "*.eql"), str(tmp_path / "two.toml"), "--json")
    assert code == 0 and json.loads(stdout) == {"total": 2, "parsed": 2, "failed": []}
    code, stdout, _ = run(capsys, "compile", "--query", 'process where process.name : "dracut*"', "--target", "kql", "--json")
    assert code == 0
    [result] = json.loads(stdout)["results"]
    assert result["rule"] is None and 'FileName startswith "dracut"' in result["output"]
    code, stdout, _ = run(capsys, "parse", "--query", 'process where process.name : "a"')
    assert code == 0 and stdout.strip() == 'process where process.name like~ "a"'
    code, stdout, _ = run(capsys, "verify", "--query", 'process where process.name == "a"', "--targets", "spl", "--json")
    assert code == 0
    assert json.loads(stdout)["results"][0]["verdict"] == "verified"
    code, _, err = run(capsys, "compile", "--query", "process where (", "--target", "kql")
    assert code == 2 and err.startswith("<query>:1:16: error:")  # a query error is located in the query


def test_fixtures_and_report_take_several_paths(capsys, tmp_path: Path) -> None:
    code, stdout, _ = run(capsys, "fixtures", str(EXAMPLE_DIR / "rule.eql"), str(EXAMPLE_DIR / "rule.t*"), "--json")
    assert code == 0 and json.loads(stdout)["totals"]["rules"] == 3
    code, stdout, _ = run(capsys, "report", str(EXAMPLE_DIR / "rule.eql"), str(EXAMPLE_DIR / "rule.toml"),
                          "-o", str(tmp_path / "r"), "--jobs", "1", "--targets", "python", "--json")
    assert code == 0 and len(json.loads(stdout)["results"]) == 2


def test_verify_matrix_is_one_line_per_event_at_80_columns(capsys, monkeypatch) -> None:
    monkeypatch.setenv("COLUMNS", "80")
    import eqlc.commands.common as common

    monkeypatch.setattr(common.out._console(), "_width", 80, raising=False)  # the LazyConsole's real console
    # the table names the rule by the path given: a relative one, so the checkout's location does not count
    monkeypatch.chdir(Path(RULE).parents[3])
    code, stdout, _ = run(capsys, "verify", str(Path(RULE).relative_to(Path(RULE).parents[3])), "--all")
    assert code == 0
    table = stdout[: stdout.index("~ differs")].splitlines()
    body = table[next(i for i, x in enumerate(table) if x.strip().startswith("───")) + 1:]
    body = [x for x in body if x.strip()]
    assert [x.split()[0] for x in body] == [f"d{i:02d}" for i in range(1, 52)]  # one line per event, no wrapping
    assert max(len(x) for x in table) <= 80
