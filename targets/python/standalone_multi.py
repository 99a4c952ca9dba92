# ---- API (many rules, one runtime) -------------------------------------------------------------
# Embedded verbatim by eqlc.targets.python.module after the runtime and every rule's generated code
# (RULES); not imported on its own.


class RuleMatch(Match):
    """A match of one rule of this module: ``.rule`` (its RULES entry: name, rule_id, query, kind),
    ``.events`` and ``.keys`` as for a single rule."""

    __slots__ = ("rule",)

    def __init__(self, rule, events, keys=()):
        Match.__init__(self, events, keys)
        self.rule = rule

    def __repr__(self):
        return "RuleMatch(rule=%r, events=%r, keys=%r)" % (self.rule["name"], self.events, self.keys)


def match_all(event):
    """The indices (into RULES) of the single-event rules ``event`` satisfies."""
    return [i for i, r in enumerate(RULES)
            if r["kind"] == "event" and not r["spec"].get("pruned") and r["spec"]["terms"][0]["cond"](event)]


_CHUNK = 2048  # events handed to every rule at a time


class _Lane(object):
    """One rule's engine (``_run_query``: sequences, samples, sorted or piped queries) run as a
    coroutine in its own thread. The engines pull their events; a Python generator cannot pause a
    pull in the middle of a stream, a thread blocked on its next chunk can. The thread only runs
    while the caller waits for its answer, so rules run one at a time, in order, each reading the
    same stream once, in flat memory (a sorted run buffers, as a single rule's does)."""

    def __init__(self, index, kwargs):
        import queue
        import threading

        self.index = index
        self.rule = RULES[index]
        self.inbox = queue.Queue()
        self.outbox = queue.Queue()
        self.found = []
        self.done = False
        self.thread = threading.Thread(target=self._work, args=(kwargs,), name="eqlc rule %d" % index)
        self.thread.daemon = True
        self.thread.start()

    def _source(self):
        while True:
            chunk = self.inbox.get()
            if chunk is None:
                return
            if chunk is _ABORT:
                raise _Aborted()
            for e in chunk:
                yield e
            self.outbox.put((self.found, False))  # every event of the chunk is read: its matches
            self.found = []

    def _work(self, kwargs):
        try:
            for m in _run_query(self.rule["spec"], self._source(), **kwargs):
                self.found.append(RuleMatch(self.rule, m.events, m.keys))
        except _Aborted:
            return
        except BaseException as exc:  # noqa: B036 - handed to the caller, raised there
            self.outbox.put((exc, True))
            return
        self.outbox.put((self.found, True))

    def feed(self, chunk):
        """The matches found while reading ``chunk`` (None: the end of the input)."""
        if self.done:
            return []
        self.inbox.put(chunk)
        found, self.done = self.outbox.get()
        if isinstance(found, BaseException):
            self.done = True
            raise found
        return found

    def abort(self):
        if not self.done:
            self.done = True
            self.inbox.put(_ABORT)


class _Aborted(Exception):
    pass


_ABORT = object()


def run(events, sort=False, size=None, result_position="tail", max_samples_per_key=1):
    """Stream RuleMatch objects (``.rule``, ``.events``, ``.keys``) for every rule of this module
    over one iterable of event dicts, read once. Single-event rules are tested event by event;
    the other rules (and every rule when ``sort``, ``size`` or a pipe needs it) run in lanes (see
    _Lane). Order: the input is taken in chunks; within a chunk, single-event matches come first in
    event order, then each other rule's matches in RULES order."""
    kwargs = {"sort": sort, "size": size, "result_position": result_position, "max_samples_per_key": max_samples_per_key}
    direct = []
    lanes = []
    for i, r in enumerate(RULES):
        spec = r["spec"]
        if spec.get("pruned"):
            continue
        if r["kind"] == "event" and not sort and size is None and not spec.get("pipes"):
            direct.append((r, spec["terms"][0]["cond"]))
        else:
            lanes.append(_Lane(i, kwargs))
    return _run_all(iter(events), direct, lanes)


def _run_all(events, direct, lanes):
    try:
        while True:
            chunk = []
            for e in events:
                chunk.append(e)
                if len(chunk) >= _CHUNK:
                    break
            for e in chunk:
                for r, cond in direct:
                    if cond(e):
                        yield RuleMatch(r, [e])
            if lanes:
                for lane in lanes:
                    for m in lane.feed(chunk if chunk else None):
                        yield m
            if not chunk:
                return
    finally:
        for lane in lanes:
            lane.abort()


def _output_doc(m):
    """What the command line prints for a match: the rule and the match."""
    return {"rule": m.rule["name"], "rule_id": m.rule["rule_id"], "events": m.events, "keys": m.keys}
