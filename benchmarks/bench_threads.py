"""The two-thread NDJSON reader on a shared machine: where each thread's time goes (issue 18, goal 1).

    python benchmarks/bench_threads.py                                   # this checkout, seed rule, Hyperscan
    python benchmarks/bench_threads.py --variant main=/path/to/pkg       # and another eqlc tree, interleaved
    python benchmarks/bench_threads.py --scan stdlib --rounds 5 --runs 3

Why: on a machine other jobs share, the wall clock of a two-thread reader measures the other
jobs. Linux reports per thread (``/proc/thread-self/schedstat``) the CPU time it ran and the
time it waited, runnable, for a CPU (the runqueue). For the main thread of ``m.run(m.read([F]))``
over the 1M-line ECS file (the seed rule, in process: no start-up):

- ``run``: its CPU time;
- ``rq``: time it waited for a CPU: a quiet machine would not have made it wait;
- ``blocked`` = wall - run - rq: time it slept waiting for the other thread (the GIL, or the read-
  ahead window not ready yet). This is the part two threads on two free cores still pay;
- ``wall - rq``: the estimate of a quiet run's wall clock (an estimate: the helper's own runqueue
  waits can still show up as the main thread's ``blocked``). Best runs are reported.

Each variant (this checkout; ``--variant NAME=DIR`` runs eqlc importable from DIR, e.g. a copy of
main's package laid out as installed) runs in its own child process, variants interleaved round
by round, so the load affects them alike. Linux only (schedstat). The file is the one
bench_ndjson.py writes (``--data``, ``--lines``); it is generated when missing.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
SEED_RULE = HERE.parent / "examples" / "manual_dracut_execution" / "rule.eql"

CHILD = r"""
import gc, json, sys, threading, time
from eqlc.matcher import matcher

def schedstat():
    with open("/proc/thread-self/schedstat") as f:
        run, rq, _ = f.read().split()
    return int(run) / 1e9, int(rq) / 1e9

helper = {}

class Timed(threading.Thread):  # the reader's helper thread reports its own schedstat when it ends
    def run(self):
        r0, q0 = schedstat()
        try:
            super().run()
        finally:
            r1, q1 = schedstat()
            helper["run"], helper["rq"] = r1 - r0, q1 - q0

threading.Thread = Timed
rule, path, scan, runs = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
m = matcher(open(rule).read())
out = []
for _ in range(runs):
    helper.clear()
    reader = m.read([path], scan=scan)
    gc.collect()
    t0 = time.perf_counter()
    r0, q0 = schedstat()
    n = sum(1 for _ in m.run(reader))
    r1, q1 = schedstat()
    wall = time.perf_counter() - t0
    out.append({"matches": n, "lines": reader.lines, "wall": wall, "run": r1 - r0, "rq": q1 - q0,
                "helper_run": helper.get("run", 0.0), "helper_rq": helper.get("rq", 0.0)})
print(json.dumps(out))
"""


def _file(data: Path, lines: int, seed: int) -> Path:
    sys.path.insert(0, str(HERE))
    import ecs_ndjson

    data.mkdir(parents=True, exist_ok=True)
    return ecs_ndjson.write(data / f"ecs-{lines}-{seed}.ndjson", lines, seed)


def _summary(runs: list) -> dict:
    """The best three quiet-run estimates and the per-thread times (minimum and median)."""
    est = sorted(r["wall"] - r["rq"] for r in runs)
    med = len(runs) // 2

    def both(key):
        values = sorted(r[key] for r in runs)
        return round(values[0], 3), round(values[med], 3)

    blocked = sorted(r["wall"] - r["run"] - r["rq"] for r in runs)
    return {"runs": len(runs), "matches": runs[0]["matches"], "lines": runs[0]["lines"],
            "wall_minus_rq_best3": [round(x, 3) for x in est[:3]], "wall_minus_rq_median": round(est[med], 3),
            "main_run_min_median": both("run"), "main_blocked_min_median": (round(blocked[0], 3), round(blocked[med], 3)),
            "helper_run_min_median": both("helper_run"), "wall_min": round(min(r["wall"] for r in runs), 3)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--scan", default="hyperscan", choices=("hyperscan", "stdlib"))
    ap.add_argument("--rounds", type=int, default=4, help="child processes per variant (interleaved)")
    ap.add_argument("--runs", type=int, default=3, help="runs per child process")
    ap.add_argument("--variant", action="append", default=[], metavar="NAME=DIR",
                    help="also run eqlc importable from DIR (PYTHONPATH), e.g. another checkout's package tree")
    ap.add_argument("--rule", type=Path, default=SEED_RULE)
    ap.add_argument("--data", type=Path, default=Path(tempfile.gettempdir()) / "eqlc-bench")
    ap.add_argument("--lines", type=int, default=1_000_000)
    ap.add_argument("--seed", type=int, default=18)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    if not os.path.exists("/proc/thread-self/schedstat"):
        sys.exit("bench_threads.py needs Linux's /proc/thread-self/schedstat")
    path = _file(args.data, args.lines, args.seed)
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    variants = {"this checkout": env}
    for spec in args.variant:
        name, _, directory = spec.partition("=")
        if not directory:
            ap.error(f"--variant {spec!r}: expected NAME=DIR")
        variants[name] = dict(env, PYTHONPATH=directory)
    results: dict = {name: [] for name in variants}
    load = [os.getloadavg()[0]]
    cmd = [sys.executable, "-c", CHILD, str(args.rule), str(path), args.scan, str(args.runs)]
    for _ in range(args.rounds):
        for name, venv in variants.items():
            done = subprocess.run(cmd, env=venv, capture_output=True, text=True, check=True)
            results[name] += json.loads(done.stdout)
    load.append(os.getloadavg()[0])
    report = {"scan": args.scan, "file": str(path), "load_average": load,
              "variants": {name: _summary(runs) for name, runs in results.items()}}
    counts = {(v["matches"], v["lines"]) for v in report["variants"].values()}
    if len(counts) != 1:
        sys.exit(f"the variants disagree on matches/lines: {counts}")
    if args.json:
        print(json.dumps(report, indent=2))
        return
    print(f"{args.scan} scan, {path.name}, load average {load[0]:.1f} -> {load[1]:.1f} (seconds, in process)")
    for name, s in report["variants"].items():
        print(f"  {name}: {s['matches']} matches, {s['lines']} lines, {s['runs']} runs | quiet estimate (wall - rq) "
              f"best {' '.join(map(str, s['wall_minus_rq_best3']))}, median {s['wall_minus_rq_median']} | main thread "
              f"CPU {s['main_run_min_median'][0]} (median {s['main_run_min_median'][1]}), blocked "
              f"{s['main_blocked_min_median'][0]} (median {s['main_blocked_min_median'][1]}) | helper CPU "
              f"{s['helper_run_min_median'][0]} | wall {s['wall_min']}")


if __name__ == "__main__":
    main()
