"""Sigma detection blocks and the condition that combines them.

The condition mirrors the rule's boolean structure: an ``and`` of plain items becomes one map
(``selection_*``), an ``or`` of plain items one list of maps, and each negated part is a block named
``filter_*`` referenced as ``not filter_*`` (the SigmaHQ convention). Blocks are only ever combined
in the ``condition``, so the meaning is the condition read with maps as AND and lists as OR.
"""

from __future__ import annotations

import re
from typing import Any

from .detection import Item, SAnd, SExpr, SNot, SOr

# condition precedence: or < and < not/identifier
_OR, _AND, _ATOM = 0, 1, 2


def _snake(name: str) -> str:
    s = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", name)
    return re.sub(r"[^a-z0-9]+", "_", s.lower()).strip("_") or "field"


def _value(values: tuple) -> Any:
    return values[0] if len(values) == 1 else list(values)


class Layout:
    def __init__(self) -> None:
        self.blocks: dict[str, Any] = {}

    def _name(self, negated: bool, item: Item) -> str:
        base = ("filter_" if negated else "selection_") + _snake(item.field)
        if not item.field:  # a keyword search (value-only detection)
            base = "filter_keywords" if negated else "keywords"
        if item.values == (None,):
            base += "_null"
        name, n = base, 2
        while name in self.blocks:
            name, n = f"{base}_{n}", n + 1
        return name

    def _add(self, negated: bool, first: Item, body: Any) -> str:
        name = self._name(negated, first)
        self.blocks[name] = body
        return name

    def render(self, e: SExpr, negated: bool = False) -> tuple[str, int]:
        if isinstance(e, Item):
            if not e.field:  # keywords: a plain list of values (any of them anywhere in the event)
                return self._add(negated, e, _value(e.values)), _ATOM
            return self._add(negated, e, {e.key: _value(e.values)}), _ATOM
        if isinstance(e, SNot):
            text, prec = self.render(e.child, not negated)
            return ("not " + text if prec == _ATOM else f"not ({text})"), _ATOM
        if isinstance(e, SAnd):
            return self._and(e, negated)
        if isinstance(e, SOr):
            return self._or(e, negated)
        raise TypeError(e)

    def _and(self, e: SAnd, negated: bool) -> tuple[str, int]:
        children = _flatten(e.children, SAnd)
        merged: dict[str, Item] = {}
        rest: list[SExpr] = []
        for c in children:
            if isinstance(c, Item) and c.field and c.key not in merged:
                merged[c.key] = c
            else:
                rest.append(c)
        parts: list[str] = []
        if merged:
            first = next(iter(merged.values()))
            parts.append(self._add(negated, first, {k: _value(i.values) for k, i in merged.items()}))
        for c in rest:
            text, prec = self.render(c, negated)
            parts.append(text if prec >= _AND else f"({text})")
        if len(parts) == 1:
            return parts[0], _ATOM
        return " and ".join(parts), _AND

    def _or(self, e: SOr, negated: bool) -> tuple[str, int]:
        children = _flatten(e.children, SOr)
        items = [c for c in children if isinstance(c, Item) and c.field]
        rest = [c for c in children if not (isinstance(c, Item) and c.field)]
        parts: list[str] = []
        if items:
            by_key: dict[str, list] = {}
            for i in items:  # same field and modifiers: one item with the values OR-ed
                vals = by_key.setdefault(i.key, [])
                for v in i.values:
                    if v not in vals:
                        vals.append(v)
            first = items[0]
            if len(by_key) == 1:
                (k, vals), = by_key.items()
                parts.append(self._add(negated, first, {k: _value(tuple(vals))}))
            else:
                parts.append(self._add(negated, first, [{k: _value(tuple(v))} for k, v in by_key.items()]))
        for c in rest:
            text, _prec = self.render(c, negated)
            parts.append(text)
        if len(parts) == 1:
            return parts[0], _ATOM
        return " or ".join(parts), _OR


def _flatten(children: tuple, cls: type) -> list:
    out: list = []
    for c in children:
        if isinstance(c, cls):
            out.extend(_flatten(c.children, cls))
        else:
            out.append(c)
    return out


def layout(expr: SExpr) -> dict[str, Any]:
    """The ``detection`` section (blocks then ``condition``)."""
    lay = Layout()
    condition, _ = lay.render(expr)
    out = dict(lay.blocks)
    out["condition"] = condition
    return out
