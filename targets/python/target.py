"""The ``python`` target: ``compile`` -> a standalone module; ``execute`` -> run it on events;
``batch_artifacts`` -> one module holding every rule of an ``eqlc compile -o`` batch."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterable, Optional, Sequence

from eqlc.errors import EqlError
from eqlc.matcher import Options, load_index_mapping
from eqlc.matcher.build import generate
from eqlc.result import Status, Translation
from eqlc.rule import Rule

from .module import ModuleRule, header_for, module_text, multi_header_for, multi_module_text

MULTI_MODULE = "eqlc_rules.py"  # the batch's module holding every rule (eqlc compile DIR -t python -o OUT)


@dataclass
class PythonTranslation(Translation):
    """A module, with the generated code and metadata it was built from, so that a batch's
    multi-rule module reuses them instead of generating every rule again."""

    module_rule: Optional[ModuleRule] = field(default=None, compare=False, repr=False)

_EVENT_ID = "_id"


class PythonTarget:
    name = "python"
    profiles: tuple = ()

    def check_mapping(self, mapping: str, profile: Optional[str] = None) -> None:
        """Load a user's index mapping once, so that a bad one is an error before any rule compiles."""
        load_index_mapping(mapping)

    def compile(self, rule: Rule, profile: Optional[str] = None, mapping: Optional[str] = None) -> Translation:
        """``mapping``: an optional Elasticsearch index mapping file (JSON or YAML) giving field
        types and aliases, as for ``eqlc.matcher``."""
        try:
            options = Options(
                mapping=load_index_mapping(mapping) if mapping else None,
                event_category_field=rule.event_category_override or "event.category",
                timestamp_fields=(rule.timestamp_override, "@timestamp") if rule.timestamp_override else ("@timestamp",),
                tiebreaker_field=rule.tiebreaker_field,
            )
            generated = generate(rule.query, options)
        except EqlError as err:
            return Translation.refused(self.name, f"cannot be evaluated: {err.message}")
        if generated.re2_only:
            pats = ", ".join(repr(p) for p in generated.re2_only)
            return Translation.refused(
                self.name,
                f"`regex` on a computed value ({pats}) runs in Elasticsearch as a Java regular expression inside "
                "a script; the standalone module has no linear-time engine for Java regex syntax without the "
                "google-re2 package, and Python's backtracking `re` is not used for patterns from rules",
            )
        notes: list[str] = []  # behaviour worth knowing, not assumptions: the module is exact
        if generated.pruned:
            notes.append("the condition folds to false/null as Elasticsearch optimises it: the rule matches no event")
        if rule.timestamp_override:
            notes.append(f"events are ordered by {rule.timestamp_override}, falling back to @timestamp when it is "
                         "absent (Kibana's detection engine default)")
        meta = {"name": rule.name, "rule_id": rule.rule_id, "query": rule.query_text, "kind": generated.kind,
                "event_category_field": options.event_category_field, "timestamp_fields": list(options.timestamp_fields),
                "tiebreaker_field": options.tiebreaker_field}
        from eqlc.matcher.needles import derive

        found = derive(rule.query, options)
        needles = [(n.text, n.ci) for n in found.needles] if found.usable else None
        text = module_text(generated, meta, header_for(rule.name or "query", rule.rule_id, rule.query_text, notes),
                           needles)
        return PythonTranslation(self.name, Status.EXACT, notes, text, module_rule=ModuleRule(generated, meta))

    def batch_artifacts(self, translations: Sequence[Translation], rules: Sequence[Rule],
                        profile: Optional[str] = None, mapping: Optional[str] = None) -> dict[str, str]:
        """``eqlc_rules.py``: every compiled rule of the batch in one module sharing one runtime
        (``run()`` yields matches tagged by rule). Written when the batch compiled two rules or more;
        refused ones are listed in its docstring with their reason."""
        items = list(zip(rules, translations))
        held = [t.module_rule for _r, t in items if isinstance(t, PythonTranslation) and t.module_rule is not None]
        skipped = [(r.name or r.path or "query", t.notes[0] if t.notes else t.status.value)
                   for r, t in items if not (isinstance(t, PythonTranslation) and t.module_rule is not None)]
        if len(held) < 2:
            return {}
        return {MULTI_MODULE: multi_module_text(held, multi_header_for(held, skipped))}

    def execute(self, translation: Translation, events: Iterable[dict], profile: Optional[str] = None,
                mapping: Optional[str] = None) -> list[str]:
        """Import the module text and run it; the ids of the events in any match, in order."""
        if translation.output is None:
            raise ValueError("a refused translation cannot be executed")
        ns = load_module(translation.output)
        out: list[str] = []
        seen = set()
        for m in ns["run"](list(events), sort=True):
            for e in m.events:
                if e is None:
                    continue
                i = e.get(_EVENT_ID)
                if i not in seen:
                    seen.add(i)
                    out.append(i)
        return out


def load_module(text: str, name: str = "eqlc_rule") -> dict:
    """Execute a standalone module's text in a fresh namespace (as ``import`` would)."""
    ns: dict = {"__name__": name}
    exec(compile(text, f"<{name}>", "exec"), ns)  # noqa: S102 - our own generated module
    return ns


TARGET = PythonTarget()
