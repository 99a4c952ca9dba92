"""The command line as a user runs it: exit codes, JSON shapes, located errors, no tracebacks."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.corpus import EXAMPLE_DIR, ROOT


def eqlc(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "eqlc", *args], cwd=ROOT, capture_output=True, text=True, input=stdin, timeout=120)


def test_check_examples_json() -> None:
    r = eqlc("check", str(EXAMPLE_DIR), "--json")
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    assert doc == {"total": 5, "parsed": 5, "failed": []}


def test_check_reports_every_bad_file_and_keeps_going(tmp_path: Path) -> None:
    (tmp_path / "a_bad.eql").write_text('process where process.name == "x" and\n')
    (tmp_path / "b_good.eql").write_text('process where process.name == "x"\n')
    (tmp_path / "c_bad.toml").write_text("[rule\n")
    r = eqlc("check", str(tmp_path), "--json")
    assert r.returncode == 2
    doc = json.loads(r.stdout)
    assert doc["total"] == 3 and doc["parsed"] == 1
    failed = {Path(f["path"]).name: f for f in doc["failed"]}
    assert set(failed) == {"a_bad.eql", "c_bad.toml"}
    assert (failed["a_bad.eql"]["line"], failed["a_bad.eql"]["column"]) == (1, 38)
    assert set(failed["a_bad.eql"]) == {"path", "line", "column", "message"}


def test_check_human_output_shows_caret(tmp_path: Path) -> None:
    bad = tmp_path / "bad.eql"
    bad.write_text('process where\n  process.name : "x" and like\n')
    r = eqlc("check", str(bad))
    assert r.returncode == 2
    assert f"{bad}:2:26: error:" in r.stderr
    assert "\n    process.name : \"x\" and like\n" in r.stderr
    assert "Traceback" not in r.stderr + r.stdout


def test_parse_json_is_the_ir() -> None:
    r = eqlc("parse", str(EXAMPLE_DIR / "rule.toml"), "--json")
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    query = doc["rules"][0]["query"]
    assert query["node"] == "Query" and query["body"]["category"] == "process"
    terms = query["body"]["condition"]["terms"]
    assert terms[0] == {
        "node": "Compare", "op": "==",
        "left": {"node": "Field", "path": ["host", "os", "type"], "optional": False, "span": [1, 15, 1, 27]},
        "right": {"node": "String", "value": "linux", "span": [1, 31, 1, 38]},
        "span": [1, 15, 1, 38],
    }
    like = terms[-1]["expr"]["terms"][0]
    assert like["node"] == "WildcardMatch" and like["case_insensitive"] is True
    assert like["patterns"][0] == {"node": "Pattern", "text": "/usr/lib/kernel/*", "kind": "prefix"}


def test_bad_inputs_never_print_a_traceback(tmp_path: Path) -> None:
    binary = tmp_path / "x.eql"
    binary.write_bytes(b"\x00\xff\xfe")
    for args in (["check", str(binary)], ["parse", str(binary)], ["parse", str(tmp_path / "missing.eql")],
                 ["check", str(tmp_path / "missing")], ["compile", str(EXAMPLE_DIR / "rule.eql"), "--target", "nope"]):
        r = eqlc(*args)
        assert r.returncode == 2, (args, r.stdout, r.stderr)
        assert "Traceback" not in r.stderr + r.stdout, args


def test_bad_mapping_file_is_a_located_error(tmp_path: Path) -> None:
    bad = tmp_path / "map.yaml"
    bad.write_text("fields: [\n")
    for target in ("sigma", "kql", "spl", "osquery"):
        r = eqlc("compile", str(EXAMPLE_DIR / "rule.toml"), "--target", target, "--mapping", str(bad))
        assert r.returncode == 2, (target, r.stdout, r.stderr)
        assert "Traceback" not in r.stderr + r.stdout
        assert f"{bad}:2:1: error: invalid YAML" in r.stderr, (target, r.stderr)
