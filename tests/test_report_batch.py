"""The batch never loses more than the rule that breaks: a worker process that dies (an engine
crashing the interpreter) costs only its own file, every other file is still verified."""

from __future__ import annotations

import shutil
import textwrap

from eqlc import target as target_mod
from eqlc.report.batch import run_batch
from tests.corpus import CORPUS, EXAMPLE_DIR

CRASHER = textwrap.dedent(
    '''
    import os
    from eqlc.result import Notes, Translation

    class Crashy:
        name = "crashy"
        profiles = ()

        def compile(self, rule, profile=None, mapping=None):
            return Translation.from_notes("crashy", "-- crashy", Notes())

        def execute(self, translation, events, profile=None, mapping=None):
            if any("proxychains" in str(e).lower() for e in events):
                os._exit(3)  # kill the worker process, as a crashing native engine would
            return []

    TARGET = Crashy()
    '''
)


def test_a_worker_that_dies_costs_only_its_file(tmp_path, monkeypatch):
    pkg = tmp_path / "pkg"
    pkg.mkdir()
    (pkg / "crashy_target.py").write_text(CRASHER)
    monkeypatch.syspath_prepend(str(pkg))  # spawned workers inherit sys.path
    monkeypatch.setitem(target_mod.REGISTRY, "crashy", "crashy_target:TARGET")
    rules = tmp_path / "rules"
    rules.mkdir()
    shutil.copy(CORPUS / "linux/command_and_control_linux_proxychains_activity.toml", rules / "a_proxychains.toml")
    shutil.copy(EXAMPLE_DIR / "rule.toml", rules / "b_dracut.toml")
    shutil.copy(CORPUS / "integrations/okta/credential_access_okta_mfa_bombing_via_push_notifications.toml", rules / "c_okta.toml")
    files = sorted(rules.iterdir())
    rows = run_batch(files, ["crashy"], jobs=2, registry={"crashy": "crashy_target:TARGET"})
    by = {r["rule"].rsplit("/", 1)[-1]: r for r in rows}
    assert "worker process died" in by["a_proxychains.toml"]["error"]
    for name in ("b_dracut.toml", "c_okta.toml"):
        assert by[name]["error"] is None and by[name]["targets"][0]["verdict"] == "disagreement", by[name]
