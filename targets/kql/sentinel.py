"""Microsoft Sentinel scheduled analytics rules: the Azure-Sentinel repository YAML
(``Detections/*.yaml``) and what Sentinel imports, an ARM template of
``Microsoft.SecurityInsights/alertRules`` (kind ``Scheduled``) per rule and for a whole batch.

Every constraint is Microsoft's, cited where it is applied:

* ARM shape: ``Microsoft.OperationalInsights/workspaces/providers/alertRules`` named
  ``[concat(parameters('workspace'),'/Microsoft.SecurityInsights/',<rule guid>)]``, API version
  2024-09-01, required properties displayName, enabled, severity, query, queryFrequency,
  queryPeriod, triggerOperator, triggerThreshold, suppressionEnabled, suppressionDuration
  (Azure/azure-rest-api-specs, securityinsights stable/2024-09-01/AlertRules.json).
* Query of 1 to 10,000 characters; frequency and period of 5 minutes to 14 days, period >=
  frequency (articles/sentinel/scheduled-rules-overview.md; Azure-Sentinel
  ScheduledTemplateInternalModel.cs). A query over the limit is not deployed: the reason is stated.
* tactics/relevantTechniques that pass Azure-Sentinel's NoTechniquesWithoutMatchingTactics check
  (``sentinel_attack.yaml``); entityMappings within ValidEntityMappings (1-5 mappings of 1-3
  unique identifiers, valid identifiers, column names ``^[a-zA-Z_]+\\w*$``).
* Scheduling from :mod:`.schedule` (ingestion_time() windows); the DeviceInfo lookup reads its
  profile ``period`` and the rule's query period is raised to contain it (Sentinel scopes every
  table of a scheduled query to the query period).
"""

from __future__ import annotations

import functools
import json
import re
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

import yaml

from eqlc import ir
from eqlc.result import Notes, Refused
from eqlc.rule import Rule, duration_ms

from . import raw_tables, schedule
from .profile import Profile
from .query import category_from_condition, field_names

HERE = Path(__file__).resolve().parent
API_VERSION = "2024-09-01"
ARM_SCHEMA = "https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#"
MAX_QUERY = 10_000
MAX_ENTITY_MAPPINGS = 5
MAX_IDENTIFIERS = 3
SEVERITY = {"low": "Low", "medium": "Medium", "high": "High", "critical": "High"}
NAMESPACE = uuid.UUID("0d4b3f4e-7a52-5c1b-9e1f-2f8c5a6b7d90")
_COLUMN = re.compile(r"^[a-zA-Z_]+\w*$")
_TECHNIQUE = re.compile(r"^T\d{4}(\.\d{3})?$")
# Line separators YAML and JavaScript consumers treat as line breaks (besides \n and \r).
_BREAKS = {"\u0085": "\\u0085", "\u2028": "\\u2028", "\u2029": "\\u2029"}

# Sentinel entity types and their identifiers (Azure-Sentinel EntityMappingIdentifiers.cs):
# valid identifiers, and the identifier sets of which one must be fully present.
ENTITY_IDENTIFIERS: dict[str, tuple[tuple[str, ...], tuple[tuple[str, ...], ...]]] = {
    "Account": (("Name", "FullName", "NTDomain", "DnsDomain", "UPNSuffix", "Sid", "AadTenantId", "AadUserId", "PUID",
                 "IsDomainJoined", "DisplayName", "ObjectGuid"),
                (("FullName",), ("Sid",), ("Name",), ("AadUserId",), ("PUID",), ("ObjectGuid",))),
    "Host": (("DnsDomain", "NTDomain", "HostName", "FullName", "NetBiosName", "AzureID", "OMSAgentID", "OSFamily",
              "OSVersion", "IsDomainJoined"),
             (("FullName",), ("HostName",), ("NetBiosName",), ("AzureID",), ("OMSAgentID",))),
    "IP": (("Address",), (("Address",),)),
    "File": (("Directory", "Name"), (("Name",),)),
    "FileHash": (("Algorithm", "Value"), (("Algorithm", "Value"),)),
    "Process": (("ProcessId", "CommandLine", "ElevationToken", "CreationTimeUtc"), (("CommandLine",), ("ProcessId",))),
    "RegistryKey": (("Hive", "Key"), (("Key",), ("Hive",))),
    "RegistryValue": (("Name", "Value", "ValueType"), (("Name",),)),
    "DNS": (("DomainName",), (("DomainName",),)),
    "URL": (("Url",), (("Url",),)),
}


@functools.lru_cache(maxsize=1)
def technique_tactics() -> dict[str, tuple[str, ...]]:
    """Technique id -> the tactics Azure-Sentinel's check requires for it."""
    data = yaml.safe_load((HERE / "sentinel_attack.yaml").read_text(encoding="utf-8"))
    out: dict[str, list[str]] = {}
    for tactic, techniques in data["tactics"].items():
        for t in techniques:
            out.setdefault(str(t), [])
            if tactic not in out[str(t)]:
                out[str(t)].append(tactic)
    return {k: tuple(v) for k, v in out.items()}


def tactic_name(name: str) -> str:
    """Elastic's tactic name ("Command and Control") as Sentinel's AttackTactic (CommandAndControl)."""
    return "".join(w[:1].upper() + w[1:] for w in re.split(r"[^A-Za-z]+", name) if w)


@dataclass
class Attack:
    tactics: list[str]
    techniques: list[str]  # as written (sub-techniques kept), all known to the check
    notes: list[str] = field(default_factory=list)


def attack_of(rule: Rule) -> Attack:
    """The rule's ATT&CK mapping as pairs Azure-Sentinel's check accepts: every known technique's
    tactics are listed (added when the rule does not name them), unknown techniques left out."""
    table = technique_tactics()
    tactics = [tactic_name(t) for t in rule.tactic_names()]
    techniques: list[str] = []
    notes: list[str] = []
    for tid in rule.technique_ids():
        parent = tid.split(".")[0]
        if not _TECHNIQUE.match(tid) or parent not in table:
            notes.append(f"technique {tid} is left out of the ATT&CK mapping: Azure-Sentinel's validation does not know "
                         f"it (its technique table has no {parent}), and fails rules that list it")
            continue
        techniques.append(tid)
        added = [t for t in table[parent] if t not in tactics]
        if added:
            tactics.extend(added)
            notes.append(f"tactic {', '.join(added)} added for technique {tid} (Azure-Sentinel's validation requires the "
                         "tactics of every technique)")
    return Attack(list(dict.fromkeys(tactics)), list(dict.fromkeys(techniques)), notes)


# ---- what a query reads -----------------------------------------------------------------------
def tables_read(profile: Profile, rule: Rule, query: Optional[str] = None) -> list[str]:
    """The profile tables the rule's query reads (one per event query or sequence term; for an
    ``any`` query over several categories, the tables of its union legs, read from ``query``)."""
    if raw_tables.is_raw(profile):  # one raw table, chosen by the rule's index patterns
        profile = raw_tables.narrow(profile, rule, Notes())
        if raw_tables.is_multi(profile) and query is not None:  # the routed tables whose legs the query keeps
            return [t for t in profile.tables if re.search(rf"^(?:let __leg\d+ = |    \()?{t}$", query, re.M)]
        if raw_tables.is_raw(profile):
            return list(profile.tables)
    body = rule.query.body
    queries = [t.query for t in body.terms] if isinstance(body, ir.Sequence) else [body]
    out: list[str] = []
    for q in queries:
        category = getattr(q, "category", None) or category_from_condition(q.condition)
        table = profile.table_for(category, field_names(q.condition)) if category else None
        if table is not None and table.name not in out:
            out.append(table.name)
    if query is not None and any(getattr(q, "category", "") is None and category_from_condition(q.condition) is None
                                 for q in queries):
        heads = {m.group(1) for m in re.finditer(r"^(?:    \()?(\w+)$", query, re.M)}
        out.extend(t for t in profile.tables if t in heads and t not in out)
    return out


def lookups_read(profile: Profile, query: str) -> list[str]:
    """Names of the profile lookups the query joins (as written, or keyed on a column of the event
    table: the lookup's query then continues with a projection, targets/kql/certificates.py)."""
    return [name for name, lk in profile.lookups.items() if f"({lk.query})" in query or f"({lk.query} | " in query]


def sentinel_config(profile: Profile) -> dict:
    cfg = profile.raw.get("sentinel")
    if not isinstance(cfg, dict):
        raise Refused(f"the {profile.name} profile has no `sentinel` section: no Sentinel deployment is written")
    return cfg


def connectors(profile: Profile, tables: list[str], lookups: list[str]) -> list[dict]:
    """requiredDataConnectors: the profile's connector with every table read as a data type, or,
    where the profile names connectors per table (``connectors``, the raw-tables profile), every
    connector of every table read, each with its table."""
    per_table = sentinel_config(profile).get("connectors") or {}
    if per_table:
        out: list[dict] = []
        for table in dict.fromkeys(tables + [profile.lookups[n].table for n in lookups]):
            if table not in per_table:
                raise Refused(f"the {profile.name} profile names no data connector for {table}: no Sentinel deployment is written")
            for c in per_table[table]:  # one entry per connector, with every table it writes (kqlentra)
                have = next((e for e in out if e["connectorId"] == str(c)), None)
                if have is None:
                    out.append({"connectorId": str(c), "dataTypes": [table]})
                else:
                    have["dataTypes"].append(table)
        return out
    connector = sentinel_config(profile).get("connector")
    if not connector:
        return []
    data_types = list(dict.fromkeys(tables + [profile.lookups[n].table for n in lookups]))
    return [{"connectorId": str(connector), "dataTypes": data_types}]


def entity_mappings(profile: Profile, tables: list[str]) -> list[dict]:
    """The profile's entities for the tables read, within Sentinel's limits (first ones kept)."""
    return [m for m, _ in _entities(profile, tables)]


def entity_columns(profile: Profile, tables: list[str]) -> dict[str, str]:
    """Column -> Kusto expression for every column an entity mapping of the tables read names but the
    table holds only inside an object (``extend`` in the profile's entity entry: AKSAudit's
    ``User.username``). Sentinel maps an entity from a column of the result only, so the deployed
    query ends with one ``extend`` of them; it adds columns and drops no row, so what the query
    matches is unchanged."""
    out: dict[str, str] = {}
    for _, extend in _entities(profile, tables):
        out.update(extend)
    return out


def _entities(profile: Profile, tables: list[str]) -> list[tuple[dict, dict[str, str]]]:
    spec = sentinel_config(profile).get("entities") or {}
    # a common entity only where every table read has its columns (CloudProcessEvents has no
    # DeviceName: the Host entity is not mapped for it)
    candidates = [e for e in spec.get("common") or [] if all(_has_columns(profile, t, e) for t in tables)]
    for t in tables:
        candidates.extend((spec.get("tables") or {}).get(t) or [])
    out: list[tuple[dict, dict[str, str]]] = []
    seen: set[str] = set()
    for entry in candidates:
        entity = str(entry["entity"])
        idents = {str(k): str(v) for k, v in (entry.get("identifiers") or {}).items()}
        extend = {str(k): str(v) for k, v in (entry.get("extend") or {}).items()}
        key = json.dumps([entity, idents], sort_keys=True)
        if key in seen:
            continue
        seen.add(key)
        problem = entity_problem(entity, idents, profile, extended=set(extend))
        if problem:
            raise ValueError(f"{profile.name} profile, sentinel.entities: {problem}")
        out.append(({"entityType": entity,
                     "fieldMappings": [{"identifier": k, "columnName": v} for k, v in list(idents.items())[:MAX_IDENTIFIERS]]},
                    extend))
    return out[:MAX_ENTITY_MAPPINGS]


def _has_columns(profile: Profile, table: str, entry: dict) -> bool:
    """Whether ``table`` (a profile table; other names are not judged) has every column the
    entity mapping ``entry`` names."""
    t = profile.tables.get(table)
    if t is None:
        return True
    cols = profile.columns_of(t)
    return all(str(c) in cols for c in (entry.get("identifiers") or {}).values())


def entity_problem(entity: str, idents: dict[str, str], profile: Profile, extended: frozenset[str] | set[str] = frozenset()) -> Optional[str]:
    """Why one entity mapping would fail Sentinel's checks, or None (``extended``: the columns the
    entry's ``extend`` adds to the result)."""
    if entity not in ENTITY_IDENTIFIERS:
        return f"unknown entity type {entity!r}"
    valid, required = ENTITY_IDENTIFIERS[entity]
    if not 1 <= len(idents) <= MAX_IDENTIFIERS:
        return f"{entity} has {len(idents)} identifiers (1 to {MAX_IDENTIFIERS} allowed)"
    for ident, column in idents.items():
        if ident not in valid:
            return f"{entity} has no identifier {ident!r}"
        if not _COLUMN.match(column) or (column not in profile.types and column not in extended):
            return f"{entity}.{ident} column {column!r} is not a plain column of the profile"
    if not any(all(r in idents for r in req) for req in required):
        return f"{entity} lacks a required identifier ({' or '.join('+'.join(r) for r in required)})"
    return None


# ---- the windowed query -------------------------------------------------------------------------
def windowed_query(profile: Profile, query: str, window: schedule.Window, lookups: list[str]) -> tuple[str, int]:
    """The query with the scheduling filters, and the query period it needs (ms).

    Event query: the filters follow the table. Sequence: every leg reads the look-back and
    records each row's ingestion time; a match is returned by the run whose window holds the
    ingestion of its last-ingested event. A joined lookup reads its profile ``period``.
    """
    ts = str(sentinel_config(profile).get("time_column") or profile.timestamp)
    lookback, freq = schedule.span(window.lookback_ms), schedule.span(window.frequency_ms)
    period = window.lookback_ms
    for name in lookups:
        lk = profile.lookups[name]
        lk_period = duration_ms(str((profile.raw.get("lookups") or {}).get(name, {}).get("period") or "")) or window.lookback_ms
        head = f"{lk.table} | "
        if not lk.query.startswith(head):
            raise ValueError(f"lookup {name}: its query must start with `{head}` to take a time filter")
        query = query.replace(f"({lk.query}", f"({head}where {ts} > ago({schedule.span(lk_period)}) | {lk.query[len(head):]}")
        period = max(period, lk_period)
    lines = query.split("\n")
    if lines[0].startswith("let __leg"):
        out: list[str] = []
        for line in lines:
            m = re.match(r"^(let __(?:leg\d+|until|miss\d+) = \S+)$", line)
            out.append(line)
            if m:
                out.append(f"    | where {ts} >= ago({lookback})")
                out.append("    | extend __ingested = ingestion_time()")
        text = "\n".join(out)
        final = re.search(r"\| join kind=leftsemi \(__rows \| where __step == (\d+) \| project __key, __match\) on __key, __match",
                          text)
        until = re.search(r"let __done = __rows \| where __step == (\d+) \|", text)
        cut = "| join kind=leftsemi (__done | join kind=leftanti (__cut) on __key, __match | project __key, __match) on __key, __match"
        # with until (query.until_leg) or a trailing missing-event term (query.trailing_missing_only): the
        # same freshness. A match is reported by the run that ingests its last event, as Elasticsearch's
        # rule reports it then: a missing-term event ingested by a later run does not retract it
        # (elastic/elasticsearch#145323, shared/research/eql-semantics.md 7.2)
        if final is None and until is not None and cut in text:
            n = until.group(1)
            return text.replace(cut, (
                f"| join kind=leftsemi (__rows | summarize __done = max(__step), __last = max(__ingested) by __key, __match "
                f"| where __done == {n} and __last > ago({freq}) | join kind=leftanti (__cut) on __key, __match "
                f"| project __key, __match) on __key, __match")), period
        if final is None or len(out) == len(lines):
            raise ValueError("sequence query not in the shape query.py writes")
        n = final.group(1)
        text = text.replace(final.group(0), (
            f"| join kind=leftsemi (__rows | summarize __done = max(__step), __last = max(__ingested) by __key, __match "
            f"| where __done == {n} and __last > ago({freq}) | project __key, __match) on __key, __match"))
        return text, period
    if lines[0] == "union":  # a multi-category query (query.union_query): each leg reads the window
        out = []
        for line in lines:
            out.append(line)
            if re.match(r"^    \(\w+$", line):
                out.append(f"    | where {ts} >= ago({lookback})")
                out.append(f"    | where ingestion_time() > ago({freq})")
        return "\n".join(out), period
    return "\n".join([lines[0], f"| where {ts} >= ago({lookback})", f"| where ingestion_time() > ago({freq})", *lines[1:]]), period


# ---- documents ----------------------------------------------------------------------------------
def rule_guid(rule: Rule, profile: str) -> str:
    """A stable id per (rule, profile): deploying both profiles' rules keeps both."""
    return str(uuid.uuid5(NAMESPACE, f"{rule.stable_id}/kql/{profile}"))


def unwrap(text: str) -> str:
    """A description without the TOML source's hard wraps: paragraphs joined into lines, any
    whitespace run (including line separators) one space, paragraphs kept apart by a blank line."""
    paragraphs = re.split(r"\n[ \t]*\n", text.strip())
    return "\n\n".join(" ".join(p.split()) for p in paragraphs if p.strip())


def one_line(text: str) -> str:
    return " ".join(text.split())


@dataclass
class SentinelRule:
    """One rule's Sentinel deployment, or why there is none (``refusal``)."""

    guid: str
    display_name: str
    description: str
    severity: str
    query: str
    frequency_ms: int
    period_ms: int
    attack: Attack
    entities: list[dict]
    connectors: list[dict]
    grouping: str
    enabled: bool
    notes: list[str]
    tags: list[str]
    refusal: Optional[str] = None


def build(rule: Rule, query: str, profile: Profile, notes: list[str], sequence: bool) -> SentinelRule:
    window = schedule.window_of(rule, schedule.SENTINEL_MIN_MS)
    cfg = sentinel_config(profile)
    tables = tables_read(profile, rule, query)
    lookups = lookups_read(profile, query)
    text, period = windowed_query(profile, query, window, lookups)
    extend = entity_columns(profile, tables)
    if extend:
        text += "\n| extend " + ", ".join(f"{c} = {e}" for c, e in extend.items())
    period = min(period, schedule.SENTINEL_MAX_MS)
    attack = attack_of(rule)
    ts = str(cfg.get("time_column") or profile.timestamp)
    deploy_notes = [*window.notes, schedule.assumption(window, ts), *attack.notes]
    if lookups:
        reads = ", ".join(f"{profile.lookups[n].table} over "
                          f"{schedule.span(duration_ms(str((profile.raw.get('lookups') or {}).get(n, {}).get('period') or '')) or window.lookback_ms)}"
                          for n in lookups)
        deploy_notes.append(f"the query period is {schedule.span(period)} so that the lookups read {reads} (each over its "
                            f"profile `period`); events are still read over "
                            f"{schedule.span(window.lookback_ms)}")
    if (rule.severity or "").lower() == "critical":
        deploy_notes.append("severity critical is High, Sentinel's highest")
    refusal = None
    if len(text) > MAX_QUERY:
        # Kusto ignores the whitespace between tokens, and no literal eqlc writes spans lines: a
        # query over the limit is deployed with its lines unindented (the same query, shorter)
        text = "\n".join(line.strip() for line in text.split("\n"))
    if len(text) > MAX_QUERY:
        refusal = (f"not deployable to Microsoft Sentinel: the scheduled query is {len(text)} characters, over Sentinel's "
                   f"limit of {MAX_QUERY:,}")
    deploy = profile.raw.get("deploy") or {}
    return SentinelRule(
        guid=rule_guid(rule, profile.name),
        display_name=one_line(rule.name or rule.stable_id)[:256],
        description=unwrap(rule.description or rule.name or rule.stable_id)[:5000],
        severity=SEVERITY.get((rule.severity or "").lower(), "Medium"),
        query=text, frequency_ms=window.frequency_ms, period_ms=max(period, window.frequency_ms),
        attack=attack, entities=entity_mappings(profile, tables), connectors=connectors(profile, tables, lookups),
        grouping="SingleAlert" if sequence else "AlertPerResult",
        enabled=bool(deploy.get("enabled", False)), notes=[*deploy_notes, *notes],
        tags=[one_line(t) for t in rule.tags], refusal=refusal,
    )


def repository_yaml(s: SentinelRule, rule: Rule) -> str:
    """The Azure-Sentinel repository layout (Detections/*.yaml), with the notes as comments."""
    doc: dict[str, Any] = {
        "id": s.guid,
        "name": s.display_name,
        "description": s.description,
        "severity": s.severity,
        "requiredDataConnectors": s.connectors,
        "queryFrequency": schedule.span(s.frequency_ms),
        "queryPeriod": schedule.span(s.period_ms),
        "triggerOperator": "gt",
        "triggerThreshold": 0,
        "tactics": s.attack.tactics,
        "relevantTechniques": s.attack.techniques,
        "query": s.query,
        "entityMappings": s.entities,
        "eventGroupingSettings": {"aggregationKind": s.grouping},
        "version": f"1.0.{rule.version or 0}",
        "kind": "Scheduled",
    }
    if s.tags:
        doc["tags"] = s.tags
    header = ["# Microsoft Sentinel scheduled analytics rule generated by eqlc from an EQL rule "
              f"(rule_id {one_line(rule.stable_id)})."]
    header += [f"# note: {one_line(n)}" for n in s.notes]
    return "\n".join(header) + "\n" + safe_yaml(doc)


class _Dumper(yaml.SafeDumper):
    """Multi-line strings (the query) as literal blocks, as the Azure-Sentinel repository writes
    them; PyYAML falls back to a quoted style for text a block cannot hold."""


def _str(dumper: yaml.SafeDumper, value: str) -> yaml.Node:
    style = "|" if "\n" in value else None
    if any(ch in _BREAKS or (not ch.isprintable() and ch not in "\n\t") for ch in value):
        style = '"'  # escaped (\N, \L, \P, \x..), never raw: YAML 1.1 reads NEL and U+2028 as line breaks
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _str)


def safe_yaml(doc: Any) -> str:
    """YAML that loads back to ``doc`` (checked), unwrapped, with no raw line separator."""
    text = yaml.dump(doc, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=1_000_000)
    for ch in _BREAKS:
        assert ch not in text
    assert yaml.safe_load(text) == doc
    return text


def arm_resource(s: SentinelRule) -> dict:
    return {
        "type": "Microsoft.OperationalInsights/workspaces/providers/alertRules",
        "name": f"[concat(parameters('workspace'),'/Microsoft.SecurityInsights/','{s.guid}')]",
        "apiVersion": API_VERSION,
        "kind": "Scheduled",
        "properties": {
            "displayName": s.display_name,
            "description": s.description,
            "severity": s.severity,
            "enabled": s.enabled,
            "query": s.query,
            "queryFrequency": schedule.iso_duration(s.frequency_ms),
            "queryPeriod": schedule.iso_duration(s.period_ms),
            "triggerOperator": "GreaterThan",
            "triggerThreshold": 0,
            "suppressionEnabled": False,
            "suppressionDuration": "PT5H",
            "tactics": s.attack.tactics,
            "techniques": list(dict.fromkeys(t.split(".")[0] for t in s.attack.techniques)),
            "entityMappings": s.entities,
            "eventGroupingSettings": {"aggregationKind": s.grouping},
            "incidentConfiguration": {
                "createIncident": True,
                "groupingConfiguration": {"enabled": False, "reopenClosedIncident": False, "lookbackDuration": "PT5H",
                                          "matchingMethod": "AllEntities", "groupByEntities": [],
                                          "groupByAlertDetails": [], "groupByCustomDetails": []},
            },
        },
    }


def arm_template(resources: list[dict], notes: Optional[dict[str, list[str]]] = None) -> str:
    """A deployment template over one workspace parameter; ``notes`` (per rule) go in metadata."""
    doc: dict[str, Any] = {
        "$schema": ARM_SCHEMA,
        "contentVersion": "1.0.0.0",
        "metadata": {"generator": "eqlc", "notes": notes or {}},
        "parameters": {"workspace": {"type": "string", "metadata": {
            "description": "Name of the Log Analytics workspace where Microsoft Sentinel is enabled"}}},
        "resources": resources,
    }
    return safe_json(doc)


def safe_json(doc: Any) -> str:
    """JSON with the line separators that some parsers treat as line breaks escaped."""
    text = json.dumps(doc, indent=2, ensure_ascii=False)
    for ch, esc in _BREAKS.items():
        text = text.replace(ch, esc)
    assert json.loads(text) == doc
    return text + "\n"


def artifacts(rule: Rule, query: str, profile: Profile, notes: list[str], base: str, sequence: bool) -> dict[str, str]:
    """``<base>.sentinel.yaml`` (repository layout) and ``<base>.sentinel.json`` (ARM template),
    or ``<base>.sentinel.txt`` with the reason when the rule cannot be deployed."""
    s = build(rule, query, profile, notes, sequence)
    if s.refusal:
        return {f"{base}.sentinel.txt": s.refusal + "\n"}
    return {f"{base}.sentinel.yaml": repository_yaml(s, rule),
            f"{base}.sentinel.json": arm_template([arm_resource(s)], {s.guid: s.notes})}


def batch_template(per_rule: list[str]) -> str:
    """One template with the resources of every per-rule template (``<base>.sentinel.json``)."""
    resources: list[dict] = []
    notes: dict[str, list[str]] = {}
    for text in per_rule:
        doc = json.loads(text)
        resources.extend(doc["resources"])
        notes.update(doc.get("metadata", {}).get("notes", {}))
    return arm_template(resources, notes)


__all__ = ["artifacts", "batch_template", "attack_of", "entity_mappings", "entity_columns", "windowed_query", "build"]
