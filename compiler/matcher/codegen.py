"""IR -> Python source with Elasticsearch EQL semantics.

The generated module defines one getter per distinct (field, type) with a fast path for nested
dicts, one predicate function per query (``_c0(e) -> bool``), key extractors for sequences and
samples, and a ``SPEC`` dict that the runtime's engines run. It is compiled with ``compile()``
in-process, and written out (with the runtime) as the standalone Python target.

Each condition is translated the way Elasticsearch's QueryTranslator does (see optimize.py for the
rewrites that run first):

* a comparison, ``in``, wildcard, regex, ``startsWith``/``endsWith``/``stringContains``/``cidrMatch``
  whose left side is a *field* is a native Lucene query: true if ANY value matches, two-valued;
* ``and``/``or`` combine per document; ``not`` over a native query is ``must_not`` (true when the
  field is missing); ``not`` over a script is a script;
* anything else is a Painless script run once per combination of the values of each field
  occurrence (a missing field gives one null); null propagates and the final null is false.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Optional

from .. import ir
from ..errors import EqlError
from ..native_wildcard import query_parts
from . import esmapping as em
from . import optimize as opt
from . import runtime as rt

_OPS = {ir.CompareOp.EQ: "==", ir.CompareOp.LT: "<", ir.CompareOp.LE: "<=", ir.CompareOp.GT: ">", ir.CompareOp.GE: ">="}
_SCRIPT_CMP = {"==": "_s_eq", "<": "_s_lt", "<=": "_s_le", ">": "_s_gt", ">=": "_s_ge"}
_ARITH = {ir.ArithOp.ADD: "_s_add", ir.ArithOp.SUB: "_s_sub", ir.ArithOp.MUL: "_s_mul", ir.ArithOp.DIV: "_s_div", ir.ArithOp.MOD: "_s_mod"}
_INT_RX = re.compile(r"^[+-]?\d+$")
_FLOAT_RX = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$")


@dataclass(frozen=True)
class FieldInfo:
    path: tuple
    family: str
    optional: bool = False
    null: bool = False  # an optional field unmapped everywhere: the literal null
    ignore_above: Optional[int] = None
    null_value: Any = None
    date_spec: tuple = ()
    constant: Any = None
    name: str = ""


@dataclass
class Options:
    dialect: str = "elasticsearch"
    mapping: Optional[em.IndexMapping] = None
    event_category_field: str = "event.category"
    timestamp_fields: tuple = ("@timestamp",)
    tiebreaker_field: Optional[str] = None
    # single-event queries inside a MatcherSet: the set dispatches on the category, so the
    # condition omits it (SPEC["category"] says which one)
    omit_category: bool = False


class Translation:
    """What a condition node translates to: native code, or a script (the IR node)."""

    __slots__ = ("kind", "code", "node")

    def __init__(self, kind: str, code: str = "", node: Any = None) -> None:
        self.kind = kind  # "native" | "script" | "const"
        self.code = code
        self.node = node


class ModuleBuilder:
    """Accumulates the generated module: constants, getters, functions."""

    def __init__(self) -> None:
        self.lines: list[str] = []
        self.consts: dict[str, str] = {}
        self.const_names: dict[str, str] = {}
        self.getters: dict[tuple, str] = {}
        self.counter = 0
        self.needs_re2_only: list[str] = []  # Java-syntax patterns (no linear-time fallback)

    def name(self, prefix: str) -> str:
        self.counter += 1
        return f"{prefix}{self.counter}"

    def const(self, code: str) -> str:
        """A module-level constant holding the value of ``code`` (deduplicated)."""
        existing = self.const_names.get(code)
        if existing:
            return existing
        n = self.name("_K")
        self.const_names[code] = n
        self.lines.append(f"{n} = {code}")
        return n

    def emit(self, text: str) -> None:
        self.lines.append(text)

    def source(self) -> str:
        return "\n".join(self.lines) + "\n"


class ESCodegen:
    """Generates the module for one query under Elasticsearch semantics."""

    def __init__(self, options: Options, builder: Optional[ModuleBuilder] = None) -> None:
        self.o = options
        self.m = builder or ModuleBuilder()
        self.mapping = options.mapping

    # ------------------------------------------------------------------------------------------
    # fields
    # ------------------------------------------------------------------------------------------
    def field_info(self, f: ir.Field) -> FieldInfo:
        memo = self.__dict__.setdefault("_fi_memo", {})
        key = (f.path, f.optional)
        hit = memo.get(key)
        if hit is None:
            hit = memo[key] = self._field_info(f)
        return hit

    def _field_info(self, f: ir.Field) -> FieldInfo:
        # a backticked segment holding dots names the same field as its dot-separated parts
        # (Elasticsearch maps dotted names to object paths; eqlc.events.values reads them so too)
        path = tuple(p for s in f.path for p in (s.split(".") if isinstance(s, str) else (s,)))
        name = f.name
        if any(isinstance(p, int) for p in path):
            raise EqlError("Array indexes are not supported", f.span.line, f.span.column)
        if self.mapping is not None:
            ft = self.mapping.field_type(tuple(str(p) for p in path))
            if ft is None:
                if not self.mapping.dynamic:
                    if f.optional:
                        return FieldInfo(path, em.DYNAMIC, True, True, name=name)
                    raise EqlError(f"Unknown column [{name}]", f.span.line, f.span.column)
            elif ft.family == em.OBJECT:
                if f.optional:
                    return FieldInfo(path, em.DYNAMIC, True, True, name=name)
                raise EqlError(f"Cannot use field [{name}] of type [object]: it is an object, not a value", f.span.line, f.span.column)
            elif ft.family == em.TEXT:
                raise EqlError(
                    f"No keyword/multi-field defined exact matches for [{name}]; define one or use MATCH/QUERY instead",
                    f.span.line, f.span.column,
                )
            else:
                spec = em.date_format_spec(ft.date_format) if ft.family == em.DATE else ()
                return FieldInfo(ft.path, ft.family, f.optional, False, ft.ignore_above, ft.null_value, spec, ft.constant, name)
        if name in self.o.timestamp_fields[:1]:
            return FieldInfo(path, em.DATE, f.optional, False, date_spec=em.date_format_spec(em.DEFAULT_DATE_FORMAT), name=name)
        return FieldInfo(path, em.DYNAMIC, f.optional, name=name)

    def getter(self, fi: FieldInfo, script: bool = False) -> str:
        """Name of a generated function ``e -> tuple`` of the field's (normalised) values."""
        fam = fi.family
        if script and fam in (em.IP, em.VERSION):
            key = (fi.path, fam, "script", fi.ignore_above, fi.null_value, fi.constant)
        else:
            key = (fi.path, fam, fi.date_spec, fi.ignore_above, fi.null_value, fi.constant)
        existing = self.m.getters.get(key)
        if existing:
            return existing
        name = self.m.name("_g")
        self.m.getters[key] = name
        path_c = self.m.const(repr(tuple(fi.path)))
        if fi.constant is not None:
            val = self.m.const(repr((rt._kw_text(fi.constant),)))
            self.m.emit(f"def {name}(e):\n    return {val}\n")
            return name
        if fi.null_value is not None:
            raw = f"_values_null(e, {path_c}, {fi.null_value!r})"
        else:
            raw = f"_values(e, {path_c})"
        norm = self._normaliser(fi, script)
        slow = norm.format(raw) if norm else raw
        if fi.null_value is None and fi.family in (em.DYNAMIC, em.KEYWORD) and (fi.family == em.DYNAMIC or fi.ignore_above is None):
            # the common case: a runtime-built closure (no code to compile per field); a keyword
            # field's slow path normalises as Elasticsearch indexes a keyword (a JSON number or
            # bool becomes its text: {"extension": 1000} is the keyword "1000")
            norm_arg = ", _n_kw" if fi.family == em.KEYWORD else ""
            self.m.emit(f"{name} = _getter({path_c}, {fi.family!r}{norm_arg})")
            return name
        fast_scalar = self._fast_scalar(fi, script)
        lines = [f"def {name}(e):"]
        path = [str(p) for p in fi.path]
        if fi.null_value is not None or len(path) > 6:
            lines.append(f"    return {slow}")
            self.m.emit("\n".join(lines) + "\n")
            return name
        # fast path: nested dicts, no dotted keys on the way, a scalar at the end
        var = "e"
        for i in range(len(path) - 1):
            dotted = [".".join(path[i:j]) for j in range(len(path), i + 1, -1)]
            cond = " or ".join(f"{d!r} in {var}" for d in dotted)
            lines.append(f"    if {cond}:\n        return {slow}")
            nxt = f"x{i}"
            lines.append(f"    {nxt} = {var}.get({path[i]!r})")
            lines.append(f"    if {nxt}.__class__ is not dict:\n        return () if {nxt} is None else {slow}")
            var = nxt
        lines.append(f"    v = {var}.get({path[-1]!r})")
        lines.append("    c = v.__class__")
        lines.append(fast_scalar)
        lines.append("    if v is None:\n        return ()")
        lines.append(f"    return {slow}")
        self.m.emit("\n".join(lines) + "\n")
        return name

    def _normaliser(self, fi: FieldInfo, script: bool) -> str:
        fam = fi.family
        if fam == em.DYNAMIC:
            return ""
        if fam == em.KEYWORD:
            return f"_n_kw({{}}, {fi.ignore_above!r})"
        if fam == em.LONG:
            return "_n_long({})"
        if fam == em.DOUBLE:
            return "_n_double({})"
        if fam == em.BOOLEAN:
            return "_n_bool({})"
        if fam == em.DATE:
            return f"_n_date({{}}, {self.m.const(repr(fi.date_spec))})"
        if fam == em.IP:
            return "tuple(str(x) for x in _n_ip({}))" if script else "_n_ip({})"
        if fam == em.VERSION:
            return "tuple(x.text for x in _n_ver({}))" if script else "_n_ver({})"
        return ""

    def _fast_scalar(self, fi: FieldInfo, script: bool) -> str:
        fam = fi.family
        if fam == em.DYNAMIC:
            return ("    if c is str or c is int or c is float or c is bool:\n        return (v,)\n"
                    "    if c is list:\n        for x in v:\n            if x.__class__ not in _SCALAR_SET:\n"
                    "                break\n        else:\n            return v")
        if fam == em.KEYWORD:
            if fi.ignore_above is None:
                return ("    if c is str:\n        return (v,)\n"
                        "    if c is list:\n        for x in v:\n            if x.__class__ is not str:\n"
                        "                break\n        else:\n            return v")
            return f"    if c is str and len(v) <= {fi.ignore_above}:\n        return (v,)"
        if fam == em.LONG:
            return "    if c is int:\n        return (v,)"
        if fam == em.DOUBLE:
            return "    if c is float:\n        return (v,)"
        if fam == em.BOOLEAN:
            return "    if c is bool:\n        return (v,)"
        if fam == em.DATE:
            spec = self.m.const(repr(fi.date_spec))
            if any(p[0] == "epoch_second" for p in fi.date_spec):
                return "    pass"
            return (f"    if c is int:\n        return (v,)\n"
                    f"    if c is str:\n        x = _date_cached(v, {spec})\n        return () if x is None else (x,)")
        if fam == em.IP and not script:
            return "    if c is str:\n        x = _ip_cached(v)\n        return () if x is None else (x,)"
        return "    pass"

    # ------------------------------------------------------------------------------------------
    # conditions
    # ------------------------------------------------------------------------------------------
    def prepare(self, cond: Any) -> Any:
        """Resolve unmapped optional fields to null, then the optimizer's rewrites."""
        cond = self._resolve_nulls(cond)
        self._check_field_comparisons(cond)
        cond = opt.substitute(cond)
        return opt.optimize(cond, opt.Folder(self.fold_eval), self._integer_field)

    def _resolve_nulls(self, node: Any) -> Any:
        if isinstance(node, ir.Field):
            if self.field_info(node).null:
                return opt.NULL
            return node
        return opt.map_children(node, self._resolve_nulls)

    def _check_field_comparisons(self, node: Any) -> None:
        """Elasticsearch refuses a comparison with fields on both sides; optional fields unmapped
        everywhere are null by now (the front end cannot know which they are)."""
        from ..checks import fields_in

        if isinstance(node, ir.Compare) and any(True for _ in fields_in(node.left)) and any(True for _ in fields_in(node.right)):
            raise EqlError("Comparisons against fields are not (currently) supported", node.span.line, node.span.column)
        opt.map_children(node, lambda c: self._check_field_comparisons(c) or c)

    def _integer_field(self, f: ir.Field) -> bool:
        return self.field_info(f).family == em.LONG

    def fold_eval(self, node: Any) -> Any:
        code = self.sexpr(node, {})
        return eval(code, self.namespace())  # noqa: S307 - our own generated code, literals only

    def namespace(self) -> dict:
        """The runtime plus everything generated so far (executed incrementally)."""
        ns = getattr(self, "_ns", None)
        if ns is None:
            ns = self._ns = dict(vars(rt))
            self._ns_done = 0
        new = self.m.lines[self._ns_done :]
        if new:
            exec("\n".join(new) + "\n", ns)  # noqa: S102 - our own generated definitions
            self._ns_done = len(self.m.lines)
        return ns

    def condition_function(self, cond: Any) -> tuple[str, bool]:
        """Emit ``def _cN(e)`` for a prepared condition; returns (name, pruned).

        A conjunction becomes statements, most selective test first, each returning False as
        soon as it fails; an exact string test on a field reads the value inline and compares the
        common case (one string) directly, falling back to the general code otherwise."""
        t = self.translate(cond)
        name = self.m.name("_c")
        if t.kind == "const":
            value = t.code == "True"
            self.m.emit(f"def {name}(e):\n    return {value}\n")
            return name, not value
        body = self.condition_lines(cond, "return False")
        self.m.emit("\n".join([f"def {name}(e):"] + ["    " + x for x in body] + ["    return True"]) + "\n")
        return name, False

    def filter_function(self, cond: Any) -> str:
        """``def _fN(events)``: a generator of the events satisfying ``cond``, with the condition
        inlined in the loop (no call per event)."""
        name = self.m.name("_f")
        body = self.condition_lines(cond, "continue")
        lines = [f"def {name}(events):", "    for e in events:"] + ["        " + x for x in body] + ["        yield e"]
        self.m.emit("\n".join(lines) + "\n")
        return name

    def condition_lines(self, cond: Any, fail: str, cache: Optional[dict] = None) -> list:
        """Statements that execute ``fail`` as soon as ``cond`` is known false (``cond`` is
        neither constant true nor false). ``cache``: field reads shared between blocks of one
        function (name -> local variable initialised to ``_U``)."""
        conjuncts = opt.split_and(cond) if isinstance(cond, ir.And) else [cond]
        conjuncts.sort(key=self._rank)
        lines: list = []
        for c in conjuncts:
            inline = self._inline_test(c, fail, cache)
            if inline is not None:
                lines.extend(inline)
                continue
            tr = self.translate(c)
            if tr.kind == "const":
                if tr.code == "False":
                    lines.append(fail)
                continue
            code = tr.code if tr.kind == "native" else self.script_predicate(tr.node)
            lines += [f"if not {code}:", f"    {fail}"]
        return lines

    def _read_lines(self, path: list, out: str) -> list:
        """Read a nested-dict value into ``out`` with subscripts in a (zero-cost) try block;
        ``_MISSING`` when a key is absent, a list or scalar is on the way, or a dotted key
        (``"a.b"``, which eqlc.events reads first) exists: the general getter decides then."""
        sub = "".join(f"[{p!r}]" for p in path)
        checks = []
        for i in range(len(path) - 1):
            base = "e" + "".join(f"[{p!r}]" for p in path[:i])
            checks += [f"{'.'.join(path[i:j])!r} in {base}" for j in range(len(path), i + 1, -1)]
        lines = ["try:", f"    {out} = e{sub}"]
        if checks:
            lines += [f"    if {' or '.join(checks)}:", f"        {out} = _MISSING"]
        lines += ["except Exception:", f"    {out} = _MISSING"]
        return lines

    def _inline_test(self, node: Any, fail: str = "return False", cache: Optional[dict] = None) -> Optional[list]:
        """Statements for an exact (or case-insensitive exact) string test of one field, with the
        field read inline; None when the test is not of that kind."""
        st = self._string_test(node)
        if st is None or st[1] != "exact":
            return None
        (getter, ci, family), _kind, values = st
        f = node.expr if not isinstance(node, ir.Compare) else node.left
        fi = self.field_info(f)
        path = [str(p) for p in fi.path]
        if len(path) > 4 or fi.ignore_above is not None or fi.null_value is not None:
            return None
        values = {rt._fold(v) if ci else v for v in values}
        const = self.m.const(repr(next(iter(values)))) if len(values) == 1 else self.m.const(f"frozenset({sorted(values)!r})")
        general = self.native(node)
        if cache is not None:
            var = cache.get(getter)
            if var is None:
                var = cache[getter] = f"r{len(cache)}"
            lines = [f"if {var} is _U:"] + ["    " + x for x in self._read_lines(path, var)] + [f"v = {var}"]
        else:
            lines = self._read_lines(path, "v")
        test = "v" if not ci else "(v.lower() if v.isascii() else v.translate(_ASCII_LOWER))"
        op = "!=" if len(values) == 1 else "not in"
        lines += ["if v.__class__ is str:", f"    if {test} {op} {const}:", f"        {fail}"]
        if not ci and len(values) == 1:
            lines += [f"elif v.__class__ is list and {const} in v:", "    pass"]
        lines += [f"elif not {general}:", f"    {fail}"]
        return lines

    def translate(self, node: Any) -> Translation:
        if isinstance(node, ir.Boolean):
            return Translation("const", "True" if node.value else "False")
        if isinstance(node, ir.Null):
            return Translation("const", "False")
        if isinstance(node, (ir.And, ir.Or)):
            terms = opt.split_and(node) if isinstance(node, ir.And) else opt.split_or(node)
            parts = []
            if isinstance(node, ir.And):
                # Evaluation order only: conditions are pure (scripts catch their errors), so the
                # most selective, cheapest tests go first.
                terms.sort(key=self._rank)
            else:
                tests: dict = {}
                rest = []
                for t in terms:
                    st = self._string_test(t)
                    if st is None:
                        rest.append(t)
                    else:
                        tests.setdefault(st[0], []).append(st)
                for group in tests.values():
                    parts.append(self._string_tests_code(group))
                terms = rest
            for t in terms:
                tr = self.translate(t)
                if tr.kind == "const":
                    parts.append(tr.code)
                elif tr.kind == "native":
                    parts.append(tr.code)
                else:
                    parts.append(self.script_predicate(tr.node))
            joiner = " and " if isinstance(node, ir.And) else " or "
            return Translation("native", "(" + joiner.join(parts) + ")")
        if isinstance(node, ir.Not):
            inner = self.translate(node.expr)
            if inner.kind == "script":
                return Translation("script", node=node)
            if inner.kind == "const":
                return Translation("const", "False" if inner.code == "True" else "True")
            return Translation("native", f"(not {inner.code})")
        native = self.native(node)
        if native is not None:
            return Translation("native", native)
        return Translation("script", node=node)

    # -- native queries ------------------------------------------------------------------------
    LOW_CARDINALITY = frozenset({
        "event.category", "event.type", "event.action", "event.outcome", "event.kind", "event.module",
        "event.dataset", "event.provider", "event.code", "host.os.type", "host.os.name", "host.os.family",
        "host.os.platform", "agent.type", "data_stream.dataset", "data_stream.namespace", "data_stream.type",
        "network.direction", "network.transport", "network.protocol", "winlog.channel", "user.domain",
    })

    def _rank(self, node: Any) -> int:
        """Evaluation order of a conjunct: exact tests on high-cardinality fields first."""
        f = None
        if isinstance(node, ir.Compare) and node.op is ir.CompareOp.EQ and isinstance(node.left, ir.Field):
            f = node.left
        elif isinstance(node, (ir.InSet, opt.CIEq)) and isinstance(node.expr, ir.Field):
            f = node.expr
        if f is not None:
            return 1 if f.name in self.LOW_CARDINALITY else 0
        if self._string_test(node) is not None:
            return 2
        if isinstance(node, (ir.IsNull, ir.Compare, ir.RegexMatch, ir.FunctionCall)):
            return 2
        if isinstance(node, ir.Not) and isinstance(node.expr, ir.IsNull):
            return 2
        return 3

    def _string_test(self, node: Any) -> Optional[tuple]:
        memo = self.__dict__.setdefault("_st_memo", {})
        hit = memo.get(id(node))
        if hit is not None and hit[0] is node:
            return hit[1]
        result = self._string_test_uncached(node)
        memo[id(node)] = (node, result)
        return result

    def _string_test_uncached(self, node: Any) -> Optional[tuple]:
        """A native test of a string field against literal patterns, as (group key, kind, value):
        kinds "exact" (a set), "wild" (segments). Tests of one field and case mode merge into one
        loop over the field's values (an OR of them is order-independent)."""
        ci = False
        if isinstance(node, ir.WildcardMatch) and isinstance(node.expr, ir.Field) and len(node.patterns) == 1:
            f, ci, item = node.expr, node.case_insensitive, ("wild", parts_segments(node.patterns[0].parts))
        elif isinstance(node, opt.CIEq) and isinstance(node.expr, ir.Field):
            f, ci, item = node.expr, True, ("exact", {node.value})
        elif (isinstance(node, ir.Compare) and node.op is ir.CompareOp.EQ and isinstance(node.left, ir.Field)
              and isinstance(node.right, ir.String)):
            f, item = node.left, ("exact", {node.right.value})
        elif (isinstance(node, ir.InSet) and not node.case_insensitive and isinstance(node.expr, ir.Field)
              and node.values and all(isinstance(v, ir.String) for v in node.values)):
            f, item = node.expr, ("exact", {v.value for v in node.values})
        elif (isinstance(node, ir.FunctionCall) and node.name in ("startsWith", "endsWith", "stringContains")
              and len(node.args) == 2 and isinstance(node.args[0], ir.Field) and isinstance(node.args[1], ir.String)):
            f, ci = node.args[0], node.case_insensitive
            item = ("wild", native_string_segments(node.name, node.args[1].value))
        else:
            return None
        fi = self.field_info(f)
        if fi.null or fi.family not in (em.DYNAMIC, em.KEYWORD):
            return None
        if item[0] == "exact" and not ci and fi.family == em.DYNAMIC:
            if any(term_forms(v)[1] is not None or term_forms(v)[2] is not None for v in item[1]):
                return None  # "5" also matches the number 5: leave it to the term logic
        return ((self.getter(fi), ci, fi.family), item[0], item[1])

    def _string_tests_code(self, group: list) -> str:
        (getter, ci, family), _, _ = group[0]
        if not ci and all(kind == "exact" for _k, kind, _v in group):
            values = set().union(*(v for _k, _kind, v in group))
            if len(values) == 1:
                return f"({self.m.const(repr(next(iter(values))))} in {self.vals_expr(getter)})"
            return f"(not {self.m.const(f'frozenset({sorted(values)!r})')}.isdisjoint({self.vals_expr(getter)}))"
        exact: set = set()
        prefixes, suffixes, contains, wilds = [], [], [], []
        for _key, kind, value in group:
            if kind == "exact":
                exact |= {rt._fold(v) if ci else v for v in value}
                continue
            segs = [(rt._fold(x) if isinstance(x, str) else [None if c is None else rt._fold(c) for c in x]) if ci else x
                    for x in value]
            plain = all(isinstance(x, str) for x in segs)
            if plain and len(segs) == 1:
                exact.add(segs[0])
            elif plain and len(segs) == 2 and segs[1] == "":
                prefixes.append(segs[0])
            elif plain and len(segs) == 2 and segs[0] == "":
                suffixes.append(segs[1])
            elif plain and len(segs) == 3 and segs[0] == "" and segs[2] == "":
                contains.append(segs[1])
            else:
                wilds.append([x if isinstance(x, str) else tuple(x) for x in segs])
        name = self.m.name("_w")
        lines = [f"def {name}(vals):", "    for x in vals:"]
        ind = "        "
        if family != em.KEYWORD:
            lines.append("        if x.__class__ is not str:\n            continue")
        if ci:
            lines.append(f"{ind}x = x.lower() if x.isascii() else x.translate(_ASCII_LOWER)")
        if exact:
            lines.append(f"{ind}if x in {self.m.const(f'frozenset({sorted(exact)!r})')}:\n{ind}    return True")
        if prefixes:
            lines.append(f"{ind}if x.startswith({self.m.const(repr(tuple(sorted(set(prefixes)))))}):\n{ind}    return True")
        if suffixes:
            lines.append(f"{ind}if x.endswith({self.m.const(repr(tuple(sorted(set(suffixes)))))}):\n{ind}    return True")
        if len(contains) == 1:
            lines.append(f"{ind}if {self.m.const(repr(contains[0]))} in x:\n{ind}    return True")
        elif contains:
            lines.append(f"{ind}for c in {self.m.const(repr(tuple(sorted(set(contains)))))}:\n{ind}    if c in x:\n{ind}        return True")
        for w in wilds:
            lines.append(f"{ind}if {self.m.const(f'_Wild({w!r})')}.match(x):\n{ind}    return True")
        lines.append("    return False")
        body = "\n".join(lines[1:])
        existing = self.m.getters.get(("wtest", body))
        if existing is not None:
            return f"{existing}({self.vals_expr(getter)})"
        self.m.getters[("wtest", body)] = name
        self.m.emit("\n".join(lines) + "\n")
        return f"{name}({self.vals_expr(getter)})"

    def native(self, node: Any) -> Optional[str]:
        st = self._string_test(node)
        if st is not None:
            return self._string_tests_code([st])
        if isinstance(node, ir.Field):
            # a bare field as a condition: term query for true
            return self.native_compare(node, "==", ir.Boolean(True))
        if isinstance(node, ir.Compare) and isinstance(node.left, ir.Field) and opt.is_literal(node.right):
            return self.native_compare(node.left, _OPS[node.op], node.right)
        if isinstance(node, ir.IsNull) and isinstance(node.expr, ir.Field):
            fi = self.field_info(node.expr)
            return f"(not {self.vals_expr(self.getter(fi))})"
        if isinstance(node, opt.CIEq) and isinstance(node.expr, ir.Field):
            return self.native_ci_terms(node.expr, [node.value])
        if isinstance(node, ir.InSet) and isinstance(node.expr, ir.Field) and not node.case_insensitive:
            return self.native_terms(node.expr, [v for v in node.values if not isinstance(v, ir.Null)])
        if isinstance(node, ir.WildcardMatch) and isinstance(node.expr, ir.Field):
            (p,) = node.patterns
            return self.native_wildcard(node.expr, parts_segments(p.parts), node.case_insensitive)
        if isinstance(node, ir.RegexMatch) and isinstance(node.expr, ir.Field):
            return self.native_regex(node)
        if isinstance(node, ir.FunctionCall) and node.args and isinstance(node.args[0], ir.Field):
            return self.native_function(node)
        return None

    def _vals(self, f: ir.Field) -> tuple[FieldInfo, str]:
        fi = self.field_info(f)
        return fi, self.vals_expr(self.getter(fi))

    getter_cache: Optional[dict] = None  # set while generating one function for many rules

    def vals_expr(self, getter: str) -> str:
        """``_gN(e)``, or, inside a MatcherSet function, a read shared by all its rules."""
        cache = self.getter_cache
        if cache is None:
            return f"{getter}(e)"
        var = cache.get(getter)
        if var is None:
            var = cache[getter] = f"g{len(cache)}"
        return f"({var} if {var} is not _U else ({var} := {getter}(e)))"

    def any_helper(self, test: str) -> str:
        """A function ``vals -> bool``: does any value ``x`` satisfy ``test``?"""
        key = ("any", test)
        name = self.m.getters.get(key)
        if name is None:
            name = self.m.getters[key] = self.m.name("_a")
            self.m.emit(f"def {name}(vals):\n    for x in vals:\n        if {test}:\n            return True\n    return False\n")
        return name

    def native_compare(self, f: ir.Field, op: str, lit: Any) -> str:
        fi, vals = self._vals(f)
        v = opt.lit_value(lit)
        fam = fi.family
        if v is None:
            return "False"
        if fam == em.DYNAMIC:
            s, n, b = term_forms(v)
            if op == "==":
                if n is None and b is None:
                    return f"({self.m.const(repr(s))} in {vals})"
                return f"_dyn_term({vals}, {s!r}, {n!r}, {b!r})"
            return f"_dyn_range({vals}, {op!r}, {s!r}, {n!r})"
        if fam == em.KEYWORD:
            s = term_forms(v)[0]
            c = self.m.const(repr(s))
            if op == "==":
                return f"({c} in {vals})"
            return f"_cmp_vals({vals}, {op!r}, {c})"
        if fam in (em.LONG, em.DOUBLE):
            n = term_forms(v)[1]
            if n is None or isinstance(v, bool):
                return "False"
            if op == "==":
                if fam == em.LONG and n != int(n):
                    return "False"  # "Value [..] has a decimal part": match_none
                num = int(n) if fam == em.LONG else float(n)
                return f"({num!r} in {vals})"
            return f"_cmp_vals({vals}, {op!r}, {n!r})"
        if fam == em.BOOLEAN:
            b = v if isinstance(v, bool) else rt._to_bool(v) if isinstance(v, str) else None
            if b is None:
                return "False"
            if op == "==":
                return f"({b!r} in {vals})"
            return f"_cmp_vals({vals}, {op!r}, {b!r})"
        if fam == em.DATE:
            lohi = rt._date_literal(v, fi.date_spec) if not isinstance(v, bool) else None
            if lohi is None:
                return "False"
            return f"_date_cmp({vals}, {op!r}, {lohi!r})"
        if fam == em.IP:
            if not isinstance(v, str):
                return "False"
            if op == "==":
                try:
                    nets = (rt._ip_net(v),)
                except ValueError:
                    return "False"
                return f"_ip_terms({vals}, {nets!r})"
            ip = rt._to_ip(v)
            if ip is None:
                return "False"
            return f"_cmp_vals({vals}, {op!r}, {int(ip)!r})"
        if fam == em.VERSION:
            ver = self.m.const(f"_to_version({term_forms(v)[0]!r})")
            if op == "==":
                return f"({ver} in {vals})"
            return f"_cmp_vals({vals}, {op!r}, {ver})"
        return "False"

    def native_terms(self, f: ir.Field, values: list) -> str:
        fi, vals = self._vals(f)
        fam = fi.family
        raw = [opt.lit_value(v) for v in values]
        if not raw:
            return "False"
        if fam == em.DYNAMIC:
            strs, nums, bools = set(), set(), set()
            for v in raw:
                s, n, b = term_forms(v)
                strs.add(s)
                if n is not None:
                    nums.add(n)
                if b is not None:
                    bools.add(b)
            sc = self.m.const(f"frozenset({sorted(strs)!r})")
            if not nums and not bools:
                return f"(not {sc}.isdisjoint({vals}))"
            nc = self.m.const(f"frozenset({sorted(nums)!r})")
            bc = self.m.const(f"frozenset({sorted(bools)!r})")
            return f"_dyn_terms({vals}, {sc}, {nc}, {bc})"
        parts = [self.native_compare(f, "==", opt.literal(v)) for v in raw]
        if fam in (em.KEYWORD, em.LONG, em.DOUBLE, em.BOOLEAN, em.VERSION):
            items = []
            for v in raw:
                if fam == em.KEYWORD:
                    items.append(repr(term_forms(v)[0]))
                elif fam in (em.LONG, em.DOUBLE):
                    n = term_forms(v)[1]
                    if n is None or isinstance(v, bool) or (fam == em.LONG and n != int(n)):
                        continue
                    items.append(repr(int(n) if fam == em.LONG else float(n)))
                elif fam == em.BOOLEAN:
                    b = v if isinstance(v, bool) else rt._to_bool(v) if isinstance(v, str) else None
                    if b is not None:
                        items.append(repr(b))
                else:
                    items.append(f"_to_version({term_forms(v)[0]!r})")
            if not items:
                return "False"
            sc = self.m.const("frozenset((" + ", ".join(items) + ",))")
            return f"(not {sc}.isdisjoint({vals}))"
        return "(" + " or ".join(parts) + ")"

    def native_ci_terms(self, f: ir.Field, values: list[str]) -> str:
        fi, vals = self._vals(f)
        folded = sorted({rt._fold(v) for v in values})
        c = self.m.const(f"frozenset({folded!r})")
        if fi.family in (em.DYNAMIC, em.KEYWORD):
            return f"{self.any_helper(f'x.__class__ is str and _fold(x) in {c}')}({vals})"
        return f"{self.any_helper(f'_fold(_kw_text(x)) in {c}')}({vals})"

    def native_wildcard(self, f: ir.Field, segs: list, ci: bool) -> str:
        """A Lucene wildcard query (``segs``: the ``*``-separated segments, ``None`` for ``?``)."""
        fi, vals = self._vals(f)
        if ci:
            segs = [s if isinstance(s, str) else [None if c is None else rt._fold(c) for c in s] for s in segs]
            segs = [rt._fold(s) if isinstance(s, str) else s for s in segs]
        val = "_fold(x)" if ci else "x"
        test = self.wildcard_test(segs, val)
        guard = "" if fi.family == em.KEYWORD else "x.__class__ is str and "
        return f"{self.any_helper(guard + test)}({vals})"

    def wildcard_test(self, segs: list, val: str) -> str:
        plain = all(isinstance(s, str) for s in segs)
        if plain and len(segs) == 1:
            return f"{val} == {self.m.const(repr(segs[0]))}"
        if plain and len(segs) == 2 and segs[1] == "":
            return f"{val}.startswith({self.m.const(repr(segs[0]))})"
        if plain and len(segs) == 2 and segs[0] == "":
            return f"{val}.endswith({self.m.const(repr(segs[1]))})"
        if plain and len(segs) == 3 and segs[0] == "" and segs[2] == "":
            return f"{self.m.const(repr(segs[1]))} in {val}"
        w = self.m.const(f"_Wild({[s if isinstance(s, str) else tuple(s) for s in segs]!r})")
        return f"{w}.match({val})"

    def native_regex(self, node: ir.RegexMatch) -> str:
        fi, vals = self._vals(node.expr)
        rx = self.lucene_regex(node.patterns[0], node.case_insensitive, node)
        guard = "" if fi.family == em.KEYWORD else "x.__class__ is str and "
        return f"{self.any_helper(f'{guard}{rx}.match(x)')}({vals})"

    def lucene_regex(self, pattern: str, ci: bool, node: Any) -> str:
        # imported here: most rules have no regex, and the module costs start-up time
        from ..lucene_regex import RegexError, Untranslatable, to_nfa, to_pattern

        try:
            rx = to_pattern([pattern], ci, "re2")
            nfa = to_nfa([pattern], ci)
        except (RegexError, Untranslatable) as err:
            span = getattr(node, "span", ir.NO_SPAN)
            raise EqlError(f"regular expression {pattern!r} cannot be evaluated: {err}", span.line, span.column) from None
        return self.m.const(f"_Regex({rx!r}, {nfa!r})")

    def native_function(self, node: ir.FunctionCall) -> Optional[str]:
        name = node.name
        f = node.args[0]
        rest = node.args[1:]
        if name == "cidrMatch" and rest and all(isinstance(a, ir.String) for a in rest):
            fi, vals = self._vals(f)
            nets = self.m.const(f"_Nets({tuple(rt._ip_net(a.value) for a in rest)!r})")
            if fi.family == em.IP:
                return f"_ip_terms({vals}, {nets})"
            return f"_cidr_dyn({vals}, {nets})"
        if name in ("startsWith", "endsWith", "stringContains") and len(rest) == 1 and isinstance(rest[0], ir.String):
            return self.native_wildcard(f, native_string_segments(name, rest[0].value), node.case_insensitive)
        return None

    # -- scripts -------------------------------------------------------------------------------
    def script_predicate(self, node: Any) -> str:
        """Emit a MultiValueAwareScriptQuery for ``node``; returns a call expression."""
        occurrences: list[tuple[str, FieldInfo]] = []
        env: dict = {"occ": occurrences}
        body = self.sexpr(node, env)
        name = self.m.name("_s")
        lines = [f"def {name}(e):"]
        indent = "    "
        for i, (var, fi) in enumerate(occurrences):
            getter = self.getter(fi, script=True)
            lines.append(f"{indent}for {var} in ({getter}(e) or _NONE1):")
            indent += "    "
        lines.append(f"{indent}try:")
        lines.append(f"{indent}    if ({body}) is True:")
        lines.append(f"{indent}        return True")
        lines.append(f"{indent}except Exception:")
        lines.append(f"{indent}    pass")
        lines.append("    return False")
        self.m.emit("\n".join(lines) + "\n")
        return f"{name}(e)"

    def sexpr(self, node: Any, env: dict) -> str:
        """Python expression for a script value (null-propagating), one variable per field use."""
        if isinstance(node, ir.Field):
            fi = self.field_info(node)
            if fi.null:
                return "None"
            occ = env.get("occ")
            if occ is None:
                raise ValueError("field in a constant expression")
            var = f"x{len(occ)}"
            occ.append((var, fi))
            return var
        if isinstance(node, ir.Null):
            return "None"
        if isinstance(node, (ir.String, ir.Boolean)):
            return repr(node.value)
        if isinstance(node, ir.Number):
            return repr(node.value)
        if isinstance(node, ir.Compare):
            return f"{_SCRIPT_CMP[_OPS[node.op]]}({self.sexpr(node.left, env)}, {self.sexpr(node.right, env)})"
        if isinstance(node, opt.CIEq):
            return f"_s_ieq({self.sexpr(node.expr, env)}, {node.value!r})"
        if isinstance(node, ir.IsNull):
            if opt.is_literal(node.expr):
                return repr(isinstance(node.expr, ir.Null))
            return f"({self.sexpr(node.expr, env)} is None)"
        if isinstance(node, ir.Not):
            return f"_s_not({self.sexpr(node.expr, env)})"
        if isinstance(node, (ir.And, ir.Or)):
            fn = "_s_and" if isinstance(node, ir.And) else "_s_or"
            code = self.sexpr(node.terms[0], env)
            for t in node.terms[1:]:
                code = f"{fn}({code}, {self.sexpr(t, env)})"
            return code
        if isinstance(node, ir.Arithmetic):
            return f"{_ARITH[node.op]}({self.sexpr(node.left, env)}, {self.sexpr(node.right, env)})"
        if isinstance(node, ir.Negate):
            return f"_s_neg({self.sexpr(node.expr, env)})"
        if isinstance(node, ir.InSet):
            items = [opt.lit_value(v) for v in node.values]
            has_null = any(v is None for v in items)
            items = [v for v in items if v is not None]
            if node.case_insensitive:
                return f"_s_in_ci({self.sexpr(node.expr, env)}, {tuple(items)!r})"
            return f"_s_in({self.sexpr(node.expr, env)}, {tuple(items)!r}, {has_null!r})"
        if isinstance(node, ir.WildcardMatch):
            alts = [self.script_like(node.expr, p.text, node.case_insensitive, env) for p in node.patterns]
            code = alts[0]
            for a in alts[1:]:
                code = f"_s_or({code}, {a})"
            return code
        if isinstance(node, ir.RegexMatch):
            pattern = "|".join(node.patterns)
            rx = ("(?i)" if node.case_insensitive else "") + pattern
            self.m.needs_re2_only.append(pattern)
            c = self.m.const(f"_Regex({rx!r}, None)")
            return f"_s_match({self.sexpr(node.expr, env)}, {c})"
        if isinstance(node, ir.FunctionCall):
            return self.script_function(node, env)
        raise EqlError(f"cannot evaluate {type(node).__name__}")

    def script_like(self, expr: Any, pattern: str, ci: bool, env: dict) -> str:
        """``like`` in a script: Java regex ``^..$`` where ``*`` is ``.*`` and ``?`` is ``.``,
        ``.`` not matching line terminators, CASE_INSENSITIVE = ASCII folding."""
        val = self.sexpr(expr, env)
        if set(pattern) == {"*"} and pattern:
            return f"(None if {val} is None else True)"
        if "*" not in pattern and "?" not in pattern:
            return f"_s_ieq({val}, {pattern!r})" if ci else f"_s_eq({val}, {pattern!r})"
        text = rt._fold(pattern) if ci else pattern
        rx_parts, nfa_tokens = [], []
        for ch in text:
            if ch == "*":
                rx_parts.append("[^\\n\\r\\x{85}\\x{2028}\\x{2029}]*")
            elif ch == "?":
                rx_parts.append("[^\\n\\r\\x{85}\\x{2028}\\x{2029}]")
            else:
                rx_parts.append(re2_escape(ch))
            nfa_tokens.append(ch)
        from ..lucene_regex import wildcard_nfa

        nfa = wildcard_nfa(text, dotall=False)
        c = self.m.const(f"_Regex({''.join(rx_parts)!r}, {nfa!r})")
        folded = f"_fold_s({val})" if ci else val
        return f"_s_match({folded}, {c})"

    def script_function(self, node: ir.FunctionCall, env: dict) -> str:
        name = node.name
        args = [self.sexpr(a, env) for a in node.args]
        ci = node.case_insensitive
        if name in ("add", "subtract", "multiply", "divide", "modulo"):
            fn = {"add": "_s_add", "subtract": "_s_sub", "multiply": "_s_mul", "divide": "_s_div", "modulo": "_s_mod"}[name]
            return f"{fn}({args[0]}, {args[1]})"
        if name == "between":
            greedy = args[3] if len(args) > 3 else "False"
            return f"_fn_between({args[0]}, {args[1]}, {args[2]}, {greedy}, {ci!r})"
        if name == "cidrMatch":
            nets = []
            for a in node.args[1:]:
                if isinstance(a, ir.String):
                    nets.append(rt._ip_net(a.value))
                elif isinstance(a, ir.Null):
                    return "None"
                else:
                    raise EqlError("cidrMatch takes literal CIDR blocks after its first argument")
            return f"_fn_cidr({args[0]}, {self.m.const(f'_Nets({tuple(nets)!r})')})"
        if name == "concat":
            return f"_fn_concat({', '.join(args)})"
        if name == "endsWith":
            return f"_fn_ends_with({args[0]}, {args[1]}, {ci!r})"
        if name == "startsWith":
            return f"_fn_starts_with({args[0]}, {args[1]}, {ci!r})"
        if name == "stringContains":
            return f"_fn_string_contains({args[0]}, {args[1]}, {ci!r})"
        if name == "indexOf":
            start = args[2] if len(args) > 2 else "None"
            return f"_fn_index_of({args[0]}, {args[1]}, {start}, {ci!r})"
        if name == "length":
            return f"_fn_length({args[0]})"
        if name == "number":
            base = args[1] if len(args) > 1 else "None"
            return f"_fn_number({args[0]}, {base})"
        if name == "string":
            return f"_s_string({args[0]})"
        if name == "substring":
            end = args[2] if len(args) > 2 else "None"
            return f"_fn_substring({args[0]}, {args[1]}, {end})"
        raise EqlError(f"Unknown function [{name}] in the elasticsearch dialect", node.span.line, node.span.column)

    # ------------------------------------------------------------------------------------------
    # join keys, timestamps
    # ------------------------------------------------------------------------------------------
    def key_function(self, keys: tuple) -> tuple[str, list]:
        """``def _kN(e)`` -> list of key tuples (cartesian over multi-valued keys, each key's
        distinct values in doc-value order) or None when a mandatory key has no value."""
        name = self.m.name("_k")
        lines = [f"def {name}(e):"]
        parts = []
        styles = []
        for i, k in enumerate(keys):
            var = f"k{i}"
            if isinstance(k, ir.Null):  # an optional key field unmapped everywhere
                styles.append(None)
                lines.append(f"    {var} = _NONE1")
            elif isinstance(k, ir.Field):
                fi = self.field_info(k)
                styles.append("iso" if fi.family == em.DATE else None)
                if fi.null:
                    lines.append(f"    {var} = _NONE1")
                else:
                    lines.append(f"    {var} = {self.getter(fi)}(e)")
                    if k.optional:
                        lines.append(f"    {var} = _key_values({var}) if {var} else _NONE1")
                    else:
                        lines.append(f"    if not {var}:\n        return None")
                        lines.append(f"    {var} = _key_values({var})")
            else:
                styles.append(None)
                occ: list = []
                body = self.sexpr(k, {"occ": occ})
                sub = self.m.name("_kx")
                sl = [f"def {sub}(e):", "    out = set()"]
                indent = "    "
                for v, fi in occ:
                    sl.append(f"{indent}for {v} in ({self.getter(fi, script=True)}(e) or _NONE1):")
                    indent += "    "
                sl.append(f"{indent}try:")
                sl.append(f"{indent}    r = {body}")
                sl.append(f"{indent}except Exception:")
                sl.append(f"{indent}    r = None")
                sl.append(f"{indent}if r is not None:")
                sl.append(f"{indent}    out.add(_key_value(r))")
                sl.append("    return tuple(sorted(out, key=_key_sort))")
                self.m.emit("\n".join(sl) + "\n")
                lines.append(f"    {var} = {sub}(e)")
                lines.append(f"    if not {var}:\n        return None")
            parts.append(var)
        if not keys:
            lines.append("    return _EMPTY_KEY")
        elif len(keys) == 1:
            lines.append(f"    return [(x,) for x in {parts[0]}]")
        else:
            lines.append(f"    return list(_product({', '.join(parts)}))")
        self.m.emit("\n".join(lines) + "\n")
        return name, styles

    def first_value_function(self, field_names: tuple, date: bool) -> str:
        name = self.m.name("_t")
        getters = []
        for fname in field_names:
            f = ir.Field(tuple(fname.split(".")))
            try:
                fi = self.field_info(f)
            except EqlError:  # not in a complete mapping: read it as a date all the same
                fi = FieldInfo(f.path, em.DYNAMIC, name=fname)
            if date and fi.family != em.DATE:
                fi = FieldInfo(fi.path, em.DATE, date_spec=em.date_format_spec(em.DEFAULT_DATE_FORMAT), name=fname)
            getters.append(self.getter(fi))
        lines = [f"def {name}(e):"]
        for g in getters:
            lines.append(f"    v = {g}(e)")
            lines.append("    if v:\n        return v[0]")
        lines.append("    return None")
        self.m.emit("\n".join(lines) + "\n")
        return name


def re2_escape(ch: str) -> str:
    code = ord(ch)
    if ch.isalnum() and code < 128:
        return ch
    if code < 128 and ch.isprintable():
        return "\\" + ch
    return f"\\x{{{code:x}}}"


def term_forms(v: Any) -> tuple:
    """The forms a literal takes in a term query: (keyword text, number or None, boolean or None)."""
    if isinstance(v, bool):
        return ("true" if v else "false", None, v)
    if isinstance(v, int):
        return (str(v), v, None)
    if isinstance(v, float):
        return (rt._java_double(v), v, None)
    s = str(v)
    n: Any = None
    if _INT_RX.match(s):
        n = int(s)
    elif _FLOAT_RX.match(s):
        n = float(s)
    b = True if s == "true" else False if s == "false" else None
    return (s, n, b)


def parts_segments(parts: tuple) -> list:
    """``ir.PatternPart``s -> the matcher's ``*``-separated segments (a ``str``, or a list of
    characters with ``None`` for ``?``: the form ``runtime._Wild`` and the string tests' fast paths
    read)."""
    segs: list = []
    cur: list = []
    for p in parts:
        if p is ir.Wildcard.STAR:
            segs.append(cur)
            cur = []
        elif p is ir.Wildcard.QUESTION:
            cur.append(None)
        else:
            cur.extend(p)
    segs.append(cur)
    return [("".join(s) if None not in s else list(s)) for s in segs]


def native_string_segments(function: str, literal: str) -> list:
    """What Elasticsearch's query for ``startsWith``/``endsWith``/``stringContains(field, literal)``
    matches a whole value against, as segments: the pattern the targets read too
    (:func:`eqlc.native_wildcard.query_parts`: ``startsWith`` is a prefix query of the literal's
    text, the other two the wildcard query built from the literal unescaped, in Lucene syntax)."""
    return parts_segments(query_parts(function, literal))
