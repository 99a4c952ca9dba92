"""Conditions Elasticsearch runs as scripts (computed values), written as SQLite.

A comparison whose side is not a field against a literal (``length(process.command_line) > 50``)
and a string function whose second argument is a field (``startsWith(process.executable,
process.command_line)``) are not Lucene queries: Elasticsearch's QueryTranslator runs them as a
Painless script, once per combination of the values of each field (a missing field is one
``null``), where ``null`` propagates through every function and comparison and a final ``null``
is false (``../shared/research/eql-semantics.md`` section 9; the reference matcher's
``script_predicate``). ``not`` over such a script is the script of ``not``, so it is false on a
missing field too, unlike ``not`` over a native query.

osquery's columns hold one value per row, so "per combination of values" is one evaluation, and
SQLite's NULL propagates through ``length``, ``substr``, ``=`` and ``<`` exactly as the script's
null does. The emitter places the condition under AND/OR only, where NULL acts as false, and a
negated script is ``NOT (...)``: NULL again, false, as Elasticsearch's ``not(null)``. osquery's
"no value" markers (``''``, ``-1``) are turned into NULL first, as the ECS view reads them.

What is translated, and why exactly:

* ``length(s)``: ``String.length()``, UTF-16 code units; SQLite's ``length`` counts code points,
  so each character outside the Basic Multilingual Plane adds one more (counted by a correlated
  recursive CTE over the characters, only for a value that has such a character, found with a
  GLOB range over U+10000..U+10FFFF: GLOB compares code points, sqlite.org/lang_expr.html);
* ``startsWith(a, b)`` over two values: ``substr(a, 1, length(b)) = b`` (code points, binary
  comparison; an empty ``b`` is a prefix of every ``a``, as in Java); ``startsWith~``/``startswith~``
  folds both sides with SQLite's ``lower``, which folds ASCII letters only while the script folds
  every letter (``toLowerCase``): the translation states that and :func:`unicode_fold_fields`
  lets the verifier tell which events are outside it;
* comparisons ``==``, ``<``, ``<=``, ``>``, ``>=`` of two numbers, and ``==`` of two strings.

Everything else computed (arithmetic, ``substring``, ``concat``, ordering of strings, which Java
does by UTF-16 unit and SQLite by code point...) is refused with the reason.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Optional

from eqlc import ir
from eqlc.result import Refused

from . import sqltext

# Every character outside the Basic Multilingual Plane (two UTF-16 code units in Java).
_ASTRAL_GLOB = "'*[\U00010000-\U0010ffff]*'"

FOLD_NOTE = (
    "{fn}~ over {fields}: Elasticsearch's script folds every letter's case (Java toLowerCase), SQLite's lower() "
    "only ASCII letters; values are taken to hold no non-ASCII letter with a case"
)


@dataclass(frozen=True)
class Value:
    """A computed value: its SQL (NULL when Elasticsearch's script value is null) and its type."""

    sql: str
    type: str  # "str" | "num" | "bool"


def utf16_length(v: str) -> str:
    """Java ``String.length()`` of the text ``v`` (NULL for NULL): code points, plus one for each
    character above U+FFFF (a surrogate pair in UTF-16). ``v`` is bound once, as ``eqlc_s``."""
    astral = (
        "(WITH RECURSIVE eqlc_i(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM eqlc_i WHERE n < length(eqlc_s)) "
        "SELECT count(*) FROM eqlc_i WHERE unicode(substr(eqlc_s, n, 1)) > 65535)"
    )
    return (
        f"(SELECT length(eqlc_s) + CASE WHEN eqlc_s GLOB {_ASTRAL_GLOB} THEN {astral} ELSE 0 END "
        f"FROM (SELECT {v} AS eqlc_s))"
    )


def starts_with(a: str, b: str, case_insensitive: bool) -> str:
    """``a`` starts with ``b`` (NULL if either is NULL)."""
    if case_insensitive:
        a, b = f"lower({a})", f"lower({b})"
    return f"(substr({a}, 1, length({b})) = {b})"


_CMP = {ir.CompareOp.EQ: "=", ir.CompareOp.LT: "<", ir.CompareOp.LE: "<=", ir.CompareOp.GT: ">", ir.CompareOp.GE: ">="}


def is_script(expr: ir.Expr) -> bool:
    """Does Elasticsearch run this leaf as a script (rather than a Lucene query on a field)?"""
    if isinstance(expr, ir.Compare):
        sides = (expr.left, expr.right)
        fields = [s for s in sides if isinstance(s, ir.Field)]
        literals = [s for s in sides if isinstance(s, ir.LITERAL_TYPES)]
        return not (len(fields) == 1 and len(literals) == 1)
    if isinstance(expr, ir.FunctionCall) and expr.name in ("startsWith", "endsWith", "stringContains"):
        return len(expr.args) == 2 and not (isinstance(expr.args[0], ir.Field) and isinstance(expr.args[1], ir.String))
    return False


class ScriptWriter:
    """Writes one script condition; ``field_value`` reads a field as SQL (NULL when missing)."""

    def __init__(self, field_value: Callable[[ir.Field], Value]) -> None:
        self.field_value = field_value
        self.notes: list[str] = []

    def condition(self, expr: ir.Expr) -> str:
        v = self.value(expr)
        if v.type != "bool":
            raise Refused(f"a computed {v.type} used as a condition is not translated for osquery")
        return v.sql

    def value(self, expr: ir.Expr) -> Value:
        if isinstance(expr, ir.Field):
            return self.field_value(expr)
        if isinstance(expr, ir.String):
            return Value(sqltext.quote(expr.value), "str")
        if isinstance(expr, ir.Number):
            return Value(sqltext.number(expr.value), "num")
        if isinstance(expr, ir.Compare):
            return self.compare(expr)
        if isinstance(expr, ir.FunctionCall):
            return self.function(expr)
        raise Refused(f"{type(expr).__name__} inside an Elasticsearch script is not translated for osquery")

    def compare(self, expr: ir.Compare) -> Value:
        left, right = self.value(expr.left), self.value(expr.right)
        if left.type == right.type == "num" or (left.type == right.type == "str" and expr.op is ir.CompareOp.EQ):
            return Value(f"({left.sql} {_CMP[expr.op]} {right.sql})", "bool")
        raise Refused(
            f"the script comparison {left.type} {expr.op.value} {right.type} is not translated for osquery "
            "(Java orders strings by UTF-16 unit, SQLite by code point; mixed types are null in Elasticsearch)"
        )

    def function(self, expr: ir.FunctionCall) -> Value:
        args = [self.value(a) for a in expr.args]
        if expr.name == "length" and len(args) == 1 and args[0].type == "str":
            return Value(utf16_length(args[0].sql), "num")
        if expr.name == "startsWith" and len(args) == 2 and all(a.type == "str" for a in args):
            if expr.case_insensitive:
                names = ", ".join(a.name for a in expr.args if isinstance(a, ir.Field))
                self.notes.append(FOLD_NOTE.format(fn=expr.name, fields=names))
            return Value(starts_with(args[0].sql, args[1].sql, expr.case_insensitive), "bool")
        raise Refused(
            f"{expr.name} over a computed value or a non-literal argument runs as an Elasticsearch script; "
            "only length() and startsWith() are translated for osquery"
        )


def unicode_fold_fields(condition: ir.Expr) -> set:
    """The fields a case-insensitive script function folds (see :data:`FOLD_NOTE`)."""
    out: set = set()

    def walk(node: object) -> None:
        if isinstance(node, ir.FunctionCall) and node.case_insensitive and is_script(node):
            out.update(a.name for a in node.args if isinstance(a, ir.Field))
        if isinstance(node, (ir.And, ir.Or)):
            for t in node.terms:
                walk(t)
        elif isinstance(node, ir.Not):
            walk(node.expr)

    walk(condition)
    return out


def unicode_letter_with_case(text: Optional[object]) -> bool:
    """Does ``text`` hold a non-ASCII character whose case folding differs from itself?"""
    return isinstance(text, str) and any(not c.isascii() and c.lower() != c for c in text)
