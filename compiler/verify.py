"""Equivalence checking: run every target on the same fixtures and compare with the matcher.

For one rule and a set of fixture events (hand-written next to the rule, given by the user, or
generated witnesses), each target compiles the rule and runs its own output through its own
engine (``Target.execute``). The Python matcher's selection is the reference; a target
*disagrees* on every event it selects differently, except where the translation states an
assumption and the target's own check (``outside_assumptions``, see :mod:`eqlc.target`) says
the event breaks it: such a difference is reported as *outside the stated assumptions*, with the
assumption, and does not count against the translation. Exact translations get no such excuse.
Hand-written expectations (``expectations.yaml``) are checked against the matcher and against every
target, so that a wrong reference cannot make everything agree. A refused translation is reported
as refused, never as a disagreement.

An excuse must not swallow the rule: a stated assumption that every event the rule selects breaks
is not an assumption but a refusal the target did not make (the translation is claimed exact only
where the rule selects nothing, so a query selecting nothing would pass). :func:`scope_of` measures,
per target, how many of the reference's positives stay inside the stated assumptions; when the
reference selects events and none of them does, the verdict is ``vacuous`` (its own verdict, and
a failure of ``eqlc verify``), never ``unproven`` or ``verified``. Witnesses that break an
assumption by design (edge cases) are fine as long as some positive stays in scope.

Targets are found through :mod:`eqlc.target` only (``available()``/``get_target``), so a new
target is verified as soon as it is registered. ``name:profile`` selects a profile
(``kql:sentinel-asim``). A target whose emitter raises gets status ``error`` (verdict ``error``): it
is reported, never run, and never counted as a refusal.
"""

from __future__ import annotations

import time
import traceback
import collections
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Optional, Sequence, Union

from .target import compile_rule
from .errors import EqlError
from .fixtures import Expectation, check_ids, expectation_for, load_events
from .fixtures.oracle import Oracle
from .fixtures.witness import WitnessSet, generate
from .result import Status, Translation
from .rule import Rule
from .result import describe_exception
from .target import EVENT_ID_FIELD, OUTSIDE_ASSUMPTIONS, TargetSpec, get_target, parse_targets


def target_specs(names: Optional[Iterable[str]] = None) -> list[TargetSpec]:
    """The requested targets, or every installed one (``all`` also means every installed one);
    see :func:`eqlc.target.parse_targets`."""
    return parse_targets(names, option="--targets")


@dataclass(frozen=True)
class Scope:
    """What the events inside a translation's stated assumptions can show about it.

    ``positives`` are the events the reference (the matcher) selects; ``in_scope`` the events on
    which every stated assumption holds by the target's own check (``outside_assumptions``), and
    ``in_scope_positives`` the positives among them. ``positive_breaks`` counts, per stated
    assumption (the target's reason text), the positives that break it, most frequent first.

    This is the measure other checks build on: :attr:`vacuous` (no positive inside the
    assumptions although the rule selects some) and :attr:`proven` (the events inside them
    include selected and rejected ones)."""

    events: int
    positives: int
    in_scope: int
    in_scope_positives: int
    positive_breaks: tuple[tuple[str, int], ...] = ()

    @property
    def positives_outside(self) -> int:
        return self.positives - self.in_scope_positives

    @property
    def vacuous(self) -> bool:
        """The reference selects events, but each breaks a stated assumption: the translation is
        claimed exact only on events the rule does not select. An assumption that every in-scope
        positive breaks is a refusal, not an assumption."""
        return self.positives > 0 and self.in_scope_positives == 0

    @property
    def proven(self) -> bool:
        """Agreement on the in-scope events can tell a right translation from a wrong one: they
        include at least one event the matcher selects and one it rejects (a query selecting
        everything, or nothing, would otherwise agree too)."""
        return 0 < self.in_scope_positives < self.in_scope


def scope_of(events: Sequence[dict], reference: Iterable[str], outside: dict[str, str]) -> Scope:
    """The :class:`Scope` of a translation on ``events``: ``reference`` the ids the matcher
    selects, ``outside`` the target's ``_id -> broken assumption`` for the events that break one."""
    ref = set(reference)
    ids = [e[EVENT_ID_FIELD] for e in events]
    positives = [i for i in ids if i in ref]
    breaks = collections.Counter(outside[i] for i in positives if i in outside)
    return Scope(
        events=len(ids),
        positives=len(positives),
        in_scope=sum(1 for i in ids if i not in outside),
        in_scope_positives=sum(1 for i in positives if i not in outside),
        positive_breaks=tuple(breaks.most_common()),
    )


@dataclass
class TargetRun:
    """One target's result on one rule's fixtures."""

    spec: TargetSpec
    translation: Translation
    selected: Optional[list[str]] = None  # None when refused or failed
    disagreements: list[str] = field(default_factory=list)  # ids selected differently from the matcher
    expectation_failures: list[str] = field(default_factory=list)  # ids differing from hand-written truth
    error: Optional[str] = None  # the engine failed to run the translation
    seconds: float = 0.0
    # id -> stated assumption the event breaks (every such event, whether or not it differs)
    outside: dict[str, str] = field(default_factory=dict)
    # ids selected differently from the matcher on events that break a stated assumption
    outside_differences: list[str] = field(default_factory=list)
    scope: Optional[Scope] = None  # what the events inside the stated assumptions show (None: not run)
    # BROADER: ids the target selects that the matcher does not (allowed: the dropped conditions' noise)
    extra: list[str] = field(default_factory=list)

    @property
    def events_run(self) -> int:
        """Fixture events the translation ran on."""
        return self.scope.events if self.scope else 0

    @property
    def in_scope(self) -> int:
        """Events where every stated assumption holds."""
        return self.scope.in_scope if self.scope else 0

    @property
    def in_scope_selected(self) -> int:
        """Of those, how many the matcher selects."""
        return self.scope.in_scope_positives if self.scope else 0

    @property
    def status(self) -> Status:
        return self.translation.status

    @property
    def refused(self) -> bool:
        return self.translation.status is Status.REFUSED

    @property
    def internal_error(self) -> bool:
        """The target's emitter raised: status ``error`` (no translation to run)."""
        return self.translation.status is Status.ERROR

    @property
    def proven(self) -> bool:
        """The events inside the stated assumptions can tell a right translation from a wrong one
        (:attr:`Scope.proven`). For a broader translation, whose claim is a superset: some event
        the matcher selects is inside them (a miss would show) and the target rejects some event
        (it does not select everything)."""
        if self.scope is None:
            return False
        if self.status is Status.BROADER:
            rejects = self.selected is not None and len(set(self.selected)) < self.scope.events
            return self.scope.in_scope_positives > 0 and rejects
        return self.scope.proven

    @property
    def vacuous(self) -> bool:
        """Every event the matcher selects breaks a stated assumption (:attr:`Scope.vacuous`)."""
        return self.scope is not None and self.scope.vacuous

    @property
    def verified(self) -> bool:
        return self.verdict == "verified"

    @property
    def verdict(self) -> str:
        """``refused``, ``error`` (the emitter or the engine failed), ``disagreement``, ``vacuous``
        (the matcher selects events, but every one breaks a stated assumption: an unstated refusal),
        ``unproven`` (agrees, but the events where the stated assumptions hold are all selected or all
        rejected) or ``verified``."""
        if self.internal_error:
            return "error"
        if self.refused:
            return "refused"
        if self.error is not None:
            return "error"
        if self.disagreements or self.expectation_failures:
            return "disagreement"  # for a broader translation: a superset violation (a missed event)
        if self.vacuous:
            return "vacuous"
        if not self.proven:
            return "unproven"
        return "verified"

    def as_result(self, rule: Rule) -> dict:
        out = {
            "rule": rule.path,
            "target": self.spec.name,
            "status": self.status.value,
            "verified": self.verified,
            "disagreements": list(self.disagreements),
        }
        if self.spec.profile:
            out["profile"] = self.spec.profile
        out["verdict"] = self.verdict
        if not self.refused and not self.internal_error and self.error is None:
            out["events"] = self.events_run
            out["outside_assumptions"] = {i: self.outside[i] for i in self.outside_differences}
            out["events_in_scope"] = self.in_scope
            out["events_in_scope_selected"] = self.in_scope_selected
            if self.status is Status.BROADER:
                out["extra_selections"] = len(self.extra)
                out["dropped"] = [d.as_dict() for d in self.translation.dropped]
            if self.scope is not None:
                out["events_selected"] = self.scope.positives
                if self.scope.positive_breaks:  # the stated assumptions the matcher's selections break
                    out["positives_outside"] = [{"assumption": a, "events": n} for a, n in self.scope.positive_breaks[:5]]
        out["notes"] = list(self.translation.notes)
        if self.expectation_failures:
            out["expectation_failures"] = list(self.expectation_failures)
        if self.error:
            out["error"] = self.error
        return out


# Verdicts that do not fail ``eqlc verify``: a refusal is an answer, and ``unproven`` says the
# fixtures cannot tell; ``vacuous`` is a refusal the target did not make, so it fails.
OK_VERDICTS = ("verified", "unproven", "refused")


@dataclass
class Verification:
    rule: Rule
    events: list[dict]
    source: str  # "hand-written", "file" or "generated"
    fixtures_path: Optional[str]
    reference: list[str]  # the matcher's selection
    expected: Optional[list[str]]  # hand-written truth, if any
    runs: list[TargetRun]
    witnesses: Optional[WitnessSet] = None
    reference_error: Optional[str] = None

    @property
    def reference_failures(self) -> list[str]:
        """Events where the matcher itself contradicts the hand-written expectation."""
        if self.expected is None:
            return []
        return _differences(self.events, self.reference, self.expected)

    @property
    def ok(self) -> bool:
        return (
            self.reference_error is None
            and not self.reference_failures
            and all(r.verdict in OK_VERDICTS for r in self.runs)
        )

    def results(self) -> list[dict]:
        return [r.as_result(self.rule) for r in self.runs]

    def reference_dict(self) -> dict:
        out: dict[str, Any] = {
            "rule": self.rule.path,
            "fixtures": self.source,
            "events": len(self.events),
            "selected": list(self.reference),
        }
        if self.fixtures_path:
            out["fixtures_path"] = self.fixtures_path
        if self.expected is not None:
            out["expected"] = list(self.expected)
            out["expectation_failures"] = self.reference_failures
        if self.reference_error:
            out["error"] = self.reference_error
        return out


def _differences(events: Sequence[dict], got: Iterable[str], want: Iterable[str]) -> list[str]:
    a, b = set(got), set(want)
    return [e[EVENT_ID_FIELD] for e in events if (e[EVENT_ID_FIELD] in a) != (e[EVENT_ID_FIELD] in b)]


def fixtures_for(rule: Rule, fixtures: Optional[Union[str, Path]] = None) -> tuple[list[dict], Optional[list[str]], str, Optional[str]]:
    """(events, hand-written expected ids or None, source, path): ``fixtures`` if given, else the
    hand-written fixtures of ``expectations.yaml`` beside the rule, else ([], None, "generated")."""
    exp: Optional[Expectation] = expectation_for(rule.path)
    if fixtures is not None:
        path = Path(fixtures).resolve()
        events = load_events(path)
        expected = list(exp.matches) if exp is not None and exp.fixtures == path else None
        if expected is not None:
            check_ids(events, expected, str(path))
        return events, expected, "file" if expected is None else "hand-written", str(path)
    if exp is not None:
        events = load_events(exp.fixtures)
        check_ids(events, exp.matches, str(exp.fixtures))
        return events, list(exp.matches), "hand-written", str(exp.fixtures)
    return [], None, "generated", None


def run_target(
    rule: Rule,
    spec: TargetSpec,
    events: list[dict],
    reference: list[str],
    expected: Optional[list[str]] = None,
    mapping: Optional[str] = None,
) -> TargetRun:
    """Compile ``rule`` for one target and run it on ``events``; never raises for a target bug."""
    start = time.perf_counter()
    translation = compile_rule(rule, spec.name, spec.profile, spec.mapping or mapping, spec.broader)
    run = TargetRun(spec, translation)
    if translation.status is Status.ERROR:
        run.error = translation.error
    elif translation.status is not Status.REFUSED:
        try:
            target = get_target(spec.name)
            ids = target.execute(translation, events, profile=spec.profile, mapping=spec.mapping or mapping)
            run.selected = [str(i) for i in ids]
            known = {e[EVENT_ID_FIELD] for e in events}
            unknown = sorted(set(run.selected) - known)
            if unknown:
                run.error = f"the engine returned ids that are not fixture events: {', '.join(unknown[:5])}"
            else:
                run.outside = _outside(target, rule, translation, events, spec, spec.mapping or mapping)
                differing = _differences(events, run.selected, reference)
                if translation.status is Status.BROADER:  # a superset: only a missed event is wrong
                    extra = set(run.selected) - set(reference)
                    run.extra = [i for i in differing if i in extra]
                    differing = [i for i in differing if i not in extra]
                run.disagreements = [i for i in differing if i not in run.outside]
                run.outside_differences = [i for i in differing if i in run.outside]
                if expected is not None:
                    run.expectation_failures = [
                        i for i in _differences(events, run.selected, expected) if i not in run.outside
                        and not (translation.status is Status.BROADER and i in run.selected)]
                run.scope = scope_of(events, reference, run.outside)
        except Exception as exc:  # an engine failure is a result to report, not a crash of the batch
            tb = traceback.extract_tb(exc.__traceback__)
            where = f" ({Path(tb[-1].filename).name}:{tb[-1].lineno})" if tb else ""
            run.error = f"{describe_exception(exc)}{where}"
    run.seconds = time.perf_counter() - start
    return run


def _outside(target: Any, rule: Rule, translation: Translation, events: list[dict], spec: TargetSpec,
             mapping: Optional[str]) -> dict[str, str]:
    """The target's own verdict on which events break the translation's stated assumptions; none
    for an exact translation or a target without such checks."""
    if translation.status is Status.BROADER and translation.notes:
        rule = translation.widened_rule or rule  # the rule the target compiled, with its stated assumptions
    elif translation.status is not Status.ASSUMPTIONS:
        return {}
    check = getattr(target, OUTSIDE_ASSUMPTIONS, None)
    if check is None:
        return {}
    return {str(k): v for k, v in check(rule, translation, events, profile=spec.profile, mapping=mapping).items()}


def verify_rule(
    rule: Rule,
    targets: Optional[Sequence[TargetSpec]] = None,
    fixtures: Optional[Union[str, Path]] = None,
    mapping: Optional[str] = None,
    oracle: Optional[Oracle] = None,
    witnesses: Optional[WitnessSet] = None,
    generated_only: bool = False,
) -> Verification:
    """Verify ``rule`` on every target: hand-written/given fixtures, else generated witnesses
    (always generated witnesses with ``generated_only``, as the batch report does)."""
    oracle = oracle or Oracle()
    specs = list(targets) if targets is not None else target_specs()
    if generated_only:
        events, expected, source, path = [], None, "generated", None
    else:
        events, expected, source, path = fixtures_for(rule, fixtures)
    if source == "generated":
        witnesses = witnesses or generate(rule, oracle)
        events = witnesses.events
    reference_error = None
    try:
        reference = list(witnesses.expected) if source == "generated" and witnesses else oracle.selected(rule, events)
    except Exception as exc:  # the reference itself failed: nothing can be verified
        reference, reference_error = [], f"{type(exc).__name__}: {exc}"
    runs = [run_target(rule, s, events, reference, expected, mapping) for s in specs]
    if reference_error:
        for r in runs:
            if not r.refused and not r.internal_error and r.error is None:
                r.error = "the reference matcher failed: " + reference_error
    return Verification(rule, events, source, path, reference, expected, runs, witnesses, reference_error)
