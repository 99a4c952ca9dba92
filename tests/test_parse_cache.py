"""eqlc.parse_cache: ``eqlc match`` loads a rule's parse from a disk cache instead of importing
Lark and parsing it again (start-up, issue 18 goal 5). The cache may make the command faster,
never different: same matches, same errors (with line and column), any unreadable entry parsed
afresh, and nothing is written when it is turned off."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from eqlc import parse_cache, parser
from eqlc.cli import _register, app

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "examples" / "manual_dracut_execution"


def _env(cache: Path, **extra: str) -> dict:
    env = {k: v for k, v in os.environ.items() if k != "EQLC_NO_CACHE"}
    env.update(EQLC_CACHE_DIR=str(cache), **extra)
    return env


def _match(env: dict, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-X", "importtime", "-m", "eqlc", "match", *args],
                          capture_output=True, text=True, env=env, cwd=ROOT)


def _imported(stderr: str, module: str) -> bool:
    return any(line.split("|")[-1].strip() == module for line in stderr.splitlines() if line.startswith("import time:"))


def test_second_run_loads_the_parse_without_lark_and_matches_the_same(tmp_path):
    env = _env(tmp_path / "cache")
    args = (str(EXAMPLE / "rule.toml"), str(EXAMPLE / "fixtures.ndjson"), "--count")
    first, second = _match(env, *args), _match(env, *args)
    assert first.returncode == second.returncode == 0, (first.stderr[-2000:], second.stderr[-2000:])
    assert first.stdout == second.stdout and int(first.stdout) > 0
    assert _imported(first.stderr, "lark") and not _imported(second.stderr, "lark")
    entries = list((tmp_path / "cache" / "ir").iterdir())
    assert len(entries) == 1 and entries[0].stat().st_mode & 0o077 == 0
    assert (tmp_path / "cache" / "ir").stat().st_mode & 0o077 == 0
    off = _match(_env(tmp_path / "cache", EQLC_NO_CACHE="1"), *args)
    assert off.stdout == first.stdout and _imported(off.stderr, "lark")


def test_turned_off_writes_nothing(tmp_path):
    args = (str(EXAMPLE / "rule.eql"), str(EXAMPLE / "fixtures.ndjson"), "--count")
    assert _match(_env(tmp_path / "a", EQLC_NO_CACHE="1"), *args).returncode == 0
    assert _match(_env(tmp_path / "b"), *args, "--no-cache").returncode == 0
    assert not (tmp_path / "a").exists() and not (tmp_path / "b").exists()


def test_errors_are_never_cached_and_keep_their_position(tmp_path):
    env = _env(tmp_path / "cache")
    bad = 'process where process.name == "a" and'
    runs = [_match(env, bad, str(EXAMPLE / "fixtures.ndjson")) for _ in range(2)]
    assert runs[0].returncode == runs[1].returncode != 0
    errors = [[line for line in r.stderr.splitlines() if "error:" in line] for r in runs]
    assert errors[0] == errors[1] and errors[0][0].startswith("<query>:1:38: error: unexpected end of query")
    assert not (tmp_path / "cache" / "ir").exists() or not any((tmp_path / "cache" / "ir").iterdir())


def test_an_unreadable_entry_is_parsed_afresh(tmp_path):
    cache = parse_cache.ParseCache(tmp_path)
    text = 'process where process.name : "dracut" and process.args : "-f*"'
    query = parser.parse_query(text)
    cache.store(text, "elasticsearch", query)
    assert cache.load(text, "elasticsearch") == query
    assert cache.load(text, "endgame") is None  # the dialect is part of the key
    assert cache.load(text + " ", "elasticsearch") is None
    (entry,) = (tmp_path / "ir").iterdir()
    entry.write_bytes(entry.read_bytes()[:40])  # truncated
    assert cache.load(text, "elasticsearch") is None
    entry.write_bytes(b"\x80\x05K\x01.")  # a valid pickle of something else (the int 1)
    assert cache.load(text, "elasticsearch") is None


def test_an_unwritable_cache_costs_nothing_but_time(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    run = _match(_env(blocker / "sub"), str(EXAMPLE / "rule.eql"), str(EXAMPLE / "fixtures.ndjson"), "--count")
    assert run.returncode == 0 and int(run.stdout) > 0


def test_the_key_covers_the_code_that_parses():
    names = {f.name for f in parse_cache.fingerprint_files()}
    assert {"parser.py", "transform.py", "ir.py", "checks.py", "eql.lark", "lalr_tables.py", "__init__.py"} <= names
    lark_init = [f for f in parse_cache.fingerprint_files() if f.parent.name == "lark"]
    assert lark_init, "Lark's version file is part of the key"


def test_in_process_match_leaves_the_cache_off(tmp_path, monkeypatch):
    monkeypatch.delenv("EQLC_NO_CACHE", raising=False)
    monkeypatch.setenv("EQLC_CACHE_DIR", str(tmp_path))
    _register(["match"])
    result = CliRunner().invoke(app, ["match", str(EXAMPLE / "rule.eql"), str(EXAMPLE / "fixtures.ndjson"), "--count"])
    assert result.exit_code == 0, result.output
    assert parser.DISK_CACHE is None
    assert any((tmp_path / "ir").iterdir())


@pytest.mark.parametrize("value,expected", [("1", None), ("0", "set"), ("", "set")])
def test_no_cache_variable(monkeypatch, tmp_path, value, expected):
    monkeypatch.setenv("EQLC_NO_CACHE", value)
    monkeypatch.setenv("EQLC_CACHE_DIR", str(tmp_path))
    got = parse_cache.default_dir()
    assert (got is None) if expected is None else got == tmp_path
