"""EQL conditions (IR) -> SPL ``search`` terms and ``where`` expressions with Elasticsearch's meaning.

Every IR condition gets an exact ``where`` form; some also get an exact ``search`` form and/or a
``prefilter`` (a search term that selects a *superset*, added in front of an exact where-condition
so Splunk can use its index). How each Elasticsearch rule is met:

* Case-sensitive ``==``/``in``/``like`` -> ``where`` ("The <eval-expression> is case-sensitive").
  Case-insensitive ``:``/``in~``/``like~`` -> search terms (searches are case-insensitive), or with
  ``options.case_insensitive: regex`` (and whenever a search term cannot say it: ``?`` wildcards,
  non-ASCII or control characters, CIDR-looking values) ``mvfind`` with explicit ``[aA]`` classes,
  which fold ASCII letters only, as Elasticsearch does.
* Arrays: Elasticsearch matches when any element matches, and ``not``/``!=`` when none does.
  A search term "matches any value"; in ``where`` every field test goes through ``mvfilter`` or
  ``mvfind``, which look at each value, wrapped in ``isnotnull()``/``isnull()`` so that a
  condition is never NULL and ``NOT`` keeps its meaning.
* Missing fields: ``not``/``!=`` match events without the field. ``NOT <search term>`` does so
  ("This includes events that do not have a value in the field"); ``isnull(mvfilter(...))`` is true
  for a missing field. ``!=`` of the search command is never used (it excludes missing fields).
* Numbers compare numerically with ``'f'==5``; a string that looks like a number is matched by
  regex, because whether eval compares two numeric-looking strings as numbers is not documented.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional

from eqlc import ir
from eqlc.lucene_regex import RegexError, Untranslatable, parse_regex, to_pattern
from eqlc.native_wildcard import query_parts
from eqlc.result import Refused, about

from . import literals as L
from .assumptions import CheckedNote, holds_numbers
from .profile import Dataset, Profile, checked_name


@dataclass
class Cond:
    """One translated condition. ``where`` is always set; ``search`` when a search term is exact.

    ``search_ci_fields`` are fields whose case-insensitive search terms hold letters with non-ASCII
    case variants (the folding assumption applies only if the search form is used).
    """

    where: str
    search: Optional[str] = None
    prefilter: Optional[str] = None
    search_ci_fields: frozenset = frozenset()
    notes: tuple[str, ...] = ()  # assumptions that hold whichever form is used
    atomic_where: bool = True
    atomic_search: bool = True


_FOLD_SENSITIVE = set("iksIKS")


def _paren_w(c: Cond) -> str:
    return c.where if c.atomic_where else f"({c.where})"


def _paren_s(text: str, atomic: bool) -> str:
    return text if atomic else f"({text})"


class ConditionBuilder:
    """Builds :class:`Cond` for one event query. ``dataset`` is the data model or add-on dataset the
    query reads (cim, windows profiles); None for the ecs profile, where ECS fields keep their names."""

    def __init__(self, profile: Profile, category: Optional[str] = None, dataset: Optional[Dataset] = None) -> None:
        self.profile = profile
        self.category = category
        self.dataset = dataset
        self.notes: list[str] = []  # assumptions of the field mapping itself (facts, value maps, ...)
        self.evals: dict[str, str] = {}  # eval field -> expression, computed before the where clause
        self.unsearchable: set[str] = set()  # eval fields: not available to the search command

    def note(self, text: str) -> None:
        """State an assumption of the mapping. A check only concerns the events the dataset holds (an
        event of another category is in no row the search reads)."""
        check = getattr(text, "violated", None)
        if check is not None and self.dataset is not None:
            from .adapter import in_category

            ds = self.dataset
            text = CheckedNote(str(text), lambda event, c=check: in_category(event, ds) and c(event))
        if text not in self.notes:
            self.notes.append(text)

    def searchable(self, name: str) -> bool:
        return name not in self.unsearchable and self.profile.bare_search_name(name)

    # ---- fields ------------------------------------------------------------------------------
    def field_name(self, f: ir.Field) -> str:
        if f.has_index:
            raise Refused(f"array index in {f.name}: Elasticsearch does not support array indexes and eqlc does not translate them", f)
        if self.dataset is None:
            return self.profile.splunk_field(f.name)
        from . import dataset_leaves

        return dataset_leaves.plain_name(self, f)

    # ---- entry ---------------------------------------------------------------------------------
    def build(self, e: ir.Expr) -> Cond:
        if isinstance(e, ir.And):
            return self.conj([self.build(t) for t in e.terms])
        if isinstance(e, ir.Or):
            return self.disj([self.build(t) for t in e.terms])
        if isinstance(e, ir.Not):
            with about(e.expr):  # a refusal names the atom it is about (eqlc.broaden)
                return self.negate(e.expr)
        if isinstance(e, ir.Boolean):
            return Cond("true()" if e.value else "false()")
        with about(e):
            return self.build_atom(e)

    def build_atom(self, e: ir.Expr) -> Cond:
        if self.dataset is not None:
            from . import dataset_leaves

            special = dataset_leaves.special_leaf(self, e)
            if special is not None:
                return special
        if isinstance(e, ir.IsNull):
            f = self._field_operand(e.expr, "== null")
            return Cond(f"isnull({L.field_ref(self.field_name(f))})")
        if isinstance(e, ir.Compare):
            return self.compare(e)
        if isinstance(e, ir.InSet):
            f = self._field_operand(e.expr, "in")
            return self.inset(f, e.values, e.case_insensitive)
        if isinstance(e, ir.WildcardMatch):
            f = self._field_operand(e.expr, ":/like")
            return self.wildcard(f, [p.parts for p in e.patterns], e.case_insensitive)
        if isinstance(e, ir.RegexMatch):
            f = self._field_operand(e.expr, "regex")
            return self.regex(f, e.patterns, e.case_insensitive)
        if isinstance(e, ir.FunctionCall):
            return self.function(e)
        if isinstance(e, ir.Field):
            raise Refused(f"a bare field ({e.name}) used as a condition has no exact SPL equivalent")
        raise Refused(f"{type(e).__name__} is not supported as a condition by the SPL target")

    def _field_operand(self, e: ir.Expr, op: str) -> ir.Field:
        if isinstance(e, ir.Field):
            return e
        if isinstance(e, ir.FunctionCall):
            raise Refused(f"'{op}' over the function {e.name}() runs as an Elasticsearch script per array element; the SPL target does not translate it")
        raise Refused(f"'{op}' over a computed value ({type(e).__name__}) is not supported by the SPL target")

    # ---- boolean structure -------------------------------------------------------------------
    def conj(self, cs: list[Cond]) -> Cond:
        # constants a dataset's facts decided: false() decides the conjunction, true() drops out
        if any(c.where == "false()" for c in cs):
            return Cond("false()")
        cs = [c for c in cs if c.where != "true()"] or [Cond("true()")]
        if len(cs) == 1:
            return cs[0]
        where = " AND ".join(_paren_w(c) for c in cs)
        search = None
        if all(c.search is not None for c in cs):
            search = " ".join(_paren_s(c.search, c.atomic_search) for c in cs)
        pres = [c.prefilter if c.search is None else c.search for c in cs]
        pres = [p for p in pres if p]
        prefilter = " ".join(f"({p})" for p in pres) if pres else None
        return Cond(where, search, prefilter, frozenset().union(*(c.search_ci_fields for c in cs)),
                    tuple(n for c in cs for n in c.notes), atomic_where=False, atomic_search=False)

    def disj(self, cs: list[Cond]) -> Cond:
        if any(c.where == "true()" for c in cs):
            return Cond("true()")
        cs = [c for c in cs if c.where != "false()"] or [Cond("false()")]
        if len(cs) == 1:
            return cs[0]
        where = " OR ".join(_paren_w(c) for c in cs)
        search = None
        if all(c.search is not None for c in cs):
            search = " OR ".join(_paren_s(c.search, c.atomic_search) for c in cs)
        pres = [c.search if c.search is not None else c.prefilter for c in cs]
        prefilter = " OR ".join(f"({p})" for p in pres) if all(pres) else None
        return Cond(where, search, prefilter, frozenset().union(*(c.search_ci_fields for c in cs)),
                    tuple(n for c in cs for n in c.notes), atomic_where=False, atomic_search=False)

    def negate(self, inner: ir.Expr) -> Cond:
        special = None
        if self.dataset is not None:
            from . import dataset_leaves

            special = dataset_leaves.special_leaf(self, inner)
        if special is not None:
            c = special
        elif isinstance(inner, ir.IsNull):
            f = self._field_operand(inner.expr, "!= null")
            return Cond(f"isnotnull({L.field_ref(self.field_name(f))})")
        elif isinstance(inner, ir.Compare) and _is_script(inner.left):
            return self.script_compare(inner, negated=True)
        else:
            c = self.build(inner)
        if c.where in ("true()", "false()"):
            return Cond("false()" if c.where == "true()" else "true()")
        where = f"NOT {_paren_w(c)}"
        search = f"NOT {_paren_s(c.search, c.atomic_search)}" if c.search is not None else None
        return Cond(where, search, None, c.search_ci_fields, c.notes)

    # ---- comparisons -------------------------------------------------------------------------
    def compare(self, e: ir.Compare) -> Cond:
        left, right, op = e.left, e.right, e.op
        if isinstance(right, ir.Field) and not isinstance(left, ir.Field):
            left, right = right, left
            op = {ir.CompareOp.LT: ir.CompareOp.GT, ir.CompareOp.GT: ir.CompareOp.LT,
                  ir.CompareOp.LE: ir.CompareOp.GE, ir.CompareOp.GE: ir.CompareOp.LE}.get(op, op)
        if _is_script(left):
            return self.script_compare(ir.Compare(op, left, right), negated=False)
        f = self._field_operand(left, op.value)
        if not isinstance(right, ir.LITERAL_TYPES):
            raise Refused(f"comparing {f.name} with a non-literal is not supported (Elasticsearch rejects field-to-field comparisons)")
        name = self.field_name(f)
        ref = L.field_ref(name)
        if op is ir.CompareOp.EQ:
            if isinstance(right, ir.String):
                return self.equal_strings(name, [right.value])
            if isinstance(right, ir.Number):
                return Cond(f"isnotnull(mvfilter({ref}=={L.number(right.value)}))")
            if isinstance(right, ir.Boolean):
                text = "true" if right.value else "false"
                return Cond(f"isnotnull(mvfilter({ref}=={L.eval_string(text)}))",
                            prefilter=self._prefilter_values(name, [text]))
            raise Refused(f"comparison of {f.name} with {type(right).__name__}")
        if isinstance(right, ir.Number):
            sym = op.value
            note = (f"{f.name} {sym} {L.number(right.value)} compares numbers: assumes {f.name} holds numbers, as its ECS "
                    "type does (a string value is compared as text by Elasticsearch on a keyword field; the search keeps "
                    "only numeric values, isnum())")
            return Cond(f"isnotnull(mvfilter(isnum({ref}) AND {ref}{sym}{L.number(right.value)}))",
                        notes=(CheckedNote(note, holds_numbers(f.name)),))
        raise Refused(f"ordering comparison of {f.name} with a {type(right).__name__.lower()}: Splunk compares numeric-looking values numerically and others lexicographically, Elasticsearch compares keywords as strings")

    def equal_strings(self, name: str, vals: list[str]) -> Cond:
        """Case-sensitive equality with any of ``vals`` (any value of the field)."""
        ref = L.field_ref(name)
        plain = [v for v in vals if not L.has_control(v) and not _numeric_like(v)]
        if len(plain) == len(vals):
            if len(vals) == 1:
                where = f"isnotnull(mvfilter({ref}=={L.eval_string(vals[0])}))"
            else:
                where = f"isnotnull(mvfilter(in({ref}, {', '.join(L.eval_string(v) for v in vals)})))"
        else:
            rx = L.anchored([L.regex_literal(v) for v in vals])
            where = f"isnotnull(mvfind({ref}, {L.eval_string(rx)}))"
        pre = self._prefilter_values(name, vals)
        # a value without letters has no other case: the case-insensitive search term is exact
        # ("1" does not match "1.0": the search command compares the text)
        exact = pre if pre is not None and not any(c.lower() != c.upper() for v in vals for c in v) else None
        return Cond(where, search=exact, prefilter=pre)

    def _prefilter_values(self, name: str, vals: list[str]) -> Optional[str]:
        """A case-insensitive search term that every case-sensitive match also satisfies."""
        if not self.profile.prefilter or not self.searchable(name):
            return None
        try:
            texts = [L.search_pattern([v]) for v in vals]
        except ValueError:
            return None
        if any("*" in v for v in vals):
            return None
        return _search_term(name, texts)

    def inset(self, f: ir.Field, values: tuple, ci: bool) -> Cond:
        name = self.field_name(f)
        ref = L.field_ref(name)
        strings = [v.value for v in values if isinstance(v, ir.String)]
        others = [v for v in values if not isinstance(v, ir.String)]
        conds: list[Cond] = []
        if strings:
            if ci:
                conds.append(self.wildcard(f, [(s,) if s else () for s in strings], True, literal=True))
            else:
                conds.append(self.equal_strings(name, strings))
        nums = [v for v in others if isinstance(v, ir.Number)]
        if nums:
            conds.append(Cond(f"isnotnull(mvfilter(in({ref}, {', '.join(L.number(n.value) for n in nums)})))"))
        bools = [v for v in others if isinstance(v, ir.Boolean)]
        if bools:
            conds.append(self.equal_strings(name, ["true" if b.value else "false" for b in bools]))
        if any(isinstance(v, ir.Null) for v in others):
            raise Refused(f"null inside an in-list for {f.name}")
        if not conds:
            return Cond("false()")
        return self.disj(conds)

    # ---- wildcards ---------------------------------------------------------------------------
    def wildcard(self, f: ir.Field, patterns: list[tuple], ci: bool, literal: bool = False) -> Cond:
        """Any of ``patterns`` (tuples of literal strings and Wildcard) matches any field value.

        ``literal`` marks in~ values: no wildcards, and a ``*`` inside is a literal character.
        """
        name = self.field_name(f)
        ref = L.field_ref(name)
        if not patterns:
            return Cond("false()")
        if any(p == (ir.Wildcard.STAR,) for p in patterns):
            return Cond(f"isnotnull({ref})")
        notes: list[str] = []
        if ci:
            search = None
            fold_fields: frozenset = frozenset()
            if self.profile.case_insensitive == "search" and self.searchable(name):
                try:
                    texts = []
                    for p in patterns:
                        if literal and any("*" in part for part in p if isinstance(part, str)):
                            raise ValueError("literal *")
                        texts.append(L.search_pattern(p) if p else _raise())
                    search = _search_term(name, texts)
                    if any(c in _FOLD_SENSITIVE for t in texts for c in t):
                        fold_fields = frozenset([name])
                except ValueError:
                    search = None
            where = _mvfind_wildcards(ref, patterns, True, name, notes)
            return Cond(where, search, None, fold_fields, tuple(notes))
        # case-sensitive: equality for exact patterns, like() where possible, else one regex
        exact = [p[0] if p else "" for p in patterns if all(isinstance(x, str) for x in p)]
        wild = [p for p in patterns if not all(isinstance(x, str) for x in p)]
        try:
            likes = [L.like_pattern(p) for p in wild]
        except ValueError:
            likes = None
        prefilter = self._wild_prefilter(name, patterns)
        if likes is not None and all(not L.has_control(v) and not _numeric_like(v) for v in exact):
            preds = []
            if len(exact) == 1:
                preds.append(f"{ref}=={L.eval_string(exact[0])}")
            elif exact:
                preds.append(f"in({ref}, {', '.join(L.eval_string(v) for v in exact)})")
            preds.extend(f"like({ref}, {L.eval_string(p)})" for p in likes)
            return Cond(f"isnotnull(mvfilter({' OR '.join(preds)}))", prefilter=prefilter)
        where = _mvfind_wildcards(ref, patterns, False, name, notes)
        return Cond(where, prefilter=prefilter, notes=tuple(dict.fromkeys(notes)))

    def _wild_prefilter(self, name: str, patterns: list[tuple]) -> Optional[str]:
        if not self.profile.prefilter or not self.searchable(name):
            return None
        texts = []
        for p in patterns:
            loose = tuple(ir.Wildcard.STAR if x is ir.Wildcard.QUESTION else x for x in p)
            if any(isinstance(x, str) and "*" in x for x in p):
                return None
            try:
                texts.append(L.search_pattern(loose))
            except ValueError:
                return None
        return _search_term(name, texts)

    # ---- regex -------------------------------------------------------------------------------
    def regex(self, f: ir.Field, patterns: tuple[str, ...], ci: bool) -> Cond:
        name = self.field_name(f)
        try:
            body = to_pattern(patterns, ci, flavor="pcre")
        except Untranslatable as err:
            raise Refused(f"regex on {f.name}: {err}") from None
        except RegexError as err:
            raise Refused(f"regex on {f.name} is not a valid Lucene regular expression: {err}") from None
        rx = f"^(?:{body})\\z"
        notes = []
        if "(?s:.)" in body or "[^" in body or "\\x{" in body:
            notes.append(_utf8_note(name))
        for p in patterns:
            parse_regex(p)
        return Cond(f"isnotnull(mvfind({L.field_ref(name)}, {L.eval_string(rx)}))", notes=tuple(notes))

    # ---- functions ---------------------------------------------------------------------------
    def function(self, e: ir.FunctionCall) -> Cond:
        n = e.name
        if n in ("startsWith", "endsWith", "stringContains"):
            if len(e.args) != 2 or not isinstance(e.args[0], ir.Field) or not isinstance(e.args[1], ir.String):
                raise Refused(f"{n}() is translated only as {n}(field, \"literal\")")
            # startsWith: a prefix query (the literal is text); endsWith/stringContains: Elasticsearch's
            # wildcard query "*lit" / "*lit*", lit unescaped (eqlc.native_wildcard.query_parts).
            # Literal runs may hold '*' / '?' / '\\' as characters.
            parts = query_parts(n, e.args[1].value)
            return self.wildcard(e.args[0], [parts], e.case_insensitive, literal=True)
        if n == "cidrMatch":
            if not e.args or not isinstance(e.args[0], ir.Field) or not all(isinstance(a, ir.String) for a in e.args[1:]):
                raise Refused("cidrMatch() is translated only as cidrMatch(field, \"cidr\", ...)")
            f = e.args[0]
            name = self.field_name(f)
            ref = L.field_ref(name)
            import ipaddress
            for a in e.args[1:]:
                try:
                    ipaddress.ip_network(a.value, strict=False)
                except ValueError:
                    raise Refused(f"cidrMatch on {f.name}: {a.value!r} is not a CIDR block") from None
            preds = " OR ".join(f"cidrmatch({L.eval_string(a.value)}, {ref})" for a in e.args[1:])
            note = (f"cidrMatch on {f.name}: Splunk's cidrmatch() is taken to treat IPv4-mapped IPv6 addresses "
                    "(::ffff:a.b.c.d) as Elasticsearch's ip type does; other addresses match identically")
            return Cond(f"isnotnull(mvfilter({preds}))", notes=(note,))
        raise Refused(f"function {n}() has no exact SPL translation in eqlc")

    def script_compare(self, e: ir.Compare, negated: bool) -> Cond:
        """``length(f) <op> n``: Elasticsearch runs it as a script per array element (not(null) is
        false), which ``mvfilter`` over ``len()`` reproduces value by value."""
        fn = e.left
        if not (isinstance(fn, ir.FunctionCall) and fn.name == "length" and len(fn.args) == 1
                and isinstance(fn.args[0], ir.Field) and isinstance(e.right, ir.Number)):
            raise Refused(f"a comparison over {_describe(e.left)} runs as an Elasticsearch script; the SPL target translates only length(field) <op> number")
        name = self.field_name(fn.args[0])
        pred = f"len({L.field_ref(name)}){'==' if e.op is ir.CompareOp.EQ else e.op.value}{L.number(e.right.value)}"
        if negated:
            pred = f"NOT ({pred})"
        note = (f"length({fn.args[0].name}) counts UTF-16 code units in Elasticsearch and characters in Splunk's len(): "
                "values with characters outside the Basic Multilingual Plane would differ; it assumes the field holds text, "
                "as its ECS type keyword does (Splunk has no types: len() also counts the digits of a number)")
        return Cond(f"isnotnull(mvfilter({pred}))", notes=(note,))


def _raise():
    raise ValueError("empty value")


def _search_term(name: str, texts: list[str]) -> str:
    if len(texts) == 1:
        return f"{name}={L.search_string(texts[0])}"
    return f"{name} IN ({', '.join(L.search_string(t) for t in texts)})"


def _numeric_like(v: str) -> bool:
    """Conservative: anything eval might read as a number (or with padding spaces)."""
    if v.strip() != v:
        return True
    try:
        float(v)
        return True
    except ValueError:
        return False


def _is_script(e: ir.Expr) -> bool:
    return isinstance(e, (ir.FunctionCall, ir.Arithmetic, ir.Negate))


def _describe(e: ir.Expr) -> str:
    if isinstance(e, ir.FunctionCall):
        return f"{e.name}()"
    return type(e).__name__.lower()


def _mvfind_wildcards(ref: str, patterns: list, ci: bool, name: str, notes: list[str]) -> str:
    """Some value of ``ref`` matches one of the wildcard ``patterns`` (their parts) as a whole:
    ``mvfind`` with one anchored PCRE of the alternatives. A one-character wildcard adds the UTF-8
    note for ``name`` to ``notes`` (once)."""
    alts = []
    single = False
    for p in patterns:
        body, one = L.wildcard_regex(p, ci)
        alts.append(body)
        single = single or one
    if single:
        notes.append(_utf8_note(name))
    return f"isnotnull(mvfind({ref}, {L.eval_string(L.anchored(alts))}))"


def _utf8_note(name: str) -> str:
    return (f"one-character wildcards on {name} are written as PCRE '.', which matches one character only if "
            "Splunk runs PCRE in UTF-8 mode (otherwise one byte): a non-ASCII character at such a position would differ")
