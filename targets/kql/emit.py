"""Boolean conditions: IR expressions -> Kusto predicates with Elasticsearch's meaning.

How Elasticsearch's meaning is kept (see shared/research/eql-semantics.md §0-§3):

* A comparison of a field with literals is a Lucene query there: two-valued, and ``not`` is
  ``must_not``, so ``not f == "x"`` matches events without ``f``. Kusto stores a missing string as
  ``""`` (never null), so a string predicate is two-valued as well and ``not(...)`` already
  matches missing values -- *unless* the predicate itself is true for ``""`` (``f == ""``,
  ``f : "*"``, a regex matching the empty string). Such predicates get ``isnotempty(f) and``,
  and the translation states that an ECS ``""`` is treated as missing (Kusto cannot tell them
  apart).
* Numeric, datetime and bool columns can be null in Kusto; a predicate over them under a ``not``
  gets ``isnotnull(c) and`` so that ``not`` matches missing values as ``must_not`` does.
* Functions over functions and arithmetic are Painless scripts in Elasticsearch: three-valued,
  a missing field makes the script false *even under a ``not`` written around the script*. Such
  "script leaves" get an explicit presence guard on every field they read, inside the negation.
* Fields the table implies (``facts``: event.category, event.type, event.action) are decided from
  the profile and stated; value-mapped fields translate literal by literal; anything else with
  no column is refused by name.
* ``process.args``-like arrays the profile reads from a command line (``argv_of``) become "some
  space-separated word matches" predicates that are false on an empty line, so ``not`` keeps
  ``must_not``'s meaning; they are exact under the assumption :mod:`eqlc.targets.kql.argv` states.
"""

from __future__ import annotations

import re
import dataclasses
from dataclasses import dataclass, field
from typing import Optional, Union

import re2

from eqlc import ir, windows_argv
from eqlc.lucene_regex import RegexError, Untranslatable, to_pattern
from eqlc.native_wildcard import NativePattern, native_parts
from eqlc.result import Notes, Refused, about

from . import argv, certificates, cidr, json_list, ordering, raw_tables, shapes, syntax
from .absent import Absent, decide, truth, with_value
from .argv import Derived
from .hives import Respelt, respell_leaf
from .profile import FieldMap, Profile, Table

Cond = Union[str, bool]  # Kusto text, or a constant the emitter already decided

NATIVE_FUNCTIONS = {"startswith", "endswith", "stringcontains", "cidrmatch"}


@dataclass
class Fact:
    """A leaf decided from the table's facts: the translation assumes ``leaf`` is ``value`` for
    every row (the fixture adapter uses this to know which events the assumption covers)."""

    leaf: ir.Expr
    value: bool
    table: Optional[str] = None  # the table whose rows the fact is about (None: every event is checked)
    # the condition whose rows the fact is about (None: every row): a raw table's sequence step
    # states its category for the rows that step selects (raw_tables.assume_category)
    when: Optional[ir.Expr] = None


@dataclass(frozen=True)
class Mapped:
    """A leaf on a value-mapped field (event.type -> ActionType), translated as ``column`` being one
    of ``allowed`` (``isempty`` for a null test: ``allowed`` is ``("",)``). The translation states
    that the two agree, and that the field's ECS values are spelled as the value map lists them
    (``spellings``; none for a null test); the adapter leaves out events where either is false (an
    event whose event.action pins ActionType while its event.type is missing; ``"LINUX"`` where the
    map lists ``linux``, which a case-insensitive rule matches and the column test does not)."""

    leaf: ir.Expr
    table: str
    column: str
    allowed: tuple[str, ...]
    spellings: tuple[str, ...] = ()


@dataclass(frozen=True)
class Routed:
    """A union of two tables of one category split by one field (``rows_need``, Table.others_in):
    the events with a value in ``field`` are rows of ``to`` (_Im_Dns: the DNS lookups, with
    dns.question.name) and not of ``table`` (imNetworkSession), whose leg reads the fields of
    ``sets`` (dns) as absent; the events without it are rows of ``table`` only. The fixture adapter
    builds the two tables so (:func:`eqlc.targets.kql.adapter.load`)."""

    table: str
    field: str
    to: str
    sets: tuple[str, ...]


@dataclass
class Checks:
    """What a translation assumed of each event, for the fixture adapter to check: leaves decided
    from table facts, fields read from a command line, and fields computed by a Kusto expression
    (``expr`` in the profile) that the translation takes to equal the ECS field, and fields compared
    with Kusto's case-insensitive operators (whose values are assumed free of non-ASCII letters
    that case mappings fold to ASCII)."""

    facts: list[Fact] = field(default_factory=list)
    derived: list[Derived] = field(default_factory=list)
    computed: list[str] = field(default_factory=list)
    folded: list[str] = field(default_factory=list)
    mapped: list[Mapped] = field(default_factory=list)
    spelled: list[Respelt] = field(default_factory=list)  # conditions on a field read with the table's hive spelling
    emptied: list[str] = field(default_factory=list)  # fields whose "" the query reads as missing
    columns: list[str] = field(default_factory=list)  # the table columns the query reads
    absent: list[Absent] = field(default_factory=list)  # leaves on optional fields the table has no column for
    keyed: list[str] = field(default_factory=list)  # identifier fields a join key reads with their scope (entity.py)
    plan: Optional[object] = None  # a sequence query's scan.SequencePlan (the adapter runs its legs)
    signed: list = field(default_factory=list)  # certificates.Signed: leaves read from a lookup keyed by a file hash
    routed: list[Routed] = field(default_factory=list)  # tables of one category split by a field (a union's legs)

    def merge(self, other: "Checks") -> None:
        self.routed.extend(r for r in other.routed if r not in self.routed)
        self.signed.extend(s for s in other.signed if s not in self.signed)
        self.keyed.extend(k for k in other.keyed if k not in self.keyed)
        self.absent.extend(a for a in other.absent if a not in self.absent)
        self.columns.extend(c for c in other.columns if c not in self.columns)
        self.mapped.extend(m for m in other.mapped if m not in self.mapped)
        self.spelled.extend(s for s in other.spelled if s not in self.spelled)
        self.facts.extend(other.facts)
        self.derived.extend(d for d in other.derived if d not in self.derived)
        self.computed.extend(c for c in other.computed if c not in self.computed)
        self.folded.extend(c for c in other.folded if c not in self.folded)
        self.emptied.extend(c for c in other.emptied if c not in self.emptied)


@dataclass
class Emitter:
    profile: Profile
    table: Table
    notes: Notes
    facts: list[Fact] = field(default_factory=list)
    lookups: dict[str, object] = field(default_factory=dict)
    prep: list[str] = field(default_factory=list)  # mv-apply stages for array columns
    derived: list[Derived] = field(default_factory=list)  # fields read from a command line
    computed: list[str] = field(default_factory=list)  # fields read through a profile `expr`
    folded: list[str] = field(default_factory=list)  # fields compared with Kusto's ci operators
    mapped: list[Mapped] = field(default_factory=list)  # leaves on value-mapped fields
    spelled: list[Respelt] = field(default_factory=list)  # conditions on fields read with the table's hive spelling
    emptied: list[str] = field(default_factory=list)  # fields whose "" the query reads as missing
    columns: list[str] = field(default_factory=list)  # table columns the query reads
    absent: list[Absent] = field(default_factory=list)  # leaves on optional fields with no column
    signed: list = field(default_factory=list)  # certificates.Signed: leaves on fields of a keyed lookup
    # a leg of a multi-category union (query.union_query): a field that this table has no column for
    # but another table of the profile has is a field of another category, read as absent here
    leg: bool = False
    # a leg of a union split by a field (Routed): the events with a value in it are rows of the
    # other leg, so this leg reads the fields of its field sets (dns) as absent
    routed: Optional[Routed] = None
    # the event ids every row a sequence leg reads has (raw_tables.leg_event_ids; None: any): its
    # per-event-id fields are rendered for those ids only (raw_tables.extended)
    event_ids: Optional[frozenset[int]] = None
    _folded_now: bool = False
    _arrays: int = 0
    _top: set = field(default_factory=set)  # ids of the condition's top-level conjuncts
    _top_terms: tuple = ()  # the condition's top-level conjuncts
    _winargv: frozenset = frozenset()  # argv fields read as Windows splits a command line (argv.py)

    _STATE = ("facts", "prep", "derived", "computed", "folded", "mapped", "spelled", "emptied", "columns", "absent", "signed")

    def _mark(self) -> tuple:
        """The emitter's state, to undo what a refused term of a junction stated (see :meth:`junction`)."""
        return ({k: len(getattr(self, k)) for k in self._STATE}, dict(self.lookups), self._arrays,
                len(self.notes.assumptions))

    def _restore(self, mark: tuple) -> None:
        sizes, lookups, arrays, notes = mark
        for k, n in sizes.items():
            del getattr(self, k)[n:]
        self.lookups = lookups
        self._arrays = arrays
        del self.notes.assumptions[notes:]

    # ---- fields -----------------------------------------------------------------------------
    def fieldmap(self, f: ir.Field) -> FieldMap:
        if f.has_index:
            raise Refused(f"array index in field {f.name}: Elasticsearch rejects it and it has no Kusto column")
        fm = self.table.fields.get(f.name)
        if fm is None:
            if f.name in self.table.facts:
                raise Refused(f"{f.name} is implied by {self.table.name} but is used here in a way only a literal comparison can decide")
            if ".code_signature." in f.name and any(m.lookup is not None and m.key for m in self.table.fields.values()):
                # a signature field the lookup has no column for (exists, status, signing_id) in a rule
                # about non-Windows hosts: the lookup holds no row for any file the rule selects, whatever
                # the field, which is the reason that stays when a column is found
                why = certificates.os_refusal(f.name, self._top_terms)
                if why:
                    raise Refused(why)
                if f.name.endswith(".code_signature.exists"):
                    raise Refused(certificates.exists_refusal(f.name, self.table))
            opt = "optional field ?" if f.optional else "field "
            why = self.table.unmapped.get(f.name)
            raise Refused(f"{opt}{f.name} has no column in {self.table.name} (profile {self.profile.name})"
                          + (f": {why}" if why else ""))
        windows_argv = bool(fm.argv_of) and fm.field in self._winargv
        if fm.argc_of and fm.argc_of.rsplit(".", 1)[0] + ".args" in self._winargv and fm.argc_of in self.table.fields:
            # the count of arguments read as Windows splits the command line (argv.win_argc_note)
            line = self.table.fields[fm.argc_of].text
            fm = dataclasses.replace(fm, expr=argv.win_argc_expr(line), note=argv.win_argc_note(fm.field, line, fm.argc_of))
            windows_argv = True
        if windows_argv and fm.argv_of:
            self.notes.assume(argv.win_argv_note(fm.field, fm.text, fm.argv_of or ""))
        elif fm.note:
            self.notes.assume(fm.note)
        if fm.lookup is None or not fm.key:
            # a lookup's column (DeviceInfo.OSPlatform) counts as read too: the adapter leaves out
            # an event whose value that column cannot hold (several OS types on one event)
            self.columns.extend(c for c in (fm.columns or ((fm.column,) if fm.column else ())) if c not in self.columns)
        if fm.derived_from_command_line:
            source = fm.argv_of or fm.argc_of or ""
            self.fieldmap(ir.Field(tuple(source.split("."))))  # the command line's own caveats apply as well
            d = Derived(fm.field, source, count=fm.argc_of is not None, windows=windows_argv)
            if d not in self.derived:
                self.derived.append(d)
        elif (fm.expr or fm.value_when) and fm.field not in self.computed and not (fm.object_path and fm.is_array) \
                and not fm.words_of and not fm.key_list and not fm.list_key:  # words_of: the adapter writes the column from the words
            # (raw_tables.fill_words); key_list: from the values (json_list.to_json), checked by PlainValues
            self.computed.append(fm.field)
        if fm.ip_text:  # an ip field compared as a column's text (sentinel.yaml source.ip)
            self.notes.assume(raw_tables.ip_text_note(fm))
            ip = raw_tables.IpText(fm.field)
            if ip not in self.derived:
                self.derived.append(ip)  # type: ignore[arg-type]
        if fm.java_map:  # a Java rendering of a JSON column (sentinel.yaml aws.cloudtrail.request_parameters)
            from . import cloudtrail
            self.notes.assume(cloudtrail.note(fm))
            rendered = cloudtrail.Rendered(fm.field)
            if rendered not in self.derived:
                self.derived.append(rendered)  # type: ignore[arg-type]
        if fm.key_list:  # one key of each object of a JSON list column (json_list.py)
            self.notes.assume(json_list.note(fm))
            plain = json_list.PlainValues(fm.field)
            if plain not in self.derived:
                self.derived.append(plain)  # type: ignore[arg-type]
        if fm.lookup is not None and fm.key:
            # joined on the event table's own hash column (targets/kql/certificates.py)
            why = certificates.os_refusal(fm.field, self._top_terms)
            if why:
                raise Refused(why)
            self.lookups[f"{fm.lookup.name}@{fm.key}"] = certificates.KeyedLookup(fm.lookup, fm.key)
            self.notes.assume(certificates.note(fm, self.table.name))
        elif fm.lookup is not None:
            self.lookups[fm.lookup.name] = fm.lookup
            if fm.lookup.note:
                self.notes.assume(fm.lookup.note)
        return raw_tables.extended(self, fm)

    def note_empty(self, fm: FieldMap) -> None:
        if fm.field not in self.emptied:
            self.emptied.append(fm.field)  # the adapter excuses events where the field is exactly ""
        self.notes.assume(
            f"Kusto stores a missing string as \"\": an ECS {fm.field} equal to \"\" is treated as missing ({fm.text})"
        )

    @property
    def checks(self) -> Checks:
        return Checks(list(self.facts), list(self.derived), list(self.computed), list(self.folded), list(self.mapped),
                      list(self.spelled), list(self.emptied), list(self.columns), list(self.absent), signed=list(self.signed),
                      routed=[self.routed] if self.routed is not None else [])

    # ---- entry point -----------------------------------------------------------------------
    def condition(self, expr: ir.Expr) -> Cond:
        self._top_terms = expr.terms if isinstance(expr, ir.And) else (expr,)
        self._top = {id(t) for t in self._top_terms}
        need = self.table.rows_need
        if need and not self.table.chosen_by and need in self.table.facts:
            # a table holding only the events whose `need` its facts name (imAuthentication: the
            # ssh_login events): every event of the table's category with another value is in no
            # row of it, whatever the condition tests, so the adapter checks that on every event
            leaf = ir.InSet(ir.Field(tuple(need.split("."))), tuple(ir.String(v) for v in self.table.facts[need]))
            self.facts.append(Fact(leaf, True, self.table.name))
        self._winargv = self.windows_argv_fields(expr)
        return self.cond(expr, negated=False)

    def windows_argv_fields(self, expr: ir.Expr) -> frozenset:
        """The argument fields read from a command line that this condition compares with a value
        containing a space, in a rule whose top-level condition pins host.os.type to windows: those
        are read as Windows splits the command line (argv.win_argv_note), every leaf on them alike
        (one stated assumption per field); other rules keep the single-space reading."""
        if not any((f := leaf_field(t)) is not None and f.name == "host.os.type"
                   and (lv := literal_values(t))[0] and all(eq_fold(v, certificates.WINDOWS, lv[1]) for v in lv[0])
                   for t in self._top_terms):
            return frozenset()
        out = set()
        for e in windows_argv.compared_leaves(expr):
            f = leaf_field(e)
            fm = self.table.fields.get(f.name) if f is not None and not f.has_index else None
            if fm is None or not fm.argv_of:
                continue
            try:
                words, _ci = argv_patterns(e)
            except Refused:
                continue
            if argv.has_space(words):
                out.add(f.name)
        return frozenset(out)

    def cond(self, e: ir.Expr, negated: bool) -> Cond:
        if isinstance(e, ir.And):
            return self.junction(e.terms, negated, conj, False)
        if isinstance(e, ir.Or):
            return self.junction(e.terms, negated, disj, True)
        if isinstance(e, ir.Not):
            if is_script(e.expr):
                with about(e.expr):  # a refusal names the atom it is about (eqlc.broaden)
                    guard, text = self.script(e.expr)
                return conj([guard, f"not({text})"])
            return negate(self.cond(e.expr, not negated))
        if isinstance(e, ir.Boolean):
            return e.value
        with about(e):
            if is_script(e):
                guard, text = self.script(e)
                if _true_when_absent(e):
                    # indexOf(a, b) == null: a missing argument makes indexOf null and the test
                    # true (audit7), so the presence guards decide the other way round here
                    return disj([negate(guard), text])
                return conj([guard, text])
            return self.leaf(e, negated)

    def junction(self, terms: tuple, negated: bool, combine, absorbing: bool) -> Cond:
        """``and`` (``absorbing`` False) or ``or`` (True) of ``terms``. A term the table decides as
        the absorbing constant (``event.category == "file"`` on a process table) decides the whole
        junction, whatever the other terms are: a term that cannot be translated here (a field only
        another table records) is then not needed, and what the other terms stated is undone (the
        query does not read them, so their assumptions are not the translation's). Otherwise the
        first refusal stands."""
        start = self._mark()
        out: list[Cond] = []
        decided: list[ir.Expr] = []
        refusal: Optional[Refused] = None
        for t in terms:
            mark = self._mark()
            try:
                c = self.cond(t, negated)
            except Refused as r:
                self._restore(mark)
                refusal = refusal or r
                continue
            out.append(c)
            if c is absorbing:
                decided.append(t)
        if decided:
            # only what decided the junction is stated and checked: the other terms (a field of
            # another category read as absent in a union leg) say nothing about the query's rows
            self._restore(start)
            self.cond(decided[0], negated)
            return absorbing
        if refusal is not None:
            raise refusal
        return combine(out)

    # ---- native leaves ---------------------------------------------------------------------
    def leaf(self, e: ir.Expr, negated: bool) -> Cond:
        self._folded_now = False
        out = self.native_leaf(e, negated)
        f = leaf_field(e)
        if self._folded_now and f is not None and f.name not in self.folded:
            self.folded.append(f.name)
        return out

    def native_leaf(self, e: ir.Expr, negated: bool) -> Cond:
        f = leaf_field(e)
        if f is None:
            raise Refused(f"unsupported condition {type(e).__name__}")
        if f.name in self.table.facts and f.name not in self.table.fields:
            return self.fact(e, f)
        if f.name in self.profile.dataset_fields and not self.dataset_by_row(e, f):
            return self.dataset(e, f, negated)
        if f.optional and not f.has_index and f.name not in self.table.fields:
            return self.absent_leaf(e, f, negated)
        if self.leg and not f.has_index and f.name not in self.table.fields and self.profile.of_other_categories(f.name, self.table):
            return self.absent_leaf(e, f, negated)
        if self.routed is not None and not f.has_index and f.name not in self.table.fields and f.path[0] in self.routed.sets:
            return self.absent_leaf(e, f, negated)
        if f.name in self.table.absent and not f.has_index and f.name not in self.table.fields:
            return self.absent_leaf(e, f, negated)
        fm = self.fieldmap(f)
        if fm.list_key:
            raise Refused(f"{describe(e)}: {f.name} is the list of the {fm.list_key[1]} values of the objects of "
                          f"{fm.list_key[0]}: only a sequence join key reads it (a test on it is not translated)")
        if fm.key_only:
            raise Refused(f"{describe(e)}: {f.name} is read from {fm.text}, the vendor's own process identifier, whose "
                          f"values differ from Elastic's: only a sequence join key may use it")
        if fm.hive_spelling:
            e = self.respell(e, fm)
        if fm.values is not None:
            return self.value_mapped(e, fm)
        if fm.value_when is not None:
            return self.predicate_mapped(e, fm)
        if fm.argv_of:
            return self.argv_leaf(e, fm)
        if fm.words_of:
            self.notes.assume(raw_tables.words_note(fm))
            return raw_tables.words_leaf(e, fm)
        if fm.java_long:
            check = raw_tables.JavaLong(fm.field)  # audit6: the ECS value is a long, as Long.decode gives
            if check not in self.derived:
                self.derived.append(check)  # type: ignore[arg-type]
            return raw_tables.java_long_leaf(e, fm)
        if fm.key_list:  # one key of each object of a JSON list column (json_list.py)
            return json_list.leaf(e, fm)
        if fm.lookup is not None and fm.key:
            s = certificates.Signed(e, f.name, self.table.name)
            if s not in self.signed:
                self.signed.append(s)
        if fm.type in ("bool", "boolean"):
            return self.bool_leaf(e, fm, negated)
        if fm.lookup is not None and fm.key and fm.is_string and not isinstance(e, ir.IsNull):
            # a string from a lookup row that may be missing: Kusto reads "" there (a string is
            # never null), an SQL engine null; `isnotempty` first makes both read "no value"
            text, empty_matches = self.string_leaf(e, fm.text)
            if empty_matches:
                self.note_empty(fm)
            return conj([f"isnotempty({fm.text})", text])
        if fm.is_array and fm.object_path:
            return self.object_list_leaf(e, fm)
        if fm.is_array:
            return self.array_leaf(e, fm)
        if isinstance(e, ir.IsNull):
            if fm.is_string:
                self.note_empty(fm)
                return f"isempty({fm.text})"
            return f"isnull({fm.text})"
        if fm.is_string:
            shapes.check_literals(e, fm)
            text, empty_matches = self.string_leaf(e, fm.text)
            if empty_matches:
                self.note_empty(fm)
                return conj([f"isnotempty({fm.text})", text])
            return text
        if fm.is_numeric:
            if fm.keyword_number:
                raw_tables.check_keyword_number(e, fm)
            text = self.numeric_leaf(e, fm)
            return conj([f"isnotnull({fm.text})", text]) if negated else text
        raise Refused(f"{f.name} maps to {fm.text} of type {fm.type}, which the KQL emitter does not compare")

    def bool_leaf(self, e: ir.Expr, fm: FieldMap, negated: bool) -> Cond:
        """A comparison of a bool column with ``true``/``false`` (or a null test). A bool can be null
        in Kusto (a row the lookup did not find), so under ``not`` the test gets ``isnotnull``:
        ``not f == true`` then holds on a missing value, as ``must_not`` does."""
        col = fm.text
        if isinstance(e, ir.IsNull):
            return f"isnull({col})"
        if isinstance(e, ir.Compare) and e.op is ir.CompareOp.EQ and isinstance(literal_of(e), ir.Boolean):
            text = f"{col} == {'true' if literal_of(e).value else 'false'}"  # type: ignore[union-attr]
            return conj([f"isnotnull({col})", text]) if negated else text
        raise Refused(f"{describe(e)}: {fm.field} maps to the bool column {col}, where only comparisons with true or false translate")

    def respell(self, e: ir.Expr, fm: FieldMap) -> ir.Expr:
        """``e`` with its literal hive prefixes in the table's spelling (HKLM\\ -> HKEY_LOCAL_MACHINE\\,
        :mod:`eqlc.targets.kql.hives`); the adapter checks the rule's condition on each ECS event
        against the rewritten one on the value the query reads."""
        hives = self.table.hives
        query = respell_leaf(hives.spellings, e, fm.field) if hives is not None else e
        pair = Respelt(e, query)
        if pair not in self.spelled:
            self.spelled.append(pair)
        return query

    def fact(self, e: ir.Expr, f: ir.Field) -> Cond:
        """Decide a leaf on a field the table implies (event.category/type/action)."""
        values, ci = literal_values(e)
        implied = self.table.facts[f.name]
        if values is not None:
            hit = any(eq_fold(v, i, ci) for v in values for i in implied)
        elif isinstance(e, (ir.WildcardMatch, ir.RegexMatch)) or (
                isinstance(e, ir.FunctionCall) and e.name.lower() in ("startswith", "endswith", "stringcontains")):
            # a pattern is decided against each implied value as Elasticsearch decides it on an
            # event holding that value (`event.action : "Image loaded*"` is false on a table whose
            # actions are exec, start...); the adapter checks it with the same matcher
            hit = any(truth(e, with_value(f.path, i)) for i in implied)
        else:
            raise Refused(f"{describe(e)} on {f.name}: only literal comparisons and patterns of a field implied by {self.table.name} can be decided")
        shown = describe(e)
        if f.name == "event.category" and ci and values is not None:
            # the adapter (and the data) route an event to a table by its exact category; a
            # case-insensitive test also matches a case variant no table holds
            self.notes.assume(f"event.category values are taken to be spelled as ECS lists them (lower case): an event whose "
                              f"category matches {shown} only in another letter case is in no table (outside)")
        if hit:
            self.notes.assume(f"{shown} is taken to hold for every {self.table.name} row ({f.name} implied: {', '.join(implied)})")
        else:
            self.notes.assume(f"{shown} is taken to be false for every {self.table.name} row ({f.name} implied: {', '.join(implied)})")
        self.facts.append(Fact(e, hit, self.table.name))
        return hit

    def dataset_by_row(self, e: ir.Expr, f: ir.Field) -> bool:
        """Whether a leaf on a data-source field is read from the table's own per-row column (a
        value map in the table's fields: sentinel-asim's EventProduct for the Sysmon data sets)
        rather than by the data-source policy of :meth:`dataset`: only when the table maps the
        field and every value the leaf names is a key of that map."""
        fm = self.table.fields.get(f.name)
        if fm is None:
            return False
        if not fm.values:
            return True  # a plain column mapping of the field (a user mapping): read as any field
        values, ci = literal_values(e)
        return bool(values) and all(any(eq_fold(v, k, ci) for k in fm.values) for v in values)

    def dataset(self, e: ir.Expr, f: ir.Field, negated: bool) -> bool:
        """Decide a leaf on a data-source field (data_stream.dataset, event.module) as the Sigma
        target decides its log source (profile YAML ``datasets``): the table stands for the events
        of the endpoint data sets it lists. A top-level positive condition naming listed values only
        holds for every row; one naming no listed value holds for none; both are stated and
        checked as facts (the adapter leaves out events on which they are false)."""
        values, ci = literal_values(e)
        if values is None:
            raise Refused(f"{describe(e)}: {f.name} selects a data source; only literal comparisons with it translate")
        listed = [v for v in values if any(eq_fold(v, d, ci) for d in self.profile.endpoint_datasets)]
        if not listed:
            self.notes.assume(
                f"{describe(e)} is taken to be false for every {self.table.name} row: the table holds none of those "
                f"data sets' events (it stands for the endpoint data sets {', '.join(self.profile.endpoint_datasets)})")
            self.facts.append(Fact(e, False))
            return False
        if len(listed) != len(values) or negated or id(e) not in self._top:
            raise Refused(f"{describe(e)}: {f.name} names the data sets {self.table.name} stands for, in a condition that "
                          f"does not select them (only a top-level positive condition on it is taken as the table's own)")
        self.notes.assume(
            f"{self.table.name} stands for `{describe(e)}`: its rows are taken to be events of {' or '.join(listed)} "
            f"(as a Sigma log source stands for its data sets)")
        self.facts.append(Fact(e, True))
        return True

    def absent_leaf(self, e: ir.Expr, f: ir.Field, negated: bool) -> bool:
        """Decide a leaf on an optional field the table records nothing for, as Elasticsearch
        decides it on an event without the field (see :mod:`.absent`)."""
        value = decide(e, negated)
        if f.name in self.table.absent and f.name not in self.table.fields:
            self.notes.assume(
                f"{f.name} has no column in {self.table.name} (profile {self.profile.name}): its rows are taken to carry "
                f"none ({self.table.absent[f.name]}), so {describe(e)} is decided as Elasticsearch decides it on an event "
                f"without the field")
            a = Absent(e, f.name, self.table.name)
            if a not in self.absent:
                self.absent.append(a)
            return value
        if self.routed is not None and f.path[0] in self.routed.sets and f.name not in self.table.fields:
            r = self.routed
            self.notes.assume(
                f"{f.name} has no column in {self.table.name} (profile {self.profile.name}): {self.table.category} events "
                f"with a {r.field} are read from {r.to}, and those of {self.table.name} are taken to carry no "
                f"{f.path[0]}.* field, so {describe(e)} is decided there as Elasticsearch decides it on an event without "
                f"the field")
        elif f.optional:
            self.notes.assume(
                f"?{f.name} has no column in {self.table.name} (profile {self.profile.name}): read as having no value, as "
                f"Elasticsearch reads an optional field no index maps ({describe(e)} decided accordingly)")
        else:
            others = ", ".join(self.profile.of_other_categories(f.name, self.table))
            self.notes.assume(
                f"{f.name} has no column in {self.table.name} (profile {self.profile.name}), which records no "
                f"{f.path[0]}.* field ({others} does): {self.table.category} events are taken to carry no {f.name}, so "
                f"{describe(e)} is decided there as Elasticsearch decides it on an event without the field")
        a = Absent(e, f.name, self.table.name if self.leg or self.routed is not None else None)
        if a not in self.absent:
            self.absent.append(a)
        return value

    def value_mapped(self, e: ir.Expr, fm: FieldMap) -> Cond:
        assert fm.values is not None
        if isinstance(e, ir.IsNull):
            self._map(Mapped(e, self.table.name, fm.text, ("",)))
            return f"isnull({fm.text})" if fm.is_numeric else f"isempty({fm.text})"
        values, ci = literal_values(e)
        f = leaf_field(e)
        if values is None and fm.is_numeric and fm.lookup is None and f is not None and isinstance(e, ir.WildcardMatch):
            # kqldns: a pattern on an action mapped to event ids (Sysmon's event.action -> EventID),
            # decided against each listed action as on the emitter's implied fields (`fact`)
            values, ci = raw_tables.pattern_keys(e, f, fm), False
            self.notes.assume(f"{describe(e)} is decided against the actions {fm.field}'s value map lists: an event whose "
                              f"{fm.field} is another text the pattern matches is outside the mapping")
        if values is None:
            raise Refused(f"{describe(e)}: {fm.field} is value-mapped to {fm.text}; only literal comparisons with {', '.join(map(repr, fm.values))} translate")
        out: list[str] = []
        unlisted: list[str] = []
        for v in values:
            keys = [k for k in fm.values if eq_fold(v, k, ci)]
            if not keys and self.leg and fm.lookup is None:
                unlisted.append(v)
                continue
            if not keys:
                raise Refused(f"{fm.field} value {v!r} has no {fm.text} equivalent in the {self.profile.name} mapping")
            for k in keys:
                out.extend(x for x in fm.values[k] if x not in out)
        if unlisted:
            # in a union leg, a value of another category's events (event.type "start" on a file
            # table): the value map lists every value this table's rows are taken to have; the
            # adapter's value-mapping check leaves out rows whose event says otherwise
            self.notes.assume(
                f"{fm.field} of {self.table.name} rows is taken to be one of the values its map lists "
                f"({', '.join(fm.values)}), never {', '.join(map(repr, unlisted))}")
        if not out:
            self.notes.assume(
                f"{fm.field} values are taken to be spelled as the {self.profile.name} value map lists them "
                f"({', '.join(fm.values)}): an event spelling one otherwise (another letter case) is outside the mapping")
            self._map(Mapped(e, self.table.name, fm.text, (), tuple(fm.values)))
            return False
        self.notes.assume(f"{describe(e)} is translated as {fm.text} in ({', '.join(out)}) (value mapping)")
        self.notes.assume(
            f"{fm.field} values are taken to be spelled as the {self.profile.name} value map lists them "
            f"({', '.join(fm.values)}): an event spelling one otherwise (another letter case) is outside the mapping")
        self._map(Mapped(e, self.table.name, fm.text, tuple(out), tuple(fm.values)))
        if fm.is_numeric:  # a value map onto a numeric column (event.action -> EventID): numbers
            if not all(re.fullmatch(r"-?[0-9]+", x) for x in out):
                raise ValueError(f"{self.profile.name} profile: {fm.field} maps to the numeric column {fm.text} but lists {out}")
            return f"{fm.text} in ({', '.join(out)})"
        return f"{fm.text} in ({', '.join(syntax.quote(x) for x in out)})"

    def object_list_leaf(self, e: ir.Expr, fm: FieldMap) -> Cond:
        """An exact (case-sensitive) test of a string list inside a dynamic object column: some
        element equals one of the literals (Elasticsearch's keyword-array rule), with
        ``set_has_element``; false, not null, where the list is missing, so ``not`` keeps those rows
        as ``must_not`` does. Other tests (patterns, case-insensitive) are refused."""
        values, ci = literal_values(e) if not isinstance(e, ir.IsNull) else (None, False)
        if values is None or ci or (isinstance(e, ir.WildcardMatch) and any(p.kind is not ir.PatternKind.EXACT for p in e.patterns)):
            raise Refused(f"{describe(e)}: {fm.field} is a list in {fm.text}; only case-sensitive equality with "
                          f"strings translates")
        if not values:
            return False
        self.notes.assume(f"{fm.field} is the list {fm.text}, an element equal to a literal matching it")
        return _or_text([f"(isnotnull({fm.text}) and set_has_element({fm.text}, {syntax.quote(v)}))" for v in values])

    def predicate_mapped(self, e: ir.Expr, fm: FieldMap) -> Cond:
        """A literal test of a field the source derives as a list of values, each value with its
        predicate on the row (``value_when``): the test holds when some value it names holds; a
        value the map does not list is one the source never sets. The fixture adapter checks each
        predicate against the event's values (the computed-field check)."""
        assert fm.value_when is not None
        values, ci = literal_values(e) if not isinstance(e, ir.IsNull) else (None, False)
        if values is None:
            raise Refused(f"{describe(e)}: {fm.field} is computed per value in {self.table.name}; only literal "
                          f"comparisons with {', '.join(map(repr, fm.value_when))} translate")
        keys = [k for k in fm.value_when if any(eq_fold(v, k, ci) for v in values)]
        if not keys:
            return False
        return _or_text([f"({fm.value_when[k]})" for k in keys])

    def _map(self, m: Mapped) -> None:
        if m not in self.mapped:
            self.mapped.append(m)

    def string_leaf(self, e: ir.Expr, col: str) -> tuple[str, bool]:
        """A predicate on a string expression ``col``; also whether it is true for ``""``."""
        if isinstance(e, ir.Compare):
            lit = literal_of(e)
            if e.op is not ir.CompareOp.EQ:
                if not isinstance(lit, ir.String):
                    raise Refused(f"ordering comparison {e.op.value} on string field {leaf_field(e).name} with a {type(lit).__name__.lower()}: Kusto has no string ordering operator with Elasticsearch's code-point order")
                op = e.op.value if isinstance(e.left, ir.Field) else _FLIP[e.op.value]
                return ordering.ordering_condition(col, op, lit.value), ordering.holds_for("", op, lit.value)
            s = string_literal(lit, leaf_field(e))
            return self.eq_strings(col, [s], ci=False), s == ""
        if isinstance(e, ir.InSet):
            strs = [string_literal(v, leaf_field(e)) for v in e.values if not isinstance(v, ir.Null)]
            if not strs:
                return "false", False
            return self.eq_strings(col, strs, e.case_insensitive), "" in strs
        if isinstance(e, ir.WildcardMatch):
            parts: list[str] = []
            exact: list[str] = []
            empty = False
            for p in e.patterns:
                kind = p.kind
                if kind is ir.PatternKind.GENERAL:
                    body = syntax.wildcard_regex(p, e.case_insensitive)
                    parts.append(f"{col} matches regex {syntax.quote_regex(syntax.anchored(body))}")
                    empty = empty or all(x is ir.Wildcard.STAR for x in p.parts)
                elif kind is ir.PatternKind.EXACT:
                    exact.append(p.text)
                    empty = empty or p.text == ""
                else:
                    parts.append(self.pattern_op(col, kind, p.literal, e.case_insensitive))
                    empty = empty or p.literal == ""
            if exact:
                parts.insert(0, self.eq_strings(col, exact, e.case_insensitive))
            return _or_text(parts), empty
        if isinstance(e, ir.RegexMatch):
            try:
                body = to_pattern(e.patterns, e.case_insensitive, flavor="re2")
            except (Untranslatable, RegexError) as err:
                raise Refused(f"regex {e.patterns!r}: {err}") from None
            anchored = syntax.anchored(body)
            return f"{col} matches regex {syntax.quote_regex(anchored)}", re2.fullmatch(anchored, "") is not None
        if isinstance(e, ir.FunctionCall):
            name = e.name.lower()
            lits = [string_literal(a, leaf_field(e)) for a in e.args[1:]]
            if name == "startswith":
                return self.pattern_op(col, ir.PatternKind.PREFIX, lits[0], e.case_insensitive), lits[0] == ""
            if name in ("endswith", "stringcontains"):
                # Elasticsearch's wildcard query "*lit" / "*lit*", lit unescaped (eqlc.native_wildcard)
                pat = NativePattern.of(name, lits[0])
                kind = pat.kind
                if kind is ir.PatternKind.GENERAL:
                    body = syntax.wildcard_regex(pat, e.case_insensitive)  # type: ignore[arg-type]
                    return (f"{col} matches regex {syntax.quote_regex(syntax.anchored(body))}",
                            all(x is ir.Wildcard.STAR for x in pat.parts))
                return self.pattern_op(col, kind, pat.literal, e.case_insensitive), False
            if name == "cidrmatch":
                self.cidr_mapped(e, col, lits)
                return self.cidr(col, lits), False
        raise Refused(f"unsupported condition {describe(e)}")

    def eq_strings(self, col: str, values: list[str], ci: bool) -> str:
        """Equality with any of ``values`` (a Kusto ``==``/``in`` or, for case-insensitive
        values with non-ASCII letters, an ASCII-folding regex)."""
        if ci:
            self.note_fold()
            plain = [v for v in values if not self.fold_by_regex(v)]
            folded = [v for v in values if self.fold_by_regex(v)]
        else:
            plain, folded = list(values), []
        parts: list[str] = []
        if len(plain) == 1:
            parts.append(f"{col} {syntax.STRING_OPERATORS[ir.PatternKind.EXACT][ci]} {syntax.quote(plain[0])}")
        elif plain:
            parts.append(f"{col} {syntax.SET_OPERATORS[ci]} ({', '.join(syntax.quote(v) for v in plain)})")
        for v in folded:
            parts.append(f"{col} matches regex {syntax.quote_regex(syntax.anchored(syntax.literal_regex(v, True)))}")
        return _or_text(parts)

    def fold_by_regex(self, literal: str) -> bool:
        """Case-insensitive matching is written as an ASCII-folding regex when the literal has
        non-ASCII letters, or everywhere when the profile says ``case_insensitive: regex``."""
        return self.profile.raw.get("case_insensitive") == "regex" or syntax.has_non_ascii_letter(literal)

    def note_fold(self) -> None:
        if self.profile.raw.get("case_insensitive") != "regex":
            self._folded_now = True
            self.notes.assume(
                "case-insensitive operators (=~, in~, startswith, endswith, contains) fold ASCII letters only, "
                "as Elasticsearch does (Kusto documents case-insensitive operators for ASCII text only); values "
                "with non-ASCII letters that some case mappings fold to ASCII (İ, ı, ſ, K) are assumed absent"
            )

    def pattern_op(self, col: str, kind: ir.PatternKind, literal: str, ci: bool) -> str:
        if ci:
            self.note_fold()
        if ci and self.fold_by_regex(literal):
            body = syntax.literal_regex(literal, True)
            body = {ir.PatternKind.EXACT: body, ir.PatternKind.PREFIX: body + "(?s:.*)",
                    ir.PatternKind.SUFFIX: "(?s:.*)" + body, ir.PatternKind.CONTAINS: "(?s:.*)" + body + "(?s:.*)"}[kind]
            return f"{col} matches regex {syntax.quote_regex(syntax.anchored(body))}"
        return f"{col} {syntax.STRING_OPERATORS[kind][ci]} {syntax.quote(literal)}"

    def cidr(self, col: str, blocks: list[str]) -> str:
        """cidrMatch through ``parse_ipv4``/``parse_ipv6`` (:mod:`eqlc.targets.kql.cidr` says why
        and shows it means what ``ipv4_is_in_any_range``/``ipv6_is_in_any_range`` would)."""
        return cidr.predicate(col, blocks)

    def cidr_mapped(self, e: ir.Expr, col: str, blocks: list[str]) -> None:
        """State and check that the column writes IPv4 addresses dotted when IPv4 blocks are
        tested (cidr.mapped_note says why; audit6)."""
        f = leaf_field(e)
        if f is None or not cidr.has_ipv4_block(blocks):
            return
        self.notes.assume(cidr.mapped_note(f.name, col))
        check = cidr.MappedIpv4(f.name)
        if check not in self.derived:
            self.derived.append(check)  # type: ignore[arg-type]

    def numeric_leaf(self, e: ir.Expr, fm: FieldMap) -> str:
        col = fm.text
        if isinstance(e, ir.Compare):
            lit = literal_of(e)
            n = number_literal(lit, fm)
            op = e.op.value
            if e.right is not lit:  # literal on the left: flip the comparison
                op = {"<": ">", "<=": ">=", ">": "<", ">=": "<=", "==": "=="}[op]
            return f"{col} {op} {n}"
        if isinstance(e, ir.InSet):
            nums = [number_literal(v, fm) for v in e.values if not isinstance(v, ir.Null)]
            if not nums:
                return "false"
            return f"{col} in ({', '.join(nums)})" if len(nums) > 1 else f"{col} == {nums[0]}"
        if isinstance(e, ir.WildcardMatch) and all(p.kind is ir.PatternKind.EXACT for p in e.patterns):
            nums = [number_literal(ir.String(p.text), fm) for p in e.patterns]
            return f"{col} in ({', '.join(nums)})" if len(nums) > 1 else f"{col} == {nums[0]}"
        raise Refused(f"{describe(e)}: {fm.field} maps to the numeric column {col}, where only comparisons with numbers translate")

    # ---- array (dynamic) columns -------------------------------------------------------------
    def array_leaf(self, e: ir.Expr, fm: FieldMap) -> Cond:
        """Element-wise: the leaf holds if any element satisfies it (Lucene's multi-value rule),
        computed with ``mv-apply`` ahead of the ``where``."""
        n = self._arrays
        self._arrays += 1
        elem = f"__e{n}"
        count = f"__m{n}"
        if isinstance(e, ir.IsNull):
            self.prep.append(f"| extend {count} = coalesce(array_length({fm.text}), 0)")
            return f"{count} == 0"
        text, _ = self.string_leaf(e, elem)
        self.prep.append(f"| mv-apply {elem} = {fm.text} to typeof(string) on (summarize {count} = countif({text}))")
        self.notes.assume(f"{fm.field} is the dynamic array {fm.text}, matched element by element with mv-apply")
        return f"{count} > 0"

    # ---- argument arrays read from a command line (targets/kql/argv.py) ---------------------------
    def argv_leaf(self, e: ir.Expr, fm: FieldMap) -> Cond:
        """Some space-separated word of the command line satisfies the leaf; false on an empty
        line, so ``not`` matches events without arguments as ``must_not`` does."""
        line = fm.text
        if isinstance(e, ir.IsNull):
            return f"isempty({line})"
        if fm.field in self._winargv:
            return self.win_argv_leaf(e, fm)
        if isinstance(e, ir.RegexMatch):
            try:
                regex, empty = argv.regex_line(e.patterns, e.case_insensitive)
            except (Untranslatable, RegexError) as err:
                raise Refused(f"regex {e.patterns!r} on {fm.field}: {err}") from None
            text = f"{line} matches regex {syntax.quote_regex(regex)}"
            return conj([f"isnotempty({line})", text]) if empty else text
        words, ci = argv_patterns(e)
        argv.check_literals(words, fm.field, line)
        if not words:
            return False
        if any(argv.is_any_word(w) for w in words):
            return f"isnotempty({line})"
        kinds = [argv.word_kind(w) for w in words]
        clauses = sum({"exact": 4, "prefix": 2, "suffix": 2, "contains": 1}.get(k, 0) for k in kinds)
        if clauses > argv.MAX_OPERATOR_CLAUSES:
            kinds = ["general"] * len(words)
        parts: list[str] = []
        exact = [w[0] for w, k in zip(words, kinds) if k == "exact"]
        if exact:
            parts.append(self.eq_strings(line, exact, ci))
        P = ir.PatternKind
        for w, k in zip(words, kinds):
            x = next((s for s in w if isinstance(s, str)), "")
            forms = {
                "exact": [(P.PREFIX, x + " "), (P.SUFFIX, " " + x), (P.CONTAINS, " " + x + " ")],
                "prefix": [(P.PREFIX, x), (P.CONTAINS, " " + x)],
                "suffix": [(P.SUFFIX, x), (P.CONTAINS, x + " ")],
                "contains": [(P.CONTAINS, x)],
            }.get(k, [])
            parts.extend(self.pattern_op(line, kind, text, ci) for kind, text in forms)
        general = [w for w, k in zip(words, kinds) if k == "general"]
        if general:
            parts.append(f"{line} matches regex {syntax.quote_regex(argv.line_regex(general, ci))}")
        return _or_text(list(dict.fromkeys(parts)))

    def win_argv_leaf(self, e: ir.Expr, fm: FieldMap) -> Cond:
        """Some argument of the command line, split as Windows splits it (in the plain form
        argv.win_argv_note states), satisfies the leaf; false on an empty line, which has none."""
        line = fm.text
        if isinstance(e, ir.RegexMatch):
            raise Refused(f"regex {e.patterns!r} on {fm.field}, which is read from {line} as Windows splits it: not translated")
        words, ci = argv_patterns(e)
        words, dropped = argv.win_possible(words, fm.field, line)
        if dropped:
            self.notes.assume(argv.win_dropped_note(fm.field, dropped))
        if not words:
            return False
        if any(argv.is_any_word(w) for w in words):
            return f"isnotempty({line})"
        # the arguments rewritten once per query (argv.win_joined_expr), each leaf one short regex
        alias = "__winargs_" + re.sub(r"[^A-Za-z0-9_]", "_", fm.field)
        stage = f"| extend {alias} = {argv.win_joined_expr(line)}"
        if stage not in self.prep:
            self.prep.append(stage)
        return f"{alias} matches regex {syntax.quote_regex(argv.win_joined_regex(words, ci))}"

    # ---- script leaves -----------------------------------------------------------------------
    def script(self, e: ir.Expr) -> tuple[Cond, str]:
        """(presence guard, predicate) for an expression Elasticsearch runs as a script."""
        used: dict[str, FieldMap] = {}
        self._folded_now = False
        text = self.bool_expr(e, used)
        if self._folded_now:
            self.folded.extend(name for name in used if name not in self.folded)
        if any(fm.hive_spelling for fm in used.values()) and Respelt(e, e) not in self.spelled:
            self.spelled.append(Respelt(e, e))  # a script reading it is checked under both hive spellings too
        guards: list[Cond] = []
        for fm in used.values():
            if fm.lookup is not None and fm.key:
                raise Refused(f"{fm.field} ({fm.text}, looked up by the file's hash) inside a function or arithmetic is not translated")
            if fm.is_array or fm.values is not None or fm.argv_of or fm.value_when is not None or fm.words_of \
                    or fm.java_long or fm.key_list:
                raise Refused(f"{fm.field} ({fm.text}) inside a function or arithmetic is not translated")
            if fm.is_string:
                self.note_empty(fm)
                guards.append(f"isnotempty({fm.text})")
            else:
                guards.append(f"isnotnull({fm.text})")
        return conj(guards), text

    def bool_expr(self, e: ir.Expr, used: dict) -> str:
        if isinstance(e, ir.IsNull) and isinstance(e.expr, ir.FunctionCall) and e.expr.name.lower() == "indexof":
            return self.index_of_absent(e.expr, used)
        if isinstance(e, ir.Compare):
            lt, ltype = self.value(e.left, used)
            rt, rtype = self.value(e.right, used)
            if e.op is not ir.CompareOp.EQ and "string" in (ltype, rtype):
                raise Refused(f"ordering comparison {e.op.value} between strings: Kusto has no string ordering operator")
            if ltype != rtype and "null" not in (ltype, rtype):
                raise Refused(f"comparison of a {ltype} with a {rtype} in {describe(e)}")
            return f"{lt} {e.op.value} {rt}"
        if isinstance(e, ir.FunctionCall) and e.name.lower() in ("startswith", "endswith", "stringcontains"):
            (a, at), (b, bt) = self.value(e.args[0], used), self.value(e.args[1], used)
            if "string" != at or "string" != bt:
                raise Refused(f"{e.name} over non-strings")
            if e.case_insensitive:
                self.check_script_fold(e)
            kind = {"startswith": ir.PatternKind.PREFIX, "endswith": ir.PatternKind.SUFFIX, "stringcontains": ir.PatternKind.CONTAINS}[e.name.lower()]
            op = syntax.STRING_OPERATORS[kind][e.case_insensitive]
            if kind is ir.PatternKind.CONTAINS:  # Elasticsearch: an empty argument never contains anything
                self.order_safe_value(e, used)
                return f"(isnotempty({a}) and isnotempty({b}) and {a} {op} {b})"
            return f"{a} {op} {b}"
        if isinstance(e, (ir.WildcardMatch, ir.RegexMatch, ir.InSet)):
            t, typ = self.value(e.expr, used)
            if typ != "string":
                raise Refused(f"{describe(e)} over a {typ} expression")
            text, _ = self.string_leaf(e, t)
            return text
        raise Refused(f"unsupported condition {describe(e)}")

    def index_of_absent(self, call: ir.FunctionCall, used: dict) -> str:
        """``indexOf(text, part) == null`` (the IR's IsNull of the call): Elasticsearch's indexOf gives null when ``part`` does
        not occur in ``text`` (a case-sensitive search; ``indexOf~`` folds case) or when an argument
        is null. The script's presence guards require both fields, so the test is that ``part`` does
        not occur: Kusto's ``indexof`` is case-sensitive and returns -1 when the match is not found
        (Kusto reference, indexof-function: "The indexof() function is case-sensitive", "Returns -1
        if match isn't found in string"). Only the two-argument case-sensitive form is read."""
        if len(call.args) != 2:
            raise Refused("indexOf() with a start offset is not translated")
        if call.case_insensitive:
            raise Refused("indexOf~() (case-insensitive) is not translated")
        (a, at), (b, bt) = self.value(call.args[0], used), self.value(call.args[1], used)
        if at != "string" or bt != "string":
            raise Refused("indexOf() over non-strings")
        return f"indexof({a}, {b}) < 0"

    def order_safe_value(self, e: ir.FunctionCall, used: dict) -> None:
        """``stringContains(rendered, field)`` (cloudtrail.check_rendered_literals let it through):
        the field's value is taken to be order-safe in the rendering, stated and checked per event."""
        first, second = e.args[0], e.args[1]
        if not (isinstance(first, ir.Field) and isinstance(second, ir.Field)):
            return
        fm = used.get(first.name)
        if fm is None or not fm.java_map:
            return
        from . import cloudtrail
        self.notes.assume(cloudtrail.value_note(second.name, first.name))
        check = cloudtrail.OrderSafeValue(second.name, first.name)
        if check not in self.derived:
            self.derived.append(check)  # type: ignore[arg-type]

    def check_script_fold(self, e: ir.Expr) -> None:
        for lit in iter_strings(e):
            if syntax.has_non_ascii_letter(lit):
                raise Refused(f"{e.name}~ with the non-ASCII letters of {lit!r}: Elasticsearch scripts fold Unicode case here, Kusto's case-insensitive operators fold ASCII only")
        self.notes.assume(f"{e.name}~ over computed values: Elasticsearch folds Unicode case in scripts, Kusto ASCII only; values are taken to need ASCII folding only")

    def value(self, e: ir.Expr, used: dict) -> tuple[str, str]:
        """(Kusto text, type) of a value expression inside a script."""
        if isinstance(e, ir.Field):
            fm = self.fieldmap(e)
            used[fm.field] = fm
            typ = "string" if fm.is_string else "number" if fm.is_numeric else fm.type
            return fm.text, typ
        if isinstance(e, ir.String):
            return syntax.quote(e.value), "string"
        if isinstance(e, ir.Number):
            return repr(e.value), "number"
        if isinstance(e, ir.Boolean):
            return ("true" if e.value else "false"), "bool"
        if isinstance(e, ir.Null):
            raise Refused("null inside a function or arithmetic")
        if isinstance(e, ir.Negate):
            t, typ = self.value(e.expr, used)
            if typ != "number":
                raise Refused("unary minus on a non-number")
            return f"-({t})", "number"
        if isinstance(e, ir.Arithmetic):
            return self.arith(e.op.value, e.left, e.right, used)
        if isinstance(e, ir.FunctionCall):
            return self.function(e, used)
        raise Refused(f"unsupported value {type(e).__name__}")

    def arith(self, op: str, left: ir.Expr, right: ir.Expr, used: dict) -> tuple[str, str]:
        lt, ltype = self.value(left, used)
        rt, rtype = self.value(right, used)
        if ltype != "number" or rtype != "number":
            raise Refused(f"arithmetic '{op}' on a non-number")
        if op in ("/", "%") and isinstance(right, ir.Number) and right.value == 0:
            raise Refused(f"division by zero: Elasticsearch rejects it, Kusto returns null")
        # Kusto, like Java, truncates integer division toward zero and gives % the sign of the dividend.
        return f"({lt} {op} {rt})", "number"

    def function(self, e: ir.FunctionCall, used: dict) -> tuple[str, str]:
        name = e.name.lower()
        arith = {"add": "+", "subtract": "-", "multiply": "*", "divide": "/", "modulo": "%"}
        if name in arith:
            return self.arith(arith[name], e.args[0], e.args[1], used)
        if name == "length":
            t, typ = self.value(e.args[0], used)
            if typ != "string":
                raise Refused("length() of a non-string")
            self.positions_in(e.args[0])
            return f"strlen({t})", "number"
        if name == "string":
            t, typ = self.value(e.args[0], used)
            return (t if typ == "string" else f"tostring({t})"), "string"
        if name == "concat":
            parts = []
            for a in e.args:
                t, typ = self.value(a, used)
                parts.append(t if typ == "string" else f"tostring({t})")
            return f"strcat({', '.join(parts)})", "string"
        if name == "substring":
            t, typ = self.value(e.args[0], used)
            if typ != "string":
                raise Refused("substring() of a non-string")
            self.positions_in(e.args[0])
            bounds = e.args[1:]
            if not (isinstance(bounds[0], ir.Number) and isinstance(bounds[0].value, int) and bounds[0].value >= 0):
                raise Refused("substring() with a negative or computed start offset is not translated")
            start = bounds[0].value
            if len(bounds) == 1:
                return f"substring({t}, {start})", "string"
            end = bounds[1]
            if isinstance(end, ir.Number) and isinstance(end.value, int) and end.value >= 0:
                return f"substring({t}, {start}, {max(0, end.value - start)})", "string"
            return self.substring_to(t, start, end, used), "string"
        raise Refused(f"function {e.name}() has no exact Kusto translation in eqlc")

    def positions_in(self, arg: ir.Expr) -> None:
        """State and check that the fields a length()/substring() reads hold no character Java
        counts as two UTF-16 units (targets/kql/utf16.py; audit6)."""
        from . import utf16
        from eqlc.checks import fields_in

        for f in fields_in(arg):
            self.notes.assume(utf16.note(f.name))
            check = utf16.BmpOnly(f.name)
            if check not in self.derived:
                self.derived.append(check)  # type: ignore[arg-type]

    def substring_to(self, text: str, start: int, end: ir.Expr, used: dict) -> str:
        """``substring(s, start, end)`` with a negative or computed ``end``, as EQL runs it.

        EQL's substring is Python's slice ``s[start:end]``: a negative end counts from the end of
        the string (``end + len``, at least 0), an end past the string is its length. Kusto's
        ``substring`` takes a length instead, so the end is resolved first, with ``strlen`` counting
        code points as ``len`` does (Kusto strlen reference: "This function counts Unicode code
        points"). Only integer ends built from literals, ``length()``, ``+`` and ``-`` are read: a
        fractional end is no slice bound in EQL. The script's presence guards already require every
        field it reads, so the end is never null here.
        """
        if not _integer_valued(end):
            raise Refused("substring() with an end offset that is not an integer expression is not translated")
        size = f"strlen({text})"
        if isinstance(end, ir.Number):
            stop = f"max_of({size} - {-end.value}, 0)"  # a literal end here is negative
        else:
            et, typ = self.value(end, used)
            if typ != "number":
                raise Refused("substring() end offset of a non-number")
            stop = f"iff({et} < 0, max_of({size} + {et}, 0), min_of({et}, {size}))"
        return f"substring({text}, {start}, max_of({stop} - {start}, 0))"


# ---- helpers ---------------------------------------------------------------------------------
def _integer_valued(e: ir.Expr) -> bool:
    """True for integer expressions of literals, ``length()``, ``+``, ``-`` and unary minus."""
    if isinstance(e, ir.Number):
        return isinstance(e.value, int)
    if isinstance(e, ir.Negate):
        return _integer_valued(e.expr)
    if isinstance(e, ir.Arithmetic):
        return e.op in (ir.ArithOp.ADD, ir.ArithOp.SUB) and _integer_valued(e.left) and _integer_valued(e.right)
    if isinstance(e, ir.FunctionCall):
        name = e.name.lower()
        if name == "length":
            return True
        if name in ("add", "subtract"):
            return all(_integer_valued(a) for a in e.args)
    return False


def conj(items: list[Cond]) -> Cond:
    out: list[str] = []
    for c in items:
        if c is False:
            return False
        if c is True:
            continue
        if c not in out:
            out.append(c)  # type: ignore[arg-type]
    if not out:
        return True
    return out[0] if len(out) == 1 else "(" + " and ".join(out) + ")"


def disj(items: list[Cond]) -> Cond:
    out: list[str] = []
    for c in items:
        if c is True:
            return True
        if c is False:
            continue
        if c not in out:
            out.append(c)  # type: ignore[arg-type]
    if not out:
        return False
    return out[0] if len(out) == 1 else "(" + " or ".join(out) + ")"


def negate(c: Cond) -> Cond:
    if isinstance(c, bool):
        return not c
    return f"not({c})"


def _or_text(parts: list[str]) -> str:
    if not parts:
        return "false"
    return parts[0] if len(parts) == 1 else "(" + " or ".join(parts) + ")"


def _true_when_absent(e: ir.Expr) -> bool:
    """``indexOf(a, b) == null`` (IsNull of the call, :meth:`Emitter.index_of_absent`): unlike the
    other scripts it is never null. Elasticsearch's IndexOfFunctionProcessor returns null when an
    argument is null, and the script's IsNull of that is true, so an event missing ``a`` or ``b``
    is selected (its negation, ``not ... == null``, is not: both present and ``b`` found)."""
    return isinstance(e, ir.IsNull) and isinstance(e.expr, ir.FunctionCall) and e.expr.name.lower() == "indexof"


def is_script(e: ir.Expr) -> bool:
    """True if Elasticsearch evaluates ``e`` as a Painless script rather than a Lucene query."""
    if isinstance(e, ir.Compare):
        return not _field_literal(e.left, e.right)
    if isinstance(e, (ir.WildcardMatch, ir.RegexMatch, ir.InSet, ir.IsNull)):
        return not isinstance(e.expr, ir.Field)
    if isinstance(e, ir.FunctionCall):
        if e.name.lower() in NATIVE_FUNCTIONS:
            return not (isinstance(e.args[0], ir.Field) and all(isinstance(a, ir.String) for a in e.args[1:]))
        return True
    return False


def _field_literal(a: ir.Expr, b: ir.Expr) -> bool:
    return (isinstance(a, ir.Field) and isinstance(b, ir.LITERAL_TYPES)) or (
        isinstance(b, ir.Field) and isinstance(a, ir.LITERAL_TYPES)
    )


#: the same comparison with its operands swapped (``"L" <= x`` is ``x >= "L"``)
_FLIP = {"<": ">", "<=": ">=", ">": "<", ">=": "<="}


def leaf_field(e: ir.Expr) -> Optional[ir.Field]:
    if isinstance(e, ir.Compare):
        return e.left if isinstance(e.left, ir.Field) else e.right if isinstance(e.right, ir.Field) else None
    if isinstance(e, (ir.WildcardMatch, ir.RegexMatch, ir.InSet, ir.IsNull)):
        return e.expr if isinstance(e.expr, ir.Field) else None
    if isinstance(e, ir.FunctionCall) and e.args and isinstance(e.args[0], ir.Field):
        return e.args[0]
    return None


def argv_patterns(e: ir.Expr) -> tuple[list[argv.Word], bool]:
    """The leaf as patterns over ONE argument, as parts (literal runs and wildcards): an exact
    value is one literal part (its ``*``/``?`` are characters), ``like``/``:`` patterns keep
    their wildcards, startsWith/endsWith/stringContains are prefix/suffix/contains patterns."""
    f = leaf_field(e)
    name = f.name if f else "process.args"
    if isinstance(e, ir.Compare):
        if e.op is not ir.CompareOp.EQ:
            raise Refused(f"ordering comparison {e.op.value} on {name}, which is read from a command line")
        return [(string_literal(literal_of(e), f),)], False
    if isinstance(e, ir.InSet):
        return [(string_literal(v, f),) for v in e.values if not isinstance(v, ir.Null)], e.case_insensitive
    if isinstance(e, ir.WildcardMatch):
        return [p.parts or ("",) for p in e.patterns], e.case_insensitive
    if isinstance(e, ir.FunctionCall) and e.name.lower() in ("startswith", "endswith", "stringcontains"):
        fn = e.name.lower()
        lit = string_literal(e.args[1], f)
        if fn != "startswith":  # Elasticsearch's wildcard query "*lit" / "*lit*", lit unescaped
            return [native_parts(fn, lit)], e.case_insensitive
        return [(lit, ir.Wildcard.STAR) if lit else (ir.Wildcard.STAR,)], e.case_insensitive  # a prefix query
    raise Refused(f"unsupported condition {describe(e)} on {name}, which is read from a command line")


def literal_of(e: ir.Compare) -> ir.Expr:
    return e.right if isinstance(e.left, ir.Field) else e.left


def literal_values(e: ir.Expr) -> tuple[Optional[list[str]], bool]:
    """The literal strings an equality-like leaf compares with, and its case-insensitivity."""
    if isinstance(e, ir.Compare) and e.op is ir.CompareOp.EQ and isinstance(literal_of(e), ir.String):
        return [literal_of(e).value], False  # type: ignore[union-attr]
    if isinstance(e, ir.InSet) and all(isinstance(v, ir.String) for v in e.values):
        return [v.value for v in e.values], e.case_insensitive  # type: ignore[union-attr]
    if isinstance(e, ir.WildcardMatch) and all(p.kind is ir.PatternKind.EXACT for p in e.patterns):
        return [p.text for p in e.patterns], e.case_insensitive
    return None, False


def ascii_fold(s: str) -> str:
    return "".join(c.lower() if c.isascii() else c for c in s)


def eq_fold(a: str, b: str, ci: bool) -> bool:
    return ascii_fold(a) == ascii_fold(b) if ci else a == b


def string_literal(v: ir.Expr, f: Optional[ir.Field]) -> str:
    if isinstance(v, ir.String):
        return v.value
    if isinstance(v, ir.Number) and isinstance(v.value, int):
        return str(v.value)  # a term query on a keyword field matches the number's text
    name = f.name if f else "a string field"
    raise Refused(f"{name} is a string column but is compared with {type(v).__name__.lower()} {getattr(v, 'value', '')!r}")


def number_literal(v: ir.Expr, fm: FieldMap) -> str:
    if isinstance(v, ir.Number):
        return repr(v.value)
    if isinstance(v, ir.String) and re.fullmatch(r"-?[0-9]+", v.value):
        return v.value
    raise Refused(f"{fm.field} maps to the numeric column {fm.text} but is compared with {getattr(v, 'value', v)!r}")


def iter_strings(e: object):
    if isinstance(e, ir.String):
        yield e.value
    elif isinstance(e, tuple):
        for x in e:
            yield from iter_strings(x)
    elif hasattr(e, "__dataclass_fields__"):
        for k in e.__dataclass_fields__:  # type: ignore[attr-defined]
            yield from iter_strings(getattr(e, k))


def describe(e: ir.Expr) -> str:
    """A short EQL-like rendering of a leaf for notes and refusals."""
    try:
        from eqlc.printer import expr as print_expr

        return print_expr(e)
    except Exception:  # fall back to a local rendering if the printer cannot render the node
        pass
    f = leaf_field(e)
    name = f.name if f else "expression"
    if isinstance(e, ir.Compare):
        return f"{name} {e.op.value} {_lit(literal_of(e))}"
    if isinstance(e, ir.InSet):
        return f"{name} {'in~' if e.case_insensitive else 'in'} ({', '.join(_lit(v) for v in e.values)})"
    if isinstance(e, ir.WildcardMatch):
        return f"{name} {'like~' if e.case_insensitive else 'like'} ({', '.join(_lit(ir.String(p.text)) for p in e.patterns)})"
    if isinstance(e, ir.RegexMatch):
        return f"{name} {'regex~' if e.case_insensitive else 'regex'} ({', '.join(_lit(ir.String(p)) for p in e.patterns)})"
    if isinstance(e, ir.IsNull):
        return f"{name} == null"
    if isinstance(e, ir.FunctionCall):
        return f"{e.name}{'~' if e.case_insensitive else ''}(...)"
    return type(e).__name__


def _lit(v: ir.Expr) -> str:
    if isinstance(v, ir.String):
        return '"' + v.value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(v, ir.Null):
        return "null"
    if isinstance(v, ir.Boolean):
        return "true" if v.value else "false"
    return repr(getattr(v, "value", v))

