"""A matcher made of its generated code alone: what running a rule needs, without the IR.

Why: the code a query compiles to (codegen.py, build.py) is a plain Python module that calls
runtime.py. Once generated, running it needs the runtime only, not the parser, the IR, the
optimizer or the code generator, which are most of what `eqlc match` imports at every start
(issue 18, goal 5; benchmarks/README.md "Goal 5"). :class:`CompiledMatcher` runs such code;
:class:`eqlc.matcher.Matcher` is the same class built from a parsed query, and the compiled-matcher
cache (``eqlc.match_cache``) rebuilds one from the stored code on the next start of the command.

This module imports the runtime and nothing else of eqlc at import time, so that the command's
start-up stays free of the compiler.
"""

from __future__ import annotations

from typing import Any, Iterable, Iterator, Optional, Sequence

from . import runtime as _rt


class NeedleText:
    """One prefilter literal as the scanner reads it: canonical JSON bytes, and whether it is
    searched ASCII case-insensitively (needles.Needle has the same two attributes)."""

    __slots__ = ("text", "ci")

    def __init__(self, text: bytes, ci: bool) -> None:
        self.text = text
        self.ci = ci


class NeedleSummary:
    """What running a query needs of its prefilter (needles.Needles has the same attributes):
    the literals one of which is in every line it can match, or the ``reason`` there are none,
    and the one-line description the summary prints."""

    def __init__(self, needles: Optional[Sequence[tuple]], reason: str, description: str) -> None:
        self.needles = None if needles is None else tuple(NeedleText(bytes(t), bool(ci)) for t, ci in needles)
        self.reason = reason
        self._description = description

    @property
    def usable(self) -> bool:
        return self.needles is not None

    def describe(self) -> str:
        return self._description

    @staticmethod
    def of(needles: Any) -> "NeedleSummary":
        """The summary of a needles.Needles (or of another summary)."""
        pairs = None if needles.needles is None else sorted((n.text, n.ci) for n in needles.needles)
        return NeedleSummary(pairs, needles.reason, needles.describe())


class CompiledMatcher:
    """Generated matcher code, executed in a namespace holding the runtime. ``match`` for
    single-event queries; ``run`` streams any query kind; ``read`` gives the NDJSON reader with the
    prefilter.

    ``code`` is the generated module (source text or its compiled code object) and must define
    ``SPEC`` (build.py); ``kind`` is ``event``, ``sequence`` or ``sample``; ``has_pipes`` says
    whether the query has pipes (``| head``/``| tail`` look across events); ``needles`` is the
    prefilter (a NeedleSummary or needles.Needles; a subclass may derive it instead)."""

    def __init__(self, code: Any, kind: str, dialect: str, has_pipes: bool, needles: Any = None) -> None:
        self.kind = kind
        self.dialect = dialect
        self.has_pipes = has_pipes
        if needles is not None:
            self._needles = needles
        namespace = dict(vars(_rt))
        self._endgame = dialect.startswith("endgame")
        if self._endgame:
            from . import endgame_rt

            namespace["_eg"] = endgame_rt
        if isinstance(code, str):
            code = compile(code, "<eqlc matcher>", "exec")
        self.code = code  # the compiled generated module
        try:
            exec(code, namespace)  # noqa: S102 - code generated from the IR, no user text is executed
        except ImportError as err:
            from ..errors import EqlError

            raise EqlError(str(err)) from None
        self._spec = namespace["SPEC"]
        self._namespace = namespace
        self._cond = self._spec["terms"][0]["cond"] if kind == "event" else None
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

    def _prepare_run(self) -> None:
        """Hook run before streaming (the IR-built Matcher generates its streaming filter here)."""

    def run(
        self,
        events: Iterable[dict],
        *,
        sort: bool = False,
        size: Optional[int] = None,
        result_position: str = "tail",
        max_samples_per_key: int = 1,
    ) -> Iterator[Any]:
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
        self._prepare_run()
        return _rt._run_query(
            self._spec, events, sort=sort, size=size, result_position=result_position,
            max_samples_per_key=max_samples_per_key,
        )

    @property
    def needles(self) -> Any:
        """The literal prefilter of this query: byte strings one of which is in every raw NDJSON
        line it can match, or the reason there are none (``usable``, ``needles``, ``reason``,
        ``describe()``)."""
        return self._needles

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
        return f"<{type(self).__name__} {self.kind} {self.dialect}>"
