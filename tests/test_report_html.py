"""``eqlc report``: JSON, Markdown and a self-contained HTML page, checked in headless Chromium.

The browser test needs Debian's ``chromium`` (``apt-get install -y chromium``); it fails, with
that instruction, when the browser is missing rather than skipping silently.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from typer.testing import CliRunner

from eqlc.cli import _register, app
from eqlc.target import available
from tests.corpus import CORPUS, EXAMPLE_DIR

RULES = [
    "integrations/okta/credential_access_okta_mfa_bombing_via_push_notifications.toml",  # sequence with until
    "linux/command_and_control_linux_proxychains_activity.toml",  # event query
]
VERDICT_RANK = {"disagreement": 0, "error": 1, "vacuous": 2, "unproven": 3, "verified": 4, "refused": 5}

_register()


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    src = tmp_path_factory.mktemp("rules")
    for rel in RULES:
        shutil.copy(CORPUS / rel, src / Path(rel).name)
    shutil.copy(EXAMPLE_DIR / "rule.toml", src / "manual_dracut_execution.toml")
    (src / "broken.eql").write_text("process where process.name == \n")
    out = tmp_path_factory.mktemp("report")
    res = CliRunner().invoke(app, ["report", str(src), "-o", str(out), "--jobs", "2", "--json"])
    assert res.exit_code == 0, res.output
    return out, json.loads(res.stdout)


def test_json_shapes_and_totals(built):
    out, printed = built
    report = json.loads((out / "report.json").read_text())
    targets = available()
    assert report["targets"] == targets
    rows = printed["results"]
    assert len(rows) == 3 * len(targets)  # 3 loadable rules x every installed target
    for r in rows:
        assert {"rule", "target", "status", "verified", "disagreements"} <= set(r)
        assert r["status"] in ("exact", "assumptions", "refused") and isinstance(r["verified"], bool)
        assert r["verified"] == (r["verdict"] == "verified")
        assert r["verified"] is False or r["disagreements"] == []
    # The rule that does not parse is reported and did not stop the batch.
    assert [Path(e["rule"]).name for e in report["errors"]] == ["broken.eql"]
    for name, t in report["totals"].items():
        assert t["exact"] + t["assumptions"] + t["refused"] == t["rules"] == 3
        assert t["verified"] + t["unproven"] + t["vacuous"] + t["disagreement"] + t["error"] == t["compiled"]
    m = report["mcdc"]
    assert m["atoms"] > 40 and m["mcdc_unique"] + m["mcdc_masking"] + m["uncovered"] == m["atoms"]


def test_markdown_lists_targets_rules_and_coverage(built):
    out, _ = built
    md = (out / "report.md").read_text()
    assert md.startswith("# eqlc verification report")
    for name in available():
        assert f"| {name} |" in md
    for title in ("Potential Okta MFA Bombing via Push Notifications", "ProxyChains Activity", "Manual Dracut Execution"):
        assert title in md
    assert "## MC/DC coverage of the generated witnesses" in md and "broken.eql" in md


def test_html_is_self_contained(built):
    out, _ = built
    page = (out / "index.html").read_text()
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", page)  # nothing fetched from the network
    assert "<script id=\"report-data\" type=\"application/json\">" in page
    assert page.count("<tr data-i=") == 4  # one static row per rule (readable without JavaScript)


def _chromium() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(name)
        if path:
            return path
    pytest.fail("headless Chromium is needed for the HTML report test: apt-get update && apt-get install -y chromium")


def test_html_sorts_and_shows_rule_detail_in_headless_chromium(built, tmp_path):
    out, _ = built
    report = json.loads((out / "report.json").read_text())
    target = available()[0]
    url = (out / "index.html").resolve().as_uri() + f"#sort=t:{target}:desc&rule=2"
    cmd = [
        _chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run", f"--user-data-dir={tmp_path / 'profile'}",
        "--virtual-time-budget=3000", "--dump-dom", url,
    ]
    res = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    dom = res.stdout
    assert res.returncode == 0 and 'data-ready="true"' in dom, res.stderr[-2000:]
    assert f'data-sorted-by="t:{target}:desc"' in dom
    shown = [int(i) for i in re.findall(r'<tr data-i="(\d+)"', dom)]
    assert sorted(shown) == list(range(len(report["rules"])))

    def rank(i: int) -> tuple:
        row = report["rules"][i]
        t = next((t for t in row["targets"] if t["target"] == target), None)
        verdict = t["verdict"] if t else ("error" if row.get("error") else "refused")
        return (VERDICT_RANK[verdict], i)

    assert shown == sorted(range(len(shown)), key=rank, reverse=True)  # the script sorted the table
    detail = dom.split('<section id="detail"', 1)[1]
    row = report["rules"][2]
    assert "hidden" not in detail.split(">", 1)[0]
    assert detail.count('class="card"') == len(row["targets"]) == len(available())
    assert row["name"].replace("&", "&amp;") in detail
    for t in row["targets"]:
        if t["output"]:
            first = t["output"].strip().splitlines()[0]
            assert first.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;") in detail or first in detail
