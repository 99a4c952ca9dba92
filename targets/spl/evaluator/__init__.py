"""A reference evaluator for the subset of Splunk SPL that eqlc emits.

No Splunk engine or parser can run offline (``shared/research/offline-oracles.md`` section 4), so
this package implements Splunk's *documented* semantics for exactly the commands and functions
eqlc uses, and refuses (:class:`Undocumented`) whatever the documentation leaves open. It parses
the emitted SPL text - never eqlc's IR - so a wrong operator, precedence or escape shows up as a
wrong selection or a syntax error. Events are Splunk results: field name -> list of values (see
:mod:`.values`).
"""

from .errors import SplError, SplSyntaxError, Undocumented, Unsupported
from .pipeline import Pipeline, parse, run

__all__ = ["Pipeline", "SplError", "SplSyntaxError", "Undocumented", "Unsupported", "parse", "run"]
