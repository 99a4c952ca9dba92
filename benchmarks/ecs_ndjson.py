"""Realistic ECS NDJSON for the hunting benchmarks (bench_ndjson.py): deterministic for a seed.

The mix follows ../shared/research/perf-probe.md section 2: about 460 bytes per line; 85% process,
8% network, 7% file events; hosts 72% Linux, 20% Windows, 8% macOS; Elastic Defend field layout
(ECS arrays for ``event.category``/``event.type``/``*.args``, ``agent.type``). Dracut executions are about 0.4% of lines, and ``dracut`` appears in about 0.7% of them
(file events under /usr/lib/dracut, dracut-install children). A few lines in every 10,000 are
written another way: raw non-ASCII, ``\\uXXXX``-escaped (Python's ensure_ascii), every ``/``
escaped as ``\\/``, dotted keys (``"process.name": ...``), spaced separators; plus fixed edge lines
such as ``"dr\\u0061cut"`` that only a decoder sees as ``dracut``.

``scalar_copy`` writes the same events with ECS arrays replaced by their first element, for the
``eql`` package, which cannot evaluate arrays (its ``==`` on a list is false); the benchmark asserts
that eql finds the same number of matches on that copy as eqlc on the real file.

    python benchmarks/ecs_ndjson.py OUT.ndjson --lines 1000000 [--seed 18] [--scalar OUT2.ndjson]
"""

from __future__ import annotations

import argparse
import json
import random
from pathlib import Path
from typing import Iterator

import orjson

T0 = 1_764_900_000_000  # ms

LINUX_PROCS = [
    ("bash", "/usr/bin/bash"), ("sh", "/usr/bin/sh"), ("python3", "/usr/bin/python3.11"), ("sshd", "/usr/sbin/sshd"),
    ("systemd", "/usr/lib/systemd/systemd"), ("cron", "/usr/sbin/cron"), ("sudo", "/usr/bin/sudo"),
    ("ls", "/usr/bin/ls"), ("grep", "/usr/bin/grep"), ("curl", "/usr/bin/curl"), ("cat", "/usr/bin/cat"),
    ("awk", "/usr/bin/awk"), ("sed", "/usr/bin/sed"), ("node", "/usr/local/bin/node"), ("java", "/usr/bin/java"),
    ("find", "/usr/bin/find"), ("tar", "/usr/bin/tar"), ("gzip", "/usr/bin/gzip"), ("ps", "/usr/bin/ps"),
    ("ssh", "/usr/bin/ssh"), ("wget", "/usr/bin/wget"), ("apt-get", "/usr/bin/apt-get"), ("dpkg", "/usr/bin/dpkg"),
    ("containerd-shim", "/usr/bin/containerd-shim-runc-v2"), ("runc", "/usr/bin/runc"), ("kubelet", "/usr/bin/kubelet"),
]
LINUX_PARENTS = ["bash", "sh", "systemd", "sshd", "cron", "sudo", "python3", "run-parts", "containerd-shim", "node", "java"]
LINUX_ARGS = ["-c", "-f", "--force", "-v", "/etc/passwd", "install", "-e", "/var/log/syslog", "-la", "/tmp/build.sh",
              "https://repo.example.com/pkg.tar.gz", "--quiet", "-rf", "/home/deploy/app", "status", "-n", "100"]
WIN_PROCS = [
    ("svchost.exe", "C:\\Windows\\System32\\svchost.exe"), ("powershell.exe", "C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe"),
    ("cmd.exe", "C:\\Windows\\System32\\cmd.exe"), ("chrome.exe", "C:\\Program Files\\Google\\Chrome\\Application\\chrome.exe"),
    ("explorer.exe", "C:\\Windows\\explorer.exe"), ("conhost.exe", "C:\\Windows\\System32\\conhost.exe"),
    ("msedge.exe", "C:\\Program Files (x86)\\Microsoft\\Edge\\Application\\msedge.exe"), ("rundll32.exe", "C:\\Windows\\System32\\rundll32.exe"),
    ("taskhostw.exe", "C:\\Windows\\System32\\taskhostw.exe"), ("MsMpEng.exe", "C:\\ProgramData\\Microsoft\\Windows Defender\\Platform\\4.18.24090.11-0\\MsMpEng.exe"),
    ("OneDrive.exe", "C:\\Users\\alice\\AppData\\Local\\Microsoft\\OneDrive\\OneDrive.exe"), ("wmiprvse.exe", "C:\\Windows\\System32\\wbem\\WmiPrvSE.exe"),
    ("updater.exe", "C:\\ProgramData\\vendor\\update\\updater.exe"),
]
WIN_PARENTS = ["explorer.exe", "services.exe", "svchost.exe", "cmd.exe", "userinit.exe", "chrome.exe", "wininit.exe"]
MAC_PROCS = [("zsh", "/bin/zsh"), ("launchd", "/sbin/launchd"), ("mdworker_shared", "/System/Library/Frameworks/CoreServices.framework/mdworker_shared"),
             ("Safari", "/Applications/Safari.app/Contents/MacOS/Safari"), ("softwareupdated", "/System/Library/PrivateFrameworks/SoftwareUpdate.framework/softwareupdated")]
USERS = ["root", "alice", "bob", "www-data", "deploy", "SYSTEM", "svc_backup"]
DRACUT_PARENTS = [  # (name, executable, args): most not excluded by the seed rule
    ("bash", "/usr/bin/bash", ["bash"]), ("sudo", "/usr/bin/sudo", ["sudo", "dracut", "-f"]),
    ("sh", "/usr/bin/sh", ["sh", "-c", "dracut --regenerate-all"]), ("run-parts", "/usr/bin/run-parts", ["run-parts", "/etc/kernel/postinst.d"]),
    ("kernel-install", "/usr/lib/kernel/install.d/50-dracut.install", ["kernel-install", "add"]),
    ("python3", "/usr/bin/python3.11", ["python3", "/opt/tools/rebuild.py"]), ("rpm", "/tmp/rpm-tmp.x1", ["/var/tmp/rpm-tmp.x1"]),
]


def _ts(i: int) -> str:
    ms = T0 + i * 3
    s, milli = divmod(ms, 1000)
    import time

    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(s)) + f".{milli:03d}Z"


def _meta(rnd: random.Random, dataset: str) -> dict:
    return {"agent": {"type": "endpoint"}}


def _host(rnd: random.Random, os_type: str) -> dict:
    n = rnd.randrange(300)
    family = {"linux": "debian", "windows": "windows", "macos": "macos"}[os_type]
    return {"name": f"{os_type[:3]}-{n:03d}", "id": f"{n:08x}", "os": {"type": os_type, "family": family}}


def _proc(rnd: random.Random, os_type: str, i: int) -> dict:
    if os_type == "linux":
        name, exe = rnd.choice(LINUX_PROCS)
        parent = rnd.choice(LINUX_PARENTS)
        pexe = f"/usr/bin/{parent}"
        args = [name] + rnd.sample(LINUX_ARGS, rnd.randint(0, 3))
        wd = rnd.choice(["/", "/root", "/tmp", "/home/deploy", "/var/www"])
    elif os_type == "windows":
        name, exe = rnd.choice(WIN_PROCS)
        parent = rnd.choice(WIN_PARENTS)
        pexe = "C:\\Windows\\System32\\" + parent
        args = [exe] + rnd.sample(["-k", "netsvcs", "-p", "/c", "start", "--type=renderer", "-s", "Schedule"], rnd.randint(0, 3))
        wd = "C:\\Windows\\system32\\"
    else:
        name, exe = rnd.choice(MAC_PROCS)
        parent = "launchd"
        pexe = "/sbin/launchd"
        args = [exe] + rnd.sample(["-s", "--background", "-x"], rnd.randint(0, 2))
        wd = "/"
    return {
        "name": name, "executable": exe, "pid": 1000 + i % 60000, "entity_id": f"{i:016x}",
        "args": args, "args_count": len(args), "command_line": " ".join(args), "working_directory": wd,
        "parent": {"name": parent, "executable": pexe, "pid": 900 + i % 7000, "args": [parent], "command_line": parent},
    }


def _dracut(rnd: random.Random, i: int) -> dict:
    pname, pexe, pargs = rnd.choice(DRACUT_PARENTS)
    args = ["dracut"] + rnd.sample(["-f", "--regenerate-all", "--kver", "5.15.0-91-generic", "-v"], rnd.randint(0, 2))
    return {
        "name": "dracut", "executable": "/usr/bin/dracut", "pid": 1000 + i % 60000, "entity_id": f"{i:016x}",
        "args": args, "args_count": len(args), "command_line": " ".join(args), "working_directory": "/root",
        "parent": {"name": pname, "executable": pexe, "pid": 900 + i % 7000, "args": pargs, "command_line": " ".join(pargs)},
    }


def event(i: int, rnd: random.Random) -> dict:
    """The ``i``-th event of the stream."""
    r = rnd.random()
    os_type = "linux" if r < 0.72 else "windows" if r < 0.92 else "macos"
    kind = rnd.random()
    ts = _ts(i)
    user = {"name": rnd.choice(USERS), "id": str(rnd.choice([0, 1000, 1001, 33, 18]))}
    if kind < 0.85:
        etype = rnd.choice(["start", "start", "start", "end"])
        if os_type == "linux" and rnd.random() < 0.0068:
            proc = _dracut(rnd, i)
            etype = "start"
        else:
            proc = _proc(rnd, os_type, i)
            if os_type == "linux" and rnd.random() < 0.0012:  # dracut's own children
                proc["name"], proc["executable"] = "dracut-install", "/usr/lib/dracut/dracut-install"
                proc["parent"].update(name="dracut", executable="/usr/bin/dracut", args=["dracut", "-f"], command_line="dracut -f")
        action = {"linux": "exec", "windows": "start", "macos": "exec"}[os_type] if etype == "start" else "end"
        doc = {"@timestamp": ts, **_meta(rnd, "endpoint.events.process"),
               "event": {"category": ["process"], "type": [etype], "action": action, "kind": "event"},
               "host": _host(rnd, os_type), "process": proc, "user": user}
    elif kind < 0.93:
        proc = _proc(rnd, os_type, i)
        doc = {"@timestamp": ts, **_meta(rnd, "endpoint.events.network"),
               "event": {"category": ["network"], "type": ["start"], "action": "connection_attempted", "kind": "event"},
               "host": _host(rnd, os_type),
               "process": {"name": proc["name"], "executable": proc["executable"], "pid": proc["pid"], "entity_id": proc["entity_id"]},
               "source": {"ip": f"10.{rnd.randrange(256)}.{rnd.randrange(256)}.{rnd.randrange(1, 255)}", "port": rnd.randrange(1024, 65535)},
               "destination": {"ip": f"{rnd.randrange(1, 224)}.{rnd.randrange(256)}.{rnd.randrange(256)}.{rnd.randrange(1, 255)}",
                               "port": rnd.choice([443, 80, 53, 22, 8080, 3389])},
               "network": {"direction": "egress", "transport": "tcp", "type": "ipv4"}, "user": user}
    else:
        proc = _proc(rnd, os_type, i)
        if os_type == "linux":
            d = rnd.choice(["/etc/", "/tmp/", "/var/log/", "/home/deploy/.cache/", "/usr/lib/dracut/modules.d/90kernel/" if rnd.random() < 0.3 else "/usr/lib/python3/"])
            fname = rnd.choice(["config.yaml", "app.log", "passwd", ".bashrc", "module-setup.sh", "cache.db"])
        elif os_type == "windows":
            d = rnd.choice(["C:\\Windows\\Temp\\", "C:\\Users\\alice\\AppData\\Local\\Temp\\", "C:\\ProgramData\\vendor\\"])
            fname = rnd.choice(["setup.log", "tmp1A2B.tmp", "report.docx", "update.ps1"])
        else:
            d = rnd.choice(["/Users/bob/Library/Caches/", "/private/var/folders/", "/tmp/"])
            fname = rnd.choice(["cache.db", "com.apple.plist", "install.log"])
        doc = {"@timestamp": ts, **_meta(rnd, "endpoint.events.file"),
               "event": {"category": ["file"], "type": [rnd.choice(["creation", "change", "deletion"])],
                         "action": rnd.choice(["creation", "modification", "deletion"]), "kind": "event"},
               "host": _host(rnd, os_type),
               "file": {"path": d + fname, "name": fname, "extension": fname.rsplit(".", 1)[-1]},
               "process": {"name": proc["name"], "executable": proc["executable"], "pid": proc["pid"], "entity_id": proc["entity_id"]},
               "user": user}
    return doc


def _dotted(doc: dict) -> dict:
    """``{"process": {"name": x}}`` -> ``{"process.name": x}`` for the process and host objects."""
    out = {}
    for k, v in doc.items():
        if k in ("process", "host") and isinstance(v, dict):
            for k2, v2 in v.items():
                out[f"{k}.{k2}"] = v2
        else:
            out[k] = v
    return out


EDGE_LINES = [
    # (every field the seed rule reads is present: eql reads a missing field in `not (...)` as null,
    # Elasticsearch as false)
    # a dracut execution only a decoder sees: the name spelled with an escape, slashes escaped
    '{"@timestamp":"2025-12-05T02:00:00.000Z","event":{"category":["process"],"type":["start"],"action":"exec"},'
    '"host":{"os":{"type":"linux"}},"process":{"name":"dr\\u0061cut","executable":"\\/usr\\/bin\\/dracut",'
    '"args":["dracut"],"parent":{"name":"bash","executable":"\\/usr\\/bin\\/bash","args":["bash"],"command_line":"bash"}}}',
    '{"@timestamp":"2025-12-05T02:00:01.000Z","event":{"category":["process"],"type":["start"],"action":"exec"},'
    '"host":{"os":{"type":"linux"}},"process":{"name":"\\u0064\\u0072\\u0061\\u0063\\u0075\\u0074",'
    '"executable":"/usr/bin/dracut","args":["dracut"],"parent":{"name":"sh","executable":"/bin/sh","args":["sh"],"command_line":"sh"}}}',
    # excluded by the rule only through an escaped slash in the parent's path
    '{"@timestamp":"2025-12-05T02:00:02.000Z","event":{"category":["process"],"type":["start"],"action":"exec"},'
    '"host":{"os":{"type":"linux"}},"process":{"name":"dracut","executable":"/usr/bin/dracut","args":["dracut"],'
    '"parent":{"name":"kernel-install","executable":"\\/usr\\/lib\\/kernel\\/install.d\\/50-dracut.install","args":["x"],'
    '"command_line":"x"}}}',
    # no needle, malformed: skipped by the prefilter, reported by --no-prefilter
    '{"@timestamp": "2025-12-05T02:00:03.000Z", "event": {"category": ["process"]',
]


def lines(n: int, seed: int = 18, scalar: bool = False) -> Iterator[bytes]:
    """``n`` NDJSON lines (without newlines); ``scalar``: arrays replaced by their first element."""
    rnd = random.Random(seed)
    special = random.Random(seed + 1)
    edge_at = {int(n * (k + 1) / (len(EDGE_LINES) + 1)): k for k in range(len(EDGE_LINES))}
    for i in range(n):
        if i in edge_at:
            text = EDGE_LINES[edge_at[i]]
            if scalar:
                try:
                    text = json.dumps(_scalar(json.loads(text)))
                except ValueError:
                    pass
            yield text.encode()
            continue
        doc = event(i, rnd)
        if scalar:
            doc = _scalar(doc)
        r = special.random()
        if r < 0.0005:  # raw non-ASCII
            doc["user"]["full_name"] = "José Müller 李"
            yield orjson.dumps(doc)
        elif r < 0.0010:  # Python's default: ensure_ascii escapes, spaced separators
            doc["user"]["full_name"] = "Zoë Ørsted"
            yield json.dumps(doc).encode()
        elif r < 0.0015:  # PHP's default: every slash escaped
            yield orjson.dumps(doc).replace(b"/", b"\\/")
        elif r < 0.0020 and not (doc.get("process", {}).get("name") == "dracut"):
            yield orjson.dumps(_dotted(doc))  # dotted keys (non-matching: DuckDB reads only nested objects)
        else:
            yield orjson.dumps(doc)


def _scalar(doc):
    if isinstance(doc, dict):
        return {k: _scalar(v) for k, v in doc.items()}
    if isinstance(doc, list):
        return _scalar(doc[0]) if doc else None
    return doc


def write(path: Path, n: int, seed: int = 18, scalar: bool = False) -> Path:
    """Write the file unless it is already there (keyed by name by the caller)."""
    if path.exists():
        return path
    tmp = path.with_suffix(path.suffix + ".part")
    with open(tmp, "wb") as f:
        buf = []
        for line in lines(n, seed, scalar):
            buf.append(line)
            if len(buf) >= 10000:
                f.write(b"\n".join(buf) + b"\n")
                buf.clear()
        if buf:
            f.write(b"\n".join(buf) + b"\n")
    tmp.rename(path)
    return path


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("out", type=Path)
    ap.add_argument("--lines", type=int, default=1_000_000)
    ap.add_argument("--seed", type=int, default=18)
    ap.add_argument("--scalar", type=Path, help="also write the scalar copy for eql here")
    args = ap.parse_args()
    write(args.out, args.lines, args.seed)
    if args.scalar:
        write(args.scalar, args.lines, args.seed, scalar=True)


if __name__ == "__main__":
    main()
