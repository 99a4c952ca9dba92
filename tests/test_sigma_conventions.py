"""SigmaHQ's conventions, checked with SigmaHQ's own validators offline (issue 12).

The files ``eqlc compile --target sigma -o DIR`` writes for the corpus sample (every translation's
artifacts: SigmaHQ-named files) are checked as one ``sigma check`` run with every validator of
pySigma-validators-sigmaHQ, the SigmaHQ data they download read from tests/data/sigma/sigmahq:
file names with SigmaHQ's prefixes, known log sources, field names of the taxonomy, no EventID
where SigmaHQ forbids it. The issues left are only those tests/data/sigma/allowed_issues.yaml
explains; status comes from Elastic's maturity, falsepositives are always present.
"""

from __future__ import annotations

import functools
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from eqlc.result import Status
from eqlc.targets.sigma import TARGET, validate
from eqlc.targets.sigma.metadata import MATURITY_STATUS
from tests import sigmahq_data
from tests.corpus import rule_id, sample

DATA = Path(__file__).parent / "data" / "sigma"
ALLOWED_ISSUES = set(yaml.safe_load((DATA / "allowed_issues.yaml").read_text()))
ALLOWED_LOGSOURCES = [tuple(x) for x in yaml.safe_load((DATA / "allowed_logsources.yaml").read_text())]
# the sigma-cli of this interpreter's environment (a `sigma` earlier on PATH may be another install)
_BESIDE = Path(sys.executable).with_name("sigma")
SIGMA = str(_BESIDE) if _BESIDE.exists() else (
    shutil.which("sigma") or pytest.fail("the sigma command (sigma-cli) is not installed", pytrace=False))


@functools.lru_cache(maxsize=1)
def _translations() -> tuple:
    out = []
    for r in sample():
        t = TARGET.compile(r)
        if t.status is not Status.REFUSED:
            out.append((r, t))
    return tuple(out)


@pytest.fixture(scope="module")
def written(tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("sigmahq")
    for _r, t in _translations():
        for name, text in t.artifacts.items():
            assert not (d / name).exists(), name  # one file per Sigma rule or correlation, never overwritten
            (d / name).write_text(text)
    return d


def test_sigmahq_validators_pass_on_the_written_files(written):
    sigmahq_data.in_process()
    results = validate.check_files(sorted(str(p) for p in written.iterdir()), sigmahq_data.EXCLUDES)
    seen = set()
    for path, res in results.items():
        assert not res.errors, (path, res.errors)
        docs = list(yaml.safe_load_all(Path(path).read_text())) if path else []
        for kind, desc in res.issues:
            seen.add(kind)
            if kind == "SigmahqStatusIssue":  # SigmaHQ keeps deprecated rules in a folder of their own
                assert all(d.get("status") == "deprecated" for d in docs if "title" in d), path
            elif kind == "SigmahqLogsourceUnknownIssue":
                sources = {(d["logsource"].get("product"), d["logsource"].get("category"), d["logsource"].get("service"))
                           for d in docs if "logsource" in d}
                assert any(s in ALLOWED_LOGSOURCES or s[0] is None for s in sources), (path, sources)
            else:
                assert kind in ALLOWED_ISSUES, (path, kind, desc)
    # the file-name and log-source validators ran (they raise nothing here because the names are right)
    names = {n.lower() for n in validate._plugins().validators}
    assert {"sigmahq_filename_prefix", "sigmahq_filename_convention", "sigmahq_logsource_unknown",
            "sigmahq_invalid_fieldname", "sigmahq_category_event_id"} <= names
    assert not seen & {"SigmahqFilenamePrefixIssue", "SigmahqFilenameConventionIssue", "SigmahqInvalidFieldnameIssue",
                       "SigmahqCategoryEventIdIssue", "SigmahqFalsepositivesCapitalIssue"}, seen
    print("issues seen:", sorted(seen))


def test_a_wrong_file_name_is_what_the_prefix_validator_reports(written, tmp_path):
    """The check can fail: the same rule under a name without its log source's prefix."""
    sigmahq_data.in_process()
    src = next(p for p in sorted(written.iterdir()) if p.name.startswith("proc_creation_lnx_"))
    bad = tmp_path / src.name.replace("proc_creation_lnx_", "renamed_rule_")
    bad.write_text(src.read_text())
    res = validate.check_files([str(bad)], sigmahq_data.EXCLUDES)
    assert "SigmahqFilenamePrefixIssue" in {k for r in res.values() for k, _ in r.issues}


def test_status_from_maturity_and_falsepositives_always_present():
    for r, t in _translations():
        maturity = r.extra["metadata"]["maturity"]
        for d in yaml.safe_load_all(t.output):
            assert d["status"] == MATURITY_STATUS[maturity], rule_id(r)
            assert d["falsepositives"] and all(f[:1].isupper() or not f[:1].isalpha() for f in d["falsepositives"]), rule_id(r)


def test_cross_platform_process_rules_name_their_product():
    """SigmaHQ knows no product-less process_creation: a query naming no OS is written per product."""
    for r, t in _translations():
        for d in yaml.safe_load_all(t.output):
            if "logsource" in d and d["logsource"].get("category") == "process_creation" and "correlation" not in t.output:
                assert d["logsource"].get("product"), rule_id(r)


def test_sigma_cli_check_runs_every_sigmahq_validator_offline(written, tmp_path):
    """The real ``sigma check`` (sigma-cli 3.1.0) on a few of the files, its home cache holding SigmaHQ's
    data: no error, and exit code 0 even with --fail-on-error."""
    env = sigmahq_data.seeded_home(tmp_path / "home")
    files = sorted(written.iterdir())[:12]
    args = [SIGMA, "check", "--fail-on-error"]
    for x in sigmahq_data.EXCLUDES:
        args += ["-x", x]
    r = subprocess.run(args + [str(f) for f in files], capture_output=True, text=True, timeout=300, env=env)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    assert "Found 0 errors, 0 condition errors" in r.stdout, r.stdout[-2000:]
    assert "Failed to load data" not in r.stdout + r.stderr
