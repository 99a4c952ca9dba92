# ---- command line ------------------------------------------------------------------------------
# Embedded verbatim by eqlc.targets.python.module at the end of every standalone module (one rule
# or many); not imported on its own. It is the one place of the module's command line: it reads
# NDJSON (files, .gz, or - for stdin) as `eqlc match` does and exits with the same codes:
#   0  done (malformed lines are reported on stderr, skipped and counted)
#   2  bad input: a file that does not exist, input a sequence needs sorted that is not (use --sort)
#   74 an input that cannot be read (a directory, a truncated or corrupt .gz, an I/O error): reported
#      with the line it stopped after; the other inputs are still matched (sysexits EX_IOERR)
#   130 interrupted
# Errors are one line on stderr, never a traceback.

_REPORT_LIMIT = 20  # malformed lines reported one by one; the rest are only counted


def _read(paths, stats):
    import gzip
    import json
    import sys

    for path in paths:
        name = "<stdin>" if path == "-" else path
        try:
            f = sys.stdin.buffer if path == "-" else gzip.open(path, "rb") if path.endswith(".gz") else open(path, "rb")
        except OSError as exc:
            _unreadable(stats, "%s: error: cannot read: %s" % (name, exc.strerror or exc))
            continue
        try:
            lineno = 0
            while True:
                try:
                    line = f.readline()
                except (OSError, EOFError) as exc:  # a corrupt .gz, a directory, an I/O error
                    _unreadable(stats, "%s:%d: error: cannot read: %s" % (name, lineno + 1, getattr(exc, "strerror", None) or exc))
                    break
                if not line:
                    break
                lineno += 1
                if not line.strip():
                    continue
                try:
                    event = json.loads(line)
                except ValueError as exc:
                    _bad(stats, name, lineno, "invalid JSON: %s" % exc)
                    continue
                if not isinstance(event, dict):
                    _bad(stats, name, lineno, "not a JSON object (%s)" % type(event).__name__)
                    continue
                stats["events"] += 1
                yield event
        finally:
            if path != "-":
                f.close()


def _prefiltered(paths, stats, needles):
    """Events of the lines that hold one of the rule's literals (``NEEDLES``): the others cannot
    match, so they are scanned, not decoded (eqlc.matcher.scan, embedded above); malformed and
    unreadable input is reported as :func:`_read` reports it."""
    import json

    def on_bad(path, lineno, message, count):
        _bad(stats, "<stdin>" if path == "-" else path, lineno, message)

    def on_io_error(path, lines, exc):
        name = "<stdin>" if path == "-" else path
        _unreadable(stats, "%s:%d: error: cannot read: %s" % (name, lines + 1, getattr(exc, "strerror", None) or exc))

    reader = NdjsonReader(paths, make_scanner([needles]), json.loads, on_bad, on_io_error=on_io_error)
    for event in reader:
        stats["events"] += 1
        yield event
    stats["lines"] = reader.lines


def _unreadable(stats, message):
    import sys

    stats["unreadable"] += 1
    sys.stderr.write(message + "\n")


def _bad(stats, name, lineno, message):
    import sys

    stats["malformed"] += 1
    if stats["malformed"] <= _REPORT_LIMIT:
        sys.stderr.write("%s:%d: malformed line skipped: %s\n" % (name, lineno, message))
    elif stats["malformed"] == _REPORT_LIMIT + 1:
        sys.stderr.write("... further malformed lines are only counted\n")


def _main(argv=None):
    """Run this module's rule(s) over NDJSON events; print the matches as NDJSON on stdout and a
    summary on stderr. Returns the exit code."""
    import argparse
    import json
    import os
    import sys

    multi = "RULES" in globals()
    what = ("%d rules" % len(RULES)) if multi else repr(RULE.get("name") or "the rule")
    ap = argparse.ArgumentParser(description="Run " + what + " over NDJSON events (Elasticsearch EQL semantics).")
    ap.add_argument("events", nargs="*", default=["-"], help="NDJSON files (.gz allowed) or - for stdin (the default)")
    ap.add_argument("--count", action="store_true",
                    help="print only the number of matches" + (" of each rule" if multi else ""))
    ap.add_argument("--sort", action="store_true",
                    help="sort events by timestamp first (buffers the input; needed for unsorted input to sequences)")
    ap.add_argument("--no-prefilter", action="store_true",
                    help="decode every line (by default a one-rule module decodes only the lines holding one of its rule's literals)")
    args = ap.parse_args(argv)
    missing = [p for p in args.events if p != "-" and not os.path.exists(p)]
    if missing:
        for p in missing:
            sys.stderr.write("%s: error: no such file\n" % p)
        return 2
    stats = {"events": 0, "malformed": 0, "unreadable": 0}
    counts = {}
    n = 0
    out = sys.stdout
    try:
        needles = None if multi or args.no_prefilter else globals().get("NEEDLES")
        events = _prefiltered(args.events, stats, needles) if needles is not None else _read(args.events, stats)
        for m in run(events, sort=args.sort):
            n += 1
            if args.count:
                key = m.rule["index"] if multi else 0
                counts[key] = counts.get(key, 0) + 1
            else:
                out.write(json.dumps(_output_doc(m)) + "\n")
        if args.count:
            if multi:
                for r in RULES:
                    out.write(json.dumps({"rule": r["name"], "rule_id": r["rule_id"], "matches": counts.get(r["index"], 0)}) + "\n")
            else:
                out.write("%d\n" % n)
        out.flush()
    except EventOrderError as exc:
        sys.stderr.write("error: %s\n" % exc)
        return 2
    except KeyboardInterrupt:
        sys.stderr.write("interrupted\n")
        return 130
    except BrokenPipeError:  # the reader went away (| head): stop quietly, as eqlc match does
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 0
    summary = "%d events, %d matches" % (stats["events"], n)
    if "lines" in stats:
        summary = "%d lines scanned, %d decoded (prefilter), %d matches" % (stats["lines"], stats["events"], n)
    if stats["malformed"]:
        summary += ", %d malformed line%s skipped" % (stats["malformed"], "" if stats["malformed"] == 1 else "s")
    if stats["unreadable"]:
        summary += ", %d input%s unreadable" % (stats["unreadable"], "" if stats["unreadable"] == 1 else "s")
    sys.stderr.write(summary + "\n")
    return 74 if stats["unreadable"] else 0


if __name__ == "__main__":
    import sys as _sys

    _sys.exit(_main())
