"""The native Python matcher: Elasticsearch EQL semantics, compiled to Python, streaming.

::

    from eqlc.matcher import matcher
    m = matcher('process where process.name == "dracut"')
    m.match(event)                      # single-event queries: bool
    for hit in m.run(events):           # every query kind: Match(events=[...], keys=[...])
        ...

``matcher()`` parses (or takes) a query, rewrites it as Elasticsearch's optimizer does, generates
Python source for it (one getter per field, one function per condition; see codegen.py) and
compiles that source once. The same source, written out with the runtime, is the standalone
module of the ``python`` target, so both forms share one meaning.

Keyword options mirror Elasticsearch's EQL search API: ``event_category_field``,
``timestamp_field``, ``tiebreaker_field``; ``mapping`` takes an index mapping (dict, JSON/YAML path)
so that aliases, keyword vs text, ``ignore_above``, ``null_value`` and date formats behave as in an
index (see esmapping.py). ``dialect="endgame"`` gives the ``eql`` package's semantics instead.

Every public name is imported on first use (module ``__getattr__``): importing a part of the
package (the runtime, the NDJSON reader, the compiled-matcher cache: what `eqlc match` runs)
must not import the parser, the IR and the code generator (from_ir.py), which are most of the
command's start-up time.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .codegen import Options
    from .compiled import CompiledMatcher
    from .dispatch import DispatchSet, dispatch_set
    from .esmapping import IndexMapping, infer_mapping, load_index_mapping, merge_mappings
    from .from_ir import DIALECTS, Matcher, matcher
    from .multi import MatcherSet, matcher_set
    from .runtime import EventOrderError, Match
    from .scan import NdjsonReader

__all__ = ["Match", "Matcher", "CompiledMatcher", "MatcherSet", "DispatchSet", "NdjsonReader", "EventOrderError", "matcher",
           "matcher_set", "dispatch_set", "infer_mapping", "merge_mappings", "load_index_mapping", "IndexMapping", "Options",
           "DIALECTS"]

# public name -> the module holding it
_LAZY = {
    "Matcher": ".from_ir", "matcher": ".from_ir", "DIALECTS": ".from_ir",
    "CompiledMatcher": ".compiled",
    "MatcherSet": ".multi", "matcher_set": ".multi",
    "DispatchSet": ".dispatch", "dispatch_set": ".dispatch",
    "NdjsonReader": ".scan",
    "Match": ".runtime", "EventOrderError": ".runtime",
    "Options": ".codegen",
    "IndexMapping": ".esmapping", "infer_mapping": ".esmapping", "load_index_mapping": ".esmapping",
    "merge_mappings": ".esmapping",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(module, __name__), name)
    globals()[name] = value
    return value
