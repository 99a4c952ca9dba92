"""The batch behind ``eqlc report``: every rule x every target, verified on generated witnesses.

Work is split by rule file across processes (``concurrent.futures.ProcessPoolExecutor``); each
worker loads its files, generates witnesses once per rule and runs every target on them. Any
failure (a file that does not parse, a generator or engine crash) becomes a row with the error,
so one bad rule never stops the batch. Rows are plain dicts (they cross process boundaries and
go straight into JSON).
"""

from __future__ import annotations

import os
import signal
import threading
import time
import traceback
import multiprocessing
from concurrent.futures import ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path
from typing import Any, Callable, Iterable, Optional, Sequence

from ..fixtures.oracle import Oracle
from ..fixtures.witness import generate, reason_kind
from ..loaders import load_file_batch
from ..printer import to_eql
from ..result import describe_exception, redact_install_paths
from ..rule import Rule
from ..target import EVENT_ID_FIELD, TargetSpec
from ..verify import verify_rule

EVIDENCE_EVENTS = 3  # disagreeing events kept per rule x target, as minimal reproductions
DEFAULT_RULE_TIMEOUT = 600.0  # seconds; the corpus's slowest rule takes about 110 s on a loaded 2-core machine


class RuleTimeout(BaseException):
    """A rule ran past ``--rule-timeout``. A BaseException, so the ``except Exception`` that turns
    one engine's failure into an ``error`` verdict does not swallow it: the whole rule stops."""


class _Deadline:
    """``seconds`` of wall time for the block (main thread, ITIMER_REAL; any timer already armed,
    such as eqlc.safe_regex's, is restored with what it has left). Python-level work is
    interrupted at the next bytecode; a C extension is interrupted when it returns."""

    def __init__(self, seconds: Optional[float]) -> None:
        self.seconds = seconds
        self.active = bool(seconds) and seconds > 0 and threading.current_thread() is threading.main_thread()

    def _fire(self, signum: int, frame: Any) -> None:
        if self.armed:
            self.armed = False
            raise RuleTimeout(f"timed out after {self.seconds:g} s (--rule-timeout)")

    def __enter__(self) -> "_Deadline":
        self.armed = False
        if self.active:
            self.old = signal.signal(signal.SIGALRM, self._fire)
            self.armed = True
            signal.setitimer(signal.ITIMER_REAL, self.seconds)
        return self

    def __exit__(self, *exc: Any) -> None:
        if self.active:
            self.armed = False
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, self.old)


def _threat(rule: Rule) -> list[str]:
    return rule.technique_ids()


def report_rule(rule: Rule, specs: Sequence[TargetSpec], oracle: Oracle) -> dict:
    """One rule's row: metadata, witness coverage and every target's verdict."""
    start = time.perf_counter()
    row: dict[str, Any] = {
        "rule": rule.path,
        "name": rule.name,
        "rule_id": rule.stable_id,
        "kind": rule.query.kind,
        "severity": rule.severity,
        "techniques": _threat(rule),
        "query": rule.query_text.strip() or to_eql(rule.query),
        "error": None,
        "targets": [],
    }
    try:
        ws = generate(rule, oracle)
    except Exception as exc:
        row["error"] = f"witness generation failed: {describe_exception(exc)}"
        row["error_kind"] = "internal"
        row["seconds"] = round(time.perf_counter() - start, 3)
        return row
    summary = ws.summary()
    row["witnesses"] = {
        "events": summary["events"],
        "selected": summary["selected"],
        "atoms": summary["atoms"],
        "mcdc_unique": summary["mcdc_unique"],
        "mcdc_masking": summary["mcdc_masking"],
        "uncovered": [dict(u, kind=reason_kind(u.get("reason"))) for u in summary["uncovered"]],
        "scenarios": len(summary["scenarios"]),
    }
    v = verify_rule(rule, specs, oracle=oracle, witnesses=ws, generated_only=True)
    by_id = {e[EVENT_ID_FIELD]: e for e in v.events}
    reference = set(v.reference)
    for run in v.runs:
        result = run.as_result(rule)
        result["output"] = run.translation.output
        result["seconds"] = round(run.seconds, 3)
        result["evidence"] = [
            {"event": by_id[i], "matcher": i in reference, "target": i in set(run.selected or [])}
            for i in run.disagreements[:EVIDENCE_EVENTS]
        ]
        row["targets"].append(result)
    row["seconds"] = round(time.perf_counter() - start, 3)
    return row


def _error_row(path: str, message: str, kind: str = "internal") -> dict:
    """A rule (or file) that produced no verdicts: ``error_kind`` is ``bad_input`` (it does not
    load), ``timeout`` (it ran past ``--rule-timeout``) or ``internal`` (eqlc failed on it)."""
    return {"rule": path, "name": Path(path).stem, "rule_id": None, "kind": None, "severity": None, "techniques": [],
            "query": "", "error": message, "error_kind": kind, "targets": [], "seconds": 0.0}


def report_file(path: str, target_names: Sequence[str], registry: Optional[dict[str, str]] = None,
                rule_timeout: Optional[float] = DEFAULT_RULE_TIMEOUT) -> list[dict]:
    """Rows for every rule in one file (run in a worker process); a rule running past
    ``rule_timeout`` seconds becomes an error row and the next rule runs."""
    if registry:
        from ..target import REGISTRY

        REGISTRY.update(registry)
    specs = [TargetSpec.parse(n) for n in target_names]
    rules, errors = load_file_batch(Path(path))
    rows = [_error_row(path, exc.render(), "internal" if exc.message.startswith("internal error") else "bad_input")
            for exc in errors]
    if not rules:
        return rows
    oracle = _worker_oracle()
    for rule in rules:
        try:
            with _Deadline(rule_timeout):
                rows.append(report_rule(rule, specs, oracle))
        except RuleTimeout as exc:
            rows.append(_error_row(rule.path or path, str(exc), "timeout") | {"name": rule.name, "timeout": True})
        except Exception as exc:  # noqa: BLE001 - one rule's failure is one row
            rows.append(_error_row(rule.path or path, f"{describe_exception(exc)}\n{redact_install_paths(traceback.format_exc(limit=3))}"))
    return rows


_ORACLE: list = []


def _worker_oracle() -> Oracle:
    if not _ORACLE:
        _ORACLE.append(Oracle())
    return _ORACLE[0]


def run_batch(
    files: Sequence[Path],
    target_names: Sequence[str],
    jobs: int = 1,
    on_done: Optional[Callable[[int], None]] = None,
    registry: Optional[dict[str, str]] = None,
    rule_timeout: Optional[float] = DEFAULT_RULE_TIMEOUT,
) -> list[dict]:
    """Rows for every rule in ``files``, in file order, using ``jobs`` processes.

    ``registry`` adds targets (name -> "module:attribute") in every worker, for targets that are
    not in :data:`eqlc.target.REGISTRY` (plug-ins, test doubles)."""
    paths = [str(f) for f in files]
    results: dict[str, list[dict]] = {}
    if jobs <= 1:
        for p in paths:
            results[p] = report_file(p, target_names, registry, rule_timeout)
            if on_done:
                on_done(len(results[p]))
    else:
        # "spawn", not fork: a forked child inherits the parent's open duckdb connections and
        # engine threads (the KQL adapter caches them) and crashes when it uses them.
        # A worker that dies anyway (an engine crashing the interpreter) breaks the whole pool and
        # fails every pending file with it: those files are retried in a fresh pool, and files
        # still failing then run alone, one pool each, so only the file that kills its worker
        # is lost.
        context = multiprocessing.get_context("spawn")
        pending = list(paths)
        for isolated in (False, False, True):
            if not pending:
                break
            failed: list[str] = []
            for group in ([[p] for p in pending] if isolated else [pending]):
                with ProcessPoolExecutor(max_workers=1 if isolated else jobs, mp_context=context,
                                         initializer=_worker_init, initargs=(os.getpid(),)) as pool:
                    futures = {pool.submit(report_file, p, list(target_names), registry, rule_timeout): p for p in group}
                    for fut in as_completed(futures):
                        p = futures[fut]
                        try:
                            results[p] = fut.result()
                        except BrokenProcessPool as exc:
                            if not isolated:
                                failed.append(p)
                                continue
                            results[p] = [_error_row(p, f"worker process died while verifying this file: {exc}")]
                        except Exception as exc:  # noqa: BLE001 - reported, never raised
                            results[p] = [_error_row(p, f"worker failed: {type(exc).__name__}: {exc}")]
                        if on_done:
                            on_done(len(results[p]))
            pending = failed
    return [row for p in paths for row in results[p]]


def _worker_init(parent: int) -> None:
    """Workers die with the parent: the kernel sends SIGKILL when the parent exits
    (``prctl(PR_SET_PDEATHSIG)``, Linux), and a watchdog thread exits the worker as soon as it is
    re-parented (any POSIX system), so a killed ``eqlc report`` leaves no worker verifying on."""
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGKILL, 0, 0, 0)  # PR_SET_PDEATHSIG = 1
    except (OSError, AttributeError):
        pass

    def watch() -> None:
        while True:
            if os.getppid() != parent:
                os._exit(1)
            time.sleep(0.5)

    threading.Thread(target=watch, name="eqlc-parent-watch", daemon=True).start()


def default_jobs() -> int:
    return max(1, min(8, os.cpu_count() or 1))


def flat_results(rows: Iterable[dict]) -> list[dict]:
    """The ``{"results": [...]}`` rows: one per rule x target (no outputs or evidence)."""
    out = []
    for row in rows:
        for t in row["targets"]:
            out.append({k: v for k, v in t.items() if k not in ("output", "evidence", "notes")} | {"notes": t.get("notes", [])})
    return out
