"""The standalone Python modules as a user runs them: one module holding many rules
(``eqlc compile DIR --target python -o OUT`` writes ``eqlc_rules.py``), its command line and the
one of a single rule's module (one-line errors, the exit codes of ``eqlc match``), and the Python
version the modules claim in their docstring, run on that interpreter as Debian packages it.

The multi-rule module must select exactly what each rule's own matcher selects: its ``run()``
feeds one event stream to every rule (single-event rules event by event, the others as lanes fed
chunk by chunk), so the comparison is made over corpus rules of every kind, with a chunk size
small enough that sequences span many chunks.
"""

from __future__ import annotations

import collections
import gzip
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from eqlc.loaders import load_rules
from eqlc.matcher import matcher
from eqlc.parser import parse_query
from eqlc.result import Status
from eqlc.rule import Rule
from eqlc.targets.python.module import PYTHON_VERSIONS
from eqlc.targets.python.target import MULTI_MODULE, TARGET, load_module

from .corpus import EXAMPLE_DIR, ROOT, all_rules, sample
from .matcher_events import events_for, ids_of

FIXTURES = EXAMPLE_DIR / "fixtures.ndjson"
# Debian 12 packages one Python 3, 3.11 (apt-cache policy python3.x: no other); the modules claim
# what runs here, and scripts/test.sh installs this interpreter when it is missing.
DEBIAN_PYTHON = Path("/usr/bin/python3.11")


def _multi(rules: list[Rule]) -> tuple[str, list[Rule]]:
    """The batch module of ``rules`` (as ``eqlc compile -o`` writes it) and the rules it holds."""
    items = [(r, TARGET.compile(r)) for r in rules]
    text = TARGET.batch_artifacts([t for _r, t in items], [r for r, _t in items])[MULTI_MODULE]
    return text, [r for r, t in items if t.status is Status.EXACT]


def _events(rules: list[Rule], per_rule: int) -> list[dict]:
    """Each rule's generated events (three times as many for sequences and samples), one rule after
    the other in time (ids made unique), so that the whole stream is ordered by @timestamp."""
    out = []
    for i, r in enumerate(rules):
        for e in events_for(r.query, per_rule if r.query.kind == "event" else 3 * per_rule, seed=i):
            e["_id"] = f"r{i}-{e['_id']}"
            e["@timestamp"] += i * 10**9
            out.append(e)
    return out


@pytest.fixture(scope="module")
def corpus_module() -> tuple[dict, list[Rule], list[dict]]:
    """The corpus sample plus every fourth other sequence rule, in one module."""
    rules = list(sample())
    seen = {id(r) for r in rules}
    rules += [r for r in all_rules() if r.query.kind != "event" and id(r) not in seen][::4]
    text, held = _multi(rules)
    ns = load_module(text, "eqlc_rules")
    ns["_CHUNK"] = 37  # many chunk boundaries inside every sequence
    return ns, held, _events(held, 24)


@pytest.mark.parametrize("sort", [True, False])
def test_multi_rule_module_selects_what_each_rule_selects(corpus_module, sort: bool) -> None:
    ns, held, events = corpus_module
    kinds = collections.Counter(r.query.kind for r in held)
    assert kinds["event"] > 50 and kinds["sequence"] > 40, kinds  # both engines are exercised
    got: dict[int, list] = collections.defaultdict(list)
    for m in ns["run"](events, sort=sort):
        got[m.rule["index"]].append(m)
    matching = collections.Counter()
    for i, rule in enumerate(held):
        expected = ids_of(matcher(rule).run(events, sort=sort))
        assert ids_of(got.get(i, [])) == expected, (rule.path, sort)
        assert ns["RULES"][i]["name"] == rule.name
        matching[rule.query.kind] += bool(expected)
    assert matching["event"] >= 30 and matching["sequence"] >= 10, matching  # the events do select


def test_match_all_is_each_single_event_rule_s_match(corpus_module) -> None:
    ns, held, events = corpus_module
    single = [(i, matcher(r)) for i, r in enumerate(held) if r.query.kind == "event"]
    selected = 0
    for e in events[::3]:
        expected = [i for i, m in single if m.match(e)]
        assert ns["match_all"](e) == expected
        selected += bool(expected)
    assert selected > 50


def test_pipes_pruned_rules_and_lanes_that_stop_early() -> None:
    queries = [
        'sequence by host.id [process where process.name == "a"] [file where true] | head 1',
        'process where process.name == "a" | tail 2',
        'process where 1 == 2',  # folds to false: never matches, reads nothing
        'sample by host.id [process where true] [file where true]',
        'any where process.name : "A*"',
    ]
    rules = [Rule(parse_query(q), q, name=f"q{i}") for i, q in enumerate(queries)]
    text, held = _multi(rules)
    assert len(held) == len(rules)
    ns = load_module(text)
    ns["_CHUNK"] = 3
    events = []
    for i in range(40):
        events.append({"_id": f"p{i}", "@timestamp": 2 * i, "event": {"category": "process"}, "host": {"id": "h"},
                       "process": {"name": "a" if i % 3 else "Ab"}})
        events.append({"_id": f"f{i}", "@timestamp": 2 * i + 1, "event": {"category": "file"}, "host": {"id": "h"}})
    got = collections.defaultdict(list)
    for m in ns["run"](events):
        got[m.rule["index"]].append(m)
    for i, rule in enumerate(held):
        assert ids_of(got.get(i, [])) == ids_of(matcher(rule).run(events)), queries[i]
    assert not got.get(2) and len(got[0]) == 1 and len(got[1]) == 2


def _compile_dir(tmp_path: Path, src: Path) -> Path:
    out = tmp_path / "out"
    r = subprocess.run([sys.executable, "-m", "eqlc", "compile", str(src), "--target", "python", "-o", str(out)],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    return out


@pytest.fixture(scope="module")
def example_modules(tmp_path_factory) -> Path:
    """The example folder (5 rules, one per input format) compiled as a user does."""
    return _compile_dir(tmp_path_factory.mktemp("modules"), EXAMPLE_DIR)


def run_module(module: Path, *args: str, python: str = sys.executable, stdin: str | None = None) -> subprocess.CompletedProcess:
    # -S -I: no site-packages (so no re2: the standard library only), nothing from the environment
    return subprocess.run([python, "-S", "-I", str(module), *args], capture_output=True, text=True, input=stdin, timeout=120)


def test_compile_dir_writes_one_module_for_every_rule(example_modules: Path) -> None:
    names = sorted(p.name for p in example_modules.iterdir())
    assert names == sorted(["eqlc_rules.py", "rule_eql.py", "rule_toml.py", "rule_md.py", "rule_txt.py",
                            "manual_dracut_execution.py"])
    text = (example_modules / MULTI_MODULE).read_text()
    assert text.count("# ==== compiler/matcher/runtime.py (embedded)") == 1  # one shared runtime
    r = run_module(example_modules / MULTI_MODULE, str(FIXTURES))
    assert r.returncode == 0, r.stderr
    per_rule = collections.defaultdict(list)
    for line in r.stdout.splitlines():
        doc = json.loads(line)
        per_rule[doc["rule"], doc["rule_id"]].append(doc["events"][0]["_id"])
    single = run_module(example_modules / "rule_toml.py", str(FIXTURES))
    expected = [json.loads(x)["_id"] for x in single.stdout.splitlines()]
    assert sorted(per_rule[("Manual Dracut Execution", "834ee026-f9f9-4ec7-b5e0-7fbfe84765f4")]) == sorted(expected * 2)  # .toml, .md
    assert sum(len(v) for v in per_rule.values()) == 5 * len(expected)
    counts = run_module(example_modules / MULTI_MODULE, str(FIXTURES), "--count")
    assert [json.loads(x)["matches"] for x in counts.stdout.splitlines()] == [len(expected)] * 5
    assert r.stderr.strip() == f"51 events, {5 * len(expected)} matches"


@pytest.mark.parametrize("module", ["rule_toml.py", MULTI_MODULE])
def test_module_command_line_errors_are_one_line_with_eqlc_match_s_exit_codes(example_modules: Path, tmp_path: Path,
                                                                             module: str) -> None:
    path = example_modules / module
    seq_rule = tmp_path / "seq.eql"
    seq_rule.write_text('sequence by host.id [process where true] [process where true]\n')
    seq_dir = _compile_dir(tmp_path, seq_rule)
    unsorted = tmp_path / "unsorted.ndjson"
    unsorted.write_text("\n".join(json.dumps({"@timestamp": t, "event": {"category": "process"}, "host": {"id": "h"}})
                                  for t in (5, 3)) + "\n")
    malformed = tmp_path / "bad.ndjson"
    malformed.write_text(FIXTURES.read_text().splitlines()[0] + "\n{not json\n[1]\n")
    gz = tmp_path / "f.ndjson.gz"
    gz.write_bytes(gzip.compress(FIXTURES.read_bytes()))
    corrupt = tmp_path / "corrupt.ndjson.gz"
    corrupt.write_bytes(b"\x1f\x8b\x08\x00garbage")
    cases = [
        ((path, str(tmp_path / "missing.ndjson")), ["match", str(EXAMPLE_DIR / "rule.toml"), str(tmp_path / "missing.ndjson")], 2,
         r"missing\.ndjson: error: no such file$"),
        ((seq_dir / "seq.py", str(unsorted)), ["match", str(seq_rule), str(unsorted)], 2,
         r"^error: event 2 has timestamp 3, earlier than 5 already processed; sort the input"),
        # a malformed line is reported when decoded: every line with --no-prefilter, else the lines
        # holding one of the rule's literals (the others cannot match)
        ((path, str(malformed), "--no-prefilter"), ["match", str(EXAMPLE_DIR / "rule.toml"), str(malformed), "--no-prefilter"], 0,
         r"bad\.ndjson:2: malformed line skipped: invalid JSON"),
        ((path, str(gz), "--count", "--no-prefilter"), ["match", str(EXAMPLE_DIR / "rule.toml"), str(gz), "--count", "--no-prefilter"],
         0, r"51 events"),
        ((path, str(gz), "--count"), ["match", str(EXAMPLE_DIR / "rule.toml"), str(gz), "--count"], 0,
         # a one-rule module scans for its rule's literals; the multi-rule module decodes every line
         r"^(\d+ lines scanned, \d+ decoded \(prefilter\)|\d+ events), \d+ matches$"),
        # an unreadable input is an I/O error (74, as eqlc match): reported, the others still matched
        ((path, str(corrupt), str(gz), "--count"), ["match", str(EXAMPLE_DIR / "rule.toml"), str(corrupt), str(gz), "--count"], 74,
         r"corrupt\.ndjson\.gz:1: error: cannot read"),
        ((path, str(tmp_path)), ["match", str(EXAMPLE_DIR / "rule.toml"), str(tmp_path)], 74, r": error: cannot read: [Ii]s a directory"),
    ]
    for (mod, *args), match_args, code, message in cases:
        r = run_module(mod, *args)
        assert r.returncode == code, (args, r.stderr)
        assert "Traceback" not in r.stderr, r.stderr
        assert re.search(message, r.stderr, re.M), (args, r.stderr)
        if code == 74:  # the error, then the summary naming the unreadable input
            assert re.fullmatch(r"[^\n]*\n(\d+ events|\d+ lines scanned, \d+ decoded \(prefilter\)), \d+ matches, 1 input unreadable", r.stderr.strip()), r.stderr
        elif code:
            assert len(r.stderr.strip().splitlines()) == 1, r.stderr
        m = subprocess.run([sys.executable, "-m", "eqlc", *match_args], capture_output=True, text=True, timeout=120)
        assert m.returncode == code, (match_args, m.stderr)
        assert "Traceback" not in m.stderr, m.stderr
    # stdin, as `-` and by default
    stdin = run_module(path, "-", "--count", stdin=FIXTURES.read_text())
    assert stdin.returncode == 0 and stdin.stdout == run_module(path, "--count", stdin=FIXTURES.read_text()).stdout


def test_docstrings_state_the_python_versions_that_are_tested(example_modules: Path) -> None:
    for name in ("rule_toml.py", MULTI_MODULE):
        text = (example_modules / name).read_text()
        assert f"Runs on {PYTHON_VERSIONS}." in text
    assert PYTHON_VERSIONS == "Python 3.11 or later"  # the oldest claimed version is the one run below


def test_modules_run_on_the_oldest_claimed_python_from_debian(example_modules: Path) -> None:
    """Debian's python3.11 (the only Python 3 Debian 12 packages; scripts/test.sh installs it),
    with no site-packages: the modules need the standard library only."""
    if not DEBIAN_PYTHON.exists():
        pytest.fail(f"{DEBIAN_PYTHON} is missing: scripts/test.sh installs Debian's python3.11 package")
    version = subprocess.run([str(DEBIAN_PYTHON), "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
                             capture_output=True, text=True, check=True).stdout.strip()
    assert version == re.search(r"Python (\d+\.\d+)", PYTHON_VERSIONS).group(1)
    for name in ("rule_toml.py", MULTI_MODULE):
        module = example_modules / name
        old = run_module(module, str(FIXTURES), python=str(DEBIAN_PYTHON))
        new = run_module(module, str(FIXTURES))
        assert old.returncode == 0, old.stderr
        assert old.stdout == new.stdout and old.stdout
        probe = subprocess.run([str(DEBIAN_PYTHON), "-S", "-I", "-c",
                                f"import runpy; ns = runpy.run_path({str(module)!r}); print(ns['_re2'] is None)"],
                               capture_output=True, text=True, timeout=60)
        assert probe.stdout.strip() == "True", probe.stderr  # the linear-time automaton ran, not re2


def test_load_rules_of_the_example_folder_is_what_the_module_holds(example_modules: Path) -> None:
    ns = load_module((example_modules / MULTI_MODULE).read_text())
    assert [r["name"] for r in ns["RULES"]] == [r.name for r in load_rules(EXAMPLE_DIR)]
    assert str(ROOT) not in (example_modules / MULTI_MODULE).read_text()  # no path of this machine
