"""Deployment checks over the whole corpus (issue 12): run with
`python benchmarks/deploy_counts.py` from the repository (needs ../shared).

Prints, per KQL profile: translated rules, Sentinel files written, queries over 10,000 characters
(bare and windowed), rules whose Elastic ATT&CK mapping alone would fail Azure-Sentinel's tactic
check and how many pass after eqlc's handling, techniques left out, Defender periods; per SPL
profile: searches in the app and rules left out of it.
"""

from __future__ import annotations

import json
import sys

import yaml
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from eqlc.result import Status  # noqa: E402
from eqlc.targets.kql import TARGET as KQL  # noqa: E402
from eqlc.targets.kql.sentinel import tactic_name  # noqa: E402
from eqlc.targets.spl import TARGET as SPL  # noqa: E402
from tests.corpus import all_rules  # noqa: E402
from tests.test_deploy_sentinel import entity_problems, tactic_problems, columns_of, check_arm  # noqa: E402
from eqlc.targets.kql.profile import load_profile  # noqa: E402
from eqlc.targets.kql.sentinel import tables_read  # noqa: E402


def main() -> None:
    rules = all_rules()
    print(f"corpus: {len(rules)} rules")
    for profile in ("defender", "sentinel-asim", "sentinel"):
        c: Counter = Counter()
        periods: Counter = Counter()
        longest = (0, "")
        translations = []
        for r in rules:
            t = KQL.compile(r, profile=profile)
            if t.status is Status.REFUSED:
                continue
            translations.append(t)
            c["translated"] += 1
            c["bare query over 10,000"] += len(t.output) > 10_000
            if tactic_problems([tactic_name(x) for x in r.tactic_names()], r.technique_ids()):
                c["Elastic's own ATT&CK mapping fails the tactic check"] += 1
            base = r.file_stem
            if f"{base}.sentinel.txt" in t.artifacts:
                c["refused for Sentinel (query over 10,000)"] += 1
                continue
            doc = json.loads(t.artifacts[f"{base}.sentinel.json"])
            check_arm(doc)
            c["ARM template passes the shape check"] += 1
            p = doc["resources"][0]["properties"]
            longest = max(longest, (len(p["query"]), base))
            repo = yaml.safe_load(t.artifacts[f"{base}.sentinel.yaml"])
            if not tactic_problems(repo["tactics"], repo["relevantTechniques"]):
                c["tactic check passes"] += 1
            dropped = len(set(x.split(".")[0] for x in r.technique_ids())) - len(p["techniques"])
            c["rules with a technique left out (unknown to the check)"] += dropped > 0
            if not entity_problems(p["entityMappings"], columns_of(profile, tables_read(load_profile(profile), r, t.output), p["query"])):
                c["entity mappings pass"] += 1
            if profile == "defender":
                if f"{base}.defender.json" not in t.artifacts:
                    # the rule reads a table without DeviceId/DeviceName (CloudProcessEvents,
                    # CloudAuditEvents), which a Defender custom detection must return: only the
                    # Sentinel rule is written
                    c["no Defender custom detection (no device columns)"] += 1
                    continue
                body = json.loads(t.artifacts[f"{base}.defender.json"])
                periods[body["schedule"]["period"]] += 1
        batch = KQL.batch_artifacts(translations, [], profile)
        c["resources in the batch template"] = len(json.loads(batch[f"sentinel-{profile}.json"])["resources"])
        print(f"\nkql {profile}:")
        for k, v in c.items():
            print(f"  {k}: {v}")
        print(f"  longest windowed Sentinel query: {longest[0]} characters ({longest[1]})")
        if periods:
            print(f"  Defender periods: {dict(periods)}")
    for profile in ("ecs", "cim"):
        pairs = [(r, SPL.compile(r, profile)) for r in rules]
        app = SPL.batch_artifacts([t for _, t in pairs], [r for r, _ in pairs], profile)
        text = app[f"eqlc_{profile}/default/savedsearches.conf"]
        n = sum(1 for line in text.splitlines() if line.startswith("["))
        left = sum(1 for line in text.splitlines() if line.startswith("# not in this app:"))
        macros = sum(1 for line in app[f"eqlc_{profile}/default/macros.conf"].splitlines() if line.startswith("["))
        print(f"\nspl {profile}: {sum(t.output is not None for _, t in pairs)} translated, {n} searches in the app, "
              f"{left} left out, {macros} macros")


if __name__ == "__main__":
    main()
