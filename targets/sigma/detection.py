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
from eqlc.native_wildcard import native_parts
from eqlc.printer import expr as eql_text
from eqlc.result import Refused, about
from eqlc import windows_argv

from . import regex as sigma_regex
from . import spelling
from .assumptions import AssumptionLog
from .esval import parts_match
from .mapping import FieldSpec, LogSource, Mapping
from .values import (
    Part,
    SigmaText,
    as_modifier_value,
    compose,
    kind_of,
    literal,
    normalise,
    re_alternatives,
    re_literal,
    re_not_class,
    wildcard_regex,
)

Value = Union[SigmaText, int, float, bool, None, str]

# a number as Windows writes it in an event's text (ProcessId "0x44c", NewUacValue "0x15")
_HEX_TEXT = re.compile(r"0[xX][0-9a-fA-F]+")
# :meth:`Converter._carried_hex` of an event that carries no text
_NO_TEXT = object()


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


@dataclass(frozen=True)
class SConst:
    """A condition whose truth the translation decided (an optional field no log source field
    holds reads as having no value); folded away by :func:`s_and`/:func:`s_or`/:func:`s_not`."""

    value: bool


SExpr = Union[Item, SAnd, SOr, SNot, SConst]


def s_and(children) -> "SExpr":
    kept = []
    for c in children:
        if isinstance(c, SConst):
            if not c.value:
                return SConst(False)
            continue
        kept.append(c)
    if not kept:
        return SConst(True)
    return kept[0] if len(kept) == 1 else SAnd(tuple(kept))


def s_or(children) -> "SExpr":
    kept = []
    for c in children:
        if isinstance(c, SConst):
            if c.value:
                return SConst(True)
            continue
        kept.append(c)
    if not kept:
        return SConst(False)
    return kept[0] if len(kept) == 1 else SOr(tuple(kept))


def s_not(child: "SExpr") -> "SExpr":
    return SConst(not child.value) if isinstance(child, SConst) else SNot(child)


def _renamed(expr: SExpr, old: str, new: str) -> SExpr:
    """``expr`` with every item on column ``old`` read on column ``new`` instead."""
    if isinstance(expr, Item):
        return Item(new, expr.modifiers, expr.values) if expr.field == old else expr
    if isinstance(expr, SAnd):
        return SAnd(tuple(_renamed(c, old, new) for c in expr.children))
    if isinstance(expr, SOr):
        return SOr(tuple(_renamed(c, old, new) for c in expr.children))
    if isinstance(expr, SNot):
        return SNot(_renamed(expr.child, old, new))
    return expr


class _NoValue(Exception):
    """Raised by :meth:`Converter.spec` for an optional field no Sigma field holds."""

    def __init__(self, field: ir.Field) -> None:
        super().__init__(field.name)
        self.field = field

PROFILES = ("portable", "cased")  # the first is the default


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


def _short(values) -> str:
    vals = [str(v) for v in values]
    return ", ".join(vals[:6]) + (f", ... ({len(vals)} values)" if len(vals) > 6 else "")


# the condition key of a ``cases`` entry that is a Sigma keyword search (a value-only detection over the raw
# line, for log sources of raw text such as linux/auth); written as an Item with an empty field
KEYWORDS = "keywords"

# one argument of a command line in the plain form of eqlc.windows_argv: quoted, or bare (Sigma's regex
# subset, sigma-appendix-modifiers "Regular Expression": classes, groups, alternation, quantifiers)
WIN_TOKEN = '("[^"]*"|[^ \t"]+)'


def _case_holds(cases: dict, key: str, get: Callable[[str], list]) -> bool:
    """Does an event whose Sigma fields ``get(name)`` returns give ECS value ``key`` of a ``cases``
    field? (``field: null`` means the field has no value.)"""
    import re as _re

    cond = cases[key]
    if isinstance(cond, dict) and "not" in cond:
        return not any(_case_holds(cases, k, get) for k in cond["not"])
    if isinstance(cond, dict) and "any" in cond:
        return any(_case_holds(cases, k, get) for k in cond["any"])
    if isinstance(cond, dict) and "all" in cond:
        return all(_case_holds(cases, k, get) for k in cond["all"])
    for k, v in (cond or {}).items():
        name, *mods = k.split("|")
        vals = v if isinstance(v, list) else [v]
        if name == KEYWORDS:  # a keyword search: any value anywhere in the raw line (case-insensitive)
            lines = [x for x in get("") if isinstance(x, str)]
            if not any(str(x).lower() in h.lower() for x in vals for h in lines):
                return False
            continue
        have = [x for x in get(name) if isinstance(x, str)]
        if v is None:
            ok = not get(name)
        elif "re" in mods:
            ok = any(_re.search(x, h) for x in vals for h in have)
        elif "startswith" in mods:
            ok = any(h.lower().startswith(x.lower()) if "cased" not in mods else h.startswith(x) for x in vals for h in have)
        elif "cased" in mods:
            ok = any(h == x for x in vals for h in have)
        else:  # Sigma's plain string match ignores letter case (sigma-specification, "Value Matching")
            ok = any(h.lower() == x.lower() for x in vals for h in have)
        if not ok:
            return False
    return True


class Converter:
    """Translates one event query's remaining condition for one Sigma log source."""

    def __init__(self, logsource: LogSource, product: Optional[str], mapping: Mapping, profile: str, log: AssumptionLog,
                 codes: Optional[tuple[str, ...]] = None) -> None:
        self.ls = logsource
        self.product = product
        self.codes = codes  # the event ids the query pins (entries of the mapping may depend on them)
        # in one rule of a collection: fields of the other log sources' events, read as having no value here
        self.foreign_absent = False
        self.mapping = mapping
        self.profile = profile
        self.log = log
        self.used: dict[str, FieldSpec] = {}  # ECS field -> spec, in order of first use
        self.ip_fields: set[str] = set()  # ECS fields matched with |cidr
        # argument fields read as Windows splits the command line (windows_argv_fields)
        self.winargv: frozenset[str] = frozenset()

    # ---- fields ---------------------------------------------------------------------------
    def where(self) -> str:
        if self.ls.is_service:
            return "/".join(str(v) for v in self.ls.sigma.values())
        return f"{self.ls.sigma.get('category')}/{self.product or 'any product'}"

    def spec(self, node: ir.Expr) -> tuple[ir.Field, FieldSpec]:
        if not isinstance(node, ir.Field):
            raise Refused(f"`{eql_text(node)}`: only a field can be compared in Sigma (no functions or arithmetic on the left)")
        f = node
        if f.has_index:
            raise Refused(f"{f.name}: array indexes have no Sigma equivalent")
        m = self.mapping
        spec = self.ls.field(f.name, self.product, m.separators, self.codes)
        selecting = {m.type_field, m.os_field, m.category_field, m.code_field, *m.source_fields, *m.dataset_fields}
        if spec is None and f.name in selecting:
            raise Refused(
                f"{f.name} is translated only as a top-level positive condition that selects the Sigma log source; "
                f"here it is part of a larger expression"
            )
        if spec is None and any(isinstance(a, dict) and a.get("codes") for a in self.ls.alternatives(f.name)):
            raise Refused(
                f"{f.name} is recorded in {self.where()} by different fields for different event ids, and the query does "
                f"not pin its event ids to one of them"
            )
        if spec is None and (f.optional or (self.foreign_absent and self._foreign(f.name))):
            self._assume_no_value(f)
            raise _NoValue(f)
        sibling = self._defined_by_sibling(f.name) if spec is None else None
        if sibling is not None:
            self._assume_no_value(f, f"it is the field that defines the events of the log source {sibling} (mapping.yaml "
                                     f"`requires`), which are not this log source's")
            raise _NoValue(f)
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
        if spec.unless:
            self._assume_not_excepted(spec)
        if spec.array:
            self._assume_one_element(spec)
        self.used.setdefault(f.name, spec)
        if spec.kind == "plain":
            self._assume_one_column(spec)
        if spec.kind == "tail":
            self._assume_tail(spec)
        elif spec.kind == "argv" and spec.ecs in self.winargv:
            self._assume_win_argv(spec)
        elif spec.kind == "argv":
            self._assume_argv(spec)
        elif spec.kind == "argc" and self._args_of(spec) in self.winargv:
            self._assume_win_argc(spec)
        elif spec.kind == "argc":
            self._assume_argc(spec)
        elif spec.kind == "words":
            self._assume_words(spec)
        elif spec.kind == "flags":
            self._assume_flags(spec)
        elif spec.kind == "target":
            self._assume_target(spec)
        elif spec.kind == "hex":
            self._assume_hex(spec)
        return f, spec

    def _carried_hex(self, spec: FieldSpec, event: dict):
        """The number the event's own text of ``spec.sigma`` spells as Windows writes it (0x and hex digits):
        ``_NO_TEXT`` when the event carries no such text (the adapter then writes the number itself), None
        when the text is not one string of that form."""
        raw = self.column_values(spec.sigma, event)
        if not raw:
            return _NO_TEXT
        if len(raw) != 1 or not isinstance(raw[0], str) or not _HEX_TEXT.fullmatch(raw[0]):
            return None
        return int(raw[0], 16)

    def _assume_hex(self, spec: FieldSpec) -> None:
        """The ECS number is ``spec.sigma``'s text decoded (Elastic's System integration, standard.yml "Rename
        Common Auth Fields": ``Long.decode`` of EventData ProcessId into process.pid), and Windows writes that
        text as 0x and hex digits (Microsoft Learn, "4624(S): An account was successfully logged on", event
        XML: ProcessId "0x44c"). ``Long.decode`` also reads decimal, octal and ``#`` text, which Windows does
        not write: exact where the event's number is one non-negative integer and the text, when the event
        carries it, is 0x and hex digits giving that number."""
        path = tuple(spec.ecs.split("."))

        def violated(event: dict) -> bool:
            numbers = ecs_values(event, path)
            if len(numbers) > 1 or any(isinstance(n, bool) or not isinstance(n, int) or n < 0 for n in numbers):
                return True
            # the text, when the event carries it (winlog.event_data.ProcessId); otherwise the adapter writes the
            # number as Windows does
            carried = self._carried_hex(spec, event)
            return carried is not _NO_TEXT and (carried is None or numbers != [carried])

        self.log.assume(
            f"{spec.ecs} is {spec.sigma} decoded ({spec.source or 'targets/sigma/mapping.yaml'}): assumes {spec.sigma} is "
            f"written as 0x and hex digits, as Windows writes it, and {spec.ecs} is one non-negative number",
            violated,
        )

    def hex_match(self, node: ir.Expr, f: ir.Field, spec: FieldSpec, value: object) -> SExpr:
        """``f == n``: the text is 0x, any leading zeros, then n's hex digits in either letter case (a regex:
        Windows writes "0x44c", and the number has no other spelling under the assumption :meth:`_assume_hex`
        states); a negative or fractional n is no such number."""
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise Refused(f"`{eql_text(node)[:120]}`: {f.name} is a number read from {spec.sigma}; compared here with {value!r}")
        if value < 0 or (isinstance(value, float) and not value.is_integer()):
            return SConst(False)
        digits = f"{int(value):x}".lstrip("0")
        body = "".join(f"[{c}{c.upper()}]" if c.isalpha() else c for c in digits)
        self._assume_regex_newline(spec.sigma)
        return Item(spec.sigma, ("re",), (SigmaText(f"^0[xX]0*{body}$" if body else "^0[xX]0+$"),))

    def _assume_target(self, spec: FieldSpec) -> None:
        """A web request target (url.original) is the access log's path column, then ``?`` and its query
        column when the request has a query (the origin form of RFC 9112 3.2.1, which web servers log as
        W3C cs-uri-stem and cs-uri-query). Exact where the event's target, split at its first ``?``, gives
        the query the event records (url.query), and the event has one target."""
        sep = spec.after[0]
        path = tuple(spec.ecs.split("."))
        query_src = self._source_of(spec.query) if spec.query else None
        qpath = tuple(query_src.split(".")) if query_src else None

        def violated(event: dict) -> bool:
            targets = ecs_values(event, path)
            if len(targets) > 1 or any(not isinstance(t, str) for t in targets):
                return True
            if not targets or not qpath:
                return False
            head, has_query, rest = targets[0].partition(sep)
            queries = ecs_values(event, qpath)
            return bool(queries) and (not has_query or queries != [rest])

        self.log.assume(
            f"{spec.ecs} is read as {spec.sigma}, followed by {sep!r} and {spec.query} when the request has a query "
            f"({spec.source or 'targets/sigma/mapping.yaml'}): assumes the request target is in origin form (path and "
            f"query, no scheme or host), that the event has one, and that {query_src or spec.query} is its text after "
            f"the first {sep!r}",
            violated,
        )

    def _assume_flags(self, spec: FieldSpec) -> None:
        """The ECS list names the bits set in ``spec.sigma`` (Elastic's pipeline: ``Long.decode`` of the
        text, every table flag with ``(value & flag) == flag``): exact where every name is in the table and
        the number, when the event carries it, is written 0x + hex digits and sets exactly those bits."""
        table = dict(spec.flags or ())
        path = tuple(spec.ecs.split("."))

        def violated(event: dict) -> bool:
            names = ecs_values(event, path)
            if any(not isinstance(n, str) or n not in table for n in names):
                return True
            number = self._carried_hex(spec, event)
            if number is _NO_TEXT:
                return False
            return number is None or {n for n, bit in table.items() if number & bit == bit} != set(names)

        self.log.assume(
            f"{spec.ecs} names the bits set in {spec.sigma} ({spec.source or 'targets/sigma/mapping.yaml'}): assumes "
            f"its values are names of that table and {spec.sigma} is written as 0x and hex digits, as Windows writes it",
            violated,
        )

    def flags_match(self, node: ir.Expr, f: ir.Field, spec: FieldSpec, parts_list, ci: bool) -> SExpr:
        """A name of the list matches: the bit it names is set, a regex on the hex digit that holds it."""
        regexes = []
        for name, bit in spec.flags or ():
            if not any(parts_match(name, parts, ci) for parts in parts_list):
                continue
            if bit <= 0 or bit & (bit - 1):
                raise Refused(f"`{eql_text(node)[:120]}`: {name} names several bits of {spec.sigma}; not translated")
            pos = bit.bit_length() - 1
            nibble, q = divmod(pos, 4)
            digits = "".join(c for c in "0123456789abcdef" if int(c, 16) & (1 << q))
            cls = "[" + digits + "".join(sorted({c.upper() for c in digits if c.isalpha()})) + "]"
            tail = f"[0-9a-fA-F]{{{nibble}}}" if nibble else ""
            regexes.append(SigmaText(f"^0[xX][0-9a-fA-F]*{cls}{tail}$"))
        if not regexes:
            return SConst(False)
        self._assume_regex_newline(spec.sigma)
        return Item(spec.sigma, ("re",), tuple(regexes))

    def _assume_words(self, spec: FieldSpec) -> None:
        """The ECS list is ``spec.sigma`` split on runs of whitespace (winlogbeat-security.js:
        ``privs.split(/\\s+/)``): exact where every element is non-empty and holds no whitespace."""
        path = tuple(spec.ecs.split("."))

        def violated(event: dict) -> bool:
            return any(not isinstance(v, str) or not v or any(c.isspace() for c in v) for v in ecs_values(event, path))

        self.log.assume(
            f"{spec.ecs} is {spec.sigma} split on whitespace ({spec.source or 'targets/sigma/mapping.yaml'}): assumes its "
            f"values are non-empty and hold no whitespace, and {spec.sigma} separates them by spaces, tabs or line breaks",
            violated,
        )

    def words_match(self, node: ir.Expr, f: ir.Field, spec: FieldSpec, parts_list, ci: bool) -> SExpr:
        """One element of a list split on whitespace matches: a regex for one whole word of the text."""
        sep = [" ", "\t", "\r", "\n"]
        regexes = []
        for parts in parts_list:
            if any(isinstance(p, str) and any(c.isspace() for c in p) for p in parts):
                raise Refused(f"`{eql_text(node)[:120]}`: the value holds whitespace, but {f.name} is {spec.sigma} split on whitespace")
            if not any(isinstance(p, str) and p for p in parts) and not any(p is ir.Wildcard.QUESTION for p in parts):
                raise Refused(f"`{eql_text(node)[:120]}`: a pattern that may match an empty {f.name} element is not read from {spec.sigma}")
            regexes.append(SigmaText("(^|[ \t\r\n])" + wildcard_regex(parts, ci, sep) + "([ \t\r\n]|$)"))
        return Item(spec.sigma, ("re",), tuple(dict.fromkeys(regexes)))

    def _assume_one_column(self, spec: FieldSpec) -> None:
        """A Sigma field several ECS fields stand for (IntegrityLevel from Elastic Defend's
        integrity_level_name or Sysmon's IntegrityLevel; EventID from event.code or event.action):
        the adapter fills it from the first of them that has a value, so reading one of them is
        exact only where that one gives the same values."""
        from .adapter import event_codes, mapped_values

        sources = self.ls.column_sources(self.product, self.mapping.separators).get(spec.sigma, [])
        if len(sources) < 2 or not spec.fill:
            return
        others = [s.ecs for s in sources if s.ecs != spec.ecs and s.fill]
        if not others:
            return

        def violated(event: dict) -> bool:
            column = set(map(str, self.column_values(spec.sigma, event)))
            mine = set(map(str, mapped_values(spec, event)))
            if spec.value_map is not None and mine:
                # a value map may send one value to several (auditd's loaded-kernel-module is init_module
                # or finit_module): the column agrees when it holds one of them
                return not column or not column <= mine
            return mine != column

        self.log.assume(
            f"{spec.sigma} is read for {spec.ecs}, and the log source records in it what {', '.join(others)} also say: "
            f"assumes those fields agree on every event",
            violated,
        )

    def column_values(self, column: str, event: dict) -> list:
        """The values the fixture adapter gives ``column`` for ``event`` (its first source with a
        value, else the field of that name under a mapped prefix, as :func:`.adapter.columns` reads it)."""
        from .adapter import _prefixed, composed_values, event_codes, mapped_values, syslog_line

        if self.ls.syslog_line and column == self.ls.syslog_line["column"]:
            return [syslog_line(event, self.ls.syslog_line)]
        codes = event_codes(event, self.ls, self.mapping)
        for s in self.ls.column_sources(self.product, self.mapping.separators).get(column, []):
            if not s.fill or (s.codes is not None and not (codes and set(codes) <= set(s.codes))):
                continue
            got = mapped_values(s, event)
            if got:
                return got
        got = composed_values(event, self.ls, self.product, self.mapping).get(column)
        if got:
            return got
        for prefix, opts in self.ls.prefixes.items():
            only = (opts or {}).get("only")
            if only is not None and column not in only:
                continue
            got = _prefixed(event, prefix, (opts or {}).get("exclude", ())).get(column)
            if got:
                return got
        return []

    def _foreign(self, name: str) -> bool:
        """Is ``name`` a field another log source of the mapping records (a file field in the
        process rule of a collection over file and process events)?"""
        return any(ls is not self.ls and (name in ls.fields) for ls in self.mapping.logsources.values())

    def _defined_by_sibling(self, name: str) -> Optional[str]:
        """The Sigma category of another log source of the same ECS category and product whose events
        are those carrying ``name`` (``requires``: a DNS question makes a network event a dns_query
        event), or None. Its events are not this log source's, so here the field has no value."""
        for other in self.mapping.logsources.values():
            if other is self.ls or other.category is None or other.category != self.ls.category:
                continue
            if name in other.requires and (not other.products or self.product in other.products):
                return str(other.sigma.get("category") or other.name)
        return None

    def _assume_no_value(self, f: ir.Field, why: Optional[str] = None) -> None:
        """EQL's ``?field``: a field no searched index maps reads as null (Elasticsearch's
        optional-field semantics), so a field the log source does not record is read as having
        no value -- exact as long as the events indeed carry no such value."""
        path = f.path

        def violated(event: dict) -> bool:
            return bool(ecs_values(event, path))

        why = why or ("as Elasticsearch reads an optional field that no searched index maps" if f.optional else
                      "it is a field of the other log sources the query names (one rule of a collection)")
        self.log.assume(
            f"{'?' if f.optional else ''}{f.name} has no field in the Sigma taxonomy of {self.where()}: read as having no "
            f"value, {why}; assumes no event of the log source carries a value for it",
            violated,
        )

    def _assume_argc(self, spec: FieldSpec) -> None:
        """``process.args_count`` under the argument-splitting assumption of ``process.args``: the
        command line is the arguments joined by single spaces, so the count is its word count."""
        src = self._source_of(spec.sigma)
        args_ecs = spec.ecs.rsplit(".", 1)[0] + ".args"
        count_path, args_path = tuple(spec.ecs.split(".")), tuple(args_ecs.split("."))
        src_path = tuple(src.split(".")) if src else None
        text = (
            f"{spec.ecs} is read from {spec.sigma} ({src}) as its number of words separated by single spaces: assumes "
            f"{spec.sigma} is the {args_ecs} values joined by single spaces, no value is empty or contains a space, and "
            f"{spec.ecs} is their number"
        )

        def violated(event: dict) -> bool:
            count = ecs_values(event, count_path)
            cmd = ecs_values(event, src_path) if src_path else []
            args = ecs_values(event, args_path)
            if not count:
                return cmd not in ([], [""])
            if len(cmd) != 1 or not isinstance(cmd[0], str) or not cmd[0]:
                return True
            words = cmd[0].split(" ")
            if "" in words or count != [len(words)]:
                return True
            return bool(args) and args != words

        self.log.assume(text, violated)

    def always(self) -> SExpr:
        """A detection true for every event of the log source: its ``present`` field exists
        (``Image|exists: true``), stated as the assumption that every such event has it."""
        col = self.ls.present
        if not col:
            raise Refused(
                f"the condition holds for every {self.where()} event, and the mapping names no field every such event "
                f"carries (`present`, targets/sigma/mapping.yaml)"
            )
        src = self._source_of(col)
        path = tuple(src.split(".")) if src else None
        from .adapter import member

        def violated(event: dict) -> bool:
            # about the log source's events: an event of another log source (the other step of a
            # correlation) is no row of this rule, with or without the field
            return member(event, self.ls, self.product, self.mapping) and (not path or not ecs_values(event, path))

        self.log.assume(
            f"the rule's condition holds for every event of the log source; written as {col}|exists: true, which assumes "
            f"every event of the log source has {col} ({src})",
            violated,
        )
        return Item(col, ("exists",), (True,))

    def _source_of(self, sigma_field: str) -> Optional[str]:
        col = self.ls.plain_columns(self.product, self.mapping.separators).get(sigma_field)
        return col.ecs if col else None

    def _assume_tail(self, spec: FieldSpec) -> None:
        src = self._source_of(spec.sigma)
        composed = self.mapping.composed.get(spec.sigma) if src is None else None
        shown = f"{(composed.get('sep') or '')}".join(composed.get("from") or ()) if composed else src
        after = " or ".join(f"'{c}'" for c in spec.after)
        what = "file name" if set(spec.after) == set(spec.excludes) else "extension"
        text = (
            f"{spec.ecs} is read as the part of {spec.sigma} ({shown}) after its last {after}: assumes {spec.sigma} is a full "
            f"path whose {what} is exactly {spec.ecs} (it also matches a path with that last segment whatever "
            f"{spec.ecs} says)"
        )
        name_path = tuple(spec.ecs.split("."))
        src_path = tuple(src.split(".")) if src else None

        def violated(event: dict) -> bool:
            names = ecs_values(event, name_path)
            # a column no ECS field holds whole (mapping.yaml composed: Sysmon's User) is read as the adapter writes it
            paths = ecs_values(event, src_path) if src_path else self.column_values(spec.sigma, event)
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

    # ---- Windows arguments: quoted arguments with spaces (eqlc.windows_argv) ------------------
    def windows_argv_fields(self, expr: ir.Expr) -> frozenset:
        """The argument fields read from a command line that ``expr`` compares with a value holding a
        space or tab, in a rule for product windows: those are read as Windows splits the command line,
        in the plain form eqlc.windows_argv states (every comparison on them alike, one assumption per
        field); other rules, and other fields, keep the single-space reading. The same choice as the KQL
        target's (targets/kql/emit.py windows_argv_fields). Linux and macOS record argv joined by spaces
        with no quoting, so a value with a space stays refused there."""
        if self.product != "windows":
            return frozenset()
        out = set()
        for e in windows_argv.compared_leaves(expr):
            f = e.left if isinstance(e, ir.Compare) else e.expr if isinstance(e, (ir.InSet, ir.WildcardMatch)) else \
                e.args[0] if isinstance(e, ir.FunctionCall) and e.args else None
            if not isinstance(f, ir.Field) or f.has_index:
                continue
            spec = self.ls.field(f.name, self.product, self.mapping.separators, self.codes)
            if spec is not None and spec.kind == "argv" and any(" " in v or "\t" in v for v in _str_values(e)):
                out.add(f.name)
        return frozenset(out)

    @staticmethod
    def _args_of(spec: FieldSpec) -> str:
        """The argument field an argument count (process.args_count) counts."""
        return spec.ecs.rsplit(".", 1)[0] + ".args"

    def _win_line_check(self, spec: FieldSpec, count: bool) -> Callable[[dict], bool]:
        """The check of :func:`eqlc.windows_argv.win_argv_note` (``count``: win_argc_note) on one event."""
        src = self._source_of(spec.sigma) or ""
        src_path = tuple(src.split(".")) if src else ()

        def violated(event: dict) -> bool:
            lines = ecs_values(event, src_path) if src_path else []
            if len(lines) > 1 or (lines and not isinstance(lines[0], str)):
                return True
            line = lines[0] if lines else ""
            check = windows_argv.win_count_violation if count else windows_argv.win_args_violation
            return check(event, spec.ecs, src, line) is not None

        return violated

    def _assume_win_argv(self, spec: FieldSpec) -> None:
        src = self._source_of(spec.sigma) or "?"
        self.log.assume(windows_argv.win_argv_note(spec.ecs, spec.sigma, src), self._win_line_check(spec, False))

    def _assume_win_argc(self, spec: FieldSpec) -> None:
        src = self._source_of(spec.sigma) or "?"
        self.log.assume(windows_argv.win_argc_note(spec.ecs, spec.sigma, src), self._win_line_check(spec, True))

    def win_argv_match(self, node: ir.Expr, f: ir.Field, spec: FieldSpec, parts_list, ci: bool) -> SExpr:
        """Some argument of a plain-form command line, split as Windows splits it, matches one of the
        patterns: a regex from the line's start over whole arguments (``TOKEN`` = one quoted or bare
        argument, each followed by its separators), then the argument itself, quoted (wildcards any
        character but a double quote) or bare (wildcards no space, tab or double quote; only a value
        without a space or tab), then a separator or the end. Anchoring at the start is what keeps a
        pattern from matching words inside a quoted argument (``x "a b" y`` has no argument ``b``)."""
        words, dropped = windows_argv.win_possible([tuple(p) or ("",) for p in parts_list], f.name, spec.sigma)
        if dropped:
            self.log.assume(windows_argv.win_dropped_note(f.name, dropped), self._win_line_check(spec, False))
        if any(windows_argv.is_any_word(w) for w in words):
            # any argument: under the plain form, a non-empty command line has at least one
            return s_not(Item(spec.sigma, (), (None, SigmaText(""))))
        regexes = []
        for w in words:
            q = wildcard_regex(w, ci, ['"'])
            alts = ['"' + q + '"']
            if not windows_argv.has_space([w]):
                alts.append(wildcard_regex(w, ci, [" ", "\t", '"']))
            regexes.append(SigmaText(f"^({WIN_TOKEN}[ \t]+)*({'|'.join(alts)})([ \t]|$)"))
        self._assume_regex_newline(spec.sigma)
        return Item(spec.sigma, ("re",), tuple(dict.fromkeys(regexes)))

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

    def _assume_not_excepted(self, spec: FieldSpec) -> None:
        """A correspondence the producer breaks for some events (o365's DLP records, whose
        event.outcome a script derives from PolicyDetails, not from ResultStatus): stated for the
        other events, and the events the mapping's ``unless`` names are outside it."""
        paths = [(tuple(k.split(".")), k, set(v)) for k, v in spec.unless]
        shown = "; ".join(f"{k} is one of {', '.join(sorted(v))}" for _, k, v in paths)

        def violated(event: dict) -> bool:
            return any(set(map(str, ecs_values(event, p))) & v for p, _, v in paths)

        self.log.assume(
            f"{spec.ecs} is read from {spec.sigma} as {spec.source or 'the producer'} derives it for every event except "
            f"those where {shown} (derived otherwise): assumes no such event occurs",
            violated,
        )

    def _assume_one_element(self, spec: FieldSpec) -> None:
        """An ECS array read from a one-value Sigma field (registry.data.strings as Details): exact
        where the array has at most one element, which is what the check tests."""
        path = tuple(spec.ecs.split("."))
        what = ("one element per string of a REG_MULTI_SZ value" if spec.spelling == "sysmon_registry_details"
                else spec.source or "several values per event")
        text = (f"{spec.ecs} is an ECS array ({what}) read from {spec.sigma}, "
                f"one value: assumes events whose {spec.ecs} has more than one element are absent")

        def violated(event: dict) -> bool:
            return len(ecs_values(event, path)) > 1

        self.log.assume(text, violated)

    def assume_single_values(self) -> None:
        """Sigma fields hold one value. Elasticsearch matches an array field if *any* element
        matches, and ``not`` if *no* element does; a scalar column cannot say both. So every plain
        field read is assumed single-valued, as ECS defines these fields."""
        plain = {e: s.sigma for e, s in self.used.items() if s.kind == "plain" and s.fill and not s.array}
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
        """The Sigma form of ``node``; constants (:class:`SConst`) are folded away, so the result
        is a constant only when the whole condition is."""
        if isinstance(node, ir.And):
            return s_and(self.convert(t) for t in node.terms)
        if isinstance(node, ir.Or):
            return s_or(self.convert(t) for t in node.terms)
        if isinstance(node, ir.Not):
            return s_not(self.convert(node.expr))
        if isinstance(node, ir.Boolean):
            return SConst(node.value)
        with about(node):  # a refusal names the atom it is about (eqlc.broaden)
            return self.convert_atom(node)

    def convert_atom(self, node: ir.Expr) -> SExpr:
        """One atom (not and/or/not/constant): :meth:`atom`, with a missing value folded."""
        foreign = self.foreign_data_source(node)
        if foreign is not None:
            return foreign
        try:
            return self.with_fallback(node, self.atom(node))
        except _NoValue as nv:
            # Elasticsearch: a comparison with a field that has no value is false, `== null` true
            # (`not`/`!=` then flip it, as for any missing field)
            if isinstance(node, ir.IsNull):
                return SConst(True)
            if isinstance(node, (ir.Compare, ir.InSet, ir.WildcardMatch, ir.RegexMatch)):
                return SConst(False)
            raise Refused(
                f"`{eql_text(node)[:120]}`: ?{nv.field.name} reads as having no value here, and the value of "
                f"{type(node).__name__} on a missing value is not translated"
            ) from None

    def with_fallback(self, node: ir.Expr, out: SExpr) -> SExpr:
        """``out`` (the atom read on column D) for a field whose producer takes its value from D, or from
        a second column S when D has none (mapping.yaml ``fallback``): (D has a value and ``out``) or (D has
        none and ``out`` read on S). Exact for any atom on the one column, a null test included (both
        without value); the fixture adapter writes D, so S is the second branch's only reader."""
        from .logsource import fields_of

        fields = fields_of(node)
        if len(fields) != 1:
            return out
        spec = self.ls.field(next(iter(fields)), self.product, self.mapping.separators, self.codes)
        if spec is None or not spec.fallback or spec.kind != "plain":
            return out
        none = Item(spec.sigma, (), (None,) + tuple(SigmaText(a) for a in spec.absent))
        return s_or((s_and((s_not(none), out)), s_and((none, _renamed(out, spec.sigma, spec.fallback)))))

    def foreign_data_source(self, node: ir.Expr) -> Optional[SExpr]:
        """A test naming another data source than the endpoint agents an endpoint log source stands
        for, inside a larger expression (``not (data_stream.dataset == "crowdstrike.fdr" and ...)``,
        an exclusion for a third-party agent's paths): false for every event of the log source, under
        the assumption the log source already makes -- its events come from the endpoint agents of
        mapping.yaml ``endpoint_sources`` -- checked on each event. None when ``node`` is no such test
        (other values, a pattern an endpoint data set could match, or a log source chosen by data set)."""
        m = self.mapping
        if self.ls.datasets is not None or not m.endpoint_sources:
            return None
        if isinstance(node, ir.Compare) and node.op is ir.CompareOp.EQ and isinstance(node.right, ir.String):
            field, patterns, ci = node.left, [(node.right.value,)], False
        elif isinstance(node, ir.InSet) and all(isinstance(v, ir.String) for v in node.values):
            field, patterns, ci = node.expr, [(v.value,) for v in node.values], getattr(node, "case_insensitive", False)
        elif isinstance(node, ir.WildcardMatch):
            field, patterns, ci = node.expr, [normalise(p.parts) for p in node.patterns], node.case_insensitive
        else:
            return None
        names = {*m.dataset_fields, "event.module"}
        if isinstance(field, ir.Field) and field.name == "event.action" and not field.has_index:
            # an action only a third-party integration writes (mapping.yaml foreign_actions): exact values only
            if not (m.foreign_actions and all(len(p) == 1 and isinstance(p[0], str) and p[0] in m.foreign_actions
                                              for p in patterns)):
                return None
        elif not isinstance(field, ir.Field) or field.name not in names or field.has_index:
            return None
        if self.ls.field(field.name, self.product, m.separators, self.codes) is not None:
            return None
        sources = set(m.endpoint_sources)
        if any(parts_match(s, parts, True) for s in sources for parts in patterns):
            return None  # an endpoint agent's own data set (in any letter case): not decided here
        path = field.path

        def violated(event: dict) -> bool:
            # exactly the events on which the test is true: those the log source is taken not to hold
            return any(isinstance(v, str) and parts_match(v, parts, ci) for v in ecs_values(event, path) for parts in patterns)

        self.log.assume(
            f"`{eql_text(node)[:120]}` names a data source the log source {self.where()} does not stand for (its events "
            f"are the endpoint agents', targets/sigma/mapping.yaml endpoint_sources), so the test is read as false: "
            f"assumes no event of the log source has such a {field.name}",
            violated,
        )
        return SConst(False)

    def atom(self, node: ir.Expr) -> SExpr:
        if isinstance(node, ir.Compare):
            return self.compare(node)
        if isinstance(node, ir.IsNull):
            f, spec = self.spec(node.expr)
            if spec.kind == "constant":
                return SConst(False)
            if spec.kind == "tail" and set(spec.after) == set(spec.excludes) and spec.sigma not in self.mapping.composed:
                # under the tail assumption stated by spec() (its check sets apart an event whose path has a
                # file name its ECS field lacks, or the reverse), the name has no value exactly when the path has none
                return Item(spec.sigma, (), (None,))
            if spec.kind == "hex":
                # the producer sets the number exactly when the text is there (standard.yml: `if ProcessId != null`)
                return Item(spec.sigma, (), (None,))
            if spec.kind == "argv":
                # under the argv assumption spec() stated (its check sets apart an event with a command line but
                # no arguments), the arguments have no value exactly when the command line is missing or empty
                return Item(spec.sigma, (), (None, SigmaText("")))
            seps = [c for c in spec.excludes if c not in spec.after]
            if spec.kind == "tail" and len(spec.after) == 1 and seps and spec.sigma not in self.mapping.composed:
                # an extension: under the tail assumption spec() stated (its check also sets apart an event whose
                # path has an extension its ECS field lacks), it has no value exactly when the path has none, its last
                # segment holds no dot, or the path ends with the dot
                self._assume_regex_newline(spec.sigma)
                cls = re_not_class(seps + list(spec.after))
                last = f"(^|{re_alternatives(seps)}){cls}*$"
                return SOr((Item(spec.sigma, (), (None,)),
                            Item(spec.sigma, ("re",), (SigmaText(last), SigmaText(re_literal(spec.after[0], False) + "$")))))
            if spec.kind != "plain" or spec.value_map is not None:
                raise Refused(f"`{eql_text(node)}`: {f.name} is derived from {spec.sigma}, so its absence cannot be tested exactly")
            # a raw value that stands for none (mapping.yaml `absent`: the producer drops it) is no value too
            return Item(spec.sigma, (), (None,) + tuple(SigmaText(a) for a in spec.absent))
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
        raise Refused(f"`{eql_text(node)}` ({type(node).__name__}) has no Sigma equivalent")

    def compare(self, node: ir.Compare) -> SExpr:
        if isinstance(node.left, ir.FunctionCall) and node.left.name == "length":
            return self.length_at_least(node)
        if not isinstance(node.right, (ir.String, ir.Number, ir.Boolean)):
            raise Refused(f"`{eql_text(node)}`: Sigma compares a field with literal values only")
        f, spec = self.spec(node.left)
        rv = node.right.value
        if spec.kind == "argc":
            return self.argc(node, f, spec, node.op, rv)
        if spec.kind == "hex":
            if node.op is not ir.CompareOp.EQ:
                raise Refused(f"`{eql_text(node)}`: {f.name} is read from {spec.sigma}'s hex text; no numeric comparison")
            return self.hex_match(node, f, spec, rv)
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

    def length_at_least(self, node: ir.Compare) -> SExpr:
        """``length(F) > n`` / ``>= n``: F has a string value of at least m characters, the regex
        ``^.{m,}`` with `.` matching line breaks too (``re|s``; the {n,m} quantifier is in Sigma's regex
        flavor, sigma-appendix-modifiers v2.1.0). Elasticsearch's length() counts UTF-16 code units
        (Java's String.length()), a regex code points: stated, with a check that sets apart a value holding
        a character outside the Basic Multilingual Plane. A missing F is false on both sides (length of
        null is null). Other comparisons are refused."""
        call = node.left
        if (len(call.args) != 1 or not isinstance(call.args[0], ir.Field) or not isinstance(node.right, ir.Number)
                or isinstance(node.right.value, bool) or not float(node.right.value).is_integer()
                or node.op not in (ir.CompareOp.GT, ir.CompareOp.GE)):
            raise Refused(f"`{eql_text(node)}`: only a field can be compared in Sigma (no functions or arithmetic on "
                          f"the left); length() is translated only as `length(field) > n` or `>= n`")
        f, spec = self.spec(call.args[0])
        least = int(node.right.value) + (1 if node.op is ir.CompareOp.GT else 0)
        if spec.kind != "plain" or spec.value_map is not None or spec.number or (spec.spelling and least > 1):
            raise Refused(f"`{eql_text(node)}`: {f.name} is not read as its own text from {spec.sigma}, so its length "
                          f"has no Sigma equivalent")
        if least <= 0:  # every string, the empty one included: the field has a value
            return s_not(Item(spec.sigma, (), (None,) + tuple(SigmaText(a) for a in spec.absent)))
        path = f.path

        def violated(event: dict) -> bool:
            return any(isinstance(v, str) and any(ord(c) > 0xFFFF for c in v) for v in ecs_values(event, path))

        self.log.assume(
            f"length({f.name}) is read as the number of characters of {spec.sigma} (a regex): Elasticsearch counts "
            f"UTF-16 code units, so assumes its values hold no character outside the Basic Multilingual Plane",
            violated,
        )
        return Item(spec.sigma, ("re", "s"), (SigmaText("^.{%d,}" % least),))

    def inset(self, node: ir.InSet) -> SExpr:
        f, spec = self.spec(node.expr)
        if any(isinstance(v, ir.Null) for v in node.values):
            raise Refused(f"`{eql_text(node)}`: null inside an `in` list is not translated")
        strs = [v.value for v in node.values if isinstance(v, ir.String)]
        others = [v.value for v in node.values if not isinstance(v, ir.String)]
        if spec.kind == "argc":
            return s_or(self.argc(node, f, spec, ir.CompareOp.EQ, v.value) for v in node.values)
        if spec.kind == "hex":
            return s_or(self.hex_match(node, f, spec, v.value) for v in node.values)
        out: list[SExpr] = []
        if strs:
            out.append(self.string_match(node, f, spec, [(s,) if s else ("",) for s in strs], node.case_insensitive))
        if others:
            if spec.kind != "plain":
                raise Refused(f"`{eql_text(node)}`: {f.name} is derived from {spec.sigma} and compared with non-strings")
            out.append(Item(spec.sigma, (), tuple(others)))
        return out[0] if len(out) == 1 else SOr(tuple(out))

    def argc(self, node: ir.Expr, f: ir.Field, spec: FieldSpec, op: ir.CompareOp, value: object) -> SExpr:
        """``args_count OP n`` as a regex on the command line's words: ``n`` arguments joined by
        single spaces are ``n`` runs of non-spaces separated by ``n - 1`` single spaces."""
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise Refused(f"`{eql_text(node)}`: {f.name} is a number; compared here with {value!r}")
        if isinstance(value, float) and not value.is_integer():
            lo_f = {ir.CompareOp.GT: value, ir.CompareOp.GE: value}.get(op)
            hi_f = {ir.CompareOp.LT: value, ir.CompareOp.LE: value}.get(op)
            if op is ir.CompareOp.EQ:
                return SConst(False)
            lo = int(lo_f) + 1 if lo_f is not None else 1
            hi = int(hi_f) if hi_f is not None else None
        else:
            n = int(value)
            lo, hi = {
                ir.CompareOp.EQ: (n, n), ir.CompareOp.GE: (n, None), ir.CompareOp.GT: (n + 1, None),
                ir.CompareOp.LE: (None, n), ir.CompareOp.LT: (None, n - 1),
            }[op]
            lo = 1 if lo is None else lo
        # an event with a command line has at least one argument; args_count 0 or fewer is an event
        # without arguments, which the command line cannot show
        if lo < 1 or (hi is not None and hi < 1):
            raise Refused(f"`{eql_text(node)}`: an argument count below 1 cannot be read from {spec.sigma}")
        if hi is not None and hi < lo:
            return SConst(False)
        rep = f"{{{lo - 1}}}" if hi == lo else f"{{{lo - 1},}}" if hi is None else f"{{{lo - 1},{hi - 1}}}"
        self._assume_regex_newline(spec.sigma)
        if self._args_of(spec) in self.winargv:
            # arguments as Windows splits a plain-form line (win_argc_note): whole quoted or bare arguments
            # separated by runs of spaces or tabs, the line possibly ending with some
            return Item(spec.sigma, ("re",), (SigmaText(f"^{WIN_TOKEN}([ \t]+{WIN_TOKEN}){rep}[ \t]*$"),))
        return Item(spec.sigma, ("re",), (SigmaText(f"^[^ ]+( [^ ]+){rep}$"),))

    def string_match(self, node: ir.Expr, f: ir.Field, spec: FieldSpec, parts_list: Sequence[Sequence[Part]], ci: bool) -> SExpr:
        """``f`` matches any of the wildcard patterns (``parts``; exact values have no wildcard)."""
        parts_list = [normalise(p) for p in parts_list]

        def matcher(value: str, insensitive: bool) -> bool:
            return any(parts_match(value, parts, insensitive) for parts in parts_list)

        if spec.kind == "tail":
            return self.tail_match(node, f, spec, parts_list, ci, matcher)
        if spec.kind == "argv" and spec.ecs in self.winargv:
            return self.win_argv_match(node, f, spec, parts_list, ci)
        if spec.kind == "argv":
            return self.argv_match(node, f, spec, parts_list, ci, matcher)
        if spec.kind == "words":
            return self.words_match(node, f, spec, parts_list, ci)
        if spec.kind == "flags":
            return self.flags_match(node, f, spec, parts_list, ci)
        if spec.kind == "cases":
            return self.cases_match(node, f, spec, matcher)
        if spec.kind == "prefix":
            return self.prefix_match(node, f, spec, parts_list, ci, matcher)
        if spec.kind == "target":
            return self.target_match(node, f, spec, parts_list, ci, matcher)
        if spec.kind == "constant":
            return self.constant_match(node, f, spec, matcher)
        if spec.value_map is not None:
            return self.value_map_match(node, f, spec, matcher)
        if spec.from_string:
            return self.number_text_match(node, f, spec, parts_list)
        if spec.spelling:
            parts_list = self._spelled(node, f, spec, parts_list, ci)
            if not parts_list:
                return SConst(False)
        cmods = self.case_mods(ci, node, f, matcher)
        groups: dict[tuple[str, ...], list[Value]] = {}
        for parts in parts_list:
            mod, value = as_modifier_value(parts) if parts else (None, SigmaText(""))
            groups.setdefault(((mod,) if mod else ()) + cmods, []).append(value)
        items = [Item(spec.sigma, mods, tuple(dict.fromkeys(vals))) for mods, vals in groups.items()]
        return items[0] if len(items) == 1 else SOr(tuple(items))

    # ---- fields whose values the mapping translates ------------------------------------------
    def value_map_match(self, node: ir.Expr, f: ir.Field, spec: FieldSpec, matcher) -> SExpr:
        """A field the log source records under other values (winlogbeat's "Network" logon type is
        the Security log's LogonType 3, an event.action names event ids): the mapped values of every
        ECS value the condition accepts. The check finds events whose value the map does not know,
        or that the map sends to the same Sigma value as an accepted one although EQL rejects it."""
        vmap = spec.value_map or {}
        accepted = [k for k in vmap if matcher(k, getattr(node, "case_insensitive", False) or spec.fold)]
        sigma_vals = list(dict.fromkeys(v for k in accepted for v in vmap[k]))
        decided: Optional[bool] = None
        if not spec.fill and self.codes:
            # the query pins the event ids at its top level: an event.category/type fact of them is decided here
            pinned = {str(c) for c in self.codes}
            sigma_vals = [v for v in sigma_vals if str(v) in pinned]
            decided = True if pinned <= {str(v) for v in sigma_vals} else (False if not sigma_vals else None)
        if not sigma_vals:
            decided = False
        ci = getattr(node, "case_insensitive", False)
        wanted = set(sigma_vals)
        path = f.path

        def violated(event: dict) -> bool:
            if not spec.fill:  # an ECS array whose values the column's value determines (event.category of an id)
                have = {v for v in ecs_values(event, path) if isinstance(v, str)}
                column = {str(c) for c in self.column_values(spec.sigma, event)}
                return any((k in have) != bool({str(x) for x in vmap[k]} & column) for k in accepted)
            for v in ecs_values(event, path):
                eql = isinstance(v, str) and matcher(v, ci)
                sig = isinstance(v, str) and bool(set(spec.mapped(v)) & wanted)
                if eql != sig:
                    return True
                # an identity map onto a string column (o365's event.action is the record's Operation): an
                # unmapped spelling differing from a written value only in letter case is that record's
                # column value, which Sigma's case-insensitive match selects
                if isinstance(v, str) and not spec.mapped(v) and any(
                        isinstance(w, str) and w.lower() == v.lower() and w in vmap for w in wanted):
                    return True
            return False

        shown = ", ".join(f"{k} -> {_short(vmap[k])}" for k in accepted[:4]) + (", ..." if len(accepted) > 4 else "")
        if spec.fill:
            text = (f"{f.name} is read from {spec.sigma} through a value map ({shown}; {spec.source or 'targets/sigma/mapping.yaml'}): "
                    f"assumes the events' {f.name} values are among the mapped ones and that no other value the map sends to "
                    f"the same {spec.sigma} occurs")
        else:
            text = (f"{f.name} is decided by {spec.sigma} ({shown}; {spec.source or 'targets/sigma/mapping.yaml'}): assumes "
                    f"every event's {f.name} values are those of its {spec.sigma}")
        self.log.assume(text, violated)
        if decided is not None:
            return SConst(decided)
        return Item(spec.sigma, (), tuple(literal(v) if isinstance(v, str) else v for v in sigma_vals))

    def number_text_match(self, node: ir.Expr, f: ir.Field, spec: FieldSpec, parts_list) -> SExpr:
        """An ECS keyword holding the digits of a number the log source records as a number
        (event.code "4624" is EventID 4624): exact values only."""
        nums = []
        for parts in parts_list:
            if kind_of(parts).value != "exact":
                raise Refused(f"`{eql_text(node)[:120]}`: {f.name} holds the digits of {spec.sigma}; a wildcard on it is not translated")
            text = "".join(p for p in parts if isinstance(p, str))
            if text.isascii() and text.isdigit():
                nums.append(int(text))
        if not nums:
            return SConst(False)
        path = f.path

        def violated(event: dict) -> bool:
            return any(not (isinstance(v, str) and v.isascii() and v.isdigit()) for v in ecs_values(event, path))

        self.log.assume(
            f"{f.name} is {spec.sigma} written as decimal digits ({spec.source or 'targets/sigma/mapping.yaml'}): assumes "
            f"every {f.name} value is such a number (without leading zeros)",
            violated,
        )
        return Item(spec.sigma, (), tuple(dict.fromkeys(nums)))

    def constant_match(self, node: ir.Expr, f: ir.Field, spec: FieldSpec, matcher) -> SExpr:
        """A field every event of the log source holds with one value (network.protocol "dns" on
        DNS query events): the condition is decided here."""
        value = spec.sigma
        path = f.path

        def violated(event: dict) -> bool:
            return ecs_values(event, path) != [value]

        self.log.assume(
            f"every event of {self.where()} has {f.name} {value!r} ({spec.source or 'targets/sigma/mapping.yaml'}), so "
            f"conditions on it are decided when translating",
            violated,
        )
        return SConst(matcher(value, getattr(node, "case_insensitive", False)))

    def cases_match(self, node: ir.Expr, f: ir.Field, spec: FieldSpec, matcher) -> SExpr:
        """A field the producer derives from another (GitHub's event.type from its action): each
        ECS value stands for a condition on the Sigma fields (``cases`` in mapping.yaml)."""
        cases = dict(spec.cases or ())
        ci = getattr(node, "case_insensitive", False)
        # keys starting with "_" are named sub-conditions other cases combine (`any`, `all`, `not`), no ECS value
        accepted = [k for k in cases if not k.startswith("_") and matcher(k, ci)]
        for k in accepted:  # a value the producer derives from fields the mapping does not record
            if isinstance(cases[k], dict) and "refuse" in cases[k]:
                raise Refused(f"{f.name} value {k!r}: {' '.join(str(cases[k]['refuse']).split())}")
        out = s_or(self._case(cases, k, spec) for k in accepted) if accepted else SConst(False)
        path = f.path

        def violated(event: dict) -> bool:
            have = {v for v in ecs_values(event, path) if isinstance(v, str)}
            if any(v not in cases and matcher(v, ci) for v in have):
                return True  # a value the producer never writes, which the rule accepts: read false here
            return any((k in have) != _case_holds(cases, k, lambda col: self.column_values(col or spec.sigma, event))
                       for k in accepted)

        self.log.assume(
            f"{f.name} is derived from {spec.sigma} as {spec.source or 'the producer'} derives it (targets/sigma/mapping.yaml "
            f"`cases`): assumes every event's {f.name} values are exactly those its {spec.sigma} gives",
            violated,
        )
        return out

    def _case(self, cases: dict, key: str, spec: FieldSpec) -> SExpr:
        cond = cases[key]
        if isinstance(cond, dict) and "not" in cond:
            return s_and(s_not(self._case(cases, k, spec)) for k in cond["not"])
        if isinstance(cond, dict) and "any" in cond:
            return s_or(self._case(cases, k, spec) for k in cond["any"])
        if isinstance(cond, dict) and "all" in cond:
            return s_and(self._case(cases, k, spec) for k in cond["all"])
        items = []
        for k, v in (cond or {}).items():
            field_, *mods = k.split("|")
            vals = tuple(SigmaText(x) if isinstance(x, str) else x for x in (v if isinstance(v, list) else [v]))
            items.append(Item("" if field_ == KEYWORDS else field_, tuple(mods), vals))
        return s_and(items)


    def prefix_match(self, node: ir.Expr, f: ir.Field, spec: FieldSpec, parts_list, ci: bool, matcher) -> SExpr:
        """A field the producer cuts from the head of another (GitHub's github.category is the
        action before its first dot): exact values only."""
        sep, pattern = spec.after[0], spec.excludes[0] if spec.excludes else None
        import re as _re

        heads, regexes = [], []
        for parts in parts_list:
            if kind_of(parts).value != "exact":
                if pattern is not None:
                    raise Refused(f"`{eql_text(node)[:120]}`: {f.name} is the head of {spec.sigma}; a wildcard on it is not translated")
                # the head is the text before the first separator: the pattern's wildcards cannot cross it
                regexes.append(SigmaText("^" + wildcard_regex(parts, ci, [sep]) + re_literal(sep, False)))
                continue
            text = "".join(p for p in parts if isinstance(p, str))
            if pattern is None or _re.fullmatch(pattern, text):
                heads.append(literal(text + sep))
        if not heads and not regexes:
            return SConst(False)
        path = f.path

        def violated(event: dict) -> bool:
            vals = self.column_values(spec.sigma, event)
            head = None
            if vals and isinstance(vals[0], str):
                m = _re.match(f"({pattern or '[^' + _re.escape(sep) + ']*'}){_re.escape(sep)}", vals[0])
                head = m.group(1) if m else None
            return ecs_values(event, path) != ([head] if head is not None else [])

        self.log.assume(
            f"{f.name} is the part of {spec.sigma} before its first {sep!r} ({spec.source or 'targets/sigma/mapping.yaml'}): "
            f"assumes every event's {f.name} is exactly that",
            violated,
        )
        items: list[SExpr] = []
        if heads:
            items.append(Item(spec.sigma, ("startswith",) + self.case_mods(ci, node, f, matcher), tuple(dict.fromkeys(heads))))
        if regexes:  # anchored at the start only: no `$`, so no newline caveat
            items.append(Item(spec.sigma, ("re",), tuple(dict.fromkeys(regexes))))
        return items[0] if len(items) == 1 else SOr(tuple(items))

    def target_match(self, node: ir.Expr, f: ir.Field, spec: FieldSpec, parts_list, ci: bool, matcher) -> SExpr:
        """A pattern on the request target, read from its path and query columns: with no query the target
        is the path; with one, the separator lies in the text some ``*`` of the pattern covers, so the
        target matches iff for some ``*`` the path matches the pattern up to it (then anything) and the
        query matches anything then the pattern after it. A literal or ``?`` that could stand for the
        separator itself is refused (the split would not be exact)."""
        sep = spec.after[0]
        cmods = self.case_mods(ci, node, f, matcher)
        star = (ir.Wildcard.STAR,)

        def items(column: str, patterns: list) -> SExpr:
            groups: dict[tuple[str, ...], list] = {}
            for parts in patterns:
                if not parts:
                    groups.setdefault(cmods, []).append(SigmaText(""))
                elif all(p is ir.Wildcard.STAR for p in parts):  # any value, the empty one included
                    groups.setdefault((), []).append(compose(parts))
                else:
                    mod, value = as_modifier_value(parts)
                    groups.setdefault(((mod,) if mod else ()) + cmods, []).append(value)
            return s_or([Item(column, mods, tuple(dict.fromkeys(vals))) for mods, vals in groups.items()])

        path_only: list = []   # the path matches, whatever the query (the pattern ends with `*`)
        query_only: list = []  # the query matches, the path being any (the pattern starts with `*`)
        pairs: list[SExpr] = []
        for parts in parts_list:
            parts = tuple(normalise(parts))
            for p in parts:
                if p is ir.Wildcard.QUESTION or (isinstance(p, str) and sep in p):
                    raise Refused(f"`{eql_text(node)[:120]}`: the pattern can match the {sep!r} between {spec.sigma} and "
                                  f"{spec.query}, which {f.name} is split at; not translated")
            stars = [i for i, p in enumerate(parts) if p is ir.Wildcard.STAR]
            if parts and parts[-1] is ir.Wildcard.STAR:
                # no query, or the separator inside the last `*`: the path matches the whole pattern
                path_only.append(parts)
                stars = stars[:-1]
            else:
                pairs.append(s_and([items(spec.sigma, [parts]), Item(spec.query, (), (None,))]))
            for i in stars:
                head, tail = normalise(parts[:i] + star), normalise(star + parts[i + 1:])
                if head == star:
                    query_only.append(tail)
                else:
                    pairs.append(s_and([items(spec.sigma, [head]), items(spec.query, [tail])]))
        out: list[SExpr] = []
        if path_only:
            out.append(items(spec.sigma, path_only))
        if query_only:
            out.append(s_and([items(spec.sigma, [star]), items(spec.query, query_only)]))
        return s_or(out + pairs)

    def _spelled(self, node: ir.Expr, f: ir.Field, spec: FieldSpec, parts_list: Sequence[Sequence[Part]], ci: bool) -> list:
        """The patterns on ``spec.sigma`` that select exactly the events whose ECS ``f`` the
        condition's patterns select, for a field the log source spells otherwise (Sysmon's Details:
        "DWORD (0x00000001)" where Elastic's Sysmon pipeline writes "1"; spelling.py). An exact value
        becomes every Details value the pipeline turns into it; a pattern is kept when it selects
        every non-empty value (``*``, ``?*``), or has a literal character no number's decimal text
        and no DWORD/QWORD spelling holds (it then selects none of them on either side)."""
        alphabet = set("0123456789abcdefABCDEFxX-() DWORDQ")
        if ci:
            alphabet |= {c.swapcase() for c in alphabet}
        out: list = []
        for parts in parts_list:
            parts = tuple(parts)
            if all(isinstance(p, str) for p in parts):
                text = "".join(parts)  # type: ignore[arg-type]
                try:
                    out.extend((v,) for v in spelling.preimage(text))
                except ValueError as err:
                    raise Refused(f"`{eql_text(node)[:120]}`: {spec.sigma} spells the number {text} in too many ways ({err})") from None
                continue
            wild = [p for p in parts if not isinstance(p, str)]
            if len(wild) == len(parts) and ir.Wildcard.STAR in wild and wild.count(ir.Wildcard.QUESTION) <= 1:
                out.append(parts)
                continue
            if any(isinstance(p, str) and any(c not in alphabet for c in p) for p in parts):
                out.append(parts)
                continue
            shown = "".join(p if isinstance(p, str) else p.value for p in parts)
            raise Refused(
                f"`{eql_text(node)[:120]}`: {spec.sigma} spells numbers otherwise than ECS {f.name} "
                f"(\"DWORD (0x00000001)\" where Elastic's Sysmon pipeline writes \"1\"), and the pattern {shown!r} "
                f"could select a number on one side only")
        self._assume_spelling(f, spec)
        return out

    def _assume_spelling(self, f: ir.Field, spec: FieldSpec) -> None:
        path = f.path
        type_path = tuple(spec.spelling_type.split(".")) if spec.spelling_type else None

        def violated(event: dict) -> bool:
            types = ecs_values(event, type_path) if type_path else []
            data_type = types[0] if len(types) == 1 and isinstance(types[0], str) else None
            return any(spelling.impossible(v, data_type) for v in ecs_values(event, path))

        self.log.assume(
            f"{f.name} is read from {spec.sigma} as Elastic's Sysmon pipeline writes it (elastic/integrations windows "
            f"sysmon_operational ingest pipeline: \"DWORD (0x00000001)\" -> \"1\", \"QWORD (0x<a>-0x<b>)\" -> (a<<8)+b, "
            f"other text as it is): assumes no {f.name} value the pipeline never writes (empty, a DWORD/QWORD text, "
            f"a number type's value not in decimal)",
            violated,
        )

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
        if spec.spelling:
            raise Refused(f"`{eql_text(node)[:120]}`: {spec.sigma} spells numbers otherwise than ECS {f.name} "
                          f"(\"DWORD (0x00000001)\" where Elastic's Sysmon pipeline writes \"1\"); a regex on it is not translated")
        segment = None
        if spec.kind == "tail" and set(spec.after) == set(spec.excludes) and spec.sigma not in self.mapping.composed:
            segment = ("".join(spec.after), False)  # a file name: the path's last segment
        elif spec.kind == "argv" and spec.ecs in self.winargv:
            raise Refused(f"`{eql_text(node)[:120]}`: a regex on {f.name}, which is read from {spec.sigma} as Windows splits "
                          f"it, is not translated")
        elif spec.kind == "argv":
            segment = (" ", True)  # one argument: a word of the command line
        elif spec.kind != "plain":
            raise Refused(f"`{eql_text(node)}`: a regex on {f.name}, which is derived from {spec.sigma}, has no exact Sigma form")
        try:
            if segment is not None:
                # under the assumption spec() stated (the name is the path's tail; the arguments are the
                # command line's words), a whole-value match of the name/argument is a match of one segment
                r = sigma_regex.render_segment(node.patterns, node.case_insensitive, segment[0], segment[1])
            else:
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
            parts: tuple[Part, ...]
            if name == "startsWith":  # a prefix query: the literal is text
                parts = (lit, ir.Wildcard.STAR) if lit else (ir.Wildcard.STAR,)
            else:  # Elasticsearch's wildcard query "*lit" / "*lit*", lit unescaped (eqlc.native_wildcard)
                parts = native_parts(name, lit)
            # literal runs may hold '*'/'?'/'\\' as plain characters: parts keep them literal
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
