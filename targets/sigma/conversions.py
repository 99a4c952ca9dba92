"""How much of the Sigma output each sigma-cli backend converts, over a set of rules.

``python -m eqlc.targets.sigma.conversions [PATH] [--profile P]`` compiles every rule under PATH
(default: the shared corpus) and converts each translation -- the whole collection, as ``sigma
convert`` does with the rule's files -- with every backend of ``validate.MEASURED``; it prints, per
backend, how many translations convert and, for the others, the backend's own error grouped by the
limit it names (the failures are backend or pipeline limits, never Sigma errors: the same text passes
pySigma's parser and converts with the sqlite backend, which the tests check).
"""

from __future__ import annotations

import argparse
import collections
import re
from typing import Iterable, Optional

from eqlc.result import Status
from eqlc.rule import Rule

from . import validate
from .target import TARGET

# (label, fragment of the backend error) -- the limits of pySigma's backends and pipelines
BACKEND_LIMITS = [
    ("case-sensitive matching (|cased)", "Case-sensitive string matching is not supported by backend"),
    ("correlation rules", "Backend does not support correlation rules"),
    ("temporal_ordered correlations", "Correlation type 'temporal_ordered' is not supported by backend"),
    ("correlation field normalization (aliases)", "Correlation field normalization is not supported by backend"),
    ("field-exists expressions", "Field exists expressions are not supported by the backend"),
    ("keyword search (value-only detection items)", "Value-only string expressions"),
    ("keyword search (value-only detection items)", "String value expressions are not supported"),
    ("log source without a table in the pipeline", "Unable to determine table name from rule"),
    ("field without a column in the pipeline", "Invalid SigmaDetectionItem field name encountered"),
]


def limit_of(err: Exception) -> Optional[str]:
    text = str(err)
    return next((label for label, frag in BACKEND_LIMITS if frag in text), None)


def measure(rules: Iterable[Rule], profile: Optional[str] = None, backends: Iterable[str] = validate.MEASURED) -> dict:
    """``{"translated": n, backend: {"converted": n, limit: n, ...}}``."""
    backends = list(backends)
    out: dict = {"translated": 0}
    for b in backends:
        out[b] = collections.Counter()
    for r in rules:
        t = TARGET.compile(r, profile=profile)
        if t.status is Status.REFUSED:
            continue
        out["translated"] += 1
        for b in backends:
            try:
                validate.convert(t.output, b)
                out[b]["converted"] += 1
            except Exception as err:  # noqa: BLE001 - classified; an unknown error is reported as such
                out[b][limit_of(err) or "other: " + re.sub(r"\s+", " ", str(err))[:100]] += 1
    return {k: (dict(sorted(v.items(), key=lambda kv: (kv[0] != "converted", -kv[1], kv[0]))) if isinstance(v, collections.Counter) else v)
            for k, v in out.items()}


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
    print(yaml.safe_dump(measure(rules, args.profile), sort_keys=False))


if __name__ == "__main__":
    main()
