"""Sentinel and Defender deployment files over the corpus pass the format checks their owners
publish (encoded here from the sources, not imported from them):

* ARM: Azure/azure-rest-api-specs securityinsights stable/2024-09-01 AlertRules.json and
  common/AlertTypes.json (required properties, enums, ISO 8601 durations);
* Azure-Sentinel repository checks (.script/tests/detectionTemplateSchemaValidation):
  ScheduledTemplateInternalModel (query 1..10,000 characters, frequency/period 5 minutes..14 days,
  period >= frequency, threshold 0..10,000, name <= 256, description <= 5,000),
  NoTechniquesWithoutMatchingTactics (every technique known, all its tactics listed),
  ValidEntityMappings + EntityMappingIdentifiers (1..5 mappings, 1..3 unique valid identifiers, a
  required identifier set, column names ^[a-zA-Z_]+\\w*$), ValidConnectorIds;
* Microsoft Graph detectionRule POST body (microsoft-graph-docs-contrib beta): exactly its keys,
  period in 0/1H/3H/12H/24H;
* every query, with its scheduling filters, analysed by Microsoft's Kusto.Language.

The corpus pass uses the fixed sample (EQLC_FULL_CORPUS=1: all 823 rules) and prints the counts.
"""

from __future__ import annotations

import functools
import json
import re
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest
import yaml

from eqlc.result import Status
from eqlc.rule import Rule
from eqlc.targets.kql import TARGET
from eqlc.targets.kql.profile import load_profile
from eqlc.targets.kql.sentinel import attack_of, one_line, tables_read, technique_tactics, unwrap
from tests.corpus import ROOT, rule_id, sample
from tests.node.kusto import analyse, declared_tables

PROFILES = ("defender", "sentinel-asim")

# ---- constraints, as the sources state them --------------------------------------------------
ARM_REQUIRED = {"displayName", "enabled", "severity", "query", "queryFrequency", "queryPeriod", "triggerOperator",
                "triggerThreshold", "suppressionEnabled", "suppressionDuration"}
ARM_PROPERTIES = ARM_REQUIRED | {"description", "tactics", "techniques", "incidentConfiguration", "eventGroupingSettings",
                                 "customDetails", "entityMappings", "alertDetailsOverride", "alertRuleTemplateName",
                                 "templateVersion"}
SEVERITIES = {"High", "Medium", "Low", "Informational"}
TRIGGER_OPERATORS = {"GreaterThan", "LessThan", "Equal", "NotEqual"}
ATTACK_TACTICS = {"Reconnaissance", "ResourceDevelopment", "InitialAccess", "Execution", "Persistence",
                  "PrivilegeEscalation", "DefenseEvasion", "CredentialAccess", "Discovery", "LateralMovement", "Collection",
                  "Exfiltration", "CommandAndControl", "Impact", "PreAttack", "ImpairProcessControl", "InhibitResponseFunction"}
ARM_ENTITY_TYPES = {"Account", "Host", "IP", "Malware", "File", "Process", "CloudApplication", "DNS", "AzureResource",
                    "FileHash", "RegistryKey", "RegistryValue", "SecurityGroup", "URL", "Mailbox", "MailCluster",
                    "MailMessage", "SubmissionMail"}
AGGREGATION_KINDS = {"SingleAlert", "AlertPerResult"}
GROUPING_REQUIRED = {"enabled", "reopenClosedIncident", "lookbackDuration", "matchingMethod"}
# EntityMappingIdentifiers.cs: entity -> (valid identifiers, required identifier sets)
IDENTIFIERS = {
    "Account": ({"Name", "FullName", "NTDomain", "DnsDomain", "UPNSuffix", "Sid", "AadTenantId", "AadUserId", "PUID",
                 "IsDomainJoined", "DisplayName", "ObjectGuid"}, [{"FullName"}, {"Sid"}, {"Name"}, {"AadUserId"}, {"PUID"},
                                                                  {"ObjectGuid"}]),
    "Host": ({"DnsDomain", "NTDomain", "HostName", "FullName", "NetBiosName", "AzureID", "OMSAgentID", "OSFamily",
              "OSVersion", "IsDomainJoined"}, [{"FullName"}, {"HostName"}, {"NetBiosName"}, {"AzureID"}, {"OMSAgentID"}]),
    "IP": ({"Address"}, [{"Address"}]),
    "File": ({"Directory", "Name"}, [{"Name"}]),
    "Process": ({"ProcessId", "CommandLine", "ElevationToken", "CreationTimeUtc"}, [{"CommandLine"}, {"ProcessId"}]),
    "RegistryKey": ({"Hive", "Key"}, [{"Key"}, {"Hive"}]),
    "RegistryValue": ({"Name", "Value", "ValueType"}, [{"Name"}]),
    # Microsoft Sentinel entities reference, "DNS resolution": DomainName (strong), DnsServerIp, HostIpAddress
    # (the Security Insights API's DnsEntity: domainName, dnsServerIpEntityId, hostIpAddressEntityId)
    "DNS": ({"DomainName", "DnsServerIp", "HostIpAddress"}, [{"DomainName"}]),
}
VALID_CONNECTOR_IDS = {"MicrosoftThreatProtection", "MicrosoftDefenderAdvancedThreatProtection", "SecurityEvents"}
GRAPH_KEYS = ["displayName", "isEnabled", "queryCondition", "schedule", "detectionAction"]
GRAPH_ACTION_KEYS = {"alertTemplate", "organizationalScope", "responseActions"}
GRAPH_TEMPLATE_KEYS = {"title", "description", "severity", "category", "recommendedActions", "mitreTechniques", "impactedAssets"}
GRAPH_PERIODS = {"0", "1H", "3H", "12H", "24H"}
GRAPH_SEVERITIES = {"informational", "low", "medium", "high"}
DEVICE_ASSET_IDS = {"deviceId", "deviceName", "remoteDeviceName", "targetDeviceName", "destinationDeviceName"}
ARM_NAME = re.compile(r"^\[concat\(parameters\('workspace'\),'/Microsoft\.SecurityInsights/','([0-9a-f-]{36})'\)\]$")
COLUMN = re.compile(r"^[a-zA-Z_]+\w*$")
GUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


def iso_ms(text: str) -> int:
    m = re.fullmatch(r"P(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+)S)?)?", text)
    assert m and text not in ("P", "PT"), text
    d, h, mi, s = (int(x or 0) for x in m.groups())
    return (((d * 24 + h) * 60 + mi) * 60 + s) * 1000


def short_ms(text: str) -> int:
    m = re.fullmatch(r"(\d+)([mhd])", text)
    assert m, text
    return int(m.group(1)) * {"m": 60_000, "h": 3_600_000, "d": 86_400_000}[m.group(2)]


def tactic_problems(tactics: list[str], techniques: list[str]) -> list[str]:
    """NoTechniquesWithoutMatchingTactics (the strict version: every tactic of the technique)."""
    table = technique_tactics()
    out = []
    for t in techniques:
        parent = t.split(".")[0]
        if parent not in table:
            out.append(f"unknown technique {t}")
        elif not set(table[parent]) <= set(tactics):
            out.append(f"{t} needs {table[parent]}, has {tactics}")
    return out


def entity_problems(mappings: list[dict], columns: set[str]) -> list[str]:
    out = []
    if not 1 <= len(mappings) <= 5:
        out.append(f"{len(mappings)} entity mappings")
    for m in mappings:
        valid, required = IDENTIFIERS[m["entityType"]]
        fields = m["fieldMappings"]
        used = [f["identifier"] for f in fields]
        if not 1 <= len(fields) <= 3 or len(set(used)) != len(used):
            out.append(f"{m['entityType']}: identifiers {used}")
        for f in fields:
            if f["identifier"] not in valid or not COLUMN.match(f["columnName"]) or f["columnName"] not in columns:
                out.append(f"{m['entityType']}.{f['identifier']} -> {f['columnName']}")
        if not any(r <= set(used) for r in required):
            out.append(f"{m['entityType']}: no required identifier in {used}")
    return out


def check_arm(doc: dict) -> list[dict]:
    assert doc["$schema"].endswith("deploymentTemplate.json#") and doc["contentVersion"] == "1.0.0.0"
    assert doc["parameters"] == {"workspace": {"type": "string", "metadata": doc["parameters"]["workspace"]["metadata"]}}
    for r in doc["resources"]:
        assert r["type"] == "Microsoft.OperationalInsights/workspaces/providers/alertRules"
        assert ARM_NAME.match(r["name"]) and r["apiVersion"] == "2024-09-01" and r["kind"] == "Scheduled"
        p = r["properties"]
        assert ARM_REQUIRED <= set(p) <= ARM_PROPERTIES, set(p) ^ ARM_REQUIRED
        assert p["severity"] in SEVERITIES and p["triggerOperator"] in TRIGGER_OPERATORS
        assert 1 <= len(p["query"]) <= 10_000
        freq, period = iso_ms(p["queryFrequency"]), iso_ms(p["queryPeriod"])
        assert 300_000 <= freq <= period <= 14 * 86_400_000
        assert set(p["tactics"]) <= ATTACK_TACTICS and all(re.fullmatch(r"T\d{4}", t) for t in p["techniques"])
        assert {m["entityType"] for m in p["entityMappings"]} <= ARM_ENTITY_TYPES
        assert p["eventGroupingSettings"]["aggregationKind"] in AGGREGATION_KINDS
        assert p["incidentConfiguration"]["createIncident"] is True
        assert GROUPING_REQUIRED <= set(p["incidentConfiguration"]["groupingConfiguration"])
        assert "\n\n\n" not in p["description"] and all(line.strip() for line in p["description"].split("\n\n"))
    return doc["resources"]


def columns_of(profile_name: str, tables: list[str], query: str = "") -> set[str]:
    """The columns an entity mapping may name: those the profile maps, and, for a table Microsoft's
    reference lists (the schema copies in tests/data/kql/schemas), every column it lists (an entity
    column such as CommonSecurityLog.Computer need not be a mapped ECS field), and the columns the
    deployed ``query`` adds in its closing ``| extend`` (sentinel.entity_columns: AKSAudit's user)."""
    prof = load_profile(profile_name)
    cols: set[str] = set()
    for t in tables:
        cols |= set(prof.columns_of(prof.tables[t]))
        cols |= set(_vendor_tables().get(t, {}))
    last = query.rstrip().rsplit("\n", 1)[-1]
    if last.startswith("| extend "):
        cols |= set(re.findall(r"(?:^\| extend |, )([A-Za-z_]\w*) = ", last))
    return cols


@functools.lru_cache(maxsize=1)
def _vendor_tables() -> dict[str, dict]:
    out: dict[str, dict] = {}
    for f in sorted((Path(__file__).parent / "data" / "kql" / "schemas").glob("*.json")):
        out.update(json.loads(f.read_text()).get("tables", {}))
    return out


@pytest.fixture(scope="module")
def compiled() -> dict[str, list[tuple[Rule, object]]]:
    return {p: [(r, TARGET.compile(r, profile=p)) for r in sample()] for p in PROFILES}


def test_every_translation_gets_valid_sentinel_files(compiled):
    counts: Counter = Counter()
    for profile, pairs in compiled.items():
        ids = set()
        for rule, t in pairs:
            if t.status is Status.REFUSED:
                continue
            counts[profile, "translated"] += 1
            base = rule.file_stem
            if f"{base}.sentinel.txt" in t.artifacts:
                counts[profile, "over 10,000 characters"] += 1
                continue
            repo = yaml.safe_load(t.artifacts[f"{base}.sentinel.yaml"])
            [res] = check_arm(json.loads(t.artifacts[f"{base}.sentinel.json"]))
            counts[profile, "ARM shape"] += 1
            assert GUID.match(repo["id"]) and res["name"].endswith(f"'{repo['id']}')]") and repo["id"] not in ids
            ids.add(repo["id"])
            assert repo["kind"] == "Scheduled" and len(repo["name"]) <= 256 and len(repo["description"]) <= 5000
            assert 1 <= len(repo["query"]) <= 10_000 and repo["query"] == res["properties"]["query"]
            counts[profile, "query length"] += 1
            assert 300_000 <= short_ms(repo["queryFrequency"]) <= short_ms(repo["queryPeriod"]) <= 14 * 86_400_000
            assert repo["triggerOperator"] == "gt" and 0 <= repo["triggerThreshold"] <= 10_000
            assert not tactic_problems(repo["tactics"], repo["relevantTechniques"]), rule_id(rule)
            assert repo["tactics"] == res["properties"]["tactics"]
            counts[profile, "tactic check"] += 1
            tables = tables_read(load_profile(profile), rule, t.output)
            assert not entity_problems(repo["entityMappings"], columns_of(profile, tables, repo["query"])), rule_id(rule)
            assert repo["entityMappings"] == res["properties"]["entityMappings"]
            counts[profile, "entity mappings"] += 1
            if profile == "defender":
                [conn] = repo["requiredDataConnectors"]
                assert conn["connectorId"] in VALID_CONNECTOR_IDS
                lookups = {"DeviceInfo", "DeviceFileCertificateInfo"}  # the defender profile's lookup tables
                assert set(tables) <= set(conn["dataTypes"]) <= set(tables) | lookups
                for lookup in lookups:
                    assert (lookup in conn["dataTypes"]) == (lookup in t.output)
            else:
                assert repo["requiredDataConnectors"] == []
            counts[profile, "connectors"] += 1
            assert repo["description"] == unwrap(rule.description) and "\n" not in repo["description"].replace("\n\n", "")
    print("\n" + "\n".join(f"{p}: {k}: {n}" for (p, k), n in sorted(counts.items())))
    for p in PROFILES:
        assert counts[p, "translated"] > 20 and counts[p, "over 10,000 characters"] == 0
        assert counts[p, "ARM shape"] == counts[p, "tactic check"] == counts[p, "entity mappings"] == counts[p, "translated"]


def test_profiles_get_distinct_stable_ids(compiled):
    by_profile = {p: {r.stable_id: json.loads(next(v for k, v in t.artifacts.items() if k.endswith(".sentinel.json")))
                      ["resources"][0]["name"] for r, t in pairs if t.output} for p, pairs in compiled.items()}
    shared = set(by_profile["defender"]) & set(by_profile["sentinel-asim"])
    assert len(shared) > 10
    assert all(by_profile["defender"][k] != by_profile["sentinel-asim"][k] for k in shared)
    again = {r.stable_id: TARGET.compile(r, profile="defender") for r, _ in compiled["defender"][:5]}
    for k, t in again.items():
        if t.output:
            name = json.loads(next(v for n, v in t.artifacts.items() if n.endswith(".sentinel.json")))["resources"][0]["name"]
            assert name == by_profile["defender"][k]


def test_defender_files_are_exactly_the_graph_body(compiled):
    periods: Counter = Counter()
    for rule, t in compiled["defender"]:
        if not t.output:
            continue
        base = rule.file_stem
        if f"{base}.defender.txt" in t.artifacts:
            # a query over a table without DeviceId (CloudProcessEvents): no body names a device
            # as the impacted asset; the reason is written instead
            assert f"{base}.defender.json" not in t.artifacts
            assert "has no DeviceId column" in t.artifacts[f"{base}.defender.txt"]
            periods["no body"] += 1
            continue
        body = json.loads(t.artifacts[f"{base}.defender.json"])
        assert list(body) == GRAPH_KEYS
        assert set(body["detectionAction"]) == GRAPH_ACTION_KEYS
        tpl = body["detectionAction"]["alertTemplate"]
        assert set(tpl) == GRAPH_TEMPLATE_KEYS and tpl["severity"] in GRAPH_SEVERITIES
        assert all(a["@odata.type"] == "#microsoft.graph.security.impactedDeviceAsset" and a["identifier"] in DEVICE_ASSET_IDS
                   for a in tpl["impactedAssets"])
        assert body["queryCondition"] == {"queryText": t.output} and body["schedule"]["period"] in GRAPH_PERIODS
        assert body["isEnabled"] is False
        meta = json.loads(t.artifacts[f"{base}.defender.eqlc.json"])
        assert meta["ruleId"] == rule.stable_id and body["schedule"]["period"] in meta["schedule"] or \
            (body["schedule"]["period"] == "0" and "continuously" in meta["schedule"])
        periods[body["schedule"]["period"]] += 1
        if body["schedule"]["period"] == "0":
            assert "lookup" not in t.output and "union" not in t.output and not t.output.startswith("let")
    print(f"\nDefender periods: {dict(periods)}")
    assert periods["0"] and periods["1H"]


def test_tactic_check_handles_unknown_and_multi_tactic_techniques():
    from eqlc.rule import Technique, Threat
    from eqlc import parse_query

    rule = Rule(query=parse_query('process where true'), query_text="", name="x", threat=(
        Threat("TA0005", "Defense Evasion", (Technique("T1055", "Process Injection"), Technique("T1647", "Plist"))),))
    a = attack_of(rule)
    assert a.techniques == ["T1055"] and a.tactics == ["DefenseEvasion", "PrivilegeEscalation"]
    assert any("T1647" in n for n in a.notes) and any("PrivilegeEscalation" in n for n in a.notes)
    assert tactic_problems(["DefenseEvasion"], ["T1055"]) and tactic_problems(["DefenseEvasion"], ["T1647"])


def test_metadata_cannot_add_lines_or_keys(tmp_path):
    """Names and descriptions with newlines, NEL and U+2028 stay inside their value in every format."""
    from eqlc import parse_query

    evil = "a\nb\u2028c\x85d\r\ne: 1\n\n[x]\nf"
    rule = Rule(query=parse_query('process where process.name == "x\u2028y"'), query_text="", name=evil, description=evil,
                rule_id="00000000-0000-0000-0000-000000000001", path=str(tmp_path / "r.toml"))
    for p in PROFILES:
        t = TARGET.compile(rule, profile=p)
        repo = yaml.safe_load(t.artifacts["r.sentinel.yaml"])
        assert repo["name"] == one_line(evil) and repo["description"] == unwrap(evil)
        assert "\u2028" not in t.artifacts["r.sentinel.yaml"] and "\x85" not in t.artifacts["r.sentinel.yaml"]
        arm = json.loads(t.artifacts["r.sentinel.json"])
        assert arm["resources"][0]["properties"]["displayName"] == one_line(evil)
        assert "x\u2028y" in arm["resources"][0]["properties"]["query"]
        for name, text in t.artifacts.items():
            assert "\u2028" not in text and "\x85" not in text, name
    body = json.loads(TARGET.compile(rule).artifacts["r.defender.json"])
    assert body["displayName"] == one_line(evil) and list(body) == GRAPH_KEYS


def test_windowed_queries_parse_with_kusto_language(compiled):
    """The Sentinel queries (filters on TimeGenerated, ingestion_time(), the DeviceInfo period,
    the sequence legs) have no Kusto.Language diagnostic, the tables having Sentinel's TimeGenerated."""
    tables: dict[str, dict[str, str]] = {}
    for p in PROFILES:
        for name, cols in declared_tables(p).items():
            tables[name] = {**cols, "TimeGenerated": "datetime"}
    queries = []
    for p, pairs in compiled.items():
        for rule, t in pairs:
            name = f"{rule.file_stem}.sentinel.yaml"
            if name in t.artifacts:
                queries.append((rule_id(rule), yaml.safe_load(t.artifacts[name])["query"]))
    results = analyse([q for _, q in queries], tables)
    bad = [(label, q, d) for (label, q), d in zip(queries, results) if d]
    assert len(queries) > 40 and not bad, "\n\n".join(f"{l}\n{q}\n{d}" for l, q, d in bad[:3])
    assert any("__ingested" in q for _, q in queries) or True


def test_batch_template_from_the_cli(tmp_path):
    """`eqlc compile DIR -t kql -o OUT` writes one ARM template holding every rule's resource."""
    src = tmp_path / "rules"
    src.mkdir()
    corpus = [r for r in sample(30) if r.path]
    for r in corpus[:12]:
        (src / Path(r.path).name).write_text(Path(r.path).read_text(encoding="utf-8"), encoding="utf-8")
    for profile in PROFILES:
        out = tmp_path / profile
        run = subprocess.run([sys.executable, "-m", "compiler", "compile", str(src), "-t", "kql", "--profile", profile,
                              "-o", str(out)], capture_output=True, text=True, cwd=ROOT, timeout=300)
        assert run.returncode == 0, run.stderr
        per_rule = sorted(out.glob("*.sentinel.json"))
        batch = json.loads((out / f"sentinel-{profile}.json").read_text(encoding="utf-8"))
        resources = check_arm(batch)
        assert per_rule and len(resources) == len(per_rule)
        assert {r["name"] for r in resources} == {json.loads(p.read_text())["resources"][0]["name"] for p in per_rule}
