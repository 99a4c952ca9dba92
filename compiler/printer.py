"""IR -> canonical EQL text, such that ``parse_query(to_eql(q)) == q`` for every query.

Canonical means: ``like~`` for ``:`` (they are the same operator in Elasticsearch), ``!=`` for
``not ==``, minimal parentheses by precedence, strings double-quoted with escapes.
"""

from __future__ import annotations

import re
from typing import Any

from . import ir

_PLAIN_FIELD_SEGMENT = re.compile(r"^[A-Za-z_@][A-Za-z0-9_@]*$")
_KEYWORDS = {"and", "or", "not", "in", "like", "regex", "where", "sequence", "sample", "by", "with",
             "until", "maxspan", "runs", "true", "false", "null", "any"}

# Binding strength: higher binds tighter.
_OR, _AND, _NOT, _CMP, _SUM, _PRODUCT, _UNARY, _ATOM = range(8)


def quote(value: str) -> str:
    """A double-quoted EQL string literal for ``value``."""
    out = ['"']
    for ch in value:
        if ch == "\\":
            out.append("\\\\")
        elif ch == '"':
            out.append('\\"')
        elif ch == "\n":
            out.append("\\n")
        elif ch == "\r":
            out.append("\\r")
        elif ch == "\t":
            out.append("\\t")
        elif not ch.isprintable() or 0xD800 <= ord(ch) <= 0xDFFF:
            out.append(f"\\u{{{ord(ch):04x}}}")
        else:
            out.append(ch)
    out.append('"')
    return "".join(out)


def field_name(f: ir.Field) -> str:
    out = ""
    for part in f.path:
        if isinstance(part, int):
            out += f"[{part}]"
            continue
        seg = part if (_PLAIN_FIELD_SEGMENT.match(part) and (out or part not in _KEYWORDS)) else "`" + part.replace("`", "``") + "`"
        if out and not _PLAIN_FIELD_SEGMENT.match(part) and re.fullmatch(r"[A-Za-z0-9_@]+", part):
            seg = part  # later segments may start with a digit
        out += ("." if out else "") + seg
    return ("?" if f.optional else "") + out


def number(n: ir.Number) -> str:
    v = n.value
    if isinstance(v, float):
        text = repr(v)
        if "inf" in text or "nan" in text:
            raise ValueError(f"cannot print {v}")
        if "e" in text and "." not in text.split("e")[0]:
            mant, exp = text.split("e")
            text = f"{mant}.0e{exp}"
        return text
    return str(v)


def literal(node: Any) -> str:
    if isinstance(node, ir.String):
        return quote(node.value)
    if isinstance(node, ir.Number):
        return number(node)
    if isinstance(node, ir.Boolean):
        return "true" if node.value else "false"
    if isinstance(node, ir.Null):
        return "null"
    raise TypeError(node)


def _values(items: list[str]) -> str:
    return items[0] if len(items) == 1 else "(" + ", ".join(items) + ")"


def expr(node: Any, context: int = _OR) -> str:
    text, strength = _expr(node)
    return f"({text})" if strength < context else text


def _expr(node: Any) -> tuple[str, int]:
    if isinstance(node, ir.LITERAL_TYPES):
        text = literal(node)
        return text, (_UNARY if text.startswith("-") else _ATOM)
    if isinstance(node, ir.Field):
        return field_name(node), _ATOM
    if isinstance(node, ir.Or):
        return " or ".join(expr(t, _AND) for t in node.terms), _OR
    if isinstance(node, ir.And):
        return " and ".join(expr(t, _NOT) for t in node.terms), _AND
    if isinstance(node, ir.Not):
        inner = node.expr
        if isinstance(inner, ir.Compare) and inner.op is ir.CompareOp.EQ:
            return f"{expr(inner.left, _SUM)} != {expr(inner.right, _SUM)}", _CMP
        if isinstance(inner, ir.IsNull):
            return f"{expr(inner.expr, _SUM)} != null", _CMP
        if isinstance(inner, ir.InSet):
            op = "in~" if inner.case_insensitive else "in"
            return f"{expr(inner.expr, _SUM)} not {op} ({', '.join(expr(v) for v in inner.values)})", _CMP
        return f"not {expr(inner, _NOT)}", _NOT
    if isinstance(node, ir.Compare):
        return f"{expr(node.left, _SUM)} {node.op.value} {expr(node.right, _SUM)}", _CMP
    if isinstance(node, ir.IsNull):
        return f"{expr(node.expr, _SUM)} == null", _CMP
    if isinstance(node, ir.InSet):
        op = "in~" if node.case_insensitive else "in"
        return f"{expr(node.expr, _SUM)} {op} ({', '.join(expr(v) for v in node.values)})", _CMP
    if isinstance(node, ir.WildcardMatch):
        op = "like~" if node.case_insensitive else "like"
        return f"{expr(node.expr, _SUM)} {op} {_values([quote(p.text) for p in node.patterns])}", _CMP
    if isinstance(node, ir.RegexMatch):
        op = "regex~" if node.case_insensitive else "regex"
        return f"{expr(node.expr, _SUM)} {op} {_values([quote(p) for p in node.patterns])}", _CMP
    if isinstance(node, ir.Arithmetic):
        if node.op in (ir.ArithOp.ADD, ir.ArithOp.SUB):
            return f"{expr(node.left, _SUM)} {node.op.value} {expr(node.right, _PRODUCT)}", _SUM
        return f"{expr(node.left, _PRODUCT)} {node.op.value} {expr(node.right, _UNARY)}", _PRODUCT
    if isinstance(node, ir.Negate):
        return f"-{expr(node.expr, _ATOM)}", _UNARY
    if isinstance(node, ir.FunctionCall):
        tilde = "~" if node.case_insensitive else ""
        return f"{node.name}{tilde}({', '.join(expr(a) for a in node.args)})", _ATOM
    raise TypeError(f"cannot print {type(node).__name__}")


def _keys(keys: tuple) -> str:
    return ", ".join(expr(k) for k in keys)


def event_query(q: ir.EventQuery) -> str:
    if q.category is None:
        cat = "any"
    elif _PLAIN_FIELD_SEGMENT.match(q.category) and q.category not in _KEYWORDS:
        cat = q.category
    else:
        cat = quote(q.category)
    return f"{cat} where {expr(q.condition)}"


def _term(t: ir.SequenceTerm, indent: str) -> str:
    text = f"{indent}{'!' if t.missing else ''}[{event_query(t.query)}]"
    if t.by:
        text += f" by {_keys(t.by)}"
    if t.runs != 1:
        text += f" with runs={t.runs}"
    return text


def to_eql(query: ir.Query) -> str:
    """Canonical EQL text for ``query``."""
    body = query.body
    if isinstance(body, ir.EventQuery):
        text = event_query(body)
    elif isinstance(body, ir.Sequence):
        head = "sequence"
        if body.by:
            head += f" by {_keys(body.by)}"
        if body.maxspan is not None:
            head += f" with maxspan={body.maxspan.value}{body.maxspan.unit}"
        lines = [head] + [_term(t, "  ") for t in body.terms]
        if body.until is not None:
            lines.append("until " + _term(body.until, "").lstrip())
        text = "\n".join(lines)
    else:
        lines = [f"sample by {_keys(body.by)}" if body.by else "sample"] + [_term(t, "  ") for t in body.terms]
        text = "\n".join(lines)
    for pipe in query.pipes:
        text += f"\n| {pipe.name}" + (f" {', '.join(expr(a) for a in pipe.args)}" if pipe.args else "")
    return text
