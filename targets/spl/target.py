"""The Splunk SPL target: ``compile`` a rule to SPL (a batch gets one Splunk app), ``execute`` SPL
on ECS fixture events through the reference evaluator."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterable, Optional

from eqlc import ir
from eqlc.result import Notes, Refused, Translation
from eqlc.rule import Rule

from . import adapter, assumptions, emitter, evaluator, savedsearch, sequence
from .evaluator import search_lang
from .profile import PROFILES, load_profile


@dataclass
class SplTranslation(Translation):
    """A translation that remembers the comments its savedsearches.conf stanza carries (why a
    cim rule has no tstats form), for the app :meth:`SplTarget.batch_artifacts` writes."""

    stanza_comments: tuple[str, ...] = field(default=(), compare=False, repr=False)


class SplTarget:
    name = "spl"
    profiles = PROFILES

    def check_mapping(self, mapping: str, profile: Optional[str] = None) -> None:
        """Load a user's mapping file once, so that a bad one is an error before any rule compiles."""
        load_profile(profile, mapping)

    def compile(self, rule: Rule, profile: Optional[str] = None, mapping: Optional[str] = None) -> Translation:
        prof = load_profile(profile, mapping)
        notes = Notes()
        extra: dict[str, str] = {}
        comments: tuple = ()
        try:
            q = rule.query
            platforms = prof.data.get("platforms")
            if platforms and rule.platforms and not set(rule.platforms) & set(platforms):
                raise Refused(f"the rule is written for {', '.join(rule.platforms)} (its tags); the {prof.name} profile's "
                              f"data holds {', '.join(platforms)} events only")
            emitter.check_query(q)
            body = q.body
            if isinstance(body, ir.EventQuery):
                out = emitter.event_query(rule, body, prof, notes)
                text, extra, comments = out.text, out.artifacts, out.comments
            elif isinstance(body, ir.Sequence):
                text = sequence.sequence_query(rule, body, prof, notes)
                if prof.is_datamodel:
                    comments = ("no tstats form: a sequence needs the events themselves (streamstats), which tstats does not return",)
            else:
                raise Refused("sample queries are not translated: Elasticsearch picks at most one unordered sample per join key "
                              "(max_samples_per_key) from the whole search window, which has no exact streaming SPL equivalent", body)
        except Refused as r:
            return Translation.refused(self.name, r.reason, profile=prof.name, refusal_node=r.node)
        base = Translation.from_notes(self.name, text, notes, profile=prof.name)
        t = SplTranslation(base.target, base.status, base.notes, base.output, profile=prof.name, stanza_comments=tuple(comments))
        for suffix, art in extra.items():
            t.artifacts[rule.file_stem + suffix] = art
        return t

    def batch_artifacts(self, translations: list[Translation], rules: list[Rule], profile: Optional[str] = None,
                        mapping: Optional[str] = None) -> dict[str, str]:
        """One Splunk app with every rule (see :data:`eqlc.target.BATCH_ARTIFACTS` and :mod:`.savedsearch`)."""
        prof = load_profile(profile, mapping)
        comments = {i: getattr(t, "stanza_comments", ()) for i, t in enumerate(translations)}
        return savedsearch.app_files(list(zip(rules, translations)), prof, comments)

    def execute(self, translation: Translation, events: Iterable[dict], profile: Optional[str] = None,
                mapping: Optional[str] = None) -> list[str]:
        """Run the SPL text on ECS events. In the ecs profile, fixture events are taken to be in the
        rule's first index/source type (read from the text's first search command); in the cim and
        windows profiles each event becomes the add-on event of every dataset of its category."""
        if translation.output is None:
            raise ValueError("a refused translation cannot be executed")
        prof = load_profile(profile or translation.profile, mapping)
        events = list(events)
        if not prof.is_ecs:
            events = representable(translation.notes, events)
        return self.run_text(translation.output, events, prof.name, mapping)

    def outside_assumptions(self, rule: Rule, translation: Translation, events: Iterable[dict],
                            profile: Optional[str] = None, mapping: Optional[str] = None) -> dict[str, str]:
        """``_id`` -> the stated assumption the event breaks (or, in a sequence, breaks through an
        event sharing its join key): the checks the emitter attached to its notes
        (:mod:`.assumptions`). The rule is compiled again so the checks are at hand even when
        ``translation`` came through a process boundary."""
        notes = self.compile(rule, profile or translation.profile, mapping).notes
        return assumptions.outside_assumptions(rule.query, notes, events)

    def run_text(self, text: str, events: Iterable[dict], profile: Optional[str] = None,
                 mapping: Optional[str] = None) -> list[str]:
        """Run any SPL text eqlc emits (the search, or an artifact such as the tstats form) on ECS
        events: the ids of the selected events, each once, in the order of ``events`` (a sequence
        search returns its results in time order). A tstats row stands for the events it counts."""
        events = list(events)
        prof = load_profile(profile, mapping)
        pipeline = evaluator.parse(text)
        index, sourcetype = _scope_of(pipeline) if prof.is_ecs else ("main", None)
        rows = adapter.adapt(events, prof, index, sourcetype)
        out = pipeline.run(rows)
        if pipeline.commands and pipeline.commands[0].name == "tstats":
            hit = {i for r in out for i in r.get("_eqlc_from", [])}
        else:
            hit = {r["_id"][0] for r in out}
        return [str(e.get("_id")) for e in events if str(e.get("_id")) in hit]


def representable(notes: Iterable[str], events: list[dict]) -> list[dict]:
    """The events an add-on or data model profile can hold as the translation states them: those
    breaking none of its checked notes. The others (a calculated field over several values, a value
    map's unlisted spelling...) are left out, as the KQL adapter leaves them out of its tables; the
    verifier reports them through :meth:`SplTarget.outside_assumptions`."""
    checks = [n.violated for n in notes if getattr(n, "violated", None) is not None]
    if not checks:
        return events
    return [e for e in events if not any(c(e) for c in checks)]


def _scope_of(pipeline: evaluator.Pipeline) -> tuple[str, Optional[str]]:
    first = pipeline.commands[0].detail if pipeline.commands and pipeline.commands[0].name == "search" else None
    index, sourcetype = "main", None
    if first is not None:
        for name, value in search_lang.fields_in(first):
            if name == "index" and index == "main":
                index = value.replace("*", "") or "main"
            if name == "sourcetype" and sourcetype is None:
                sourcetype = value.replace("*", "")
    return index, sourcetype


TARGET = SplTarget()
