"""Assemble a standalone module: compiler/events.py + compiler/matcher/runtime.py + the code the
matcher generates for the rule + a small API (``match``, ``run``, ``Match``) and a command line.

Nothing is re-implemented here: the runtime and the event-field reader are embedded from their
source files (the runtime's one eqlc import is replaced by the embedded reader), so the
standalone module and ``eqlc.matcher`` cannot drift apart. Regular expressions use ``re2``
when it is importable and otherwise the runtime's linear-time lazy DFA (never Python's
backtracking ``re``); a regex on a computed value (Elasticsearch evaluates those as Java regexes
in Painless) has no DFA form, so such rules are refused.
"""

from __future__ import annotations

import ast
import functools
import inspect
import pprint
from typing import Optional

import eqlc.events as _events
from eqlc.matcher import runtime as _runtime
from eqlc.matcher import scan as _scan
from eqlc.matcher.build import Generated

_IMPORT_LINE = "from eqlc.events import values as _es_values  # @standalone-inline compiler/events.py"

API = '''

# ---- API ---------------------------------------------------------------------------------------

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


def _main(argv=None):
    import argparse
    import json
    import sys

    ap = argparse.ArgumentParser(description="Run " + repr(RULE.get("name") or "the rule") + " over NDJSON events.")
    ap.add_argument("events", nargs="*", default=["-"], help="NDJSON files (.gz allowed) or - for stdin")
    ap.add_argument("--count", action="store_true", help="print only the number of matches")
    ap.add_argument("--sort", action="store_true", help="sort events by timestamp first")
    ap.add_argument("--no-prefilter", action="store_true",
                    help="decode and validate every line (by default only lines holding one of the rule's literals are)")
    args = ap.parse_args(argv)
    reader = read(args.events, prefilter=not args.no_prefilter)
    reader.on_bad = lambda path, lineno, msg, n: sys.stderr.write("%s:%d: malformed line skipped: %s\\n" % (path, lineno, msg))

    n = 0
    for m in run(reader, sort=args.sort):
        n += 1
        if not args.count:
            doc = m.events[0] if SPEC["kind"] == "event" else {"events": m.events, "keys": m.keys}
            sys.stdout.write(json.dumps(doc) + "\\n")
    if args.count:
        sys.stdout.write("%d\\n" % n)


if __name__ == "__main__":
    _main()
'''


def _strip_future(text: str) -> str:
    return "\n".join(line for line in text.splitlines() if line.strip() != "from __future__ import annotations")


@functools.lru_cache(maxsize=1)
def runtime_text() -> str:
    """compiler/events.py, compiler/matcher/runtime.py and compiler/matcher/scan.py (the NDJSON
    reader with the literal prefilter), ready to be embedded."""
    events_src = _strip_future(inspect.getsource(_events))
    runtime_src = _strip_future(inspect.getsource(_runtime))
    scan_src = _strip_future(inspect.getsource(_scan))
    if _IMPORT_LINE not in runtime_src:
        raise RuntimeError("compiler/matcher/runtime.py no longer has its standalone import marker")
    runtime_src = runtime_src.replace(_IMPORT_LINE, "_es_values = values  # embedded compiler/events.py above")
    return (
        "# ==== compiler/events.py (embedded) " + "=" * 58 + "\n" + events_src + "\n\n"
        "# ==== compiler/matcher/runtime.py (embedded) " + "=" * 48 + "\n" + runtime_src + "\n\n"
        "# ==== compiler/matcher/scan.py (embedded) " + "=" * 51 + "\n" + scan_src + "\n"
    )


def module_text(generated: Generated, rule_meta: dict, header: str, needles: Optional[list] = None) -> str:
    """``needles``: the rule's prefilter literals as ``(bytes, case_insensitive)`` pairs
    (eqlc.matcher.needles), or None when every line must be decoded."""
    filter_source = generated.filter_source() if generated.filter_source is not None else ""
    return (
        docstring_literal(header) + "\n\nfrom __future__ import annotations\n\n"
        + runtime_text()
        + "\n# ==== generated for this rule " + "=" * 63 + "\n"
        + generated.source
        + "\n" + filter_source
        + f"\nRULE = {pprint.pformat(rule_meta, sort_dicts=True)}\n"
        + f"NEEDLES = {pprint.pformat(sorted(needles) if needles is not None else None)}\n"
        + API
    )


def docstring_literal(text: str) -> str:
    """A Python string literal whose value is exactly ``text``, for the module docstring.

    The header quotes the rule's query, which may hold backslashes (``"*\\u{202E}*"``, Windows
    paths), quotes or control characters; hand-escaping them into a ``\"\"\"...\"\"\"`` literal
    broke the module (``\\u{`` is a truncated unicode escape). A raw triple-quoted literal keeps
    the docstring readable when it round-trips; otherwise ``repr`` is exact by construction.
    Either way the result is checked with ``ast.literal_eval``."""
    if not all(c.isprintable() or c == "\n" for c in text):
        return repr(text)  # control/format characters (\r, U+202E) stay visible and survive newline translation
    for quote in ('"""', "'''"):
        candidate = "r" + quote + text + quote
        try:
            if ast.literal_eval(candidate) == text:
                return candidate
        except (SyntaxError, ValueError):
            pass
    return repr(text)


def header_for(rule_name: str, rule_id: Optional[str], query_text: str, notes: list) -> str:
    lines = [
        f"Standalone matcher for the EQL rule {rule_name!r}" + (f" ({rule_id})" if rule_id else "") + ".",
        "",
        "Generated by eqlc (--target python). Standard library only: Elasticsearch EQL semantics",
        "(case rules, missing fields and `not`, multi-valued fields, wildcards, Lucene regexes,",
        "sequences, samples) as the eqlc matcher implements them. Uses re2 if importable, else a",
        "linear-time automaton for regexes.",
        "",
        "    import rule_module",
        "    rule_module.match(event)            # single-event rules",
        "    for m in rule_module.run(events):   # any rule: m.events, m.keys",
        "",
        "    python rule_module.py events.ndjson [--count] [--no-prefilter]",
        "",
        "Query:",
        "",
    ]
    lines += ["    " + x for x in query_text.strip().splitlines()]
    for n in notes:
        lines += ["", "Note: " + n]
    return "\n".join(lines) + "\n"
