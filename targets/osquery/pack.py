"""The osquery packs (JSON), one per platform, each with the flagfile its evented tables need.

Pack shape (osquery ``docs/wiki/deployment/configuration.md``, "Query packs"): a pack has a
``platform``, an optional ``version`` (the pack runs only on osquery at least that version) and
``queries``, each query a name mapped to ``query``, ``interval`` (seconds), ``platform``,
``version``, ``description``, ``value``, ``removed`` and ``snapshot``. Evented tables return the
rows captured since the query's last run, so ``interval`` is the rule's schedule
(``rule.interval``) and ``removed: false`` (rows of an event table are never "removed").

An evented table is empty unless osquery is started with the flags that enable its publisher
(``--disable_events=false``, ``--disable_audit=false``, ``--enable_process_etw_events=true``...;
per source in ``mapping.yaml`` with their sources). Those are start-up flags, so they are
written beside each pack as an osquery flagfile (``<rule>.<platform>.flags``: one ``--flag=value``
per line, as ``osqueryd --flagfile=FILE`` reads it), and the pack's ``version`` is the highest
minimum version of the tables it reads.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from eqlc.rule import Rule

from .emitter import Plan
from .fields import Mapping

_SLUG = re.compile(r"[^a-z0-9]+")


def slug(text: str) -> str:
    return _SLUG.sub("_", text.lower()).strip("_") or "rule"


def query_name(rule: Rule) -> str:
    """The pack query name: the rule's name, lower-case with ``_`` separators."""
    return slug(rule.name or (Path(rule.path).stem if rule.path else "") or rule.stable_id)


def artifact_name(rule: Rule, platform: str) -> str:
    """``<rule file stem>.<platform>.pack.json`` (as the CLI names the ``.sql`` beside it)."""
    return f"{rule.file_stem}.{platform}.pack.json"


def flagfile_name(rule: Rule, platform: str) -> str:
    return f"{rule.file_stem}.{platform}.flags"


def version_key(v: str) -> tuple:
    return tuple(int(x) for x in re.findall(r"\d+", v))


def requirements(plan: Plan, mapping: Mapping, platform: str) -> tuple[str, list[str]]:
    """(minimum osquery version, flags) for the queries of ``plan`` that run on ``platform``."""
    versions: list[str] = []
    flags: list[str] = list(mapping.common_flags.get(platform, ()))
    for q in plan.queries:
        if platform not in q.platforms:
            continue
        req = mapping.tables[q.table].osquery
        v = (req.get("min_version") or {}).get(platform) if isinstance(req.get("min_version"), dict) else req.get("min_version")
        if v:
            versions.append(str(v))
        pflags = req.get("flags") or {}
        for f in (pflags.get(platform) or ()) if isinstance(pflags, dict) else pflags:
            if f not in flags:
                flags.append(f)
    version = max(versions, key=version_key) if versions else ""
    return version, _merge_flags(flags)


def _merge_flags(flags: list[str]) -> list[str]:
    """One line per flag; list-valued flags (``--windows_event_channels``) are the union of
    every source's channels."""
    out: dict = {}
    for f in flags:
        name, _, value = f.partition("=")
        if name in out and name in _LIST_FLAGS:
            have = out[name].split(",")
            out[name] = ",".join(have + [v for v in value.split(",") if v not in have])
        elif name not in out:
            out[name] = value
    return [f"{n}={v}" for n, v in out.items()]


_LIST_FLAGS = {"--windows_event_channels"}


def build(rule: Rule, plan: Plan, interval: int, notes: list[str], mapping: Mapping) -> dict[str, str]:
    """The artifacts: per platform, ``<rule>.<platform>.pack.json`` and its flagfile."""
    name = query_name(rule)
    description = " ".join((rule.description or rule.name or "").split())
    value = f"eqlc translation of the EQL rule {rule.name!r}" + (f" ({rule.rule_id})" if rule.rule_id else "")
    if notes:
        value += ". Assumes: " + "; ".join(notes)
    platforms = list(dict.fromkeys(p for q in plan.queries for p in q.platforms))
    out: dict[str, str] = {}
    for platform in platforms:
        queries = {}
        mine = [q for q in plan.queries if platform in q.platforms]
        tables_many = len({q.table for q in mine}) > 1
        version, flags = requirements(plan, mapping, platform)
        for q in mine:
            key = name + (f"_{q.table}" if tables_many else "")
            entry = {
                "query": q.sql,
                "interval": interval,
                "platform": platform,
                "description": description,
                "value": value,
                "removed": False,
                "snapshot": False,
            }
            if version:
                entry["version"] = version
            queries[key] = entry
        pack: dict = {"platform": platform}
        if version:
            pack["version"] = version
        pack["queries"] = queries
        out[artifact_name(rule, platform)] = dumps(pack)
        out[flagfile_name(rule, platform)] = "".join(f + "\n" for f in flags)
    return out


def dumps(pack: dict) -> str:
    return json.dumps(pack, indent=2, ensure_ascii=False) + "\n"


def interval_seconds(rule: Rule, default: int) -> int:
    ms = rule.interval_ms
    return max(1, ms // 1000) if ms else default


BATCH_DIR = "packs"  # batch files live here, apart from the rules' own files (no stem can collide)


def batch(translations: list, rules: list[Rule]) -> dict[str, str]:
    """The batch's packs: per platform, ``packs/eqlc.<platform>.pack.json`` holding the query of
    every translated rule that runs there, and ``packs/eqlc.<platform>.flags``, the union of their
    flagfiles (list flags such as ``--windows_event_channels`` merged), so that an operator loads
    one pack and one flagfile per platform instead of one per rule.

    Each query keeps its own ``version`` (osquery skips a query its version cannot run); the
    pack's ``version`` is the lowest of them, so that an older osquery still runs the queries it can.
    Query names are the rules' pack query names, made unique with the rule id where two rules share
    a name. Built from the per-rule packs (:func:`build`), so the two never differ."""
    queries: dict[str, dict] = {}
    flags: dict[str, list[str]] = {}
    versions: dict[str, list[str]] = {}
    taken: dict[str, set] = {}
    for t, rule in zip(translations, rules):
        if t.output is None:
            continue
        for name, text in t.artifacts.items():
            if not name.endswith(".pack.json"):
                continue
            pack = json.loads(text)
            platform = pack["platform"]
            flagfile = name[: -len(".pack.json")] + ".flags"
            flags.setdefault(platform, []).extend(t.artifacts.get(flagfile, "").splitlines())
            mine = queries.setdefault(platform, {})
            names = taken.setdefault(platform, set())
            for key, q in pack["queries"].items():
                unique = key
                if unique in names:
                    unique = f"{key}_{slug(rule.rule_id or rule.stable_id)[:8]}"
                n = 2
                while unique in names:
                    unique, n = f"{key}_{n}", n + 1
                names.add(unique)
                mine[unique] = q
                if q.get("version"):
                    versions.setdefault(platform, []).append(q["version"])
    out: dict[str, str] = {}
    for platform, qs in queries.items():
        pack: dict = {"platform": platform}
        if versions.get(platform):
            pack["version"] = min(versions[platform], key=version_key)
        pack["queries"] = qs
        out[f"{BATCH_DIR}/eqlc.{platform}.pack.json"] = dumps(pack)
        out[f"{BATCH_DIR}/eqlc.{platform}.flags"] = "".join(f + "\n" for f in _merge_flags(flags[platform]))
    return out
