"""Tests of one ECS field's value, written as SQLite over an osquery value expression.

Each predicate renders two SQL conditions over a value expression ``v`` (a column, or a
computed expression such as the basename of ``path``):

* ``pos``: true when the value satisfies the test (NULL when ``v`` is NULL, which in a WHERE
  clause built only from AND/OR acts as false: Elasticsearch's "a missing field matches no
  query");
* ``neg``: true when a *present* value does not satisfy it. The emitter adds "or the field is
  missing" itself, because Elasticsearch's ``not``/``!=`` (``bool.must_not``) matches events
  without the field while SQL's ``NOT`` of NULL is NULL.

Elasticsearch semantics per operator (``../shared/research/eql-semantics.md`` sections 1-4, 9):
``==``/``in`` are exact and case-sensitive (``=``/``IN``; SQLite's BINARY collation compares
bytes); ``:``/``in~``/``like~`` fold ASCII letters only (``LIKE``, see :mod:`.sqltext`);
``like`` is a case-sensitive wildcard (``GLOB``); ``regex`` is a whole-value Lucene regex
(``regex_match``); ordering compares code points (= UTF-8 bytes, SQLite BINARY) or numbers.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from typing import Union

from eqlc import ir
from eqlc.lucene_regex import RegexError, Untranslatable
from eqlc.native_wildcard import NativePattern
from eqlc.result import Refused

from . import sqltext
from .regex import to_osquery_regex

_INT = re.compile(r"-?[0-9]+")


# ---- literals ---------------------------------------------------------------------------------
def ecs_text(lit: ir.Expr, field: str) -> str:
    """The string Elasticsearch compares a keyword field with (numbers/booleans as text)."""
    if isinstance(lit, ir.String):
        return lit.value
    if isinstance(lit, ir.Boolean):
        return "true" if lit.value else "false"
    if isinstance(lit, ir.Number) and isinstance(lit.value, int):
        return str(lit.value)
    raise Refused(f"comparing the keyword field {field} with {_show(lit)} is not translated (the text Elasticsearch would compare is not certain)")


def _show(lit: ir.Expr) -> str:
    if isinstance(lit, ir.String):
        return repr(lit.value)
    if isinstance(lit, ir.Number):
        return repr(lit.value)
    if isinstance(lit, ir.Boolean):
        return "true" if lit.value else "false"
    if isinstance(lit, ir.Null):
        return "null"
    return type(lit).__name__


def sql_literals(lit: ir.Expr, ftype: str, field: str) -> list[str]:
    """The SQL literal(s) a value compares equal to in an osquery column of ECS type ``ftype``."""
    if ftype == "keyword":
        return [sqltext.quote(ecs_text(lit, field))]
    if ftype == "long":
        if isinstance(lit, ir.Number) and isinstance(lit.value, int):
            return [sqltext.number(lit.value)]
        if isinstance(lit, ir.String) and _INT.fullmatch(lit.value):
            return [sqltext.number(int(lit.value))]
        raise Refused(f"comparing the numeric field {field} with {_show(lit)} is not translated")
    if ftype == "ip":
        if not isinstance(lit, ir.String):
            raise Refused(f"comparing the IP field {field} with {_show(lit)} is not translated")
        return [sqltext.quote(t) for t in osquery_ip_texts(lit.value, field)]
    raise Refused(f"field {field} has unsupported type {ftype}")


def osquery_ip_texts(text: str, field: str) -> list[str]:
    """How osquery's socket_events writes the address ``text``: IPv4 dotted decimal, IPv6 as eight
    4-digit lower-case hex groups (``socket_events.cpp`` ``parseSockAddr``). Elasticsearch stores an
    IPv4-mapped IPv6 address as the IPv4 address, so both spellings stand for it."""
    try:
        addr = ipaddress.ip_address(text)
    except ValueError:
        raise Refused(f"{text!r} is not an IP address; Elasticsearch rejects it for the ip field {field}") from None
    if isinstance(addr, ipaddress.IPv6Address) and addr.ipv4_mapped is not None:
        addr = addr.ipv4_mapped
    if isinstance(addr, ipaddress.IPv4Address):
        mapped = ipaddress.IPv6Address("::ffff:" + str(addr))
        return [str(addr), mapped.exploded]
    return [addr.exploded]


# ---- predicates -------------------------------------------------------------------------------
@dataclass(frozen=True)
class Pred:
    field: str

    def render(self, v: str, ftype: str) -> tuple[str, str]:
        raise NotImplementedError

    def literal_ok(self, ftype: str) -> None:
        """Refuse operators Elasticsearch does not apply to non-keyword fields."""
        if ftype != "keyword":
            raise Refused(f"{self.op_name} on the {ftype} field {self.field} is not translated")

    op_name = "this operator"


def _in(v: str, lits: list[str]) -> tuple[str, str]:
    lits = list(dict.fromkeys(lits))
    if len(lits) == 1:
        return f"{v} = {lits[0]}", f"{v} <> {lits[0]}"
    joined = ", ".join(lits)
    return f"{v} IN ({joined})", f"{v} NOT IN ({joined})"


def _any(parts: list[tuple[str, str]]) -> tuple[str, str]:
    if len(parts) == 1:
        return parts[0]
    return "(" + " OR ".join(p for p, _ in parts) + ")", "(" + " AND ".join(n for _, n in parts) + ")"


def _has_letter(text: str) -> bool:
    return any(c.isascii() and c.isalpha() for c in text)


@dataclass(frozen=True)
class Equals(Pred):
    """``f == v`` / ``f in (...)``: exact, case-sensitive, any of the values."""

    values: tuple = ()
    op_name = "equality"

    def render(self, v: str, ftype: str) -> tuple[str, str]:
        lits: list[str] = []
        for lit in self.values:
            if isinstance(lit, ir.Null):
                raise Refused(f"null inside an `in` list for {self.field} is not translated")
            lits.extend(sql_literals(lit, ftype, self.field))
        return _in(v, lits)


@dataclass(frozen=True)
class CiEquals(Pred):
    """``f : "v"`` / ``f in~ (...)`` / ``like~`` without wildcards: ASCII-case-insensitive equality."""

    texts: tuple = ()
    op_name = "case-insensitive comparison"

    def render(self, v: str, ftype: str) -> tuple[str, str]:
        self.literal_ok(ftype)
        exact = [sqltext.quote(t) for t in self.texts if not _has_letter(t)]
        parts = [_in(v, exact)] if exact else []
        for t in dict.fromkeys(t for t in self.texts if _has_letter(t)):
            lt = sqltext.like_literal(t)
            parts.append((sqltext.like(v, lt), sqltext.like(v, lt, negate=True)))
        return _any(parts)


@dataclass(frozen=True)
class Wildcards(Pred):
    """``like``/``like~``/``:`` with patterns: whole-value wildcard match, any pattern."""

    patterns: tuple = ()
    case_insensitive: bool = False
    op_name = "wildcard matching"

    def render(self, v: str, ftype: str) -> tuple[str, str]:
        self.literal_ok(ftype)
        exact = [p.text for p in self.patterns if p.kind is ir.PatternKind.EXACT]
        wild = [p for p in self.patterns if p.kind is not ir.PatternKind.EXACT]
        parts: list[tuple[str, str]] = []
        if self.case_insensitive:
            if exact:
                pos, neg = CiEquals(self.field, tuple(exact)).render(v, ftype)
                parts.append((pos, neg))
            for p in wild:
                lp = sqltext.like_pattern(p)
                parts.append((sqltext.like(v, lp), sqltext.like(v, lp, negate=True)))
        else:
            if exact:
                parts.append(_in(v, [sqltext.quote(t) for t in exact]))
            for p in wild:
                gp = sqltext.glob_pattern(p)
                parts.append((sqltext.glob(v, gp), sqltext.glob(v, gp, negate=True)))
        return _any(parts)


@dataclass(frozen=True)
class Regex(Pred):
    """``regex``/``regex~``: Lucene regex, whole value, any pattern, through osquery's regex_match."""

    patterns: tuple = ()
    case_insensitive: bool = False
    op_name = "regex matching"

    def render(self, v: str, ftype: str) -> tuple[str, str]:
        self.literal_ok(ftype)
        try:
            pattern = to_osquery_regex(self.patterns, self.case_insensitive)
        except (Untranslatable, RegexError) as exc:
            raise Refused(f"regex {list(self.patterns)!r} on {self.field}: {exc}") from None
        call = f"regex_match({v}, {sqltext.quote(pattern)}, 0)"
        return f"{call} IS NOT NULL", f"{call} IS NULL"


_NEGATED_ORDER = {"<": ">=", "<=": ">", ">": "<=", ">=": "<"}


@dataclass(frozen=True)
class Order(Pred):
    """``<``, ``<=``, ``>``, ``>=``: numbers numerically, keywords by code point (= UTF-8 bytes)."""

    op: str = "<"
    value: object = None
    op_name = "ordering comparison"

    def render(self, v: str, ftype: str) -> tuple[str, str]:
        if ftype == "ip":
            raise Refused(f"ordering comparison on the IP field {self.field}: osquery stores addresses as text, not in IP order")
        (lit,) = sql_literals(self.value, ftype, self.field)  # type: ignore[arg-type]
        return f"{v} {self.op} {lit}", f"{v} {_NEGATED_ORDER[self.op]} {lit}"


@dataclass(frozen=True)
class StringFunction(Pred):
    """``startsWith``/``endsWith``/``stringContains`` of a field with a literal (native queries)."""

    name: str = "startsWith"
    text: str = ""
    case_insensitive: bool = False

    @property
    def op_name(self) -> str:  # type: ignore[override]
        return self.name

    def render(self, v: str, ftype: str) -> tuple[str, str]:
        self.literal_ok(ftype)
        # startsWith is a prefix query (the text is literal); endsWith/stringContains Elasticsearch's
        # wildcard query "*t" / "*t*" with t unescaped: *, ? and \ in t are wildcard syntax, and
        # stringContains(f, "") matches every value (eqlc.native_wildcard.query_parts)
        pat = NativePattern.of(self.name, self.text)
        if self.case_insensitive:
            lp = sqltext.like_pattern(pat)  # type: ignore[arg-type]
            return sqltext.like(v, lp), sqltext.like(v, lp, negate=True)
        gp = sqltext.glob_pattern(pat)  # type: ignore[arg-type]
        return sqltext.glob(v, gp), sqltext.glob(v, gp, negate=True)


@dataclass(frozen=True)
class Cidr(Pred):
    """``cidrMatch(ip_field, "net", ...)``: any of the networks, over osquery's address text.

    IPv4 rows are dotted decimal: ``inet_aton`` (an osquery function: the address as an integer,
    NULL for IPv6 or malformed text) gives a numeric range test. IPv6 rows are eight 4-digit hex
    groups, so a network is a fixed text prefix plus, for a prefix length that is not a multiple
    of 4, a character class for the next hex digit (GLOB). Elasticsearch treats IPv4-mapped IPv6
    addresses as IPv4, so a network is tested in both spellings where it covers them.
    """

    cidrs: tuple = ()
    op_name = "cidrMatch"

    def render(self, v: str, ftype: str) -> tuple[str, str]:
        if ftype != "ip":
            raise Refused(f"cidrMatch on the {ftype} field {self.field} is not translated")
        parts: list[tuple[str, str]] = []
        for text in self.cidrs:
            try:
                net = ipaddress.ip_network(text, strict=False)
            except ValueError:
                raise Refused(f"cidrMatch({self.field}, {text!r}): not a CIDR block") from None
            parts.extend(_cidr_parts(v, net))
        return _any(parts)


_V4_SPACE = ipaddress.IPv6Network("::ffff:0:0/96")


def _cidr_parts(v: str, net: Union[ipaddress.IPv4Network, ipaddress.IPv6Network]) -> list[tuple[str, str]]:
    if isinstance(net, ipaddress.IPv4Network):
        net6 = ipaddress.IPv6Network((int(_V4_SPACE.network_address) + int(net.network_address), 96 + net.prefixlen))
    else:
        net6 = net
    out = []
    lo6, hi6 = int(net6.network_address), int(net6.broadcast_address)
    v4lo, v4hi = int(_V4_SPACE.network_address), int(_V4_SPACE.broadcast_address)
    if lo6 <= v4hi and hi6 >= v4lo:
        lo, hi = max(lo6, v4lo) - v4lo, min(hi6, v4hi) - v4lo
        out.append((f"inet_aton({v}) BETWEEN {lo} AND {hi}", f"inet_aton({v}) NOT BETWEEN {lo} AND {hi}"))
    pattern = _ipv6_glob(net6)
    out.append((sqltext.glob(v, pattern), sqltext.glob(v, pattern, negate=True)))
    # a value is either an IPv4 or an IPv6 text; for the IPv4 text the GLOB is false, for IPv6
    # inet_aton is NULL, so the negative forms are combined by the caller with AND, which needs
    # both to be true: make the IPv4 one true on IPv6 text.
    if len(out) == 2:
        pos4, _ = out[0]
        out[0] = (pos4, f"coalesce(inet_aton({v}) NOT BETWEEN {lo} AND {hi}, 1)")
    return out


def _ipv6_glob(net: ipaddress.IPv6Network) -> str:
    """A GLOB over osquery's 39-character IPv6 text matching exactly the addresses of ``net``.

    Every position is spelled out (``?`` for a free hex digit, ``:`` between groups), so the
    pattern can never match an IPv4 dotted text.
    """
    digits = net.network_address.exploded.replace(":", "")
    full, rem = divmod(net.prefixlen, 4)
    out = []
    for i in range(32):
        if i and i % 4 == 0:
            out.append(":")
        if i < full:
            out.append(digits[i])
        elif i == full and rem:
            keep = int(digits[i], 16) >> (4 - rem)
            out.append("[" + "".join(f"{d:x}" for d in range(16) if d >> (4 - rem) == keep) + "]")
        else:
            out.append("?")
    return "".join(out)


@dataclass(frozen=True)
class IsNull(Pred):
    """``f == null``: rendered by the emitter from the field's "missing" condition."""
