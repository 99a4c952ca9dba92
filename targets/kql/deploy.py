"""Deployment files beside the bare query (``eqlc compile ... -t kql -o OUT``).

Per rule (``<stem>`` is :attr:`eqlc.rule.Rule.file_stem`):

* ``<stem>.sentinel.yaml`` -- the Azure-Sentinel repository layout, and ``<stem>.sentinel.json``
  -- an ARM template Sentinel imports (:mod:`.sentinel`); ``<stem>.sentinel.txt`` instead, with
  the reason, for a rule Sentinel would reject;
* defender profile only: ``<stem>.defender.json`` -- the Microsoft Graph custom detection body --
  and ``<stem>.defender.eqlc.json`` -- eqlc's metadata for it (:mod:`.defender_rule`); instead
  ``<stem>.defender.txt``, with the reason, for a query over a table without the DeviceId column
  the body names as the impacted asset (CloudProcessEvents).

Per batch (:func:`batch_artifacts`, the target's ``batch_artifacts`` hook): ``sentinel-<profile>.json``,
one ARM template with every rule's resource and a ``workspace`` parameter.

Rules are created disabled unless the profile (or a ``--mapping`` file) sets ``deploy: {enabled: true}``.
"""

from __future__ import annotations

from typing import Iterable

from eqlc import ir
from eqlc.result import Translation
from eqlc.rule import Rule

from . import defender_rule, sentinel
from .profile import Profile


def artifact_base(rule: Rule) -> str:
    """The base name the CLI gives every file of this rule (:attr:`eqlc.rule.Rule.file_stem`)."""
    return rule.file_stem


def artifacts(rule: Rule, query: str, notes: list[str], profile: Profile) -> dict[str, str]:
    base = artifact_base(rule)
    sequence = isinstance(rule.query.body, ir.Sequence)
    out = sentinel.artifacts(rule, query, profile, notes, base, sequence)
    if profile.name == "defender":
        enabled = bool((profile.raw.get("deploy") or {}).get("enabled", False))
        tables = sentinel.tables_read(profile, rule, query)
        lacking = [t for t in tables if t in profile.tables and defender_rule.ASSET_COLUMN not in profile.columns_of(profile.tables[t])]
        if lacking:
            out[f"{base}.defender.txt"] = defender_rule.no_asset(lacking)
        else:
            out.update(defender_rule.artifacts(rule, query, tables, notes, base, enabled))
    return out


def batch_artifacts(translations: Iterable[Translation], profile: str) -> dict[str, str]:
    """One ARM template for every rule of the batch that has a Sentinel template."""
    per_rule = [text for t in translations for name, text in sorted(t.artifacts.items()) if name.endswith(".sentinel.json")]
    if not per_rule:
        return {}
    return {f"sentinel-{profile}.json": sentinel.batch_template(per_rule)}
