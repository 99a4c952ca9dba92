"""``eqlc report`` bounds each rule's time and leaves no worker behind (issue 19).

* ``--rule-timeout``: a rule that runs past it becomes an error row naming the timeout, and the
  other rules of the batch (same file and other files) are still verified;
* the spawn-pool workers die with the parent: after SIGKILL of ``eqlc report``, every worker is
  gone within seconds (PR_SET_PDEATHSIG plus a re-parenting watchdog)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from .conftest import run_cli


def _slow_rule(values: int = 3000) -> str:
    # witness generation for a long in-list takes tens of seconds: a slow rule made of ordinary EQL
    return "process where process.name in (" + ", ".join(f'"v{i:05d}.exe"' for i in range(values)) + ")\n"


def test_rule_timeout_keeps_the_batch(tmp_path):
    src = tmp_path / "rules"
    src.mkdir()
    (src / "a_slow.eql").write_text(_slow_rule())
    (src / "b_fast.eql").write_text('process where process.name == "dracut"\n')
    out = tmp_path / "out"
    res = run_cli("report", str(src), "-o", str(out), "--targets", "python", "--jobs", "1", "--rule-timeout", "2", "--json", timeout=300)
    assert res.returncode == 0, res.stderr.decode()[-2000:]
    report = json.loads((out / "report.json").read_text())
    rows = {Path(r["rule"]).name: r for r in report["rules"]}
    assert "timed out after 2 s" in rows["a_slow.eql"]["error"]
    assert rows["b_fast.eql"]["error"] is None and rows["b_fast.eql"]["targets"][0]["verdict"] == "verified"


def _children(pid: int) -> set[int]:
    out = set()
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                with open(f"/proc/{d}/stat") as f:
                    if int(f.read().rsplit(")", 1)[1].split()[1]) == pid:
                        out.add(int(d))
            except (OSError, IndexError, ValueError):
                pass
    return out


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def test_no_orphan_workers_after_the_parent_is_killed(tmp_path):
    src = tmp_path / "rules"
    src.mkdir()
    for i in range(2):
        (src / f"slow{i}.eql").write_text(_slow_rule())
    parent = subprocess.Popen([sys.executable, "-m", "eqlc", "report", str(src), "-o", str(tmp_path / "out"), "--jobs", "2",
                               "--targets", "python"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        workers: set[int] = set()
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and len(workers) < 2:
            # spawn workers are the parent's children (plus multiprocessing's resource tracker)
            workers = {p for p in _children(parent.pid) if "spawn_main" in Path(f"/proc/{p}/cmdline").read_bytes().decode(errors="replace")}
            time.sleep(0.2)
        assert len(workers) >= 1, "no worker process started"
        time.sleep(1)
        parent.send_signal(signal.SIGKILL)
        parent.wait(10)
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline and any(_alive(w) for w in workers):
            time.sleep(0.2)
        assert not [w for w in workers if _alive(w)], "worker processes survived the parent"
    finally:
        if parent.poll() is None:
            parent.kill()
