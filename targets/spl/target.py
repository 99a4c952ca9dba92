"""The Splunk SPL target: ``compile`` a rule to SPL (+ a savedsearches.conf stanza), ``execute`` SPL
on ECS fixture events through the reference evaluator."""

from __future__ import annotations

from typing import Iterable, Optional

from eqlc import ir
from eqlc.result import Notes, Refused, Translation
from eqlc.rule import Rule

from . import adapter, assumptions, emitter, evaluator, savedsearch, sequence
from .evaluator import search_lang
from .profile import PROFILES, load_profile


class SplTarget:
    name = "spl"
    profiles = PROFILES

    def check_mapping(self, mapping: str, profile: Optional[str] = None) -> None:
        """Load a user's mapping file once, so that a bad one is an error before any rule compiles."""
        load_profile(profile, mapping)

    def compile(self, rule: Rule, profile: Optional[str] = None, mapping: Optional[str] = None) -> Translation:
        prof = load_profile(profile, mapping)
        notes = Notes()
        try:
            q = rule.query
            emitter.check_query(q)
            body = q.body
            if isinstance(body, ir.EventQuery):
                text = emitter.event_query(rule, body, prof, notes)
            elif isinstance(body, ir.Sequence):
                text = sequence.sequence_query(rule, body, prof, notes)
            else:
                raise Refused("sample queries are not translated: Elasticsearch picks at most one unordered sample per join key "
                              "(max_samples_per_key) from the whole search window, which has no exact streaming SPL equivalent")
        except Refused as r:
            return Translation.refused(self.name, r.reason, profile=prof.name)
        tstats_text, comments = None, ()
        if prof.is_cim:
            if isinstance(body, ir.EventQuery):
                tstats_text, why = emitter.tstats_query(rule, body, prof)
            else:
                why = "no tstats form: a sequence needs the events themselves (streamstats), which tstats does not return"
            if tstats_text is not None:
                notes.assume(emitter.TSTATS_NOTE.format(file=savedsearch.base_name(rule) + ".tstats.spl"))
            else:
                comments = (why,)
        t = Translation.from_notes(self.name, text, notes, profile=prof.name)
        t.artifacts = savedsearch.artifacts(rule, t, prof, comments)
        if tstats_text is not None:
            t.artifacts[savedsearch.base_name(rule) + ".tstats.spl"] = tstats_text + "\n"
        return t

    def execute(self, translation: Translation, events: Iterable[dict], profile: Optional[str] = None,
                mapping: Optional[str] = None) -> list[str]:
        """Run the SPL text on ECS events. Fixture events are taken to be in the rule's first
        index/source type (read from the text's first search command)."""
        if translation.output is None:
            raise ValueError("a refused translation cannot be executed")
        return self.run_text(translation.output, events, profile or translation.profile, mapping)

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
        index, sourcetype = _scope_of(pipeline)
        rows = adapter.adapt(events, prof, index, sourcetype)
        out = pipeline.run(rows)
        if pipeline.commands and pipeline.commands[0].name == "tstats":
            hit = {i for r in out for i in r.get("_eqlc_from", [])}
        else:
            hit = {r["_id"][0] for r in out}
        return [str(e.get("_id")) for e in events if str(e.get("_id")) in hit]


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
