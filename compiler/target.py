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

A target may also write files for a whole ``eqlc compile -o`` batch (one module, one app, one
template holding every rule) through the optional ``batch_artifacts`` (see :data:`BATCH_ARTIFACTS`).

Which target (and profile) a user means is a :class:`TargetSpec`: ``kql`` or ``kql:sentinel-asim``,
parsed and checked by :func:`parse_targets` for every command and by :func:`check_target` for the
library API, so that an unknown name is a :class:`~eqlc.errors.UnknownTarget` or
:class:`~eqlc.errors.UnknownProfile` before any work, never a failure inside an emitter.
"""

from __future__ import annotations

import importlib
import importlib.util
from dataclasses import dataclass, field
from typing import Iterable, Optional, Protocol, Sequence, Union

from .errors import UnknownProfile, UnknownTarget, UsageError
from .result import Status, Translation
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
rule, a Splunk app with one savedsearches.conf, one Python module holding every rule).
``eqlc compile PATH -o OUT`` calls it once per
target after compiling every rule, with the translations (refused ones included) and their rules
in the same order (each translation's ``files`` already lists the rule's own files), and writes
each file under the target's output folder (paths may contain ``/``). It must not raise for a refused translation; it returns ``{}`` when it has nothing to write."""


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


CHECK_MAPPING = "check_mapping"  # optional Target method, see ChecksMapping


class ChecksMapping(Protocol):
    def check_mapping(self, mapping: str, profile: Optional[str] = None) -> None:
        """Load the user's ``--mapping`` file for ``profile`` and raise its
        :class:`~eqlc.errors.EqlError` (a :class:`~eqlc.errors.MappingError` for an unknown key),
        so that the CLI rejects a bad file before it compiles anything."""


def check_mapping(spec: "TargetSpec", mapping: Optional[str] = None) -> None:
    """Raise the error of a bad mapping file for ``spec`` (its own ``mapping``, else ``mapping``)."""
    path = spec.mapping or mapping
    if not path:
        return
    check = getattr(get_target(spec.name), CHECK_MAPPING, None)
    if check is not None:
        check(path, spec.profile)


def packaged_mappings(name: str) -> dict[str, str]:
    """The mapping files target ``name`` ships for ``--mapping NAME`` (``mappings/<NAME>.yaml`` in
    its package: ``osquery``'s ``args-from-cmdline``), name -> path in the installed package."""
    from importlib.resources import files

    ref = REGISTRY.get(name)
    if ref is None:
        return {}
    try:
        folder = files(ref.split(":")[0]).joinpath("mappings")
    except ModuleNotFoundError:
        return {}
    if not folder.is_dir():
        return {}
    return {f.name[: -len(".yaml")]: str(f) for f in sorted(folder.iterdir(), key=lambda f: f.name) if f.name.endswith(".yaml")}


def available() -> list[str]:
    """Targets whose module exists in this installation."""
    out = []
    for name, ref in REGISTRY.items():
        module = ref.split(":")[0]
        if importlib.util.find_spec(module) is not None:
            out.append(name)
    return out


def get_target(name: str) -> Target:
    """The registered target ``name``; :class:`UnknownTarget` (a ``KeyError`` too, as before) if none."""
    ref = REGISTRY.get(name)
    if ref is None:
        raise UnknownTarget(f"unknown target {name!r}; expected one of {', '.join(REGISTRY)}")
    module, attr = ref.split(":")
    return getattr(importlib.import_module(module), attr)


def profiles_of(name: str) -> tuple[str, ...]:
    """The profiles of target ``name``, its default first (empty: the target has none)."""
    return tuple(getattr(get_target(name), "profiles", ()) or ())


def default_profile(name: str) -> Optional[str]:
    found = profiles_of(name)
    return found[0] if found else None


def check_target(name: str, profile: Optional[str] = None) -> None:
    """Raise :class:`UnknownTarget` / :class:`UnknownProfile` (one line naming the valid choices)."""
    if name not in REGISTRY:
        raise UnknownTarget(f"unknown target {name!r}; expected one of {', '.join(REGISTRY)}")
    if profile is None:
        return
    valid = profiles_of(name)
    if not valid:
        raise UnknownProfile(f"the {name} target has no profiles (got {profile!r})")
    if profile not in valid:
        raise UnknownProfile(f"unknown profile {profile!r} for {name}; expected one of {', '.join(valid)}")


@dataclass(frozen=True)
class TargetSpec:
    """A target and optionally one of its profiles, written ``name`` or ``name:profile``, and
    whether it compiles broader translations (``name:profile+broader``: a refused atom is dropped
    soundly, see :mod:`eqlc.broaden`; the label stays ``name:profile``).

    ``mapping`` is the ``--mapping`` file meant for this target (not part of its identity)."""

    name: str
    profile: Optional[str] = None
    mapping: Optional[str] = field(default=None, compare=False)
    broader: bool = False

    @classmethod
    def parse(cls, text: str) -> "TargetSpec":
        text, plus, flag = text.strip().partition("+")
        if plus and flag != "broader":
            raise UsageError(f"unknown target option +{flag}; expected +broader")
        name, _, profile = text.partition(":")
        check_target(name, profile or None)
        return cls(name, profile or None, broader=bool(plus))

    @property
    def label(self) -> str:
        return f"{self.name}:{self.profile}" if self.profile else self.name

    @property
    def folder(self) -> str:
        """The sub-folder of ``-o`` for this target when a batch has several (``kql-sentinel-asim``)."""
        return f"{self.name}-{self.profile}" if self.profile else self.name


def all_profile_specs() -> list[str]:
    """Every ``target:profile`` there is, for messages that list the valid choices."""
    return [f"{n}:{p}" for n in available() for p in profiles_of(n)]


def parse_targets(values: Optional[Iterable[str]], profile: Optional[str] = None, *,
                  option: str = "--target") -> list[TargetSpec]:
    """The targets named by ``values`` (each may be repeated or comma-separated; ``all`` is every
    installed target; ``name:profile`` picks a profile), with ``profile`` (a separate ``--profile``)
    applied when exactly one target is named. Raises :class:`UsageError` subclasses, one line each."""
    wanted = [n.strip() for item in (values or []) for n in str(item).split(",") if n.strip()]
    if not wanted:
        wanted = ["all"]
    specs: list[TargetSpec] = []
    for item in wanted:
        if item in ("all", "all+broader"):
            specs.extend(TargetSpec(n, broader=item != "all") for n in available())
            continue
        name = item.partition("+")[0].partition(":")[0]
        if name not in REGISTRY:
            raise UnknownTarget(f"{option}: unknown target {name!r}; expected one of {', '.join(REGISTRY)} or all")
        specs.append(TargetSpec.parse(item))
    specs = list(dict.fromkeys(specs))  # first occurrence of each target:profile wins
    if profile is not None:
        if len(specs) != 1:
            raise UsageError(f"--profile applies to a single target; with several, give each target its profile as "
                             f"{option} TARGET:PROFILE (one of {', '.join(all_profile_specs())})")
        only = specs[0]
        if only.profile is not None and only.profile != profile:
            raise UsageError(f"--profile {profile} contradicts {option} {only.label}")
        check_target(only.name, profile)
        specs = [TargetSpec(only.name, profile, broader=only.broader)]
    return specs


def compile_rule(rule: Rule, target: str, profile: Optional[str] = None, mapping: Optional[str] = None,
                 broader: bool = False) -> Translation:
    """Compile one rule for one target: the one place every command and the library API compile.

    An unknown target or profile raises :class:`UnknownTarget`/:class:`UnknownProfile`; a bad
    ``mapping`` file raises its :class:`~eqlc.errors.EqlError` (user input). Any other exception
    from the target is an internal error: the result has status ``error`` with the exception's
    type and message (never a refusal), so one emitter bug does not lose a batch. The result
    names the rule's path and the profile in effect (the target's default when none was asked).
    With ``broader``, a refusal about one atom is answered by widening the rule
    (:mod:`eqlc.broaden`); an internal error is never widened."""
    check_target(target, profile)
    t = _compile_once(rule, target, profile, mapping)
    if broader and t.status is Status.REFUSED:
        from .broaden import compile_broader

        t = compile_broader(rule, t, lambda r: _compile_once(r, target, profile, mapping))
        t.rule_path = rule.path
        if t.profile is None:
            t.profile = _profile_in_effect(target, profile)
    return t


def _profile_in_effect(target: str, profile: Optional[str]) -> Optional[str]:
    try:
        return profile or default_profile(target)
    except Exception:  # noqa: BLE001 - the target does not even import: its error says so
        return profile


def _compile_once(rule: Rule, target: str, profile: Optional[str], mapping: Optional[str]) -> Translation:
    from .errors import EqlError

    try:
        t = get_target(target).compile(rule, profile=profile, mapping=mapping)
    except EqlError:
        raise
    except Exception as exc:  # an emitter bug must not lose the batch: status ERROR, with the exception
        t = Translation.failed(target, exc)
    t.rule_path = rule.path
    if t.profile is None:
        t.profile = _profile_in_effect(target, profile)
    return t
