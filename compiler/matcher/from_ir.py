"""``matcher()`` and :class:`Matcher`: a query (text, IR or Rule) compiled into a running matcher.

The query is rewritten as Elasticsearch's optimizer does and generated as Python source (build.py,
codegen.py); the source runs as a :class:`~eqlc.matcher.compiled.CompiledMatcher`. The package
docstring (``eqlc.matcher``) describes the API; this module holds it apart from the package so that
importing the runtime, the reader or the compiled-matcher cache does not import the compiler.
"""

from __future__ import annotations

from typing import Any, Optional, Union

from .. import ir
from ..parser import parse_query
from ..rule import Rule
from .build import Generated, generate
from .compiled import CompiledMatcher
from .codegen import Options
from .esmapping import IndexMapping, load_index_mapping

_DEFAULT_CATEGORY = "event.category"
# "endgame": the eql package's semantics (case-insensitive, its default); "endgame-cs": the same
# with its CASE_INSENSITIVE switch off.
DIALECTS = ("elasticsearch", "endgame", "endgame-cs")
_DEFAULT_TIMESTAMP = "@timestamp"


class Matcher(CompiledMatcher):
    """A compiled query. ``match`` for single-event queries; ``run`` streams any query kind.

    Built from the IR: the query is rewritten and generated (build.py), and the generated code runs
    as a :class:`~eqlc.matcher.compiled.CompiledMatcher`; ``query``, ``options``, ``generated`` and
    ``source`` stay for the callers that read them (the python target, tests)."""

    def __init__(self, query: ir.Query, options: Options, text: Optional[str] = None) -> None:
        self.query = query
        self.options = options
        self.text = text
        generated: Generated = generate(query, options)
        self.generated = generated
        self.source = generated.source
        super().__init__(generated.source, generated.kind, options.dialect, bool(query.pipes))

    def _prepare_run(self) -> None:
        """Single-event queries stream through a filter function (the condition inlined in a
        loop), generated on first use: it doubles the code to compile."""
        if self.generated.filter_source is not None and "filter" not in self._spec:
            extra = self.generated.filter_source()
            self.source += extra
            exec(compile(extra, "<eqlc matcher>", "exec"), self._namespace)  # noqa: S102 - generated

    def full_source(self) -> str:
        """The generated module with everything running it may add (the streaming filter): what
        the compiled-matcher cache stores."""
        if not self._endgame:
            self._prepare_run()
        return self.source

    @property
    def needles(self) -> Any:
        """The literal prefilter of this query (:class:`~eqlc.matcher.needles.Needles`): byte
        strings one of which is in every raw NDJSON line it can match, or the reason there are none."""
        found = self.__dict__.get("_needles")
        if found is None:
            from .needles import derive

            found = self._needles = derive(self.query, self.options)
        return found

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
    options = Options(
        dialect=dialect,
        mapping=load_index_mapping(mapping),
        event_category_field=event_category_field,
        timestamp_fields=timestamp_fields,
        tiebreaker_field=tiebreaker_field,
    )
    return Matcher(query, options, text)

