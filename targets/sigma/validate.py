"""pySigma in-process: what ``sigma check`` and ``sigma convert`` do, without a subprocess per rule.

``sigma check`` = parse the collection (rule errors), parse every condition (condition errors),
then run the installed validators (issues) minus the excluded ones (sigma-cli 3.1.0
``sigma/cli/check.py``: ``InstalledSigmaPlugins.autodiscover().validators``, ``SigmaValidator``).
Validators that download SigmaHQ data (taxonomy, ATT&CK, D3FEND) fail offline and are excluded
by name, as ``sigma check -x NAME`` does. Conversions use the same backends and pipelines as
``sigma convert -t sqlite`` / ``-t splunk -p splunk_cim`` / ``-t kusto -p microsoft_xdr``.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from typing import Iterable, Optional

from sigma.collection import SigmaCollection
from sigma.exceptions import SigmaError
from sigma.plugins import InstalledSigmaPlugins
from sigma.rule import SigmaRule
from sigma.validation import SigmaValidator


@dataclass
class CheckResult:
    errors: list[str] = field(default_factory=list)
    issues: list[tuple[str, str]] = field(default_factory=list)  # (issue class, description)

    @property
    def ok(self) -> bool:
        return not self.errors and not self.issues


# The data files SigmaHQ's validators download (pySigma-validators-sigmaHQ ``sigma/validators/sigmahq/
# data``: each module loads one JSON file from the validators' GitHub repository and caches it with
# diskcache under ~/.cache/pysigma/sigmahq). The installed package ships none of them, so offline
# they are read from copies (``use_sigmahq_data``; the tests keep excerpts in tests/data/sigma/sigmahq).
SIGMAHQ_DATA = {
    "data_taxonomy": "sigmahq_taxonomy.json",
    "data_filename": "sigmahq_filename.json",
    "data_windows_eventid": "sigmahq_windows_eventid.json",
    "data_windows_provider": "sigmahq_windows_provider.json",
}


def use_sigmahq_data(directory: str, cache_dir: str) -> None:
    """Point SigmaHQ's validator data loaders at local copies of their JSON files (in-process)."""
    import importlib

    for module, name in SIGMAHQ_DATA.items():
        mod = importlib.import_module(f"sigma.validators.sigmahq.data.{module}")
        mod.set_cache_dir(cache_dir)
        mod.set_url(f"{directory}/{name}")


def seed_sigmahq_cache(directory: str, cache_dir: str) -> None:
    """Fill a diskcache directory as the loaders would after downloading (``<prefix>_default``
    keys), so that a ``sigma check`` subprocess whose home holds it runs SigmaHQ's validators
    offline."""
    import importlib
    import json

    import diskcache

    from sigma.validators.sigmahq.data.base import _JSONDisk

    cache = diskcache.Cache(cache_dir, disk=_JSONDisk)
    for module, name in SIGMAHQ_DATA.items():
        mod = importlib.import_module(f"sigma.validators.sigmahq.data.{module}")
        loader_cls = next(v for k, v in vars(mod).items() if k.startswith("_") and k.endswith("Loader"))
        loader = loader_cls()
        with open(f"{directory}/{name}", encoding="utf-8") as fh:
            cache.set(f"{loader._cache_prefix}_default", loader._parse(json.load(fh)))
    cache.close()


@functools.lru_cache(maxsize=1)
def _plugins() -> InstalledSigmaPlugins:
    return InstalledSigmaPlugins.autodiscover()


def validator(excluded: tuple[str, ...]) -> SigmaValidator:
    """A fresh validator: uniqueness validators (ids, titles) remember the rules they saw, as
    one ``sigma check`` run over one set of files does."""
    names = {e.lower() for e in excluded}
    validators = _plugins().validators
    unknown = names - {n.lower() for n in validators}
    if unknown:
        raise ValueError(f"unknown validators to exclude: {sorted(unknown)}")
    return SigmaValidator([v for n, v in validators.items() if n.lower() not in names])


def check(text: str, excluded: Iterable[str]) -> CheckResult:
    """``sigma check`` of one file's text (its own run: ids and titles must be unique within it)."""
    res = CheckResult()
    try:
        collection = SigmaCollection.from_yaml(text, collect_errors=True)
    except SigmaError as err:
        res.errors.append(f"{type(err).__name__}: {err}")
        return res
    rules = []
    for rule in collection.rules:
        if rule.errors:
            res.errors.extend(f"{type(e).__name__}: {e}" for e in rule.errors)
            continue
        if isinstance(rule, SigmaRule):
            try:
                for cond in rule.detection.parsed_condition:
                    cond.parse()
            except SigmaError as err:
                res.errors.append(f"condition: {err}")
                continue
        rules.append(rule)
    collection.resolve_rule_references()
    for issue in validator(tuple(sorted(excluded))).validate_rules(rules):
        res.issues.append((type(issue).__name__, issue.description))
    return res


def check_files(paths: Iterable[str], excluded: Iterable[str]) -> dict[str, CheckResult]:
    """``sigma check`` of rule files, as one run (ids and titles unique across them; file-name
    validators see each rule's file): ``{path: result}``."""
    from pathlib import Path

    out: dict[str, CheckResult] = {}
    rules = []
    for p in paths:
        res = out.setdefault(str(p), CheckResult())
        try:
            collection = SigmaCollection.load_ruleset([Path(p)], collect_errors=True)
        except SigmaError as err:
            res.errors.append(f"{type(err).__name__}: {err}")
            continue
        for rule in collection.rules:
            if rule.errors:
                res.errors.extend(f"{type(e).__name__}: {e}" for e in rule.errors)
                continue
            rules.append(rule)
        collection.resolve_rule_references()
    for issue in validator(tuple(sorted(excluded))).validate_rules(rules):
        src = next((r.source for r in issue.rules if r.source is not None), None)
        key = str(src.path) if src is not None else ""
        out.setdefault(key, CheckResult()).issues.append((type(issue).__name__, issue.description))
    return out


@functools.lru_cache(maxsize=8)
def _backend_factory(target: str, pipeline: Optional[str]):
    plugins = _plugins()
    backend_cls = plugins.backends[target]
    pipe = plugins.pipelines[pipeline]() if pipeline else None
    return backend_cls, pipe


# name -> (sigma-cli target, pipelines tried in order) as ``sigma convert -t T [-p P]``:
# * splunk: ``-p splunk_windows`` (maps the Windows services to their WinEventLog sources; other log
#   sources keep Sigma's field names, as with --without-pipeline), the pipeline a Sysmon/Security
#   deployment uses; ``splunk_cim`` then none are tried for the older tests' conversions;
# * kusto: ``-p microsoft_xdr`` (Defender XDR tables) and ``-p sentinel_asim`` (ASIM parsers);
# * lucene/esql/eql (pySigma-backend-elasticsearch): ``-p ecs_windows`` (Winlogbeat's ECS names for
#   Windows log sources; the backend requires a pipeline, and other products keep Sigma's names).
CONVERSIONS = {
    "sqlite": ("sqlite", (None,)),
    "splunk": ("splunk", ("splunk_windows",)),
    "splunk_cim": ("splunk", ("splunk_cim", None)),
    "kusto": ("kusto", ("microsoft_xdr",)),
    "kusto_sentinel_asim": ("kusto", ("sentinel_asim",)),
    "lucene": ("lucene", ("ecs_windows",)),
    "esql": ("esql", ("ecs_windows",)),
    "eql": ("eql", ("ecs_windows",)),
}
# the backends the default (portable) profile is measured with (issue: splunk, kusto with
# microsoft_xdr and sentinel_asim, elasticsearch)
MEASURED = ("splunk", "kusto", "kusto_sentinel_asim", "lucene", "esql", "eql")

_PIPELINE_SCOPE = "not yet supported by the Splunk data model CIM pipeline"


def convert(text: str, name: str) -> list[str]:
    """Convert with a backend as sigma-cli does; raises the backend's error."""
    target, pipelines = CONVERSIONS[name]
    for i, pipeline in enumerate(pipelines):
        backend_cls, pipe = _backend_factory(target, pipeline)
        backend = backend_cls(processing_pipeline=pipe) if pipe is not None else backend_cls()
        try:
            return [str(q) for q in backend.convert(SigmaCollection.from_yaml(text))]
        except SigmaError as err:
            if _PIPELINE_SCOPE in str(err) and i + 1 < len(pipelines):
                continue
            raise
    raise AssertionError("unreachable")
