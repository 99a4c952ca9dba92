"""YAML output in SigmaHQ's style: keys in rule order, values that are Sigma strings single-quoted."""

from __future__ import annotations

from typing import Any

import yaml

from .values import SigmaText


class _Dumper(yaml.SafeDumper):
    def increase_indent(self, flow: bool = False, indentless: bool = False) -> Any:  # lists indented under keys
        return super().increase_indent(flow, False)


def _sigma_text(dumper: yaml.SafeDumper, data: SigmaText) -> yaml.Node:
    return dumper.represent_scalar("tag:yaml.org,2002:str", str(data), style="'")


_Dumper.add_representer(SigmaText, _sigma_text)


def dump(doc: dict) -> str:
    return yaml.dump(doc, Dumper=_Dumper, sort_keys=False, allow_unicode=True, default_flow_style=False, width=10_000)


def dump_all(docs: list[dict], header: list[str] = ()) -> str:  # type: ignore[assignment]
    comments = "".join(f"# {line}\n" for line in header)
    return comments + "---\n".join(dump(d) for d in docs)
