"""SigmaHQ's validator data, offline, for the tests.

pySigma-validators-sigmaHQ downloads its data (taxonomy, file-name prefixes, Windows event-id and
provider lists) from GitHub and caches it under ~/.cache/pysigma/sigmahq; the installed package
ships none of it. tests/data/sigma/sigmahq holds copies (excerpts for the log sources eqlc writes,
each file naming its source commit). In-process checks point the loaders at them; a ``sigma check``
subprocess gets a home whose cache already holds them, as after a download.
"""

from __future__ import annotations

import functools
import os
import tempfile
from pathlib import Path

from eqlc.targets.sigma import validate

DATA = Path(__file__).parent / "data" / "sigma"
SIGMAHQ = DATA / "sigmahq"
# the validators that still need the network: they read MITRE ATT&CK and D3FEND from pySigma's own
# downloader (sigma/data/mitre_attack.py, mitre_d3fend.py), which has no local source
EXCLUDES = [l.strip() for l in (DATA / "offline_excludes.txt").read_text().splitlines() if l.strip() and not l.startswith("#")]


@functools.lru_cache(maxsize=1)
def in_process() -> None:
    """Point this process's SigmaHQ data loaders at the local copies (once)."""
    validate.use_sigmahq_data(str(SIGMAHQ), tempfile.mkdtemp(prefix="eqlc-sigmahq-"))


def seeded_home(home: Path) -> dict:
    """Environment for a ``sigma`` subprocess whose home cache holds SigmaHQ's data."""
    validate.seed_sigmahq_cache(str(SIGMAHQ), str(home / ".cache" / "pysigma" / "sigmahq"))
    env = dict(os.environ)
    env["HOME"] = str(home)
    return env


def assert_corpus_rules_pass(tmp_path: Path, folder: str, names: list[str], prefix: str) -> None:
    """Translate the corpus rules ``folder/<name>.toml`` with the default Sigma profile (each must
    translate), write every Sigma file they give (each named ``prefix...`` as SigmaHQ's conventions
    name that log source) and assert that SigmaHQ's validators report nothing on any of them."""
    from eqlc.loaders import load_rules
    from eqlc.result import Status
    from eqlc.targets.sigma import TARGET
    from tests.corpus import CORPUS

    for n in names:
        [r] = load_rules(str(CORPUS / folder / f"{n}.toml"))
        t = TARGET.compile(r)
        assert t.status is Status.ASSUMPTIONS, t.notes
        for name, text in t.artifacts.items():
            assert name.startswith(prefix), name
            (tmp_path / name).write_text(text)
    in_process()
    results = validate.check_files(sorted(str(p) for p in tmp_path.iterdir()), EXCLUDES)
    assert len(results) == len(names)
    for path, res in results.items():
        assert not res.errors and not res.issues, (path, res.errors, res.issues)
