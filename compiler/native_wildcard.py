"""What ``endsWith``/``stringContains(field, "literal")`` search for in Elasticsearch: a wildcard
query built from the literal *unescaped*, so ``*``, ``?`` and ``\\`` in it are wildcard syntax.

Elasticsearch does not evaluate these functions on the field's text when the first argument is a
field and the second folds to a constant. ``QueryTranslator.CaseInsensitiveScalarFunctions``
(x-pack/plugin/eql/src/main/java/org/elasticsearch/xpack/eql/planner/QueryTranslator.java,
elastic/elasticsearch@30646ad28841c95f01fda741e89bdba6f71395c7: the newest version readable here,
an Elastic-License-2.0 file with ``MultiValueAwareScriptQuery``, i.e. after the multi-value work of
elastic/elasticsearch#76663; no later change to these lines was found, and the 2026 fix of the
same bug in ES|QL, elastic/elasticsearch#146348, touched ES|QL only) writes::

    if (field instanceof FieldAttribute && constant.foldable()) {
        ...
        String string = (String) constant.fold();
        if (f instanceof StringContains) { wildcardQuery = WILDCARD + string + WILDCARD; }
        else if (f instanceof EndsWith) { wildcardQuery = WILDCARD + string; }
    }
    q = ... new WildcardQuery(f.source(), targetFieldName, wildcardQuery, f.isCaseInsensitive())

and ``ql.querydsl.query.WildcardQuery.asBuilder`` hands the string to ``wildcardQuery(field,
query)`` unchanged. No escaping happens anywhere on the way (the ``:``/``like`` path, by contrast,
goes through ``StringUtils.likeToLuceneWildcard``, which escapes ``\\``). The keyword and wildcard
field types then read the pattern as Lucene wildcard syntax: ``*`` any string, ``?`` one code
point, ``\\`` makes the next character literal and a trailing ``\\`` is itself literal
(Lucene ``WildcardQuery.toAutomaton``; ``AutomatonQueries.toCaseInsensitiveWildcardAutomaton``
for ``fn~``, which folds ASCII letters only). History: elastic/elasticsearch#58922 / #61189 (7.10)
first pushed ``stringContains`` down as ``"*" + substring + "*"`` (case-sensitive calls only,
``Scalars.doTranslate`` at 0204b5c65d8f); #61154 / #61160 did the same for ``endsWith``; before
7.10 both ran as scripts. The maintainers' answer on escaping a literal ``*`` in these
patterns was "No, not at the moment" (elastic/elasticsearch#65237). The rules rely on it:
``stringContains(aws.cloudtrail.request_parameters, "principal=\\\\*")`` (the string
``principal=\\*``) is written to find a literal ``principal=*`` (persistence_lambda_cross_account_
invocation_backdoor excludes "public grants (principal set to "*")" with it).

Otherwise (a computed first argument, a non-constant second) the function runs as a script
(``StringContainsFunctionProcessor``/``StringUtils.stringContains``): a plain substring test on the
text, and ``false`` for an empty string. Targets translate only the field-and-literal form, so
they translate the wildcard query: :func:`native_parts` gives its pattern as literal runs and
wildcards, which each target already knows how to express (or refuse).

``startsWith`` is a ``prefix`` query (``ExpressionTranslators.Scalars`` / ``StartsWith``): its
literal is plain text, never a pattern.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterator

from eqlc import ir

WILDCARD_FUNCTIONS = ("endsWith", "stringContains")


def lucene_wildcard_parts(query: str) -> tuple[ir.PatternPart, ...]:
    """Lucene ``WildcardQuery`` syntax as literal runs and wildcards (consecutive ``*`` merged):
    ``\\`` escapes the next code point, a trailing ``\\`` is a literal backslash."""
    return ir.pattern_parts(_lucene_tokens(query))


def _lucene_tokens(query: str) -> Iterator[ir.PatternPart]:
    """The characters and wildcards of a Lucene wildcard query, in order (``WildcardQuery.toAutomaton``)."""
    i = 0
    while i < len(query):
        ch = query[i]
        if ch == "\\" and i + 1 < len(query):
            yield query[i + 1]
            i += 2
            continue
        yield ir.Wildcard.STAR if ch == "*" else ir.Wildcard.QUESTION if ch == "?" else ch
        i += 1


def native_parts(function: str, literal: str) -> tuple[ir.PatternPart, ...]:
    """The pattern Elasticsearch's wildcard query for ``function(field, literal)`` matches a whole
    value against (``function`` is ``endsWith`` or ``stringContains``, any case)."""
    name = function.lower()
    if name == "stringcontains":
        return lucene_wildcard_parts("*" + literal + "*")
    if name == "endswith":
        return lucene_wildcard_parts("*" + literal)
    raise ValueError(f"{function} is not built as a wildcard query")


def query_parts(function: str, literal: str) -> tuple[ir.PatternPart, ...]:
    """The pattern Elasticsearch's query for ``startsWith``/``endsWith``/``stringContains(field,
    literal)`` matches a whole value against: for ``startsWith`` a prefix query (the literal is
    text: ``literal*`` with every character literal), for the other two :func:`native_parts`."""
    if function.lower() == "startswith":
        return (literal, ir.Wildcard.STAR) if literal else (ir.Wildcard.STAR,)
    return native_parts(function, literal)


def is_plain(literal: str) -> bool:
    """True when the wildcard query means what the documentation says (a plain suffix or
    substring test of ``literal``): no ``*``, ``?`` or ``\\`` in it and not empty."""
    return bool(literal) and not any(c in literal for c in "*?\\")


@dataclass(frozen=True)
class NativePattern:
    """The query of ``startsWith``/``endsWith``/``stringContains(field, literal)`` with the interface
    of :class:`eqlc.ir.Pattern` that targets read (``parts``, ``kind``, ``literal``). It has no
    ``text``: its ``*``/``?`` characters may be literal, which an EQL pattern's text cannot say."""

    parts: tuple[ir.PatternPart, ...]

    @classmethod
    def of(cls, function: str, literal: str) -> "NativePattern":
        """The query of ``function(field, literal)`` (``startsWith`` too: :func:`query_parts`)."""
        return cls(query_parts(function, literal))

    @property
    def kind(self) -> ir.PatternKind:
        return ir.pattern_kind(self.parts)

    @property
    def literal(self) -> str:
        """The one literal run of an EXACT/PREFIX/SUFFIX/CONTAINS pattern."""
        if self.kind is ir.PatternKind.GENERAL:
            raise ValueError(f"pattern {self.parts!r} is general; it has no single literal")
        return next(p for p in self.parts if isinstance(p, str))
