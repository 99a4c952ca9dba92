"""The real command-line tools: ``eqlc compile --target sigma`` and sigma-cli 3.1.0 (``sigma check``,
``sigma convert``) as subprocesses, on the example rule and a small fixed sample of corpus rules.

sigma-cli is run offline with every validator, SigmaHQ's included: its home's cache holds the
SigmaHQ data those validators download (tests/sigmahq_data.py); only the MITRE ATT&CK/D3FEND ones
are excluded (tests/data/sigma/offline_excludes.txt). One CLI call covers a whole directory, so the
sample costs a few calls, not one per rule.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from eqlc.result import Refused, Status
from eqlc.targets.sigma import TARGET
from eqlc.targets.sigma.emit import emit
from tests import sigmahq_data
from tests.corpus import EXAMPLE_DIR, all_rules, rule_id, sample

DATA = Path(__file__).parent / "data" / "sigma"
ROOT = Path(__file__).resolve().parent.parent
EXCLUDES = sigmahq_data.EXCLUDES
ALLOWED_ISSUES = set(yaml.safe_load((DATA / "allowed_issues.yaml").read_text()))
# sigma-cli is a declared dependency (pyproject.toml): a missing `sigma` command is a failure
# the sigma-cli of this interpreter's environment (a `sigma` earlier on PATH may be another install)
_BESIDE = Path(sys.executable).with_name("sigma")
SIGMA = str(_BESIDE) if _BESIDE.exists() else (
    shutil.which("sigma") or pytest.fail("the sigma command (sigma-cli) is not installed", pytrace=False))
_ENV: dict = {}


def sigma(*args: str) -> subprocess.CompletedProcess:
    if not _ENV:
        import tempfile

        _ENV.update(sigmahq_data.seeded_home(Path(tempfile.mkdtemp(prefix="eqlc-sigma-home-"))))
    return subprocess.run([SIGMA, *args], capture_output=True, text=True, timeout=300, env=_ENV)


def check(path: Path, fail_on_issues: bool = False) -> subprocess.CompletedProcess:
    args = ["check"] + (["--fail-on-issues"] if fail_on_issues else [])
    for x in EXCLUDES:
        args += ["-x", x]
    return sigma(*args, str(path))


def eqlc(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "compiler", *args], capture_output=True, text=True, cwd=ROOT, timeout=120)


@pytest.fixture(scope="module")
def example(tmp_path_factory) -> dict[str, Path]:
    """The example rule compiled by the eqlc CLI (-o) for both profiles, under SigmaHQ-style names."""
    out = {}
    for profile in ("cased", "portable"):
        d = tmp_path_factory.mktemp(profile)
        r = eqlc("compile", str(EXAMPLE_DIR / "rule.toml"), "--target", "sigma", "--profile", profile, "-o", str(d))
        assert r.returncode == 0, r.stderr
        [written] = list(d.iterdir())
        # eqlc names the file after the rule file (rule.yml); SigmaHQ's filename_length validator wants 10-90 chars
        out[profile] = written.rename(d / f"proc_creation_lnx_manual_dracut_execution_{profile}.yml")
    return out


def test_eqlc_compile_json_result_shape():
    r = eqlc("compile", str(EXAMPLE_DIR), "--target", "sigma", "--json")
    assert r.returncode == 0, r.stderr
    results = json.loads(r.stdout)["results"]
    assert {Path(x["rule"]).name for x in results} == {"rule.eql", "rule.md", "rule.ndjson", "rule.toml", "rule.txt"}
    for x in results:
        assert x["target"] == "sigma" and x["status"] == "assumptions" and x["notes"] and x["output"]
        doc = yaml.safe_load(x["output"])
        assert doc["logsource"] == {"category": "process_creation", "product": "linux"}
    detections = {json.dumps(yaml.safe_load(x["output"])["detection"], sort_keys=True) for x in results}
    assert len(detections) == 1  # every input format holds the same query


def test_example_passes_sigma_check_with_no_issue(example):
    # the portable text is checked in-process by test_sigma_corpus (same validators)
    r = check(example["cased"], fail_on_issues=True)
    assert r.returncode == 0, (r.stdout, r.stderr)
    assert "Found 0 errors, 0 condition errors and 0 issues." in r.stdout


def test_example_bare_eql_lacks_only_date_and_level(tmp_path):
    r = eqlc("compile", str(EXAMPLE_DIR / "rule.eql"), "--target", "sigma", "-o", str(tmp_path))
    assert r.returncode == 0
    # eqlc names the file with SigmaHQ's prefix for the log source (proc_creation_lnx_) and the rule's stem
    [written] = list(tmp_path.iterdir())
    assert written.name == "proc_creation_lnx_rule.yml"
    r = check(tmp_path)
    assert "Found 0 errors, 0 condition errors and 2 issues." in r.stdout, r.stdout
    assert "SigmahqLevelExistenceIssue" in r.stdout and "SigmahqDateExistenceIssue" in r.stdout  # a bare .eql has neither


@pytest.mark.parametrize(
    "profile, target, ok",
    [
        ("cased", ["-t", "sqlite"], True),
        ("cased", ["-t", "splunk", "--without-pipeline"], False),  # Splunk has no case-sensitive match
        ("portable", ["-t", "splunk", "-p", "splunk_cim"], True),
        ("portable", ["-t", "kusto", "-p", "microsoft_xdr"], True),
    ],
)
def test_example_converts(example, profile, target, ok):
    r = sigma("convert", *target, str(example[profile]))
    if ok:
        assert r.returncode == 0, r.stderr + r.stdout
        query = r.stdout.strip().splitlines()[-1]
        assert "dracut" in query
        if target[1] == "sqlite":
            assert "GLOB '*/dracut'" in query if profile == "cased" else "LIKE '%/dracut'" in query
    else:
        assert r.returncode != 0
        assert "Case-sensitive string matching is not supported by backend" in r.stdout + r.stderr


# ---- a small fixed sample of the corpus -------------------------------------------------

SAMPLE_SIZE = 8


def _file_name(rule) -> str:
    """The rule file's stem, within the 10..90 characters of sigma's filename_length validator."""
    return Path(rule_id(rule)).stem[:70] + ".yml"


@pytest.fixture(scope="module")
def corpus_dirs(tmp_path_factory) -> dict[str, Path]:
    """The first translated event rules of the sample without CurrentDirectory (no Kusto column)
    and the first two correlations of the corpus, written as files for sigma-cli. ``cased`` holds
    the cased event rules and the correlations (one check/convert call each)."""
    dirs = {k: tmp_path_factory.mktemp(k) for k in ("cased", "portable")}
    n = 0
    for r in sample():
        try:
            em = emit(r, "cased")
        except Refused:
            continue
        # Defender XDR's pipeline maps the process_creation log source, without a current directory column
        if em.kind == "rule" and n < SAMPLE_SIZE and "CurrentDirectory" not in em.text and "category: process_creation" in em.text:
            for kind in ("cased", "portable"):
                for name, text in TARGET.compile(r, profile=kind).artifacts.items():  # the files `eqlc compile -o` writes
                    (dirs[kind] / name).write_text(text)
            n += 1
    c = 0
    for r in all_rules():
        t = TARGET.compile(r, profile="cased")
        if t.status is not Status.REFUSED and "\ncorrelation:" in t.output:
            for name, text in t.artifacts.items():
                assert name.startswith("correlation_")
                (dirs["cased"] / name).write_text(text)
            c += 1
            if c == 2:
                break
    assert n == SAMPLE_SIZE and c == 2
    return dirs


def test_sample_passes_sigma_check(corpus_dirs):
    for kind, d in corpus_dirs.items():
        r = check(d)
        assert r.returncode == 0, r.stdout + r.stderr
        assert "Found 0 errors, 0 condition errors" in r.stdout, r.stdout
        issues = {line.split()[0].split("=")[1] for line in r.stdout.splitlines() if line.startswith("issue=")}
        assert issues <= ALLOWED_ISSUES, (kind, issues)


@pytest.mark.parametrize(
    "kind, target",
    [
        ("cased", ["-t", "sqlite"]),  # event rules and correlations
        ("portable", ["-t", "splunk", "--without-pipeline"]),
        ("portable", ["-t", "kusto", "-p", "microsoft_xdr"]),
    ],
)
def test_sample_converts(corpus_dirs, kind, target):
    r = sigma("convert", *target, str(corpus_dirs[kind]))
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-2000:]
    body = r.stdout.split("Parsing Sigma rules", 1)[-1].strip()
    assert len(body.splitlines()) >= SAMPLE_SIZE
    if target[1] == "sqlite":
        assert body.count("'temporal_ordered' AS metric_name") == 2  # both correlations became SQL
