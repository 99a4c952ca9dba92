"""Benchmark of the Python matcher (compiler/matcher) against the eql package's PythonEngine.

Run:  python benchmarks/bench_matcher.py [--events N] [--seed S] [--memory-events M] [--json]

In one run it reports:
1. events/second of eqlc and of eql 1.0.1's PythonEngine on the same pre-decoded synthetic ECS
   process events (fixed seed; eql gets scalar copies, as it cannot evaluate ECS arrays, and the
   match counts are asserted equal), for the Manual Dracut Execution rule and for all single-event
   corpus rules at once (those the eql package runs and agrees with eqlc on);
2. NDJSON end to end (read, decode, match, print the matches) against decoding the same file
   with orjson only;
3. peak memory of a sequence rule (maxspan 5s) over M events generated lazily and streamed,
   sampled at checkpoints (resident set size and the engine's in-flight sequences), to show it
   stays flat.

eql is configured as shared/research/eql-semantics.md section 10.2 says (Elasticsearch syntax,
case-sensitive, millisecond time unit); each event is given to it as Event(category, ms, doc).
Throughput is the best of --repeat runs (the machine may be shared). Not a test: numbers only.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import random
import resource
import sys
import tempfile
import time
from pathlib import Path
from typing import Iterator

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import orjson  # noqa: E402

from eqlc.matcher import matcher  # noqa: E402
from eqlc.matcher.multi import matcher_set  # noqa: E402

DRACUT = ROOT / "examples" / "manual_dracut_execution" / "rule.eql"
SEQUENCE_RULE = "privilege_escalation_netcon_via_sudo_binary.toml"

NAMES = ["bash", "sh", "python3", "sshd", "systemd", "cron", "sudo", "ls", "grep", "curl", "cat", "awk", "sed",
         "kworker", "node", "java", "dracut", "find", "tar", "gzip", "vim", "ps", "top", "ssh", "wget"]
PARENTS = ["bash", "sh", "systemd", "sshd", "cron", "sudo", "python3", "run-parts", "dracut", "containerd-shim"]
DIRS = ["/usr/bin/", "/bin/", "/usr/sbin/", "/tmp/", "/usr/lib/kernel/", "/opt/app/"]
ACTIONS = ["exec", "fork", "end", "exec_event", "start", "ProcessRollup2"]


def synthetic_events(n: int, seed: int) -> Iterator[dict]:
    """``n`` ECS process events (arrays where ECS has arrays), deterministic for ``seed``."""
    rnd = random.Random(seed)
    t0 = 1_700_000_000_000
    for i in range(n):
        name = rnd.choice(NAMES)
        parent = rnd.choice(PARENTS)
        args = [name] + rnd.sample(["-f", "-c", "--force", "-v", "/etc/passwd", "install", "-e", "x"], rnd.randint(0, 3))
        os_type = rnd.choice(["linux", "linux", "linux", "windows", "macos"])
        yield {
            "@timestamp": t0 + i,
            "event": {"category": ["process"], "type": [rnd.choice(["start", "start", "end", "info"])],
                      "action": rnd.choice(ACTIONS), "kind": "event"},
            "host": {"os": {"type": os_type, "family": os_type}, "name": f"host-{i % 97}", "id": f"h{i % 97}"},
            "process": {
                "name": name, "executable": rnd.choice(DIRS) + name, "pid": 1000 + i % 50000,
                "entity_id": f"e{i}", "args": args, "args_count": len(args), "command_line": " ".join(args),
                "working_directory": rnd.choice(["/", "/root", "/tmp", "/home/user"]),
                "parent": {"name": parent, "executable": rnd.choice(DIRS) + parent, "pid": 900 + i % 5000,
                           "args": [parent, "-c", "x"], "command_line": parent + " -c x", "entity_id": f"p{i % 5000}"},
            },
            "user": {"name": rnd.choice(["root", "alice", "bob", "www-data"]), "id": str(rnd.choice([0, 1000, 33]))},
        }


def _eql_engine(queries, probe=()):
    """An eql PythonEngine with the queries, configured as close to Elasticsearch as it gets.
    A query the package cannot parse or convert, or that raises on the ``probe`` events (its
    ``in`` raises TypeError on array values), is left out (None in the returned list)."""
    import eql
    import eql.utils
    from eql.engine import PythonEngine

    eql.utils.CASE_INSENSITIVE = False
    parsed = []
    with eql.parser.elasticsearch_syntax, eql.parser.ignore_missing_functions:
        for q in queries:
            try:
                p = eql.parse_query(q)
                scratch = PythonEngine({"flatten": True, "time_unit": 1000})
                scratch.add_query(p)
                scratch.stream_events(probe)
                parsed.append(p)
            except Exception:  # noqa: BLE001 - the package cannot run some corpus rules
                parsed.append(None)
    engine = PythonEngine({"flatten": True, "time_unit": 1000})
    hits = []
    engine.add_output_hook(hits.append)
    for p in parsed:
        if p is not None:
            engine.add_query(p)
    return engine, parsed, hits


def _best(fn, repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        gc.collect()
        t = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t)
    return best


def _interleaved(fns, repeat: int) -> list:
    """Best time of each function over ``repeat`` rounds, run in turn (a shared machine's load
    then affects every contender alike)."""
    best = [float("inf")] * len(fns)
    for _ in range(repeat):
        for i, fn in enumerate(fns):
            gc.collect()
            t = time.perf_counter()
            fn()
            best[i] = min(best[i], time.perf_counter() - t)
    return best


def _floor(events: list) -> int:
    """A bare loop that reads ``process.name`` and compares it with the rule's value: what the
    Dracut rule rejects 96% of these events on. It is wrong as a matcher (no dotted keys, arrays,
    missing fields, no other condition) and only measures the price of touching each event."""
    n = 0
    for e in events:
        if e["process"]["name"] == "dracut":
            n += 1
    return n


def _scalar(doc):
    """The event with every array replaced by its first element: the eql package's ``==`` on an
    array is false, so on ECS events (``event.type: ["start"]``) it finds nothing at all."""
    if isinstance(doc, dict):
        return {k: _scalar(v) for k, v in doc.items()}
    if isinstance(doc, list):
        return _scalar(doc[0]) if doc else None
    return doc


def bench_throughput(events: list, repeat: int) -> dict:
    from eql.events import Event

    out: dict = {}
    # eql reads scalar copies of the same events (it cannot evaluate ECS arrays); the match
    # counts are asserted equal, so both engines compute the same thing
    eql_events = [Event(e["event"]["category"][0], e["@timestamp"], _scalar(e)) for e in events]

    # -- Manual Dracut Execution ------------------------------------------------------------
    text = DRACUT.read_text()
    m = matcher(text)
    match = m.match
    n_eqlc = sum(1 for _ in m.run(events))
    assert n_eqlc == sum(1 for e in events if match(e))
    engine, _parsed, hits = _eql_engine([text])
    t_run, t_match, t_eql, t_floor = _interleaved(
        [lambda: sum(1 for _ in m.run(events)), lambda: sum(1 for e in events if match(e)),
         lambda: engine.stream_events(eql_events, finalize=False), lambda: _floor(events)], repeat)
    assert len(hits) == n_eqlc * repeat, f"eql found {len(hits) // repeat} matches, eqlc {n_eqlc}"
    out["dracut"] = {
        "events": len(events), "eqlc_matches": n_eqlc, "eql_matches_per_run": len(hits) // max(repeat, 1),
        "eqlc_events_per_s": len(events) / t_run, "eqlc_match_calls_per_s": len(events) / t_match,
        "eql_events_per_s": len(events) / t_eql, "speedup": t_eql / t_run,
        # the least any Python matcher over these dicts can do: read the rule's most selective field
        # and compare, with none of the semantics (dotted keys, arrays, missing fields)
        "floor_events_per_s": len(events) / t_floor, "floor_speedup": t_eql / t_floor,
        "eqlc_fraction_of_floor": t_floor / t_run,
    }

    # -- all single-event corpus rules at once ------------------------------------------------
    from tests.corpus import all_rules

    rules = [r for r in all_rules() if r.query.kind == "event" and not r.event_category_override]
    engine, parsed, hits = _eql_engine([r.query_text for r in rules], probe=eql_events[:2000])
    runnable = [r for r, p in zip(rules, parsed) if p is not None]
    sub = events[: min(len(events), 5000)]  # the eql engine runs ~100 events/s with every rule loaded
    sub_eql = eql_events[: len(sub)]
    # both engines get the rules eql runs AND agrees with eqlc on, rule by rule, on these events
    # (eql's semantics differ on missing fields, case and arrays): the totals are then asserted equal
    both = []
    for r in runnable:
        one, _p, one_hits = _eql_engine([r.query_text])
        one.stream_events(sub_eql, finalize=False)
        mr = matcher(r)
        if len(one_hits) == sum(1 for e in sub if mr.match(e)):
            both.append(r)
    engine, parsed, hits = _eql_engine([r.query_text for r in both])
    ms = matcher_set(both)
    match_all = ms.match_all
    n_hits = sum(len(match_all(e)) for e in sub)
    rounds = min(repeat, 2)
    t_eqlc, t_eql = _interleaved(
        [lambda: [match_all(e) for e in sub], lambda: engine.stream_events(sub_eql, finalize=False)], rounds)
    assert len(hits) == n_hits * rounds, f"eql found {len(hits) // rounds} rule hits, eqlc {n_hits}"
    out["all_single_event_rules"] = {
        "rules": len(both), "rules_eql_cannot_run": len(rules) - len(runnable),
        "rules_eql_disagrees_on": len(runnable) - len(both), "events": len(sub),
        "rule_hits": n_hits,
        "eqlc_events_per_s": len(sub) / t_eqlc, "eql_events_per_s": len(sub) / t_eql,
        "speedup": t_eql / t_eqlc,
    }
    return out


def bench_ndjson(events: list, repeat: int) -> dict:
    from eqlc.commands.match import Reader

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "events.ndjson"
        with open(path, "wb") as f:
            for e in events:
                f.write(orjson.dumps(e) + b"\n")
        size = path.stat().st_size
        loads = orjson.loads

        def decode_only():
            with open(path, "rb", buffering=1 << 20) as f:
                for line in f:
                    loads(line)

        m = matcher(DRACUT.read_text())
        sink = open(os.devnull, "wb")

        def end_to_end():
            # what `eqlc match rule.eql events.ndjson` does: read, decode, match, print
            dumps = orjson.dumps
            buf = []
            for hit in m.run(Reader([str(path)])):
                buf.append(dumps(hit.events[0]))
            sink.write(b"\n".join(buf) + b"\n")

        t_decode, t_e2e = _interleaved([decode_only, end_to_end], repeat)
        sink.close()
    return {
        "events": len(events), "bytes": size,
        "decode_only_events_per_s": len(events) / t_decode, "end_to_end_events_per_s": len(events) / t_e2e,
        "end_to_end_fraction_of_decode": t_decode / t_e2e,
    }


def sequence_stream(n: int, seed: int) -> Iterator[dict]:
    """Lazily generated events for the sudo sequence rule: every other event starts a sequence
    (a sudo exec with a fresh entity id, i.e. a new join key), a few complete one."""
    rnd = random.Random(seed)
    t0 = 1_700_000_000_000
    for i in range(n):
        eid = f"e{i // 2}"
        if i % 2 == 0:
            yield {"@timestamp": t0 + i, "event": {"category": ["process"], "type": ["start"], "action": "exec"},
                   "host": {"id": f"h{i % 13}", "os": {"type": "linux"}},
                   "process": {"name": "sudo", "entity_id": eid, "args": ["sudo", "id"], "command_line": "sudo id"}}
        else:
            done = rnd.random() < 0.01
            yield {"@timestamp": t0 + i, "event": {"category": ["network"], "type": ["start"], "action": "connection_attempted"},
                   "host": {"id": f"h{(i - 1) % 13 if done else 99}", "os": {"type": "linux"}},
                   "process": {"name": "sudo", "entity_id": eid if done else "other"},
                   "destination": {"ip": "8.8.8.8"}}


def _current_rss_mb() -> float:
    """Resident set size now (Linux /proc), else the high-water mark."""
    try:
        with open("/proc/self/statm") as f:
            return round(int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20, 1)
    except OSError:
        return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def bench_memory_subprocess(n: int, seed: int) -> dict:
    """The memory run in a fresh interpreter, so that its RSS is the sequence engine's alone."""
    import subprocess

    out = subprocess.run([sys.executable, __file__, "--memory-only", "--memory-events", str(n), "--seed", str(seed)],
                         capture_output=True, text=True, check=True)
    return json.loads(out.stdout)


def bench_memory(n: int, seed: int) -> dict:
    from eqlc.matcher import runtime as rt
    from tests.corpus import all_rules

    rule = next(r for r in all_rules() if r.path.endswith(SEQUENCE_RULE))
    m = matcher(rule)
    checkpoints = []
    engines = []
    real_init = rt.SequenceEngine.__init__

    def spy(self, spec):  # keep a handle on the engine to count its in-flight sequences
        real_init(self, spec)
        engines.append(self)

    rt.SequenceEngine.__init__ = spy
    try:
        step = max(n // 10, 1)
        matches = 0
        t = time.perf_counter()

        def watched():
            for i, e in enumerate(sequence_stream(n, seed), 1):
                yield e
                if i % step == 0:
                    eng = engines[0]
                    inflight = sum(len(d) for d in eng.pending.values())
                    # current RSS: a forked child inherits its parent's ru_maxrss high-water mark
                    checkpoints.append({"events": i, "rss_mb": _current_rss_mb(), "in_flight_sequences": inflight})

        for _ in m.run(watched()):
            matches += 1
        elapsed = time.perf_counter() - t
    finally:
        rt.SequenceEngine.__init__ = real_init
    return {"rule": SEQUENCE_RULE, "events": n, "matches": matches, "events_per_s": n / elapsed, "checkpoints": checkpoints}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--events", type=int, default=200_000)
    ap.add_argument("--seed", type=int, default=8)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--memory-events", type=int, default=5_000_000)
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--memory-only", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.memory_only:
        print(json.dumps(bench_memory(args.memory_events, args.seed)))
        return

    events = list(synthetic_events(args.events, args.seed))
    report = {"python": sys.version.split()[0], "cpus": os.cpu_count(), "load_average": os.getloadavg()}
    report.update(bench_throughput(events, args.repeat))
    report["ndjson"] = bench_ndjson(events, args.repeat)
    report["sequence_memory"] = bench_memory_subprocess(args.memory_events, args.seed)
    if args.json:
        print(json.dumps(report, indent=2))
        return
    d, a, nd, mem = report["dracut"], report["all_single_event_rules"], report["ndjson"], report["sequence_memory"]
    print(f"Python {report['python']}, {report['cpus']} CPUs, load average {report['load_average'][0]:.1f}")
    print(f"Manual Dracut Execution, {d['events']} events: eqlc {d['eqlc_events_per_s']:,.0f} ev/s "
          f"(match() per event: {d['eqlc_match_calls_per_s']:,.0f}), eql {d['eql_events_per_s']:,.0f} ev/s -> {d['speedup']:.1f}x")
    print(f"  floor (a bare loop reading process.name, no semantics): {d['floor_events_per_s']:,.0f} ev/s = "
          f"{d['floor_speedup']:.1f}x eql; eqlc runs at {d['eqlc_fraction_of_floor']:.2f} of the floor")
    print(f"All {a['rules']} single-event corpus rules at once ({a['rules_eql_cannot_run']} more that eql cannot parse or run, "
          f"{a['rules_eql_disagrees_on']} on which it finds other matches), {a['events']} events, {a['rule_hits']} rule hits each: "
          f"eqlc {a['eqlc_events_per_s']:,.0f} ev/s, eql {a['eql_events_per_s']:,.0f} ev/s -> {a['speedup']:.1f}x")
    print(f"NDJSON ({nd['bytes'] / 1e6:.1f} MB): decode only {nd['decode_only_events_per_s']:,.0f} ev/s, "
          f"end to end {nd['end_to_end_events_per_s']:,.0f} ev/s = {nd['end_to_end_fraction_of_decode']:.2f} of decode-only")
    print(f"Sequence rule {mem['rule']} over {mem['events']:,} streamed events ({mem['events_per_s']:,.0f} ev/s, "
          f"{mem['matches']} matches):")
    for c in mem["checkpoints"]:
        print(f"  after {c['events']:>10,} events: RSS {c['rss_mb']:7.1f} MB, in-flight sequences {c['in_flight_sequences']}")


if __name__ == "__main__":
    main()
