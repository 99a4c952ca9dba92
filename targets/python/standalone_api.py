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


def _output_doc(m):
    """What the command line prints for a match: the event of a single-event rule, else
    ``{"events": [...], "keys": [...]}`` (as ``eqlc match`` does)."""
    return m.events[0] if SPEC["kind"] == "event" else {"events": m.events, "keys": m.keys}
