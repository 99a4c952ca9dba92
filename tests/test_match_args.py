"""``eqlc match`` read without typer (eqlc.launch, commands/match_args.py) is the same command as read
by typer: the same options, and for every command line the fast reader accepts, the same
arguments to the command's body; everything else goes to typer, with its help and errors."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from eqlc.commands import match as match_cli
from eqlc.commands import match_args

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "examples" / "manual_dracut_execution"


def _typer_params() -> dict:
    """option -> (parameter, takes a value), from typer's own command."""
    app = typer.Typer()
    match_cli.register(app)
    app.command("noop", hidden=True)(lambda: None)
    command = typer.main.get_command(app).commands["match"]
    out = {}
    for p in command.params:
        if p.param_type_name == "option":
            for opt in p.opts:
                out[opt] = (p.name, not p.is_flag)
    return out


def test_the_fast_reader_knows_exactly_the_declared_options():
    assert match_args.OPTIONS == _typer_params()


def _via_typer(monkeypatch, args: list) -> dict:
    seen: dict = {}
    monkeypatch.setattr(match_cli, "run_match", lambda rule, events, **kw: seen.update(rule=rule, events=events, **kw))
    app = typer.Typer()
    match_cli.register(app)
    app.command("noop", hidden=True)(lambda: None)
    result = CliRunner().invoke(app, ["match", *args])
    assert result.exit_code == 0, (args, result.output)
    return seen


DEFAULTS = dict(count=False, sort=False, dialect="elasticsearch", mapping=None, category="event.category",
                timestamp="@timestamp", tiebreaker=None, no_prefilter=False, scan="auto", jobs="auto", no_cache=False)

ACCEPTED = [
    ["r.eql", "a.ndjson"],
    ["r.eql", "a.ndjson", "b.ndjson.gz", "-", "--count"],
    ["--count", "r.eql", "a.ndjson"],
    ["r.eql", "--jobs", "1", "a.ndjson", "--scan=stdlib"],
    ["r.eql", "a.ndjson", "--jobs", "2", "--jobs", "auto"],
    ["r.eql", "a.ndjson", "--dialect", "endgame", "--mapping", "m.json", "--event-category-field", "x.y",
     "--timestamp-field", "ts", "--tiebreaker-field=seq", "--no-prefilter", "--no-cache", "--sort"],
    ['process where process.name == "a b"', "a.ndjson", "--mapping=m.yaml"],
    ["r.eql", "a.ndjson", "--scan", "-"],
    ["r.eql", "a.ndjson", "--jobs="],
    ["", "a.ndjson"],
]


@pytest.mark.parametrize("args", ACCEPTED, ids=lambda a: " ".join(a) or "empty")
def test_both_readers_give_the_command_the_same_arguments(monkeypatch, args):
    fast = match_args.parse(list(args))
    assert fast is not None
    assert {**DEFAULTS, **fast} == _via_typer(monkeypatch, list(args))


@pytest.mark.parametrize("args", [
    [], ["r.eql"], ["--help"], ["r.eql", "a.ndjson", "--help"], ["r.eql", "a.ndjson", "--cou"],
    ["r.eql", "a.ndjson", "--count=1"], ["r.eql", "a.ndjson", "--jobs"], ["r.eql", "--", "a.ndjson"],
    ["r.eql", "a.ndjson", "-x"], ["r.eql", "a.ndjson", "--unknown", "1"],
], ids=lambda a: " ".join(a) or "none")
def test_anything_else_goes_to_typer(args):
    assert match_args.parse(list(args)) is None


def _eqlc(*args: str, **env: str) -> subprocess.CompletedProcess:
    full = {k: v for k, v in os.environ.items() if k != "EQLC_NO_CACHE"}
    full.update(env)
    run = """
import atexit, sys
atexit.register(lambda: sys.stderr.write("typer imported: %s\\n" % ("typer" in sys.modules)))
sys.argv = ["eqlc", *sys.argv[1:]]
from eqlc.launch import main
main()
"""
    return subprocess.run([sys.executable, "-c", run, *args], capture_output=True, text=True, env=full, cwd=ROOT)


def test_the_entry_point_runs_plain_matches_without_typer_and_the_rest_with_it(tmp_path):
    cache = str(tmp_path / "cache")
    args = ("match", str(EXAMPLE / "rule.toml"), str(EXAMPLE / "fixtures.ndjson"))
    fast = _eqlc(*args, "--count", EQLC_CACHE_DIR=cache)
    assert fast.returncode == 0 and int(fast.stdout) > 0 and "typer imported: False" in fast.stderr
    # the same run through typer (an option abbreviation the fast reader leaves to it is not one;
    # `--count` spelled after `--` is not either): compare with the typer command line itself
    slow = subprocess.run([sys.executable, "-c", "import sys; sys.argv=['eqlc', *sys.argv[1:]]; from eqlc.cli import main; main()",
                           *args, "--count"], capture_output=True, text=True, env={**os.environ, "EQLC_CACHE_DIR": cache}, cwd=ROOT)
    assert (slow.returncode, slow.stdout) == (fast.returncode, fast.stdout)
    assert slow.stderr.splitlines()[-1] == fast.stderr.splitlines()[-2]  # the summary line
    help_ = _eqlc("match", "--help")
    assert help_.returncode == 0 and "Usage: eqlc match" in help_.stdout and "typer imported: True" in help_.stderr
    bad = _eqlc("match", str(EXAMPLE / "rule.toml"))
    assert bad.returncode == 2 and "Missing argument" in bad.stderr
    missing = _eqlc("match", str(EXAMPLE / "rule.toml"), str(tmp_path / "none.ndjson"), EQLC_CACHE_DIR=cache)
    assert missing.returncode == 2 and "none.ndjson: error: no such file" in missing.stderr
    assert "typer imported: False" in missing.stderr
    broken = _eqlc("match", 'process where process.name == "a" and', str(EXAMPLE / "fixtures.ndjson"), EQLC_CACHE_DIR=cache)
    assert broken.returncode == 2 and "<query>:1:38: error: unexpected end of query" in broken.stderr
    assert "Traceback" not in broken.stderr
