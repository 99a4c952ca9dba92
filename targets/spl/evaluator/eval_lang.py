"""Eval expressions, as the ``where`` and ``eval`` commands evaluate them.

Documented rules this module implements (Search Reference 10.0 unless noted), each tested on its
own in ``tests/test_spl_evaluator.py``:

* "The <eval-expression> is case-sensitive" and "both commands interpret quoted strings as
  literals. If the string is not quoted, it is treated as a field name" (``where``). Field names
  with non-alphanumeric characters "must be surrounded by single quotation marks".
* Boolean order for ``where``/``eval``: parentheses, NOT, AND, OR, XOR ("This evaluation order is
  different than the order used with the search command").
* ``where`` "returns only the results for which the eval expression returns true": NULL and FALSE
  both drop a result. Comparisons with a NULL operand are NULL and AND/OR follow three-valued logic;
  ``NOT NULL`` is not documented, so it raises :class:`Undocumented`.
* String literals: ``\\\\`` is a backslash, ``\\"`` a quotation mark, ``\\t`` a tab ("C:\\\\windows\\temp"
  shows a tab: Search Manual > Types of expressions); other unrecognized sequences are not altered.
* ``like(<str>,<pattern>)``: "%" matches multiple characters, "_" a single character; TRUE "only if"
  the string matches (whole value). Case-sensitive as every eval expression. No escape character is
  documented, so a backslash in a pattern raises :class:`Undocumented`.
* ``match(<str>,<regex>)``: TRUE if the PCRE regex matches "any substring".
* ``mvfind(<mv>,<regex>)``: "the index of the first matching value is returned (beginning with
  zero). If no values match, NULL is returned".
* ``mvfilter(<predicate>)``: "filters a multivalue field based on an arbitrary Boolean expression.
  The Boolean expression can reference ONLY ONE field at a time"; a field with no remaining values
  is NULL (``mvcount``: "If the field has no values, this function returns NULL").
* ``mvcount``: "If the field contains a single value, this function returns 1".
* ``mvappend(<values>)``: "takes one or more values and returns a single multivalue result that
  contains all of the values. The values can be strings, multivalue fields, or single value
  fields" (a NULL argument is not documented: :class:`Undocumented`); ``mvdedup(<mv>)``: "Removes
  all of the duplicate values from a multivalue field" (values compare as text; NULL in, NULL
  out is not documented either).
* ``in(<field>,<list>)``: TRUE "if one of the values in the list matches"; no wildcards.
* ``isnum(<value>)``: "Returns TRUE if the value is a number" - a field value that looks like a
  number is one (see :mod:`.values`).
* ``isnull``/``isnotnull``, ``if`` ("otherwise the function returns the <false_value>"), ``case``
  ("defaults to NULL if none of the <condition> arguments are true"), ``coalesce``, ``null()``,
  ``true()``, ``false()``, ``cidrmatch(<cidr>,<ip>)`` (IPv4 and IPv6), ``len`` ("not supported on
  multivalue fields"), ``round``.
* Operators on a multivalue field (``==``, ``like``, ``match``, ``len``...) are not documented:
  they raise :class:`Undocumented`, so an exact translation must go through ``mvfilter``/``mvfind``.
* Comparing two numeric-looking strings with ``==`` (numeric or text?) is not documented either.
"""

from __future__ import annotations

import ipaddress
import math
import re
from dataclasses import dataclass
from typing import Any, Optional, Union

from eqlc import safe_regex

from . import pcre
from . import values as V
from .errors import SplSyntaxError, Undocumented, Unsupported


# ---- AST -------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Lit:
    value: Any  # str | float | bool | None


@dataclass(frozen=True)
class FieldRef:
    name: str


@dataclass(frozen=True)
class Call:
    name: str
    args: tuple["Expr", ...]


@dataclass(frozen=True)
class BinOp:
    op: str
    left: "Expr"
    right: "Expr"


@dataclass(frozen=True)
class Unary:
    op: str  # NOT, -
    expr: "Expr"


Expr = Union[Lit, FieldRef, Call, BinOp, Unary]


# ---- scanner ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class Tok:
    kind: str  # num str field ident op ( ) , kw
    text: str
    pos: int
    value: Any = None


_KW = {"AND", "OR", "XOR", "NOT", "LIKE"}


_EVAL_ESCAPE = re.compile(r"\\(.)", re.S)


def _eval_escape(m: "re.Match[str]") -> str:
    d = m.group(1)
    if d in '\\"':
        return d
    if d == "t":
        return "\t"
    if d in "nr":
        raise Undocumented(f"escape sequence \\{d} in an eval string is not documented")
    return m.group(0)


def unescape_eval_string(body: str) -> str:
    """``\\\\`` and ``\\"`` are the escapes, ``\\t`` a tab; other sequences are not altered."""
    return _EVAL_ESCAPE.sub(_eval_escape, body) if "\\" in body else body






_TOKEN = re.compile(r"""
    (?P<ws>\s+)
  | (?P<punct>[(),])
  | (?P<str>"(?:[^"\\]|\\.)*")
  | (?P<field>'[^']*')
  | (?P<num>(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?)
  | (?P<ident>[A-Za-z_][A-Za-z0-9_]*)
  | (?P<op>==|!=|<=|>=|=|<|>|\+|-|\*|/|%|!|\.)
""", re.X | re.S)


def scan(text: str) -> list[Tok]:
    toks: list[Tok] = []
    i, n = 0, len(text)
    while i < n:
        m = _TOKEN.match(text, i)
        if m is None:
            c = text[i]
            if c == '"':
                raise SplSyntaxError("unbalanced quotation mark in eval expression", i)
            if c == "'":
                raise SplSyntaxError("unbalanced single quotation mark", i)
            raise SplSyntaxError(f"unexpected character {c!r} in eval expression", i)
        kind, tok = m.lastgroup, m.group(0)
        if kind == "punct":
            toks.append(Tok(tok, tok, i))
        elif kind == "str":
            toks.append(Tok("str", tok, i, unescape_eval_string(tok[1:-1])))
        elif kind == "field":
            toks.append(Tok("field", tok, i, tok[1:-1]))
        elif kind == "num":
            toks.append(Tok("num", tok, i, float(tok)))
        elif kind == "ident":
            toks.append(Tok("kw" if tok in _KW else "ident", tok, i, tok))
        elif kind == "op":
            toks.append(Tok("op", tok, i))
        i = m.end()
    return toks


# ---- parser ----------------------------------------------------------------------------------
class Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.toks = scan(text)
        self.i = 0

    def peek(self) -> Optional[Tok]:
        return self.toks[self.i] if self.i < len(self.toks) else None

    def take(self) -> Tok:
        t = self.toks[self.i]
        self.i += 1
        return t

    def accept(self, kind: str, text: Optional[str] = None) -> Optional[Tok]:
        t = self.peek()
        if t is not None and t.kind == kind and (text is None or t.text == text):
            return self.take()
        return None

    def expect(self, kind: str, text: Optional[str] = None) -> Tok:
        t = self.accept(kind, text)
        if t is None:
            got = self.peek()
            raise SplSyntaxError(f"expected {text or kind}, found {got.text if got else 'end of input'!r}", got.pos if got else -1)
        return t

    def done(self) -> bool:
        return self.peek() is None

    def expr(self) -> Expr:
        left = self.and_expr()
        while True:
            if self.accept("kw", "OR"):
                left = BinOp("OR", left, self.and_expr())
            elif self.peek() is not None and self.peek().text == "XOR":
                raise Unsupported("XOR is outside the subset eqlc emits")
            else:
                return left

    def and_expr(self) -> Expr:
        left = self.not_expr()
        while self.accept("kw", "AND"):
            left = BinOp("AND", left, self.not_expr())
        return left

    def not_expr(self) -> Expr:
        if self.accept("kw", "NOT") or self.accept("op", "!"):
            return Unary("NOT", self.not_expr())
        return self.comparison()

    def comparison(self) -> Expr:
        left = self.additive()
        t = self.peek()
        if t is not None and t.kind == "op" and t.text in ("=", "==", "!=", "<", "<=", ">", ">="):
            self.take()
            op = "==" if t.text == "=" else t.text
            return BinOp(op, left, self.additive())
        if t is not None and t.kind == "kw" and t.text == "LIKE":
            self.take()
            return Call("like", (left, self.additive()))
        return left

    def additive(self) -> Expr:
        left = self.multiplicative()
        while (t := self.peek()) is not None and t.kind == "op" and t.text in ("+", "-", "."):
            self.take()
            left = BinOp(t.text, left, self.multiplicative())
        return left

    def multiplicative(self) -> Expr:
        left = self.unary()
        while (t := self.peek()) is not None and t.kind == "op" and t.text in ("*", "/", "%"):
            self.take()
            left = BinOp(t.text, left, self.unary())
        return left

    def unary(self) -> Expr:
        if self.accept("op", "-"):
            return Unary("-", self.unary())
        return self.primary()

    def primary(self) -> Expr:
        t = self.peek()
        if t is None:
            raise SplSyntaxError("unexpected end of eval expression")
        if t.kind == "(":
            self.take()
            e = self.expr()
            self.expect(")")
            return e
        if t.kind == "num":
            self.take()
            return Lit(t.value)
        if t.kind == "str":
            self.take()
            return Lit(t.value)
        if t.kind == "field":
            self.take()
            return FieldRef(t.value)
        if t.kind == "ident":
            self.take()
            if self.accept("("):
                args: list[Expr] = []
                if not self.accept(")"):
                    args.append(self.expr())
                    while self.accept(","):
                        args.append(self.expr())
                    self.expect(")")
                name = t.text.lower()
                if name not in FUNCTIONS:
                    raise Unsupported(f"eval function {t.text}() is outside the subset eqlc emits")
                return Call(name, tuple(args))
            return FieldRef(t.text)
        raise SplSyntaxError(f"unexpected {t.text!r} in eval expression", t.pos)


def parse_eval(text: str) -> Expr:
    p = Parser(text)
    e = p.expr()
    if not p.done():
        raise SplSyntaxError(f"unexpected {p.peek().text!r} after expression", p.peek().pos)
    return e


# ---- evaluation ------------------------------------------------------------------------------
NULL = None


class Env:
    """Field lookup; ``mvfilter`` binds its one field to each value in turn."""

    def __init__(self, event: V.Event, bound: Optional[tuple[str, Any]] = None) -> None:
        self.event = event
        self.bound = bound

    def field(self, name: str) -> Any:
        if self.bound is not None and self.bound[0] == name:
            return self.bound[1]
        vals = V.get(self.event, name)
        if vals is None:
            return NULL
        return vals[0] if len(vals) == 1 else list(vals)


def _scalar(v: Any, what: str) -> Any:
    if isinstance(v, list):
        raise Undocumented(f"{what} on a multivalue field is not documented")
    return v


def _truth(v: Any) -> Optional[bool]:
    if v is None or isinstance(v, bool):
        return v
    raise SplSyntaxError(f"expected a Boolean, got {v!r}")


def _equal(a: Any, b: Any) -> Optional[bool]:
    a, b = _scalar(a, "=="), _scalar(b, "==")
    if a is None or b is None:
        return None
    if isinstance(a, bool) or isinstance(b, bool):
        raise Undocumented("comparing a Boolean with == is not documented")
    if isinstance(a, (int, float)) or isinstance(b, (int, float)):
        na, nb = V.to_number(a), V.to_number(b)
        if na is None or nb is None:
            return False
        return na == nb
    if V.is_numeric_text(a) and V.is_numeric_text(b) and a != b and float(a) == float(b):
        # textually different, numerically equal: whether eval compares them as numbers is open
        raise Undocumented(f"== between the numeric-looking strings {a!r} and {b!r} is not documented")
    return a == b


def _order(op: str, a: Any, b: Any) -> Optional[bool]:
    a, b = _scalar(a, op), _scalar(b, op)
    if a is None or b is None:
        return None
    na, nb = V.to_number(a), V.to_number(b)
    if na is not None and nb is not None:
        x, y = na, nb
    elif isinstance(a, str) and isinstance(b, str) and na is None and nb is None:
        x, y = a, b
    else:
        raise Undocumented(f"ordering a number against a string ({a!r} {op} {b!r}) is not documented")
    return {"<": x < y, "<=": x <= y, ">": x > y, ">=": x >= y}[op]


def _like(s: Any, p: Any) -> Optional[bool]:
    s = _scalar(s, "like()")
    if s is None or p is None:
        return None
    if not isinstance(p, str):
        raise SplSyntaxError("like() pattern must be a string")
    if "\\" in p:
        raise Undocumented("like() has no documented escape character; a backslash in the pattern is ambiguous")
    rx = "".join("(?s:.*)" if c == "%" else "(?s:.)" if c == "_" else re.escape(c) for c in p)
    return safe_regex.compile(rx).fullmatch(V.render(s)) is not None


def _arith(op: str, a: Any, b: Any) -> Any:
    a, b = _scalar(a, op), _scalar(b, op)
    if a is None or b is None:
        return None
    na, nb = V.to_number(a), V.to_number(b)
    if na is None or nb is None:
        if op == "+" and isinstance(a, str) and isinstance(b, str):
            return a + b
        raise Undocumented(f"arithmetic {op} on non-numbers {a!r}, {b!r}")
    if op == "+":
        return na + nb
    if op == "-":
        return na - nb
    if op == "*":
        return na * nb
    if op == "/":
        return None if nb == 0 else na / nb
    if op == "%":
        return None if nb == 0 else math.fmod(na, nb)
    raise Unsupported(f"operator {op}")


def fields_of(e: Expr) -> set[str]:
    if isinstance(e, FieldRef):
        return {e.name}
    if isinstance(e, Call):
        return set().union(*(fields_of(a) for a in e.args)) if e.args else set()
    if isinstance(e, BinOp):
        return fields_of(e.left) | fields_of(e.right)
    if isinstance(e, Unary):
        return fields_of(e.expr)
    return set()


def _cidrmatch(cidr: Any, ip: Any) -> Optional[bool]:
    cidr, ip = _scalar(cidr, "cidrmatch()"), _scalar(ip, "cidrmatch()")
    if cidr is None or ip is None:
        return None
    try:
        net = ipaddress.ip_network(str(cidr), strict=False)
    except ValueError:
        raise SplSyntaxError(f"cidrmatch(): invalid CIDR {cidr!r}") from None
    try:
        return ipaddress.ip_address(V.render(ip)) in net
    except ValueError:
        return False


def _round(x: Any, n: Any = 0.0) -> Any:
    x = _scalar(x, "round()")
    if x is None:
        return None
    v = V.to_number(x)
    if v is None:
        raise Undocumented(f"round() of a non-number {x!r}")
    k = int(n or 0)
    return math.floor(v * 10**k + 0.5) / 10**k


FUNCTIONS = {
    "if", "case", "isnull", "isnotnull", "isnum", "like", "match", "mvfind", "mvfilter", "mvcount", "lower",
    "mvappend", "mvdedup", "replace", "split",
    "len", "in", "null", "true", "false", "cidrmatch", "coalesce", "round",
}


def evaluate(e: Expr, env: Env) -> Any:
    if isinstance(e, Lit):
        return e.value
    if isinstance(e, FieldRef):
        return env.field(e.name)
    if isinstance(e, Unary):
        v = evaluate(e.expr, env)
        if e.op == "NOT":
            t = _truth(v)
            if t is None:
                raise Undocumented("NOT of a NULL value is not documented")
            return not t
        v = _scalar(v, "unary -")
        return None if v is None else -V.to_number(v)
    if isinstance(e, BinOp):
        if e.op == "AND":
            a = _truth(evaluate(e.left, env))
            if a is False:
                return False
            b = _truth(evaluate(e.right, env))
            if b is False:
                return False
            return None if a is None or b is None else True
        if e.op == "OR":
            a = _truth(evaluate(e.left, env))
            if a is True:
                return True
            b = _truth(evaluate(e.right, env))
            if b is True:
                return True
            return None if a is None or b is None else False
        a, b = evaluate(e.left, env), evaluate(e.right, env)
        if e.op == "==":
            return _equal(a, b)
        if e.op == "!=":
            r = _equal(a, b)
            return None if r is None else not r
        if e.op in ("<", "<=", ">", ">="):
            return _order(e.op, a, b)
        if e.op == ".":
            raise Unsupported("string concatenation with '.' is outside the subset eqlc emits")
        return _arith(e.op, a, b)
    if isinstance(e, Call):
        return _call(e, env)
    raise TypeError(e)


def _arity(e: Call, lo: int, hi: Optional[int] = None) -> None:
    hi = lo if hi is None else hi
    if not lo <= len(e.args) <= hi:
        raise SplSyntaxError(f"{e.name}() takes {lo}{'' if hi == lo else '-' + str(hi)} arguments, got {len(e.args)}")


def _call(e: Call, env: Env) -> Any:
    name = e.name
    if name in ("null", "true", "false"):
        _arity(e, 0)
        return {"null": None, "true": True, "false": False}[name]
    if name == "if":
        _arity(e, 3)
        c = _truth(evaluate(e.args[0], env))
        return evaluate(e.args[1], env) if c is True else evaluate(e.args[2], env)
    if name == "case":
        if len(e.args) % 2:
            raise SplSyntaxError("case() takes condition/value pairs")
        for i in range(0, len(e.args), 2):
            if _truth(evaluate(e.args[i], env)) is True:
                return evaluate(e.args[i + 1], env)
        return None
    if name == "mvfilter":
        _arity(e, 1)
        names = fields_of(e.args[0])
        if len(names) != 1:
            raise SplSyntaxError(f"mvfilter() must reference exactly one field, found {sorted(names)}")
        (fname,) = names
        vals = V.get(env.event, fname)
        if vals is None:
            return None
        kept = [v for v in vals if _truth(evaluate(e.args[0], Env(env.event, (fname, v)))) is True]
        if not kept:
            return None
        return kept[0] if len(kept) == 1 else kept
    args = [evaluate(a, env) for a in e.args]
    if name == "isnull":
        _arity(e, 1)
        return args[0] is None
    if name == "isnotnull":
        _arity(e, 1)
        return args[0] is not None
    if name == "isnum":
        _arity(e, 1)
        v = _scalar(args[0], "isnum()")
        return v is not None and not isinstance(v, bool) and V.to_number(v) is not None
    if name == "coalesce":
        return next((a for a in args if a is not None), None)
    if name == "like":
        _arity(e, 2)
        return _like(args[0], args[1])
    if name == "match":
        _arity(e, 2)
        s = _scalar(args[0], "match()")
        if s is None or args[1] is None:
            return None
        return pcre.search(str(args[1]), V.render(s))
    if name == "mvfind":
        _arity(e, 2)
        if args[0] is None:
            return None
        vals = args[0] if isinstance(args[0], list) else [args[0]]
        for i, v in enumerate(vals):
            if pcre.search(str(args[1]), V.render(v)):
                return float(i)
        return None
    if name == "mvappend":
        if not args:
            raise SplSyntaxError("mvappend() takes at least one value")
        out: list = []
        for a in args:
            if a is None:
                raise Undocumented("mvappend() with a NULL argument is not documented")
            if isinstance(a, bool):
                raise SplSyntaxError("mvappend() of a Boolean")
            out.extend(a if isinstance(a, list) else [a])
        return out[0] if len(out) == 1 else out
    if name == "mvdedup":
        _arity(e, 1)
        if args[0] is None:
            raise Undocumented("mvdedup() of NULL is not documented")
        vals = args[0] if isinstance(args[0], list) else [args[0]]
        seen: dict = {}
        for v in vals:
            seen.setdefault(V.render(v), v)
        kept = list(seen.values())
        return kept[0] if len(kept) == 1 else kept
    if name == "mvcount":
        _arity(e, 1)
        if args[0] is None:
            return None
        return float(len(args[0])) if isinstance(args[0], list) else 1.0
    if name == "lower":
        _arity(e, 1)
        v = args[0]
        if v is None:
            return None
        items = v if isinstance(v, list) else [v]
        out = []
        for item in items:
            s = V.render(item)
            if any(ord(c) > 127 and c.lower() != c for c in s):
                raise Undocumented("lower() of non-ASCII letters is not documented")
            out.append(s.lower())
        return out if isinstance(v, list) else out[0]
    if name == "len":
        _arity(e, 1)
        v = _scalar(args[0], "len()")
        return None if v is None else float(len(V.render(v)))
    if name == "in":
        if len(args) < 2:
            raise SplSyntaxError("in() takes a value and a list")
        x = _scalar(args[0], "in()")
        if x is None:
            return None
        return any(_equal(x, item) for item in args[1:])
    if name == "cidrmatch":
        _arity(e, 2)
        return _cidrmatch(args[0], args[1])
    if name == "round":
        _arity(e, 1, 2)
        return _round(*args)
    if name == "replace":
        _arity(e, 3)
        return _replace(*args)
    if name == "split":
        _arity(e, 2)
        return _split(*args)
    raise Unsupported(f"eval function {name}()")


_BACKREF = re.compile(r"\\(.)", re.S)


def _replace(s: Any, rx: Any, repl: Any) -> Any:
    """``replace(<str>,<regex>,<replacement>)``: "substitutes the replacement string for every
    occurrence of the regular expression in the string"; "the replacement can include
    backreferences to the capture groups", written ``\\1``..``\\9``. Other backslash sequences in
    the replacement are not documented."""
    s = _scalar(s, "replace()")
    if s is None or rx is None or repl is None:
        return None
    rx, repl = _scalar(rx, "replace()"), _scalar(repl, "replace()")
    if not isinstance(rx, str) or not isinstance(repl, str):
        raise SplSyntaxError("replace() takes a regular expression and a replacement string")
    pattern = pcre.compile_pcre(rx)

    def expand(m: "re.Match[str]") -> str:
        def one(b: "re.Match[str]") -> str:
            d = b.group(1)
            if not d.isdigit() or d == "0":
                raise Undocumented(f"the replacement sequence \\{d} in replace() is not documented")
            return m.group(int(d)) or ""
        return _BACKREF.sub(one, repl)

    return pattern.sub(expand, V.render(s))


def _split(s: Any, delim: Any) -> Any:
    """``split(<str>,<delim>)``: "Splits the string values on the delimiter and returns the string
    values as a multivalue field". An empty delimiter and a multivalue input are not documented."""
    s = _scalar(s, "split()")
    if s is None or delim is None:
        return None
    if not isinstance(delim, str) or delim == "":
        raise Undocumented("split() with an empty or non-string delimiter is not documented")
    parts = V.render(s).split(delim)
    return parts[0] if len(parts) == 1 else parts


def assign_value(v: Any) -> Optional[list]:
    """What ``eval x=<expr>`` stores: NULL clears the field; Booleans cannot be assigned."""
    if v is None:
        return None
    if isinstance(v, bool):
        raise SplSyntaxError("the result of an eval expression cannot be a Boolean")
    return list(v) if isinstance(v, list) else [v]
