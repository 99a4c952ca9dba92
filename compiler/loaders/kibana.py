"""Kibana saved-rules export (NDJSON): one rule per line, plus an export summary line.

Non-EQL rules and the summary are skipped; an EQL rule with a bad query is an error naming the
line of the file.
"""

from __future__ import annotations

import json
from pathlib import Path

from ..errors import EqlError
from ..parser import parse_query
from ..rule import Rule
from .common import rule_from_elastic_dict


def load_ndjson(path: Path, text: str, dialect: str = "elasticsearch") -> list[Rule]:
    rules: list[Rule] = []
    for lineno, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            data = json.loads(line)
        except json.JSONDecodeError as err:
            raise EqlError(f"invalid JSON: {err.msg}", lineno, err.colno, text, str(path)) from None
        if not isinstance(data, dict) or "exported_count" in data or "query" not in data:
            continue
        if data.get("language", "eql") != "eql" or data.get("type", "eql") != "eql":
            continue
        query_text = data["query"]
        try:
            query = parse_query(query_text, dialect=dialect)
        except EqlError as err:
            col = line.find('"query"') + 1
            raise EqlError(
                f"in rule {data.get('name', '?')!r}, query line {err.line}, column {err.column}: {err.message}",
                lineno, max(col, 1), text, str(path),
            ) from None
        rules.append(rule_from_elastic_dict(data, query, query_text.strip(), path, lineno, 1))
    if not rules:
        raise EqlError("no EQL rules in this export", path=str(path))
    return rules
