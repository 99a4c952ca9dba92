"""``eqlc match --jobs N`` (compiler/matcher/parallel.py) gives the one-process output exactly.

The input is cut into parts at line starts and each part is matched in a forked process; the
parent prints the parts' matches in input order and replays their reports. These tests cut small
files at every kind of place (``min_bytes=1``: a part may be a single line, cuts fall inside
escapes, long lines, CRLF ends, files without a final newline, several files) and compare with
the one-process reader: the same output bytes, the same counters, the same malformed-line reports
(numbered per file, limited globally), on corpus witnesses in six JSON encodings, on randomly
escaped generated events (hypothesis) and on the read-ahead edge file, with both scans and with
the prefilter off. The readers' adaptive whole-window decoding is off here, in both paths: it
changes which non-candidate lines are decoded (work, and so the decoded count and the malformed
reports among lines that cannot match) with where windows start; with it on, the output and the
lines scanned are still compared.
"""

from __future__ import annotations

import random
from pathlib import Path

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from eqlc.fixtures.witness import generate
from eqlc.matcher import matcher, parallel

from .corpus import rule_id, sample
from .json_encodings import encodings, random_escapes
from .matcher_events import events_for
from .test_matcher_cli import eqlc
from .test_matcher_prefilter import BACKENDS, STRESS_RULES, _edge_file, _oracle, _write


@pytest.fixture(autouse=True)
def _not_adaptive(monkeypatch):
    monkeypatch.setattr(parallel, "READER_OPTIONS", {"adaptive": False})


def _one_process(m, paths: list, **read) -> tuple:
    """Output bytes, counters and reports of the one-process reader."""
    bad, io = [], []
    reader = m.read(paths, on_bad=lambda *a: bad.append(a), on_io_error=lambda *a: io.append(a), **read)
    reader.adaptive = parallel.READER_OPTIONS.get("adaptive", True)
    out = b"".join(orjson.dumps(hit.events[0]) + b"\n" for hit in m.run(reader))
    return out, (reader.lines, reader.events, reader.decoded, reader.malformed, reader.io_errors), bad, io


def _parallel(m, paths: list, jobs: int, count: bool = False, **read) -> tuple:
    import io as _io

    parts = parallel.plan(paths, jobs, min_bytes=1)
    assert parts is not None and len(parts) >= 2
    bad, io = [], []
    sink = _io.BytesIO()
    t = parallel.run(m, parts, on_bad=lambda *a: bad.append(a), on_io_error=lambda *a: io.append(a),
                     out=sink, encode=orjson.dumps, **read)
    if count:
        counted = parallel.run(m, parts, **read)  # --count: no output stream
        assert counted.matches == t.matches == sink.getvalue().count(b"\n")
    return sink.getvalue(), (t.lines, t.events, t.decoded, t.malformed, t.io_errors), bad, io


def _same(m, paths: list, label: str, jobs=(2, 3, 7), modes=None) -> None:
    modes = modes or [dict(scan=s) for s in BACKENDS] + [dict(prefilter=False)]
    for read in modes:
        one = _one_process(m, paths, **read)
        for j in jobs:
            got = _parallel(m, paths, j, **read)
            assert got == one, f"{label} {read} jobs={j}"


def test_plan_cuts_at_line_starts_and_covers_every_byte(tmp_path: Path) -> None:
    rng = random.Random(5)
    paths = []
    for k in range(3):
        data = b"".join(b"x" * rng.randint(0, 300) + (b"\r\n" if rng.random() < 0.2 else b"\n") for _ in range(200))
        if k == 1:
            data += b"no final newline"
        p = tmp_path / f"f{k}.ndjson"
        p.write_bytes(data)
        paths.append(str(p))
    (tmp_path / "empty.ndjson").write_bytes(b"")
    paths.insert(1, str(tmp_path / "empty.ndjson"))
    for jobs in (2, 3, 5, 40, 10_000):
        parts = parallel.plan(paths, jobs, min_bytes=1)
        segs = [s for part in parts for s in part]
        assert len(parts) <= jobs
        for p in paths:  # every file read once, whole, in order, cut only after a newline
            mine = [s for s in segs if s.path == p]
            data = Path(p).read_bytes()
            assert b"".join(data[s.start:s.stop] for s in mine) == data
            assert all(s.start == 0 or data[s.start - 1:s.start] == b"\n" for s in mine)
        assert [s.path for s in segs] == sorted((s.path for s in segs), key=paths.index)
    assert parallel.plan(paths, 8) is None  # a few KiB: not worth a process


def test_not_split_where_one_process_is_needed(tmp_path: Path) -> None:
    import gzip

    f = tmp_path / "e.ndjson"
    f.write_bytes(b'{"a":1}\n' * 10)
    gz = tmp_path / "e.ndjson.gz"
    gz.write_bytes(gzip.compress(f.read_bytes()))
    event = matcher('process where process.name == "dracut"')
    assert parallel.eligible(event, [str(f)])
    assert not parallel.eligible(event, [str(f)], sort=True)
    assert not parallel.eligible(event, ["-"])
    assert not parallel.eligible(event, [str(gz)])
    assert not parallel.eligible(event, [str(tmp_path)])
    assert not parallel.eligible(matcher('process where process.name == "dracut" | head 3'), [str(f)])
    assert not parallel.eligible(matcher('process where process.name == "dracut" | tail 3'), [str(f)])
    assert not parallel.eligible(matcher(STRESS_RULES[10]), [str(f)])  # a sequence
    assert not parallel.eligible(matcher(STRESS_RULES[12]), [str(f)])  # a sample
    assert not parallel.eligible(matcher('process where process.name == "dracut"', dialect="endgame"), [str(f)])


# the first six sample rules --jobs splits (single-event, no pipes); the others it reads in one
# process, which test_not_split_where_one_process_is_needed covers
SPLIT_RULES = [r for r in sample() if r.query.kind == "event" and not r.query.pipes][:6]


@pytest.mark.parametrize("rule", SPLIT_RULES, ids=rule_id)
def test_parallel_equals_one_process_on_corpus_witnesses(rule, tmp_path: Path) -> None:
    m = matcher(rule)
    assert parallel.eligible(m, [__file__])
    ws = generate(rule, _oracle())
    events = [{k: v for k, v in e.items() if k != "_note"} for e in ws.events]
    paths = [str(_write(tmp_path / f"{name}.ndjson", events, encode))
             for name, encode in encodings(seed=len(events)).items()]
    _same(m, paths, rule_id(rule), jobs=(4,))


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rule=st.sampled_from([r for r in STRESS_RULES if not r.startswith(("sequence", "sample"))]),
       seed=st.integers(0, 10**6), p=st.sampled_from([0.0, 0.05, 0.3, 1.0]), jobs=st.integers(2, 9),
       broken=st.booleans())
def test_parallel_equals_one_process_in_random_encodings(rule: str, seed: int, p: float, jobs: int, broken: bool,
                                                        tmp_path_factory) -> None:
    m = matcher(rule)
    rng = random.Random(seed)
    lines = [random_escapes(e, rng, p, False) for e in events_for(m.query, 60, seed)]
    if broken:  # malformed lines and blank lines anywhere: reported with the same numbers
        for _ in range(rng.randint(1, 30)):
            lines.insert(rng.randint(0, len(lines)), rng.choice([b"{broken", b"", b"[1]", b'{"a":'] + lines[:1]))
    d = tmp_path_factory.mktemp("par")
    cut = rng.randint(0, len(lines))
    a, b = d / "a.ndjson", d / "b.ndjson"
    a.write_bytes(b"\n".join(lines[:cut]) + (b"\n" if rng.random() < 0.5 else b""))
    b.write_bytes(b"\n".join(lines[cut:]))
    _same(m, [str(a), str(b)], rule, jobs=(jobs,))


def test_parallel_equals_one_process_on_the_edge_file(tmp_path: Path) -> None:
    """Needles and escapes on part boundaries, lines longer than a read window, no final newline."""
    path = tmp_path / "edge.ndjson"
    path.write_bytes(_edge_file(random.Random(7), 700))
    m = matcher('any where process.name == "dracut"')
    _same(m, [str(path), str(path)], "edge", jobs=(2, 13))
    # read windows inside the parts (4 KiB: the helper thread's trigger scan), adaptive on: the
    # output and the lines scanned are still the one-process reader's
    for adaptive in (False, True):
        parallel.READER_OPTIONS.update(window=4097, adaptive=adaptive)
        for read in [dict(scan=s) for s in BACKENDS]:
            one = _one_process(m, [str(path)], **read)
            got = _parallel(m, [str(path)], 5, count=True, **read)
            assert (got[0], got[1][0]) == (one[0], one[1][0]), (adaptive, read)


def test_cli_jobs_gives_the_same_output_summary_and_reports(tmp_path: Path, monkeypatch) -> None:
    """`eqlc match --jobs N` against --jobs 1: the same stdout, the same stderr (malformed lines
    numbered per file, only the first 20 reported), with --count too, and auto."""
    rng = random.Random(3)
    lines = []
    for i in range(3000):
        name = "dracut" if rng.random() < 0.2 else "bash"
        lines.append(orjson.dumps({"_id": i, "event": {"category": "process"}, "process": {"name": name}}))
        if rng.random() < 0.02:
            lines.append(b'{"process":{"name":"dracut"' if rng.random() < 0.5 else b"not json dracut")
    a, b = tmp_path / "a.ndjson", tmp_path / "b.ndjson"
    a.write_bytes(b"\n".join(lines[:1700]) + b"\n")
    b.write_bytes(b"\n".join(lines[1700:]))
    rule = 'process where process.name : "DRACUT"'
    monkeypatch.setattr(parallel, "MIN_BYTES_PER_JOB", 1000)
    one = eqlc(rule, str(a), str(b), "--jobs", "1")
    assert one.returncode == 0 and one.stderr.count(b"malformed line skipped") == 20, one.stderr
    assert b"further malformed lines are only counted" in one.stderr
    for jobs in ("2", "3", "16", "auto"):
        got = eqlc(rule, str(a), str(b), "--jobs", jobs)
        assert (got.returncode, got.stdout, got.stderr) == (one.returncode, one.stdout, one.stderr), jobs
        counted = eqlc(rule, str(a), str(b), "--jobs", jobs, "--count")
        assert counted.stdout == b"%d\n" % one.stdout.count(b"\n") and counted.stderr == one.stderr
    assert eqlc(rule, str(a), "--jobs", "0").returncode == 2
    assert eqlc(rule, str(a), "--jobs", "many").returncode == 2


def test_an_error_while_matching_comes_after_the_output_before_it(tmp_path: Path, monkeypatch) -> None:
    """An exception in any part (e.g. a regex over its budget) is raised by the parent after every
    match before it was printed, as one process prints them; matches after it are not printed."""
    import io as _io

    from eqlc.matcher.runtime import Match

    lines = [orjson.dumps({"_id": i, "event": {"category": "process"}, "process": {"name": "dracut"}}) for i in range(400)]
    path = tmp_path / "e.ndjson"
    path.write_bytes(b"\n".join(lines) + b"\n")
    m = matcher('process where process.name == "dracut"')
    real_run = type(m).run

    def run(reader, **kw):  # a matcher that fails on one event (forked children inherit it)
        for hit in real_run(m, reader, **kw):
            if hit.events[0]["_id"] == 301:
                raise RuntimeError("boom")
            yield Match(hit.events)

    monkeypatch.setattr(m, "run", run)
    one = _io.BytesIO()
    with pytest.raises(RuntimeError, match="boom"):
        for hit in m.run(m.read([str(path)])):
            one.write(orjson.dumps(hit.events[0]) + b"\n")
    for jobs in (2, 3, 6):
        sink = _io.BytesIO()
        with pytest.raises(RuntimeError, match="boom"):
            parallel.run(m, parallel.plan([str(path)], jobs, min_bytes=1), out=sink, encode=orjson.dumps)
        assert sink.getvalue() == one.getvalue() and one.getvalue().count(b"\n") == 301, jobs


def test_a_file_broken_in_one_part_contributes_nothing_after_the_break() -> None:
    """As one process stops reading a file at an I/O error, the parts of that file after the part
    where it broke are dropped; other files go on; the error is reported with the file's line count."""
    import io as _io

    P = parallel._Part
    seg = parallel.Segment
    parts = [P(lines=10, matches=1, out_end=2), P(lines=4, io_error=(4, OSError(5, "Input/output error")), out_end=2),
             P(lines=7, matches=2, out_end=6), P(lines=3, matches=1, out_end=8)]
    segs = [seg("a", 0, 100), seg("a", 100, 200), seg("a", 200, 300), seg("b", 0, 50)]
    outf = _io.BytesIO(b"a1a2a3a4")
    out, dead, seen, errors = _io.BytesIO(), set(), [], []

    def account(s, part, live):
        seen.append((s.path, s.start, part.lines))
        if part.io_error is not None:
            dead.add(s.path)
            errors.append((s.path, 10 + part.io_error[0]))

    parallel._merge(parts, segs, outf, out, dead, account, on_io_error=lambda *a: None)
    assert seen == [("a", 0, 10), ("a", 100, 4), ("b", 0, 3)]  # a's third part is dropped
    assert out.getvalue() == b"a1" + b"a4" and errors == [("a", 14)]
