"""The osquery pack (JSON) written beside the bare SQL.

Shape (osquery ``docs/wiki/deployment/configuration.md``, "Query packs"): a pack has a
``platform`` and ``queries``, each query a name mapped to ``query``, ``interval`` (seconds),
``platform`` (``linux``, ``darwin``, comma-separated lists allowed), ``description``,
``removed`` and ``snapshot``. Evented tables return the rows captured since the query's last
run, so ``interval`` is the rule's schedule (``rule.interval``) and ``removed: false`` (rows of
an event table are never "removed").
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from eqlc.rule import Rule

from .emitter import Plan

_SLUG = re.compile(r"[^a-z0-9]+")


def slug(text: str) -> str:
    return _SLUG.sub("_", text.lower()).strip("_") or "rule"


def query_name(rule: Rule) -> str:
    """The pack query name: the rule's name, lower-case with ``_`` separators."""
    return slug(rule.name or (Path(rule.path).stem if rule.path else "") or rule.stable_id)


def artifact_name(rule: Rule) -> str:
    """``<rule file stem>.pack.json`` (as the CLI names the ``.sql`` beside it)."""
    return f"{rule.file_stem}.pack.json"


def build(rule: Rule, plan: Plan, interval: int, notes: list[str]) -> dict:
    name = query_name(rule)
    queries = {}
    many = len(plan.queries) > 1
    tables_many = len({q.table for q in plan.queries}) > 1
    for q in plan.queries:
        key = name
        if many:
            key += f"_{q.table}" if tables_many else ""
            if sum(1 for o in plan.queries if o.table == q.table) > 1:
                key += "_" + "_".join(q.platforms)
        description = " ".join((rule.description or rule.name or "").split())
        value = f"eqlc translation of the EQL rule {rule.name!r}" + (f" ({rule.rule_id})" if rule.rule_id else "")
        if notes:
            value += ". Assumes: " + "; ".join(notes)
        queries[key] = {
            "query": q.sql,
            "interval": interval,
            "platform": ",".join(q.platforms),
            "description": description,
            "value": value,
            "removed": False,
            "snapshot": False,
        }
    platforms = list(dict.fromkeys(p for q in plan.queries for p in q.platforms))
    return {"platform": ",".join(platforms), "queries": queries}


def dumps(pack: dict) -> str:
    return json.dumps(pack, indent=2, ensure_ascii=False) + "\n"


def interval_seconds(rule: Rule, default: int) -> int:
    ms = rule.interval_ms
    return max(1, ms // 1000) if ms else default
