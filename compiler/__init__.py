"""eqlc: compile Elastic EQL detection rules to Sigma, KQL, SPL, osquery SQL and Python.

Public API::

    from eqlc import parse_query, load_rules, compile, matcher, EqlError

    query = parse_query('process where process.name == "dracut"')   # the IR (eqlc.ir.Query)
    rules = load_rules("rules/")                                        # list[Rule], any input format
    result = compile(rules[0], "kql", profile="defender")              # Translation: status, notes, output
    m = matcher(rules[0])                                               # Elasticsearch semantics in Python
    m.match({"process": {"name": "dracut"}, "event": {"category": "process"}})

Every user-caused problem raises :class:`EqlError` with ``path``, ``line`` and ``column``.
"""

from __future__ import annotations

from typing import Optional

from .errors import EqlError
from .loaders import load_rules
from .parser import parse_query
from .printer import to_eql
from .result import Status, Translation
from .rule import Rule

__all__ = ["EqlError", "Rule", "Status", "Translation", "compile", "load_rules", "matcher", "parse_query", "to_eql"]


def compile(rule: Rule, target: str, profile: Optional[str] = None, mapping: Optional[str] = None,  # noqa: A001
            broader: bool = False) -> Translation:
    """Translate ``rule`` for ``target`` (sigma, kql, spl, osquery, python). With ``broader``, a
    condition the target cannot express is dropped soundly instead of refusing the rule (status
    ``broader``, see :mod:`eqlc.broaden`)."""
    from .commands.compile import compile_rule

    return compile_rule(rule, target, profile, mapping, broader)


# Imported eagerly on purpose: ``eqlc.matcher`` is also the name of the sub-package, and only an
# import here makes the attribute the function (a lazy import would leave it the module).
from .matcher import matcher  # noqa: E402
