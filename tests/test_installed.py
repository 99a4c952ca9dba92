"""The installed layout, as a user gets it from ``pip install .``: not the editable checkout every
other test imports.

Once per test session the wheel is built from a copy of the sources (so that the build leaves
nothing in the checkout) and installed, without ``-e``, into a fresh virtual environment, with its
dependencies from the package index as pip is configured. Then, in that environment only:

- ``import eqlc`` works and the distribution installs one top-level package, ``eqlc`` (no
  ``compiler``, ``targets`` or ``grammar`` to clash with other distributions);
- the README's first command gives every target's output for the example, with no internal error;
- ``eqlc compile`` over the corpus sample, for every target and every profile, gives no internal
  error and exactly the statuses the checkout gives (a data file missing from the wheel would show
  as an error or as a different status);
- ``eqlc report --strict`` on the example (fixtures data, the engines, the HTML template) exits 0,
  and the example folder compiles to a multi-rule Python module that runs;
- no output names the directory the package is installed in.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
import venv
import zipfile
from pathlib import Path

import pytest
import yaml

from eqlc.target import available, profiles_of, compile_rule
from tests.corpus import EXAMPLE_DIR, ROOT, sample

SOURCES = ("compiler", "targets", "grammar", "pyproject.toml", "README.md")
README_COMMAND = ["compile", "examples/manual_dracut_execution/rule.toml", "--target", "all"]


def _run(args: list, **kw) -> subprocess.CompletedProcess:
    kw.setdefault("timeout", 900)
    return subprocess.run([str(a) for a in args], capture_output=True, text=True, **kw)


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> dict:
    """Build the wheel and install it into a fresh venv; the paths and the time each step took."""
    base = tmp_path_factory.mktemp("installed")
    src = base / "src"
    src.mkdir()
    for name in SOURCES:
        if (ROOT / name).is_dir():
            shutil.copytree(ROOT / name, src / name, ignore=shutil.ignore_patterns("__pycache__", "*.pyc", "node_modules"))
        else:
            shutil.copy(ROOT / name, src / name)
    times = {}
    start = time.perf_counter()
    wheels = base / "wheels"
    build = _run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "-w", wheels, src])
    assert build.returncode == 0, build.stderr
    [wheel] = wheels.glob("eqlc-*.whl")
    times["build"] = time.perf_counter() - start
    start = time.perf_counter()
    env = base / "venv"
    venv.EnvBuilder(with_pip=True, clear=True).create(env)
    python = env / "bin" / "python"
    install = _run([python, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", wheel])
    assert install.returncode == 0, install.stderr
    times["install"] = time.perf_counter() - start
    purelib = _run([python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"]).stdout.strip()
    return {"wheel": wheel, "env": env, "python": python, "eqlc": env / "bin" / "eqlc", "site": purelib, "times": times}


def eqlc(installed: dict, *args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess:
    # a clean environment: nothing from the checkout's virtualenv or PYTHONPATH leaks in
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "VIRTUAL_ENV"))}
    return _run([installed["eqlc"], *args], cwd=cwd, env=environ)


def test_one_import_package_named_eqlc(installed: dict) -> None:
    with zipfile.ZipFile(installed["wheel"]) as whl:
        tops = {name.split("/")[0] for name in whl.namelist()}
    version = installed["wheel"].name.split("-")[1]
    assert tops == {"eqlc", f"eqlc-{version}.dist-info"}
    probe = _run([installed["python"], "-I", "-c",
                  "import importlib.util, eqlc; "
                  "print(eqlc.__file__); print([n for n in ('compiler', 'targets', 'grammar') if importlib.util.find_spec(n)])"],
                 cwd=installed["env"])
    assert probe.returncode == 0, probe.stderr
    where, clashes = probe.stdout.splitlines()
    assert where.startswith(installed["site"]) and clashes == "[]"
    assert (Path(installed["site"]) / "eqlc" / "py.typed").is_file()
    assert (Path(installed["site"]) / "eqlc" / "targets" / "osquery" / "schema.json").is_file()


def test_the_readme_first_command(installed: dict) -> None:
    r = eqlc(installed, *README_COMMAND)
    assert r.returncode == 0, r.stderr
    text = r.stdout + r.stderr
    assert "internal error" not in text and "Traceback" not in text
    for label in ("sigma (portable): assumptions", "kql (defender): assumptions", "spl (ecs): assumptions",
                  "osquery (events): assumptions", "python: exact"):
        assert f"rule.toml -> {label}" in r.stdout, label
    assert installed["site"] not in text and str(installed["env"]) not in text


def test_corpus_sample_every_target_and_profile_as_in_the_checkout(installed: dict, tmp_path: Path) -> None:
    specs = [f"{n}:{p}" for n in available() for p in profiles_of(n)] + [n for n in available() if not profiles_of(n)]
    assert {"spl:cim", "spl:windows", "kql:sentinel-asim", "sigma:portable", "osquery:hunting"} <= set(specs)
    rules = sample()
    paths = sorted({r.path for r in rules})
    start = time.perf_counter()
    # with -o: every deployment file and batch file (Sentinel ARM template, Splunk app, Python
    # module) is built from the installed package data too
    out = tmp_path / "out"
    r = eqlc(installed, "compile", *paths, "--target", ",".join(specs), "-o", str(out), "--json")
    installed["times"]["compile"] = time.perf_counter() - start
    assert r.returncode == 0, r.stderr[-2000:]  # 3 would be an internal error, 2 bad input
    results = json.loads(r.stdout)["results"]
    assert len(results) == len(rules) * len(specs)
    errors = [(x["rule"], x["target"], x.get("error")) for x in results if x["status"] == "error"]
    assert errors == []
    assert not any("internal error" in n for x in results for n in x["notes"])
    got = {(x["rule"], x["target"], x["profile"]): x["status"] for x in results}
    expected = {}
    for rule in rules:
        for spec in specs:
            name, _, profile = spec.partition(":")
            t = compile_rule(rule, name, profile or None)
            expected[(rule.path, name, t.profile)] = t.status.value
    assert got == expected
    batches = {(b["target"], b["profile"]): [Path(f).relative_to(b["directory"]).as_posix() for f in b["files"]]
               for b in json.loads(r.stdout)["batches"]}
    assert {k for k, files in batches.items() if files} >= {
        ("kql", "defender"), ("kql", "sentinel-asim"), ("spl", "ecs"), ("spl", "cim"), ("spl", "windows"), ("python", None)}
    assert "eqlc_cim/default/savedsearches.conf" in batches[("spl", "cim")]
    assert all((out / f).is_file() for x in results for f in x["files"])
    text = r.stdout + r.stderr
    assert installed["site"] not in text and str(installed["env"]) not in text


def test_a_mapping_the_package_ships_by_name(installed: dict) -> None:
    """``--mapping args-strict`` is osquery's opt-in mapping (no arguments from the command line), read
    from the installed package."""
    rules = sample()
    r = eqlc(installed, "compile", *sorted({x.path for x in rules}), "--target", "osquery",
             "--mapping", "args-strict", "--json")
    assert r.returncode == 0, r.stderr[-2000:]
    got = {x["rule"]: x["status"] for x in json.loads(r.stdout)["results"]}
    shipped = str(ROOT / "targets" / "osquery" / "mappings" / "args-strict.yaml")
    assert got == {rule.path: compile_rule(rule, "osquery", None, shipped).status.value for rule in rules}
    assert list(got.values()).count("assumptions") < sum(
        compile_rule(rule, "osquery").status.value == "assumptions" for rule in rules)  # the mapping was applied


def test_the_multi_rule_python_module(installed: dict, tmp_path: Path) -> None:
    r = eqlc(installed, "compile", str(EXAMPLE_DIR), "--target", "python", "-o", str(tmp_path / "py"))
    assert r.returncode == 0, r.stderr
    run = _run([installed["python"], "-S", "-I", tmp_path / "py" / "eqlc_rules.py", EXAMPLE_DIR / "fixtures.ndjson", "--count"])
    assert run.returncode == 0, run.stderr
    expected = yaml.safe_load((EXAMPLE_DIR / "expectations.yaml").read_text())["rule.toml"]["matches"]
    assert [json.loads(x)["matches"] for x in run.stdout.splitlines()] == [len(expected)] * 5  # the hand-written truth


def test_report_strict_on_the_example(installed: dict, tmp_path: Path) -> None:
    r = eqlc(installed, "report", str(EXAMPLE_DIR / "rule.toml"), "-o", str(tmp_path / "report"), "--jobs", "1", "--strict")
    assert r.returncode == 0, r.stdout + r.stderr
    assert (tmp_path / "report" / "index.html").read_text().lower().startswith("<!doctype html>")
    print(f"\ninstalled-layout timings (s): " + ", ".join(f"{k} {v:.1f}" for k, v in installed["times"].items()))
