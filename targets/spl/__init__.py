"""Splunk SPL target (profiles ``ecs`` and ``cim``), with a reference evaluator for the SPL it emits.

``TARGET.compile(rule)`` returns the search; ``TARGET.batch_artifacts`` a Splunk app for a batch;
``TARGET.execute(translation, events)`` runs the emitted text through :mod:`.evaluator`.
"""

from .target import TARGET, SplTarget

__all__ = ["TARGET", "SplTarget"]
