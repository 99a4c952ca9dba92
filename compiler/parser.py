"""Parse EQL text into the IR: Lark (LALR) front end, readable syntax errors, semantic checks.

Lark and the transformer are imported on the first parse, not at import: a command whose rule is
in the parse cache (:mod:`eqlc.parse_cache`, ``eqlc match``) never needs them, and importing Lark
is a fifth of the command line's start-up."""

from __future__ import annotations

import functools
import re
from typing import TYPE_CHECKING, Optional

from . import ir
from .checks import InvalidRegex, check_query
from .limits import check_depth, check_query_size
from .errors import EqlError

if TYPE_CHECKING:
    from lark import Lark
    from lark.exceptions import UnexpectedInput

    from .parse_cache import ParseCache

DIALECTS = ("elasticsearch", "endgame")

# How terminals are named in "expected ..." messages.
_TERMINAL_NAMES = {
    "FIELD": "a field name", "STRING": "a string", "INT": "a number", "DECIMAL": "a number",
    "LPAR": "'('", "RPAR": "')'", "LSQB": "'['", "RSQB": "']'", "COMMA": "','", "VBAR": "'|'",
    "BANG": "'!'", "EQUAL": "'='", "COMPARE": "a comparison operator", "STRING_OP": "like/regex/:",
    "EQ_LEGACY": "'='", "TILDE": "'~'", "QMARK": "'?'", "PLUS": "'+'", "MINUS": "'-'", "STAR": "'*'",
    "SLASH": "'/'", "PERCENT": "'%'", "$END": "end of query", "IN_CI": "in~",
}


LARK_OPTIONS = dict(parser="lalr", propagate_positions=True, maybe_placeholders=True, cache=False)


@functools.lru_cache(maxsize=1)
def _lark() -> Lark:
    """The parser. Its LALR tables are loaded from grammar/lalr_tables.py when they were built from
    this grammar text by this Lark version (building them takes ~0.15 s at every start of the
    command line); otherwise built (scripts/build_parser_tables.py regenerates the file)."""
    import hashlib

    import lark
    from lark import Lark

    from eqlc.grammar import grammar_text

    text = grammar_text()
    try:
        from eqlc.grammar import lalr_tables as t
    except ImportError:
        t = None
    if (t is not None and t.LARK_VERSION == lark.__version__
            and t.GRAMMAR_SHA256 == hashlib.sha256(text.encode()).hexdigest()):
        return Lark.load({"data": t.DATA, "memo": t.MEMO})
    return Lark(text, **LARK_OPTIONS)


def _expected(names: set[str]) -> str:
    shown = sorted({_TERMINAL_NAMES.get(n, n.lower()) for n in names})
    return ", ".join(shown[:8]) + (", ..." if len(shown) > 8 else "")


def _syntax_error(err: UnexpectedInput, text: str) -> EqlError:
    from lark.exceptions import UnexpectedCharacters, UnexpectedEOF, UnexpectedToken

    if isinstance(err, UnexpectedCharacters):
        ch = text[err.pos_in_stream] if err.pos_in_stream < len(text) else ""
        if ch == "'" :
            msg = "unterminated or invalid single-quoted string"
        elif ch == '"':
            msg = "unterminated string (strings cannot span lines)"
        else:
            msg = f"unexpected character {ch!r}"
        return EqlError(msg, err.line, err.column)
    if isinstance(err, UnexpectedEOF) or (isinstance(err, UnexpectedToken) and err.token.type == "$END"):
        lines = text.rstrip().splitlines() or [""]
        return EqlError(
            f"unexpected end of query; expected {_expected(set(err.expected))}",
            len(lines),
            len(lines[-1]) + 1,
        )
    assert isinstance(err, UnexpectedToken)
    tok = err.token
    removed = _removed_syntax(text, tok)
    if removed:
        return EqlError(removed, tok.line, tok.column)
    return EqlError(f"unexpected {str(tok)!r}; expected {_expected(set(err.expected))}", tok.line, tok.column)


_RELATIONSHIPS = ("descendant", "child", "event")


def _removed_syntax(text: str, tok: object) -> str | None:
    """Messages for Endgame syntax that Elasticsearch removed, so users learn why, not just where."""
    value = str(tok)
    before = text[: getattr(tok, "start_pos", 0) or 0].rstrip()
    if value == "of" and before.split() and before.split()[-1] in _RELATIONSHIPS:
        return f"process relationships ('{before.split()[-1]} of [...]') are not supported: Elasticsearch removed them from EQL"
    if before.split() and before.split()[-1] == "join" or (not before.strip() and value == "join") or text.lstrip().startswith("join"):
        return "'join' queries are not supported: Elasticsearch removed them from EQL (use a sequence)"
    if value == "fork":
        return "sequence 'fork' is not supported: Elasticsearch removed it from EQL"
    if getattr(tok, "type", "") == "DECIMAL" and before.endswith("maxspan=") is False and before.split("=")[-1].strip().isdigit() and "maxspan" in before[-20:]:
        return f"Decimal time interval [{before.split('=')[-1].strip()}{value}] not supported"
    if getattr(tok, "type", "") == "COMPARE" and any(op in before.split()[-2:-1] for op in ("==", "!=", "<", "<=", ">", ">=")):
        return "comparisons cannot be chained (write 'a < b and b < c')"
    return None


def parse_query(text: str, dialect: str = "elasticsearch", check: bool = True) -> ir.Query:
    """Parse one EQL query into the IR.

    Raises :class:`EqlError` (with ``line``/``column`` relative to ``text`` and ``source`` set)
    for any syntax or semantic problem; never another exception for any input text.
    """
    if dialect not in DIALECTS:
        raise ValueError(f"unknown dialect {dialect!r}; expected one of {DIALECTS}")
    cache = DISK_CACHE if check else None
    if cache is not None:
        cached = cache.load(text, dialect)
        if cached is not None:
            return cached
    query = _parse(text, dialect, check)
    if cache is not None:
        cache.store(text, dialect, query)
    return query


# Set by a command that parses the same rule at every start (``eqlc match``); ``None``: no disk cache.
DISK_CACHE: Optional["ParseCache"] = None


def _parse(text: str, dialect: str, check: bool) -> ir.Query:
    from lark.exceptions import UnexpectedInput, VisitError

    from .transform import ToIR

    check_query_size(text)
    try:
        tree = _lark().parse(text)
    except UnexpectedInput as err:
        raise _attach(_syntax_error(err, text), text) from None
    except RecursionError:
        raise EqlError("query is nested too deeply", 1, 1, text) from None
    try:
        query = ToIR(dialect).transform(tree)
        check_depth(query)  # before any recursive pass (checks, printer, matcher, targets)
        if check:
            check_query(query, dialect)
    except VisitError as wrapped:
        err = wrapped.orig_exc
        if isinstance(err, EqlError):
            raise _attach(err, text) from None
        if isinstance(err, RecursionError):
            raise EqlError("query is nested too deeply", 1, 1, text) from None
        raise
    except EqlError as err:
        raise _attach(err, text) from None
    except RecursionError:
        raise EqlError("query is nested too deeply", 1, 1, text) from None
    return query


def _attach(err: EqlError, text: str) -> EqlError:
    if err.source is None:
        err.source = text
    if isinstance(err, InvalidRegex):
        _point_at_regex_position(err, text)
    return err


# A string literal as the grammar reads it: raw """...""" (verbatim) or "..." with escapes.
_STRING_LITERAL = re.compile(r'"""(.*?)"""|"((?:[^"\\\n]|\\.)*)"', re.S)


def _raw_index(raw: str, decoded_position: int) -> int:
    """Index in a double-quoted literal's body of its ``decoded_position``-th decoded character."""
    from .transform import _UNICODE_ESCAPE

    i = count = 0
    while count < decoded_position and i < len(raw):
        if raw[i] == "\\":
            m = _UNICODE_ESCAPE.match(raw, i + 1)
            i = m.end() if m else i + 2
        else:
            i += 1
        count += 1
    return i


def _point_at_regex_position(err: InvalidRegex, text: str) -> None:
    """Move the caret of an invalid-regex error from the predicate to the offending character:
    the first string literal after the predicate's start that decodes to the pattern."""
    lines = text.splitlines(keepends=True)
    if not 1 <= err.line <= len(lines):
        return
    offset = sum(len(x) for x in lines[: err.line - 1]) + err.column - 1
    from .transform import unescape

    for m in _STRING_LITERAL.finditer(text, offset):
        if m.group(1) is not None:
            if m.group(1) != err.pattern:
                continue
            at = m.start(1) + err.position
        else:
            try:
                decoded = unescape(m.group(2), 0, 0)
            except EqlError:
                continue
            if decoded != err.pattern:
                continue
            at = m.start(2) + _raw_index(m.group(2), err.position)
        before = text[:at]
        err.line = before.count("\n") + 1
        err.column = at - (before.rfind("\n") + 1) + 1
        return
