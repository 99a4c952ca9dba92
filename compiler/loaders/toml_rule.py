"""Elastic detection-rules TOML (``[metadata]`` + ``[rule]`` with ``query = '''...'''``)."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

from ..errors import EqlError
from ..rule import Rule
from .common import locate, parse_in_file, rule_from_elastic_dict


def load_toml(path: Path, text: str, dialect: str = "elasticsearch") -> list[Rule]:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        m = re.search(r"at line (\d+), column (\d+)", str(err))
        line, col = (int(m.group(1)), int(m.group(2))) if m else (0, 0)
        raise EqlError(f"invalid TOML: {str(err).split(' (at line')[0]}", line, col, text, str(path)) from None
    rule = data.get("rule")
    if not isinstance(rule, dict) or "query" not in rule:
        raise EqlError("no [rule] table with a query; is this an Elastic detection rule?", path=str(path))
    language = rule.get("language", "eql")
    if language != "eql":
        raise EqlError(f"rule language is {language!r}, not 'eql'", path=str(path))
    query_text = rule["query"]
    m = re.search(r"^query\s*=", text, re.M)
    fallback = text.count("\n", 0, m.start()) + 1 if m else 1
    line, col = locate(text, query_text, fallback)
    query = parse_in_file(query_text, path, text, line, col, dialect)
    meta = data.get("metadata") or {}
    r = rule_from_elastic_dict(rule, query, query_text.strip(), path, line, col, extra={"metadata": meta})
    r.created = meta.get("creation_date")
    r.updated = meta.get("updated_date")
    return [r]
