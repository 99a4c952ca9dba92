"""Microsoft Defender XDR custom detection rules: exactly the body Microsoft Graph documents for
``POST /security/rules/detectionRules`` (microsoftgraph/microsoft-graph-docs-contrib,
api-reference/beta/api/security-detectionrule-post-detectionrules.md and the detectionRule,
ruleSchedule, detectionAction, alertTemplate and impactedDeviceAsset resources), and eqlc's own
metadata in a separate file beside it.

Schedule: ``ruleSchedule.period`` takes ``0`` (continuous, NRT), ``1H``, ``3H``, ``12H`` or
``24H``. Defender runs each period over its own lookback (1H: the past 4 hours, 3H: 12 hours, 12H:
48 hours, 24H: 30 days; defender-xdr/custom-detection-rules.md, "Rule frequency") and pre-filters
the data by it ("Avoid filtering custom detections using the Timestamp column"), so the query
carries no time filter. The nearest offered period to the rule's interval is used: continuous for
rules Elastic runs every few minutes when the query qualifies for it (one table, no joins, unions,
``let`` or comments: "Queries you can run continuously"), else the smallest period not shorter
than the interval. The choice is stated in the metadata file.
"""

from __future__ import annotations

import json
from typing import Any

from eqlc.rule import Rule

from .sentinel import one_line, safe_json, tactic_name, unwrap

# period -> run interval (ms); "0" is continuous
PERIODS = (("1H", 3_600_000), ("3H", 3 * 3_600_000), ("12H", 12 * 3_600_000), ("24H", 24 * 3_600_000))
LOOKBACK = {"1H": "4 hours", "3H": "12 hours", "12H": "48 hours", "24H": "30 days"}
# Tables that support continuous (NRT) frequency (custom-detection-rules.md).
NRT_TABLES = {"AlertEvidence", "CloudAppEvents", "DeviceEvents", "DeviceFileCertificateInfo", "DeviceFileEvents",
              "DeviceImageLoadEvents", "DeviceLogonEvents", "DeviceNetworkEvents", "DeviceNetworkInfo", "DeviceInfo",
              "DeviceProcessEvents", "DeviceRegistryEvents", "EmailAttachmentInfo", "EmailEvents",
              "EmailPostDeliveryEvents", "EmailUrlInfo", "IdentityDirectoryEvents", "IdentityLogonEvents",
              "IdentityQueryEvents", "UrlClickEvents"}
NRT_EXCLUDED = ("lookup ", "join ", "union ", "let ", "//", "scan ", "partition ", "mv-apply ", "| top ", "| sort ")
SEVERITY = {"low": "low", "medium": "medium", "high": "high", "critical": "high"}
BODY_KEYS = ("displayName", "isEnabled", "queryCondition", "schedule", "detectionAction")


# The column the body's impacted asset names (impactedDeviceAsset, identifier deviceId).
ASSET_COLUMN = "DeviceId"


def no_asset(tables: list[str]) -> str:
    """Why no custom detection body is written for a query over ``tables``."""
    return (f"No Microsoft Defender XDR custom detection is written: the body eqlc writes names the impacted asset "
            f"by the device (impactedDeviceAsset, identifier deviceId), and {', '.join(tables)} has no {ASSET_COLUMN} "
            f"column (Microsoft's table reference). The Sentinel analytics rule beside this file reads the same query.\n")


def continuous_ok(query: str, tables: list[str]) -> bool:
    return len(tables) == 1 and tables[0] in NRT_TABLES and not any(tok in query for tok in NRT_EXCLUDED)


def period_for(rule: Rule, query: str, tables: list[str]) -> tuple[str, str]:
    """(ruleSchedule.period, the sentence that says why)."""
    interval = rule.interval_ms or 300_000
    shown = rule.interval or "unset (Elastic's default 5m)"
    if interval < PERIODS[0][1] and continuous_ok(query, tables):
        return "0", (f"rule interval {shown}: Defender runs the rule continuously (NRT), the nearest of the periods it "
                     "offers (0, 1H, 3H, 12H, 24H)")
    period = next((name for name, ms in PERIODS if ms >= interval), "24H")
    why = "" if interval >= PERIODS[0][1] else (
        " (continuous runs need a query over one table without joins, unions or let statements)")
    return period, (f"rule interval {shown}: Defender period {period} (every {period[:-1]} hour(s), each run over the past "
                    f"{LOOKBACK[period]}), the nearest period it offers{why}")


def body(rule: Rule, query: str, period: str, enabled: bool) -> dict[str, Any]:
    """The documented request body, and nothing else."""
    return {
        "displayName": one_line(rule.name or rule.stable_id),
        "isEnabled": enabled,
        "queryCondition": {"queryText": query},
        "schedule": {"period": period},
        "detectionAction": {
            "alertTemplate": {
                "title": one_line(rule.name or rule.stable_id),
                "description": unwrap(rule.description or rule.name or rule.stable_id),
                "severity": SEVERITY.get((rule.severity or "").lower(), "medium"),
                "category": tactic_name((rule.tactic_names() or ["Execution"])[0]),
                "recommendedActions": None,
                "mitreTechniques": rule.technique_ids(),
                "impactedAssets": [{"@odata.type": "#microsoft.graph.security.impactedDeviceAsset", "identifier": "deviceId"}],
            },
            "organizationalScope": None,
            "responseActions": [],
        },
    }


def artifacts(rule: Rule, query: str, tables: list[str], notes: list[str], base: str, enabled: bool) -> dict[str, str]:
    """``<base>.defender.json`` (the Graph body) and ``<base>.defender.eqlc.json`` (eqlc's metadata)."""
    period, why = period_for(rule, query, tables)
    meta = {
        "ruleId": rule.stable_id,
        "api": "POST https://graph.microsoft.com/beta/security/rules/detectionRules",
        "schedule": why,
        "window": ("Defender chooses the data each run reads (its lookback) and the query carries no time filter, as "
                   "Microsoft advises; runs overlap by design and Defender, not eqlc, de-duplicates their alerts"),
        "assumptions": list(notes),
    }
    if "(DeviceFileCertificateInfo | " in query:  # a code-signature lookup (targets/kql/certificates.py)
        meta["lookups"] = (f"DeviceFileCertificateInfo is read over the same lookback ({LOOKBACK[period]}): a file whose "
                           f"latest certificate verification is older has no row there and is read as having no signature")
    if (rule.severity or "").lower() == "critical":
        meta["severity"] = "critical is high, Defender's highest"
    doc = body(rule, query, period, enabled)
    assert tuple(doc) == BODY_KEYS
    return {f"{base}.defender.json": safe_json(doc), f"{base}.defender.eqlc.json": safe_json(meta)}


__all__ = ["artifacts", "body", "period_for", "BODY_KEYS", "json"]
