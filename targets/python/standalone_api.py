# ---- API (single rule) -------------------------------------------------------------------------
# Embedded verbatim by eqlc.targets.python.module after the runtime and the rule's generated code
# (SPEC, RULE); not imported on its own.


def match(event):
    """Does ``event`` (a dict) satisfy this single-event rule?"""
    if SPEC["kind"] != "event":
        raise TypeError("match() is for single-event rules; use run()")
    if SPEC.get("pruned"):
        return False
    return bool(SPEC["terms"][0]["cond"](event))


def run(events, sort=False, size=None, result_position="tail", max_samples_per_key=1):
    """Stream Match objects (``.events``, ``.keys``) over an iterable of event dicts."""
    return _run_query(SPEC, events, sort=sort, size=size, result_position=result_position,
                      max_samples_per_key=max_samples_per_key)


def read(paths, prefilter=True):
    """An NDJSON reader of ``paths`` (``.gz``, ``-`` for stdin) to pass to ``run``: with
    ``prefilter``, only the lines holding one of NEEDLES (the rule's literals) are decoded; the
    matches are the same (Hyperscan is used when importable, else the standard library)."""
    import json

    scanner = make_scanner([NEEDLES]) if prefilter and NEEDLES is not None else None
    return NdjsonReader(paths, scanner, json.loads)


def _output_doc(m):
    """What the command line prints for a match: the event of a single-event rule, else
    ``{"events": [...], "keys": [...]}`` (as ``eqlc match`` does)."""
    return m.events[0] if SPEC["kind"] == "event" else {"events": m.events, "keys": m.keys}
