"""Kibana saved-rules export (NDJSON): one rule per line, plus an export summary line.

Non-EQL rules and the summary are skipped; an EQL rule with a bad query or wrongly typed
metadata is an error naming the line of the file, and the file's other rules still load
(:class:`~eqlc.errors.PartialLoad` carries both).
"""

from __future__ import annotations

import json
from pathlib import Path

from ..errors import EqlError, PartialLoad
from ..parser import parse_query
from ..rule import Rule
from .common import rule_from_elastic_dict
from .fields import check_rule_fields


def load_ndjson(path: Path, text: str, dialect: str = "elasticsearch") -> list[Rule]:
    rules: list[Rule] = []
    errors: list[EqlError] = []
    for lineno, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            data = json.loads(line)
        except json.JSONDecodeError as err:
            raise EqlError(f"invalid JSON: {err.msg}", lineno, err.colno, text, str(path)) from None
        if not isinstance(data, dict) or "exported_count" in data or "query" not in data:
            continue
        lang, kind = data.get("language", "eql"), data.get("type", "eql")
        if isinstance(lang, str) and lang != "eql" or isinstance(kind, str) and kind != "eql":
            continue
        name = data.get("name") if isinstance(data.get("name"), str) else "?"

        def fail(key: str, message: str, line: str = line, lineno: int = lineno, name: str = name) -> EqlError:
            col = line.find(f'"{key}"') + 1
            return EqlError(f"in rule {name!r}: {message}", lineno, max(col, 1), text, str(path))

        try:
            check_rule_fields(data, fail)
            query_text = data["query"]
            try:
                query = parse_query(query_text, dialect=dialect)
            except EqlError as err:
                raise fail("query", f"query line {err.line}, column {err.column}: {err.message}") from None
            rules.append(rule_from_elastic_dict(data, query, query_text.strip(), path, lineno, 1))
        except EqlError as err:
            errors.append(err)  # one broken rule never costs the export's other rules
    if errors:
        raise PartialLoad(rules, errors)
    if not rules:
        raise EqlError("no EQL rules in this export", path=str(path))
    return rules
