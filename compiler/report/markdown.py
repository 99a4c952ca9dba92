"""The Markdown rendering of a report (for pull requests, wikis and terminals)."""

from __future__ import annotations

from typing import Any

import orjson

VERDICT_MARK = {"verified": "✓", "unproven": "?", "vacuous": "∅", "disagreement": "✗", "refused": "—", "error": "!"}


def _cell(t: dict) -> str:
    if t["verdict"] == "disagreement":
        return f"✗ {len(t['disagreements'])} ({t['status']})"
    if t["verdict"] == "verified":
        return f"✓ {t['status']}"
    if t["status"] == "error":
        return "! error (internal)"
    return VERDICT_MARK.get(t["verdict"], "?") + " " + t["verdict"]


def _md(text: Any) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def render_markdown(report: dict) -> str:
    targets = report["targets"]
    lines = [
        "# eqlc verification report",
        "",
        f"Generated {report['generated']} from `{report['source']}`: {len(report['rules'])} rules, targets {', '.join(targets)}.",
        "Every compiled translation runs on witnesses generated from the rule (MC/DC pairs and edge cases) through the",
        "target's own engine and is compared with the Python matcher (Elasticsearch semantics). A difference on a witness",
        "that breaks one of the translation's stated assumptions (the target's own check says so) is not a disagreement;",
        "`unproven`: it agrees, but the witnesses inside its assumptions are all selected or all rejected;",
        "`vacuous`: every witness the rule selects breaks a stated assumption (a refusal the target did not make).",
        "",
        "## Per target",
        "",
        "`error`: the target raised while compiling (an internal error, never a refusal).",
        "",
        "| target | rules | exact | with assumptions | refused | error | broader | verified | unproven | vacuous | disagreement (exact / assumptions) | engine error |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for name in targets:
        t = report["totals"][name]
        lines.append(
            f"| {name} | {t['rules']} | {t['exact']} | {t['assumptions']} | {t['refused']} | {t.get('internal_error', 0)} | {t.get('broader', 0)} | "
            f"{t['verified']} | {t['unproven']} | {t['vacuous']} | "
            f"{t['disagreement']} ({t['disagreement_exact']} / {t['disagreement_assumptions']}) | "
            f"{t.get('engine_error', t['error'])} |"
        )
    m = report["mcdc"]
    lines += [
        "",
        "## MC/DC coverage of the generated witnesses",
        "",
        f"{m['atoms']} atomic conditions: {m['mcdc_unique']} with a unique-cause MC/DC pair, {m['mcdc_masking']} with a masking pair, "
        f"{m['uncovered']} without a pair ({', '.join(f'{k}: {v}' for k, v in m['uncovered_by_reason'].items()) or 'none'}).",
        "",
        "## Rules",
        "",
        "| rule | kind | atoms (MC/DC) | " + " | ".join(targets) + " |",
        "|---|---|---|" + "---|" * len(targets),
    ]
    for row in report["rules"]:
        w = row.get("witnesses") or {}
        cov = f"{w.get('atoms', 0)} ({w.get('mcdc_unique', 0) + w.get('mcdc_masking', 0)})" if w else "-"
        by = {t["target"] + (":" + t["profile"] if t.get("profile") else ""): t for t in row["targets"]}
        cells = [(_cell(by[n]) if n in by else ("error" if row.get("error") else "-")) for n in targets]
        lines.append(f"| {_md(row['name'] or row['rule'])} | {row.get('kind') or '-'} | {cov} | " + " | ".join(cells) + " |")
    dis = [(row, t) for row in report["rules"] for t in row["targets"] if t["verdict"] in ("disagreement", "error")]
    if dis:
        lines += ["", "## Disagreements and errors", ""]
        for row, t in dis:
            lines.append(f"### {_md(row['name'])} — {t['target']} ({t['status']})")
            lines.append("")
            lines.append(f"`{row['rule']}`")
            lines.append("")
            if t["status"] == "error":
                lines.append(f"Internal error (the target raised while compiling): `{_md(t.get('error', ''))}`")
            elif t.get("error"):
                lines.append(f"Engine error: `{_md(t['error'])}`")
            else:
                lines.append(f"{len(t['disagreements'])} event(s) selected differently from the matcher: {', '.join(t['disagreements'][:30])}")
            for ev in t.get("evidence", [])[:1]:
                lines += ["", f"Matcher selects: {ev['matcher']}, {t['target']} selects: {ev['target']}", "", "```json",
                          orjson.dumps(ev["event"]).decode(), "```"]
            lines.append("")
    if report.get("errors"):
        lines += ["", "## Rules that failed", ""]
        lines += [f"- `{e['rule']}`: {_md(e['error'])[:300]}" for e in report["errors"]]
    lines += ["", "## Most frequent refusal reasons", ""]
    for name in targets:
        top = report["totals"][name]["top_refusals"]
        if top:
            lines.append(f"**{name}**")
            lines.append("")
            lines += [f"- {r['rules']} rule(s): {_md(r['reason'])}" for r in top]
            lines.append("")
    return "\n".join(lines) + "\n"
