"""Corpus coverage per target and profile, with the refusals grouped by reason.

    python benchmarks/coverage.py [RULES_DIR] [--targets kql,sigma] [--broader] [--top 8] [--json OUT]

RULES_DIR defaults to ``../shared/corpus/elastic-detection-rules``. For every target and every
profile it ships, each rule is compiled once; the table counts exact / with assumptions / refused
(and ``broader`` when the installed eqlc has that status and ``--broader`` is given), and under it
the most frequent refusal reasons, grouped by their shape: field names, quoted values and numbers
are replaced by placeholders so that "ECS field process.Ext.x has no column" and "ECS field
dll.Ext.y has no column" count as one reason. For a target with several profiles, a last row
counts each rule once with its best status over the profiles (a rule translated by any profile
counts as translated). This is the script behind the README's coverage table; the per-target
tests assert their own counts.
"""

from __future__ import annotations

import argparse
import collections
import inspect
import json
import re
import sys
from pathlib import Path

from eqlc.target import compile_rule
from eqlc.errors import EqlError
from eqlc.loaders import iter_batch, rule_files
from eqlc.result import Status
from eqlc.target import REGISTRY, get_target

DEFAULT = Path(__file__).resolve().parent.parent.parent / "shared" / "corpus" / "elastic-detection-rules"
_FIELD = re.compile(r"\b[A-Za-z_@][\w@-]*(?:\.[\w@-]+)+\b")
_QUOTED = re.compile(r"'[^']*'|\"[^\"]*\"|`[^`]*`")
_NUMBER = re.compile(r"\b\d+\b")


def reason_family(reason: str) -> str:
    """The shape of a refusal reason: the text up to its first colon (or 140 characters), with
    field names, quoted values and numbers replaced by placeholders."""
    text = _QUOTED.sub("<value>", reason)
    text = _FIELD.sub("<field>", text)
    text = _NUMBER.sub("<n>", text)
    head = text.split(": ", 1)[0]
    return (head if len(head) >= 24 else text)[:140]


def load_rules(root: Path) -> list:
    rules = []
    for _f, loaded in iter_batch([root]):
        if isinstance(loaded, EqlError):
            continue
        rules.extend(loaded if isinstance(loaded, list) else [loaded])
    return rules


def measure(rules: list, targets: list[str], broader: bool) -> dict:
    out: dict = {}
    for name in targets:
        target = get_target(name)
        profiles = list(getattr(target, "profiles", None) or [None])
        takes_broader = "broader" in inspect.signature(target.compile).parameters
        best: dict[int, str] = {}  # rule -> its best status over the target's profiles
        for profile in profiles:
            counts: collections.Counter = collections.Counter()
            reasons: collections.Counter = collections.Counter()
            for rule in rules:
                kwargs = {"profile": profile} if profile is not None else {}
                if broader and takes_broader:
                    kwargs["broader"] = True
                try:
                    # the broader mechanism lives in the compiler (eqlc.broaden), not in the targets
                    t = (compile_rule(rule, name, profile, None, broader=True) if broader and not takes_broader
                         else target.compile(rule, **kwargs))
                except Exception as exc:  # an internal error is counted, never hidden
                    counts["error"] += 1
                    reasons[f"internal error: {type(exc).__name__}"] += 1
                    continue
                counts[t.status.value] += 1
                prev = best.get(id(rule))
                if prev is None or _RANK[t.status.value] < _RANK[prev]:
                    best[id(rule)] = t.status.value
                if t.status is Status.REFUSED:
                    reasons[reason_family(t.notes[0] if t.notes else "")] += 1
            label = name if profile is None else f"{name} ({profile})"
            out[label] = {"counts": dict(counts), "reasons": reasons.most_common()}
        if len(profiles) > 1:  # a user picks the profile that fits each rule's data
            out[f"{name} (best profile per rule)"] = {"counts": dict(collections.Counter(best.values())), "reasons": []}
    return out


# the better of two statuses a rule gets under two profiles (lower is better)
_RANK = {"exact": 0, "assumptions": 1, "broader": 2, "refused": 3, "error": 4}


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("rules", nargs="?", type=Path, default=DEFAULT)
    ap.add_argument("--targets", default=",".join(REGISTRY))
    ap.add_argument("--broader", action="store_true")
    ap.add_argument("--top", type=int, default=8)
    ap.add_argument("--json", type=Path)
    args = ap.parse_args(argv)
    if not rule_files(args.rules):
        print(f"no rules under {args.rules}", file=sys.stderr)
        return 2
    rules = load_rules(args.rules)
    result = measure(rules, [t for t in args.targets.split(",") if t], args.broader)
    statuses = [s.value for s in Status]
    print(f"{len(rules)} rules from {args.rules}\n")
    print("| target (profile) | " + " | ".join(statuses) + " | deployable |")
    print("|---|" + "---:|" * (len(statuses) + 1))
    for label, r in result.items():
        deployable = sum(n for s, n in r["counts"].items() if s not in ("refused", "error"))
        share = f"{deployable} ({100 * deployable / max(1, len(rules)):.1f}%)"
        print(f"| {label} | " + " | ".join(str(r["counts"].get(s, 0)) for s in statuses) + f" | {share} |")
    for label, r in result.items():
        if r["reasons"]:
            print(f"\n{label}: refusals by reason (top {args.top} of {len(r['reasons'])} shapes)")
            for text, n in r["reasons"][: args.top]:
                print(f"  {n:4d}  {text}")
    if args.json:
        args.json.write_text(json.dumps(result, indent=1), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
