"""IR -> Python source with the ``eql`` package's (endgame) semantics; see endgame_rt.py.

Used by ``matcher(..., dialect="endgame")`` (case-insensitive, the package's default) and
``dialect="endgame-cs"`` (its ``CASE_INSENSITIVE = False`` mode), so the package's own suite
(``eql/etc/test_queries.toml``) can judge this matcher too.
"""

from __future__ import annotations

from typing import Any

from .. import ir
from ..errors import EqlError
from . import endgame_rt
from .codegen import ModuleBuilder, Options

_OPS = {ir.CompareOp.EQ: "==", ir.CompareOp.LT: "<", ir.CompareOp.LE: "<=", ir.CompareOp.GT: ">", ir.CompareOp.GE: ">="}
_STRINGISH = (ir.FunctionCall, ir.String, ir.Field)
_MATH = {ir.ArithOp.ADD: "f_add", ir.ArithOp.SUB: "f_subtract", ir.ArithOp.MUL: "f_multiply", ir.ArithOp.DIV: "f_divide", ir.ArithOp.MOD: "f_modulo"}
FILETIME_PER_SECOND = 10_000_000


class EndgameCodegen:
    def __init__(self, options: Options, ci: bool) -> None:
        self.o = options
        self.ci = ci
        self.ctx = endgame_rt.Ctx(ci)
        self.m = ModuleBuilder()
        self.m.emit(f"_ctx = _eg.Ctx({ci!r})")

    # -- expressions ---------------------------------------------------------------------------
    def field(self, f: ir.Field, ev: str, piped: bool) -> str:
        path = list(f.path)
        if piped and path and path[0] == "events" and len(path) > 1 and isinstance(path[1], int):
            base_ev = f"{ev}[{path[1]}]"
            path = path[2:]
        else:
            base_ev = f"{ev}[0]" if piped else ev
        if not path:
            return "None"
        base, rest = path[0], tuple(path[1:])
        if not rest:
            return f"{base_ev}.get({base!r})"
        return f"_eg.walk({base_ev}.get({base!r}), {rest!r})"

    def ex(self, node: Any, ev: str, piped: bool = False) -> str:
        if isinstance(node, ir.Field):
            return self.field(node, ev, piped)
        if isinstance(node, ir.Null):
            return "None"
        if isinstance(node, (ir.String, ir.Number, ir.Boolean)):
            return repr(node.value)
        if isinstance(node, ir.Compare):
            op = _OPS[node.op]
            if op == "==":
                for lit, other in ((node.right, node.left), (node.left, node.right)):
                    if isinstance(lit, ir.String) and "*" in lit.value:
                        return self.wildcard(other, [lit.value], ev, piped)
            fold = isinstance(node.left, _STRINGISH) and isinstance(node.right, _STRINGISH)
            return f"_eg.cmp(_ctx, {op!r}, {self.ex(node.left, ev, piped)}, {self.ex(node.right, ev, piped)}, {fold!r})"
        if isinstance(node, ir.IsNull):
            return f"({self.ex(node.expr, ev, piped)} is None)"
        if isinstance(node, ir.Not):
            inner = node.expr
            if isinstance(inner, ir.Compare) and inner.op is ir.CompareOp.EQ and not any(
                isinstance(x, ir.String) and "*" in x.value for x in (inner.left, inner.right)
            ):
                fold = isinstance(inner.left, _STRINGISH) and isinstance(inner.right, _STRINGISH)
                return f"_eg.cmp(_ctx, '!=', {self.ex(inner.left, ev, piped)}, {self.ex(inner.right, ev, piped)}, {fold!r})"
            return f"_eg.not3({self.ex(inner, ev, piped)})"
        if isinstance(node, (ir.And, ir.Or)):
            fn = "and3" if isinstance(node, ir.And) else "or3"
            return f"_eg.{fn}(" + ", ".join(f"lambda: {self.ex(t, ev, piped)}" for t in node.terms) + ")"
        if isinstance(node, ir.InSet):
            if all(isinstance(v, ir.LITERAL_TYPES) for v in node.values):
                items = frozenset(self.ctx.fold(None if isinstance(v, ir.Null) else v.value) for v in node.values)
                c = self.m.const(f"frozenset({sorted(items, key=repr)!r})")
                return f"_eg.in_set(_ctx, {self.ex(node.expr, ev, piped)}, {c})"
            alts = tuple(ir.Compare(ir.CompareOp.EQ, node.expr, v) for v in node.values)
            return self.ex(ir.Or(alts), ev, piped)
        if isinstance(node, ir.WildcardMatch):
            return self.wildcard(node.expr, [p.text for p in node.patterns], ev, piped)
        if isinstance(node, ir.RegexMatch):
            return self.regex(node.expr, list(node.patterns), ev, piped)
        if isinstance(node, ir.Arithmetic):
            return f"_eg.{_MATH[node.op]}({self.ex(node.left, ev, piped)}, {self.ex(node.right, ev, piped)})"
        if isinstance(node, ir.Negate):
            return f"_eg.f_subtract(0, {self.ex(node.expr, ev, piped)})"
        if isinstance(node, ir.FunctionCall):
            return self.function(node, ev, piped)
        raise EqlError(f"unsupported in the endgame dialect: {type(node).__name__}")

    def wildcard(self, expr: Any, patterns: list, ev: str, piped: bool) -> str:
        c = self.m.const(f"_eg.wildcard_regex(_ctx, {patterns!r})")
        return f"_eg.rx_match({c}, {self.ex(expr, ev, piped)})"

    def regex(self, expr: Any, patterns: list, ev: str, piped: bool) -> str:
        c = self.m.const(f"_eg.safe_compile({'|'.join(patterns)!r}, _ctx.flags)")
        return f"_eg.rx_match({c}, {self.ex(expr, ev, piped)})"

    def function(self, node: ir.FunctionCall, ev: str, piped: bool) -> str:
        name = node.name
        a = [self.ex(x, ev, piped) for x in node.args]
        lits = node.args[1:]
        if name == "wildcard" and all(isinstance(x, ir.String) for x in lits):
            return self.wildcard(node.args[0], [x.value for x in lits], ev, piped)
        if name in ("match", "matchLite") and all(isinstance(x, ir.String) for x in lits):
            return self.regex(node.args[0], [x.value for x in lits], ev, piped)
        if name == "safe":
            fname = self.m.name("_safe")
            self.m.emit(f"def {fname}({ev}):\n    try:\n        return {a[0]}\n    except Exception:\n        return None\n")
            return f"{fname}({ev})"
        simple = {"add": "f_add", "subtract": "f_subtract", "multiply": "f_multiply", "divide": "f_divide",
                  "modulo": "f_modulo", "length": "f_length", "number": "f_number", "string": "f_string",
                  "substring": "f_substring", "concat": "f_concat", "cidrMatch": "f_cidr"}
        if name in simple:
            return f"_eg.{simple[name]}({', '.join(a)})"
        with_ctx = {"between": "f_between", "endsWith": "f_ends_with", "startsWith": "f_starts_with",
                    "stringContains": "f_string_contains", "indexOf": "f_index_of", "arrayContains": "f_array_contains"}
        if name in with_ctx:
            return f"_eg.{with_ctx[name]}(_ctx, {', '.join(a)})"
        raise EqlError(f"Unknown function [{name}] in the endgame dialect", node.span.line, node.span.column)

    def predicate(self, node: Any, piped: bool = False) -> str:
        name = self.m.name("_p")
        arg = "r" if piped else "e"
        self.m.emit(f"def {name}({arg}):\n    return {self.ex(node, arg, piped)}\n")
        return name

    def key(self, keys: tuple, piped: bool = False) -> str:
        name = self.m.name("_key")
        arg = "r" if piped else "e"
        if not keys:
            body = "None"
        elif len(keys) == 1:
            body = f"_ctx.remove_case({self.ex(keys[0], arg, piped)})"
        else:
            body = "(" + ", ".join(f"_ctx.remove_case({self.ex(k, arg, piped)})" for k in keys) + ",)"
        self.m.emit(f"def {name}({arg}):\n    return {body}\n")
        return name

    def sort_key(self, keys: tuple) -> str:
        name = self.m.name("_sk")
        parts = ", ".join(f"_ctx.remove_case({self.ex(k, 'r', True)})" for k in keys)
        body = f"({parts},)" if len(keys) != 1 else f"_ctx.remove_case({self.ex(keys[0], 'r', True)})"
        self.m.emit(f"def {name}(r):\n    return {body}\n")
        return name

    def pipe(self, p: ir.Pipe) -> str:
        n = p.name
        if n in ("head", "tail"):
            return f"_eg.pipe_{n}({int(p.args[0].value)})"
        if n == "filter":
            return f"_eg.pipe_filter({self.predicate(p.args[0], piped=True)})"
        if n == "unique":
            return f"_eg.pipe_unique({self.key(p.args, piped=True)})"
        if n == "unique_count":
            return f"_eg.pipe_unique_count({self.key(p.args, piped=True)})"
        if n == "sort":
            return f"_eg.pipe_sort({self.sort_key(p.args)})"
        if n == "count":
            return f"_eg.pipe_count({self.key(p.args, piped=True)}, {len(p.args)})"
        raise EqlError(f"Pipe [{n}] is not supported")

    def term_type(self, q: ir.EventQuery) -> Any:
        return q.category


def generate_endgame(query: ir.Query, options: Options) -> Any:
    from .build import Generated, expand_runs

    ci = options.dialect != "endgame-cs"
    cg = EndgameCodegen(options, ci)
    body = query.body
    if options.event_category_field == "event.category":
        type_of = "_eg.event_type"
    else:
        path = tuple(options.event_category_field.split("."))
        cg.m.emit(f"def _type_of(e):\n    return _eg.walk(e.get({path[0]!r}), {path[1:]!r})\n")
        type_of = "_type_of"
    if options.timestamp_fields[0] == "@timestamp":
        cg.m.emit("def _time_of(e):\n    return e.get('timestamp', 0)\n")
        unit = FILETIME_PER_SECOND
    else:
        path = tuple(options.timestamp_fields[0].split("."))
        cg.m.emit(f"def _time_of(e):\n    return _eg.walk(e.get({path[0]!r}), {path[1:]!r})\n")
        unit = 1000
    spec: dict = {}
    if isinstance(body, ir.EventQuery):
        kind = "event"
        terms = [f"{{'cond': {cg.predicate(body.condition)}, 'type': {cg.term_type(body)!r}}}"]
    else:
        kind = "sequence" if isinstance(body, ir.Sequence) else "sample"
        if any(t.missing for t in body.terms):
            raise EqlError("missing events ![...] are not supported in the endgame dialect")
        terms = []
        for t in expand_runs(body.terms):
            terms.append(f"{{'cond': {cg.predicate(t.query.condition)}, 'type': {cg.term_type(t.query)!r}, "
                         f"'key': {cg.key(body.keys(t))}}}")
        if isinstance(body, ir.Sequence):
            if body.maxspan is not None:
                spec["maxspan"] = str((body.maxspan.millis // 1000) * unit)
            if body.until is not None:
                u = body.until
                spec["until"] = (f"{{'cond': {cg.predicate(u.query.condition)}, 'type': {cg.term_type(u.query)!r}, "
                                 f"'key': {cg.key(body.keys(u))}}}")
    pipes = [cg.pipe(p) for p in query.pipes]
    lines = ["SPEC = {", f"    'kind': {kind!r},", "    'terms': [" + ", ".join(terms) + "],",
             f"    'type_of': {type_of},", "    'time_of': _time_of,", "    'pipes': [" + ", ".join(pipes) + "],",
             f"    'dialect': {options.dialect!r},"]
    for k, v in spec.items():
        lines.append(f"    {k!r}: {v},")
    lines.append("}")
    cg.m.emit("\n".join(lines))
    return Generated(cg.m.source(), kind)
