"""Many single-event rules over NDJSON: run each rule only on the lines that hold its needles.

Why: with hundreds of rules every line is needed by some rule, so the prefilter cannot skip
decoding, and decoding is a few percent of the time; matching is the rest (``MatcherSet`` runs
every rule of the event's category). A rule whose needles are selective (needles.py: no value of a
generic field such as ``event.type`` or ``host.os.type``, none shorter than ``min_needle`` bytes)
is *dispatched*: a scan of each window for all dispatched rules' needles at once says, per line,
which of them can match, and only those run. The other rules (no needles, or poor ones that would
flood the scan with hits) run through a ``MatcherSet`` on every line, as before.

Exactness: a dispatched rule runs on every line holding one of its needles or a trigger escape
(scan.py), which are all the lines it can match; ``match_all`` returns the same sorted rule indices
as ``MatcherSet.match_all`` over all the rules (asserted by tests/test_matcher_prefilter.py).

The scan needs Hyperscan (one pass for all needles). Without it, the standard-library scan costs
one pass per distinct needle, more than it saves with hundreds of needles, so every rule then runs
through the MatcherSet (``DispatchSet.dispatched`` is empty and ``reason`` says why).
"""

from __future__ import annotations

import math
from typing import Any, Iterable, Iterator, Optional, Union

from .. import ir
from ..rule import Rule
from .build import category_condition
from .codegen import ESCodegen, ModuleBuilder, Options
from .esmapping import load_index_mapping
from .needles import Needles, derive
from .scan import ALL, NdjsonReader, hyperscan_available, make_scanner

MIN_NEEDLE = 4  # bytes of value (quotes not counted): shorter literals are in too many lines
# a rule whose needles are in more of the lines than this runs in the MatcherSet: a scan hit
# (a Python callback, the line's group set) and the rule's own function cost about four times
# what the rule costs inside the MatcherSet, which shares field reads and the category test
MAX_SHARE = 0.2
# calibration reads this much of the sample (a few thousand lines: shares down to a tenth of a
# percent), scanning for every alternative needle of every rule, frequent ones included
CALIBRATION_BYTES = 1 << 20


class DispatchSet:
    """``match_all(event, groups)``: the indices of the rules matching ``event``, running the
    dispatched rules in ``groups`` (their positions in ``dispatched``; ALL for every one) and the
    MatcherSet of the others. ``run(paths)`` reads NDJSON and yields ``(event, indices)`` for every
    event with at least one match, in input order."""

    def __init__(self, rules: list, *, mapping: Any = None, event_category_field: str = "event.category",
                 scan: str = "auto", min_needle: int = MIN_NEEDLE, sample: Any = None) -> None:
        from ..parser import parse_query
        from .multi import matcher_set

        im = load_index_mapping(mapping)
        options = Options(mapping=im, event_category_field=event_category_field)
        queries = []
        for r in rules:
            q = r.query if isinstance(r, Rule) else r if isinstance(r, ir.Query) else parse_query(r)
            if isinstance(r, Rule) and r.event_category_override and r.event_category_override != event_category_field:
                raise ValueError("rules of one DispatchSet must share the event category field")
            if not isinstance(q.body, ir.EventQuery):
                raise ValueError("a DispatchSet holds single-event queries")
            queries.append(q)
        self.size = len(queries)
        self.needles: list[Needles] = [derive(q, options) for q in queries]
        self.reason = ""
        if scan == "stdlib" or (scan == "auto" and not hyperscan_available()):
            self.reason = "no Hyperscan: a standard-library scan of hundreds of needles costs more than it saves"
            good: list = []
        else:
            good = [i for i, n in enumerate(self.needles) if n.quality(min_needle)]
        self.chosen: dict = {i: self.needles[i].needles for i in good}
        self.share: dict = {}
        if good and sample:
            if not isinstance(sample, (bytes, bytearray)):
                with open(sample, "rb") as f:
                    sample = f.read(CALIBRATION_BYTES)
            good = self._calibrate(bytes(sample[:CALIBRATION_BYTES]), scan)
        self.dispatched: list[int] = good
        chosen = set(good)
        self.residual: list[int] = [i for i in range(self.size) if i not in chosen]
        self._set = matcher_set([queries[i] for i in self.residual], mapping=im,
                                event_category_field=event_category_field) if self.residual else None
        self._functions = self._compile([queries[i] for i in good], options)
        self.scanner = make_scanner([[(n.text, n.ci) for n in self.chosen[i]] for i in good], scan) if good else None

    def _calibrate(self, sample: bytes, scan: str) -> list:
        """Pick each rule's needle set by how many lines of ``sample`` hold it: the static cost
        (length, generic fields) cannot tell that ``"/usr/bin/`` is in every other Linux line.
        A rule whose every set is in more than MAX_SHARE of the sample's lines runs in the
        MatcherSet instead (running it there costs less than the scan hits it would bring)."""
        candidates = {i: [s for s in self.needles[i].alternatives if not any(n.generic for n in s)]
                      for i in range(self.size) if self.needles[i].usable}
        distinct = sorted({n for sets in candidates.values() for s in sets for n in s})
        end = sample.rfind(b"\n") + 1 or len(sample)
        lines = sample.count(b"\n", 0, end) or 1
        hits = make_scanner([[(n.text, n.ci)] for n in distinct], scan).scan(sample, end)
        counts = [0] * len(distinct)
        for groups in hits.values():
            if groups is not ALL:
                for g in groups:
                    counts[g] += 1
        share = {n: c / lines for n, c in zip(distinct, counts)}
        good = []
        for i, sets in sorted(candidates.items()):
            if not sets:
                continue
            # fsum: a float total independent of the frozenset's (hash-seeded) order, so ties and
            # near-ties between sets are broken the same way in every run
            best = min(sets, key=lambda s: (math.fsum(share[n] for n in s), len(s)))
            self.share[i] = math.fsum(share[n] for n in best)
            if self.share[i] <= MAX_SHARE:
                self.chosen[i] = best
                good.append(i)
        return good

    @staticmethod
    def _compile(queries: list, options: Options) -> list:
        """One generated module with a condition function per rule (field getters shared)."""
        from . import runtime as rt

        if not queries:
            return []
        m = ModuleBuilder()
        cg = ESCodegen(options, m)
        names = []
        for q in queries:
            cond = cg.prepare(category_condition(q.body, options.event_category_field))
            name, pruned = cg.condition_function(cond)
            names.append(None if pruned else name)
        ns = dict(vars(rt))
        exec(compile(m.source(), "<eqlc dispatch set>", "exec"), ns)  # noqa: S102 - generated from the IR
        return [ns[n] if n else (lambda e: False) for n in names]

    def match_all(self, event: dict, groups: Any = ALL) -> list:
        out = [self.residual[i] for i in self._set.match_all(event)] if self._set is not None else []
        functions, dispatched = self._functions, self.dispatched
        for g in (range(len(functions)) if groups is ALL else groups):
            if functions[g](event):
                out.append(dispatched[g])
        if len(out) > 1:
            out.sort()
        return out

    def reader(self, paths: Iterable[str], on_bad: Any = None) -> NdjsonReader:
        import orjson

        return NdjsonReader(paths, self.scanner, orjson.loads, on_bad)

    def run(self, source: Union[Iterable[str], NdjsonReader]) -> Iterator[tuple]:
        """``(event, rule indices)`` for every matching event of NDJSON ``source`` (paths, or a
        reader from :meth:`reader`), in input order."""
        reader = source if isinstance(source, NdjsonReader) else self.reader(source)
        match_all = self.match_all
        # with no residual rules a line without any needle cannot match: it is not even decoded
        for event, groups in reader.dispatch(skip=self._set is None):
            hits = match_all(event, groups)
            if hits:
                yield event, hits


def dispatch_set(rules: Iterable[Union[str, ir.Query, Rule]], mapping: Any = None,
                 event_category_field: str = "event.category", scan: str = "auto",
                 min_needle: int = MIN_NEEDLE, sample: Any = None) -> DispatchSet:
    """Compile single-event rules to be run together over NDJSON (see DispatchSet). ``sample``:
    NDJSON bytes like the input, or the path of an input file (its first MiB is read), to choose
    each rule's needles by how often they occur there."""
    return DispatchSet(list(rules), mapping=mapping, event_category_field=event_category_field, scan=scan,
                       min_needle=min_needle, sample=sample)
