"""The Sigma :class:`eqlc.target.Target`.

Profiles: ``portable`` (default) leaves ``|cased`` out, so that the output converts with every
sigma-cli backend (pySigma's Splunk, Kusto and Elasticsearch backends reject ``cased``: "Case-
sensitive string matching is not supported by backend"), and states, per case-sensitive
comparison, that values never differ only in letter case (with its check); ``cased`` writes
``|cased`` wherever EQL compares case-sensitively, which is exact and what pySigma's sqlite backend
runs.

Files: a translation is one or more Sigma files named as SigmaHQ names them (``file_name`` in
emit.py): a detection rule per log source, a correlation with its base rules in one file.
``output`` holds them all (one YAML stream, as ``--json`` shows it); ``eqlc compile -o`` writes the
files (``artifacts``) and not the stream, so that a directory of output is a SigmaHQ-style rule
set sigma-cli reads as it is.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterable, Optional

from eqlc.result import Notes, Refused, Translation
from eqlc.rule import Rule
from eqlc.targets.sequence_scope import spread_over_join_keys

from .assumptions import AssumptionLog
from .detection import PROFILES
from .emit import emit, header_lines
from .mapping import load


@dataclass
class SigmaTranslation(Translation):
    """A translation that keeps the emitter's assumption log (each stated assumption with its
    check), so that :meth:`SigmaTarget.outside_assumptions` need not emit the rule again."""

    log: Optional[AssumptionLog] = field(default=None, compare=False, repr=False)


class SigmaTarget:
    name = "sigma"
    profiles = PROFILES

    def check_mapping(self, mapping: str, profile: Optional[str] = None) -> None:
        """Load a user's mapping file once, so that a bad one is an error before any rule compiles."""
        load(mapping)

    def compile(self, rule: Rule, profile: Optional[str] = None, mapping: Optional[str] = None) -> Translation:
        try:
            em = emit(rule, profile, load(mapping))
        except Refused as err:
            return Translation.refused(self.name, err.reason, profile=profile, refusal_node=err.node)
        t = SigmaTranslation.from_notes(self.name, em.text, Notes(list(em.log.texts)), profile=profile, log=em.log)
        t.artifacts = em.file_texts(header_lines(rule, em.log))
        t.output_file = ""
        return t

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
        out = log.outside(events)
        # in a sequence (a correlation), the breaking event also changes its join-key partners' matches
        return spread_over_join_keys(rule.query, out, events)


TARGET = SigmaTarget()
