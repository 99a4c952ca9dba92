"""The KQL target: Microsoft Defender XDR advanced hunting (``defender``, default) and Microsoft
Sentinel ASIM parsers (``sentinel-asim``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterable, Optional

from eqlc.result import Notes, Refused, Status, Translation
from eqlc.rule import Rule

from . import deploy
from .argv import Derived
from .emit import Fact, Mapped
from .profile import DEFAULT_PROFILE, PROFILE_FILES, load_profile
from . import raw_tables
from .query import compile_query
from .syntax import UnquotableString


@dataclass
class KqlTranslation(Translation):
    """A translation that also remembers which implied-field comparisons it decided, which fields
    it read from a command line and which through a profile expression, so that the fixture
    adapter can tell which events the stated assumptions cover."""

    facts: list[Fact] = field(default_factory=list, compare=False, repr=False)
    derived: list[Derived] = field(default_factory=list, compare=False, repr=False)
    computed: list[str] = field(default_factory=list, compare=False, repr=False)
    folded: list[str] = field(default_factory=list, compare=False, repr=False)
    mapped: list[Mapped] = field(default_factory=list, compare=False, repr=False)
    spelled: list = field(default_factory=list, compare=False, repr=False)
    emptied: list[str] = field(default_factory=list, compare=False, repr=False)
    columns: Optional[list[str]] = field(default=None, compare=False, repr=False)  # table columns the query reads
    absent: list = field(default_factory=list, compare=False, repr=False)  # leaves on optional fields with no column
    keyed: list[str] = field(default_factory=list, compare=False, repr=False)  # identifier join keys read with their scope
    plan: Optional[object] = field(default=None, compare=False, repr=False)  # a sequence's scan.SequencePlan
    signed: list = field(default_factory=list, compare=False, repr=False)  # leaves read from a hash-keyed lookup (certificates.py)
    # raw-tables profile: the one table the rule's index patterns chose; the fixture adapter builds only
    # its rows, so that another raw table's mapping (AWSCloudTrail's event.outcome) never sets an event apart
    tables: Optional[list[str]] = field(default=None, compare=False, repr=False)
    # tables of one category split by a field (emit.Routed): the adapter puts each event in one of them
    routed: list = field(default_factory=list, compare=False, repr=False)


class KqlTarget:
    name = "kql"
    profiles = tuple(PROFILE_FILES)

    def check_mapping(self, mapping: str, profile: Optional[str] = None) -> None:
        """Load a user's mapping file once, so that a bad one is an error before any rule compiles."""
        load_profile(profile or DEFAULT_PROFILE, mapping)

    def compile(self, rule: Rule, profile: Optional[str] = None, mapping: Optional[str] = None) -> Translation:
        pname = profile or DEFAULT_PROFILE
        prof = load_profile(pname, mapping)
        notes = Notes()
        try:
            text, checks = compile_query(prof, rule, notes)
        except Refused as r:
            return KqlTranslation(self.name, Status.REFUSED, [r.reason], None, profile=pname, rule_path=rule.path,
                                  refusal_node=r.node)
        except UnquotableString as err:
            return KqlTranslation(self.name, Status.REFUSED, [str(err)], None, profile=pname, rule_path=rule.path)
        status = Status.ASSUMPTIONS if notes.assumptions else Status.EXACT
        arts = deploy.artifacts(rule, text, list(notes.assumptions), prof)
        narrowed = raw_tables.narrow(prof, rule, Notes()) if raw_tables.is_raw(prof) else prof
        raw = list(narrowed.tables) if raw_tables.is_raw(narrowed) else None
        return KqlTranslation(self.name, status, list(notes.assumptions), text, arts, rule_path=rule.path, profile=pname,
                              facts=checks.facts, derived=checks.derived, computed=checks.computed, folded=checks.folded,
                              mapped=checks.mapped, spelled=checks.spelled, emptied=checks.emptied,
                              columns=checks.columns, absent=checks.absent, keyed=checks.keyed, plan=checks.plan,
                              signed=checks.signed, tables=raw, routed=checks.routed)

    def batch_artifacts(self, translations: list[Translation], rules: list[Rule], profile: Optional[str] = None,
                        mapping: Optional[str] = None) -> dict[str, str]:
        """The batch's one Sentinel ARM template (see :data:`eqlc.target.BATCH_ARTIFACTS`)."""
        return deploy.batch_artifacts(translations, profile or DEFAULT_PROFILE)

    def execute(self, translation: Translation, events: Iterable[dict], profile: Optional[str] = None, mapping: Optional[str] = None) -> list[str]:
        from .adapter import run

        return run(translation, list(events), profile or translation.profile or DEFAULT_PROFILE, mapping)

    def outside_assumptions(self, rule: Rule, translation: Translation, events: Iterable[dict],
                            profile: Optional[str] = None, mapping: Optional[str] = None) -> dict[str, str]:
        """``_id`` -> reason for every event on which a stated assumption of ``translation`` is
        false: the adapter leaves these out of the tables, since the translation is only claimed
        exact where its assumptions hold (see :data:`eqlc.target.OUTSIDE_ASSUMPTIONS`)."""
        from .adapter import dependents, exclusions, step_ties, until_ties

        events = list(events)
        out = exclusions(translation, events, profile or translation.profile or DEFAULT_PROFILE, mapping)
        out.update(until_ties(rule, events, out))  # a sequence's until events tied with its events
        out.update(step_ties(rule, events, out))  # step events of one key tied in time (audit6)
        if out and (rule.query.kind != "event" or rule.query.pipes):
            out.update(dependents(rule, events, out))
        return out


TARGET = KqlTarget()
