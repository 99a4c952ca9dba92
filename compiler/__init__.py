"""eqlc: compile Elastic EQL detection rules to Sigma, KQL, SPL, osquery SQL and Python.

Public API::

    from compiler import parse_query, load_rules, EqlError
    query = parse_query('process where process.name == "dracut"')   # the IR
    rules = load_rules("rules/")                                        # list[Rule]
"""

from .errors import EqlError
from .parser import parse_query
from .printer import to_eql

__all__ = ["EqlError", "parse_query", "to_eql"]
