"""Corpus coverage of the Sigma target: exact / with assumptions / refused by reason.

``python -m eqlc.targets.sigma.coverage [PATH] [--profile P]`` prints the counts for every rule under
PATH (default: the shared corpus). Refusal reasons are grouped into the classes below, so that
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

# (class, fragment of the reason) -- first match wins
REASON_CLASSES = [
    ("ECS field with no Sigma taxonomy field", "has no field in the Sigma taxonomy of"),
    ("`any where` without one event.category", "an `any where` query"),
    ("no Sigma log source for the ECS category/type/product", "no Sigma log source in the mapping"),
    ("process.args value with a space", "contains a space, but"),
    ("sequence `with runs`", "(a term repeated)"),
    ("sequence join key without a plain Sigma field", "join key"),
    ("host.os.type names several products", "names several OS products"),
    ("event_category_override", "overrides the event category field"),
    ("log-source field inside a larger expression", "is translated only as a top-level positive condition"),
    ("sequence without maxspan", "without maxspan"),
    ("maxspan not in whole seconds", "timespans are whole seconds"),
    ("regex/null test on a derived field (file name, argv)", "derived from"),
    ("file name value with a path separator", "which a file name"),
    ("function/arithmetic without Sigma equivalent", "only a field can be compared"),
    ("function/arithmetic without Sigma equivalent", "has no Sigma equivalent"),
    ("regex construct outside Sigma's regex subset", "Sigma regex equivalent"),
    ("nothing left after the log source", "no condition is left"),
    ("sequence `until`", "`until`"),
    ("sequence missing events", "missing events"),
    ("`sample`", "`sample`"),
    ("pipe", "the pipe"),
    ("wildcard literal in endsWith/stringContains", "may act as wildcards"),
    ("registry data Details spells otherwise (DWORD, empty, binary)", "spells some values otherwise than ECS"),
]


def reason_class(reason: str) -> str:
    for label, fragment in REASON_CLASSES:
        if fragment in reason:
            return label
    return "other: " + reason[:80]


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
    ap.add_argument("path", nargs="?", default=None)
    ap.add_argument("--profile", default=None)
    args = ap.parse_args(argv)
    if args.path:
        rules = load_rules(args.path)
    else:
        from tests.corpus import all_rules

        rules = all_rules()
    print(yaml.safe_dump(coverage(rules, args.profile).as_dict(), sort_keys=False))


if __name__ == "__main__":
    main()
