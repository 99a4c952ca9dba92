"""The literal prefilter never changes a match.

``Matcher.read(paths)`` decodes only the NDJSON lines that hold one of the rule's needles (or an
escape that could spell one another way); ``DispatchSet`` runs each rule only on the lines holding
its needles. Both must give exactly the full path's matches, in order:

* on every sampled corpus rule's witnesses (``eqlc fixtures``; the whole corpus with
  EQLC_FULL_CORPUS=1), written in six JSON encodings (compact, ensure_ascii ``\\uXXXX``, escaped
  slashes, spaced, dotted keys, random escapes of any character), with the standard-library scan
  and with Hyperscan;
* on generated events in random encodings (a hypothesis property), for rules built to stress the
  derivation (case folding, quotes, backslashes, non-ASCII, wildcards, scripts, sequences);
* the two scan backends return the same candidate lines on random bytes and needles.
"""

from __future__ import annotations

import random
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from eqlc.fixtures.oracle import Oracle
from eqlc.fixtures.witness import generate
from eqlc.matcher import EventOrderError, matcher
from eqlc.matcher.dispatch import dispatch_set
from eqlc.matcher.multi import matcher_set
from eqlc.matcher.scan import HyperscanScanner, NdjsonReader, StdlibScanner, hyperscan_available

from .corpus import rule_id, sample
from .json_encodings import encodings, random_escapes
from .matcher_events import events_for

# Hyperscan has wheels for x86_64 Linux/macOS/Windows and arm64 macOS (the test extra installs it
# there); elsewhere only the standard-library scan is tested.
BACKENDS = ["stdlib", "hyperscan"] if hyperscan_available() else ["stdlib"]
_ORACLE: list = []


def _oracle() -> Oracle:
    if not _ORACLE:
        _ORACLE.append(Oracle())
    return _ORACLE[0]


def _write(path: Path, events: list, encode) -> Path:
    path.write_bytes(b"".join(encode(e) + b"\n" for e in events))
    return path


def _ids(matches) -> list:
    return [([None if e is None else e.get("_id") for e in m.events], list(m.keys)) for m in matches]


def _run(m, path: Path, **read) -> tuple[list, object]:
    """The match list of ``m`` over ``path`` (sorted input when the stream is out of order)."""
    reader = m.read([str(path)], **read)
    try:
        return _ids(m.run(reader)), reader
    except EventOrderError:
        reader = m.read([str(path)], **read)
        return _ids(m.run(reader, sort=True)), reader


def _check_rule_file(m, path: Path, label: str) -> tuple[int, int]:
    full, _ = _run(m, path, prefilter=False)
    lines = decoded = 0
    for scan in BACKENDS:
        got, reader = _run(m, path, prefilter=True, scan=scan)
        assert got == full, f"{label} ({scan} scan): prefiltered {got} != full {full}"
        lines, decoded = reader.lines, reader.decoded
    return lines, decoded


@pytest.mark.parametrize("rule", sample(), ids=rule_id)
def test_prefilter_equals_full_path_on_corpus_witnesses(rule, tmp_path: Path) -> None:
    ws = generate(rule, _oracle())
    events = [{k: v for k, v in e.items() if k != "_note"} for e in ws.events]
    m = matcher(rule)
    assert m.needles.usable, m.needles.reason  # every corpus rule has needles (needles.py)
    for name, encode in encodings(seed=len(events)).items():
        _check_rule_file(m, _write(tmp_path / f"{name}.ndjson", events, encode), f"{rule_id(rule)} [{name}]")


def test_prefilter_skips_lines_without_needles(tmp_path: Path) -> None:
    """The prefilter does something: unrelated lines are neither decoded nor counted as events,
    a malformed unrelated line is not reported, and lines scanned are all counted."""
    m = matcher('process where process.name == "dracut"')
    events = [{"_id": f"n{i}", "event": {"category": "process"}, "process": {"name": f"bash{i}"}} for i in range(200)]
    events[50]["process"]["name"] = "dracut"
    path = tmp_path / "e.ndjson"
    path.write_bytes(b"".join(__import__("orjson").dumps(e) + b"\n" for e in events) + b"{broken\n\n")
    for scan in BACKENDS:
        got, reader = _run(m, path, scan=scan)
        assert got == [(["n50"], [])]
        assert (reader.lines, reader.decoded, reader.events, reader.malformed) == (202, 1, 1, 0)
    full, reader = _run(m, path, prefilter=False)
    assert full == got and (reader.lines, reader.events, reader.malformed) == (202, 200, 1)


# ------------------------------------------------------------------------------------------------
# Property: generated events, random encodings
# ------------------------------------------------------------------------------------------------

STRESS_RULES = [
    'process where process.name == "dracut"',
    'process where process.name : "DrAcUt" and process.args : "-F"',
    'any where process.executable like~ "C:\\\\Windows\\\\*\\\\cmd?.exe"',
    'any where process.command_line like "*\\"quoted\\"*" or user.name in ("a\\\\b", "c/d", "e\\tf")',
    'file where file.path : ("/etc/*", "*.so", "/tmp/?ab*") and not file.name : "x"',
    'any where startsWith(process.name, "Sh") or endsWith~(process.name, ".EXE")',
    'any where stringContains~(file.name, "é") or file.name : "Straße*"',
    'any where process.name : "*\\u{202E}*" or process.title == "日本\\u{1F600}"',
    'any where concat(process.name, "") : "s" and process.args == "x"',
    'any where process.name == "10" or process.pid == 4 or process.name : "true"',
    'sequence by user.name with maxspan=1m [process where process.name : "sudo"] [network where destination.ip != null]',
    'sequence by user.name with maxspan=1h [process where process.name == "a"] ![file where file.name == "b"] [process where process.name == "c"] until [process where process.name : "stop"]',
    'sample by user.name [process where process.name : "one"] [file where file.name == "two"]',
]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rule=st.sampled_from(STRESS_RULES), seed=st.integers(0, 10**6), p=st.sampled_from([0.0, 0.05, 0.3, 1.0]),
       non_ascii_only=st.booleans())
def test_prefilter_equals_full_path_in_random_encodings(rule: str, seed: int, p: float, non_ascii_only: bool,
                                                       tmp_path_factory) -> None:
    m = matcher(rule)
    events = events_for(m.query, 40, seed)
    rng = random.Random(seed)
    path = tmp_path_factory.mktemp("enc") / "e.ndjson"
    path.write_bytes(b"".join(random_escapes(e, rng, p, non_ascii_only) + b"\n" for e in events))
    _check_rule_file(m, path, rule)


def test_scripts_and_numbers_give_no_needles() -> None:
    """A script folds case by Unicode rules (U+017F is "s"), a long field matches "10" spelled
    1e1: such tests give no needle; the rule takes its needles from other conjuncts or has none."""
    assert not matcher('any where concat(process.name, "") : "s"').needles.usable
    assert not matcher('any where process.pid == "10"').needles.usable
    got = matcher('any where concat(process.name, "") : "s" and process.args == "x"').needles
    assert sorted(n.text for n in got.needles) == [b'"x"']
    ci = matcher('any where process.name : "DrAcUt"').needles
    assert [(n.text, n.ci) for n in ci.needles] == [(b'"dracut"', True)]


def test_prefilter_off_where_it_cannot_be_exact() -> None:
    assert matcher('process where process.name == "a"', dialect="endgame").needles.reason == "the endgame dialect"
    nv = {"properties": {"process": {"properties": {"name": {"type": "keyword", "null_value": "NULL"}}}}}
    needles = matcher('process where process.name == "NULL"', mapping=nv).needles
    assert not needles.usable and "null_value" in needles.reason
    norm = {"properties": {"host": {"properties": {"name": {"type": "keyword", "normalizer": "lowercase"}}}}}
    assert "normalizer" in matcher('any where host.name == "a"', mapping=norm).needles.reason
    kw = {"properties": {"process": {"properties": {"name": {"type": "keyword"}}}}}
    assert matcher('process where process.name == "bash"', mapping=kw).needles.usable


# ------------------------------------------------------------------------------------------------
# Scanners and windows
# ------------------------------------------------------------------------------------------------


@settings(max_examples=80, deadline=None)
@given(data=st.data())
def test_scan_backends_agree(data) -> None:
    alphabet = [b"a", b"B", b"dr", b"\\", b"u", b"00", b"/", b'"', b"\n", b"\xc3\xa9", b"\xc3\x89", b"x", b"\xff"]
    buf = b"".join(data.draw(st.lists(st.sampled_from(alphabet), max_size=300)))
    end = buf.rfind(b"\n") + 1 if data.draw(st.booleans()) else len(buf)
    needle_st = st.tuples(st.binary(min_size=1, max_size=4).filter(lambda b: b"\n" not in b), st.booleans())
    groups = data.draw(st.lists(st.lists(needle_st, min_size=0, max_size=3), min_size=1, max_size=3))
    groups = [[(t.lower() if ci else t, ci) for t, ci in g] for g in groups]
    expected = _naive(buf, end, groups)
    assert StdlibScanner(groups).scan(buf, end) == expected
    if "hyperscan" in BACKENDS:
        assert HyperscanScanner(groups).scan(buf, end) == expected


def _naive(buf: bytes, end: int, groups: list) -> dict:
    """Line by line: the groups whose needles a line holds, or None (every group) for a real
    trigger escape (``\\u00`` / ``\\u`` when a needle is above U+00FF, ``\\/`` when a needle has a
    slash)."""
    from eqlc.matcher.scan import Scanner

    triggers = Scanner(groups).triggers
    out: dict = {}
    pos = 0
    for line in buf[:end].split(b"\n"):
        low = line.lower()
        hit = set()
        for gid, g in enumerate(groups):
            if any(t in (low if ci else line) for t, ci in g):
                hit.add(gid)
        for trig in triggers:
            i = line.find(trig)
            while i >= 0:
                k = len(line[:i]) - len(line[:i].rstrip(b"\\"))
                if k % 2 == 0:
                    hit = None
                    break
                i = line.find(trig, i + 1)
            if hit is None:
                break
        if hit is None or hit:
            out[pos] = hit
        pos += len(line) + 1
    return out


@pytest.mark.parametrize("window", [16, 100, 1 << 24])
def test_windows_split_lines_exactly(tmp_path: Path, window: int) -> None:
    """Windows end at newlines; a line longer than a window is read whole; gzip and a final line
    without its newline read the same."""
    import gzip

    m = matcher('any where process.name == "dracut"')
    events = [{"_id": f"x{i}", "process": {"name": "dracut" if i % 3 == 0 else "b" * (i * 7 % 50)}} for i in range(60)]
    text = b"\n".join(__import__("orjson").dumps(e) for e in events)  # no final newline
    path = tmp_path / "e.ndjson"
    path.write_bytes(text)
    gz = tmp_path / "e.ndjson.gz"
    gz.write_bytes(gzip.compress(text))
    expected = [([f"x{i}"], []) for i in range(0, 60, 3)]
    for p in (path, gz):
        for prefilter in (True, False):
            for scan in BACKENDS:
                reader = m.read([str(p)], prefilter=prefilter, scan=scan)
                reader.window = window
                assert _ids(m.run(reader)) == expected
                assert reader.lines == 60


def test_malformed_candidate_lines_are_reported_with_their_line_number(tmp_path: Path) -> None:
    path = tmp_path / "bad.ndjson"
    path.write_bytes(b'{"a": "dracut"}\n\n{"b": 1}\n{"dracut" oops\n["dracut"]\n')
    seen = []
    reader = NdjsonReader([str(path)], StdlibScanner([[(b"dracut", False)]]),
                          on_bad=lambda p, n, msg, k: seen.append((n, msg.split(":")[0])))
    assert [e for e in reader] == [{"a": "dracut"}]
    assert seen == [(4, "invalid JSON"), (5, "not a JSON object (list)")]


# ------------------------------------------------------------------------------------------------
# Many rules: dispatch
# ------------------------------------------------------------------------------------------------


def test_dispatch_equals_matcher_set_on_corpus_witnesses(tmp_path: Path) -> None:
    rules = [r for r in sample() if r.query.kind == "event" and not r.event_category_override]
    events = []
    for i, r in enumerate(rules):
        for e in events_for(r.query, 6, seed=i):
            e["_id"] = f"r{i}-{e['_id']}"
            events.append(e)
    ms = matcher_set(rules)
    full = [(e["_id"], ms.match_all(e)) for e in events]
    full = [x for x in full if x[1]]
    assert len(full) > 20
    encs = encodings(seed=7)
    for name in ("compact", "random_escapes"):
        path = _write(tmp_path / f"{name}.ndjson", events, encs[name])
        sample_bytes = path.read_bytes()
        for scan in BACKENDS:
            for calibrate in (None, sample_bytes, str(path)):
                ds = dispatch_set(rules, scan=scan, sample=calibrate)
                if scan == "hyperscan":
                    assert ds.dispatched, "Hyperscan dispatches the rules with selective needles"
                else:
                    assert not ds.dispatched and ds.reason
                got = [(e["_id"], hits) for e, hits in ds.run([str(path)])]
                assert got == full, (name, scan, calibrate is not None)


@pytest.mark.parametrize("share", [0.01, 0.9])
def test_large_windows_probe(tmp_path: Path, share: float) -> None:
    """Windows larger than the first-MiB probe: a rare needle is found after the probe too, a
    frequent one switches to decoding whole windows; with either scan, the matches are the full
    path's."""
    import orjson

    rng = random.Random(3)
    m = matcher('any where process.name : "DRACUT" and user.name != "x"')
    events = [{"_id": f"i{i}", "process": {"name": rng.choice(["dracut", "DrAcut"]) if rng.random() < share else "bash"},
               "pad": "p" * rng.randint(300, 700)} for i in range(12000)]
    path = tmp_path / "big.ndjson"
    path.write_bytes(b"".join(orjson.dumps(e) + b"\n" for e in events))
    assert path.stat().st_size > 3 << 20
    full, _ = _run(m, path, prefilter=False)
    assert len(full) > 50
    for scan in BACKENDS:
        for window in (1 << 21, 1 << 24):
            reader = m.read([str(path)], scan=scan)
            reader.window = window
            assert _ids(m.run(reader)) == full, (scan, window)
            assert reader.lines == 12000
            if share < 0.5:
                assert reader.decoded < 1000


# ------------------------------------------------------------------------------------------------
# The read-ahead path: windows above 4 KiB, whose trigger escapes a helper thread finds with memmem
# while the main thread scans the needles (scan.py ``NdjsonReader._read_ahead``)
# ------------------------------------------------------------------------------------------------


def _edge_file(rng: random.Random, n: int) -> bytes:
    """Lines that put needles and escapes where windows and lines end: a needle spelled with an
    escape beside it (``\\u0064racut``, ``"dracut\\u0000"``, ``\\\\u0064`` that is no escape),
    escapes only in keys, CRLF line ends, blank lines, lines longer than any test window, and
    filler of random length so that these fall on every offset of a window."""
    import orjson

    kinds = [
        lambda i: orjson.dumps({"_id": f"a{i}", "process": {"name": "dracut"}}),
        lambda i: b'{"_id":"b%d","process":{"name":"\\u0064racut"}}' % i,
        lambda i: b'{"_id":"c%d","process":{"name":"dracu\\u0074"},"x":"\\\\u0064"}' % i,
        lambda i: b'{"_id":"d%d","process":{"name":"dracut\\u0000"}}' % i,
        lambda i: b'{"_id":"e%d","process":{"n\\u0061me":"dracut"}}' % i,
        lambda i: b'{"_id":"f%d","process":{"name":"dr\\\\u0061cut"}}' % i,
        lambda i: b'{"_id":"g%d","process":{"name":"dracut"}}\r' % i,
        lambda i: b'{"_id":"h%d","process":{"name":"bash"},"pad":"%s"}' % (i, b"dracu" * rng.randint(900, 3000)),
        lambda i: b'{"_id":"i%d","process":{"name":"dracut"},"pad":"%s"}' % (i, b"p" * rng.randint(5000, 12000)),
        lambda i: b"",
        lambda i: b'{"_id":"j%d","process":{"name":"b%s"}}' % (i, b"a" * rng.randint(0, 700)),
    ]
    weights = [3, 2, 2, 1, 2, 1, 2, 1, 1, 1, 30]
    lines = [rng.choices(kinds, weights)[0](i) for i in range(n)]
    return b"\n".join(lines)  # no final newline


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_read_ahead_windows_equal_full_path(tmp_path: Path, seed: int) -> None:
    """Hits on window boundaries, lines longer than a window, CRLF, blank lines, no final newline,
    escapes next to a needle: with windows of 4-64 KiB (the helper thread finds the triggers, the
    main thread the needles, probe first) and without the helper thread, with either scan, adaptive
    or not, the matches and the line count are the full path's."""
    import gzip

    rng = random.Random(seed)
    data = _edge_file(rng, 900)
    path = tmp_path / "edge.ndjson"
    path.write_bytes(data)
    gz = tmp_path / "edge.ndjson.gz"
    gz.write_bytes(gzip.compress(data))
    m = matcher('any where process.name == "dracut"')
    full, reader = _run(m, path, prefilter=False)
    lines = data.count(b"\n") + 1
    assert reader.lines == lines and len(full) > 50
    for p in (path, gz):
        for scan in BACKENDS:
            for window in (4097, 5003, 8192, 1 << 16):
                for read_ahead in (True, False):
                    for adaptive, probe in ((True, 1 << 20), (False, 1 << 20), (True, 1500), (False, 3000)):
                        # a probe smaller than the window: the main thread scans the probe's
                        # needles first, decides, then the rest of the window
                        reader = m.read([str(p)], scan=scan)
                        reader.window, reader.read_ahead, reader.adaptive = window, read_ahead, adaptive
                        reader.probe_bytes = probe
                        got = _ids(m.run(reader))
                        assert got == full, (p.name, scan, window, read_ahead, adaptive, probe)
                        assert reader.lines == lines
                        assert reader.decoded < lines


@settings(max_examples=60, deadline=None)
@given(data=st.data())
def test_trigger_and_needle_scans_agree_on_large_buffers(data) -> None:
    """Above 4 KiB the stdlib scan (and the read-ahead thread's trigger search) uses memmem: the
    needle and trigger scans, each backend's and the read-ahead's, give the naive line-by-line
    answer, from any start offset at a line boundary."""
    from eqlc.matcher.scan import _stdlib_triggers

    alphabet = [b"a", b"dr", b"acut", b"\\", b"u", b"00", b"/", b'"', b"\n", b"\r\n", b"\xc3\xa9", b"x"]
    body = b"".join(data.draw(st.lists(st.sampled_from(alphabet), max_size=400)))
    buf = b"f" * data.draw(st.integers(4097, 6000)) + b"\n" + body
    end = buf.rfind(b"\n") + 1 if data.draw(st.booleans()) else len(buf)
    groups = [[(b'"dracut"', False), (b"dr", False)]] if data.draw(st.booleans()) else [[(b"acut/", False)], [(b"\xc3\xa9", False)]]
    expected = _naive(buf, end, groups)
    nl = [i + 1 for i, c in enumerate(buf[:end]) if c == 10]
    start = data.draw(st.sampled_from([0] + nl[:5]))
    expected = {s: g for s, g in expected.items() if s >= start}
    for cls in [StdlibScanner] + ([HyperscanScanner] if "hyperscan" in BACKENDS else []):
        sc = cls(groups)
        trig = sc.scan_triggers(buf, end, start)
        assert trig == _stdlib_triggers(sc.triggers, buf, end, start)
        got = sc.scan_needles(buf, end, start)
        got.update(trig)
        assert got == expected, cls.__name__
        assert sc.scan(buf, end, start) == expected


@pytest.mark.parametrize("scan", BACKENDS)
def test_read_ahead_helper_scans_triggers_only(tmp_path: Path, scan: str) -> None:
    """The helper thread reads and finds trigger escapes; every needle scan runs in the thread that
    decodes (a needle hit is a Python callback that takes the GIL: in the helper it made the two
    threads wait for each other, perf6.md). The helper scans the triggers of every window above
    4 KiB (the main thread none of them), and the matches are the full path's."""
    import threading

    path = tmp_path / "edge.ndjson"
    path.write_bytes(_edge_file(random.Random(5), 900))
    m = matcher('any where process.name == "dracut"')
    full, _ = _run(m, path, prefilter=False)
    reader = m.read([str(path)], scan=scan)
    reader.window = 8192
    calls: list = []
    scanner = reader.scanner
    cls = type(scanner)

    class Watched(cls):  # type: ignore[misc, valid-type]
        def scan_needles(self, buf, end, start=0):
            calls.append(("needles", threading.current_thread() is threading.main_thread()))
            return cls.scan_needles(self, buf, end, start)

        def scan_triggers(self, buf, end, start=0):
            # the helper leaves a window of 4 KiB or less to the main thread (the input's last)
            calls.append(("triggers", threading.current_thread() is threading.main_thread() and end > 4096))
            return cls.scan_triggers(self, buf, end, start)

    scanner.__class__ = Watched
    reader.adaptive = False  # a paused scan (a window decoded whole) is scanned by neither thread
    reader.probe_bytes = 1500  # the main thread scans a window in two parts (probe, rest)
    assert _ids(m.run(reader)) == full
    assert ("needles", True) in calls and ("needles", False) not in calls
    assert ("triggers", False) in calls and ("triggers", True) not in calls


def test_readers_sharing_a_scanner_run_side_by_side(tmp_path: Path) -> None:
    """Two readers of one scanner iterated in turn: their helper threads scan at the same time
    (each with its own Hyperscan scratch, ``Scanner.for_thread``) and both give the full path's
    events."""
    import itertools

    path = tmp_path / "edge.ndjson"
    path.write_bytes(_edge_file(random.Random(9), 900))
    m = matcher('any where process.name == "dracut"')
    full = [e for e in m.read([str(path)], prefilter=False) if e.get("process", {}).get("name") == "dracut"]
    for scan in BACKENDS:
        readers = [m.read([str(path)], scan=scan) for _ in range(2)]
        readers[1] = NdjsonReader([str(path)], readers[0].scanner)
        for r in readers:
            r.window = 4500
        got = ([], [])
        for a, b in itertools.zip_longest(*readers):
            for out, e in zip(got, (a, b)):
                if e is not None and e.get("process", {}).get("name") == "dracut":
                    out.append(e)
        assert got[0] == full and got[1] == full, scan


@pytest.mark.parametrize("scan", BACKENDS)
def test_read_ahead_helper_stops_when_the_reader_is_closed_early(tmp_path: Path, scan: str) -> None:
    """One helper thread reads ahead for a whole input (not one per window). A consumer that stops
    early (``head``, an exception) closes the reader: the helper, which may be waiting for the go
    to read on or in the middle of a read, ends before the file is closed; and a reader read to
    the end leaves no thread behind either."""
    import threading

    path = tmp_path / "edge.ndjson"
    path.write_bytes(_edge_file(random.Random(5), 900))
    m = matcher('any where process.name == "dracut"')
    before = threading.active_count()
    for prefilter in (False, True):
        whole = m.read([str(path)], scan=scan, prefilter=prefilter)
        whole.read_ahead, whole.window = False, 4500
        full = list(whole)
        for stop_after in (0, 1, 3, 50):
            reader = m.read([str(path)], scan=scan, prefilter=prefilter)
            reader.window = 4500
            it = iter(reader)
            got = [e for _, e in zip(range(stop_after), it)]
            assert got == full[:stop_after]
            it.close()
            assert threading.active_count() == before, (prefilter, stop_after)
    full = list(m.read([str(path)], prefilter=False))
    reader = m.read([str(path)], scan=scan)
    reader.window = 4500
    assert len(list(reader)) <= len(full) and reader.lines == _count(path)
    assert threading.active_count() == before


def _count(path: Path) -> int:
    data = path.read_bytes()
    return data.count(b"\n") + (1 if data and not data.endswith(b"\n") else 0)
