"""IR conditions -> Sigma detection items (field|modifiers: values) combined with and/or/not.

Semantics decided here (each with its source):

* Missing fields: EQL native ``not``/``!=`` is Lucene ``must_not`` and matches events without the
  field; Sigma's ``not selection`` is true when the selection does not match, absent fields
  included (pySigma's sqlite backend wraps every NOT in ``COALESCE(..., 0)``). So ``not`` maps to
  ``not`` unchanged. ``f == null`` is ``f: null``; ``f != null`` is ``not`` of it, the form the
  Sigma spec prescribes ("To get an expression that say `not null` you have to create another
  selection and negate it"), not ``|exists`` (which the spec defines as presence, "be it empty or
  null").
* Case: EQL ``==``, ``in``, ``like``, ``regex`` and functions are case-sensitive, Sigma strings are
  not ("Default Sigma behavior is case-insensitive matching"); the ``cased`` profile adds
  ``|cased`` (pySigma: GLOB in sqlite). Splunk and Kusto backends reject ``cased``, so the
  ``portable`` profile omits it and states, per comparison, that values never differ only in case.
  EQL ``:``/``~`` forms fold ASCII only; a value with non-ASCII letters gets an assumption.
* Wildcards: EQL patterns have no escapes; every literal ``*``/``?``/backslash is re-escaped
  (``values.compose``). Prefix/suffix/infix patterns use ``startswith``/``endswith``/``contains``.
* Arrays: Sigma fields are scalar. ``process.name``-like fields are read from a path (``tail``),
  ``process.args`` from the command line (``argv``), each under a stated assumption.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from typing import Callable, Optional, Sequence, Union

from eqlc import ir
from eqlc.events import values as ecs_values
from eqlc.lucene_regex import RegexError, Untranslatable
from eqlc.printer import expr as eql_text
from eqlc.result import Refused, about

from . import regex as sigma_regex
from .assumptions import AssumptionLog
from .esval import parts_match
from .mapping import FieldSpec, LogSource, Mapping
from .values import (
    Part,
    SigmaText,
    as_modifier_value,
    kind_of,
    literal,
    normalise,
    re_alternatives,
    wildcard_regex,
)

Value = Union[SigmaText, int, float, bool, None, str]


def _dedupe(values: tuple, folded: bool) -> tuple:
    """Values without repeats; case-insensitive items also drop values differing only in ASCII case
    (SigmaHQ's sigmahq_field_duplicate_value compares them so)."""
    out, seen = [], set()
    for v in values:
        key = (type(v).__name__, v.lower() if folded and isinstance(v, str) and v.isascii() else v)
        if key not in seen:
            seen.add(key)
            out.append(v)
    return tuple(out)


@dataclass(frozen=True)
class Item:
    """One Sigma detection item: OR over ``values``."""

    field: str
    modifiers: tuple[str, ...]
    values: tuple[Value, ...]

    def __post_init__(self) -> None:
        folded = "cased" not in self.modifiers and "re" not in self.modifiers
        object.__setattr__(self, "values", _dedupe(self.values, folded))

    @property
    def key(self) -> str:
        return "|".join((self.field,) + self.modifiers)


@dataclass(frozen=True)
class SAnd:
    children: tuple["SExpr", ...]


@dataclass(frozen=True)
class SOr:
    children: tuple["SExpr", ...]


@dataclass(frozen=True)
class SNot:
    child: "SExpr"


SExpr = Union[Item, SAnd, SOr, SNot]

PROFILES = ("cased", "portable")


def _cased_letters(text: str) -> bool:
    """True if ``text`` has a non-ASCII character whose case can change (folding differs)."""
    return any(not c.isascii() and c.lower() != c.upper() for c in text)


def _str_values(node: ir.Expr) -> list[str]:
    if isinstance(node, ir.Compare) and isinstance(node.right, ir.String):
        return [node.right.value]
    if isinstance(node, ir.InSet):
        return [v.value for v in node.values if isinstance(v, ir.String)]
    if isinstance(node, ir.WildcardMatch):
        return [p.text for p in node.patterns]
    if isinstance(node, ir.FunctionCall):
        return [a.value for a in node.args if isinstance(a, ir.String)]
    return []


class Converter:
    """Translates one event query's remaining condition for one Sigma log source."""

    def __init__(self, logsource: LogSource, product: Optional[str], mapping: Mapping, profile: str, log: AssumptionLog) -> None:
        self.ls = logsource
        self.product = product
        self.mapping = mapping
        self.profile = profile
        self.log = log
        self.used: dict[str, FieldSpec] = {}  # ECS field -> spec, in order of first use
        self.ip_fields: set[str] = set()  # ECS fields matched with |cidr

    # ---- fields ---------------------------------------------------------------------------
    def where(self) -> str:
        return f"{self.ls.sigma.get('category')}/{self.product or 'any product'}"

    def spec(self, node: ir.Expr) -> tuple[ir.Field, FieldSpec]:
        if not isinstance(node, ir.Field):
            raise Refused(f"`{eql_text(node)}`: only a field can be compared in Sigma (no functions or arithmetic on the left)")
        f = node
        if f.has_index:
            raise Refused(f"{f.name}: array indexes have no Sigma equivalent")
        m = self.mapping
        if f.name in (m.type_field, m.os_field, m.category_field) or f.name in m.source_fields:
            raise Refused(
                f"{f.name} is translated only as a top-level positive condition that selects the Sigma log source; "
                f"here it is part of a larger expression"
            )
        spec = self.ls.field(f.name, self.product, m.separators)
        if spec is None:
            raise Refused(
                f"{f.name} has no field in the Sigma taxonomy of {self.where()} "
                f"(targets/sigma/mapping.yaml; add one with --mapping)"
            )
        if f.optional:
            self.log.assume(
                f"?{f.name} is treated as a field the index maps (Elasticsearch replaces an optional field "
                f"that no searched index maps with null, which Sigma cannot express)"
            )
        if spec.assume:
            self.log.assume(spec.assume)
        if spec.array:
            self._assume_one_element(spec)
        self.used.setdefault(f.name, spec)
        if spec.kind == "tail":
            self._assume_tail(spec)
        elif spec.kind == "argv":
            self._assume_argv(spec)
        return f, spec

    def _source_of(self, sigma_field: str) -> Optional[str]:
        col = self.ls.plain_columns(self.product, self.mapping.separators).get(sigma_field)
        return col.ecs if col else None

    def _assume_tail(self, spec: FieldSpec) -> None:
        src = self._source_of(spec.sigma)
        after = " or ".join(f"'{c}'" for c in spec.after)
        what = "file name" if set(spec.after) == set(spec.excludes) else "extension"
        text = (
            f"{spec.ecs} is read as the part of {spec.sigma} ({src}) after its last {after}: assumes {spec.sigma} is a full "
            f"path whose {what} is exactly {spec.ecs} (it also matches a path with that last segment whatever "
            f"{spec.ecs} says)"
        )
        name_path = tuple(spec.ecs.split("."))
        src_path = tuple(src.split(".")) if src else None

        def violated(event: dict) -> bool:
            names = ecs_values(event, name_path)
            paths = ecs_values(event, src_path) if src_path else []
            if not paths:
                return bool(names)
            if len(paths) != 1 or not isinstance(paths[0], str):
                return True
            p = paths[0]
            idx = max(p.rfind(c) for c in spec.after)
            tail = p[idx + 1:] if idx >= 0 else None
            if tail is None or any(c in tail for c in spec.excludes) or (what == "extension" and tail == ""):
                return bool(names)
            return names != [tail]

        self.log.assume(text, violated)

    def _assume_argv(self, spec: FieldSpec) -> None:
        src = self._source_of(spec.sigma)
        text = (
            f"{spec.ecs} is read from {spec.sigma} ({src}): assumes {spec.sigma} is the {spec.ecs} values joined by single "
            f"spaces and no value is empty or contains a space"
        )
        args_path = tuple(spec.ecs.split("."))
        src_path = tuple(src.split(".")) if src else None

        def violated(event: dict) -> bool:
            args = ecs_values(event, args_path)
            cmd = ecs_values(event, src_path) if src_path else []
            if not args:
                return cmd not in ([], [""])
            if len(cmd) != 1 or not all(isinstance(a, str) and a and " " not in a for a in args):
                return True
            return cmd[0] != " ".join(args)

        self.log.assume(text, violated)

    def _assume_one_element(self, spec: FieldSpec) -> None:
        """An ECS array read from a one-value Sigma field (registry.data.strings as Details): exact
        where the array has at most one element, which is what the check tests."""
        path = tuple(spec.ecs.split("."))
        text = (f"{spec.ecs} is an ECS array (one element per string of a REG_MULTI_SZ value) read from {spec.sigma}, "
                f"one string: assumes events whose {spec.ecs} has more than one element are absent")

        def violated(event: dict) -> bool:
            return len(ecs_values(event, path)) > 1

        self.log.assume(text, violated)

    def assume_single_values(self) -> None:
        """Sigma fields hold one value. Elasticsearch matches an array field if *any* element
        matches, and ``not`` if *no* element does; a scalar column cannot say both. So every plain
        field read is assumed single-valued, as ECS defines these fields."""
        plain = {e: s.sigma for e, s in self.used.items() if s.kind == "plain" and not s.array}
        if not plain:
            return
        paths = [tuple(e.split(".")) for e in plain]

        def violated(event: dict) -> bool:
            return any(len(ecs_values(event, p)) > 1 for p in paths)

        shown = ", ".join(f"{s} ({e})" for e, s in plain.items())
        self.log.assume(
            f"Sigma fields hold one value: assumes {shown} hold at most one value per event, as ECS defines them "
            f"(Elasticsearch matches any element of an array, and `not` only when no element matches)",
            violated,
        )

    # ---- case -----------------------------------------------------------------------------
    def case_mods(self, ci: bool, node: ir.Expr, field: ir.Field, matcher: Optional[Callable[[str, bool], bool]]) -> tuple[str, ...]:
        """Modifiers for a string comparison; states the assumptions its case handling needs."""
        vals = _str_values(node)
        if ci:
            odd = [v for v in vals if _cased_letters(v)]
            if odd:
                self.log.assume(
                    f"{field.name} is compared case-insensitively with {odd[0]!r}, which has non-ASCII letters: "
                    f"Elasticsearch folds ASCII letters only; assumes the Sigma backend does too (SQLite LIKE/NOCASE do)"
                )
            return ()
        if self.profile == "cased":
            return ("cased",)
        shown = ", ".join(repr(v) for v in vals[:3]) + (", ..." if len(vals) > 3 else "")
        check = None
        if matcher is not None:
            path = field.path

            def check(event: dict, m=matcher, path=path) -> bool:
                vs = [v for v in ecs_values(event, path) if isinstance(v, str)]
                return any(m(v, True) for v in vs) != any(m(v, False) for v in vs)

        self.log.assume(
            f"{field.name} is matched case-insensitively (portable profile: no |cased) although `{eql_text(node)[:120]}` is "
            f"case-sensitive: assumes its values never differ from {shown} only in letter case",
            check,
        )
        return ()

    # ---- conversion -----------------------------------------------------------------------
    def convert(self, node: ir.Expr) -> SExpr:
        if isinstance(node, ir.And):
            return SAnd(tuple(self.convert(t) for t in node.terms))
        if isinstance(node, ir.Or):
            return SOr(tuple(self.convert(t) for t in node.terms))
        if isinstance(node, ir.Not):
            return SNot(self.convert(node.expr))
        with about(node):  # a refusal names the atom it is about (eqlc.broaden)
            return self.convert_atom(node)

    def convert_atom(self, node: ir.Expr) -> SExpr:
        if isinstance(node, ir.Compare):
            return self.compare(node)
        if isinstance(node, ir.IsNull):
            f, spec = self.spec(node.expr)
            if spec.kind != "plain":
                raise Refused(f"`{eql_text(node)}`: {f.name} is derived from {spec.sigma}, so its absence cannot be tested exactly")
            return Item(spec.sigma, (), (None,))
        if isinstance(node, ir.InSet):
            return self.inset(node)
        if isinstance(node, ir.WildcardMatch):
            f, spec = self.spec(node.expr)
            parts = [normalise(p.parts) for p in node.patterns]
            return self.string_match(node, f, spec, parts, node.case_insensitive)
        if isinstance(node, ir.RegexMatch):
            return self.regex(node)
        if isinstance(node, ir.FunctionCall):
            return self.function(node)
        if isinstance(node, ir.Boolean):
            raise Refused(f"the constant `{eql_text(node)}` inside a condition has no Sigma form")
        raise Refused(f"`{eql_text(node)}` ({type(node).__name__}) has no Sigma equivalent")

    def compare(self, node: ir.Compare) -> SExpr:
        if not isinstance(node.right, (ir.String, ir.Number, ir.Boolean)):
            raise Refused(f"`{eql_text(node)}`: Sigma compares a field with literal values only")
        f, spec = self.spec(node.left)
        rv = node.right.value
        if node.op is ir.CompareOp.EQ:
            if isinstance(node.right, ir.String):
                return self.string_match(node, f, spec, [(rv,)] if rv else [("",)], False)
            if spec.kind != "plain":
                raise Refused(f"`{eql_text(node)}`: {f.name} is derived from {spec.sigma} and compared with a non-string")
            return Item(spec.sigma, (), (rv,))
        if not isinstance(node.right, ir.Number) or isinstance(rv, bool):
            raise Refused(f"`{eql_text(node)}`: Sigma's lt/lte/gt/gte modifiers compare numbers only")
        if spec.kind != "plain":
            raise Refused(f"`{eql_text(node)}`: {f.name} is derived from {spec.sigma}; no numeric comparison")
        mod = {ir.CompareOp.LT: "lt", ir.CompareOp.LE: "lte", ir.CompareOp.GT: "gt", ir.CompareOp.GE: "gte"}[node.op]
        return Item(spec.sigma, (mod,), (rv,))

    def inset(self, node: ir.InSet) -> SExpr:
        f, spec = self.spec(node.expr)
        if any(isinstance(v, ir.Null) for v in node.values):
            raise Refused(f"`{eql_text(node)}`: null inside an `in` list is not translated")
        strs = [v.value for v in node.values if isinstance(v, ir.String)]
        others = [v.value for v in node.values if not isinstance(v, ir.String)]
        out: list[SExpr] = []
        if strs:
            out.append(self.string_match(node, f, spec, [(s,) if s else ("",) for s in strs], node.case_insensitive))
        if others:
            if spec.kind != "plain":
                raise Refused(f"`{eql_text(node)}`: {f.name} is derived from {spec.sigma} and compared with non-strings")
            out.append(Item(spec.sigma, (), tuple(others)))
        return out[0] if len(out) == 1 else SOr(tuple(out))

    def string_match(self, node: ir.Expr, f: ir.Field, spec: FieldSpec, parts_list: Sequence[Sequence[Part]], ci: bool) -> SExpr:
        """``f`` matches any of the wildcard patterns (``parts``; exact values have no wildcard)."""
        parts_list = [normalise(p) for p in parts_list]

        def matcher(value: str, insensitive: bool) -> bool:
            return any(parts_match(value, parts, insensitive) for parts in parts_list)

        if spec.kind == "tail":
            return self.tail_match(node, f, spec, parts_list, ci, matcher)
        if spec.kind == "argv":
            return self.argv_match(node, f, spec, parts_list, ci, matcher)
        if spec.renders:
            self._check_renders(node, f, spec, parts_list, ci)
        cmods = self.case_mods(ci, node, f, matcher)
        groups: dict[tuple[str, ...], list[Value]] = {}
        for parts in parts_list:
            mod, value = as_modifier_value(parts) if parts else (None, SigmaText(""))
            groups.setdefault(((mod,) if mod else ()) + cmods, []).append(value)
        items = [Item(spec.sigma, mods, tuple(dict.fromkeys(vals))) for mods, vals in groups.items()]
        return items[0] if len(items) == 1 else SOr(tuple(items))

    def _check_renders(self, node: ir.Expr, f: ir.Field, spec: FieldSpec, parts_list: Sequence[Sequence[Part]], ci: bool) -> None:
        """Refuse a comparison that could select a value the Sigma field spells otherwise than ECS
        (``renders``: Sysmon's "DWORD (0x00000001)" where ECS has "1", "(Empty)" where ECS has "").
        An exact value is kept when it is neither a number's decimal or hex text, nor empty, nor of
        the shape of a listed spelling; a pattern when it has a literal character that none of
        those hold (it then selects none of them on either side), or is ``*`` (it selects all)."""
        flags = re.IGNORECASE if ci else 0
        shapes = [re.compile("0[xX][0-9a-fA-F]+".join(re.escape(x) for x in re.split(r"0x[0-9a-fA-F]+", r)), flags)
                  for r in spec.renders]
        alphabet = set("0123456789abcdefABCDEFxX-") | {c for r in spec.renders for c in r}
        if ci:
            alphabet |= {c.swapcase() for c in alphabet}
        for parts in parts_list:
            parts = tuple(parts)
            if parts == (ir.Wildcard.STAR,):
                continue
            if all(isinstance(p, str) for p in parts):
                text = "".join(parts)  # type: ignore[arg-type]
                if text and not re.fullmatch(r"-?[0-9]+|0[xX][0-9a-fA-F]+", text) and not any(x.fullmatch(text) for x in shapes):
                    continue
            elif any(isinstance(p, str) and any(c not in alphabet for c in p) for p in parts):
                continue
            shown = "".join(p if isinstance(p, str) else p.value for p in parts)
            raise Refused(
                f"`{eql_text(node)[:120]}`: {spec.sigma} spells some values otherwise than ECS {f.name} "
                f"({', '.join(repr(r) for r in spec.renders)} where ECS has a number's text or nothing), and "
                f"{shown!r} could select such a value on one side only")

    def tail_match(self, node, f, spec, parts_list, ci, matcher) -> SExpr:
        what = "file name" if set(spec.after) == set(spec.excludes) else "extension"
        ends: list[Value] = []
        regexes: list[Value] = []
        for parts in parts_list:
            for p in parts:
                if isinstance(p, str):
                    bad = [c for c in spec.excludes if c in p]
                    if bad:
                        raise Refused(f"`{eql_text(node)}`: the value contains {bad[0]!r}, which a {what} ({f.name}) cannot contain")
            kind = kind_of(parts)
            lits = [p for p in parts if isinstance(p, str)]
            if kind.value == "exact":
                if not lits:
                    raise Refused(f"`{eql_text(node)}`: an empty {what} cannot be read from {spec.sigma}")
                ends.extend(literal(a + lits[0]) for a in spec.after)
            elif kind.value == "suffix" and what == "file name":
                ends.append(literal(lits[0]))
            else:
                regexes.append(SigmaText(re_alternatives(spec.after) + wildcard_regex(parts, ci, spec.excludes) + "$"))
        items: list[SExpr] = []
        if ends:
            cmods = self.case_mods(ci, node, f, matcher)
            items.append(Item(spec.sigma, ("endswith",) + cmods, tuple(dict.fromkeys(ends))))
        if regexes:
            self._assume_regex_newline(spec.sigma)
            items.append(Item(spec.sigma, ("re",), tuple(dict.fromkeys(regexes))))
        return items[0] if len(items) == 1 else SOr(tuple(items))

    def argv_match(self, node, f, spec, parts_list, ci, matcher) -> SExpr:
        groups: dict[str, list[Value]] = {}
        for parts in parts_list:
            for p in parts:
                if isinstance(p, str) and " " in p:
                    raise Refused(f"`{eql_text(node)}`: the value contains a space, but {f.name} is read from {spec.sigma} split on spaces")
            kind = kind_of(parts).value
            lits = [p for p in parts if isinstance(p, str)]
            if kind == "exact":
                if not lits:
                    raise Refused(f"`{eql_text(node)}`: an empty argument cannot be found in {spec.sigma}")
                x = lits[0]
                forms = [("", x), ("startswith", x + " "), ("endswith", " " + x), ("contains", " " + x + " ")]
            elif kind == "prefix":
                forms = [("startswith", lits[0]), ("contains", " " + lits[0])]
            elif kind == "suffix":
                forms = [("endswith", lits[0]), ("contains", lits[0] + " ")]
            elif kind == "contains":
                forms = [("contains", lits[0])]
            else:
                groups.setdefault("re", []).append(SigmaText("(^| )" + wildcard_regex(parts, ci, [" "]) + "( |$)"))
                continue
            for mod, text in forms:
                groups.setdefault(mod, []).append(literal(text))
        items: list[SExpr] = []
        cmods: Optional[tuple[str, ...]] = None
        for mod, vals in groups.items():
            if mod == "re":
                self._assume_regex_newline(spec.sigma)
                items.append(Item(spec.sigma, ("re",), tuple(dict.fromkeys(vals))))
                continue
            if cmods is None:
                cmods = self.case_mods(ci, node, f, matcher)
            items.append(Item(spec.sigma, ((mod,) if mod else ()) + cmods, tuple(dict.fromkeys(vals))))
        return items[0] if len(items) == 1 else SOr(tuple(items))

    def _assume_regex_newline(self, sigma_field: str) -> None:
        src = self._source_of(sigma_field)
        path = tuple(src.split(".")) if src else None

        def violated(event: dict) -> bool:
            return bool(path) and any(isinstance(v, str) and v.endswith("\n") for v in ecs_values(event, path))

        self.log.assume(
            f"the regex on {sigma_field} is anchored with ^...$, and PCRE's $ also matches before a final newline: "
            f"assumes {sigma_field} values do not end with a newline",
            violated,
        )

    def regex(self, node: ir.RegexMatch) -> SExpr:
        f, spec = self.spec(node.expr)
        if spec.renders:
            raise Refused(f"`{eql_text(node)[:120]}`: {spec.sigma} spells some values otherwise than ECS {f.name} "
                          f"({', '.join(repr(r) for r in spec.renders)}); a regex on it is not translated")
        if spec.kind != "plain":
            raise Refused(f"`{eql_text(node)}`: a regex on {f.name}, which is derived from {spec.sigma}, has no exact Sigma form")
        try:
            r = sigma_regex.render(node.patterns, node.case_insensitive)
        except (Untranslatable, RegexError) as err:
            raise Refused(f"`{eql_text(node)[:120]}`: {err}") from None
        self._assume_regex_newline(spec.sigma)
        return Item(spec.sigma, ("re", "s") if r.dotall else ("re",), (SigmaText(r.pattern),))

    def function(self, node: ir.FunctionCall) -> SExpr:
        name = node.name
        if name in ("startsWith", "endsWith", "stringContains"):
            if len(node.args) != 2 or not isinstance(node.args[1], ir.String):
                raise Refused(f"`{eql_text(node)}`: {name}() is translated only with a field and a string literal")
            f, spec = self.spec(node.args[0])
            lit = node.args[1].value
            if name != "startsWith" and any(c in lit for c in "*?"):
                raise Refused(
                    f"`{eql_text(node)}`: Elasticsearch runs {name}() as a wildcard query, where '*'/'?' in the "
                    f"literal may act as wildcards (unconfirmed); not translated"
                )
            if name == "stringContains" and not lit:
                raise Refused(f"`{eql_text(node)}`: stringContains with an empty string is not translated")
            parts: tuple[Part, ...] = {
                "startsWith": (lit, ir.Wildcard.STAR),
                "endsWith": (ir.Wildcard.STAR, lit),
                "stringContains": (ir.Wildcard.STAR, lit, ir.Wildcard.STAR),
            }[name]
            if not lit:
                parts = (ir.Wildcard.STAR,)
            # the literal may hold '*'/'?' as plain characters: parts keep them literal
            return self.string_match(node, f, spec, [parts], node.case_insensitive)
        if name == "cidrMatch":
            if len(node.args) < 2 or not all(isinstance(a, ir.String) for a in node.args[1:]):
                raise Refused(f"`{eql_text(node)}`: cidrMatch() is translated only with a field and CIDR literals")
            f, spec = self.spec(node.args[0])
            if spec.kind != "plain":
                raise Refused(f"`{eql_text(node)}`: {f.name} is not an IP field in Sigma")
            cidrs = []
            for a in node.args[1:]:
                try:
                    net = ipaddress.ip_network(a.value, strict=False)
                except ValueError:
                    raise Refused(f"`{eql_text(node)}`: {a.value!r} is not a CIDR") from None
                cidrs.append(str(net))
            path = f.path
            self.ip_fields.add(f.name)

            def violated(event: dict) -> bool:
                for v in ecs_values(event, path):
                    try:
                        if str(ipaddress.ip_address(v)) != v:
                            return True
                    except ValueError:
                        return True
                return False

            self.log.assume(
                f"{spec.sigma}|cidr: assumes {f.name} holds IP addresses in canonical text form (backends such as "
                f"pySigma's sqlite match CIDR ranges as string prefixes, Elasticsearch compares ip values)",
                violated,
            )
            return Item(spec.sigma, ("cidr",), tuple(cidrs))
        raise Refused(f"`{eql_text(node)[:120]}`: the function {name}() has no Sigma equivalent")
