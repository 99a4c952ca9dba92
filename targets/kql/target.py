"""The KQL target: Microsoft Defender XDR advanced hunting (``defender``, default) and Microsoft
Sentinel ASIM parsers (``sentinel-asim``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterable, Optional

from compiler.result import Notes, Refused, Status, Translation
from compiler.rule import Rule

from . import deploy
from .emit import Fact
from .profile import DEFAULT_PROFILE, PROFILE_FILES, load_profile
from .query import compile_query
from .syntax import UnquotableString


@dataclass
class KqlTranslation(Translation):
    """A translation that also remembers which implied-field comparisons it decided, so that the
    fixture adapter can tell which events the stated assumptions cover."""

    facts: list[Fact] = field(default_factory=list, compare=False, repr=False)


class KqlTarget:
    name = "kql"
    profiles = tuple(PROFILE_FILES)

    def compile(self, rule: Rule, profile: Optional[str] = None, mapping: Optional[str] = None) -> Translation:
        pname = profile or DEFAULT_PROFILE
        prof = load_profile(pname, mapping)
        notes = Notes()
        try:
            text, facts = compile_query(prof, rule, notes)
        except Refused as r:
            return KqlTranslation(self.name, Status.REFUSED, [r.reason], None, profile=pname, rule_path=rule.path)
        except UnquotableString as err:
            return KqlTranslation(self.name, Status.REFUSED, [str(err)], None, profile=pname, rule_path=rule.path)
        status = Status.ASSUMPTIONS if notes.assumptions else Status.EXACT
        arts = deploy.artifacts(rule, text, list(notes.assumptions), pname)
        return KqlTranslation(self.name, status, list(notes.assumptions), text, arts, rule_path=rule.path, profile=pname, facts=facts)

    def execute(self, translation: Translation, events: Iterable[dict], profile: Optional[str] = None, mapping: Optional[str] = None) -> list[str]:
        from .adapter import run

        return run(translation, list(events), profile or translation.profile or DEFAULT_PROFILE, mapping)


TARGET = KqlTarget()
