"""The static HTML page of a report: one self-contained file (inline CSS, JS and data).

The rule table is rendered in HTML (readable without JavaScript); the script adds sorting on
every column (click a header, or open ``index.html#sort=<column>`` / ``#sort=<column>:desc``),
a text filter, and a detail pane per rule (``#rule=<n>`` or a click on the row) with the EQL,
the witness coverage and every target's emitted query side by side, with its notes and the
events it disagrees on. Nothing is fetched from the network.
"""

from __future__ import annotations

import html
import re
from pathlib import Path

import orjson

TEMPLATE = Path(__file__).with_name("template.html")

_CELL_TEXT = {"verified": "✓ verified", "unproven": "? unproven", "vacuous": "∅ vacuous", "disagreement": "✗ disagreement",
              "refused": "refused", "error": "! error"}
_VERDICT_RANK = {"disagreement": 0, "error": 1, "vacuous": 2, "unproven": 3, "verified": 4, "refused": 5}


def _e(text: object) -> str:
    return html.escape(str(text), quote=True)


# Inside <script type="application/json"> the HTML parser ends the element at "</script" and
# enters the "script data escaped" states at "<!--" (WHATWG HTML, 13.2.5.4 ff.), whatever the JSON
# means. Escaping every '<' (and '>', '&' for good measure) as a JSON \\u escape leaves no tag or
# comment opener in the island, and the JSON value is unchanged; U+2028/U+2029 are escaped for
# consumers that read the island as JavaScript source.
_JSON_ESCAPES = {ord("<"): "\\u003c", ord(">"): "\\u003e", ord("&"): "\\u0026", 0x2028: "\\u2028", 0x2029: "\\u2029"}


def _json_for_script(data: object) -> str:
    return orjson.dumps(data).decode().translate(_JSON_ESCAPES)


_PLACEHOLDER = re.compile(r"\{\{(SUMMARY|TOTALS|RULES|DATA)\}\}")


def fill_template(page: str, parts: dict[str, str]) -> str:
    """Substitute each ``{{NAME}}`` of the template once, in one pass: text inserted for one
    placeholder is never scanned again, so a rule named ``{{DATA}}`` stays that text."""
    return _PLACEHOLDER.sub(lambda m: parts[m.group(1)], page)


def _label(t: dict) -> str:
    return t["target"] + (":" + t["profile"] if t.get("profile") else "")


def _totals_table(report: dict) -> str:
    head = ("<tr><th>target</th><th>rules</th><th>exact</th><th>with assumptions</th><th>refused</th>"
            "<th title='the target raised while compiling: an internal error, never a refusal'>error</th><th>broader</th><th>verified</th>"
            "<th>unproven</th><th>vacuous</th><th>disagreement</th><th>engine error</th></tr>")
    rows = []
    for name in report["targets"]:
        t = report["totals"][name]
        rows.append(
            f"<tr><td>{_e(name)}</td><td>{t['rules']}</td><td>{t['exact']}</td><td>{t['assumptions']}</td>"
            f"<td>{t['refused']}</td><td class='v-error'>{t.get('internal_error', 0)}</td><td>{t.get('broader', 0)}</td>"
            f"<td class='v-verified'>{t['verified']}</td><td class='v-unproven'>{t['unproven']}</td>"
            f"<td class='v-vacuous'>{t['vacuous']}</td>"
            f"<td class='v-disagreement'>{t['disagreement']}</td><td class='v-error'>{t.get('engine_error', t['error'])}</td></tr>"
        )
    return f"<table id='totals'><thead>{head}</thead><tbody>{''.join(rows)}</tbody></table>"


def _rules_table(report: dict) -> str:
    targets = report["targets"]
    cols = [("rule", "Rule"), ("kind", "Kind"), ("severity", "Severity"), ("mcdc", "MC/DC atoms")]
    cols += [(f"t:{n}", n) for n in targets]
    head = "".join(f"<th data-col='{_e(c)}' tabindex='0'>{_e(label)}</th>" for c, label in cols)
    body = []
    for i, row in enumerate(report["rules"]):
        w = row.get("witnesses") or {}
        covered = w.get("mcdc_unique", 0) + w.get("mcdc_masking", 0)
        atoms = w.get("atoms", 0)
        ratio = covered / atoms if atoms else 0
        cells = [
            f"<td data-v='{_e((row.get('name') or row['rule']).lower())}'><a href='#rule={i}'>{_e(row.get('name') or row['rule'])}</a></td>",
            f"<td data-v='{_e(row.get('kind') or '')}'>{_e(row.get('kind') or '-')}</td>",
            f"<td data-v='{_e(row.get('severity') or '')}'>{_e(row.get('severity') or '-')}</td>",
            f"<td data-v='{ratio:.4f}'>{covered}/{atoms}</td>" if w else "<td data-v='-1'>-</td>",
        ]
        by = {_label(t): t for t in row["targets"]}
        for name in targets:
            t = by.get(name)
            if t is None:
                verdict = "error" if row.get("error") else "refused"
                cells.append(f"<td class='v-{verdict}' data-v='{_VERDICT_RANK[verdict]}'>{_CELL_TEXT[verdict]}</td>")
                continue
            text = _CELL_TEXT[t["verdict"]]
            if t["verdict"] == "disagreement":
                text = f"✗ {len(t['disagreements'])}"
            status = "" if t["status"] in ("refused", "error") else f"<span class='st'>{_e(t['status'])}</span>"
            if t["status"] == "error":
                text = "! internal error"
            title = _e(t["notes"][0]) if t["status"] in ("refused", "error") and t.get("notes") else ""
            if t.get("dropped"):  # a broader translation: hover names the conditions it does not test
                title = _e("not tested: " + "; ".join(d["condition"] for d in t["dropped"]))
            cells.append(f"<td class='v-{t['verdict']}' data-v='{_VERDICT_RANK[t['verdict']]}' title='{title}'>{_e(text)} {status}</td>")
        body.append(f"<tr data-i='{i}'>{''.join(cells)}</tr>")
    return f"<table id='rules'><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def render_html(report: dict) -> str:
    m = report["mcdc"]
    summary = (
        f"{len(report['rules'])} rules from <code>{_e(report['source'])}</code>, generated {_e(report['generated'])}. "
        f"Witnesses: {m['atoms']} atomic conditions, {m['mcdc_unique']} with a unique-cause MC/DC pair, "
        f"{m['mcdc_masking']} with a masking pair, {m['uncovered']} without."
    )
    page = TEMPLATE.read_text(encoding="utf-8")
    return fill_template(page, {
        "SUMMARY": summary,
        "TOTALS": _totals_table(report),
        "RULES": _rules_table(report),
        "DATA": _json_for_script({"targets": report["targets"], "rules": report["rules"]}),
    })
