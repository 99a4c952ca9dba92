"""The Sigma :class:`eqlc.target.Target`.

Profiles: ``cased`` (default) writes ``|cased`` wherever EQL compares case-sensitively, which is
exact and what pySigma's sqlite backend runs; ``portable`` leaves it out for backends without
case-sensitive matching (pySigma's Splunk and Kusto backends reject ``cased``) and states, per
comparison, that values never differ only in letter case.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterable, Optional

from eqlc.result import Notes, Refused, Translation
from eqlc.rule import Rule
from eqlc.targets.sequence_scope import spread_over_join_keys

from .assumptions import AssumptionLog
from .detection import PROFILES
from .emit import emit
from .mapping import load


@dataclass
class SigmaTranslation(Translation):
    """A translation that keeps the emitter's assumption log (each stated assumption with its
    check), so that :meth:`SigmaTarget.outside_assumptions` need not emit the rule again."""

    log: Optional[AssumptionLog] = field(default=None, compare=False, repr=False)


class SigmaTarget:
    name = "sigma"
    profiles = PROFILES

    def compile(self, rule: Rule, profile: Optional[str] = None, mapping: Optional[str] = None) -> Translation:
        try:
            em = emit(rule, profile, load(mapping))
        except Refused as err:
            return Translation.refused(self.name, err.reason, profile=profile, refusal_node=err.node)
        return SigmaTranslation.from_notes(self.name, em.text, Notes(list(em.log.texts)), profile=profile, log=em.log)

    def execute(self, translation: Translation, events: Iterable[dict], profile: Optional[str] = None,
                mapping: Optional[str] = None) -> list[str]:
        """pySigma's sqlite SQL for the emitted rules, run by sqlite3 over ``events`` mapped into
        Sigma-taxonomy rows by the same mapping (see engine.py); the ids it selects."""
        from .engine import run

        if translation.output is None:
            return []
        return run(translation.output, list(events), load(mapping))

    def outside_assumptions(self, rule: Rule, translation: Translation, events: Iterable[dict],
                            profile: Optional[str] = None, mapping: Optional[str] = None) -> dict[str, str]:
        """``_id`` -> the first stated assumption the event breaks, from the checks the emitter
        attached to each assumption as it stated it (:mod:`.assumptions`)."""
        log = getattr(translation, "log", None)
        if log is None:  # a translation made elsewhere: state the assumptions again
            try:
                log = emit(rule, profile or translation.profile, load(mapping)).log
            except Refused:
                return {}
        events = list(events)
        out = {}
        for event in events:
            broken = log.violated_by(event)
            if broken:
                out[str(event["_id"])] = broken[0]
        # in a sequence (a correlation), the breaking event also changes its join-key partners' matches
        return spread_over_join_keys(rule.query, out, events)


TARGET = SigmaTarget()
