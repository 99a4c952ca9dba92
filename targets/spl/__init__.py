"""Splunk SPL target (profiles ``ecs`` and ``cim``), with a reference evaluator for the SPL it emits.

``TARGET.compile(rule)`` returns the search and a ``savedsearches.conf`` stanza;
``TARGET.execute(translation, events)`` runs the emitted text through :mod:`.evaluator`.
"""

from .target import TARGET, SplTarget

__all__ = ["TARGET", "SplTarget"]
