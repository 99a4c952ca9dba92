"""IR -> osquery SQL (SQLite) for one table on one platform.

Null and negation: SQL's ``NOT`` of NULL is NULL, while Elasticsearch's ``not``/``!=`` on a
native query is Lucene's ``must_not``, which *matches* events that lack the field. The emitter
therefore never emits ``NOT`` over a nullable test: negations are pushed down to the leaves
(De Morgan), and a negated leaf is written ``(<field is missing> OR <value fails the test>)``.
Above the leaves there are only AND/OR, where a NULL leaf behaves as false, which is what a
missing field means for a positive test. "Missing" covers SQL NULL and the values osquery
writes when it has none (``''``, ``-1``; see ``mapping.yaml``).

Fields whose value is fixed for a table (``event.category`` of ``process_events``, or
``host.os.type`` on a platform) or drawn from a small enumeration (``event.action`` from
``syscall``) are decided at compile time: the predicate's own SQL is evaluated by SQLite on each
possible value (:func:`.engine.const_eval`), so the folded result is exactly what the emitted
test would have computed; an enumeration becomes ``column IN (...)``.

Anything the mapping cannot express is refused with the reason (:class:`Refused`); a refusal
inside an AND that is already false (or an OR already true) does not matter and is dropped.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Optional, Union

from eqlc import ir
from eqlc.result import Refused, about

from . import predicates as P
from . import scripts, sqltext, sysmon_decode, tokens
from .engine import const_eval
from .fields import FieldMap, Mapping, TableMap, when_sql

@dataclass(frozen=True)
class EnumTest:
    """A test on an enumerated column: which listed values pass, and whether NULL/unlisted ones do.

    Kept structured so that ``syscall IN (...) AND syscall IN (...)`` folds into one test.
    """

    ref: str
    domain: tuple  # SQL literals of the listed values
    accept: frozenset
    accept_other: bool
    closed: bool = False  # the column takes only the listed values (the source's row filter)

    def merge(self, other: "EnumTest", kind: str) -> "EnumTest":
        closed = self.closed and other.closed
        if kind == "and":
            return EnumTest(self.ref, self.domain, self.accept & other.accept, self.accept_other and other.accept_other, closed)
        return EnumTest(self.ref, self.domain, self.accept | other.accept, self.accept_other or other.accept_other, closed)

    def constant(self) -> Optional[bool]:
        if (self.accept_other or self.closed) and self.accept == frozenset(self.domain):
            return True
        if not self.accept_other and not self.accept:
            return False
        return None

    def sql(self) -> str:
        if self.accept_other:
            no = [d for d in self.domain if d not in self.accept]
            test = f"{self.ref} <> {no[0]}" if len(no) == 1 else f"{self.ref} NOT IN ({', '.join(no)})"
            return f"({self.ref} IS NULL OR {test})"
        yes = [d for d in self.domain if d in self.accept]
        return f"{self.ref} = {yes[0]}" if len(yes) == 1 else f"{self.ref} IN ({', '.join(yes)})"


@dataclass(frozen=True)
class Present:
    """``field has a value`` (``f != null``); ``key`` names the field's missing-test."""

    key: str
    sql: str


@dataclass(frozen=True)
class NegLeaf:
    """A negated test: the field is missing (``missing`` parts) or its value fails (``core``)."""

    key: str
    missing: tuple
    core: str

    def sql(self) -> str:
        return "(" + " OR ".join(self.missing + (self.core,)) + ")"


Node = Union[bool, str, tuple, EnumTest, Present, NegLeaf]  # tuple: ("and"|"or", children)


@dataclass(frozen=True)
class Frag:
    """A translated condition with what it relied on."""

    sql: Node
    notes: tuple = ()
    fields: frozenset = frozenset()
    joins: frozenset = frozenset()


def _meta(frags: list[Frag]) -> dict:
    notes: dict = {}
    for f in frags:
        for n in f.notes:
            notes[n] = None
    return dict(
        notes=tuple(notes),
        fields=frozenset().union(*(f.fields for f in frags)) if frags else frozenset(),
        joins=frozenset().union(*(f.joins for f in frags)) if frags else frozenset(),
    )


def _simplify(kind: str, children: list) -> Node:
    """Merge tests on the same enumerated column; inside an AND that already requires a field to
    be present, its negated tests need not allow "missing". May decide the whole node."""
    merged: dict = {}
    rest: list = []
    for c in children:
        if isinstance(c, EnumTest):
            merged[c.ref] = merged[c.ref].merge(c, kind) if c.ref in merged else c
        else:
            rest.append(c)
    out: list = []
    for test in merged.values():
        const = test.constant()
        if const is (kind == "or"):
            return const
        if const is None:
            out.append(test)
    if kind == "and":
        present = {c.key for c in rest if isinstance(c, Present)}
        rest = [c.core if isinstance(c, NegLeaf) and c.key in present else c for c in rest]
    out = out + rest
    out = list(dict.fromkeys(out))
    if not out:
        return kind == "and"
    return out[0] if len(out) == 1 else (kind, tuple(out))


def combine(kind: str, items: list) -> Frag:
    """AND/OR of translated terms (``Frag``) or refusals (``Refused``), folding constants."""
    absorbing = kind == "or"  # True absorbs OR, False absorbs AND
    frags = [i for i in items if isinstance(i, Frag)]
    decided = [f for f in frags if f.sql is absorbing]
    if decided:
        return Frag(absorbing, **_meta(decided))
    refusals = [i for i in items if isinstance(i, Refused)]
    if refusals:
        raise refusals[0]
    live = [f for f in frags if f.sql is not (not absorbing)]
    meta = _meta(frags)
    children: list = []
    for f in live:
        if isinstance(f.sql, tuple) and f.sql[0] == kind:
            children.extend(f.sql[1])
        else:
            children.append(f.sql)
    return Frag(_simplify(kind, children), **meta)


def render(node: Node, top: bool = False) -> str:
    """SQL text of a condition tree; top-level conjuncts one per line."""
    if node is True:
        return "1"
    if node is False:
        return "0"
    if isinstance(node, str):
        return node
    if isinstance(node, (EnumTest, NegLeaf)):
        return node.sql()
    if isinstance(node, Present):
        return node.sql
    kind, children = node
    parts = []
    for child in children:
        text = render(child)
        if isinstance(child, tuple) and child[0] != kind:
            text = f"({text})"
        parts.append(text)
    if top:
        return ("\n  AND " if kind == "and" else "\n   OR ").join(parts)
    return (" AND " if kind == "and" else " OR ").join(parts)


def basename_sql(ref: str, sep: str = "/") -> str:
    """The last ``sep``-separated segment of ``ref``: ``rtrim`` strips the trailing run of
    characters that are not ``sep``, leaving the directory part; the name is what follows it.
    SQLite's ``rtrim``/``length``/``substr`` count characters, so multi-byte names are cut
    correctly. (``sep`` is '/' for POSIX paths, '\\' for Windows paths.)"""
    s = sqltext.quote(sep)
    return f"substr({ref}, length(rtrim({ref}, replace({ref}, {s}, ''))) + 1)"


def _hex_digit(ref: str, pos: int) -> str:
    return f"(instr('0123456789ABCDEF', upper(substr({ref}, {pos}, 1))) - 1)"


def _hex_number(ref: str, start: int) -> str:
    """The value of the 8 hex digits of ``ref`` from position ``start`` (1-based)."""
    return "(" + " + ".join(f"{_hex_digit(ref, start + i)} * {16 ** (7 - i)}" for i in range(8)) + ")"


def sysmon_details_sql(ref: str) -> str:
    """Sysmon's registry ``Details`` as Elastic's Windows integration indexes it in
    ``registry.data.strings`` (sysmon_operational ingest pipeline, "Set registry fields"): a
    whole-text match of ``(?i)DWORD \\((0x[0-9A-F]{8})\\)`` is the number in decimal, of
    ``(?i)QWORD \\(((0x[0-9A-F]{8})-(0x[0-9A-F]{8}))\\)`` is ``(high << 8) + low`` in decimal (as
    the pipeline computes it), any other text is itself. ``upper`` + GLOB is the case-insensitive
    whole-text match; the digits are read with ``instr`` (SQLite has no hex conversion)."""
    h8 = "[0-9A-F]" * 8
    dword = f"upper({ref}) GLOB 'DWORD (0X{h8})'"
    qword = f"upper({ref}) GLOB 'QWORD (0X{h8}-0X{h8})'"
    return (
        f"(CASE WHEN {dword} THEN CAST({_hex_number(ref, 10)} AS TEXT) "
        f"WHEN {qword} THEN CAST({_hex_number(ref, 10)} * 256 + {_hex_number(ref, 21)} AS TEXT) "
        f"ELSE {ref} END)"
    )


def extension_sql(name: str) -> str:
    """The text after the last '.' of ``name``; NULL when there is none (or it is empty)."""
    tail = f"substr({name}, length(rtrim({name}, replace({name}, '.', ''))) + 1)"
    return f"NULLIF(CASE WHEN instr({name}, '.') > 0 THEN {tail} END, '')"


class Emitter:
    """Translate conditions for ``table`` as osquery runs it on ``platform``."""

    def __init__(self, table: TableMap, platform: str, mapping: Mapping) -> None:
        self.table = table
        self.platform = platform
        self.mapping = mapping

    # ---- fields ---------------------------------------------------------------------------
    def lookup(self, f: ir.Field) -> FieldMap:
        name = f.name
        if f.has_index:
            raise Refused(f"array index in {name}: Elasticsearch does not support it and osquery has no arrays")
        if name == "host.os.type":
            return FieldMap(name, "constant", constant=(self.mapping.os_types[self.platform],))
        fm = self.table.field(name, self.platform)
        if fm is None or fm.kind == "absent":
            if f.optional:
                return FieldMap(
                    name,
                    "constant",
                    constant=(),
                    note=(
                        f"?{name} is not recorded by osquery's {self.table.name} table: read as having no value, as "
                        "Elasticsearch reads an optional field missing from the index mapping"
                    ),
                )
            where = ""
            if any((self.table.field(name, p) or FieldMap(name, "absent")).kind != "absent" for p in self.table.platforms):
                where = f" on {self.platform}"
            raise Refused(f"{name} is not recorded by osquery's {self.table.name} table{where}")
        if fm.kind == "refuse":
            raise Refused(f"{name}: {fm.reason}", f)
        pinned = dict(self.table.filter).get(fm.column) if fm.kind == "column" and not fm.join and not fm.json_path else None
        if pinned is not None and not fm.when and not fm.cases:
            # the source's rows take only the filter's values in this column: an enumeration,
            # decided at compile time like event.category
            ecs = (lambda v: v) if fm.type == "long" else str
            return replace(fm, kind="enum", values=tuple((v, (ecs(v),)) for v in pinned))
        return fm

    def column_type(self, fm: FieldMap) -> str:
        if fm.json_path:
            return "TEXT"  # osquery writes every EventData value as a JSON string (boost write_json)
        table = self.table.joins[fm.join].table if fm.join else self.table.sql_table
        return self.mapping.schema[self.platform][table][fm.column]

    def column_literal(self, fm: FieldMap, value: object) -> str:
        if self.column_type(fm) in ("BIGINT", "INTEGER"):
            return sqltext.number(int(value))  # type: ignore[call-overload]
        return sqltext.quote(str(value))

    def value_sql(self, fm: FieldMap, ref: str, with_when: bool = True) -> str:
        if fm.strip_suffix:
            suffix = sqltext.quote(fm.strip_suffix)
            n = len(fm.strip_suffix)
            ref = f"(CASE WHEN substr({ref}, -{n}) = {suffix} THEN substr({ref}, 1, length({ref}) - {n}) ELSE {ref} END)"
        sep = sqltext.quote(fm.separator)
        if fm.kind == "basename" and fm.head:
            v = f"CASE WHEN instr({ref}, {sep}) > 0 THEN substr({ref}, 1, length(rtrim({ref}, replace({ref}, {sep}, ''))) - 1) END"
        elif fm.kind == "basename":
            v = basename_sql(ref, fm.separator)
            if fm.separator_required:
                v = f"CASE WHEN instr({ref}, {sep}) > 0 THEN {v} END"
        elif fm.kind == "token_count":
            v = tokens.count_sql(ref)
        elif fm.kind == "extension" and fm.of_path:
            # Elastic's Windows integration: the text after the last '.' of the whole path, when the
            # path has a separator and more than one character ('' when it ends with '.')
            tail = f"substr({ref}, length(rtrim({ref}, replace({ref}, '.', ''))) + 1)"
            v = f"CASE WHEN instr({ref}, {sep}) > 0 AND instr({ref}, '.') > 0 AND length({ref}) > 1 THEN {tail} END"
        elif fm.kind == "extension":
            v = extension_sql(basename_sql(ref, fm.separator))
        elif fm.decode == "sysmon_details":
            v = sysmon_details_sql(ref)
        elif fm.decode == "sysmon_hive":
            v = sysmon_decode.hive_sql(ref)
        elif fm.decode == "windows_outcome":
            v = sysmon_decode.outcome_sql(ref)
        elif fm.decode.startswith("sysmon_hash:"):
            v = sysmon_decode.hash_sql(ref, fm.decode.split(":", 1)[1])
        elif fm.json_path and fm.type == "long":
            # Elastic's `convert` to long: a number only when the text is one
            v = f"CASE WHEN {ref} GLOB '[0-9]*' AND {ref} NOT GLOB '*[^0-9]*' THEN CAST({ref} AS INTEGER) END"
        elif fm.type == "keyword" and self.column_type(fm) in ("BIGINT", "INTEGER"):
            v = f"CAST({ref} AS TEXT)"
        else:
            v = ref
        if with_when and fm.when:
            alias = fm.join or self.table.sql_table
            cond = " AND ".join(when_sql(f"{alias}.{c}", val) for c, val in fm.when)
            v = f"CASE WHEN {cond} THEN {v} END"
        return v

    @staticmethod
    def derived_null(fm: FieldMap) -> bool:
        """Can the value be NULL while the column holds text? (then "missing" tests the value)"""
        return bool(fm.when or fm.kind == "extension" or fm.separator_required or fm.head or (fm.json_path and fm.type == "long")
                    or fm.decode in ("sysmon_hive", "windows_outcome") or fm.decode.startswith("sysmon_hash:"))

    def missing_parts(self, fm: FieldMap, ref: str, v: str) -> list[str]:
        null_of = v if self.derived_null(fm) else ref
        return [f"{null_of} IS NULL"] + [f"{ref} = {self.column_literal(fm, s)}" for s in fm.missing]

    def missing_sql(self, fm: FieldMap, ref: str, v: str) -> str:
        parts = self.missing_parts(fm, ref, v)
        return parts[0] if len(parts) == 1 else "(" + " OR ".join(parts) + ")"

    def present_sql(self, fm: FieldMap, ref: str, v: str) -> str:
        parts = [f"{ref} <> {self.column_literal(fm, s)}" for s in fm.missing]
        if not parts or self.derived_null(fm):
            parts.insert(0, f"{v if self.derived_null(fm) else ref} IS NOT NULL")
        return parts[0] if len(parts) == 1 else "(" + " AND ".join(parts) + ")"

    # ---- leaves ---------------------------------------------------------------------------
    def literal_sql(self, value: object, ftype: str) -> str:
        if value is None:
            return "NULL"
        if ftype == "long":
            return sqltext.number(int(value))  # type: ignore[call-overload]
        if isinstance(value, bool):
            return sqltext.quote("true" if value else "false")
        return sqltext.quote(str(value))

    def const_truth(self, pred: Optional[P.Pred], values: tuple, ftype: str) -> bool:
        """Does a field with exactly these ECS ``values`` satisfy ``pred`` (None: ``== null``)?"""
        if pred is None:
            return len(values) == 0
        for value in values:
            pos, _ = pred.render(self.literal_sql(value, ftype), ftype)
            if const_eval(pos):
                return True
        return False

    def leaf(self, f: ir.Field, pred: Optional[P.Pred], neg: bool) -> Frag:
        """``pred`` over field ``f`` (``pred`` None means ``f == null``), negated if ``neg``."""
        fm = self.lookup(f)
        notes = [fm.note] if fm.note else []
        used = frozenset({f.name})
        if fm.kind == "constant":
            return Frag(self.const_truth(pred, fm.constant, fm.type) != neg, tuple(notes), used)
        if fm.kind == "enum":
            return self.enum_leaf(fm, pred, neg, tuple(notes), used)
        joins: frozenset = frozenset()
        alias = self.table.sql_table
        if fm.join:
            join = self.table.joins[fm.join]
            alias = join.alias
            joins = frozenset({fm.join})
            if join.note:
                notes.append(join.note)
        ref = fm.ref(alias)
        v = self.value_sql(fm, ref)
        table = self.table.joins[fm.join].table if fm.join else self.table.sql_table
        if pred is None:
            if fm.missing:
                notes.append(self.marker_note(f.name, fm, table, fm.missing))
            if not neg:
                if fm.join:
                    raise Refused(
                        f"{f.name} == null: a missing value cannot be told apart from a parent that has exited "
                        f"(no {self.table.joins[fm.join].table} row)"
                    )
                return Frag(self.missing_sql(fm, ref, v), tuple(notes), used, joins)
            return Frag(Present(self.missing_sql(fm, ref, v), self.present_sql(fm, ref, v)), tuple(notes), used, joins)
        pos, negc = self.render_pred(fm, pred, v)
        if (pos, negc) == tokens.NEVER:
            # no argument read from the command line can pass the test (its text has a space):
            # under the stated assumption the test is false, its negation true
            return Frag(neg, tuple(notes), used)
        # osquery's "no value" markers ('' or -1) are read as missing: a test that such a stored
        # value would pass must exclude it, and the reading is stated.
        bare = self.value_sql(fm, ref, with_when=False)
        hits = [m for m in fm.missing if const_eval(self.render_pred(fm, pred, bare.replace(ref, self.column_literal(fm, m)))[0])]
        if hits:
            notes.append(self.marker_note(f.name, fm, table, hits))
        if neg:
            key = self.missing_sql(fm, ref, v)
            return Frag(NegLeaf(key, tuple(self.missing_parts(fm, ref, v)), negc), tuple(notes), used, joins)
        node: Node = f"({self.present_sql(fm, ref, v)} AND {pos})" if hits else pos
        guards = self.when_guards(fm)
        if guards:
            # a positive test needs the field, which only rows matching `when` have: state that as
            # a test of the enumerated column, so that it folds with the rule's own tests of it
            node = _simplify("and", guards + [node])
        return Frag(node, tuple(notes), used, joins)

    def when_guards(self, fm: FieldMap) -> list:
        """EnumTests for the `when` conditions of ``fm`` on enumerated columns of the main row."""
        out = []
        for col, val in fm.when:
            enum = next((e for e in self.table.fields[self.platform].values()
                         if e.kind == "enum" and not e.join and e.column == col), None)
            vals = val if isinstance(val, tuple) else (val,)
            if enum is None or any(v not in enum.value_map for v in vals):
                continue
            domain = tuple(self.column_literal(enum, c) for c, _ in enum.values)
            accept = frozenset(self.column_literal(enum, v) for v in vals)
            out.append(EnumTest(f"{self.table.sql_table}.{col}", domain, accept, False))
        return out

    def marker_note(self, name: str, fm: FieldMap, table: str, markers) -> str:
        shown = " or ".join(self.column_literal(fm, m) for m in markers)
        return (
            f"osquery stores {shown} in {table}.{fm.column} when it has no value, so {name} is read as missing "
            f"there: a {name} osquery would store as {shown} cannot be matched as a value"
        )

    def render_pred(self, fm: FieldMap, pred: P.Pred, v: str) -> tuple[str, str]:
        if fm.kind == "tokens":
            return tokens.render(pred, v)
        return pred.render(v, fm.type)

    def enum_leaf(self, fm: FieldMap, pred: Optional[P.Pred], neg: bool, notes: tuple, used: frozenset) -> Frag:
        pinned = dict(self.table.filter).get(fm.column) if not fm.join else None
        values = [(c, ecs) for c, ecs in fm.values if pinned is None or c in pinned]
        domain = tuple(self.column_literal(fm, c) for c, _ in values)
        accept = frozenset(self.column_literal(fm, c) for c, ecs in values if self.const_truth(pred, ecs, fm.type) != neg)
        # rows outside the source's filter are never read: only the listed values occur
        other = False if pinned is not None else self.const_truth(pred, (), fm.type) != neg
        test = EnumTest(fm.ref(fm.join or self.table.sql_table), domain, accept, other, pinned is not None)
        const = test.constant()
        joins: frozenset = frozenset()
        if fm.join and const is None:
            joins = frozenset({fm.join})
            jnote = self.table.joins[fm.join].note
            if jnote:
                notes = notes + (jnote,)
        return Frag(test if const is None else const, notes, used, joins)

    # ---- expressions ----------------------------------------------------------------------
    def translate(self, expr: ir.Expr, neg: bool = False) -> Frag:
        if isinstance(expr, ir.Not):
            return self.translate(expr.expr, not neg)
        if isinstance(expr, (ir.And, ir.Or)):
            kind = "and" if isinstance(expr, ir.And) else "or"
            if neg:
                kind = "or" if kind == "and" else "and"
            items: list = []
            for term in expr.terms:
                try:
                    items.append(self.translate(term, neg))
                except Refused as r:
                    items.append(r)
            return combine(kind, items)
        if isinstance(expr, ir.Boolean):
            return Frag(expr.value != neg)
        with about(expr):  # a refusal names the atom it is about (eqlc.broaden)
            return self.translate_leaf(expr, neg)

    def translate_leaf(self, expr: ir.Expr, neg: bool) -> Frag:
        if isinstance(expr, ir.IsNull):
            if not isinstance(expr.expr, ir.Field):
                raise Refused("a null check of a computed value runs as an Elasticsearch script; not translated")
            return self.leaf(expr.expr, None, neg)
        if scripts.is_script(expr):
            return self.script_leaf(expr, neg)
        field_, pred = self.predicate(expr)
        return self.leaf(field_, pred, neg)

    def script_leaf(self, expr: ir.Expr, neg: bool) -> Frag:
        """A condition Elasticsearch runs as a script (:mod:`.scripts`): NULL-propagating SQL,
        false on a missing value whether negated or not."""
        used: dict = {}
        joins: set = set()
        notes: list = []

        def field_value(f: ir.Field) -> scripts.Value:
            fm = self.lookup(f)
            used[f.name] = None
            if fm.note:
                notes.append(fm.note)
            if fm.kind == "constant":
                if len(fm.constant) > 1:
                    raise Refused(f"{f.name} holds several values here; a script over it is not translated for osquery")
                if not fm.constant:
                    return scripts.Value("NULL", "num" if fm.type == "long" else "str")
                return scripts.Value(self.literal_sql(fm.constant[0], fm.type), "num" if fm.type == "long" else "str")
            if fm.kind not in ("column", "basename", "extension"):
                raise Refused(f"{f.name} is read from osquery as a {fm.kind}; a script over it is not translated")
            if fm.type not in ("keyword", "long"):
                raise Refused(f"a script over the {fm.type} field {f.name} is not translated for osquery")
            alias = self.table.sql_table
            if fm.join:
                join = self.table.joins[fm.join]
                alias = join.alias
                joins.add(fm.join)
                if join.note:
                    notes.append(join.note)
            ref = fm.ref(alias)
            v = self.value_sql(fm, ref)
            if fm.missing:
                v = f"CASE WHEN {self.present_sql(fm, ref, v)} THEN {v} END"
            return scripts.Value(v, "num" if fm.type == "long" else "str")

        writer = scripts.ScriptWriter(field_value)
        cond = writer.condition(expr)
        sql = f"NOT {cond}" if neg else cond
        return Frag(sql, tuple(dict.fromkeys(notes + writer.notes)), frozenset(used), frozenset(joins))

    def predicate(self, expr: ir.Expr) -> tuple[ir.Field, P.Pred]:
        """The field and the test of a leaf condition (field against literals)."""
        if isinstance(expr, ir.Compare):
            left, right, op = expr.left, expr.right, expr.op.value
            if isinstance(right, ir.Field) and isinstance(left, ir.LITERAL_TYPES):
                left, right = right, left
                op = {"<": ">", "<=": ">=", ">": "<", ">=": "<="}.get(op, op)
            if not (isinstance(left, ir.Field) and isinstance(right, ir.LITERAL_TYPES)):
                raise Refused(_script_reason(expr))
            if isinstance(right, ir.Null):
                raise Refused(f"comparison of {left.name} with null using {op} is not translated")
            if op == "==":
                return left, P.Equals(left.name, (right,))
            return left, P.Order(left.name, op, right)
        if isinstance(expr, ir.InSet):
            f = _field(expr.expr, expr)
            if not all(isinstance(v, ir.LITERAL_TYPES) for v in expr.values):
                raise Refused(_script_reason(expr))
            if expr.case_insensitive:
                return f, P.CiEquals(f.name, tuple(P.ecs_text(v, f.name) for v in expr.values))
            return f, P.Equals(f.name, tuple(expr.values))
        if isinstance(expr, ir.WildcardMatch):
            f = _field(expr.expr, expr)
            return f, P.Wildcards(f.name, tuple(expr.patterns), expr.case_insensitive)
        if isinstance(expr, ir.RegexMatch):
            f = _field(expr.expr, expr)
            return f, P.Regex(f.name, tuple(expr.patterns), expr.case_insensitive)
        if isinstance(expr, ir.FunctionCall):
            name = expr.name
            args = expr.args
            if name in ("startsWith", "endsWith", "stringContains") and len(args) == 2:
                f = _field(args[0], expr)
                if not isinstance(args[1], ir.String):
                    raise Refused(_script_reason(expr))
                return f, P.StringFunction(f.name, name, args[1].value, expr.case_insensitive)
            if name == "cidrMatch" and len(args) >= 2:
                f = _field(args[0], expr)
                if not all(isinstance(a, ir.String) for a in args[1:]):
                    raise Refused(_script_reason(expr))
                return f, P.Cidr(f.name, tuple(a.value for a in args[1:]))  # type: ignore[union-attr]
            raise Refused(_script_reason(expr))
        if isinstance(expr, ir.Field):
            raise Refused(f"the bare field {expr.name} used as a condition is not translated")
        raise Refused(f"{type(expr).__name__} conditions are not translated for osquery")


def _field(node: ir.Expr, whole: ir.Expr) -> ir.Field:
    if not isinstance(node, ir.Field):
        raise Refused(_script_reason(whole))
    return node


def _script_reason(expr: ir.Expr) -> str:
    what = expr.name if isinstance(expr, ir.FunctionCall) else type(expr).__name__
    return (
        f"{what} over a computed value or a non-literal argument runs as an Elasticsearch script "
        "(per array value, null-propagating); not translated for osquery"
    )


@dataclass
class QueryPlan:
    """One SQL query of a translation: a table, the platforms it runs on, and its text."""

    table: str
    platforms: list[str]
    sql: str
    main_columns: int = 0


@dataclass
class Plan:
    """Everything a compile produced (the Translation is built from it)."""

    queries: list[QueryPlan] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    fields: set = field(default_factory=set)  # ECS fields the translation reads (for adapters)
    table_names: list[str] = field(default_factory=list)
    false_on: set = field(default_factory=set)  # platforms where the condition can never hold
    false_sources: set = field(default_factory=set)  # (source, platform) where it can never hold


def filter_sql(table: TableMap) -> list[str]:
    """The conditions selecting the rows of the osquery table that ``table`` (a source) reads."""
    out = []
    for col, vals in table.filter:
        lits = [sqltext.literal(v) for v in vals]
        ref = f"{table.sql_table}.{col}"
        out.append(f"{ref} = {lits[0]}" if len(lits) == 1 else f"{ref} IN ({', '.join(lits)})")
    return out


def select_sql(table: TableMap, frag: Frag, columns: dict) -> str:
    """The query; ``columns`` is the platform's table -> columns (osquery's specs)."""
    main = table.sql_table
    cols = [f"{main}.*"]
    joins = []
    for alias in sorted(frag.joins):
        j = table.joins[alias]
        # the joined facts an analyst reads beside the event (the parent's path and command line,
        # the PE's original name, the signer)
        for col in ("path", "cmdline", "original_filename", "subject_name", "result"):
            if col in columns[j.table] and col != j.key:
                cols.append(f"{alias}.{col} AS {alias}_{col}")
        joins.append(f"LEFT JOIN {j.table} AS {alias} ON {alias}.{j.key} = {main}.{j.on}")
    lines = ["SELECT " + ", ".join(cols), f"FROM {main}"] + joins
    conds = filter_sql(table)
    if frag.sql is not True:
        conds.append(render(frag.sql, top=True) if not conds else _paren(frag.sql))
    if conds:
        lines.append("WHERE " + "\n  AND ".join(conds))
    return "\n".join(lines) + ";"


def _paren(node: Node) -> str:
    text = render(node, top=True)
    return f"({render(node)})" if isinstance(node, tuple) and node[0] == "or" else text
