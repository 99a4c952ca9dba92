"""``eqlc parse RULE``: the IR of a rule as JSON, or its canonical EQL."""

from __future__ import annotations

import dataclasses
import enum
from pathlib import Path
from typing import Any

import typer

from .. import ir
from ..errors import EqlError
from ..loaders import load_rules
from ..printer import to_eql
from .common import fail, out, print_json


def ir_to_json(node: Any) -> Any:
    """IR -> JSON-able data: every node as ``{"node": ClassName, fields..., "span": [...]}``."""
    if isinstance(node, ir.Pattern):
        return {"node": "Pattern", "text": node.text, "kind": node.kind.value}
    if dataclasses.is_dataclass(node) and not isinstance(node, type):
        doc: dict = {"node": type(node).__name__}
        for f in dataclasses.fields(node):
            value = getattr(node, f.name)
            if f.name == "span":
                if value != ir.NO_SPAN:
                    doc["span"] = [value.line, value.column, value.end_line, value.end_column]
                continue
            doc[f.name] = ir_to_json(value)
        return doc
    if isinstance(node, enum.Enum):
        return node.value
    if isinstance(node, (list, tuple)):
        return [ir_to_json(x) for x in node]
    return node


def parse(
    rule: Path = typer.Argument(..., help="A rule file (.eql, .toml, .ndjson, .md, .txt)."),
    json_out: bool = typer.Option(False, "--json", help="Print the IR as JSON (default: canonical EQL)."),
) -> None:
    """Parse a rule and print its IR (``--json``) or canonical EQL."""
    try:
        rules = load_rules(rule)
    except EqlError as e:
        fail(e)
    if json_out:
        print_json({"rules": [{"path": r.path, "name": r.name, "rule_id": r.rule_id, "query": ir_to_json(r.query)} for r in rules]})
    else:
        for r in rules:
            out.print(to_eql(r.query), markup=False)


def register(app: typer.Typer) -> None:
    app.command("parse")(parse)
