"""Hostile-size inputs (issue 19): time and peak memory of one process per case.

    python benchmarks/bench_hostile.py            # all cases
    python benchmarks/bench_hostile.py in-list 10000

Cases: ``in-list N`` (witness generation for ``process.name in (N values)``), ``big-rule KB``
(load + check + compile --target python of a rule file of about KB KiB: one long ``in`` list;
eqlc.limits.MAX_QUERY_CHARS refuses queries over 1,000,000 characters). Each case runs in a fresh interpreter; peak RSS is ru_maxrss of that child.
"""

from __future__ import annotations

import json
import resource
import subprocess
import sys
import time

CHILD = r'''
import json, resource, sys, time, tempfile, os
kind, n = sys.argv[1], int(sys.argv[2])
t0 = time.perf_counter()
if kind == "in-list":
    from eqlc import parse_query
    from eqlc.rule import Rule
    from eqlc.fixtures.witness import generate
    from eqlc.fixtures.oracle import Oracle
    values = ", ".join(f'"v{i:06d}.exe"' for i in range(n))
    q = f"process where process.name in ({values})"
    rule = Rule(query=parse_query(q), query_text=q)
    t1 = time.perf_counter()
    ws = generate(rule, Oracle())
    extra = {"events": len(ws.events), "parse_s": round(t1 - t0, 2)}
elif kind == "big-rule":
    path = sys.argv[3]
    from eqlc.loaders import load_batch
    b = load_batch(path)
    extra = {"bytes": os.path.getsize(path), "rules": len(b.rules), "errors": [e.message[:120] for e in b.errors]}
    if b.rules:
        from eqlc import compile as eqlc_compile
        t = eqlc_compile(b.rules[0], "python")
        extra["python_status"] = t.status.value
print(json.dumps(dict(case=kind, n=n, seconds=round(time.perf_counter() - t0, 2),
                      peak_mb=round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1), **extra)))
'''


def _big_rule(kb: int) -> str:
    """A rule file of about ``kb`` KiB: one ``in`` list (written here, not in the measured child)."""
    import os
    import tempfile

    path = os.path.join(tempfile.mkdtemp(), "big.eql")
    with open(path, "w") as f:
        f.write("process where process.name in (" + ", ".join(f'"v{i:09d}"' for i in range(kb * 1024 // 14)) + ")\n")
    return path


def run(kind: str, n: int) -> dict:
    extra = [_big_rule(n)] if kind == "big-rule" else []
    res = subprocess.run([sys.executable, "-c", CHILD, kind, str(n), *extra], capture_output=True, text=True, timeout=3600)
    if res.returncode != 0:
        return {"case": kind, "n": n, "error": res.stderr.strip().splitlines()[-1:]}
    return json.loads(res.stdout.strip().splitlines()[-1])


def main() -> None:
    cases = [(sys.argv[1], int(sys.argv[2]))] if len(sys.argv) > 2 else [("in-list", 1000), ("in-list", 10000), ("big-rule", 950), ("big-rule", 51200)]
    for kind, n in cases:
        print(json.dumps(run(kind, n)), flush=True)


if __name__ == "__main__":
    main()
