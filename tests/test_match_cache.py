"""eqlc.match_cache: ``eqlc match`` rebuilds a rule's matcher from its stored compiled code instead
of importing the loaders, the parser, the IR and the code generator (start-up, issue 18 goals 1
and 5). The cache may make the command faster, never different: the same matches, summary and
errors; an entry is used only for the same rule bytes, options and eqlc code; anything unreadable
is compiled afresh."""

from __future__ import annotations

import inspect
import os
import subprocess
import sys
from pathlib import Path

import pytest

import eqlc
from eqlc import match_cache
from eqlc.matcher import CompiledMatcher, matcher
from eqlc.matcher import from_ir
from eqlc.matcher.compiled import NeedleSummary
from tests.corpus import rule_id, sample

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "examples" / "manual_dracut_execution"
# what a hit must not import: the compiler (the point of the cache)
COMPILER = ("lark", "eqlc.parser", "eqlc.ir", "eqlc.loaders", "eqlc.matcher.codegen", "eqlc.matcher.from_ir",
            "eqlc.matcher.needles", "eqlc.parse_cache")


def _env(cache: Path, **extra: str) -> dict:
    env = {k: v for k, v in os.environ.items() if k != "EQLC_NO_CACHE"}
    env.update(EQLC_CACHE_DIR=str(cache), **extra)
    return env


# `eqlc match ARGS`, then the names of the modules the process imported, on the last line of stderr
_RUN = """
import atexit, sys
atexit.register(lambda: sys.stderr.write("modules: " + " ".join(sorted(sys.modules)) + "\\n"))
sys.argv = ["eqlc", "match", *sys.argv[1:]]
from eqlc.cli import main
main()
"""


def _match(env: dict, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", _RUN, *args], capture_output=True, text=True, env=env, cwd=ROOT)


def _imported(stderr: str) -> set:
    return set(stderr.splitlines()[-1].removeprefix("modules: ").split())


def _summary(stderr: str) -> list:
    return [line for line in stderr.splitlines() if not line.startswith("modules: ")]


@pytest.mark.parametrize("rule,extra", [("rule.toml", ()), ("rule.eql", ("--jobs", "1")),
                                        ("rule.eql", ("--scan", "stdlib", "--no-prefilter"))])
def test_a_hit_imports_no_compiler_and_prints_the_same(tmp_path, rule, extra):
    env = _env(tmp_path / "cache")
    args = (str(EXAMPLE / rule), str(EXAMPLE / "fixtures.ndjson"), *extra)
    first, second = _match(env, *args), _match(env, *args)
    assert first.returncode == second.returncode == 0, (first.stderr[-2000:], second.stderr[-2000:])
    assert first.stdout == second.stdout and first.stdout.count("\n") > 0
    assert _summary(first.stderr) == _summary(second.stderr)
    assert set(COMPILER) <= _imported(first.stderr)
    assert not set(COMPILER) & _imported(second.stderr), set(COMPILER) & _imported(second.stderr)
    entries = list((tmp_path / "cache" / "matcher").iterdir())
    assert len(entries) == 1 and entries[0].stat().st_mode & 0o077 == 0
    off = _match(_env(tmp_path / "cache", EQLC_NO_CACHE="1"), *args)
    assert off.stdout == first.stdout and _summary(off.stderr) == _summary(first.stderr)


def test_errors_are_never_cached(tmp_path):
    env = _env(tmp_path / "cache")
    bad = 'process where process.name == "a" and'
    runs = [_match(env, bad, str(EXAMPLE / "fixtures.ndjson")) for _ in range(2)]
    assert runs[0].returncode == runs[1].returncode == 2
    assert _summary(runs[0].stderr) == _summary(runs[1].stderr)
    assert _summary(runs[0].stderr)[0].startswith("<query>:1:38: error: unexpected end of query")
    assert not (tmp_path / "cache" / "matcher").exists()


def _key(rule: str, **kw) -> bytes:
    args = dict(dialect="elasticsearch", mapping=None, category="event.category", timestamp="@timestamp", tiebreaker=None)
    args.update(kw)
    blob = match_cache.key(rule, **args)
    assert blob is not None
    return blob


def test_the_key_holds_the_rule_bytes_the_options_and_the_code(tmp_path):
    rule = tmp_path / "r.eql"
    rule.write_text('process where process.name == "a"')
    mapping = tmp_path / "m.json"
    mapping.write_text('{"properties": {"process": {"properties": {"name": {"type": "keyword"}}}}}')
    base = _key(str(rule))
    assert _key(str(rule)) == base
    assert _key('process where process.name == "a"') != base  # the text is not the file
    others = [_key(str(rule), dialect="endgame"), _key(str(rule), mapping=str(mapping)), _key(str(rule), category="x"),
              _key(str(rule), timestamp="t"), _key(str(rule), tiebreaker="t")]
    assert len({base, *others}) == 1 + len(others)
    with_mapping = _key(str(rule), mapping=str(mapping))
    mapping.write_text('{"properties": {"process": {"properties": {"name": {"type": "text"}}}}}')
    assert _key(str(rule), mapping=str(mapping)) != with_mapping  # the mapping's bytes, not its name
    rule.write_text('process where process.name == "b"')
    assert _key(str(rule)) != base
    names = {(d, n) for d, n, _size, _mtime in match_cache._code_fingerprint()}
    assert {("matcher", "codegen.py"), ("matcher", "runtime.py"), ("matcher", "compiled.py"), ("loaders", "toml_rule.py"),
            ("grammar", "eql.lark"), ("lark", "__init__.py")} <= {(d, Path(n).name) for d, n in names}
    assert match_cache.key(str(tmp_path / "missing-dir" / "x.eql"), "elasticsearch", str(tmp_path / "no-mapping.json"),
                           "event.category", "@timestamp", None) is None


def test_the_fingerprint_changes_with_the_code(monkeypatch, tmp_path):
    rule = 'process where process.name == "a"'
    before = _key(rule)
    real = match_cache._code_fingerprint()
    changed = [(d, n, size + (n == "runtime.py"), mtime) for d, n, size, mtime in real]
    monkeypatch.setattr(match_cache, "_code_fingerprint", lambda: changed)
    assert _key(rule) != before


def test_an_entry_is_used_only_for_its_own_key(tmp_path, monkeypatch):
    rule = 'process where process.name : "dracut" and process.args : "-f*"'
    blob = _key(rule)
    m = matcher(rule)
    match_cache.store(tmp_path, blob, m)
    got = match_cache.load(tmp_path, blob)
    assert isinstance(got, CompiledMatcher) and not isinstance(got, from_ir.Matcher)
    (entry,) = (tmp_path / "matcher").iterdir()
    other = _key(rule + " ")
    monkeypatch.setattr(match_cache, "_path", lambda directory, b: entry)  # a clash of file names
    assert match_cache.load(tmp_path, other) is None
    monkeypatch.undo()
    entry.write_bytes(entry.read_bytes()[:40])  # truncated
    assert match_cache.load(tmp_path, blob) is None
    entry.write_bytes(b"\xe9\x01\x00\x00\x00")  # a valid marshal of something else (the int 1)
    assert match_cache.load(tmp_path, blob) is None


def test_an_unwritable_cache_costs_nothing_but_time(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    run = _match(_env(blocker / "sub"), str(EXAMPLE / "rule.eql"), str(EXAMPLE / "fixtures.ndjson"), "--count")
    assert run.returncode == 0 and int(run.stdout) > 0


def _events() -> list:
    import orjson

    return [orjson.loads(line) for line in (EXAMPLE / "fixtures.ndjson").read_bytes().splitlines() if line.strip()]


@pytest.mark.parametrize("rule", sample(20), ids=rule_id)
def test_a_stored_matcher_matches_as_the_compiled_one(tmp_path, rule):
    """On corpus rules (their generated witnesses): the matcher rebuilt from the cache selects the
    same events, in the same order, and has the same prefilter and summary text."""
    from eqlc.fixtures.witness import generate

    m = matcher(rule)
    blob = _key(str(rule.path))
    match_cache.store(tmp_path, blob, m)
    got = match_cache.load(tmp_path, blob)
    assert got is not None
    assert (got.kind, got.dialect, got.has_pipes, got.pruned) == (m.kind, m.dialect, m.has_pipes, m.pruned)
    want = NeedleSummary.of(m.needles)
    assert got.needles.describe() == m.needles.describe() and got.needles.reason == want.reason
    assert (None if got.needles.needles is None else [(n.text, n.ci) for n in got.needles.needles]) == \
        (None if want.needles is None else [(n.text, n.ci) for n in want.needles])
    witnesses = generate(rule)
    events = list(witnesses.events) + _events()
    if m.kind == "event":
        assert [got.match(e) for e in events] == [m.match(e) for e in events]
    ours = [(h.events, h.keys) for h in m.run(events, sort=True)]
    theirs = [(h.events, h.keys) for h in got.run(events, sort=True)]
    assert theirs == ours
    assert ours or not witnesses.expected  # the witnesses hold selected events: the comparison is not vacuous


def test_the_package_function_has_the_matcher_signature():
    assert inspect.signature(eqlc.matcher).parameters.keys() == inspect.signature(from_ir.matcher).parameters.keys()
    for name, p in inspect.signature(eqlc.matcher).parameters.items():
        assert p.default == inspect.signature(from_ir.matcher).parameters[name].default, name
    assert callable(eqlc.matcher) and eqlc.matcher('process where true').kind == "event"
