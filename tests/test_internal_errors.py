"""An internal error is never a refusal: a target whose emitter raises gets status ``error`` with
the exception's type and message in the library result, in ``compile`` (human output and
``--json``), in ``verify`` and in the report (JSON totals, Markdown, HTML), and makes ``compile``,
``verify`` and ``report --strict`` exit 3, which is distinct from bad input (2) and from a failed
check (1). The crash is injected with a stand-in target (tests/data/verify/fake_targets.py)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

import eqlc
from eqlc import target as target_mod
from eqlc.cli import _register, app
from eqlc.result import Status, describe_exception
from tests.corpus import EXAMPLE_DIR, ROOT

DATA = Path(__file__).parent / "data" / "verify"
RULE = EXAMPLE_DIR / "rule.toml"

_register()
runner = CliRunner()


@pytest.fixture()
def exploder(monkeypatch):
    monkeypatch.syspath_prepend(str(DATA))
    for name in ("exploder", "agree"):
        monkeypatch.setitem(target_mod.REGISTRY, name, f"fake_targets:{name.upper()}")


def invoke(*args: str):
    return runner.invoke(app, list(args))


def test_the_library_result_is_status_error_with_the_exception(exploder) -> None:
    t = eqlc.compile(eqlc.load_rules(RULE)[0], "exploder")
    assert t.status is Status.ERROR and t.status.value == "error"
    assert t.error == "RuntimeError: emitter exploded (test double)"
    assert t.notes == ["internal error in the exploder target: RuntimeError: emitter exploded (test double)"]
    assert t.output is None and t.as_dict()["status"] == "error" and t.as_dict()["error"] == t.error


def test_compile_reports_error_not_refused_and_exits_3(exploder, tmp_path: Path) -> None:
    res = invoke("compile", str(RULE), "--target", "exploder,agree", "--json")
    assert res.exit_code == 3
    results = {r["target"]: r for r in json.loads(res.stdout)["results"]}
    assert results["exploder"]["status"] == "error" and "emitter exploded" in results["exploder"]["error"]
    assert results["agree"]["status"] == "exact"  # the batch goes on
    human = invoke("compile", str(RULE), "--target", "exploder")
    assert human.exit_code == 3
    assert "-> exploder: error" in human.stdout and "refused" not in human.stdout
    written = invoke("compile", str(EXAMPLE_DIR), "--target", "exploder", "-o", str(tmp_path / "out"))
    assert written.exit_code == 3
    assert written.stdout.count("-> exploder: error; internal error in the exploder target: RuntimeError") == 5


def test_verify_shows_the_error_and_exits_3(exploder) -> None:
    res = invoke("verify", str(RULE), "--targets", "exploder,agree", "--json")
    assert res.exit_code == 3
    result = next(r for r in json.loads(res.stdout)["results"] if r["target"] == "exploder")
    assert result["status"] == "error" and result["verdict"] == "error" and "emitter exploded" in result["error"]
    human = invoke("verify", str(RULE), "--targets", "exploder,agree")
    assert human.exit_code == 3
    assert "exploder: error - internal error: RuntimeError: emitter exploded" in human.stdout


def test_report_counts_errors_and_strict_exits_3(exploder, tmp_path: Path) -> None:
    out = tmp_path / "report"
    res = invoke("report", str(RULE), "-o", str(out), "--jobs", "1", "--targets", "exploder,agree", "--json")
    assert res.exit_code == 0  # without --strict the report is written and the command succeeds
    doc = json.loads(res.stdout)
    totals = doc["totals"]["exploder"]
    assert (totals["internal_error"], totals["refused"], totals["engine_error"], totals["error"]) == (1, 0, 0, 1)
    assert totals["exact"] + totals["assumptions"] + totals["refused"] + totals["internal_error"] == totals["rules"] == 1
    assert doc["totals"]["agree"]["internal_error"] == 0
    md = (out / "report.md").read_text()
    assert "| exploder | 1 | 0 | 0 | 0 | 1 |" in md and "Internal error (the target raised while compiling)" in md
    html = (out / "index.html").read_text()
    assert "! internal error" in html and "title='the target raised while compiling" in html
    strict = invoke("report", str(RULE), "-o", str(out), "--jobs", "1", "--targets", "exploder,agree", "--strict")
    assert strict.exit_code == 3
    assert "internal errors" in strict.stdout
    clean = invoke("report", str(RULE), "-o", str(out), "--jobs", "1", "--targets", "agree", "--strict")
    assert clean.exit_code == 0


def test_messages_never_show_an_install_path() -> None:
    where = Path(eqlc.__file__).resolve().parent
    exc = FileNotFoundError(2, "No such file or directory", str(where.parent / "targets" / "osquery" / "schema.json"))
    text = describe_exception(exc)
    assert str(where) not in text and str(ROOT) not in text and "eqlc/targets/osquery/schema.json" in text
