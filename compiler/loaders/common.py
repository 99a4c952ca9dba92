"""Shared by the loaders: parse a query found inside a file and relocate its errors into the file."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..errors import EqlError
from ..parser import parse_query
from ..rule import Rule, Technique, Threat


def parse_in_file(query: str, path: Path, file_text: str, line: int, column: int = 1, dialect: str = "elasticsearch") -> Any:
    """Parse ``query`` that starts at ``line``/``column`` of ``file_text``; errors point into the file."""
    try:
        return parse_query(query, dialect=dialect)
    except EqlError as err:
        raise err.relocated(str(path), file_text, line - 1, column - 1) from None


def locate(file_text: str, query: str, fallback_line: int = 1) -> tuple[int, int]:
    """Line and column where ``query`` starts in ``file_text`` (exact text search)."""
    idx = file_text.find(query) if query else -1
    if idx < 0:
        return fallback_line, 1
    line = file_text.count("\n", 0, idx) + 1
    col = idx - (file_text.rfind("\n", 0, idx) + 1) + 1
    return line, col


def threats_from_elastic(entries: Any) -> tuple[Threat, ...]:
    """``rule.threat`` (TOML and Kibana JSON share this shape) -> Threat objects."""
    out = []
    for entry in entries or []:
        tactic = entry.get("tactic") or {}
        techniques = []
        for t in entry.get("technique") or []:
            subs = tuple(Technique(s.get("id", ""), s.get("name", "")) for s in t.get("subtechnique") or [])
            techniques.append(Technique(t.get("id", ""), t.get("name", ""), subs))
        out.append(Threat(tactic.get("id", ""), tactic.get("name", ""), tuple(techniques)))
    return tuple(out)


def rule_from_elastic_dict(data: dict, query: Any, query_text: str, path: Path, line: int, column: int, extra: dict | None = None) -> Rule:
    """A Rule from the field names the detection-rules TOML and Kibana exports share."""
    def tup(key: str) -> tuple:
        v = data.get(key) or ()
        return tuple(v) if isinstance(v, (list, tuple)) else (v,)

    return Rule(
        query=query,
        query_text=query_text,
        path=str(path),
        name=data.get("name", "") or path.stem,
        rule_id=data.get("rule_id"),
        description=(data.get("description") or "").strip(),
        severity=data.get("severity"),
        risk_score=data.get("risk_score"),
        tags=tup("tags"),
        threat=threats_from_elastic(data.get("threat")),
        index=tup("index"),
        interval=data.get("interval") or "5m",  # Kibana and detection-rules default
        from_=data.get("from"),
        references=tup("references"),
        false_positives=tup("false_positives"),
        author=tup("author"),
        license=data.get("license"),
        version=data.get("version"),
        event_category_override=data.get("event_category_override"),
        timestamp_override=data.get("timestamp_override"),
        tiebreaker_field=data.get("tiebreaker_field"),
        query_line=line,
        query_column=column,
        extra=extra or {},
    )
