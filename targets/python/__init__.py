"""Python target: a standalone, standard-library-only Python module per rule.

``TARGET`` implements :class:`eqlc.target.Target`. ``compile`` writes the module that
``eqlc compile RULE --target python`` outputs: the same generated code the in-process matcher
(``eqlc.matcher``) runs, on the same runtime, embedded (see ``module.py``). ``execute`` imports
that module text and runs it over fixture events.
"""

from .target import TARGET, PythonTarget

__all__ = ["TARGET", "PythonTarget"]
