"""Elastic's prebuilt-rule documentation page, as Markdown (a fenced ``Rule query`` block and
``**Severity**: low`` lines) or as its plain-text rendering (``Severity: low``, bullet lists, the
query as bare lines ending before ``Framework:``).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Optional

from ..errors import EqlError
from ..rule import TACTIC_IDS, Rule, Technique, Threat
from .common import parse_in_file

_QUERY_START = re.compile(r"^(sequence\b|sample\b|[A-Za-z_]\w*\s+where\b|\"[^\"]+\"\s+where\b)")


def _scalar(text: str, label: str, markdown: bool) -> Optional[str]:
    pat = rf"^\*\*{re.escape(label)}\*\*:\s*(.+)$" if markdown else rf"^{re.escape(label)}:\s*(.+)$"
    m = re.search(pat, text, re.M)
    return m.group(1).strip() if m else None


def _bullets(text: str, label: str, markdown: bool) -> list[str]:
    head = rf"^\*\*{re.escape(label)}\*\*:\s*$" if markdown else rf"^{re.escape(label)}:\s*$"
    m = re.search(head, text, re.M)
    if not m:
        return []
    out = []
    for line in text[m.end():].splitlines()[1:]:
        s = line.strip()
        if not s:
            if out:
                break
            continue
        b = re.match(r"^(?:\*|•|-)\s+(.*)$", s)
        if not b:
            break
        out.append(b.group(1).strip())
    return out


def _title(text: str, markdown: bool) -> str:
    if markdown:
        m = re.search(r"^#\s+(.+?)(?:\s+\[[^\]]*\])?\s*$", text, re.M)
        return m.group(1).strip() if m else ""
    for line in text.splitlines():
        s = line.strip()
        if s and s != "Loading":
            return s
    return ""


def _description(text: str, title: str, markdown: bool) -> str:
    lines = text.splitlines()
    start = next((i for i, l in enumerate(lines) if l.strip().lstrip("# ").startswith(title)), None)
    if start is None:
        return ""
    paras = []
    for l in lines[start + 1:]:
        s = l.strip()
        if not s:
            if paras:
                break
            continue
        if s.startswith(("**Rule type", "Rule type")) or s in ("Elastic Stack Serverless Security",):
            if paras:
                break
            continue
        paras.append(s)
    return " ".join(paras)


def _markdown_threats(text: str) -> tuple[Threat, ...]:
    sect = text.split("**Framework**", 1)
    if len(sect) < 2:
        return ()
    threats: list[Threat] = []
    cur_tactic: Optional[tuple[str, str]] = None
    techniques: list[Technique] = []
    kind = None
    name = ""

    def flush() -> None:
        if cur_tactic:
            threats.append(Threat(cur_tactic[1], cur_tactic[0], tuple(techniques)))

    for line in sect[1].splitlines():
        s = line.strip().lstrip("*").strip()
        if s in ("Tactic:", "Technique:", "Sub-technique:"):
            kind = s[:-1]
            if kind == "Tactic":
                flush()
                cur_tactic, techniques = None, []
        elif s.startswith("Name:"):
            name = s[5:].strip()
        elif s.startswith("ID:"):
            ident = s[3:].strip()
            if kind == "Tactic":
                cur_tactic = (name, ident)
            elif kind == "Technique":
                techniques.append(Technique(ident, name))
            elif kind == "Sub-technique" and techniques:
                last = techniques[-1]
                techniques[-1] = Technique(last.id, last.name, last.subtechniques + (Technique(ident, name),))
    flush()
    return tuple(threats)


def _threats_from_tags(tags: list[str]) -> tuple[Threat, ...]:
    out = []
    for t in tags:
        if t.lower().startswith("tactic:"):
            name = t.split(":", 1)[1].strip()
            tid = TACTIC_IDS.get(name.lower())
            if tid:
                out.append(Threat(tid, name))
    return tuple(out)


def _rule(path: Path, text: str, query_text: str, line: int, markdown: bool, dialect: str) -> Rule:
    query = parse_in_file(query_text, path, text, line, 1, dialect)
    title = _title(text, markdown)
    tags = _bullets(text, "Tags", markdown)
    threats = _markdown_threats(text) if markdown else ()
    refs = [r for r in _bullets(text, "References", markdown)]
    risk = _scalar(text, "Risk score", markdown)
    version = _scalar(text, "Version", markdown)
    frm = _scalar(text, "Searches indices from", markdown)
    return Rule(
        query=query,
        query_text=query_text.strip(),
        path=str(path),
        name=title,
        description=_description(text, title, markdown),
        severity=(_scalar(text, "Severity", markdown) or "").lower() or None,
        risk_score=int(risk) if risk and risk.isdigit() else None,
        tags=tuple(tags),
        threat=threats or _threats_from_tags(tags),
        index=tuple(_bullets(text, "Rule indices", markdown)),
        interval=_scalar(text, "Runs every", markdown),
        from_=frm.split()[0] if frm else None,
        references=tuple(refs),
        author=tuple(_bullets(text, "Rule authors", markdown)),
        license=_scalar(text, "Rule license", markdown),
        version=int(version) if version and version.isdigit() else None,
        query_line=line,
    )


def load_markdown(path: Path, text: str, dialect: str = "elasticsearch") -> list[Rule]:
    m = re.search(r"^#+\s*Rule query.*$\s*^```[^\n]*\n(.*?)^```", text, re.M | re.S)
    if not m:
        raise EqlError("no fenced code block under a 'Rule query' heading", path=str(path))
    line = text.count("\n", 0, m.start(1)) + 1
    return [_rule(path, text, m.group(1), line, True, dialect)]


def load_text(path: Path, text: str, dialect: str = "elasticsearch") -> list[Rule]:
    lines = text.splitlines()
    start = next((i for i, l in enumerate(lines) if _QUERY_START.match(l)), None)
    if start is None:
        raise EqlError("no EQL query found (expected a line starting with '<category> where', 'sequence' or 'sample')", path=str(path))
    end = next((i for i in range(start, len(lines)) if lines[i].startswith("Framework:")), len(lines))
    query_text = "\n".join(lines[start:end]).rstrip()
    return [_rule(path, text, query_text, start + 1, False, dialect)]
