"""Usage errors come before any work, exit 2, and are one line naming the valid choices; the
options several commands share (paths and globs, --query, TARGET:PROFILE, --mapping TARGET=FILE)
behave the same everywhere; help texts show what a user types, not typer's types.

The command line runs in-process through ``eqlc.cli.main`` (what the ``eqlc`` script runs), so
click's own usage errors and the internal-error guard are covered too."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from eqlc import __version__
from eqlc.cli import COMMAND_MODULES, main
from tests.corpus import EXAMPLE_DIR

RULE = str(EXAMPLE_DIR / "rule.toml")
PROFILES = "sigma:portable, sigma:cased, kql:defender, kql:sentinel-asim, kql:sentinel, spl:ecs, spl:cim, spl:windows, osquery:events, osquery:hunting"


def run(capsys, *args: str) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as exc:
        main(list(args))
    captured = capsys.readouterr()
    return exc.value.code, captured.out, captured.err


def one_line_error(capsys, *args: str) -> str:
    code, out, err = run(capsys, *args)
    assert code == 2, (args, out, err)
    assert "Traceback" not in err and "<query>" not in err, err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    return lines[0]


@pytest.mark.parametrize("args,message", [
    (["compile", RULE, "--target", "kql", "--profile", "sentinel-raw"],
     "error: unknown profile 'sentinel-raw' for kql; expected one of defender, sentinel-asim, sentinel"),
    (["compile", RULE, "--target", "kql:sentinel-raw"],
     "error: unknown profile 'sentinel-raw' for kql; expected one of defender, sentinel-asim, sentinel"),
    (["compile", RULE, "--target", "python", "--profile", "x"], "error: the python target has no profiles (got 'x')"),
    (["compile", RULE, "--target", "all", "--profile", "sentinel-asim"],
     "error: --profile applies to a single target; with several, give each target its profile as --target "
     f"TARGET:PROFILE (one of {PROFILES})"),
    (["compile", RULE, "--target", "kql:defender", "--profile", "sentinel-asim"],
     "error: --profile sentinel-asim contradicts --target kql:defender"),
    (["compile", RULE, "--target", "splunk"],
     "error: --target: unknown target 'splunk'; expected one of sigma, kql, spl, osquery, python or all"),
    (["compile", RULE], "error: --target is required: one of sigma, kql, spl, osquery, python or all (TARGET:PROFILE picks a profile)"),
    (["compile", "--target", "kql"], "error: give rule files, directories or globs (PATH...), or an inline query with --query TEXT (see eqlc compile --help)"),
    (["verify", RULE, "--targets", "kql:nope"], "error: unknown profile 'nope' for kql; expected one of defender, sentinel-asim, sentinel"),
    (["report", RULE, "--targets", "nope"], "error: --targets: unknown target 'nope'; expected one of sigma, kql, spl, osquery, python or all"),
    (["compile", RULE, "--target", "kql,spl", "--mapping", "m.yaml"],
     "error: --mapping FILE applies to a single target; with several, give each its own as --mapping TARGET=FILE (targets here: kql, spl)"),
    (["compile", RULE, "--target", "kql", "--mapping", "sigma=m.yaml"],
     "error: --mapping sigma=m.yaml: 'sigma' is not a selected target (selected: kql)"),
    (["compile", RULE, "--target", "kql", "--mapping", "nonexist.yaml"], "nonexist.yaml: error: no such mapping file"),
    (["compile", RULE, "--target", "kql", "--bogus"], "error: No such option: --bogus (see eqlc compile --help)"),
    (["report", RULE, "--jobs", "many"], "error: Invalid value for '--jobs' / '-j': Input should be a valid integer, unable to parse string as an integer (see eqlc report --help)"),
])
def test_option_errors_are_one_line_exit_2(capsys, args, message) -> None:
    assert one_line_error(capsys, *args) == message


@pytest.mark.parametrize("command", [["check"], ["parse"], ["compile", "--target", "kql"], ["fixtures"], ["verify"], ["report"]])
def test_a_path_that_does_not_exist_is_named_before_any_work(capsys, command, tmp_path: Path) -> None:
    code, out, err = run(capsys, *command, str(tmp_path / "nonexist"), RULE, str(tmp_path / "*.toml"))
    assert code == 2
    assert err.splitlines() == [f"{tmp_path / 'nonexist'}: error: no such file or directory",
                                f"{tmp_path / '*.toml'}: error: no file matches this pattern"]
    assert out == ""  # nothing was compiled, checked or written


def test_check_nonexist_says_so_without_json(capsys) -> None:
    assert one_line_error(capsys, "check", "nonexist") == "nonexist: error: no such file or directory"


@pytest.mark.parametrize("target,text,line,column,key,valid", [
    ("spl", "scope:\n  indx: main\n", 2, 3, "'indx' under scope", "index, patterns, sourcetype_prefix"),
    ("kql", "tables:\n  DeviceProcessEvents:\n    fields:\n      process.name: {colum: FileName}\n", 4, 22,
     "'colum' under tables > DeviceProcessEvents > fields > process.name",
     "argc_of, argv_of, around, by, by_event_id, cef_text, column, columns, event_data_from, event_ids, event_ids_unread, expr, "
     "hive_spelling, ip_text, java_long, java_map, json_path, json_text, key, key_list, key_only, keyword_number, kv_path, "
     "list_key, lookup, members, note, object_key, object_member, object_path, one_to_one, otherwise, shape, source_table, type, "
     "unique_within, value_when, values, words_of"),
    ("sigma", "logsources:\n  process_creation:\n    sigma: {categroy: x}\n", 3, 13,
     "'categroy' under logsources > process_creation > sigma", "category, definition, product, service"),
    ("osquery", "tables:\n  process_events:\n    feilds: {}\n", 3, 5, "'feilds' under tables > process_events",
     "categories, category, fields, filter, joins, note, osquery, platforms, table"),
    ("osquery", "x-a: &a {colum: path}\ntables:\n  processes:\n    fields:\n      process.name: *a\n", 1, 10,
     "'colum' under tables > processes > fields > process.name", "basename, cases, column, constant"),
])
def test_an_unknown_mapping_key_names_file_line_and_valid_keys(capsys, tmp_path: Path, target, text, line, column, key, valid) -> None:
    mapping = tmp_path / "map.yaml"
    mapping.write_text(text)
    code, out, err = run(capsys, "compile", RULE, "--target", target, "--mapping", str(mapping))
    assert code == 2 and out == ""
    first = err.splitlines()[0]
    assert first.startswith(f"{mapping}:{line}:{column}: error: unknown key {key}; expected one of {valid}"), first


def test_a_mapping_for_each_target_with_target_equals_file(capsys, tmp_path: Path) -> None:
    spl = tmp_path / "spl.yaml"
    spl.write_text("scope:\n  index: endpoint\n")
    kql = tmp_path / "kql.yaml"
    kql.write_text("x-note: &n unused\ntimestamp: TimeGenerated\n")
    code, out, err = run(capsys, "compile", RULE, "--target", "spl,kql", "--mapping", f"spl={spl}", "--mapping", f"kql={kql}", "--json")
    assert code == 0, err
    by = {r["target"]: r for r in json.loads(out)["results"]}
    assert by["spl"]["output"].startswith('index="endpoint"')
    assert "TimeGenerated" not in by["spl"]["output"]


def test_a_mapping_a_target_ships_is_named(capsys) -> None:
    code, out, err = run(capsys, "compile", RULE, "--target", "osquery", "--mapping", "args-strict", "--json")
    assert code == 0, err
    result = json.loads(out)["results"][0]  # translated without it: arguments read from the command line
    assert result["status"] == "refused" and "process.parent.args" in result["notes"][0]
    assert one_line_error(capsys, "compile", RULE, "--target", "osquery", "--mapping", "args") == \
        "args: error: no such mapping file (or one osquery ships: args-strict)"


def test_version(capsys) -> None:
    code, out, _ = run(capsys, "--version")
    assert code == 0 and out == f"eqlc {__version__}\n" and re.fullmatch(r"\d+\.\d+\.\d+.*", __version__)


@pytest.mark.parametrize("command", [None, *COMMAND_MODULES])
def test_help_shows_no_implementation_artefacts(capsys, command) -> None:
    code, out, _ = run(capsys, *([command] if command else []), "--help")
    assert code == 0 and "Usage: eqlc" in out
    for artefact in ("<bool>", "<str>", "<path>", "<int>", "list[", "{path}", "{rule}", "``", ":func:", ":class:", ":mod:"):
        assert artefact not in out, (command, artefact, out)
    assert not re.search(r"\{[a-z_]+\}", out), out


def test_no_arguments_prints_the_help(capsys) -> None:
    code, out, _ = run(capsys)
    assert code == 0 and "Commands" in out


def test_an_unexpected_exception_is_one_line_and_exit_3(capsys, monkeypatch) -> None:
    import eqlc.commands.check as check

    def boom(*_a, **_k):
        raise ZeroDivisionError("a bug")

    monkeypatch.setattr(check, "iter_batch", boom)
    code, _, err = run(capsys, "check", RULE)
    assert code == 3
    assert err.strip() == "eqlc: internal error: ZeroDivisionError: a bug (set EQLC_DEBUG=1 for the traceback)"
