"""Hunting speed from NDJSON: `eqlc match` with the literal prefilter against eql, DuckDB and eqlc's
own full-decode path, on the same file in one run. Not a test: numbers, and every comparison asserts
that the contenders found the same number of matches.

    python benchmarks/bench_ndjson.py [--lines 2000000] [--repeat 3] [--data DIR] [--json]
                                      [--only seed,frequent,many,sequence,startup] [--callgrind]

Goals (issue 18), each a ratio measured in this one run, best of --repeat interleaved rounds:

1. seed rule (examples/manual_dracut_execution), its literal in < 1% of the lines:
   `eqlc match --count` end to end >= 20x eql+orjson with Hyperscan, >= 10x with the
   standard-library scan, >= 4x `eqlc match --no-prefilter`, faster than DuckDB;
2. a rule whose best literal is in > 50% of the lines: >= 0.95x the full-decode path;
3. all single-event corpus rules at once from NDJSON: >= 2x today's MatcherSet, >= 40x eql;
4. a sequence rule: >= 20x eql on the same 200k-event stream, memory flat over 5M events;
5. `eqlc match` on an empty file under 0.3 s.

The eql side: the `eql` 1.0.1 PythonEngine configured as close to Elasticsearch as it goes
(bench_matcher._eql_engine), fed orjson-decoded events. eql cannot evaluate ECS arrays (its `==`
on a list is false, so on the real file it finds nothing), so it reads a copy of the file with every
array replaced by its first element (benchmarks/ecs_ndjson.py --scalar), and each comparison
asserts that it finds as many matches there as eqlc on the real file. DuckDB reads the real file
with `read_ndjson` and runs the seed rule hand-written as SQL (ECS arrays through list functions,
`like~` through lower(), EQL's missing-field `not` through coalesce).
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

import orjson  # noqa: E402

import ecs_ndjson  # noqa: E402

SEED_RULE = ROOT / "examples" / "manual_dracut_execution" / "rule.eql"
FREQUENT_RULE = "command_and_control_potential_tunneling_command_line.toml"
SEQUENCE_RULE = "privilege_escalation_netcon_via_sudo_binary.toml"
EQLC = [str(Path(sys.executable).parent / "eqlc")]

DUCKDB_SEED_SQL = """
SELECT count(*) FROM read_ndjson(?, ignore_errors = true, maximum_object_size = 1048576)
WHERE host.os.type = 'linux'
  AND list_contains(event.type, 'start')
  AND event.action IN ('exec', 'exec_event', 'start', 'ProcessRollup2')
  AND process.name = 'dracut'
  AND process.parent.executable IS NOT NULL
  AND NOT coalesce(
        lower(process.parent.executable) LIKE '/usr/lib/kernel/%'
     OR lower(process.parent.executable) LIKE '/etc/kernel/install.d/%'
     OR lower(process.parent.executable) = '/var/lib/dpkg/info/dracut.postinst'
     OR lower(process.parent.executable) LIKE '/tmp/newroot/%'
     OR lower(process.parent.executable) LIKE '/usr/lib/module-init-tools/%'
     OR process.parent.name IN ('dracut-install', 'dracut', 'run-parts', 'weak-modules', 'mkdumprd',
                                'new-kernel-pkg', 'sudo')
     OR len(list_filter(process.parent.args,
                        lambda x: lower(x) = '/usr/bin/dracut-rebuild' OR lower(x) LIKE '/var/tmp/rpm-tmp.%')) > 0
     OR lower(process.parent.command_line) LIKE '/bin/sh -c if command -v mkinitcpio%', false)
"""


# ------------------------------------------------------------------------------------------------
# helpers
# ------------------------------------------------------------------------------------------------


def interleaved(fns: dict, repeat: int) -> dict:
    """Best time and last result of each contender over ``repeat`` rounds run in turn (a shared
    machine's load then affects every contender alike)."""
    best = {k: float("inf") for k in fns}
    result: dict = {}
    for _ in range(repeat):
        for name, fn in fns.items():
            gc.collect()
            t = time.perf_counter()
            result[name] = fn()
            best[name] = min(best[name], time.perf_counter() - t)
    return {k: (best[k], result[k]) for k in fns}


def cli_count(*args: str) -> int:
    """`eqlc match ... --count` as a subprocess (start-up included); its count of matches."""
    out = subprocess.run([*EQLC, "match", *args, "--count"], capture_output=True, check=True)
    return int(out.stdout.strip())


def corpus_rule(name: str):
    from tests.corpus import all_rules

    return next(r for r in all_rules() if r.path.endswith(name))


def eql_engine(queries: list, probe=()):
    from bench_matcher import _eql_engine

    return _eql_engine(queries, probe)


def eql_events(path: Path, limit: int = 0):
    from eql.events import Event

    loads = orjson.loads
    with open(path, "rb", buffering=1 << 20) as f:
        for i, line in enumerate(f):
            if limit and i >= limit:
                return
            try:
                doc = loads(line)
            except orjson.JSONDecodeError:
                continue
            ev = doc.get("event")
            cat = ev.get("category") if isinstance(ev, dict) else None
            yield Event(cat if isinstance(cat, str) else "unknown", 0, doc)


def eql_count(text: str, path: Path, limit: int = 0) -> int:
    engine, parsed, hits = eql_engine([text])
    assert parsed[0] is not None, "eql cannot parse the rule"
    engine.stream_events(eql_events(path, limit), finalize=False)
    return len(hits)


# ------------------------------------------------------------------------------------------------
# goals
# ------------------------------------------------------------------------------------------------


def bench_seed(real: Path, scalar: Path, repeat: int) -> dict:
    import duckdb

    from eqlc.matcher import matcher

    rule = str(SEED_RULE)
    text = SEED_RULE.read_text()
    m = matcher(text)
    con = duckdb.connect()

    def in_process(**kw):
        return lambda: sum(1 for _ in m.run(m.read([str(real)], **kw)))

    runs = interleaved({
        "eqlc_cli_hyperscan": lambda: cli_count(rule, str(real), "--scan", "hyperscan"),
        "eqlc_cli_stdlib": lambda: cli_count(rule, str(real), "--scan", "stdlib"),
        "eqlc_cli_full_decode": lambda: cli_count(rule, str(real), "--no-prefilter"),
        "eqlc_hyperscan_in_process": in_process(scan="hyperscan"),
        "eqlc_stdlib_in_process": in_process(scan="stdlib"),
        "eqlc_full_decode_in_process": in_process(prefilter=False),
        "duckdb": lambda: con.execute(DUCKDB_SEED_SQL, [str(real)]).fetchone()[0],
        "eql_orjson_scalar_copy": lambda: eql_count(text, scalar),
    }, repeat)
    counts = {k: v[1] for k, v in runs.items()}
    assert len(set(counts.values())) == 1, f"contenders disagree on the number of matches: {counts}"
    reader = m.read([str(real)])
    sum(1 for _ in m.run(reader))
    t = {k: v[0] for k, v in runs.items()}
    eql = t["eql_orjson_scalar_copy"]
    return {
        "matches": counts["duckdb"], "lines": reader.lines, "decoded": reader.decoded,
        "needles": m.needles.describe(), "seconds": t,
        "x_eql": {k: eql / v for k, v in t.items()},
        "hyperscan_x_full_decode": t["eqlc_cli_full_decode"] / t["eqlc_cli_hyperscan"],
        "stdlib_x_full_decode": t["eqlc_cli_full_decode"] / t["eqlc_cli_stdlib"],
        "hyperscan_x_duckdb": t["duckdb"] / t["eqlc_cli_hyperscan"],
        "stdlib_x_duckdb": t["duckdb"] / t["eqlc_cli_stdlib"],
    }


def bench_frequent(real: Path, repeat: int) -> dict:
    from eqlc.matcher import matcher

    rule = corpus_rule(FREQUENT_RULE)
    m = matcher(rule)
    needle = next(iter(m.needles.needles))
    with open(real, "rb") as f:
        head = f.read(1 << 26)
    head = head[: head.rfind(b"\n") + 1]
    share = sum(1 for line in head.split(b"\n") if (needle.text in (line.lower() if needle.ci else line))) / head.count(b"\n")
    runs = interleaved({
        "eqlc_cli_prefilter": lambda: cli_count(rule.path, str(real)),
        "eqlc_cli_full_decode": lambda: cli_count(rule.path, str(real), "--no-prefilter"),
        "eqlc_prefilter_in_process": lambda: sum(1 for _ in m.run(m.read([str(real)]))),
        "eqlc_full_decode_in_process": lambda: sum(1 for _ in m.run(m.read([str(real)], prefilter=False))),
    }, repeat)
    counts = {k: v[1] for k, v in runs.items()}
    assert len(set(counts.values())) == 1, counts
    t = {k: v[0] for k, v in runs.items()}
    return {"rule": FREQUENT_RULE, "needles": m.needles.describe(), "needle_line_share": share,
            "matches": counts["eqlc_cli_prefilter"], "seconds": t,
            "prefilter_x_full_decode": t["eqlc_cli_full_decode"] / t["eqlc_cli_prefilter"],
            "in_process_prefilter_x_full_decode": t["eqlc_full_decode_in_process"] / t["eqlc_prefilter_in_process"]}


def bench_many(real: Path, scalar: Path, lines: int, eql_lines: int, repeat: int) -> dict:
    """All single-event corpus rules (one category field): today's MatcherSet (decode every
    line, match_all) against DispatchSet on the real file; eql against DispatchSet on the scalar
    copy, with the rules eql runs and agrees with eqlc on (per-rule match counts on those lines)."""
    from eqlc.commands.match import Reader
    from eqlc.matcher.dispatch import dispatch_set
    from eqlc.matcher.multi import matcher_set
    from tests.corpus import all_rules

    rules = [r for r in all_rules() if r.query.kind == "event" and not r.event_category_override]
    tmp = Path(tempfile.mkdtemp(prefix="eqlc-bench-"))
    part = tmp / "part.ndjson"
    spart = tmp / "scalar-part.ndjson"
    for src, dst, n in ((real, part, lines), (scalar, spart, eql_lines)):
        with open(src, "rb") as f, open(dst, "wb") as out:
            for i, line in enumerate(f):
                if i >= n:
                    break
                out.write(line)
    sample = part.read_bytes()[: 1 << 24]
    t0 = time.perf_counter()
    ms = matcher_set(rules)
    t_ms = time.perf_counter() - t0
    t0 = time.perf_counter()
    ds = dispatch_set(rules, sample=sample)
    t_ds = time.perf_counter() - t0

    def today():
        return [(i, h) for i, e in enumerate(Reader([str(part)])) for h in [ms.match_all(e)] if h]

    def dispatched():
        return [(e, h) for e, h in ds.run([str(part)])]

    runs = interleaved({"matcher_set": today, "dispatch": dispatched}, repeat)
    a, b = runs["matcher_set"][1], runs["dispatch"][1]
    assert [h for _i, h in a] == [h for _e, h in b], "dispatch differs from the MatcherSet"
    t = {k: v[0] for k, v in runs.items()}

    # -- against eql: the rules eql can run, agreeing with eqlc rule by rule on these lines ------
    events = list(eql_events(spart))
    engine, parsed, _hits = eql_engine([r.query_text for r in rules], probe=events[:2000])
    runnable = [i for i, p in enumerate(parsed) if p is not None]
    eql_per_rule = {}
    for i in runnable:
        eng, _p, hits = eql_engine([rules[i].query_text])
        eng.stream_events(events, finalize=False)
        eql_per_rule[i] = len(hits)
    ms_all = matcher_set([rules[i] for i in runnable])
    eqlc_per_rule = {i: 0 for i in runnable}
    for e in Reader([str(spart)]):
        for k in ms_all.match_all(e):
            eqlc_per_rule[runnable[k]] += 1
    agree = [i for i in runnable if eql_per_rule[i] == eqlc_per_rule[i]]
    chosen = [rules[i] for i in agree]
    engine, _parsed, hits = eql_engine([r.query_text for r in chosen])
    ds_agree = dispatch_set(chosen, sample=spart.read_bytes()[: 1 << 24])

    def eql_run():
        hits.clear()
        engine.stream_events(eql_events(spart), finalize=False)
        return len(hits)

    def eqlc_run():
        return sum(len(h) for _e, h in ds_agree.run([str(spart)]))

    vs = interleaved({"eql": eql_run, "eqlc_dispatch": eqlc_run}, max(1, min(repeat, 2)))
    assert vs["eql"][1] == vs["eqlc_dispatch"][1], {k: v[1] for k, v in vs.items()}
    te = {k: v[0] for k, v in vs.items()}
    return {
        "rules": len(rules), "lines": lines, "dispatched": len(ds.dispatched), "residual": len(ds.residual),
        "needles_scanned": len(ds.scanner.needles) if ds.scanner else 0,
        "build_seconds": {"matcher_set": t_ms, "dispatch_with_calibration": t_ds},
        "seconds": t, "events_per_s": {k: lines / v for k, v in t.items()},
        "dispatch_x_matcher_set": t["matcher_set"] / t["dispatch"], "matching_events": len(a),
        "eql": {"lines": eql_lines, "rules_eql_runs": len(runnable), "rules_agreeing": len(agree),
                "rule_hits": vs["eql"][1], "seconds": te,
                "events_per_s": {k: eql_lines / v for k, v in te.items()},
                "dispatch_x_eql": te["eql"] / te["eqlc_dispatch"]},
    }


def bench_sequence(events: int, repeat: int, memory_events: int) -> dict:
    """eqlc on the ECS stream against eql on its scalar copy (eql cannot parse the rule's IPv6
    cidrmatch blocks, which are removed from its copy of the rule; they match nothing here)."""
    from bench_matcher import bench_memory_subprocess, sequence_stream

    from eqlc.matcher import matcher

    rule = corpus_rule(SEQUENCE_RULE)
    stream = list(sequence_stream(events, 8))
    scalar = [ecs_ndjson._scalar(e) for e in stream]
    from eql.events import Event

    eql_stream = [Event(e["event"]["category"], e["@timestamp"], e) for e in scalar]
    text = rule.query_text.replace('"::1", "FE80::/10",\n      "FF00::/8", ', "")
    assert text != rule.query_text
    text = text.replace("cidrmatch(", "cidrMatch(")  # eql's engine knows the function by this name only
    m = matcher(rule)

    def eql_run():
        engine, parsed, hits = eql_engine([text])
        engine.stream_events(eql_stream, finalize=True)
        assert len(hits) % 2 == 0
        return len(hits) // 2  # the output hook receives each event of a 2-event sequence

    runs = interleaved({"eqlc": lambda: sum(1 for _ in m.run(stream)), "eql": eql_run}, max(1, min(repeat, 2)))
    assert runs["eqlc"][1] == runs["eql"][1], {k: v[1] for k, v in runs.items()}
    t = {k: v[0] for k, v in runs.items()}
    mem = bench_memory_subprocess(memory_events, 8) if memory_events else None
    return {"rule": SEQUENCE_RULE, "events": events, "sequences": runs["eqlc"][1], "seconds": t,
            "events_per_s": {k: events / v for k, v in t.items()}, "eqlc_x_eql": t["eql"] / t["eqlc"],
            "memory": mem}


def bench_startup(repeat: int, callgrind: bool) -> dict:
    empty = Path(tempfile.mkdtemp(prefix="eqlc-bench-")) / "empty.ndjson"
    empty.write_bytes(b"")
    args = ["match", str(SEED_RULE), str(empty), "--count"]
    exe = EQLC[0]
    best = float("inf")
    for _ in range(max(repeat, 5)):
        t = time.perf_counter()
        subprocess.run([exe, *args], capture_output=True, check=True)
        best = min(best, time.perf_counter() - t)
    out = {"command": f"eqlc {' '.join(args)}", "seconds": best,
           "bytecode_cache": not os.environ.get("PYTHONDONTWRITEBYTECODE")}
    if callgrind:
        cg = subprocess.run(["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null", exe, *args],
                            capture_output=True, text=True)
        line = next((x for x in cg.stderr.splitlines() if "Collected" in x), "")
        out["instructions"] = int(line.split(":")[-1].strip()) if line else None
    return out


def _valgrind_instructions(cmd: list) -> int:
    out = subprocess.run(["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null", *cmd],
                         capture_output=True, text=True, check=True)
    line = next(x for x in out.stderr.splitlines() if "Collected" in x)
    return int(line.split(":")[-1].strip())


def bench_instructions(real: Path, scalar: Path, lines: int) -> dict:
    """Load-independent: instructions executed (valgrind callgrind) by each contender of goals 1
    and 2 on the first ``lines`` lines, every one a fresh process (start-up included)."""
    tmp = Path(tempfile.mkdtemp(prefix="eqlc-bench-"))
    part, spart = tmp / "part.ndjson", tmp / "scalar-part.ndjson"
    for src, dst in ((real, part), (scalar, spart)):
        with open(src, "rb") as f, open(dst, "wb") as out:
            for i, line in enumerate(f):
                if i >= lines:
                    break
                out.write(line)
    seed, freq = str(SEED_RULE), corpus_rule(FREQUENT_RULE).path
    cmds = {
        "seed_eqlc_cli_hyperscan": [*EQLC, "match", seed, str(part), "--count", "--scan", "hyperscan"],
        "seed_eqlc_cli_stdlib": [*EQLC, "match", seed, str(part), "--count", "--scan", "stdlib"],
        "seed_eqlc_cli_full_decode": [*EQLC, "match", seed, str(part), "--count", "--no-prefilter"],
        "seed_eql_orjson_scalar_copy": [sys.executable, __file__, "--eql-count", str(spart)],
        "frequent_eqlc_cli_prefilter": [*EQLC, "match", freq, str(part), "--count"],
        "frequent_eqlc_cli_full_decode": [*EQLC, "match", freq, str(part), "--count", "--no-prefilter"],
    }
    got = {k: _valgrind_instructions(c) for k, c in cmds.items()}
    eql = got["seed_eql_orjson_scalar_copy"]
    return {"lines": lines, "instructions": got,
            "seed_x_eql": {k: eql / v for k, v in got.items() if k.startswith("seed_eqlc")},
            "seed_hyperscan_x_full_decode": got["seed_eqlc_cli_full_decode"] / got["seed_eqlc_cli_hyperscan"],
            "seed_stdlib_x_full_decode": got["seed_eqlc_cli_full_decode"] / got["seed_eqlc_cli_stdlib"],
            "frequent_prefilter_x_full_decode": got["frequent_eqlc_cli_full_decode"] / got["frequent_eqlc_cli_prefilter"]}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--lines", type=int, default=2_000_000, help="lines of the ECS file (goals 1-2)")
    ap.add_argument("--many-lines", type=int, default=100_000, help="lines for the many-rules run")
    ap.add_argument("--eql-lines", type=int, default=3_000, help="lines for eql with every rule loaded")
    ap.add_argument("--sequence-events", type=int, default=200_000)
    ap.add_argument("--memory-events", type=int, default=5_000_000)
    ap.add_argument("--seed", type=int, default=18)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--data", type=Path, default=Path(tempfile.gettempdir()) / "eqlc-bench")
    ap.add_argument("--only", default="seed,frequent,many,sequence,startup")
    ap.add_argument("--callgrind", action="store_true", help="also count start-up instructions (valgrind)")
    # "instructions" (not in the default list: minutes under valgrind) counts goals 1-2 in instructions
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--out", type=Path, help="also write the report (JSON) here after each goal")
    ap.add_argument("--callgrind-lines", type=int, default=200_000, help="lines for the instruction counts")
    ap.add_argument("--eql-count", type=Path, help=argparse.SUPPRESS)  # the eql contender, as a process
    args = ap.parse_args()
    if args.eql_count:
        print(eql_count(SEED_RULE.read_text(), args.eql_count))
        return
    only = set(args.only.split(","))
    args.data.mkdir(parents=True, exist_ok=True)
    real = ecs_ndjson.write(args.data / f"ecs-{args.lines}-{args.seed}.ndjson", args.lines, args.seed)
    scalar = ecs_ndjson.write(args.data / f"ecs-{args.lines}-{args.seed}.scalar.ndjson", args.lines, args.seed, scalar=True)
    import hyperscan  # noqa: F401 - the goals name the Hyperscan scan: fail early without it

    report: dict = {"python": sys.version.split()[0], "cpus": os.cpu_count(), "load_average_start": os.getloadavg(),
                    "file": {"lines": args.lines, "bytes": real.stat().st_size}}
    steps = {
        "seed": lambda: bench_seed(real, scalar, args.repeat),
        "frequent": lambda: bench_frequent(real, args.repeat),
        "many": lambda: bench_many(real, scalar, args.many_lines, args.eql_lines, args.repeat),
        "sequence": lambda: bench_sequence(args.sequence_events, args.repeat, args.memory_events),
        "startup": lambda: bench_startup(args.repeat, args.callgrind),
        "instructions": lambda: bench_instructions(real, scalar, args.callgrind_lines),
    }
    for name, step in steps.items():
        if name in only:
            report[name] = step()
            report["load_average_end"] = os.getloadavg()
            if args.out:  # each goal as soon as it is measured: a later failure loses nothing
                args.out.write_text(json.dumps(report, indent=2, default=str))
    if args.json:
        print(json.dumps(report, indent=2, default=str))
        return
    print_report(report)


def print_report(r: dict) -> None:
    f = r["file"]
    print(f"Python {r['python']}, {r['cpus']} CPUs, load average {r['load_average_start'][0]:.1f} -> "
          f"{r['load_average_end'][0]:.1f}; file {f['lines']:,} lines, {f['bytes'] / 1e6:.0f} MB")
    if "seed" in r:
        s = r["seed"]
        print(f"\n1. seed rule ({s['needles']}; {s['decoded']:,} of {s['lines']:,} lines decoded), "
              f"{s['matches']:,} matches in every contender:")
        for k, v in sorted(s["seconds"].items(), key=lambda kv: kv[1]):
            print(f"   {k:32s} {v:7.2f} s  {s['x_eql'][k]:6.1f}x eql")
        print(f"   Hyperscan {s['hyperscan_x_full_decode']:.1f}x / stdlib {s['stdlib_x_full_decode']:.1f}x the full-decode path; "
              f"{s['hyperscan_x_duckdb']:.1f}x / {s['stdlib_x_duckdb']:.1f}x DuckDB")
    if "frequent" in r:
        q = r["frequent"]
        print(f"\n2. {q['rule']} ({q['needles']}, in {q['needle_line_share']:.0%} of lines), {q['matches']} matches: "
              f"prefilter {q['prefilter_x_full_decode']:.2f}x the full-decode path "
              f"(in process {q['in_process_prefilter_x_full_decode']:.2f}x)")
    if "many" in r:
        m = r["many"]
        e = m["eql"]
        print(f"\n3. {m['rules']} single-event rules, {m['lines']:,} lines: MatcherSet {m['events_per_s']['matcher_set']:,.0f} ev/s, "
              f"dispatch {m['events_per_s']['dispatch']:,.0f} ev/s ({m['dispatched']} dispatched, {m['residual']} in the set) "
              f"-> {m['dispatch_x_matcher_set']:.1f}x")
        print(f"   vs eql ({e['rules_agreeing']} rules that eql runs and agrees on, of {e['rules_eql_runs']}; {e['lines']:,} scalar lines, "
              f"{e['rule_hits']} rule hits each): eql {e['events_per_s']['eql']:,.0f} ev/s, eqlc {e['events_per_s']['eqlc_dispatch']:,.0f} ev/s "
              f"-> {e['dispatch_x_eql']:.1f}x")
    if "sequence" in r:
        q = r["sequence"]
        print(f"\n4. {q['rule']}, {q['events']:,} events, {q['sequences']} sequences each: eqlc {q['events_per_s']['eqlc']:,.0f} ev/s, "
              f"eql {q['events_per_s']['eql']:,.0f} ev/s -> {q['eqlc_x_eql']:.1f}x")
        if q.get("memory"):
            mem = q["memory"]
            rss = [c["rss_mb"] for c in mem["checkpoints"]]
            print(f"   {mem['events']:,} streamed events: RSS {min(rss)}-{max(rss)} MB at ten checkpoints, {mem['events_per_s']:,.0f} ev/s")
    if "instructions" in r:
        q = r["instructions"]
        print(f"\nInstructions (valgrind callgrind, first {q['lines']:,} lines, fresh processes, start-up included):")
        for k, v in q["instructions"].items():
            print(f"   {k:32s} {v:>16,}")
        print(f"   seed: Hyperscan {q['seed_x_eql']['seed_eqlc_cli_hyperscan']:.1f}x / stdlib {q['seed_x_eql']['seed_eqlc_cli_stdlib']:.1f}x eql, "
              f"{q['seed_hyperscan_x_full_decode']:.1f}x / {q['seed_stdlib_x_full_decode']:.1f}x the full-decode path; "
              f"frequent rule: prefilter {q['frequent_prefilter_x_full_decode']:.3f}x the full-decode path")
    if "startup" in r:
        s = r["startup"]
        extra = f", {s['instructions']:,} instructions" if s.get("instructions") else ""
        print(f"\n5. start-up: `{s['command']}` {s['seconds']:.3f} s (best of 5){extra}")


if __name__ == "__main__":
    main()
