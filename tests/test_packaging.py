"""The installed package is one import namespace, ``eqlc``, built from the design card's folders.

pyproject.toml lists the packages by hand (setuptools' ``package-dir`` maps ``eqlc`` to compiler/,
``eqlc.targets`` to targets/, ``eqlc.grammar`` to grammar/); a sub-package left off the list would be
missing from the wheel only, where the editable test environment never looks. This test derives the
list from the folders and compares."""

from __future__ import annotations

import tomllib

from tests.corpus import ROOT

ROOTS = {"compiler": "eqlc", "targets": "eqlc.targets", "grammar": "eqlc.grammar"}


def _packages_on_disk() -> set[str]:
    found = set()
    for folder, name in ROOTS.items():
        for init in (ROOT / folder).rglob("__init__.py"):
            rel = init.parent.relative_to(ROOT / folder)
            found.add(".".join([name, *rel.parts]))
    return found


def test_pyproject_lists_every_package_under_the_eqlc_namespace() -> None:
    conf = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["setuptools"]
    assert conf["package-dir"] == {v: k for k, v in ROOTS.items()}
    assert set(conf["packages"]) == _packages_on_disk()
    assert all(p == "eqlc" or p.startswith("eqlc.") for p in conf["packages"])
