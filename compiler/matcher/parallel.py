"""One single-event rule over large NDJSON files in several processes (``eqlc match --jobs``).

Why processes: with the literal prefilter, what is left of ``eqlc match`` on a selective rule is
reading, Hyperscan's passes, counting lines and decoding the few candidates (scan.py). The reader
already overlaps these on two threads, but counting lines and decoding hold the GIL, so one process
cannot use more than about one and a half cores. Forked processes each take a contiguous part of
the input (cut at line starts) and run the same reader on it; the parent takes the first part and
then merges the others' results in input order.

Exactness: every process runs the same reader and matcher over whole lines, and a single-event
query without pipes judges each event alone, so the union of the parts' matches, concatenated in
input order, is the one-process output byte for byte; the parent also replays what each part
reported so that the summary and the stderr reports read as with one process: lines scanned are
the same, line numbers are shifted by the lines of the earlier parts of the same file, malformed
lines are numbered and limited globally, and a file whose reading broke in one part contributes
nothing after that point (as one process would stop reading it). One thing is work, not result,
and may differ: with the prefilter, the reader decodes a whole window when most of its first 256 KiB
are candidates (scan.py, adaptive), and parts start windows elsewhere, so the count of events
decoded and the malformed lines among non-candidate lines (reported only when decoded) may differ,
as they do between window sizes in one process; without adaptivity (or with ``--no-prefilter``)
they are equal too. tests/test_matcher_parallel.py compares the two paths.

Only where that holds: a single-event query, no pipes (``| head``/``| tail`` look across events),
Elasticsearch semantics, not ``--sort``, every input a regular file (not stdin, not ``.gz``: a
compressed stream cannot be entered in the middle) and a platform with ``fork`` (the children
inherit the compiled matcher and the scanner instead of starting and parsing again).
:func:`plan` returns None otherwise, and the caller reads in one process.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any, Callable, List, Optional

MIN_BYTES_PER_JOB = 32 << 20  # below this a part is not worth a process (fork, merge: ~ms each)
MAX_AUTO_JOBS = 8


@dataclass(frozen=True)
class Segment:
    """Bytes ``start:stop`` of ``path`` (line starts, or the file's end)."""

    path: str
    start: int
    stop: int


@dataclass
class Totals:
    """What the parts read, added up; the attributes ``eqlc match``'s summary reads from a reader."""

    scanner: Any = None
    lines: int = 0
    events: int = 0
    decoded: int = 0
    malformed: int = 0
    io_errors: int = 0
    matches: int = 0
    jobs: int = 1


@dataclass
class _Part:
    """One segment's results, sent from a child to the parent."""

    lines: int = 0
    events: int = 0
    decoded: int = 0
    malformed: int = 0
    matches: int = 0
    bad: list = field(default_factory=list)  # (line number in the segment, message), the first few
    io_error: Optional[tuple] = None  # (lines read in the segment, exception)
    out_end: int = 0  # the end of this segment's output in the child's output file
    error: Optional[BaseException] = None  # raised while matching (e.g. a regex over budget)


def auto_jobs() -> int:
    """The CPUs this process may run on (at most MAX_AUTO_JOBS)."""
    try:
        n = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        n = os.cpu_count() or 1
    return max(1, min(n, MAX_AUTO_JOBS))


def eligible(m: Any, paths: List[str], sort: bool = False) -> bool:
    """Can ``m`` over ``paths`` be split across processes with the same results (module docstring)?"""
    if not hasattr(os, "fork") or sort or m.kind != "event" or m.has_pipes or m.pruned:
        return False
    if m.dialect != "elasticsearch":
        return False
    for p in paths:
        if p == "-" or p.endswith(".gz") or not os.path.isfile(p) or not os.access(p, os.R_OK):
            return False
    return True


def plan(paths: List[str], jobs: int, min_bytes: Optional[int] = None) -> Optional[List[List[Segment]]]:
    """The inputs cut into at most ``jobs`` contiguous parts of at least ``min_bytes`` each
    (default MIN_BYTES_PER_JOB), at line starts; None when fewer than two parts would result (read
    in one process)."""
    if min_bytes is None:
        min_bytes = MIN_BYTES_PER_JOB
    sizes = [os.path.getsize(p) for p in paths]
    total = sum(sizes)
    n = min(jobs, total // max(min_bytes, 1))
    if n < 2:
        return None
    # global cut offsets, each moved to the next line start of its file
    cuts = [0]
    for k in range(1, n):
        cuts.append(_line_start(paths, sizes, total * k // n))
    cuts.append(total)
    parts = []
    for a, b in zip(cuts, cuts[1:]):
        if b > a:
            parts.append(_segments(paths, sizes, a, b))
    return parts if len(parts) >= 2 else None


def _line_start(paths: List[str], sizes: List[int], offset: int) -> int:
    """The global offset of the first line start at or after global ``offset``."""
    base = 0
    for p, size in zip(paths, sizes):
        if offset < base + size:
            local = offset - base
            if local == 0:
                return offset
            with open(p, "rb", buffering=0) as f:
                f.seek(local - 1)
                pos = local - 1
                while True:
                    block = f.read(1 << 16)
                    if not block:
                        return base + size  # the last line runs to the end of the file
                    i = block.find(b"\n")
                    if i >= 0:
                        return base + pos + i + 1
                    pos += len(block)
        base += size
    return offset


def _segments(paths: List[str], sizes: List[int], a: int, b: int) -> List[Segment]:
    """The segments of the global byte range ``a:b``."""
    out = []
    base = 0
    for p, size in zip(paths, sizes):
        lo, hi = max(a, base), min(b, base + size)
        if lo < hi or (size == 0 and a <= base < b):
            out.append(Segment(p, lo - base, hi - base))
        base += size
    return out


READER_OPTIONS: dict = {}  # attributes set on every part's reader (tests: window, adaptive)


def _run_segment(m: Any, seg: Segment, scanner: Any, on_bad: Callable, on_io_error: Callable,
                 emit: Optional[Callable]) -> tuple:
    """Match ``seg``; returns (reader, matches). ``emit(event)`` gets each match's event.
    ``scanner``: made once before the fork (a Hyperscan database is compiled once; after the fork
    each process has its own copy of the scratch space), None without the prefilter."""
    import orjson

    from .scan import NdjsonReader

    reader = NdjsonReader([seg.path], scanner, orjson.loads, on_bad, on_io_error=on_io_error, span=(seg.start, seg.stop))
    for k, v in READER_OPTIONS.items():
        setattr(reader, k, v)
    matches = 0
    for hit in m.run(reader):
        matches += 1
        if emit is not None:
            emit(hit.events[0])
    return reader, matches


def _child(m: Any, segs: List[Segment], scanner: Any, keep: int, out_fd: Optional[int],
           encode: Optional[Callable]) -> List[_Part]:
    """A child's work: its segments in order, the matches' lines written to ``out_fd``."""
    parts: List[_Part] = []
    sink = os.fdopen(out_fd, "wb", buffering=1 << 16, closefd=False) if out_fd is not None else None
    emit = None
    if sink is not None:
        write = sink.write

        def emit(event):
            write(encode(event) + b"\n")

    for seg in segs:
        part = _Part()
        parts.append(part)

        def on_bad(_path, lineno, message, n, part=part):
            if n <= keep:
                part.bad.append((lineno, message))

        def on_io_error(_path, lines, exc, part=part):
            part.io_error = (lines, _picklable(exc))

        try:
            reader, part.matches = _run_segment(m, seg, scanner, on_bad, on_io_error, emit)
        except Exception as exc:  # handed to the parent, raised there in input order
            part.error = _picklable(exc)
            reader = None
        if reader is not None:
            part.lines, part.events, part.decoded, part.malformed = reader.lines, reader.events, reader.decoded, reader.malformed
        if sink is not None:
            sink.flush()
            part.out_end = os.lseek(out_fd, 0, os.SEEK_CUR)
        if part.error is not None:
            break
    return parts


def _picklable(exc: BaseException) -> BaseException:
    import pickle

    try:
        pickle.loads(pickle.dumps(exc))
        return exc
    except Exception:
        return RuntimeError(f"{type(exc).__name__}: {exc}")


def run(m: Any, parts: List[List[Segment]], *, scan: str = "auto", prefilter: bool = True,
        on_bad: Optional[Callable] = None, on_io_error: Optional[Callable] = None,
        out: Any = None, encode: Optional[Callable] = None, keep: int = 1 << 30, scanner: Any = None) -> Totals:
    """Match ``m`` over ``parts`` (from :func:`plan`): the first in this process, the others in
    forked children. With ``out`` (a binary stream) and ``encode`` (event -> bytes), every match's
    line is written to ``out`` in input order; ``on_bad``/``on_io_error`` are called as a
    one-process reader would call them (``keep``: how many malformed-line reports per part the
    caller reads; the rest are only counted; ``scanner``: the prefilter's, made from ``scan`` when
    not given). Returns the totals. An exception raised while
    matching is raised here after the output before it was written, as with one process."""
    import pickle

    if scanner is None and prefilter:
        scanner = m.read([], prefilter=True, scan=scan).scanner  # None when the rule has no needles
    totals = Totals(jobs=len(parts), scanner=scanner)
    children = []  # (pid, stats read fd, output file or None)
    try:
        for segs in parts[1:]:
            outf = None
            if out is not None:
                import tempfile

                outf = tempfile.TemporaryFile()
            r, w = os.pipe()
            pid = os.fork()
            if pid == 0:  # the child: never returns
                code = 0
                try:
                    os.close(r)
                    res = _child(m, segs, scanner, keep, None if outf is None else outf.fileno(), encode)
                    data = pickle.dumps(res)
                    view = memoryview(data)
                    while view:
                        view = view[os.write(w, view):]
                except BaseException:  # noqa: BLE001 - a child must never return into the caller
                    code = 1
                finally:
                    os._exit(code)
            os.close(w)
            children.append((pid, r, outf, segs))

        # the first part, here, reported as it happens
        dead = set()  # files whose reading broke: one process reads nothing after that
        state = {"lines_by_file": {}, "malformed": 0}

        def account(seg: Segment, part: _Part, live: bool) -> None:
            base = state["lines_by_file"].get(seg.path, 0)
            if not live:
                for lineno, message in part.bad:
                    state["malformed"] += 1
                    if on_bad is not None:
                        on_bad(seg.path, base + lineno, message, state["malformed"])
                state["malformed"] += part.malformed - len(part.bad)
            else:
                state["malformed"] += part.malformed
            totals.lines += part.lines
            totals.events += part.events
            totals.decoded += part.decoded
            totals.malformed += part.malformed
            totals.matches += part.matches
            state["lines_by_file"][seg.path] = base + part.lines
            if part.io_error is not None:
                dead.add(seg.path)
                totals.io_errors += 1
                if not live and on_io_error is not None:
                    on_io_error(seg.path, base + part.io_error[0], part.io_error[1])

        buf: list = []

        def emit(event):
            buf.append(encode(event))
            if len(buf) >= 256:
                out.write(b"\n".join(buf) + b"\n")
                buf.clear()

        for seg in parts[0]:
            base = state["lines_by_file"].get(seg.path, 0)
            before = state["malformed"]
            part = _Part()

            def live_bad(path, lineno, message, n, base=base, before=before, part=part):
                if on_bad is not None:
                    on_bad(path, base + lineno, message, before + n)

            def live_io(path, lines, exc, base=base, part=part):
                part.io_error = (lines, exc)
                on_io_error(path, base + lines, exc)

            try:  # without on_io_error the reader raises an I/O error itself, as with one process
                reader, part.matches = _run_segment(m, seg, scanner, live_bad,
                                                    live_io if on_io_error is not None else None,
                                                    emit if out is not None else None)
            finally:
                if buf:
                    out.write(b"\n".join(buf) + b"\n")
                    buf.clear()
            part.lines, part.events, part.decoded, part.malformed = reader.lines, reader.events, reader.decoded, reader.malformed
            account(seg, part, live=True)

        # the children's parts, in order
        while children:
            pid, r, outf, segs = children[0]
            chunks = []
            while True:
                b = os.read(r, 1 << 16)
                if not b:
                    break
                chunks.append(b)
            _pid, status = os.waitpid(pid, 0)
            children.pop(0)
            os.close(r)
            try:
                if not chunks or os.waitstatus_to_exitcode(status) != 0:
                    raise RuntimeError(f"a matching process (pid {pid}) failed (exit status {status})")
                _merge(pickle.loads(b"".join(chunks)), segs, outf, out, dead, account, on_io_error)
            finally:
                if outf is not None:
                    outf.close()
    finally:
        for pid, r, outf, _segs in children:  # left only when raising: stop them
            try:
                os.kill(pid, 9)
            except OSError:
                pass
            try:
                os.waitpid(pid, 0)
            except OSError:
                pass
            os.close(r)
            if outf is not None:
                outf.close()
    return totals


def _merge(res: List[_Part], segs: List[Segment], outf: Any, out: Any, dead: set, account: Callable,
           on_io_error: Optional[Callable]) -> None:
    """A child's parts into the totals and ``out``, in order (see :func:`run`)."""
    pos = 0
    for seg, part in zip(segs, res):
        if seg.path in dead:
            pos = part.out_end  # one process stopped reading this file before this part
            if part.error is not None:
                return
            continue
        if outf is not None and part.out_end > pos:
            outf.seek(pos)
            _copy(outf, out, part.out_end - pos)
            pos = part.out_end
        if part.error is not None:
            raise part.error
        account(seg, part, live=False)
        if part.io_error is not None and on_io_error is None:
            raise part.io_error[1]


def _copy(src: Any, dst: Any, n: int) -> None:
    while n > 0:
        b = src.read(min(n, 1 << 20))
        if not b:
            break
        dst.write(b)
        n -= len(b)
