"""Input and output faults end in a clear error and an exit code, never a traceback, and nothing
already found is lost (issue 19).

Exit codes: 2 bad input or usage (``-o`` naming a file), 74 (sysexits EX_IOERR) when an input
could not be read or an output could not be written. A full disk is a real 64 KiB tmpfs where
this machine allows mounting one (CI runs as root), else ENOSPC from /dev/full."""

from __future__ import annotations

import contextlib
import gzip
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from eqlc.atomic import OutputError, write_atomic

from tests.corpus import EXAMPLE_DIR

from .conftest import run_cli

EV = {"event": {"category": "process"}, "process": {"name": "x"}}


@pytest.fixture
def rule(tmp_path) -> Path:
    p = tmp_path / "all.eql"
    p.write_text("process where true\n")
    return p


def _events(n: int) -> bytes:
    return b"".join(json.dumps(dict(EV, n=i)).encode() + b"\n" for i in range(n))


def test_truncated_gzip_keeps_the_matches_before_the_break(tmp_path, rule):
    data = gzip.compress(_events(5000))
    trunc = tmp_path / "trunc.ndjson.gz"
    trunc.write_bytes(data[: len(data) // 2])
    good = tmp_path / "good.ndjson"
    good.write_bytes(_events(3))
    res = run_cli("match", str(rule), str(trunc), str(good))
    err = res.stderr.decode()
    assert res.returncode == 74 and "Traceback" not in err
    assert f"{trunc}: error: cannot read after line" in err and "truncated or corrupt gzip" in err
    lines = res.stdout.splitlines()
    kept = int(err.split("after line ")[1].split(":")[0])
    assert 0 < kept < 5000 and len(lines) == kept + 3  # every event read before the break, then the next file
    assert json.loads(lines[-1])["n"] == 2


@pytest.mark.parametrize("kind", ["corrupt-gz", "directory", "unreadable"])
def test_unreadable_inputs(tmp_path, rule, kind):
    if kind == "corrupt-gz":
        bad = tmp_path / "bad.gz"
        bad.write_bytes(b"not gzip at all")
    elif kind == "directory":
        bad = tmp_path / "events"
        bad.mkdir()
    else:
        bad = Path("/proc/self/mem")  # readable by name, every read fails with EIO (root reads any mode)
    good = tmp_path / "good.ndjson"
    good.write_bytes(_events(2))
    res = run_cli("match", str(rule), str(bad), str(good), "--count")
    assert res.returncode == 74 and b"Traceback" not in res.stderr
    assert res.stdout.strip() == b"2" and f"{bad}: error: cannot read".encode() in res.stderr


def test_full_stdout(rule, tmp_path):
    ev = tmp_path / "ev.ndjson"
    ev.write_bytes(_events(10))
    with open("/dev/full", "wb") as full:
        res = run_cli("match", str(rule), str(ev), stdout=full)
    assert res.returncode == 74 and b"No space left on device" in res.stderr and b"Traceback" not in res.stderr
    # a closed pipe (| head) is not an error and prints no traceback
    p = subprocess.Popen([sys.executable, "-m", "eqlc", "match", str(rule), str(ev)],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    p.stdout.close()
    _, err = p.communicate(timeout=120)
    assert b"Traceback" not in err


@pytest.mark.parametrize("command", [["compile", "--target", "python"], ["report", "--targets", "python"], ["fixtures"]])
def test_output_option_naming_a_file(tmp_path, command):
    target = tmp_path / "report.json"
    target.write_text("keep me")
    res = run_cli(command[0], str(EXAMPLE_DIR / "rule.eql"), *command[1:], "-o", str(target))
    assert res.returncode == 2 and b"is not a directory" in res.stderr and b"Traceback" not in res.stderr
    assert target.read_text() == "keep me"


@contextlib.contextmanager
def _tiny_disk():
    """A 64 KiB tmpfs (root, as on CI); None when mounting is not permitted here."""
    mnt = tempfile.mkdtemp(prefix="eqlc-full-")
    ok = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", mnt], capture_output=True).returncode == 0 \
        if shutil.which("mount") else False
    try:
        yield Path(mnt) if ok else None
    finally:
        if ok:
            subprocess.run(["umount", mnt], capture_output=True)
        os.rmdir(mnt)


def test_full_disk_report_is_complete_or_absent(tmp_path):
    with _tiny_disk() as disk:
        if disk is None:
            pytest.fail("cannot mount a tmpfs here; the atomic-write test below still runs on /dev/full")
        out = disk / "report"
        out.mkdir()
        (out / "report.json").write_text('{"previous": true}')
        rules = tmp_path / "rules"
        rules.mkdir()
        shutil.copy(EXAMPLE_DIR / "rule.toml", rules / "a.toml")
        res = run_cli("report", str(rules), "-o", str(out), "--targets", "python,spl", "--jobs", "1")
        err = res.stderr.decode()
        assert res.returncode == 74 and "No space left on device" in err and "Traceback" not in err, err[-2000:]
        assert json.loads((out / "report.json").read_text()) in ({"previous": True},) or (out / "report.json").stat().st_size > 1000
        assert not [p for p in out.iterdir() if p.name.startswith(".")]  # no temporary file left behind
        for p in out.iterdir():
            assert p.stat().st_size > 0  # never a truncated 0-byte file


def test_atomic_write_keeps_previous_content(tmp_path, monkeypatch):
    dest = tmp_path / "report.json"
    dest.write_text("previous")
    real_fsync = os.fsync

    def full(fd):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", full)
    with pytest.raises(OutputError, match="No space left on device"):
        write_atomic(dest, "new" * 1000)
    monkeypatch.setattr(os, "fsync", real_fsync)
    assert dest.read_text() == "previous" and [p.name for p in tmp_path.iterdir()] == ["report.json"]
    write_atomic(dest, "new")
    assert dest.read_text() == "new"
