"""Lark parse tree -> IR.

The transformer is where syntax becomes meaning: ``!=`` becomes ``Not(==)``, ``:`` a
case-insensitive wildcard match, ``-5`` a negative number, and string literals are unescaped with
Elasticsearch's rules (a bad escape is reported at its own column).
"""

from __future__ import annotations

import re
from typing import Any

from lark import Token, Transformer, v_args
from lark.tree import Meta

from . import ir
from .errors import EqlError
from .functions import UNSUPPORTED_FUNCTIONS, lookup

_SIMPLE_ESCAPES = {"n": "\n", "r": "\r", "t": "\t", "\\": "\\", '"': '"', "'": "'", "b": "\b", "f": "\f"}
_UNICODE_ESCAPE = re.compile(r"u\{([0-9A-Fa-f]+)\}")


def span_of(meta_or_token: Any) -> ir.Span:
    m = meta_or_token
    if isinstance(m, Meta) and getattr(m, "empty", True):
        return ir.NO_SPAN
    return ir.Span(m.line, m.column, m.end_line, m.end_column)


def unescape(text: str, line: int, column: int) -> str:
    """Decode a double- or single-quoted EQL string body (quotes already removed).

    ``line``/``column`` locate the body's first character, so that an invalid escape is reported
    where it is. Elasticsearch accepts ``\\n \\r \\t \\\\ \\" \\' \\b \\f`` and ``\\u{2-8 hex}``.
    """
    out: list[str] = []
    i = 0
    while i < len(text):
        ch = text[i]
        if ch != "\\":
            out.append(ch)
            i += 1
            continue
        nxt = text[i + 1] if i + 1 < len(text) else ""
        if nxt in _SIMPLE_ESCAPES:
            out.append(_SIMPLE_ESCAPES[nxt])
            i += 2
            continue
        m = _UNICODE_ESCAPE.match(text, i + 1)
        if nxt == "u":
            if not m or not 2 <= len(m.group(1)) <= 8:
                raise EqlError("Unicode sequence should use [2-8] hex digits, as in \\u{00E9}", line, column + i)
            code = int(m.group(1), 16)
            if 0xD800 <= code <= 0xDFFF or code > 0x10FFFF:
                raise EqlError(f"Invalid unicode character code [{m.group(1)}]", line, column + i)
            out.append(chr(code))
            i = m.end()
            continue
        raise EqlError(
            f"invalid escape sequence '\\{nxt}' in string; write '\\\\' for a backslash, or use a raw "
            '"""...""" string',
            line,
            column + i,
        )
    return "".join(out)


def parse_field_token(token: Token, optional: bool, span: ir.Span) -> ir.Field:
    """Split a FIELD token (dots, backtick segments, ``[n]`` indexes) into a path."""
    text = str(token)
    path: list[str | int] = []
    i = 0
    while i < len(text):
        ch = text[i]
        if ch == "`":
            j = i + 1
            buf = []
            while True:
                if text[j] == "`":
                    if j + 1 < len(text) and text[j + 1] == "`":
                        buf.append("`")
                        j += 2
                        continue
                    break
                buf.append(text[j])
                j += 1
            path.append("".join(buf))
            i = j + 1
        elif ch == ".":
            i += 1
        elif ch == "[":
            j = text.index("]", i)
            path.append(int(text[i + 1 : j]))
            i = j + 1
        else:
            m = re.compile(r"[A-Za-z0-9_@]+").match(text, i)
            assert m
            path.append(m.group(0))
            i = m.end()
    return ir.Field(tuple(path), optional, span=span)


def _flatten(cls: type, terms: list[Any]) -> tuple:
    out: list[Any] = []
    for t in terms:
        if isinstance(t, cls):
            out.extend(t.terms)
        else:
            out.append(t)
    return tuple(out)


@v_args(meta=True)
class ToIR(Transformer):
    """Builds IR nodes. ``dialect`` decides whether legacy Endgame syntax is accepted."""

    def __init__(self, dialect: str = "elasticsearch") -> None:
        super().__init__()
        self.dialect = dialect

    def _legacy(self, token_or_meta: Any, message: str) -> None:
        if self.dialect == "elasticsearch":
            raise EqlError(message, token_or_meta.line, token_or_meta.column)

    # ---- queries -------------------------------------------------------------------------
    def start(self, meta: Meta, children: list) -> ir.Query:
        return children[0]

    def query(self, meta: Meta, children: list) -> ir.Query:
        body, *pipes = children
        return ir.Query(body, tuple(pipes), span=span_of(meta))

    def event_query(self, meta: Meta, children: list) -> ir.EventQuery:
        category, condition = children
        return ir.EventQuery(category, condition, span=span_of(meta))

    def category_name(self, meta: Meta, children: list) -> str:
        return str(children[0])

    def category_string(self, meta: Meta, children: list) -> str:
        value = self.string(meta, children)
        return value.value

    def category_any(self, meta: Meta, children: list) -> None:
        return None

    def sequence(self, meta: Meta, children: list) -> ir.Sequence:
        _kw, header, *items = children
        until = None
        if items and isinstance(items[-1], tuple) and items[-1][0] == "until":
            until = items.pop()[1]
        by, maxspan = header
        return ir.Sequence(tuple(items), by, maxspan, until, span=span_of(meta))

    def seq_header(self, meta: Meta, children: list) -> tuple:
        by, maxspan = children
        return (by or (), maxspan)

    def seq_header_late(self, meta: Meta, children: list) -> tuple:
        raise EqlError("Please specify sequence [by] before [with] not after", meta.line, meta.column)

    def seq_with(self, meta: Meta, children: list) -> ir.Duration:
        return children[2]

    def duration(self, meta: Meta, children: list) -> ir.Duration:
        value = children[0]
        unit = children[1] if len(children) > 1 else None
        if unit is None:
            raise EqlError(
                f"No time unit specified for maxspan [{value}], please specify one of [ms, s, m, h, d]",
                meta.line,
                meta.column,
            )
        if str(unit) not in ir.DURATION_UNITS_MS:
            raise EqlError(
                f"Unrecognized time unit [{unit}] in maxspan, please specify one of [ms, s, m, h, d]",
                unit.line,
                unit.column,
            )
        if int(value) <= 0:
            raise EqlError("A positive maxspan value is required", meta.line, meta.column)
        return ir.Duration(int(value), str(unit), span=span_of(meta))

    def join_by(self, meta: Meta, children: list) -> tuple:
        return children[1]

    def join_keys(self, meta: Meta, children: list) -> tuple:
        return tuple(children)

    def seq_term(self, meta: Meta, children: list) -> ir.SequenceTerm:
        query, by, runs = children
        return ir.SequenceTerm(query, by or (), runs or 1, False, span=span_of(meta))

    def seq_missing(self, meta: Meta, children: list) -> ir.SequenceTerm:
        query, by, runs = children
        return ir.SequenceTerm(query, by or (), runs or 1, True, span=span_of(meta))

    def runs(self, meta: Meta, children: list) -> int:
        value = int(children[2])
        if not 1 <= value <= 100:
            raise EqlError(f"runs must be between 1 and 100, found [{value}]", meta.line, meta.column)
        return value

    def until(self, meta: Meta, children: list) -> tuple:
        _kw, query, by = children
        return ("until", ir.SequenceTerm(query, by or (), span=span_of(meta)))

    def sample(self, meta: Meta, children: list) -> ir.Sample:
        _kw, by, *terms = children
        return ir.Sample(tuple(terms), by or (), span=span_of(meta))

    def sample_term(self, meta: Meta, children: list) -> ir.SequenceTerm:
        query, by = children
        return ir.SequenceTerm(query, by or (), span=span_of(meta))

    def pipe(self, meta: Meta, children: list) -> ir.Pipe:
        name = str(children[0])
        args = children[1] if len(children) > 1 else ()
        return ir.Pipe(name, tuple(args), span=span_of(meta))

    def pipe_args_comma(self, meta: Meta, children: list) -> tuple:
        return tuple(children)

    def pipe_args_space(self, meta: Meta, children: list) -> tuple:
        self._legacy(meta, "pipe arguments must be separated by commas")
        return tuple(children)

    # ---- boolean logic -------------------------------------------------------------------
    def or_expr(self, meta: Meta, children: list) -> ir.Or:
        return ir.Or(_flatten(ir.Or, children[::2]), span=span_of(meta))

    def and_expr(self, meta: Meta, children: list) -> ir.And:
        return ir.And(_flatten(ir.And, children[::2]), span=span_of(meta))

    def not_(self, meta: Meta, children: list) -> ir.Not:
        return ir.Not(children[1], span=span_of(meta))

    # ---- predicates ----------------------------------------------------------------------
    def compare(self, meta: Meta, children: list) -> Any:
        left, op, right = children
        return self._compare(meta, left, str(op), right)

    def compare_legacy(self, meta: Meta, children: list) -> Any:
        left, op, right = children
        self._legacy(op, "Use == instead of = for equality")
        return self._compare(meta, left, "==", right)

    def _compare(self, meta: Meta, left: Any, op: str, right: Any) -> Any:
        span = span_of(meta)
        if op in ("==", "!="):
            if isinstance(right, ir.Null) and not isinstance(left, ir.Null):
                node: Any = ir.IsNull(left, span=span)
            elif isinstance(left, ir.Null) and not isinstance(right, ir.Null):
                node = ir.IsNull(right, span=span)
            else:
                node = ir.Compare(ir.CompareOp.EQ, left, right, span=span)
            return ir.Not(node, span=span) if op == "!=" else node
        return ir.Compare(ir.CompareOp(op), left, right, span=span)

    def _in(self, meta: Meta, children: list, ci: bool) -> Any:
        expr = children[0]
        negated = isinstance(children[1], Token) and children[1].type == "NOT"
        values = tuple(c for c in children[1:] if not isinstance(c, Token))
        for v in values:
            if not isinstance(v, ir.LITERAL_TYPES):
                if self.dialect == "elasticsearch":
                    s = getattr(v, "span", ir.NO_SPAN)
                    raise EqlError(
                        "Comparisons against fields are not (currently) supported; in-list members must be literals",
                        s.line or meta.line,
                        s.column or meta.column,
                    )
        span = span_of(meta)
        node = ir.InSet(expr, values, ci, span=span)
        return ir.Not(node, span=span) if negated else node

    def in_set(self, meta: Meta, children: list) -> Any:
        return self._in(meta, children, False)

    def in_set_ci(self, meta: Meta, children: list) -> Any:
        return self._in(meta, children, True)

    def string_or_list(self, meta: Meta, children: list) -> tuple:
        return tuple(children)

    def string_predicate(self, meta: Meta, children: list) -> Any:
        expr, op, values = children
        op = str(op)
        span = span_of(meta)
        for v in values:
            if not isinstance(v, ir.String):
                raise EqlError(f"the right side of '{op}' must be a string, found {_describe(v)}", v.span.line or meta.line, v.span.column or meta.column)
        if op.startswith("regex"):
            return ir.RegexMatch(expr, tuple(v.value for v in values), op.endswith("~"), span=span)
        ci = op != "like"
        return ir.WildcardMatch(expr, tuple(ir.Pattern(v.value) for v in values), ci, span=span)

    # ---- arithmetic ----------------------------------------------------------------------
    def arith(self, meta: Meta, children: list) -> ir.Arithmetic:
        left, op, right = children
        return ir.Arithmetic(ir.ArithOp(str(op)), left, right, span=span_of(meta))

    def neg(self, meta: Meta, children: list) -> Any:
        inner = children[1]
        if isinstance(inner, ir.Number):
            return ir.Number(-inner.value, span=span_of(meta))
        return ir.Negate(inner, span=span_of(meta))

    def pos(self, meta: Meta, children: list) -> Any:
        return children[1]

    # ---- primaries -----------------------------------------------------------------------
    def function_call(self, meta: Meta, children: list) -> ir.FunctionCall:
        name_tok = children[0]
        ci = len(children) > 1 and isinstance(children[1], Token) and children[1].type == "TILDE"
        args = tuple(c for c in children[2 if ci else 1 :] if c is not None)
        raw = str(name_tok)
        spec = lookup(raw)
        if spec is None or self.dialect not in spec.dialects:
            reason = UNSUPPORTED_FUNCTIONS.get(raw.lower())
            raise EqlError(reason or f"Unknown function [{raw}]", name_tok.line, name_tok.column)
        if ci and not spec.case_aware:
            raise EqlError(f"Function [{spec.name}] has no case-insensitive form; remove the '~'", name_tok.line, name_tok.column)
        n = len(args)
        if n < spec.min_args or (spec.max_args is not None and n > spec.max_args):
            expected = (
                f"{spec.min_args}" if spec.min_args == spec.max_args
                else f"at least {spec.min_args}" if spec.max_args is None
                else f"{spec.min_args} to {spec.max_args}"
            )
            raise EqlError(f"Function [{spec.name}] takes {expected} argument(s), found {n}", name_tok.line, name_tok.column)
        return ir.FunctionCall(spec.name, args, ci, span=span_of(meta))

    def field(self, meta: Meta, children: list) -> ir.Field:
        optional = len(children) == 2
        return parse_field_token(children[-1], optional, span_of(meta))

    def string(self, meta: Meta, children: list) -> ir.String:
        tok: Token = children[0]
        text = str(tok)
        span = span_of(meta)
        if text.startswith('"""'):
            body = text[3:-3]
        elif text.startswith("?"):
            self._legacy(tok, 'Use triple double quotes ["""] to define unescaped string literals, not [?"]')
            body = text[2:-1]
        elif text.startswith("'"):
            self._legacy(tok, 'Use double quotes ["] to define string literals, not single quotes [\']')
            body = unescape(text[1:-1], tok.line, tok.column + 1)
        else:
            body = unescape(text[1:-1], tok.line, tok.column + 1)
        return ir.String(body, span=span)

    def integer(self, meta: Meta, children: list) -> ir.Number:
        return ir.Number(int(children[0]), span=span_of(meta))

    def decimal(self, meta: Meta, children: list) -> ir.Number:
        return ir.Number(float(children[0]), span=span_of(meta))

    def true(self, meta: Meta, children: list) -> ir.Boolean:
        return ir.Boolean(True, span=span_of(meta))

    def false(self, meta: Meta, children: list) -> ir.Boolean:
        return ir.Boolean(False, span=span_of(meta))

    def null(self, meta: Meta, children: list) -> ir.Null:
        return ir.Null(span=span_of(meta))


def _describe(node: Any) -> str:
    return {ir.Number: "a number", ir.Boolean: "a boolean", ir.Null: "null", ir.Field: "a field"}.get(type(node), "an expression")
