"""The contract between the CLI/verifier and each target under ``targets/``.

A target reads the IR (``rule.query``) and never the EQL text. It owns its operators, escaping and
field mappings (YAML beside its code). ``compile`` returns a :class:`~eqlc.result.Translation`;
``execute`` runs a translation on ECS fixture events through the target's engine (SQLite,
duckdb-kql, the SPL reference evaluator...) and returns the ids of the events it selects, so that
``eqlc verify`` can compare every target with the Python matcher.

A translation with stated assumptions is only claimed exact on events where they hold. A target
whose assumptions can be checked on an event exposes the optional
``outside_assumptions(rule, translation, events, profile=None, mapping=None) -> {id: reason}``
(see :data:`OUTSIDE_ASSUMPTIONS`); the verifier then reports a difference on such an event as
*outside the stated assumptions* instead of as a disagreement. The check belongs to the target,
beside the emitter that states the assumption, so that the verifier never guesses.
"""

from __future__ import annotations

import importlib
from typing import Iterable, Optional, Protocol

from .result import Translation
from .rule import Rule

# name -> "module:attribute" of a Target instance; imported lazily so that one target's optional
# dependencies never slow down or break another.
REGISTRY: dict[str, str] = {
    "sigma": "eqlc.targets.sigma:TARGET",
    "kql": "eqlc.targets.kql:TARGET",
    "spl": "eqlc.targets.spl:TARGET",
    "osquery": "eqlc.targets.osquery:TARGET",
    "python": "eqlc.targets.python:TARGET",
}

EVENT_ID_FIELD = "_id"  # fixture events carry their id here (see examples/*/fixtures.ndjson)


class Target(Protocol):
    name: str
    profiles: tuple[str, ...]

    def compile(self, rule: Rule, profile: Optional[str] = None, mapping: Optional[str] = None) -> Translation:
        """Translate ``rule``; never raises for a rule it cannot express (returns REFUSED)."""

    def execute(
        self, translation: Translation, events: Iterable[dict], profile: Optional[str] = None, mapping: Optional[str] = None
    ) -> list[str]:
        """Run ``translation`` over ECS ``events`` (each with ``_id``); the ids it selects, in order."""


OUTSIDE_ASSUMPTIONS = "outside_assumptions"  # optional Target method, see the module docstring

BATCH_ARTIFACTS = "batch_artifacts"
"""Optional Target method ``batch_artifacts(translations, rules, profile=None, mapping=None) -> {relative path: text}``:
files that belong to a whole batch rather than to one rule (a Sentinel ARM template holding every
rule, a Splunk app with one savedsearches.conf). ``eqlc compile PATH -o OUT`` calls it once per
target after compiling every rule, with the translations (refused ones included) and their rules
in the same order, and writes each file under the target's output folder (paths may contain
``/``). It must not raise for a refused translation; it returns ``{}`` when it has nothing to write."""


class WritesBatchArtifacts(Protocol):
    def batch_artifacts(self, translations: list[Translation], rules: list[Rule],
                        profile: Optional[str] = None, mapping: Optional[str] = None) -> dict[str, str]:
        """Relative path -> text of the batch's files (see :data:`BATCH_ARTIFACTS`)."""


class ChecksAssumptions(Protocol):
    def outside_assumptions(
        self, rule: Rule, translation: Translation, events: Iterable[dict], profile: Optional[str] = None,
        mapping: Optional[str] = None,
    ) -> dict[str, str]:
        """``_id`` -> the stated assumption of ``translation`` that the event breaks, for every
        such event (only for translations with status ASSUMPTIONS)."""


def available() -> list[str]:
    """Targets whose module exists in this installation."""
    out = []
    for name, ref in REGISTRY.items():
        module = ref.split(":")[0]
        if importlib.util.find_spec(module) is not None:
            out.append(name)
    return out


def get_target(name: str) -> Target:
    ref = REGISTRY.get(name)
    if ref is None:
        raise KeyError(f"unknown target {name!r}; expected one of {', '.join(REGISTRY)}")
    module, attr = ref.split(":")
    return getattr(importlib.import_module(module), attr)
