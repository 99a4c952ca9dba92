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
"""

from __future__ import annotations

from typing import Any, Iterable, Iterator, Optional, Union

from .. import ir
from ..errors import EqlError
from ..parser import parse_query
from ..rule import Rule
from . import runtime as _rt
from .build import Generated, generate
from .codegen import Options
from .esmapping import IndexMapping, infer_mapping, load_index_mapping, merge_mappings
from .runtime import EventOrderError, Match

__all__ = ["Match", "Matcher", "MatcherSet", "DispatchSet", "NdjsonReader", "EventOrderError", "matcher", "matcher_set",
           "dispatch_set", "infer_mapping", "merge_mappings", "IndexMapping"]

_DEFAULT_CATEGORY = "event.category"
# "endgame": the eql package's semantics (case-insensitive, its default); "endgame-cs": the same
# with its CASE_INSENSITIVE switch off.
DIALECTS = ("elasticsearch", "endgame", "endgame-cs")
_DEFAULT_TIMESTAMP = "@timestamp"


class Matcher:
    """A compiled query. ``match`` for single-event queries; ``run`` streams any query kind."""

    def __init__(self, query: ir.Query, options: Options, text: Optional[str] = None) -> None:
        self.query = query
        self.options = options
        self.text = text
        generated: Generated = generate(query, options)
        self.generated = generated
        self.kind = generated.kind
        self.source = generated.source
        namespace = dict(vars(_rt))
        self._endgame = options.dialect.startswith("endgame")
        if self._endgame:
            from . import endgame_rt

            namespace["_eg"] = endgame_rt
        try:
            code = compile(generated.source, "<eqlc matcher>", "exec")
            self.code = code  # the compiled generated module (the standalone module holds its text)
            exec(code, namespace)  # noqa: S102 - code generated from the IR, no user text is executed
        except ImportError as err:
            raise EqlError(str(err)) from None
        self._spec = namespace["SPEC"]
        self._namespace = namespace
        self._cond = self._spec["terms"][0]["cond"] if self.kind == "event" else None
        if self._endgame and self._cond is not None:
            term = self._spec["terms"][0]
            type_of, cond, etype = self._spec["type_of"], term["cond"], term["type"]
            self._cond = lambda e: (etype is None or type_of(e) == etype) and bool(cond(e))
        if self._cond is not None:
            # the generated predicate itself (it returns a bool): no wrapper on the hot path
            self.match = (lambda e: False) if self._spec.get("pruned") else self._cond  # type: ignore[method-assign]

    @property
    def pruned(self) -> bool:
        """True when Elasticsearch would not run the query at all (its condition folds to false
        or null, e.g. ``?unmapped != "x"``): it matches nothing."""
        return bool(self._spec.get("pruned"))

    def match(self, event: dict) -> bool:
        """Does ``event`` satisfy this single-event query (pipes ignored)?"""
        if self._cond is None:
            raise TypeError(f"match() is for single-event queries; this is a {self.kind} query: use run()")
        if self._spec.get("pruned"):
            return False
        return bool(self._cond(event))

    def run(
        self,
        events: Iterable[dict],
        *,
        sort: bool = False,
        size: Optional[int] = None,
        result_position: str = "tail",
        max_samples_per_key: int = 1,
    ) -> Iterator[Match]:
        """Stream matches over ``events``.

        Event queries yield matches in input order (``sort=True``: Elasticsearch's order by
        timestamp, tiebreaker, input order). Sequences need events ordered by timestamp: pass them
        sorted (only events sharing a timestamp are buffered, to order them by tiebreaker) or use
        ``sort=True`` (buffers everything); an out-of-order event raises EventOrderError, and an
        event without a usable timestamp takes no part in sequences (nor in ``sort=True``).
        Samples are unordered and are reported at the end of the input, ordered by join key.
        ``size``/``result_position`` apply Elasticsearch's request limit (earliest/latest ``size``
        results); ``| head``/``| tail`` pipes always apply.
        """
        if self._endgame:
            from . import endgame_rt

            return endgame_rt.run(self._spec, events)
        if self.generated.filter_source is not None and "filter" not in self._spec:
            extra = self.generated.filter_source()
            self.source += extra
            exec(compile(extra, "<eqlc matcher>", "exec"), self._namespace)  # noqa: S102 - generated
        return _rt._run_query(
            self._spec, events, sort=sort, size=size, result_position=result_position,
            max_samples_per_key=max_samples_per_key,
        )

    @property
    def needles(self) -> Any:
        """The literal prefilter of this query (:class:`~eqlc.matcher.needles.Needles`): byte
        strings one of which is in every raw NDJSON line it can match, or the reason there are none."""
        found = self.__dict__.get("_needles")
        if found is None:
            from .needles import derive

            found = self._needles = derive(self.query, self.options)
        return found

    def read(self, paths: Iterable[str], *, prefilter: bool = True, scan: str = "auto", on_bad: Any = None, on_io_error: Any = None) -> Any:
        """An :class:`~eqlc.matcher.scan.NdjsonReader` of NDJSON ``paths`` (``.gz``, ``-`` for
        stdin) to pass to :meth:`run`. With ``prefilter`` (and needles, see :attr:`needles`) only
        the lines that may hold a match are decoded; the matches are the same as without it.
        ``scan``: ``auto`` (Hyperscan when installed), ``hyperscan`` or ``stdlib``. The reader
        counts ``lines``, ``decoded``, ``events`` and ``malformed`` lines (reported to
        ``on_bad(path, lineno, message, count)``; a line the prefilter skips is not validated).
        An unreadable input goes to ``on_io_error(path, lines_read, exc)`` and reading goes on
        with the next (counted in ``io_errors``; without a handler the error is raised)."""
        import orjson

        from .scan import NdjsonReader, make_scanner

        scanner = None
        if prefilter and self.needles.usable:
            scanner = make_scanner([[(n.text, n.ci) for n in self.needles.needles]], scan)
        return NdjsonReader(paths, scanner, orjson.loads, on_bad, on_io_error=on_io_error)

    def __repr__(self) -> str:
        return f"<Matcher {self.kind} {self.options.dialect}>"


def matcher(
    query_or_rule: Union[str, ir.Query, Rule],
    dialect: str = "elasticsearch",
    mapping: Union[None, str, dict, IndexMapping] = None,
    event_category_field: str = _DEFAULT_CATEGORY,
    timestamp_field: str = _DEFAULT_TIMESTAMP,
    tiebreaker_field: Optional[str] = None,
) -> Matcher:
    """Compile an EQL query (text, IR ``Query`` or ``Rule``) into a :class:`Matcher`.

    For a Rule, its ``event_category_override``, ``timestamp_override`` (falling back to
    ``@timestamp`` for events without it, as Kibana's detection engine does) and
    ``tiebreaker_field`` apply unless the caller passes other values.
    """
    if dialect not in DIALECTS:
        raise ValueError(f"unknown dialect {dialect!r}; expected one of {', '.join(DIALECTS)}")
    text = None
    timestamp_fields: tuple = (timestamp_field,)
    if isinstance(query_or_rule, Rule):
        rule = query_or_rule
        query = rule.query
        text = rule.query_text
        if event_category_field == _DEFAULT_CATEGORY and rule.event_category_override:
            event_category_field = rule.event_category_override
        if timestamp_field == _DEFAULT_TIMESTAMP and rule.timestamp_override:
            timestamp_fields = (rule.timestamp_override, _DEFAULT_TIMESTAMP)
        if tiebreaker_field is None and rule.tiebreaker_field:
            tiebreaker_field = rule.tiebreaker_field
        if dialect != "elasticsearch":
            query = parse_query(rule.query_text, dialect="endgame")
    elif isinstance(query_or_rule, ir.Query):
        query = query_or_rule
    elif isinstance(query_or_rule, str):
        text = query_or_rule
        query = parse_query(query_or_rule, dialect="elasticsearch" if dialect == "elasticsearch" else "endgame")
    else:
        raise TypeError(f"expected EQL text, an IR Query or a Rule, not {type(query_or_rule).__name__}")
    if dialect not in DIALECTS:
        raise ValueError(f"unknown dialect {dialect!r}; expected one of {', '.join(DIALECTS)}")
    options = Options(
        dialect=dialect,
        mapping=load_index_mapping(mapping),
        event_category_field=event_category_field,
        timestamp_fields=timestamp_fields,
        tiebreaker_field=tiebreaker_field,
    )
    return Matcher(query, options, text)


def __getattr__(name: str):
    # eqlc.matcher.multi imports this package: load it on first use
    if name in ("MatcherSet", "matcher_set"):
        from . import multi

        return getattr(multi, name)
    if name in ("DispatchSet", "dispatch_set"):
        from . import dispatch

        return getattr(dispatch, name)
    if name == "NdjsonReader":
        from .scan import NdjsonReader

        return NdjsonReader
    raise AttributeError(name)
