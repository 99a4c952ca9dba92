"""Elastic detection-rules TOML (``[metadata]`` + ``[rule]`` with ``query = '''...'''``)."""

from __future__ import annotations

import re
from pathlib import Path

from ..errors import EqlError
from ..rule import Rule
from .common import locate, parse_in_file, rule_from_elastic_dict
from .fields import check_rule_fields


def _key_position(text: str, key: str) -> tuple[int, int]:
    """Line and column of ``key``'s value in the TOML text (its ``key =`` line, or the first
    ``[[rule.key]]``/``[rule.key]`` table header); (0, 0) when it cannot be found."""
    m = re.search(rf'^[ \t]*(?:"{re.escape(key)}"|{re.escape(key)})[ \t]*=[ \t]*', text, re.M) or \
        re.search(rf"^[ \t]*\[\[?(?:rule\.|metadata\.)?{re.escape(key)}\b", text, re.M)
    if not m:
        return 0, 0
    line = text.count("\n", 0, m.start()) + 1
    return line, m.end() - (text.rfind("\n", 0, m.end()) + 1) + 1


def load_toml(path: Path, text: str, dialect: str = "elasticsearch") -> list[Rule]:
    import tomllib  # here, not at the top: `eqlc match rule.eql` never reads TOML (start-up time)

    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        m = re.search(r"at line (\d+), column (\d+)", str(err))
        line, col = (int(m.group(1)), int(m.group(2))) if m else (0, 0)
        raise EqlError(f"invalid TOML: {str(err).split(' (at line')[0]}", line, col, text, str(path)) from None
    rule = data.get("rule")
    if not isinstance(rule, dict) or "query" not in rule:
        raise EqlError("no [rule] table with a query; is this an Elastic detection rule?", path=str(path))

    def fail(key: str, message: str) -> EqlError:
        line, col = _key_position(text, key)
        return EqlError(message, line, col, text, str(path))

    check_rule_fields(rule, fail)
    meta = data.get("metadata") or {}
    if not isinstance(meta, dict):
        raise fail("metadata", "'metadata' must be a table")
    for key in ("creation_date", "updated_date"):
        if meta.get(key) is not None and not isinstance(meta[key], str):
            raise fail(key, f"'metadata.{key}' must be a string (YYYY/MM/DD)")
    language = rule.get("language", "eql")
    if language != "eql":
        raise EqlError(f"rule language is {language!r}, not 'eql'", path=str(path))
    query_text = rule["query"]
    m = re.search(r"^query\s*=", text, re.M)
    fallback = text.count("\n", 0, m.start()) + 1 if m else 1
    line, col = locate(text, query_text, fallback)
    query = parse_in_file(query_text, path, text, line, col, dialect)
    r = rule_from_elastic_dict(rule, query, query_text.strip(), path, line, col, extra={"metadata": meta})
    r.created = meta.get("creation_date")
    r.updated = meta.get("updated_date")
    return [r]
