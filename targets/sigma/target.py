"""The Sigma :class:`compiler.target.Target`."""

from __future__ import annotations

from typing import Iterable, Optional

from compiler.result import Refused, Translation
from compiler.rule import Rule

from .detection import PROFILES
from .emit import emit
from .mapping import load


class SigmaTarget:
    name = "sigma"
    profiles = PROFILES  # "cased" (default, exact |cased) and "portable" (no |cased, for Splunk/Kusto)

    def compile(self, rule: Rule, profile: Optional[str] = None, mapping: Optional[str] = None) -> Translation:
        try:
            em = emit(rule, profile, load(mapping))
        except Refused as err:
            return Translation.refused(self.name, err.reason, profile=profile)
        status_notes = em.log.texts
        t = Translation.from_notes(self.name, em.text, _Notes(status_notes), profile=profile)
        return t

    def execute(self, translation: Translation, events: Iterable[dict], profile: Optional[str] = None,
                mapping: Optional[str] = None) -> list[str]:
        from .engine import run

        if translation.output is None:
            return []
        return run(translation.output, list(events), load(mapping))


class _Notes:
    def __init__(self, texts: list[str]) -> None:
        self.assumptions = texts


TARGET = SigmaTarget()
