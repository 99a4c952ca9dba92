"""``eqlc match RULE EVENTS...``: run a rule over NDJSON events with the Python matcher (the
command's body; its command-line declaration is match.py, its typer-free parser match_args.py).

Events stream from files (``.gz`` too) or ``-`` (stdin), one JSON object per line; matches are
printed as NDJSON: the event for a single-event query, ``{"events": [...], "keys": [...]}`` for
sequences and samples (a missing-event placeholder ``![...]`` is null). ``--count`` prints only
the number of matches. A malformed line is reported with its file and line number and skipped,
never fatal; a summary goes to stderr. A bad rule is a located error and exit code 2.
``--jobs`` (default auto) matches a single-event rule over large regular files in several forked
processes with the same output (eqlc.matcher.parallel).
"""

from __future__ import annotations

import os
import sys
import zlib
from pathlib import Path
from typing import Iterator, List, Optional

import orjson

from ..errors import EqlError
from ..matcher.scan import NdjsonReader
from .common import EXIT_BAD_INPUT, EXIT_IO_ERROR, err, fail

_REPORT_LIMIT = 20  # malformed lines reported individually; the rest only counted


class Reader(NdjsonReader):
    """NDJSON events from files/stdin, every line decoded (the reader without a prefilter)."""

    def __init__(self, paths: List[str], on_bad=None, on_io_error=None) -> None:
        super().__init__(paths, None, orjson.loads, on_bad, on_io_error=on_io_error)


def _load_matcher(rule: str, dialect: str, mapping: Optional[Path], category: str, timestamp: str, tiebreaker: Optional[str]):
    from ..loaders import load_rules
    from ..matcher import matcher
    from ..parser import parse_query

    kwargs = dict(
        dialect=dialect,
        mapping=str(mapping) if mapping else None,
        event_category_field=category,
        timestamp_field=timestamp,
        tiebreaker_field=tiebreaker,
    )
    path = Path(rule)
    if path.exists():
        rules = load_rules(path)
        if len(rules) != 1:
            raise EqlError(f"expected one rule, found {len(rules)}", path=str(path))
        return matcher(rules[0], **kwargs)
    if " where " not in rule and not rule.lstrip().startswith(("sequence", "sample")):
        raise EqlError("no such rule file (and not an EQL query)", path=rule)
    parse_query(rule, dialect="endgame" if dialect.startswith("endgame") else "elasticsearch")
    return matcher(rule, **kwargs)


def _load_matcher_cached(rule: str, dialect: str, mapping: Optional[Path], category: str, timestamp: str,
                         tiebreaker: Optional[str], use_cache: bool):
    """:func:`_load_matcher` through eqlc's caches (unless ``use_cache`` is off or the environment
    turns them off): the compiled matcher from the compiled-matcher cache (eqlc.match_cache: no
    parser, IR or code generator imported), else the rule compiled with the parse cache on
    (eqlc.parse_cache, restored afterwards so that an in-process caller is not left with it on)
    and stored for the next start."""
    from ..cache_dir import default_dir

    directory = default_dir() if use_cache else None
    if directory is None:
        return _load_matcher(rule, dialect, mapping, category, timestamp, tiebreaker)
    from .. import match_cache

    blob = match_cache.key(rule, dialect, str(mapping) if mapping else None, category, timestamp, tiebreaker)
    if blob is not None:
        m = match_cache.load(directory, blob)
        if m is not None:
            return m
    from .. import parser
    from ..parse_cache import ParseCache

    before = parser.DISK_CACHE
    parser.DISK_CACHE = ParseCache(directory)
    try:
        m = _load_matcher(rule, dialect, mapping, category, timestamp, tiebreaker)
    finally:
        parser.DISK_CACHE = before
    if blob is not None:
        match_cache.store(directory, blob, m)
    return m


def run_match(rule: str, events: List[str], count: bool = False, sort: bool = False, dialect: str = "elasticsearch",
              mapping: Optional[Path] = None, category: str = "event.category", timestamp: str = "@timestamp",
              tiebreaker: Optional[str] = None, no_prefilter: bool = False, scan: str = "auto", jobs: str = "auto",
              no_cache: bool = False) -> None:
    """Run a rule over NDJSON events and print the matches as NDJSON."""
    from ..errors import RegexBudgetExceeded  # not from safe_regex: importing it costs start-up time
    from ..matcher import EventOrderError

    try:
        m = _load_matcher_cached(rule, dialect, mapping, category, timestamp, tiebreaker, not no_cache)
    except EqlError as e:
        fail(e)
    except ValueError as e:
        err.print(f"error: {e}", markup=False)
        raise SystemExit(2)
    missing = [p for p in events if p != "-" and not os.path.exists(p)]
    if missing:
        for p in missing:
            err.print(f"{p}: error: no such file", markup=False)
        raise SystemExit(2)

    # plain writes to stderr (not the rich console): importing rich costs start-up time
    def on_bad(path: str, lineno: int, message: str, n: int) -> None:
        if n <= _REPORT_LIMIT:
            sys.stderr.write(f"{'<stdin>' if path == '-' else path}:{lineno}: malformed line skipped: {message}\n")
        elif n == _REPORT_LIMIT + 1:
            sys.stderr.write("... further malformed lines are only counted\n")

    def on_io_error(path: str, lineno: int, exc: BaseException) -> None:
        import gzip

        name = "<stdin>" if path == "-" else path
        where = f" after line {lineno}" if lineno else ""
        reason = getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
        if isinstance(exc, (EOFError, zlib.error, gzip.BadGzipFile)):
            reason = f"truncated or corrupt gzip data ({reason})"
        kept = f"; the {lineno} line(s) before it were matched" if lineno else ""
        sys.stderr.write(f"{name}: error: cannot read{where}: {reason}{kept}\n")

    try:
        reader = m.read(events, prefilter=not no_prefilter, scan=scan, on_bad=on_bad, on_io_error=on_io_error)
    except (ValueError, ImportError) as e:
        err.print(f"error: {e}", markup=False)
        raise SystemExit(2)
    out = sys.stdout.buffer
    show_progress = sys.stdout.isatty() and "-" not in events and reader.total_bytes > 0
    try:
        parts = _parallel_parts(m, events, jobs, sort, show_progress)
    except ValueError as e:
        err.print(f"error: {e}", markup=False)
        raise SystemExit(2)
    try:
        if parts is not None:
            from ..matcher import parallel

            reader = parallel.run(m, parts, scan=scan, prefilter=not no_prefilter, on_bad=on_bad, on_io_error=on_io_error,
                                  out=None if count else out, encode=orjson.dumps, keep=_REPORT_LIMIT + 1,
                                  scanner=reader.scanner)
            matches = reader.matches
            if count:
                out.write(f"{matches}\n".encode())
            out.flush()
        else:
            matches = _run_one_process(m, reader, out, count, sort, show_progress)
    except EventOrderError as e:
        err.print(f"error: {e}", markup=False)
        raise SystemExit(2)
    except RegexBudgetExceeded as e:
        out.flush()
        err.print(f"error: {e}; the rule's regular expression cannot be run in bounded time on this input", markup=False)
        raise SystemExit(EXIT_BAD_INPUT)
    sys.stderr.write(_summary(reader, matches, m.needles, no_prefilter) + "\n")
    if reader.io_errors:
        raise SystemExit(EXIT_IO_ERROR)


def _parallel_parts(m, events: List[str], jobs: str, sort: bool, show_progress: bool):
    """The parts of the input for ``--jobs`` (eqlc.matcher.parallel), or None for one process."""
    from ..matcher import parallel

    if jobs == "auto":
        if show_progress:
            return None  # the progress bar follows one reader
        n = parallel.auto_jobs()
    else:
        try:
            n = int(jobs)
        except ValueError:
            raise ValueError(f"--jobs: expected auto or a number, not {jobs!r}") from None
        if n < 1:
            raise ValueError("--jobs: expected at least 1")
    if n < 2 or not parallel.eligible(m, events, sort):
        return None
    return parallel.plan(events, n)


def _run_one_process(m, reader: NdjsonReader, out, count: bool, sort: bool, show_progress: bool) -> int:
    """Match in this process, writing the matches (or, with ``count``, their number) to ``out``."""
    dumps = orjson.dumps
    matches = 0
    single = m.kind == "event"
    results = m.run(_with_progress(reader, show_progress), sort=sort)
    if count:
        for _ in results:
            matches += 1
    elif single:
        buf = []
        try:
            for hit in results:
                matches += 1
                buf.append(dumps(hit.events[0]))
                if len(buf) >= 256:
                    out.write(b"\n".join(buf) + b"\n")
                    buf.clear()
        finally:  # the matches before an error are printed too (and --jobs prints them alike)
            if buf:
                out.write(b"\n".join(buf) + b"\n")
    else:
        for hit in results:
            matches += 1
            out.write(dumps({"events": hit.events, "keys": hit.keys}) + b"\n")
    if count:
        out.write(f"{matches}\n".encode())
    out.flush()
    return matches


def _summary(reader: NdjsonReader, matches: int, needles, no_prefilter: bool) -> str:
    """``N events, M matches``; with the prefilter, lines scanned beside events decoded and the
    needles (or why the prefilter is off); unreadable inputs counted."""
    if reader.scanner is None:
        summary = f"{reader.events} events, {matches} matches"
    else:
        summary = f"{reader.lines} lines scanned, {reader.events} events decoded, {matches} matches"
    if reader.malformed:
        summary += f", {reader.malformed} malformed line{'s' if reader.malformed != 1 else ''} skipped"
    if reader.io_errors:
        summary += f", {reader.io_errors} input{'s' if reader.io_errors != 1 else ''} unreadable"
    if reader.scanner is not None:
        summary += f" (prefilter: {needles.describe()}; {reader.scanner.backend} scan)"
    elif not no_prefilter and not needles.usable:
        summary += f" (prefilter off: {needles.reason})"
    return summary


def _with_progress(reader: Reader, enabled: bool) -> Iterator[dict]:
    """Events, with a progress bar (bytes of the input files) on stderr when stdout is a terminal."""
    if not enabled:
        yield from reader
        return
    from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeElapsedColumn

    with Progress(TextColumn("matching"), BarColumn(), DownloadColumn(), TimeElapsedColumn(), console=err._console(), transient=True) as bar:
        task = bar.add_task("matching", total=reader.total_bytes)
        for i, event in enumerate(reader):
            yield event
            if i & 0x3FFF == 0:
                bar.update(task, completed=reader.bytes_read)
        bar.update(task, completed=reader.total_bytes)
