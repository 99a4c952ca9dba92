"""The ECS -> Sigma taxonomy mapping (``mapping.yaml``), read by the emitter and the fixture adapter.

Keeping one parsed view of the YAML for both sides is what makes execution meaningful: the rows the
SQLite engine sees are built from exactly the field correspondences the emitter used, so a
disagreement with the Python matcher can only come from semantics, not from two mappings drifting.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional, Union

from eqlc.mapping import load_mapping

DEFAULT_MAPPING = Path(__file__).with_name("mapping.yaml")


@dataclass(frozen=True)
class FieldSpec:
    """How one ECS field is read from a Sigma log source.

    ``kind`` is ``plain`` (same value under another name), ``tail`` (the ECS value is the part of
    ``sigma`` after the last ``after`` character: a file name, an extension) or ``argv`` (the ECS
    array is ``sigma`` split on single spaces).
    """

    ecs: str
    sigma: str
    kind: str = "plain"
    number: bool = False
    assume: Optional[str] = None
    products: Optional[tuple[str, ...]] = None
    after: tuple[str, ...] = ()
    excludes: tuple[str, ...] = ()
    array: bool = False  # the ECS field is an array (registry.data.strings): one value is assumed
    renders: tuple[str, ...] = ()  # how the Sigma field spells values the ECS field spells otherwise


@dataclass(frozen=True)
class LogSource:
    name: str
    category: str
    event_types: Optional[tuple[str, ...]]  # None: any event.type
    sigma: dict
    products: tuple[str, ...]
    fields: dict  # ecs name -> raw YAML entry

    def field(self, ecs: str, product: Optional[str], separators: dict) -> Optional[FieldSpec]:
        """The spec of ``ecs`` in this log source for ``product`` (None if unmapped there)."""
        raw = self.fields.get(ecs)
        if raw is None:
            return None
        if isinstance(raw, str):
            return FieldSpec(ecs, raw)
        products = tuple(raw["products"]) if raw.get("products") else None
        if products is not None and product not in products:
            return None
        seps = tuple(separators.get(product if product else None, separators.get("null", ["/", "\\"])))

        def chars(v: object) -> tuple[str, ...]:
            if v == "path_separator":
                return seps
            return tuple(v or ())  # type: ignore[arg-type]

        if "argv_of" in raw:
            return FieldSpec(ecs, raw["argv_of"], kind="argv", assume=raw.get("assume"), products=products)
        if "tail_of" in raw:
            after = chars(raw.get("after"))
            excludes = chars(raw.get("excludes")) if raw.get("excludes") else after
            return FieldSpec(ecs, raw["tail_of"], kind="tail", after=after,
                             excludes=tuple(dict.fromkeys(after + excludes)), products=products,
                             assume=raw.get("assume"))
        return FieldSpec(ecs, raw["field"], number=raw.get("type") == "number",
                         assume=raw.get("assume"), products=products, array=bool(raw.get("array")),
                         renders=tuple(str(r) for r in raw.get("renders") or ()))

    def plain_columns(self, product: Optional[str], separators: dict) -> dict[str, FieldSpec]:
        """Sigma column -> the plain ECS field holding its value (what the adapter copies)."""
        out: dict[str, FieldSpec] = {}
        for ecs in self.fields:
            spec = self.field(ecs, product, separators)
            if spec is not None and spec.kind == "plain":
                out.setdefault(spec.sigma, spec)
        return out


@dataclass(frozen=True)
class Mapping:
    products: dict
    separators: dict
    source_fields: tuple[str, ...]
    action_event_types: dict  # event.action value -> the ECS event.type it implies
    category_field: str
    type_field: str
    os_field: str
    logsources: dict  # name -> LogSource
    raw: dict = field(default_factory=dict, compare=False, repr=False)

    def for_category(self, category: str) -> list[LogSource]:
        return [ls for ls in self.logsources.values() if ls.category == category]

    def by_sigma(self, category: Optional[str]) -> Optional[LogSource]:
        for ls in self.logsources.values():
            if ls.sigma.get("category") == category:
                return ls
        return None


def _separators(raw: dict) -> dict:
    out = {}
    for k, v in (raw or {}).items():
        out[None if k in (None, "null") else k] = list(v)
    return out


def parse(raw: dict) -> Mapping:
    logsources = {}
    for name, ls in (raw.get("logsources") or {}).items():
        et = ls.get("event_type")
        logsources[name] = LogSource(
            name=name,
            category=ls["category"],
            event_types=tuple(et) if et else None,
            sigma=dict(ls.get("sigma") or {"category": name}),
            products=tuple(ls.get("products") or ()),
            fields=dict(ls.get("fields") or {}),
        )
    return Mapping(
        products=dict(raw.get("products") or {}),
        separators=_separators(raw.get("separators") or {}),
        source_fields=tuple(raw.get("source_fields") or ()),
        action_event_types=dict(raw.get("action_event_types") or {}),
        category_field=raw.get("category_field", "event.category"),
        type_field=raw.get("type_field", "event.type"),
        os_field=raw.get("os_field", "host.os.type"),
        logsources=logsources,
        raw=raw,
    )


@functools.lru_cache(maxsize=16)
def load(override: Optional[Union[str, Path]] = None) -> Mapping:
    """The default mapping, with the user's ``--mapping`` file deep-merged over it."""
    return parse(load_mapping(DEFAULT_MAPPING, str(override) if override else None))
