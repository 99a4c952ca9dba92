"""eqlc: compile Elastic EQL detection rules to Sigma, KQL, SPL, osquery SQL and Python.

Public API::

    from eqlc import parse_query, load_rules, compile, matcher, EqlError

    query = parse_query('process where process.name == "dracut"')   # the IR (eqlc.ir.Query)
    rules = load_rules("rules/")                                        # list[Rule], any input format
    result = compile(rules[0], "kql", profile="defender")              # Translation: status, notes, output
    result = compile(query, "spl")                                      # a parsed query (or its text) works too
    m = matcher(rules[0])                                               # Elasticsearch semantics in Python
    m.match({"process": {"name": "dracut"}, "event": {"category": "process"}})

Every user-caused problem raises :class:`EqlError` with ``path``, ``line`` and ``column``; an unknown
target or profile raises its subclass :class:`UnknownTarget` / :class:`UnknownProfile` (both
:class:`UsageError`), a ``mapping`` file with an unknown key :class:`MappingError`.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, Optional, Union

from .errors import EqlError, MappingError, UnknownProfile, UnknownTarget, UsageError

if TYPE_CHECKING:
    from .ir import Query
    from .loaders import load_rules
    from .parser import parse_query
    from .printer import to_eql
    from .result import Status, Translation
    from .rule import Rule
    from .target import TargetSpec

# Public names imported on first use (module ``__getattr__``): every module imported at ``import
# eqlc`` is start-up time of every command, and `eqlc match` with its compiled-matcher cache
# (eqlc.match_cache) needs none of these: not even the parser or the IR.
_LAZY = {"to_eql": ".printer", "Status": ".result", "Translation": ".result", "TargetSpec": ".target",
         "Query": ".ir", "load_rules": ".loaders", "parse_query": ".parser", "Rule": ".rule"}

__all__ = ["EqlError", "MappingError", "Query", "Rule", "Status", "TargetSpec", "Translation", "UnknownProfile",
           "UnknownTarget", "UsageError", "__version__", "compile", "load_rules", "matcher", "parse_query", "to_eql"]


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("eqlc")
    except PackageNotFoundError:  # a source checkout run without installing
        return "0+unknown"


def __getattr__(name: str) -> Any:
    """``eqlc.__version__`` (read from the installed metadata on first use: importing
    ``importlib.metadata`` costs every command's start-up time, and only ``--version`` needs it)
    and the public names of :data:`_LAZY`."""
    if name == "__version__":
        value: Any = _version()
    elif name in _LAZY:
        import importlib

        value = getattr(importlib.import_module(_LAZY[name], __name__), name)
    else:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    globals()[name] = value
    return value


def as_rule(source: Union[Rule, Query, str]) -> Rule:
    """A :class:`Rule` for a rule, a parsed query (IR) or EQL text (parsed here, so a syntax
    error is an :class:`EqlError` located in ``source``)."""
    from .ir import Query
    from .parser import parse_query
    from .rule import Rule

    if isinstance(source, Rule):
        return source
    if isinstance(source, str):
        return Rule(query=parse_query(source), query_text=source.strip(), name="query")
    if isinstance(source, Query):
        from .printer import to_eql

        return Rule(query=source, query_text=to_eql(source), name="query")
    raise TypeError(f"expected a Rule, a Query or EQL text, not {type(source).__name__}")


def compile(  # noqa: A001 - the documented name: eqlc.compile
    rule: Union[Rule, Query, str], target: str, profile: Optional[str] = None,
    mapping: Optional[Union[str, Path]] = None, broader: bool = False,
) -> Translation:
    """Translate ``rule`` (a :class:`Rule`, a parsed :class:`Query`, or EQL text) for ``target``
    (sigma, kql, spl, osquery, python), optionally with one of its profiles and a mapping file
    merged over the target's own.

    Raises :class:`UnknownTarget` / :class:`UnknownProfile` for a name the target does not have
    and :class:`EqlError` (:class:`MappingError`) for a bad mapping file. A target that raises
    anything else gives a :class:`Translation` with status ``error`` (never a refusal). With
    ``broader``, a condition the target cannot express is dropped soundly instead of refusing the
    rule (status ``broader``, see :mod:`eqlc.broaden`)."""
    from .target import compile_rule

    return compile_rule(as_rule(rule), target, profile, str(mapping) if mapping is not None else None,
                       broader=broader)


# ``eqlc.matcher`` is also the name of the sub-package: importing the package here (it is light:
# eqlc/matcher/__init__.py imports its names on first use) lets the function defined below keep
# the attribute; a sub-package imported after the function was defined would take it back.
from . import matcher as _matcher_package  # noqa: E402,F401


def matcher(  # noqa: F811 - replaces the sub-package as the attribute, on purpose (above)
    query_or_rule: Union[Rule, Query, str], dialect: str = "elasticsearch",
    mapping: Any = None, event_category_field: str = "event.category",
    timestamp_field: str = "@timestamp", tiebreaker_field: Optional[str] = None,
) -> Any:
    """Compile an EQL query (text, IR ``Query`` or ``Rule``) into a matcher: see
    :func:`eqlc.matcher.from_ir.matcher` (imported on the first call, so that ``import eqlc``
    does not import the compiler; tests/test_api.py checks that the two signatures agree)."""
    from .matcher.from_ir import matcher as build

    return build(query_or_rule, dialect, mapping, event_category_field, timestamp_field, tiebreaker_field)
