"""The Splunk SPL target: ``compile`` a rule to SPL (+ a savedsearches.conf stanza), ``execute`` SPL
on ECS fixture events through the reference evaluator."""

from __future__ import annotations

from typing import Iterable, Optional

from compiler import ir
from compiler.result import Notes, Refused, Translation
from compiler.rule import Rule

from . import adapter, emitter, evaluator, savedsearch, sequence
from .evaluator import search_lang
from .profile import PROFILES, load_profile


class SplTarget:
    name = "spl"
    profiles = PROFILES

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
        t = Translation.from_notes(self.name, text, notes, profile=prof.name)
        t.artifacts = savedsearch.artifacts(rule, t, prof)
        return t

    def execute(self, translation: Translation, events: Iterable[dict], profile: Optional[str] = None,
                mapping: Optional[str] = None) -> list[str]:
        """Run the SPL text on ECS events. Fixture events are taken to be in the rule's first
        index/source type (read from the text's first search command)."""
        if translation.output is None:
            raise ValueError("a refused translation cannot be executed")
        prof = load_profile(profile or translation.profile, mapping)
        pipeline = evaluator.parse(translation.output)
        index, sourcetype = _scope_of(pipeline)
        rows = adapter.adapt(events, prof, index, sourcetype)
        return [r["_id"][0] for r in pipeline.run(rows)]


def _scope_of(pipeline: evaluator.Pipeline) -> tuple[str, Optional[str]]:
    first = pipeline.commands[0].detail if pipeline.commands else None
    index, sourcetype = "main", None
    if first is not None:
        for name, value in search_lang.fields_in(first):
            if name == "index" and index == "main":
                index = value.replace("*", "") or "main"
            if name == "sourcetype" and sourcetype is None:
                sourcetype = value.replace("*", "")
    return index, sourcetype


TARGET = SplTarget()
