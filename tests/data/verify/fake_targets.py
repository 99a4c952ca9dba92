"""Stand-in targets for the verifier's own tests (registered by monkeypatching
``eqlc.target.REGISTRY`` inside a test, never globally). Each one behaves in one precise way
so that a test can assert how ``eqlc verify`` reports it."""

from __future__ import annotations

from eqlc.matcher import matcher
from eqlc.result import Notes, Translation


class _Base:
    profiles: tuple = ()
    name = "base"

    def compile(self, rule, profile=None, mapping=None):
        t = Translation.from_notes(self.name, f"-- {self.name} translation of {rule.name}", Notes())
        t.rule_path = rule.path
        self._rule = rule
        return t

    def selected(self, events):
        chosen = {e["_id"] for m in matcher(self._rule).run(list(events), sort=True) for e in m.events if e}
        return [e["_id"] for e in events if e["_id"] in chosen]


class Agree(_Base):
    """Selects exactly what the matcher selects."""

    name = "agree"

    def execute(self, translation, events, profile=None, mapping=None):
        return self.selected(list(events))


class Inverted(_Base):
    """Selects exactly the events the matcher does not select."""

    name = "inverted"

    def execute(self, translation, events, profile=None, mapping=None):
        events = list(events)
        chosen = set(self.selected(events))
        return [e["_id"] for e in events if e["_id"] not in chosen]


class Refuser(_Base):
    name = "refuser"

    def compile(self, rule, profile=None, mapping=None):
        return Translation.refused(self.name, "refuser cannot express anything (test double)")

    def execute(self, translation, events, profile=None, mapping=None):  # pragma: no cover - never called
        raise AssertionError("a refused translation must not be executed")


class Crasher(_Base):
    name = "crasher"

    def execute(self, translation, events, profile=None, mapping=None):
        raise RuntimeError("engine exploded (test double)")


class Assuming(_Base):
    """Inverts its verdict on events whose ``process.parent.name`` is not ``bash`` and states, with
    a check, that it assumes the parent is bash: every difference falls outside its assumption."""

    name = "assuming"
    exact = False
    text = "assumes process.parent.name is bash (test double)"

    def compile(self, rule, profile=None, mapping=None):
        t = super().compile(rule, profile, mapping)
        return Translation.from_notes(self.name, t.output, Notes([] if self.exact else [self.text]))

    @staticmethod
    def _breaks(event):
        return (event.get("process") or {}).get("parent", {}).get("name") != "bash"

    def execute(self, translation, events, profile=None, mapping=None):
        events = list(events)
        chosen = set(self.selected(events))
        return [e["_id"] for e in events if (e["_id"] in chosen) != self._breaks(e)]

    def outside_assumptions(self, rule, translation, events, profile=None, mapping=None):
        return {e["_id"]: self.text for e in events if self._breaks(e)}


class ClaimsExact(Assuming):
    """The same engine, but its translation claims to be exact: the check must not excuse it."""

    name = "claimsexact"
    exact = True


class Blind(_Base):
    """Selects nothing, and states an assumption whose check excuses exactly the events the rule
    is about (``process.name`` is ``dracut``): every difference falls outside the assumption, as
    with a registry pattern compared in a hive spelling the table never holds. Its assumption is a
    refusal in disguise: the verifier must say so."""

    name = "blind"
    text = "assumes process.name is not dracut (test double)"

    def compile(self, rule, profile=None, mapping=None):
        t = super().compile(rule, profile, mapping)
        return Translation.from_notes(self.name, t.output, Notes([self.text]))

    def execute(self, translation, events, profile=None, mapping=None):
        return []

    def outside_assumptions(self, rule, translation, events, profile=None, mapping=None):
        from eqlc.events import values

        return {e["_id"]: self.text for e in events if "dracut" in values(e, ("process", "name"))}


AGREE, INVERTED, REFUSER, CRASHER = Agree(), Inverted(), Refuser(), Crasher()
BLIND = Blind()
ASSUMING, CLAIMSEXACT = Assuming(), ClaimsExact()


class Exploder(_Base):
    """Its emitter raises: an internal error, which must be status ``error``, never a refusal."""

    name = "exploder"

    def compile(self, rule, profile=None, mapping=None):
        raise RuntimeError("emitter exploded (test double)")

    def execute(self, translation, events, profile=None, mapping=None):  # pragma: no cover - never called
        raise AssertionError("an errored translation must not be executed")


EXPLODER = Exploder()
