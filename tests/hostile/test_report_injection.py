"""The HTML report embeds hostile rule text as data, never as markup or script (issue 19).

A rule whose name is a template placeholder (``{{DATA}}``) or whose name, description, query
literal or file name carries ``<img onerror=...>``, ``</script>``, ``<!--`` or U+2028 must show
up as text. Checked twice: statically (the page's markup outside the JSON data island has no
injected element) and in headless Chromium (no injected script ran, the detail pane shows the
text verbatim)."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from hypothesis import given, settings, strategies as st

from eqlc.report.html import render_html
from eqlc.report import target_totals
from tests.test_report_html import _chromium

MARK = "data-pwned"


def _payload(tag: str) -> str:
    return (f"{{{{DATA}}}}{{{{RULES}}}}{{{{TOTALS}}}}{{{{SUMMARY}}}}"
            f"<img src=x onerror=document.body.setAttribute('{MARK}','{tag}')>"
            f"</script><script>document.body.setAttribute('{MARK}','{tag}s')</script>\u2028\u2029")


def _rule_toml(name: str, description: str, literal: str) -> str:
    esc = lambda s: json.dumps(s)  # a JSON string is a valid TOML basic string
    return (
        "[metadata]\ncreation_date = \"2024/01/01\"\n\n[rule]\n"
        f"name = {esc(name)}\ndescription = {esc(description)}\nrule_id = {esc('id-' + name[:20])}\n"
        "risk_score = 21\nseverity = \"low\"\ntype = \"eql\"\nlanguage = \"eql\"\n"
        "query = '''\nprocess where process.name == " + json.dumps(literal, ensure_ascii=False) + "\n'''\n"
    )


@pytest.fixture(scope="module")
def hostile_report(tmp_path_factory):
    src = tmp_path_factory.mktemp("rules") / "{{DATA}}<b>dir"
    src.mkdir()
    (src / "evil.toml").write_text(_rule_toml(_payload("name"), _payload("desc"), "<!--</script><img src=x onerror=1>\u2028" ), encoding="utf-8")
    (src / "{{RULES}}.eql").write_text('process where process.name == "{{DATA}}"\n', encoding="utf-8")
    out = tmp_path_factory.mktemp("report")
    from tests.hostile.conftest import run_cli

    res = run_cli("report", str(src), "-o", str(out), "--jobs", "1", "--targets", "python,spl", "--json")
    assert res.returncode == 0, res.stderr.decode()[-3000:]
    return out


def _markup_outside_data(page: str) -> str:
    head, rest = page.split('<script id="report-data" type="application/json">', 1)
    data, tail = rest.split("</script>", 1)
    return head + tail, data


def test_data_island_is_closed_once_and_parses(hostile_report):
    page = (hostile_report / "index.html").read_text(encoding="utf-8")
    markup, data = _markup_outside_data(page)
    # the JSON island holds no '<' at all (so no </script>, <!--, <script), nor raw U+2028/9
    assert "<" not in data and "\u2028" not in data and "\u2029" not in data
    doc = json.loads(data)
    assert any(_payload("name") == r["name"] for r in doc["rules"])
    # outside the island: exactly the page's own two scripts, no injected element
    assert len(re.findall(r"<script\b", markup)) == 1
    assert "<img" not in markup and "onerror=\"" not in markup
    # placeholders were substituted once: the rule's name shows as escaped text
    assert "{{DATA}}" in markup  # the name, as text, not replaced by the data


def test_no_injected_script_runs_in_chromium(hostile_report, tmp_path):
    page = hostile_report / "index.html"
    report = json.loads((hostile_report / "report.json").read_text())
    evil = next(i for i, r in enumerate(report["rules"]) if r["name"] == _payload("name"))
    url = page.resolve().as_uri() + f"#rule={evil}"
    cmd = [
        _chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run", f"--user-data-dir={tmp_path / 'profile'}",
        "--virtual-time-budget=3000", "--dump-dom", url,
    ]
    res = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    dom = res.stdout
    assert res.returncode == 0 and 'data-ready="true"' in dom, res.stderr[-2000:]
    assert f'{MARK}="' not in dom  # no onerror handler nor injected script set the attribute
    detail = dom.split('<section id="detail"', 1)[1]
    assert "&lt;img src=x onerror=" in detail  # shown as text in the detail pane


_TEXT = st.text(alphabet=st.sampled_from(list("<>/!-{}\"'&=\\ \u2028\u2029\u0085sciptDATA")), max_size=40)


@settings(max_examples=200, deadline=None)
@given(name=_TEXT, query=_TEXT, source=_TEXT)
def test_render_html_fuzz(name, query, source):
    """Whatever the rule's strings, the page has one data island whose JSON gives them back."""
    report = {
        "source": source, "generated": "now", "targets": ["python"], "totals": target_totals([], ["python"]),
        "mcdc": {"atoms": 0, "mcdc_unique": 0, "mcdc_masking": 0, "uncovered": 0},
        "rules": [{"rule": source, "name": name, "query": query, "targets": [], "error": name}],
    }
    page = render_html(report)
    markup, data = _markup_outside_data(page)
    assert "<" not in data
    assert json.loads(data)["rules"][0] == report["rules"][0]
    assert len(re.findall(r"<script\b", markup)) == 1
    for text in (name, source):
        for bad in ("<script", "<img", "<!--"):
            if bad in text:
                assert bad not in markup.replace("<script>\n(function", "")
