"""Plain ``.eql`` files: the whole file is one query; the rule is named after the file."""

from __future__ import annotations

from pathlib import Path

from ..rule import Rule
from .common import parse_in_file


def load_eql(path: Path, text: str, dialect: str = "elasticsearch") -> list[Rule]:
    query = parse_in_file(text, path, text, 1, 1, dialect)
    return [Rule(query=query, query_text=text.strip(), path=str(path), name=path.stem.replace("_", " "))]
