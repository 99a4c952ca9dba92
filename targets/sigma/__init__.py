"""Sigma target: EQL rules as Sigma detection and correlation rules (pySigma 1.5 / sigma-cli 3.1).

``TARGET.compile`` emits Sigma YAML in the taxonomy of ``mapping.yaml``; ``TARGET.execute`` runs it
through pySigma's sqlite backend on ECS events mapped by the same YAML (see ``engine.py``).
"""

from .target import TARGET, SigmaTarget

__all__ = ["TARGET", "SigmaTarget"]
