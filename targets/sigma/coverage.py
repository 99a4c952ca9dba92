"""Corpus coverage of the Sigma target: exact / with assumptions / refused by reason.

``python -m eqlc.targets.sigma.coverage PATH [--profile P]`` prints the counts for every rule under
PATH (for the shared corpus: ``../shared/corpus/elastic-detection-rules``). Refusal reasons are grouped into the classes below, so that
the report says *why* rules cannot be Sigma, not just how many.
"""

from __future__ import annotations

import argparse
import collections
from dataclasses import dataclass, field
from typing import Iterable, Optional

from eqlc.result import Status
from eqlc.rule import Rule

from .target import TARGET

# Refusal families: (label, regex on the reason, verdict). First match wins. The verdict is the one
# ../shared/research/coverage-gaps.md (sections 2c, 3c-3e, 4) gives the family after checking it at
# its source: "inexpressible" -- Sigma's taxonomy and correlation model record no equivalent, so a
# translation would change what the rule selects -- or "policy" for what the project decided to refuse
# although a stated assumption or value map could close it, or "gap" for a log source not built.
_FIELD = r"^(?P<f>\S+) has no field in the Sigma taxonomy of "
REASON_FAMILIES: list[tuple[str, str, str]] = [
    ("user and group ids (Sigma records account names, not SIDs/uids)",
     _FIELD.replace("(?P<f>\\S+)", r"(user\.id|process\.user\.id|user\.Ext\.real\.id|process\.parent\.Ext\.real\.pid|user\.domain)"), "inexpressible"),
    ("code signatures (Sysmon process/file/network events carry none)", _FIELD.replace("(?P<f>\\S+)", r"\S*code_signature\S*"), "inexpressible"),
    ("containers (no container fields in Sigma's taxonomy)", _FIELD.replace("(?P<f>\\S+)", r"container\.\S+"), "inexpressible"),
    ("Elastic Defend session view", _FIELD.replace("(?P<f>\\S+)", r"process\.(entry_leader|session_leader)\.\S+|\S*\.interactive"), "inexpressible"),
    ("rename source of Linux/macOS file events (no Sigma file_rename there)", _FIELD.replace("(?P<f>\\S+)", r"file\.Ext\.original\.\S+"), "inexpressible"),
    ("Elastic enrichments with no Sigma field (Ext, ML, env vars, capabilities)",
     _FIELD.replace("(?P<f>\\S+)", r"(\S*\.Ext\.\S+|problemchild\.\S+|Effective_process\.\S+|Persistence\.\S+|process\.env_vars|"
                    r"process\.thread\.capabilities\.\S+|process\.previous\.\S+|process\.exit_code|process\.parent\.working_directory|"
                    r"winlog\.event_data\.(NewUACList|PrivilegeList|AccessMaskDescription))"), "inexpressible"),
    ("network payload and application fields (packet, HTTP, DNS)",
     _FIELD.replace("(?P<f>\\S+)", r"(http\.\S+|network_traffic\.\S+|network\.protocol|network\.application|destination\.domain|"
                    r"dns\.question\.name|event\.kind)"), "inexpressible"),
    ("cloud fields with no Sigma equivalent (request_parameters text, resources, Drive)",
     _FIELD.replace("(?P<f>\\S+)", r"(aws\.cloudtrail\.(request_parameters|resources\.\S+)|google_workspace\.\S+)"), "inexpressible"),
    ("Linux auditd fields outside linux/auditd's kernel-module records (an exec's argv is its own EXECVE record)",
     _FIELD.replace("(?P<f>\\S+)", r"auditd\.\S+"), "inexpressible"),
    ("a field the chosen log source does not record", _FIELD, "inexpressible"),
    ("process.args value with a space", r"contains a space, but", "inexpressible"),
    ("regex/null test on a derived field (file name, argv)", r"derived from", "inexpressible"),
    ("file name value with a path separator", r"which a file name", "inexpressible"),
    ("sequence `with runs`", r"\(a term repeated\)", "inexpressible"),
    ("sequence `until`", r"`until`", "inexpressible"),
    ("sequence missing events", r"missing events", "inexpressible"),
    ("`sample`", r"`sample`", "inexpressible"),
    ("pipe", r"the pipe", "inexpressible"),
    ("sequence step naming several log sources", r"names several log sources", "inexpressible"),
    ("sequence join key without a plain Sigma field", r"join key", "inexpressible"),
    ("event_category_override in a sequence (its terms' categories are read from another field; not rewritten)", r"overrides the event category field", "gap"),
    ("no Sigma log source for the events (Linux/macOS file changes, appliances, Kubernetes, Azure, Okta)", r"no Sigma log source in the mapping", "inexpressible"),
    ("log-source field inside a larger expression", r"is translated only as a top-level positive condition", "inexpressible"),
    ("field the Security log records differently per event id, with event ids not pinned", r"by different fields for different event ids", "inexpressible"),
    ("function/arithmetic without Sigma equivalent", r"only a field can be compared|has no Sigma equivalent|is translated only with a field and", "inexpressible"),
    ("regex construct outside Sigma's regex subset", r"Sigma regex equivalent", "inexpressible"),
    ("condition that can never hold on the log source", r"can never hold", "inexpressible"),
    ("contradictory conditions", r"contradict", "inexpressible"),
    ("wildcard literal in endsWith/stringContains", r"may act as wildcards", "inexpressible"),
    ("maxspan not in whole seconds", r"timespans are whole seconds", "inexpressible"),
    ("sequence without maxspan or look-back", r"without maxspan", "inexpressible"),
    # Sysmon's Details spells numbers as "DWORD (0x0000000A)" where ECS has "10" (spelling.py): exact values
    # are translated into every spelling; a wildcard or regex selecting by the decimal text's digits
    # ("1*") would need every hex spelling of every number it selects, which no finite Sigma list is.
    ("registry Details numbers: wildcard/regex on decimal digits, or a number with too many QWORD spellings", r"spells numbers otherwise than ECS|spells the number \S+ in too many ways", "inexpressible"),
]
REASON_CLASSES = [(label, pattern) for label, pattern, _ in REASON_FAMILIES]  # kept for callers of the old name


def reason_class(reason: str) -> str:
    import re

    for label, pattern, _verdict in REASON_FAMILIES:
        if re.search(pattern, reason):
            return label
    return "other: " + reason[:80]


def verdict(label: str) -> str:
    """``inexpressible``/``policy`` for a family label (``unclassified`` for an unknown one)."""
    return next((v for lab, _p, v in REASON_FAMILIES if lab == label), "unclassified")


@dataclass
class Coverage:
    total: int = 0
    status: collections.Counter = field(default_factory=collections.Counter)
    reasons: collections.Counter = field(default_factory=collections.Counter)
    kinds: collections.Counter = field(default_factory=collections.Counter)  # rule / correlation among translated

    def as_dict(self) -> dict:
        return {
            "total": self.total,
            "exact": self.status[Status.EXACT.value],
            "assumptions": self.status[Status.ASSUMPTIONS.value],
            "refused": self.status[Status.REFUSED.value],
            "translated_kinds": dict(sorted(self.kinds.items())),
            "refused_by_reason": dict(sorted(self.reasons.items(), key=lambda kv: (-kv[1], kv[0]))),
        }


def coverage(rules: Iterable[Rule], profile: Optional[str] = None, translations: Optional[Iterable] = None) -> Coverage:
    """Counts for ``rules`` (or for their already compiled ``translations``, in the same order)."""
    cov = Coverage()
    for t in translations if translations is not None else (TARGET.compile(r, profile=profile) for r in rules):
        cov.total += 1
        cov.status[t.status.value] += 1
        if t.status is Status.REFUSED:
            cov.reasons[reason_class(t.notes[0])] += 1
        else:
            cov.kinds["correlation" if "\ncorrelation:" in (t.output or "") else "rule"] += 1
    return cov


def main(argv: Optional[list[str]] = None) -> None:
    import yaml

    from eqlc.loaders import load_rules

    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("path", help="a rule file or folder (nothing outside the installed package is read by default)")
    ap.add_argument("--profile", default=None)
    args = ap.parse_args(argv)
    rules = load_rules(args.path)
    print(yaml.safe_dump(coverage(rules, args.profile).as_dict(), sort_keys=False))


if __name__ == "__main__":
    main()
