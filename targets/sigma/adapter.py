"""ECS fixture events -> rows in Sigma's taxonomy, for running pySigma's SQLite output.

Built from the same ``mapping.yaml`` the emitter reads:

* an event is a row of log source ``L`` iff its ``event.category`` holds L's category and (when L
  lists event types) its ``event.type`` holds one of them (:func:`member`); ``eqlc_category`` and
  ``eqlc_product`` columns carry the log source and the product (``host.os.type`` looked up
  case-sensitively), and the execution pipeline adds ``eqlc_category = ...``/``eqlc_product = ...``
  to each rule, as a deployment's pipeline maps a log source to a table;
* each plain field copies its ECS value (read with :func:`eqlc.events.values`, so dotted keys
  and nulls are read as Elasticsearch reads them); ``tail``/``argv`` fields add no column: the
  emitted rule reads them from the path/command line column, which is what the assumptions say;
* a missing or null value is SQL NULL; booleans are 1/0; ``@timestamp`` is the ``timestamp`` column
  pySigma's correlation SQL reads.

Sigma fields are scalar. An event holding several values in a mapped single-valued ECS field (ECS
defines every mapped field as single-valued) is expanded into one row per value combination, and
the engine reports the event if any of its rows matches; that is Elasticsearch's any-element
semantics for positive conditions but not under ``not`` -- :func:`multi_valued` lets the tests set
such events apart.
"""

from __future__ import annotations

import itertools
from typing import Any, Iterable, Optional

from eqlc.events import split_path, values

from .mapping import LogSource, Mapping

MAX_ROWS_PER_EVENT = 64


def product_of(event: dict, mapping: Mapping) -> Optional[str]:
    os_values = values(event, split_path(mapping.os_field))
    if len(os_values) != 1 or not isinstance(os_values[0], str):
        return None
    return mapping.products.get(os_values[0])


def member(event: dict, ls: LogSource, product: Optional[str], mapping: Mapping) -> bool:
    """Is ``event`` a row of log source ``ls`` (restricted to ``product`` when given)?"""
    if ls.category not in values(event, split_path(mapping.category_field)):
        return False
    if ls.event_types is not None and not set(ls.event_types) & {
        v for v in values(event, split_path(mapping.type_field)) if isinstance(v, str)
    }:
        return False
    return product is None or product_of(event, mapping) == product


def _cell(v: Any) -> Any:
    if isinstance(v, bool):
        return int(v)
    if isinstance(v, (str, int, float)):
        return v
    return None  # objects are not Sigma values


def rows(event: dict, mapping: Mapping) -> list[dict]:
    """The Sigma-taxonomy rows of one ECS event (one per log source it belongs to)."""
    out: list[dict] = []
    product = product_of(event, mapping)
    ts = values(event, ("@timestamp",))
    for ls in mapping.logsources.values():
        if not member(event, ls, None, mapping):
            continue
        base = {
            "eqlc_category": ls.sigma.get("category"),
            "eqlc_product": product,
            "timestamp": ts[0] if ts else None,
        }
        cols = ls.plain_columns(product, mapping.separators)
        choices: list[tuple[str, list]] = []
        for col, spec in cols.items():
            vals = [_cell(v) for v in values(event, split_path(spec.ecs))]
            vals = [v for v in vals if v is not None]
            choices.append((col, vals or [None]))
        combos = itertools.islice(itertools.product(*(c[1] for c in choices)), MAX_ROWS_PER_EVENT)
        for combo in combos:
            row = dict(base)
            row.update({col: v for (col, _), v in zip(choices, combo)})
            out.append(row)
    return out


def multi_valued(event: dict, mapping: Mapping, fields: Iterable[str]) -> list[str]:
    """The ECS ``fields`` (plain-mapped) holding several values in ``event``."""
    return [f for f in fields if len(values(event, split_path(f))) > 1]
