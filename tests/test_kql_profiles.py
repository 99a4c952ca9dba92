"""The profile YAML files name real columns with the vendor's types, the CLI emits the query and
its deployment files, and a missing Node set-up fails loudly with the install command."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from eqlc.targets.kql.profile import load_profile
from tests.corpus import EXAMPLE_DIR
from tests.node import kusto

DATA = Path(__file__).resolve().parent / "data" / "kql"
ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize("profile", ["defender", "sentinel-asim", "sentinel"])
def test_every_mapped_column_exists_with_the_vendor_type(profile):
    prof = load_profile(profile)
    vendor = kusto.declared_tables(profile)
    checked = 0
    for table in prof.tables.values():
        assert table.name in vendor, f"{table.name} is not a {profile} table"
        # columns read only through parse_json (`json_text`: DeviceDetail is JSON text in
        # AADNonInteractiveUserSignInLogs and dynamic in SigninLogs): parse_json returns a dynamic
        # value as it is ("If json is of type dynamic, its value is used as-is", Kusto parse_json
        # reference), so the profile declares the text the fixture rows hold, for both tables
        parsed = {c for fm in table.fields.values() for c in fm.columns if fm.expr and f"parse_json({c})" in fm.expr}
        for column, typ in prof.columns_of(table).items():
            assert column in vendor[table.name], f"{table.name}.{column} is not in the vendor schema"
            if column in parsed and typ == "string" and vendor[table.name][column] == "dynamic":
                continue
            assert kusto.kusto_type(typ) == vendor[table.name][column], f"{table.name}.{column}: {typ} vs {vendor[table.name][column]}"
            checked += 1
    for lk in prof.lookups.values():
        for column, typ in {lk.on: "string", **lk.columns}.items():
            if column in lk.stored_as_list:  # read from a list column (Heartbeat ComputerPrivateIPs)
                column, typ = lk.stored_as_list[column], "dynamic"
            assert vendor[lk.table][column] == typ
    assert checked > 50


def test_user_mapping_is_deep_merged():
    prof = load_profile("defender", str(DATA / "args_dynamic.yaml"))
    fm = prof.tables["DeviceProcessEvents"].fields["process.args"]
    assert (fm.column, fm.type) == ("ProcessArgs", "dynamic")
    assert prof.tables["DeviceProcessEvents"].fields["process.name"].column == "FileName"  # untouched


def test_missing_node_modules_fails_with_the_install_command(monkeypatch, tmp_path):
    monkeypatch.setattr(kusto, "NODE_DIR", tmp_path)
    with pytest.raises(kusto.KustoSetupError, match="npm ci --prefix tests/node"):
        kusto.analyse(["print 1"], {})


def test_cli_json_and_deployment_files(tmp_path):
    rule = tmp_path / "rule.eql"
    rule.write_text('process where host.os.type == "windows" and process.name : "cmd.exe"\n', encoding="utf-8")
    # one CLI run (a Python start-up is seconds on a loaded machine) prints the JSON AND writes the files
    out = subprocess.run([sys.executable, "-m", "compiler", "compile", str(rule), "--target", "kql", "--json", "-o", str(tmp_path / "out")],
                         capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert out.returncode == 0, out.stderr
    doc = json.loads(out.stdout)
    [res] = doc["results"]
    assert res["target"] == "kql" and res["status"] == "assumptions"
    assert "FileName =~ \"cmd.exe\"" in res["output"] and "OSPlatform in (" in res["output"]
    files = sorted(p.name for p in (tmp_path / "out").iterdir())
    assert files == ["rule.defender.eqlc.json", "rule.defender.json", "rule.kql", "rule.sentinel.json", "rule.sentinel.yaml",
                     "sentinel-defender.json"]
    sentinel = yaml.safe_load((tmp_path / "out" / "rule.sentinel.yaml").read_text(encoding="utf-8"))
    assert sentinel["kind"] == "Scheduled" and sentinel["query"].startswith("DeviceProcessEvents\n| where TimeGenerated >= ago(6m)")
    # an .eql file has no interval: Elastic's defaults (5m every 5m plus 1m); DeviceInfo is read over 2h
    assert sentinel["queryFrequency"] == "5m" and sentinel["queryPeriod"] == "2h"
    defender = json.loads((tmp_path / "out" / "rule.defender.json").read_text(encoding="utf-8"))
    assert defender["queryCondition"]["queryText"] == res["output"]
    assert defender["schedule"]["period"] == "1H"  # a lookup (join) rules out continuous runs
    batch = json.loads((tmp_path / "out" / "sentinel-defender.json").read_text(encoding="utf-8"))
    assert [r["properties"]["query"] for r in batch["resources"]] == [sentinel["query"]]


def test_example_toml_deployment_metadata():
    from eqlc.loaders import load_file
    from eqlc.targets.kql import TARGET

    [rule] = load_file(EXAMPLE_DIR / "rule.toml")
    t = TARGET.compile(rule, mapping=str(DATA / "args_dynamic.yaml"))
    sentinel = yaml.safe_load(t.artifacts["rule.sentinel.yaml"])
    assert sentinel["relevantTechniques"] and all(x.startswith("T") for x in sentinel["relevantTechniques"])
    assert sentinel["tactics"] and " " not in "".join(sentinel["tactics"])
    assert sentinel["severity"] in ("Low", "Medium", "High", "Informational")


@pytest.mark.parametrize("profile,table,field,column", [
    ("defender", "DeviceProcessEvents", "process.args", "ProcessCommandLine"),
    ("defender", "DeviceProcessEvents", "process.parent.args", "InitiatingProcessCommandLine"),
    ("defender", "DeviceFileEvents", "process.args", "InitiatingProcessCommandLine"),
    ("sentinel-asim", "imProcessCreate", "process.args", "TargetProcessCommandLine"),
    ("sentinel-asim", "imProcessCreate", "process.parent.args", "ActingProcessCommandLine"),
])
def test_args_resolve_to_the_command_line_column(profile, table, field, column):
    """argv_of/argc_of name an ECS command-line field; the profile resolves them to that field's
    column in the same table (so a user remapping the command line moves args with it)."""
    t = load_profile(profile).tables[table]
    args, count = t.fields[field], t.fields[field + "_count"]
    assert (args.text, args.type, args.argv_of) == (column, "string", field.replace("args", "command_line"))
    assert count.type == "long" and count.columns == (column,) and f"split({column}, \" \")" in count.text
    assert "joined by single spaces" in args.note and column in args.note


def test_args_of_a_command_line_the_table_lacks_is_a_mapping_error(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("tables:\n  DeviceNetworkEvents:\n    fields:\n      process.parent.args: {argv_of: process.parent.command_line}\n", encoding="utf-8")
    with pytest.raises(ValueError, match="DeviceNetworkEvents: process.parent.args is read from process.parent.command_line"):
        load_profile("defender", str(bad))
