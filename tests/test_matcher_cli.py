"""``eqlc match RULE EVENTS...``: NDJSON in and out, stdin, .gz, --count, malformed lines, errors."""

from __future__ import annotations

import gzip
import json
import subprocess
from pathlib import Path

import yaml

from .corpus import EXAMPLE_DIR

RULE = EXAMPLE_DIR / "rule.eql"
FIXTURES = EXAMPLE_DIR / "fixtures.ndjson"
EXPECTED = yaml.safe_load((EXAMPLE_DIR / "expectations.yaml").read_text())["rule.eql"]["matches"]


_APP = None


def eqlc(*args: str, stdin: bytes = b"") -> subprocess.CompletedProcess:
    """Run `eqlc match ...` in-process (typer's test runner: separate stdout/stderr bytes)."""
    global _APP
    from typer.testing import CliRunner

    if _APP is None:
        import typer

        from eqlc.commands import match

        _APP = typer.Typer()
        match.register(_APP)
        _APP.command("noop", hidden=True)(lambda: None)  # keep `match` a named sub-command
    result = CliRunner().invoke(_APP, ["match", *args], input=stdin)
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return subprocess.CompletedProcess(args, result.exit_code, result.stdout_bytes, result.stderr_bytes)


def test_matches_as_ndjson_from_file_stdin_and_gzip(tmp_path: Path) -> None:
    out = eqlc(str(RULE), str(FIXTURES))
    assert out.returncode == 0, out.stderr
    assert [json.loads(x)["_id"] for x in out.stdout.splitlines()] == EXPECTED
    n_events = len([x for x in FIXTURES.read_text().splitlines() if x.strip()])
    # every fixture line holds the rule's needle ("dracut"), so every line is decoded
    assert f"{n_events} lines scanned, {n_events} events decoded, {len(EXPECTED)} matches".encode() in out.stderr
    assert b'(prefilter: 1 needle: "dracut"' in out.stderr
    plain = eqlc(str(RULE), str(FIXTURES), "--no-prefilter")
    assert plain.stdout == out.stdout and f"{n_events} events, {len(EXPECTED)} matches\n".encode() == plain.stderr
    assert eqlc(str(RULE), str(FIXTURES), "--scan", "stdlib").stdout == out.stdout

    piped = eqlc(str(RULE), "-", stdin=FIXTURES.read_bytes())
    assert piped.stdout == out.stdout

    gz = tmp_path / "events.ndjson.gz"
    gz.write_bytes(gzip.compress(FIXTURES.read_bytes()))
    assert eqlc(str(RULE), str(gz)).stdout == out.stdout


def test_count_and_malformed_lines_reported_and_skipped(tmp_path: Path) -> None:
    bad = tmp_path / "bad.ndjson"
    lines = FIXTURES.read_bytes().splitlines()
    bad.write_bytes(b"\n".join(lines[:3] + [b"{not json", b"[1, 2]", b""] + lines[3:]) + b"\n")
    out = eqlc(str(RULE), str(bad), "--count", "--no-prefilter")
    assert out.returncode == 0
    assert out.stdout.strip() == str(len(EXPECTED)).encode()
    err = out.stderr.decode()
    assert f"{bad}:4: malformed line skipped: invalid JSON" in err
    assert f"{bad}:5: malformed line skipped: not a JSON object" in err
    assert "2 malformed lines skipped" in err
    # with the prefilter, lines without the rule's needle are not decoded (when most lines are
    # without it), so not validated; a malformed candidate line is reported with its number
    other = [json.dumps({"event": {"category": "process"}, "process": {"name": f"bash{i}"}}).encode() for i in range(300)]
    bad.write_bytes(b"\n".join(lines[:3] + [b"{not json", b"[1, 2]", b'{"dracut" oops'] + other + lines[3:]) + b"\n")
    pre = eqlc(str(RULE), str(bad), "--count")
    assert pre.stdout == out.stdout
    err = pre.stderr.decode()
    assert f"{bad}:6: malformed line skipped: invalid JSON" in err and "1 malformed line skipped" in err, err
    assert f"{len(lines) + 303} lines scanned, {len(lines)} events decoded" in err


def test_prefilter_off_is_said_and_bad_scan_is_a_usage_error(tmp_path: Path) -> None:
    mapping = tmp_path / "m.json"
    mapping.write_text(json.dumps({"properties": {"process": {"properties": {"name": {"type": "keyword", "null_value": "x"}}}}}))
    out = eqlc(str(RULE), str(FIXTURES), "--mapping", str(mapping))
    assert out.returncode == 0 and b"(prefilter off: the index mapping's process.name has null_value" in out.stderr
    bad = eqlc(str(RULE), str(FIXTURES), "--scan", "bogus")
    assert bad.returncode == 2 and b"unknown scan backend 'bogus'" in bad.stderr


def test_sequences_print_events_and_keys(tmp_path: Path) -> None:
    events = tmp_path / "seq.ndjson"
    docs = [{"_id": "a", "@timestamp": 1, "event": {"category": "process"}, "k": "x", "n": 1},
            {"_id": "b", "@timestamp": 2, "event": {"category": "process"}, "k": "x", "n": 2}]
    events.write_text("\n".join(json.dumps(d) for d in docs) + "\n")
    q = "sequence by k [process where n == 1] [process where n == 2]"
    out = eqlc(q, str(events))
    assert out.returncode == 0, out.stderr
    (line,) = out.stdout.splitlines()
    doc = json.loads(line)
    assert [e["_id"] for e in doc["events"]] == ["a", "b"] and doc["keys"] == ["x"]
    # unsorted input to a sequence: a clear error (exit 2) suggesting --sort, which fixes it
    events.write_text("\n".join(json.dumps(d) for d in reversed(docs)) + "\n")
    err = eqlc(q, str(events))
    assert err.returncode == 2 and b"--sort" in err.stderr and b"Traceback" not in err.stderr
    assert eqlc(q, str(events), "--sort").stdout == out.stdout


def test_bad_rule_is_a_located_error_without_traceback(tmp_path: Path) -> None:
    rule = tmp_path / "bad.eql"
    rule.write_text('process where process.name = "x"\n')
    out = eqlc(str(rule), str(FIXTURES))
    assert out.returncode == 2
    err = out.stderr.decode()
    assert f"{rule}:1:28: error: Use == instead of = for equality" in err
    assert "Traceback" not in err
    missing = eqlc(str(RULE), str(tmp_path / "nope.ndjson"))
    assert missing.returncode == 2 and b"no such file" in missing.stderr


def test_progress_bar_path_streams_the_same_events() -> None:
    """The progress bar (shown when stdout is a terminal) wraps the reader without changing it."""
    from eqlc.commands.match import Reader, _with_progress

    plain = list(Reader([str(FIXTURES)]))
    shown = list(_with_progress(Reader([str(FIXTURES)]), True))
    assert shown == plain and len(plain) == len(FIXTURES.read_text().splitlines())


def test_pruned_query_does_not_read_an_endless_stream() -> None:
    import itertools

    from eqlc.matcher import infer_mapping, matcher

    m = matcher('any where ?f != null', mapping=infer_mapping([], {"properties": {}}))
    assert m.pruned
    assert list(m.run(({"i": i} for i in itertools.count()))) == []
