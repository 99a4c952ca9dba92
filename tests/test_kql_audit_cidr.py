"""Adversarial checks of cidrMatch in KQL (targets/kql/cidr.py): random IPv4 blocks that overlap,
touch or nest (merged into intervals), IPv6 blocks over the IPv4-mapped space, and addresses at
every block's edges written in the spellings Elasticsearch accepts for one address (dotted IPv4,
IPv4-mapped IPv6 text with a dotted or hex tail, upper case, uncompressed), plus text that is no
address. The emitted query runs on duckdb-kql and must select what the reference matcher selects
on every event the translation's checks keep (audit6).
"""

from __future__ import annotations

import ipaddress

from hypothesis import given, settings
from hypothesis import strategies as st

from eqlc import parse_query
from eqlc.matcher import matcher
from eqlc.result import Status
from eqlc.rule import Rule
from eqlc.targets.kql import TARGET
from eqlc.targets.kql.adapter import exclusions

BASES = [0, 10 << 24, (10 << 24) + (128 << 16), 11 << 24, 127 << 24, (192 << 24) + (168 << 16), 2**32 - 256]


def _rule(text: str) -> Rule:
    return Rule(query=parse_query(text), query_text=text, name="kql cidr audit")


def _event(_id: str, ip) -> dict:
    ev = {"_id": _id, "@timestamp": "2026-11-01T00:00:00Z", "host": {"id": "h1", "os": {"type": "linux"}},
          "event": {"category": ["network"], "type": ["start"], "action": "connection_attempted"},
          "process": {"name": "curl", "executable": "/usr/bin/curl"}}
    if ip is not None:
        ev["destination"] = {"ip": ip}
    return ev


def _spellings(a: int) -> list[str]:
    v4 = ipaddress.IPv4Address(a)
    mapped = ipaddress.IPv6Address((0xFFFF << 32) | a)
    return [str(v4), f"::ffff:{v4}", str(mapped), mapped.exploded.upper()]


def _edges(blocks: list[str]) -> list[str]:
    out: list[str] = []
    for b in blocks:
        n = ipaddress.ip_network(b, strict=False)
        for a in (int(n.network_address) - 1, int(n.network_address), int(n.broadcast_address), int(n.broadcast_address) + 1):
            if n.version == 4 and 0 <= a < 2**32:
                out.extend(_spellings(a))
            elif n.version == 6 and 0 <= a < 2**128:
                out.append(str(ipaddress.IPv6Address(a)))
    return out


def _check(blocks: list[str], negated: bool, profile: str = "defender") -> tuple[set, dict]:
    listed = ", ".join(f'"{b}"' for b in blocks)
    text = f'network where process.name == "curl" and {"not " if negated else ""}cidrMatch(destination.ip, {listed})'
    rule = _rule(text)
    t = TARGET.compile(rule, profile=profile)
    assert t.status is not Status.REFUSED, t.notes
    events = [_event(f"n{i}", ip) for i, ip in enumerate(_edges(blocks) + ["", "x", "10.1", None, "fe80::1", "::"])]
    out = exclusions(t, events)
    got = set(TARGET.execute(t, [e for e in events if e["_id"] not in out]))
    m = matcher(rule)
    want = {e["_id"] for e in events if e["_id"] not in out and m.match(e)}
    assert got == want, f"{text}\n{t.output}\nKQL only: {sorted(got - want)}, matcher only: {sorted(want - got)}"
    return got, out


def test_ipv4_mapped_text_is_set_apart_for_ipv4_blocks():
    """Elasticsearch reads ::ffff:10.0.0.1 as 10.0.0.1 (in 10.0.0.0/8); parse_ipv4 does not read it,
    so the first translation missed it without stating so. Now stated and checked; an IPv6 block over
    the mapped space holds it exactly, with nothing set apart."""
    got, out = _check(["10.0.0.0/8"], False)
    assert {"n1", "n2", "n3"} <= set(out) and "n0" not in out, out  # 9.255.255.255's dotted form stays
    assert "IPv4-mapped" in out["n5"]
    t = TARGET.compile(_rule('network where cidrMatch(destination.ip, "10.0.0.0/8")'), profile="defender")
    assert any("not as IPv4-mapped IPv6 text" in n for n in t.notes), t.notes
    got6, out6 = _check(["::ffff:10.0.0.0/104"], False)
    assert not out6 and {"n1", "n2"} <= got6  # ::ffff:a00:0 and ::ffff:aff:ffff, the block's ends


@settings(max_examples=4, deadline=None, derandomize=True)
@given(v4=st.lists(st.tuples(st.sampled_from(BASES), st.integers(0, 1 << 20), st.sampled_from([0, 1, 4, 8, 9, 16, 24, 31, 32])),
                   max_size=3),
       v6=st.lists(st.sampled_from(["::ffff:10.0.0.0/104", "::ffff:0:0/96", "::1", "fe80::/10", "::/0", "::a00:1/120"]), max_size=2),
       negated=st.booleans())
def test_cidr_match_agrees_with_the_matcher(v4, v6, negated):
    blocks = [f"{ipaddress.IPv4Address(min(base + off, 2**32 - 1))}/{pre}" for base, off, pre in v4] + v6
    if blocks:
        _check(blocks, negated)
