"""Running an emitted sequence query offline: its legs on duckdb-kql, its ``scan`` by a model of
Kusto's documented scan logic.

duckdb-kql (the offline engine) cannot run ``partition`` or ``scan`` (tests/data/kql/
engine_limits.yaml), which every sequence query uses. Everything before them (each term's table,
condition, join key: the ``let __legN`` statements, where every mapping and assumption of the
translation lives) it can run, so the fixture adapter runs ``union __leg1, ...`` on duckdb-kql and
feeds the rows to :func:`run_scan`, which follows the matching logic of Microsoft's scan operator
reference (MicrosoftDocs/dataexplorer-docs, data-explorer/kusto/query/scan-operator.md, "Matching
logic": each record is evaluated against the steps from the last to the first; Check 1 promotes
the previous step's state when the record meets the step's condition, Check 2 restarts the first
step, or repeats a step with an active sequence) for the steps :func:`eqlc.targets.kql.query.
sequence_query` emits. It is a model of Kusto, written from that reference and not from EQL's
semantics (the reference matcher judges the result), so a wrong scan emission shows up as a
disagreement. For a sequence with an ``until`` or a trailing missing-event term, the rows the scan
accepted (:func:`scan_rows`) go back to duckdb-kql, which runs the query's own joins after the scan
(the ``__cut`` window; adapter._run_after_scan).

Rows whose ``Timestamp`` and stage are equal are taken in the order of the events given (Kusto's
``sort`` leaves their order open; the translation states that equal timestamps are ordered by
stage only).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any, Optional


@dataclass(frozen=True)
class SequencePlan:
    """What a sequence query's ``scan`` does, recorded by the emitter beside the query text:
    the ``let`` statements of its legs, the stage each step accepts (a term with ``runs=N`` gives
    N steps), and the maxspan in milliseconds (None: no time limit)."""

    lets: tuple[str, ...]
    legs: tuple[str, ...]
    stages: tuple[int, ...]
    maxspan_ms: Optional[int]
    until: Optional[str] = None  # the ``let`` of the until term's rows (stage 0), if any
    # the ``let``s of a trailing missing-event term's rows (query.trailing_missing_only), whose
    # __stage is ``missing_stage`` (the term's position)
    missing: tuple[str, ...] = ()
    missing_stage: Optional[int] = None

    def rows_query(self, timestamp: str, id_column: str) -> str:
        """The part of the query duckdb-kql runs: every leg's rows with their stage and key (the
        until term's rows too, as stage 0; a missing-event term's as its own stage)."""
        legs = self.legs + ((self.until,) if self.until else ()) + self.missing
        return "\n".join(self.lets) + f"\nunion {', '.join(legs)}\n| project {id_column}, {timestamp}, __stage, __key"


def run_scan(plan: SequencePlan, rows: list[tuple[str, Any, int, str]], order: dict[str, int]) -> list[str]:
    """The ids the sequence query returns for ``rows`` (id, timestamp, stage, key), in its output
    order (timestamp ascending), distinct."""
    return _scan(plan, rows, order)[0]


def scan_rows(plan: SequencePlan, rows: list[tuple[str, Any, int, str]], order: dict[str, int]) -> list[tuple[str, Any, str, int, int]]:
    """What the query's ``let __rows`` holds for ``rows``: every row a scan step accepted, as (id,
    timestamp, key, match id, step), before any match is filtered (completed or not). The rest of
    the query (the joins after the scan) can then run on duckdb-kql over these rows
    (adapter._run_sequence does for a missing-event term)."""
    return _scan(plan, rows, order)[1]


def _scan(plan: SequencePlan, rows: list[tuple[str, Any, int, str]], order: dict[str, int]) -> tuple[list[str], list[tuple[str, Any, str, int, int]]]:
    accepted: list[tuple[str, Any, str, int, int]] = []
    # an until row tied (same key, same timestamp) with another event's step row: both events are
    # outside the translation's stated assumption (adapter.until_ties reports them): not in the data
    untils: dict[tuple, set] = {}
    for r in rows:
        if r[2] == 0:
            untils.setdefault((r[3], r[1]), set()).add(r[0])
    tied = {x for r in rows if r[2] != 0 for u in untils.get((r[3], r[1]), ()) if u != r[0] for x in (r[0], u)}
    rows = [r for r in rows if r[0] not in tied]
    by_key: dict[str, list[tuple[str, Any, int, str]]] = {}
    until: dict[str, list[Any]] = {}
    absent: dict[str, list[Any]] = {}  # a trailing missing-event term's timestamps, per key
    for r in rows:
        if r[2] == 0:  # an until row: it drops the completed matches of its key it falls in
            until.setdefault(r[3], []).append(r[1])
            continue
        if plan.missing_stage is not None and r[2] == plan.missing_stage:
            absent.setdefault(r[3], []).append(r[1])
            continue
        by_key.setdefault(r[3], []).append(r)
    n = len(plan.stages)
    span = dt.timedelta(milliseconds=plan.maxspan_ms) if plan.maxspan_ms is not None else None
    selected: list[tuple[Any, int, str]] = []
    for key, part in by_key.items():
        # sort by Timestamp asc (nulls first, Kusto's default for asc), __stage desc
        part.sort(key=lambda r: (r[1] is not None, r[1] or dt.datetime.min, -r[2], order.get(r[0], 0)))
        state: list[Optional[list]] = [None] * (n + 1)  # state[j]: the records s1..sj of step j's sequence
        match_of: list[int] = [0] * (n + 1)
        next_match = 0
        out: list[tuple[tuple, int, int]] = []  # (row, match id, step)
        for r in part:
            for j in range(n, 0, -1):
                if plan.stages[j - 1] != r[2]:
                    continue
                if j > 1:
                    prev = state[j - 1]
                    # Check 1: the previous step has a sequence and r meets step j's condition in
                    # its context (s_j is null there, so `isnull(s_j.Timestamp)` holds)
                    if prev is not None and _within(span, prev[0][1], r[1]):
                        state[j] = prev + [r]
                        match_of[j] = match_of[j - 1]
                        state[j - 1] = None
                        out.append((r, match_of[j], j))
                    # Check 2 of a later step: its condition reads isnull(s_j.Timestamp), false in
                    # the context of step j's own state (s_j is set there): never matches
                    continue
                # Check 2 of the first step: a new sequence begins (match id + 1)
                state[1] = [r]
                match_of[1] = next_match
                next_match += 1
                out.append((r, match_of[1], 1))
        accepted.extend((r[0], r[1], key, m, step) for r, m, step in out)
        done = {m for _r, m, step in out if step == n}
        if until.get(key):
            # the query's __cut: an until event of the key in [first event, last event) drops the match
            begin = {m: r[1] for r, m, step in out if step == 1}
            end = {m: r[1] for r, m, step in out if step == n}
            done = {m for m in done if not any(u is not None and begin[m] is not None and end[m] is not None
                                               and begin[m] <= u < end[m] for u in until[key])}
        if absent.get(key) and span is not None:
            # the query's __cut for a trailing missing-event term: an event of it with the key in
            # (last event, first event + maxspan] drops the match (null timestamps compare false)
            begin = {m: r[1] for r, m, step in out if step == 1}
            end = {m: r[1] for r, m, step in out if step == n}
            done = {m for m in done if not any(u is not None and begin[m] is not None and end[m] is not None
                                               and end[m] < u <= begin[m] + span for u in absent[key])}
        selected.extend((r[1], order.get(r[0], 0), r[0]) for r, m, _step in out if m in done)
    selected.sort(key=lambda x: (x[0] is not None, x[0] or dt.datetime.min, x[1]))
    ids: list[str] = []
    for _ts, _o, rid in selected:
        if rid not in ids:
            ids.append(rid)
    return ids, accepted


def _within(span: Optional[dt.timedelta], first: Any, ts: Any) -> bool:
    """``Timestamp - s1.Timestamp <= span`` (no span: always true; a null timestamp: false)."""
    if span is None:
        return True
    if first is None or ts is None:
        return False
    return ts - first <= span
