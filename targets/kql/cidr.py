"""``cidrMatch(field, blocks...)`` as Kusto predicates built on ``parse_ipv4`` / ``parse_ipv6``.

Why not Kusto's ``ipv4_is_in_any_range`` / ``ipv6_is_in_any_range``: duckdb-kql, the offline
engine every KQL translation is verified on, has no mapping for them (nor for
``ipv4_is_in_range``, ``ipv4_is_match``, ``ipv6_compare``, ``parse_ipv4_mask``: each raises
``KqlUnsupportedError``); it runs ``parse_ipv4`` and ``parse_ipv6``. The predicates below mean
the same in Kusto and run there, so the query that is shipped is the query that is verified.

Microsoft Learn (Kusto query reference, checked for each function):

* ``ipv4_is_in_any_range(ip, ranges...)``: true if the address is in any range, false otherwise,
  null "if conversion for one of the two IPv4 strings wasn't successful".
* ``parse_ipv4(ip)``: the address as a long (big-endian); null if the conversion fails; a
  ``/prefix`` in the text masks it. So ``parse_ipv4(c) between (parse_ipv4(first) ..
  parse_ipv4(last))`` is true in the range, false outside, null when ``c`` is no IPv4 address --
  ``ipv4_is_in_any_range``'s three answers, for every value an ECS ``ip`` field can hold (an
  address, never a block: Elasticsearch rejects ``10.0.0.1/8`` in an ``ip`` field). The OR of
  the blocks is wrapped in ``coalesce(..., false)`` as before: Elasticsearch's cidrMatch query is
  two-valued (a missing or non-IPv4 value is simply not in the block), also under ``not``.
* ``parse_ipv6(ip)``: the canonical IPv6 text (eight zero-padded lower-case groups) of an IPv6
  *or IPv4* address (an IPv4 address becomes ``::ffff:a.b.c.d``), masked by a ``/prefix`` in the
  text; "an empty string" when the conversion fails. ``parse_ipv6(strcat(parse_ipv6(c), "/N")) ==
  parse_ipv6("block/N")`` is therefore "the first N bits of c equal the block's": the inner call
  makes ``c`` IPv6 text first, so the ``/N`` is always an IPv6 prefix (on IPv4 text Kusto reads
  the prefix as an IPv4 one). An IPv4 value lands at ``::ffff:a.b.c.d``, where Elasticsearch puts
  it too (it stores every ``ip`` as 16 bytes, IPv4 mapped), so an IPv6 block holds an IPv4
  address exactly when Elasticsearch says so; ``ipv6_is_in_any_range`` documents IPv6 addresses
  only. A value no parser reads gives ``""``, which equals no block: false, never null.
  The blocks are written canonically (Python's ``ipaddress``, host bits cleared as Elasticsearch's
  ``CIDRUtils`` and the matcher do); a block inside ``::ffff:0:0/96`` is written in full so that
  no dotted tail turns its prefix into an IPv4 one.

Left as it was: an IPv4 address spelled as IPv4-mapped IPv6 text (``::ffff:10.1.2.3``) in the
column is no IPv4 address for ``parse_ipv4`` (nor for ``ipv4_is_in_any_range``), though
Elasticsearch reads it as ``10.1.2.3``.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from typing import Optional

from . import syntax


def predicate(col: str, blocks: list[str]) -> str:
    """Kusto text true exactly when ``col`` holds an address inside one of ``blocks``.

    The IPv4 blocks are tested as address intervals, so blocks that overlap or touch are one
    interval (``192.0.0.0/24`` holds ``192.0.0.170/32``; ``224.0.0.0/4`` and ``240.0.0.0/4`` are
    224.0.0.0 .. 255.255.255.255): the same addresses, in a shorter query (Sentinel's scheduled
    queries are limited to 10,000 characters, and the corpus's private-range list repeats such
    blocks)."""
    nets = [ipaddress.ip_network(b.strip(), strict=False) for b in blocks]
    v4 = [_v4_interval(col, first, last) for first, last in _intervals([n for n in nets if n.version == 4])]
    v6 = [_v6(col, n) for n in nets if n.version == 6]
    parts = []
    if v4:
        parts.append(f"coalesce({' or '.join(v4)}, false)")
    parts.extend(v6)
    return parts[0] if len(parts) == 1 else "(" + " or ".join(parts) + ")"


def _intervals(nets: list) -> list[tuple[ipaddress.IPv4Address, ipaddress.IPv4Address]]:
    """The IPv4 blocks as disjoint, non-adjacent address intervals, in the order of their first
    block in ``nets`` (the union of the intervals is the union of the blocks)."""
    spans = sorted((int(n.network_address), int(n.broadcast_address), i) for i, n in enumerate(nets))
    merged: list[list[int]] = []
    for first, last, i in spans:
        if merged and first <= merged[-1][1] + 1:
            merged[-1][1] = max(merged[-1][1], last)
            merged[-1][2] = min(merged[-1][2], i)
        else:
            merged.append([first, last, i])
    merged.sort(key=lambda m: m[2])
    return [(ipaddress.IPv4Address(a), ipaddress.IPv4Address(b)) for a, b, _ in merged]


def _v4_interval(col: str, first: ipaddress.IPv4Address, last: ipaddress.IPv4Address) -> str:
    return f"parse_ipv4({col}) between (parse_ipv4({syntax.quote(str(first))}) .. parse_ipv4({syntax.quote(str(last))}))"


def _v6(col: str, net: ipaddress.IPv6Network) -> str:
    addr = net.network_address
    text = addr.exploded if addr.ipv4_mapped is not None else str(addr)
    if net.prefixlen == 128:
        return f"parse_ipv6({col}) == parse_ipv6({syntax.quote(text)})"
    block = syntax.quote(f"{text}/{net.prefixlen}")
    return f"parse_ipv6(strcat(parse_ipv6({col}), \"/{net.prefixlen}\")) == parse_ipv6({block})"


# ---- audit6: an IPv4 address written as IPv4-mapped IPv6 text ----------------------------------
# Elasticsearch stores every ``ip`` as 16 bytes, an IPv4 address IPv4-mapped, so the text
# ``::ffff:10.1.2.3`` (or ``::ffff:a01:203``) IS the address 10.1.2.3 there and cidrMatch with
# "10.0.0.0/8" holds. ``parse_ipv4`` reads dotted IPv4 text only (null for IPv6 text), so the
# interval test above is false on it. The IPv6 blocks are exact on it (parse_ipv6 maps IPv4 text to
# the same ::ffff:a.b.c.d), so only a rule with an IPv4 block relies on the column spelling IPv4
# addresses dotted: stated (``mapped_note``) and checked per event (:class:`MappedIpv4`).
def has_ipv4_block(blocks: list[str]) -> bool:
    return any(ipaddress.ip_network(b.strip(), strict=False).version == 4 for b in blocks)


def mapped_note(field: str, column: str) -> str:
    return (f"cidrMatch on {field} tests IPv4 blocks with parse_ipv4({column}), which reads dotted IPv4 text only: "
            f"assumes {column} writes an IPv4 address dotted, not as IPv4-mapped IPv6 text (::ffff:10.1.2.3), "
            f"which Elasticsearch reads as the IPv4 address")


@dataclass(frozen=True)
class MappedIpv4:
    """The check of :func:`mapped_note` on one ECS event: ``field`` holds no IPv4-mapped IPv6 text."""

    field: str

    def violation(self, event: dict) -> Optional[str]:
        from eqlc.events import split_path, values

        for v in values(event, split_path(self.field)):
            try:
                a = ipaddress.ip_address(v) if isinstance(v, str) else None
            except ValueError:
                continue
            if a is not None and a.version == 6 and a.ipv4_mapped is not None:  # type: ignore[union-attr]
                return (f"{self.field} {v!r} is an IPv4 address written as IPv4-mapped IPv6 text, which parse_ipv4 "
                        f"does not read (Elasticsearch reads it as {a.ipv4_mapped})")  # type: ignore[union-attr]
        return None
