"""Reading NDJSON in large windows, and finding the lines that may hold a rule's needles.
STANDARD LIBRARY ONLY (Hyperscan is used when importable and asked for).

This file is embedded verbatim in the standalone module of the ``python`` target (after the
runtime), so it must not import anything from eqlc; needles arrive as ``(bytes, case_insensitive)``
pairs, derived by needles.py.

Why windows: a per-line test costs a Python loop iteration plus a substring search per line (the
probe measured a cap near 1M lines/s with one needle). Searching a 4 MiB window with one C call per
needle (``bytes.find``) or one Hyperscan pass for all needles removes the per-line Python work from
the lines that hold no needle, which are most lines for a selective rule. Only candidate lines are
sliced out and decoded.

Exactness (see needles.py): a needle is canonical JSON text. A line holding a real ``\\u`` escape
(a backslash preceded by an even number of backslashes, then ``u``) is always a candidate; so is a
line holding a real ``\\/`` when a needle has a ``/``. Case-insensitive needles are searched in the
ASCII-lowered window (``bytes.lower`` folds ASCII only, as the matcher does) or with Hyperscan's
CASELESS flag (ASCII only too). Both backends return the same candidate lines; tests assert it.

Two cores (``read_ahead``; regular and ``.gz`` files, not stdin): a helper thread reads the next
window and finds its trigger lines, while the main thread scans the needles, counts the window's
lines and decodes its candidates. Reading, ``hs_scan`` (the binding releases the GIL) and memmem (a
ctypes call) run without the GIL, so the two threads overlap; the results are the same as with
one thread (tests compare). Why the helper scans no needles (perf6.md): every hit is a Python
callback, which takes the GIL back; a thread that needs the GIL while the other holds it (counting
lines, decoding) waits until the other lets it go, so a helper scanning needles (a frequent
needle's hits, or a selective one's ~80 per 4 MiB window on the benchmark) ran in step with the
main thread instead of beside it: the main thread waited ~0.15 s per 614 MB for it. The trigger
escapes are rare in real logs, so the helper's scan seldom calls back. Measured and not taken
(perf3.md, perf6.md): one Hyperscan database for the needles and the triggers is slower than two
single-literal passes (the multi-literal engine runs at half the single-literal one's speed);
counting lines with ``bytes.count`` (a byte loop) or ``bytes.replace`` is slower than
``BytesIO.readlines`` (memchr per line), which stays the one full pass the main thread makes
over every window.

When most lines are candidates anyway (a rule whose best literal is in most lines), scanning costs
more than it saves: when the first 256 KiB of a window show a candidate share above ``ADAPT_SHARE``,
the reader decodes that window whole and every line of the next ``ADAPT_SKIP`` windows (doubling
while the data stays so), then scans again. Results never change; only the work.
"""

import io as _io
import json as _json
import sys as _sys
from collections import deque as _deque
from itertools import count as _count

# bytes per read: large enough that per-window costs vanish (150 windows per 614 MB), small enough
# that the allocator reuses the freed windows' memory: with 16 MiB windows the reads' memory came
# fresh from the kernel (70-82 thousand page faults and 0.1 s more system time per 614 MB, measured
# with getrusage on glibc; ~650 with 4 MiB), and the reader took ~20% more CPU in all (perf5.md)
WINDOW = 1 << 22
ADAPT_SHARE = 0.6  # candidate share of a window above which scanning stops paying
ADAPT_SKIP = 4  # windows decoded in full before scanning is tried again (doubling up to the max)
ADAPT_SKIP_MAX = 64
# the part of a window scanned first, to decide whether to scan the rest: 1/16 of a window (perf5.md)
PROBE_BYTES = WINDOW >> 4
_NL = b"\n"
_BACKSLASH = 92
ALL = None  # "every group": a line the scanner cannot rule out for any group


def _unescaped(buf, p):
    """Is the backslash at ``buf[p]`` an escape character (preceded by an even run of backslashes)?"""
    k = 0
    q = p - 1
    while q >= 0 and buf[q] == _BACKSLASH:
        k += 1
        q -= 1
    return not (k & 1)


def hyperscan_available():
    try:
        import hyperscan  # noqa: F401
    except ImportError:
        return False
    return True


def _memmem():
    """The C library's ``memmem`` through ctypes (both standard: glibc and the BSDs/macOS have it),
    or None. Why: CPython 3.11's ``bytes.find`` scans about 1 GB/s for short needles on JSON text
    (its skip loop keys on the needle's last byte, often a quote); glibc's memmem is 2-3x faster.
    Checked on a sample before use; ``bytes.find`` is the fallback and gives the same offsets."""
    try:
        import ctypes

        fn = ctypes.CDLL(None).memmem
    except (ImportError, OSError, AttributeError):
        return None
    fn.restype = ctypes.c_void_p
    fn.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_char_p, ctypes.c_size_t]
    c_char_p, c_void_p, cast = ctypes.c_char_p, ctypes.c_void_p, ctypes.cast

    def finder(buf):
        ref = c_char_p(buf)  # a pointer into the bytes object (no copy); ``ref`` keeps it alive
        base = cast(ref, c_void_p).value

        def find(needle, start, end):
            m = len(needle)
            if end - start < m:
                return -1
            r = fn(base + start, end - start, needle, m)
            return -1 if not r else r - base

        find.ref = ref
        return find

    sample = b'{"a":"x\\u0041"}\n{"b":"dracut"}\n'
    f = finder(sample)
    for needle in (b"dracut", b"\\u", b'"', b"zz", b"}\n"):
        for start in (0, 3, 20):
            if f(needle, start, len(sample)) != sample.find(needle, start):
                return None
    return finder


_MEMMEM = []  # [finder or None], made on first use (ctypes costs start-up time)


_SMALL = 4096  # below this, bytes.find (no ctypes set-up)


def _finder(buf):
    """``find(needle, start, end)`` over ``buf``: memmem when available, else ``bytes.find``."""
    if len(buf) <= _SMALL:
        return buf.find
    if not _MEMMEM:
        _MEMMEM.append(_memmem())
    return buf.find if _MEMMEM[0] is None else _MEMMEM[0](buf)


class Scanner:
    """Candidate lines of a window for needle ``groups`` (one group per rule: its needles, any of
    which may occur). ``scan(buf, end)`` looks at the lines of ``buf[:end]`` (``end`` is just after
    a newline, or the end of the input) and returns ``{line start: set of group ids, or ALL}`` for
    the lines that hold a needle or a trigger escape.

    Triggers: a real ``\\/`` when a needle has a ``/``; a real ``\\u00`` when every needle
    character is below U+0100 (any other spelling of such a character is ``\\u00XX``), else any
    real ``\\u``."""

    backend = "stdlib"

    def __init__(self, groups):
        self.ngroups = len(groups)
        by_text = {}
        for gid, needles in enumerate(groups):
            for text, ci in needles:
                by_text.setdefault((bytes(text), bool(ci)), set()).add(gid)
        self.needles = {k: tuple(sorted(v)) for k, v in by_text.items()}
        slash = any(b"/" in text for text, _ci in self.needles)
        low = all(max(text.decode("utf-8", "replace"), default="a") < "\u0100" for text, _ci in self.needles)
        self.triggers = (b"\\u00" if low else b"\\u",) + ((b"\\/",) if slash else ())

    def scan(self, buf, end, start=0):
        """Needles and trigger escapes in one result (see the class docstring)."""
        out = self.scan_needles(buf, end, start)
        out.update(self.scan_triggers(buf, end, start))  # ALL wins over any group set
        return out

    def scan_needles(self, buf, end, start=0):
        raise NotImplementedError

    def scan_triggers(self, buf, end, start=0):
        """``{line start: ALL}`` for the lines of ``buf[start:end]`` holding a real trigger escape."""
        return _stdlib_triggers(self.triggers, buf, end, start)

    def for_thread(self):
        """A scanner giving the same results that may run beside this one in another thread (one
        per reader's helper thread): this one when it keeps no per-scan state."""
        return self


def _stdlib_triggers(triggers, buf, end, start=0):
    """The trigger lines found with ``memmem``/``bytes.find`` (a ctypes call to memmem runs
    without the GIL)."""
    out = {}
    find = _finder(buf)
    for trig in triggers:
        p = find(trig, start, end)
        while p >= 0:
            if _unescaped(buf, p):
                p = find(trig, _mark(buf, p, out, ALL), end)
            else:
                p = find(trig, p + 2, end)
    return out


def _mark(buf, p, out, groups):
    """Record the line holding offset ``p`` as holding ``groups``; returns the offset of its end."""
    s = buf.rfind(_NL, 0, p) + 1
    e = buf.find(_NL, p)
    if e < 0:
        e = len(buf)
    cur = out.get(s, 0)
    if groups is ALL or cur is ALL:
        out[s] = ALL
    elif cur == 0:
        out[s] = set(groups)
    else:
        cur.update(groups)
    return e


class StdlibScanner(Scanner):
    """One search pass per needle over the window (over its ASCII-lowered copy for the
    case-insensitive ones); after a hit the search resumes at the end of the line. The cost grows
    with the number of distinct needles: meant for one rule's needles, not for hundreds."""

    def scan_needles(self, buf, end, start=0):
        out = {}
        find = _finder(buf)
        lfind = None
        for (text, ci), groups in self.needles.items():
            if ci:
                if lfind is None:
                    lfind = _finder(buf.lower())
                hfind = lfind
            else:
                hfind = find
            p = hfind(text, start, end)
            while p >= 0:
                p = hfind(text, _mark(buf, p, out, groups), end)
        return out


def _hs_literal(text):
    """A Hyperscan pattern matching ``text`` literally (every non-alphanumeric byte as \\xHH)."""
    return b"".join(bytes([c]) if (48 <= c <= 57 or 65 <= c <= 90 or 97 <= c <= 122) else b"\\x%02x" % c for c in text)


class HyperscanScanner(Scanner):
    """The needles (the case-insensitive ones with HS_FLAG_CASELESS, which folds ASCII only, like
    the matcher) in one block-mode Hyperscan database, the trigger escapes in another: Hyperscan
    scans for one literal at memchr speed but for several with a slower multi-literal engine, and
    the triggers are unlike the needles, so two passes beat one. A Python callback per hit."""

    backend = "hyperscan"

    def __init__(self, groups):
        import hyperscan

        Scanner.__init__(self, groups)
        self.ids = list(self.needles.values())
        self.db = self._compile(hyperscan, [(t, ci) for t, ci in self.needles])
        self.trig_db = self._compile(hyperscan, [(t, False) for t in self.triggers])

    @staticmethod
    def _compile(hyperscan, literals):
        if not literals:
            return None
        db = hyperscan.Database(mode=hyperscan.HS_MODE_BLOCK)
        db.compile(expressions=[_hs_literal(t) for t, _ci in literals], ids=list(range(len(literals))),
                   elements=len(literals), flags=[hyperscan.HS_FLAG_CASELESS if ci else 0 for _t, ci in literals])
        return db, hyperscan.Scratch(db)

    def for_thread(self):
        """The same databases with scratch spaces of its own (Hyperscan: one scratch per thread)."""
        import copy

        import hyperscan

        other = copy.copy(self)
        other.db = None if self.db is None else (self.db[0], hyperscan.Scratch(self.db[0]))
        other.trig_db = None if self.trig_db is None else (self.trig_db[0], hyperscan.Scratch(self.trig_db[0]))
        return other

    def scan_triggers(self, buf, end, start=0):
        out = {}
        if self.trig_db is None:
            return out
        db, scratch = self.trig_db
        starts = []
        add_start = starts.append
        tlen = [len(t) - start for t in self.triggers]  # ``frm`` is 0 without HS_FLAG_SOM_LEFTMOST
        db.scan(memoryview(buf)[start:end], scratch=scratch,
                match_event_handler=lambda i, frm, to, fl, cx: add_start(to - tlen[i]))
        line_end = -1
        for p in sorted(starts):
            if p > line_end and _unescaped(buf, p):
                line_end = _mark(buf, p, out, ALL)
        return out

    def scan_needles(self, buf, end, start=0):
        out = {}
        if self.db is None:
            return out
        ends = []
        ids = []
        add_end = ends.append
        add_id = ids.append

        def on_match(i, _frm, to, _flags, _ctx):
            add_end(to)
            add_id(i)

        self.db[0].scan(memoryview(buf)[start:end], match_event_handler=on_match, scratch=self.db[1])
        if not ends:
            return out
        if start:
            ends = [to + start for to in ends]
        if self.ngroups == 1:
            # one group: any hit makes the line a candidate; the other hits of a line are skipped
            line_end = -1
            for to in sorted(ends):
                if to > line_end:
                    line_end = _mark(buf, to - 1, out, (0,))
            return out
        table = self.ids
        for to, i in zip(ends, ids):
            _mark(buf, to - 1, out, table[i])
        return out


def make_scanner(groups, backend="auto"):
    """A scanner for needle ``groups``: ``hyperscan`` (needs the package), ``stdlib``, or ``auto``
    (Hyperscan when importable)."""
    if backend not in ("auto", "hyperscan", "stdlib"):
        raise ValueError("unknown scan backend %r (expected auto, hyperscan or stdlib)" % (backend,))
    if backend == "hyperscan" or (backend == "auto" and hyperscan_available()):
        if not hyperscan_available():
            raise ImportError("the hyperscan scan needs the hyperscan package (pip install 'eqlc[fast]')")
        return HyperscanScanner(groups)
    return StdlibScanner(groups)


def _split_lines(buf, end):
    """The lines of ``buf[:end]``, each with its newline (``BytesIO.readlines`` splits with
    memchr: in CPython 3.11 it is about three times faster than ``bytes.count`` or ``split``)."""
    lines = _io.BytesIO(buf).readlines()
    if end < len(buf):
        lines.pop()  # the partial line after ``end``
    return lines


class NdjsonReader:
    """Events from NDJSON files (``.gz`` too) or ``-`` (stdin), read in windows of whole lines.

    Without a scanner every line is decoded (blank lines skipped, a malformed line reported to
    ``on_bad(path, lineno, message, count)`` and skipped). With one, candidate lines are decoded
    and a line that holds no needle may be skipped undecoded, so a malformed line is reported only
    when it is decoded (always with the prefilter off: ``--no-prefilter``). Counters: ``lines`` (scanned), ``decoded`` (non-blank
    lines parsed), ``events``, ``malformed``, ``windows_scanned``/``windows_decoded``, and
    ``bytes_read`` of ``total_bytes`` (on-disk sizes, for progress).

    ``read_ahead=False`` reads and scans every window in the calling thread (same results).

    ``span=(start, stop)`` (one regular file only) reads the bytes ``start:stop`` of it, both line
    starts (or the file's end): a part of a file, for ``parallel.py``; line numbers and counters
    are then relative to ``start``.

    Iterating yields event dicts. ``dispatch()`` yields ``(event, groups)``: the set of needle
    groups the line holds, or ALL (None) when any group may match it (an escape trigger, or a
    window decoded in full)."""

    def __init__(self, paths, scanner=None, loads=None, on_bad=None, window=WINDOW, adaptive=True, on_io_error=None,
                 read_ahead=True, span=None):
        self.paths = list(paths)
        if span is not None and (len(self.paths) != 1 or self.paths[0] == "-" or self.paths[0].endswith(".gz")):
            raise ValueError("a span is a part of one regular file")
        self.span = span
        self.scanner = scanner
        self.loads = loads or _json.loads
        self.on_bad = on_bad
        self.on_io_error = on_io_error
        self.io_errors = 0
        self.window = window
        self.adaptive = adaptive
        self.read_ahead = read_ahead
        self.probe_bytes = PROBE_BYTES
        self._pause = 0
        self.lines = 0
        self.decoded = 0
        self.events = 0
        self.malformed = 0
        self.windows_scanned = 0
        self.windows_decoded = 0
        self.bytes_read = 0
        self.total_bytes = sum(_size(p) for p in self.paths if p != "-") if span is None else span[1] - span[0]

    # -- input ----------------------------------------------------------------------------------
    def _open(self, path):
        if path == "-":
            return _sys.stdin.buffer
        if path.endswith(".gz"):
            import gzip

            return gzip.open(path, "rb")
        f = open(path, "rb", buffering=0)
        if self.span is not None:
            f.seek(self.span[0])
        return f

    def _windows(self, f, seekable, raw):
        """``(buf, end, pos)``: ``buf[:end]`` holds whole lines (the last line of the input may lack
        its newline); ``pos`` is the position in ``raw`` (the on-disk stream) after the read, or
        None. A regular file is re-read from ``end``; other streams carry the tail over."""
        read = getattr(f, "read1", None) or f.read
        tell = raw.tell if raw is not None else None
        size = self.window
        carry = b""
        stop = None if self.span is None else self.span[1]
        while True:
            if stop is None:
                chunk = read(size)
            else:
                left = stop - tell()  # the raw file's position (a span is a regular file's part)
                chunk = read(min(size, left)) if left > 0 else b""
            if not chunk:
                if carry:
                    yield carry, len(carry), _tell(tell)
                return
            if carry:
                chunk = carry + chunk
                carry = b""
            cut = chunk.rfind(_NL)
            if cut < 0:
                carry = chunk  # a line longer than the window: read on until it ends
                continue
            end = cut + 1
            if end < len(chunk):
                if seekable:
                    f.seek(end - len(chunk), 1)
                else:
                    carry = chunk[end:]
            yield chunk, end, _tell(tell)

    def _read_ahead(self, windows):
        """``windows`` as ``(buf, end, pos, triggers)``, each window read one step ahead in a
        helper thread, which also finds its trigger lines (``scan_triggers``). Reading, Hyperscan
        (its binding releases the GIL during ``hs_scan``) and memmem (a ctypes call) run without
        the GIL, so on two cores they overlap the main thread's needle scan, line count and
        decoding; the results are the same as in one thread (one helper thread per input, handed
        each next window by a semaphore). ``triggers`` is None when the
        helper did not look (no scanner, a paused scan, a small window): then the main thread
        does. An error of the helper is raised here, where the window was asked for."""
        import threading

        scanner = self.scanner
        box = [None]
        own = []  # the helper's scanner (its own Hyperscan scratch), made by the helper when needed

        def step():
            try:
                buf, end, pos = next(windows)
            except StopIteration:
                box[0] = None, None
                return
            except BaseException as exc:  # handed to the main thread
                box[0] = None, exc
                return
            pre = None
            if scanner is not None and self._pause <= 0 and end > _SMALL:
                if not own:
                    own.append(scanner.for_thread())
                pre = own[0].scan_triggers(buf, end)
            box[0] = (buf, end, pos, pre), None

        go = threading.Semaphore(0)  # main -> helper: the last window was taken, read the next
        ready = threading.Semaphore(0)  # helper -> main: ``box`` holds the next window (or the end)
        stop = []

        def helper():
            # one thread for the whole input, not one per window: starting a thread waits until
            # the new thread holds the GIL, a hand-off per window (148 per 614 MB at 4 MiB windows)
            while True:
                step()
                end_or_error = box[0][0] is None
                ready.release()
                if end_or_error:
                    return
                go.acquire()
                if stop:
                    return

        worker = threading.Thread(target=helper, daemon=True)
        worker.start()
        try:
            while True:
                ready.acquire()
                item, exc = box[0]
                if exc is not None:
                    raise exc
                if item is None:
                    return
                go.release()  # the helper reads the window after this one while it is used
                yield item
        finally:
            stop.append(True)
            go.release()
            worker.join()  # never close the file under a read
            windows.close()

    def _files(self):
        """``(file number, path, buf, end, triggers)`` over every input (``triggers``: see
        ``_read_ahead``).

        An input that cannot be opened (a directory, no permission) or that breaks while being
        read (a truncated or corrupt ``.gz``, an I/O error) is counted in ``io_errors`` and
        reported to ``on_io_error(path, lines_read, exc)`` (without a handler it is raised);
        reading goes on with the next input, and the lines read before the break were already
        yielded, so their matches are never lost."""
        import zlib

        done = 0
        for k, path in enumerate(self.paths):
            lines_before = self.lines  # the consumer counts a window's lines before asking for the next
            f = None
            windows = None
            try:
                if _os_path_isdir(path):
                    raise IsADirectoryError(21, "is a directory, not an events file")
                f = self._open(path)
                seekable = path != "-" and not path.endswith(".gz")
                raw = None if path == "-" else (getattr(f, "fileobj", None) or f)  # a gzip file's compressed stream
                windows = self._windows(f, seekable, raw)
                if path != "-" and self.read_ahead:
                    windows = self._read_ahead(windows)  # not stdin: a read there may never return
                for item in windows:
                    if len(item) == 3:
                        buf, end, pos = item
                        pre = None
                    else:
                        buf, end, pos, pre = item
                    if pos is not None:
                        self.bytes_read = done + pos
                    yield k, path, buf, end, pre
            except (OSError, EOFError, zlib.error) as exc:
                self.io_errors += 1
                if self.on_io_error is None:
                    raise
                self.on_io_error(path, self.lines - lines_before, exc)
            finally:
                if windows is not None:
                    windows.close()  # joins the read-ahead thread before the file is closed
                if path != "-":
                    if f is not None:
                        f.close()
                    done += _size(path)
                    self.bytes_read = done

    # -- decoding -------------------------------------------------------------------------------
    def _bad(self, path, lineno, message):
        self.malformed += 1
        if self.on_bad is not None:
            self.on_bad(path, lineno, message, self.malformed)

    def _check(self, obj, line, path, lineno, exc):
        """``obj`` decoded from ``line`` (or ``exc``): the event, or None (reported if malformed)."""
        if exc is not None:
            if not line.strip():
                self.decoded -= 1
            else:
                self._bad(path, lineno, "invalid JSON: %s" % (exc,))
            return None
        if obj.__class__ is not dict:
            self._bad(path, lineno, "not a JSON object (%s)" % (type(obj).__name__,))
            return None
        self.events += 1
        return obj

    def _decode_all(self, path, base, lines, hits=None):
        """Every line: events, or (event, groups) pairs when ``hits`` is given."""
        self.windows_decoded += 1
        self.decoded += len(lines)
        loads = self.loads
        pos = 0
        empty = frozenset()
        for i, line in enumerate(lines, base + 1):
            try:
                obj = loads(line)
            except ValueError as exc:
                event = self._check(None, line, path, i, exc)
            else:
                if obj.__class__ is dict:
                    self.events += 1
                    event = obj
                else:
                    event = self._check(obj, line, path, i, None)
            if hits is None:
                if event is not None:
                    yield event
            else:
                if event is not None:
                    yield event, hits.get(pos, empty)
                pos += len(line)

    def _decode_hits(self, path, base, buf, hits):
        """The candidate lines of a window, in order: (event, groups)."""
        loads = self.loads
        find = buf.find
        counted_to, counted = 0, 0  # line numbers, computed only for malformed lines
        for s in sorted(hits):
            e = find(_NL, s)
            line = buf[s:e] if e >= 0 else buf[s:]
            self.decoded += 1
            try:
                obj = loads(line)
            except ValueError as exc:
                obj, err = None, exc
            else:
                if obj.__class__ is dict:
                    self.events += 1
                    yield obj, hits[s]
                    continue
                err = None
            counted += buf.count(_NL, counted_to, s)
            counted_to = s
            event = self._check(obj, line, path, base + counted + 1, err)
            if event is not None:
                yield event, hits[s]

    def _probe(self, buf, end):
        """The end of the part of a window scanned first (its first ``probe_bytes``, whole lines)."""
        if end > self.probe_bytes:
            return buf.rfind(_NL, 0, self.probe_bytes) + 1 or end
        return end

    def _scan_window(self, buf, end, n, trig):
        """The hits of a window, or None when most of its lines are candidates (then the whole
        window is cheaper to decode, and the next windows are not scanned at all: ``pause``
        windows, doubling while the data stays like this). Only the window's first ``probe_bytes``
        are scanned to decide. ``trig``: the trigger lines the read-ahead thread found, or None."""
        scanner = self.scanner
        probe = self._probe(buf, end)
        if trig is None:
            trig = scanner.scan_triggers(buf, end)
        head = scanner.scan_needles(buf, probe)
        self.windows_scanned += 1
        if self.adaptive:
            # the probe's lines estimated from the window's (``bytes.count`` is a byte loop in CPython 3.11:
            # counting them cost as much as a Hyperscan pass); the decision only moves work, never results
            lines_in_probe = n if probe == end else n * probe / end
            candidates = len(head) + sum(1 for s in trig if s < probe and s not in head)
            if candidates > ADAPT_SHARE * lines_in_probe:
                self._pause, self._skip = self._skip, min(self._skip * 2, ADAPT_SKIP_MAX)
                return None
            self._skip = ADAPT_SKIP
        if probe < end:
            head.update(scanner.scan_needles(buf, end, probe))
        head.update(trig)  # ALL wins over any group set
        return head

    def __iter__(self):
        scanner = self.scanner
        self._pause, self._skip = 0, ADAPT_SKIP
        current, base = -1, 0
        for k, path, buf, end, pre in self._files():
            if k != current:
                current, base = k, 0
            hits = None
            if scanner is not None:
                if self._pause > 0:
                    self._pause -= 1
                else:
                    n = _count_lines(buf, end)
                    hits = self._scan_window(buf, end, n, pre)
            if hits is None:
                # no prefilter, or most lines are candidates: decoding them all costs less than
                # picking them one by one (the others cannot match: decoding them changes nothing)
                lines = _split_lines(buf, end)
                n = len(lines)
                self.lines += n
                yield from self._decode_all(path, base, lines)
            else:
                self.lines += n
                for event, _groups in self._decode_hits(path, base, buf, hits):
                    yield event
            base += n

    def dispatch(self, skip=True):
        """``(event, groups)`` for the candidate lines (``skip=False``: for every line, with an
        empty set when it holds no needle). Scanning never pauses here: the groups are the point."""
        scanner = self.scanner
        self._pause = 0
        current, base = -1, 0
        for k, path, buf, end, pre in self._files():
            if k != current:
                current, base = k, 0
            if scanner is None or not skip:
                lines = _split_lines(buf, end)
                n = len(lines)
            else:
                n = _count_lines(buf, end)
            self.lines += n
            if scanner is None:
                for event in self._decode_all(path, base, lines):
                    yield event, ALL
            else:
                hits = scanner.scan_needles(buf, end)
                hits.update(scanner.scan_triggers(buf, end) if pre is None else pre)
                self.windows_scanned += 1
                if skip:
                    yield from self._decode_hits(path, base, buf, hits)
                else:
                    yield from self._decode_all(path, base, lines, hits)
            base += n


def _count_lines(buf, end):
    """The number of lines of ``buf[:end]`` (the last may lack its newline; ``buf[end:]`` is at
    most one partial line). ``BytesIO`` finds newlines with memchr; iterating it inside ``zip`` and
    a ``deque`` of no length keeps the loop in C and frees each line as soon as it is made, which
    is ~10% faster than ``len(readlines())`` (a list of every line, freed at the end) and several
    times faster than ``bytes.count`` (a byte loop in CPython 3.11; measured: perf3.md, and
    on the benchmark's 614 MB file: 77 vs 86 vs 181 ms)."""
    counter = _count()
    _deque(zip(_io.BytesIO(buf), counter), maxlen=0)
    n = next(counter)
    return n - 1 if end < len(buf) else n


def _tell(tell):
    if tell is None:
        return None
    try:
        return tell()
    except (OSError, ValueError):
        return None


def _os_path_isdir(path):
    import os

    return path != "-" and os.path.isdir(path)


def _size(path):
    import os

    try:
        return os.path.getsize(path)
    except OSError:
        return 0
