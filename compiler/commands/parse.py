"""``eqlc parse PATH...`` / ``eqlc parse --query TEXT``: the IR of rules as JSON, or their canonical EQL."""

from __future__ import annotations

import dataclasses
import enum
from typing import Any, List, Optional

import typer

from .. import ir
from ..errors import EqlError
from ..loaders import load_rules
from ..printer import to_eql
from .common import expand_paths, fail, inline_rule, out, print_json, require_input


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
    paths: Optional[List[str]] = typer.Argument(
        None, metavar="PATH", help="Rule files (.eql, .toml, .ndjson, .md, .txt), directories or glob patterns."),
    query: Optional[str] = typer.Option(None, "--query", "-q", metavar="TEXT", help="Parse this EQL query instead of rule files."),
    json_out: bool = typer.Option(False, "--json", help="Print the IR as JSON (default: canonical EQL)."),
) -> None:
    """Parse rules and print their canonical EQL, or with --json their IR."""
    require_input(paths, query, "parse")
    try:
        rules = [inline_rule(query)] if query is not None else [r for p in expand_paths(paths) for r in load_rules(p)]
    except EqlError as e:
        fail(e)
    if json_out:
        print_json({"rules": [{"path": r.path, "name": r.name, "rule_id": r.rule_id, "query": ir_to_json(r.query)} for r in rules]})
    else:
        for r in rules:
            out.print(to_eql(r.query), markup=False)


def register(app: typer.Typer) -> None:
    app.command("parse")(parse)
