"""Run emitted Sigma through pySigma's sqlite backend on ECS events, with Python's sqlite3.

The SQL is pySigma's own (``SQLiteBackend.convert``); this module only supplies what a deployment
supplies:

* the ``logs`` table, one row per event and log source (``adapter.rows``), every column declared
  ``COLLATE NOCASE`` without a type: Sigma strings compare case-insensitively (ASCII-only, as
  Elasticsearch folds), ``|cased`` becomes GLOB, which ignores collation, and numbers keep their
  type because a column without type has no affinity;
* a processing pipeline that adds ``eqlc_category``/``eqlc_product``/``eqlc_service`` conditions
  per log source, the way backends' pipelines map a log source to a table;
* a ``REGEXP`` function (SQLite has none): Python ``re.search``, PCRE-like for Sigma's regex
  subset, including ``$`` matching before a final newline (run through :mod:`eqlc.safe_regex`,
  so a catastrophic pattern is a bounded engine error).

Single-event rules are ``SELECT * FROM logs WHERE ...``; correlations return ``event_ids`` (JSON
arrays of ``<n>:<rowid>``). Either way the rows are mapped back to the events' ``_id``.
"""

from __future__ import annotations

import functools
import json
import re
import sqlite3
from typing import Iterable, Optional

from sigma.backends.sqlite import sqliteBackend
from sigma.collection import SigmaCollection
from sigma.correlations import SigmaCorrelationRule
from sigma.processing.conditions import LogsourceCondition
from sigma.processing.pipeline import ProcessingItem, ProcessingPipeline
from sigma.processing.transformations import AddConditionTransformation, FieldMappingTransformation
from sigma.rule import SigmaRule

from eqlc import safe_regex
from eqlc.target import EVENT_ID_FIELD

from . import adapter
from .mapping import Mapping, column_of

ROW_ID = "eqlc_row"


def _compiled(pattern: str) -> safe_regex.SafeRegex:
    """Python ``re``'s meaning, in bounded time (:mod:`eqlc.safe_regex`): RE2 where the meaning is
    the same, else ``re`` under a time budget whose overrun is an engine error, never a hang."""
    return safe_regex.compile(pattern)


def _regexp(pattern: Optional[str], value: object) -> Optional[int]:
    if pattern is None or value is None:
        return None
    return int(_compiled(pattern).search(str(value)) is not None)


def keyword_columns(mapping: Mapping) -> dict[tuple, str]:
    """(category, product, service) -> the raw-line column keywords search, per log source of raw lines
    (mapping.yaml ``syslog_line``: linux/auth)."""
    out: dict[tuple, str] = {}
    for ls in mapping.logsources.values():
        if ls.syslog_line:
            for product in ls.products or (None,):
                key = (ls.sigma.get("category"), ls.sigma.get("product") or product, ls.sigma.get("service"))
                out[key] = ls.syslog_line["column"]
    return out


def logsource_pipeline(collection: SigmaCollection, keywords: Optional[dict] = None) -> ProcessingPipeline:
    """One AddCondition per (category, product) used by the collection's detection rules; for a log source
    of raw lines, keyword searches read its line column (pySigma's FieldMappingTransformation maps the
    value-only items, field None, to it with wildcards around each value: a substring search, as a SIEM's
    full-text search of the raw event is)."""
    items = []
    seen = set()
    for rule in collection.rules:
        if not isinstance(rule, SigmaRule):
            continue
        key = (rule.logsource.category, rule.logsource.product, rule.logsource.service)
        if key in seen or key == (None, None, None):
            continue
        seen.add(key)
        cond = {name: value for name, value in zip(("eqlc_category", "eqlc_product", "eqlc_service"), key) if value}
        items.append(ProcessingItem(
            AddConditionTransformation(conditions=cond, name=f"eqlc_ls_{len(items)}"),
            rule_conditions=[LogsourceCondition(category=key[0], product=key[1], service=key[2])],
            identifier=f"eqlc_logsource_{len(items)}",
        ))
        column = (keywords or {}).get(key)
        if column:
            items.append(ProcessingItem(
                FieldMappingTransformation({None: column}),
                rule_conditions=[LogsourceCondition(category=key[0], product=key[1], service=key[2])],
                identifier=f"eqlc_keywords_{len(items)}",
            ))
    return ProcessingPipeline(name="eqlc log sources", priority=10, items=items)


def to_sql(text: str, keywords: Optional[dict] = None) -> list[str]:
    """pySigma's sqlite SQL for the emitted text (one query per alert-producing rule)."""
    collection = SigmaCollection.from_yaml(text)
    backend = sqliteBackend(processing_pipeline=logsource_pipeline(collection, keywords))
    queries = backend.convert(collection)
    return [str(q) for q in queries]


def fields_read(text: str) -> list[str]:
    """Every field the emitted rules read (detections and correlation group-by): a column each,
    even when no event has a value for it (fields of a prefix mapping such as winlog.event_data.X)."""
    out: list[str] = []
    for rule in SigmaCollection.from_yaml(text).rules:
        if isinstance(rule, SigmaRule):
            for det in rule.detection.detections.values():
                stack = list(det.detection_items)
                while stack:
                    item = stack.pop()
                    if hasattr(item, "detection_items"):
                        stack.extend(item.detection_items)
                    elif getattr(item, "field", None):
                        out.append(item.field)
        elif isinstance(rule, SigmaCorrelationRule):
            out.extend(rule.group_by or [])
    return list(dict.fromkeys(out))


def load_table(events: list[dict], mapping: Mapping, extra: Iterable[str] = ()) -> tuple[sqlite3.Connection, dict[int, str]]:
    rows: list[dict] = []
    owner: dict[int, str] = {}
    for ev in events:
        for row in adapter.rows(ev, mapping):
            rows.append(row)
            owner[len(rows)] = str(ev.get(EVENT_ID_FIELD))
    cols: list[str] = ["timestamp", "eqlc_category", "eqlc_product", "eqlc_service"]
    for ls in mapping.logsources.values():
        for field_ in ls.fields.values():
            for name in column_of(field_):
                if name not in cols:
                    cols.append(name)
    for raw in mapping.join_fields.values():
        if raw["field"] not in cols:
            cols.append(raw["field"])
    for r in rows:
        for c in r:
            if c not in cols:
                cols.append(c)
    for c in extra:
        if c not in cols:
            cols.append(c)
    # SQLite names are case-insensitive (SourceProcessGUID of process_access is SourceProcessGuid of
    # create_remote_thread): one column each, rows read case-insensitively
    folded: dict[str, str] = {}
    for c in cols:
        folded.setdefault(c.lower(), c)
    cols = list(folded.values())
    rows = [{k.lower(): v for k, v in r.items()} for r in rows]
    con = sqlite3.connect(":memory:")
    con.create_function("REGEXP", 2, _regexp, deterministic=True)
    decl = ", ".join([f'"{ROW_ID}" INTEGER PRIMARY KEY'] + [f'"{c}" COLLATE NOCASE' for c in cols])
    con.execute(f"CREATE TABLE logs ({decl})")
    placeholders = ", ".join("?" for _ in cols)
    con.executemany(
        f"INSERT INTO logs ({', '.join(chr(34) + c + chr(34) for c in cols)}) VALUES ({placeholders})",
        [[r.get(c.lower()) for c in cols] for r in rows],
    )
    return con, owner


def run(text: str, events: Iterable[dict], mapping: Mapping) -> list[str]:
    """The ``_id``s of the events the emitted Sigma selects (every event of any correlation alert)."""
    events = list(events)
    queries = to_sql(text, keyword_columns(mapping))
    con, owner = load_table(events, mapping, fields_read(text))
    hit: set[str] = set()
    for sql in queries:
        cur = con.execute(sql)
        names = [d[0] for d in cur.description]
        for row in cur.fetchall():
            rec = dict(zip(names, row))
            if "event_ids" in rec:
                for eid in json.loads(rec["event_ids"] or "[]"):
                    hit.add(owner[int(str(eid).rsplit(":", 1)[1])])
            else:
                hit.add(owner[rec[ROW_ID]])
    con.close()
    order = [str(e.get(EVENT_ID_FIELD)) for e in events]
    return [i for i in dict.fromkeys(order) if i in hit]


def is_correlation(text: str) -> bool:
    return any(isinstance(r, SigmaCorrelationRule) for r in SigmaCollection.from_yaml(text).rules)
