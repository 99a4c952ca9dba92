"""Witness events from a rule's own literals, for differential checks (not part of any output).

Random events almost never meet a detection rule's conditions, so the values here come from the
rule: for every condition (atom) over a field, values that satisfy it (the literal, its wildcards
filled with empty/plain/mixed-case text, a regex sample, a CIDR's first address, a number and its
neighbours) and values that nearly do (another letter case, a longer or shorter value, a value
next to the literal in an array, missing, ``null``, ``[]``). Events are built by walking the
condition towards a wanted verdict (an AND: every term; an OR: one term at random; a NOT: the
opposite), then by flipping one atom at a time. The generator only proposes: the verdict of every
event comes from the Python matcher in the tests.

Sequences get scenarios: per term a satisfying event (and a near miss), join keys drawn from a
small pool per key position (the same value for every term, or a different one), placed in order,
out of order, within and just beyond maxspan. All of it is seeded, so a failing case reproduces.

Used by tests/test_spl_corpus.py and tests/test_spl_pysigma.py because it is fast (about 10 ms
per rule, so the whole sample fits the test budget). The shared generator ``eqlc.fixtures``
(``eqlc fixtures``: MC/DC pairs, edge values, sequence scenarios) is thorough but takes 0.1 to 10 s
per rule; tests/test_spl_corpus.py runs it on a fifth of the sample as an independent second source.
"""

from __future__ import annotations

import ipaddress
import random
from datetime import datetime, timedelta, timezone
from typing import Any, Iterable, Optional

from eqlc import ir
from eqlc.lucene_regex import (AnyChar, AnyString, Char, Class, Concat, Empty, Interval, Range, RegexError,
                                   Repeat, Shorthand, Union_, parse_regex)

MISSING = object()  # the field is absent
T0 = datetime(2026, 11, 1, tzinfo=timezone.utc)
ARRAY_FIELDS = {"event.category", "event.type", "process.args", "process.parent.args", "tags", "host.ip",
                "related.user", "related.hosts", "related.ip", "dns.resolved_ip", "registry.data.strings", "user.roles",
                "group.name", "process.env_vars", "file.attributes", "threat.indicator.ip"}


# ---- values ------------------------------------------------------------------------------------
def _case_variants(s: str) -> list[str]:
    out = []
    if s.swapcase() != s:
        out.append(s.swapcase())
    if s.upper() != s:
        out.append(s.upper())
    letters = [i for i, c in enumerate(s) if c.isascii() and c.isalpha()]
    if letters:
        i = letters[len(letters) // 2]
        out.append(s[:i] + s[i].swapcase() + s[i + 1:])
    return out


def _fill(parts: tuple, rnd: random.Random, ci: bool) -> str:
    out = []
    for p in parts:
        if p is ir.Wildcard.STAR:
            out.append(rnd.choice(["", "a", "Xy/z", " q-9 "]))
        elif p is ir.Wildcard.QUESTION:
            out.append(rnd.choice(["q", "Z", "é"]))
        else:
            out.append(rnd.choice([p, p.swapcase()]) if ci else p)
    return "".join(out)


def _regex_sample(node: Any, rnd: random.Random, depth: int = 0) -> Optional[str]:
    if depth > 40:
        return None
    if isinstance(node, Char):
        return node.ch
    if isinstance(node, Range):
        return node.lo
    if isinstance(node, Shorthand):
        return {"d": "7", "D": "x", "s": " ", "S": "x", "w": "w", "W": "-"}.get(node.letter, "x")
    if isinstance(node, Class):
        if node.negated:
            for cand in "xQ7_-":
                if not any((isinstance(i, Char) and i.ch == cand) or (isinstance(i, Range) and i.lo <= cand <= i.hi)
                           for i in node.items):
                    return cand
            return None
        return _regex_sample(rnd.choice(node.items), rnd, depth + 1) if node.items else None
    if isinstance(node, AnyChar):
        return rnd.choice(["a", "/", "Z"])
    if isinstance(node, AnyString):
        return rnd.choice(["", "ab"])
    if isinstance(node, Empty):
        return None
    if isinstance(node, Concat):
        parts = [_regex_sample(i, rnd, depth + 1) for i in node.items]
        return None if any(p is None for p in parts) else "".join(parts)
    if isinstance(node, Union_):
        items = list(node.items)
        rnd.shuffle(items)
        for i in items:
            s = _regex_sample(i, rnd, depth + 1)
            if s is not None:
                return s
        return None
    if isinstance(node, Repeat):
        hi = node.hi if node.hi is not None else node.lo + 2
        n = rnd.randint(node.lo, max(node.lo, min(hi, node.lo + 2)))
        parts = [_regex_sample(node.item, rnd, depth + 1) for _ in range(n)]
        return None if any(p is None for p in parts) else "".join(parts)
    if isinstance(node, Interval):
        v = str(rnd.randint(node.lo, node.hi))
        return v.zfill(node.digits) if node.digits else v
    return None


def regex_samples(pattern: str, rnd: random.Random, ci: bool) -> list[str]:
    try:
        node = parse_regex(pattern)
    except (RegexError, ValueError):
        return []
    out = []
    for _ in range(3):
        s = _regex_sample(node, rnd)
        if s is not None:
            out.append(s.swapcase() if ci and rnd.random() < 0.3 else s)
    return list(dict.fromkeys(out))


class Atom:
    """A leaf condition over one field: values that satisfy it and values that nearly do."""

    def __init__(self, path: tuple, pos: list, neg: list) -> None:
        self.path = path
        self.pos = [v for v in pos if v is not MISSING] or [MISSING]
        self.neg = neg or [MISSING]


def _field(e: ir.Expr) -> Optional[ir.Field]:
    if isinstance(e, ir.Field) and not e.has_index:
        return e
    if isinstance(e, ir.FunctionCall) and e.args:
        return _field(e.args[0])
    return None


def _near(s: str) -> list:
    return [*_case_variants(s)[:2], s + "x", ("x" + s) if s else "x", s[:-1] if len(s) > 1 else "", MISSING, None]


def atom_for(e: ir.Expr, rnd: random.Random) -> Optional[Atom]:
    """Values for a leaf condition, or None when it reads no plain field."""
    if isinstance(e, ir.IsNull):
        f = _field(e.expr)
        return Atom(f.path, [MISSING, None, []], ["v", "0"]) if f else None
    if isinstance(e, ir.Compare):
        left, right = e.left, e.right
        if isinstance(right, ir.Field) and not isinstance(left, ir.Field):
            left, right = right, left
        if isinstance(left, ir.FunctionCall) and left.name == "length" and isinstance(right, ir.Number):
            f = _field(left)
            n = max(int(right.value), 0)
            vals = ["a" * max(n + d, 0) for d in (-1, 0, 1)]
            return Atom(f.path, vals, vals + [MISSING]) if f else None
        f = _field(left)
        if f is None or not isinstance(left, ir.Field):
            return None
        if isinstance(right, ir.String):
            return Atom(f.path, [right.value], _near(right.value))
        if isinstance(right, ir.Boolean):
            return Atom(f.path, [right.value], [not right.value, MISSING])
        if isinstance(right, ir.Number):
            n = right.value
            vals = [n - 1, n, n + 1]
            return Atom(f.path, vals, vals + [MISSING, str(n)])
        return None
    if isinstance(e, ir.InSet):
        f = _field(e.expr)
        if f is None:
            return None
        pos = []
        for v in e.values:
            if isinstance(v, ir.String):
                pos.append(rnd.choice(_case_variants(v.value) or [v.value]) if e.case_insensitive and rnd.random() < 0.5 else v.value)
            elif isinstance(v, (ir.Number, ir.Boolean)):
                pos.append(v.value)
        neg = [x for v in e.values[:2] if isinstance(v, ir.String) for x in _near(v.value)[:3]] + [MISSING]
        return Atom(f.path, pos, neg)
    if isinstance(e, ir.WildcardMatch):
        f = _field(e.expr)
        if f is None:
            return None
        pos = [_fill(p.parts, rnd, e.case_insensitive) for p in e.patterns for _ in range(2)]
        neg = []
        for p in e.patterns[:3]:
            filled = _fill(p.parts, rnd, False)
            neg += ["zz" + filled, filled[:-1], *_case_variants(filled)[:1]]
        return Atom(f.path, pos, neg + [MISSING])
    if isinstance(e, ir.RegexMatch):
        f = _field(e.expr)
        if f is None:
            return None
        pos = [s for p in e.patterns for s in regex_samples(p, rnd, e.case_insensitive)]
        neg = [s + "!" for s in pos[:2]] + [s.swapcase() for s in pos[:2] if s.swapcase() != s] + ["", MISSING]
        return Atom(f.path, pos, neg)
    if isinstance(e, ir.FunctionCall):
        f = _field(e)
        if f is None:
            return None
        lits = [a.value for a in e.args[1:] if isinstance(a, ir.String)]
        if e.name == "cidrMatch":
            pos, neg = [], ["255.255.255.254", "not-an-ip", MISSING]
            for c in lits:
                try:
                    net = ipaddress.ip_network(c, strict=False)
                except ValueError:
                    continue
                pos.append(str(net.network_address))
                pos.append(str(net.broadcast_address))
            return Atom(f.path, pos, neg)
        if not lits:
            return None
        lit = lits[0]
        pos = {"startsWith": [lit, lit + "tail"], "endsWith": [lit, "head" + lit],
               "stringContains": [lit, "a" + lit + "b"]}.get(e.name, lits)
        if e.case_insensitive:
            pos = pos + [p.swapcase() for p in pos[:1]]
        return Atom(f.path, pos, _near(lit))
    return None


# ---- events ------------------------------------------------------------------------------------
def _dotted(path: tuple) -> str:
    return ".".join(str(p) for p in path)


def _shape(path: tuple, value: Any, rnd: random.Random) -> Any:
    if value is MISSING or value is None or isinstance(value, list):
        return value
    if _dotted(path) in ARRAY_FIELDS:
        return rnd.choice([[value], [value, "other"], ["other", value]])
    return value


def _set(event: dict, path: tuple, value: Any) -> None:
    node = event
    for p in path[:-1]:
        nxt = node.get(p)
        if not isinstance(nxt, dict):
            nxt = {}
            node[p] = nxt
        node = nxt
    if value is MISSING:
        node.pop(path[-1], None)
    else:
        node[path[-1]] = value


def _choose(e: ir.Expr, want: bool, rnd: random.Random, out: dict) -> None:
    """Field values (path -> value) that push ``e`` towards ``want`` (later choices win)."""
    if isinstance(e, ir.And):
        terms = list(e.terms)
        if want:
            for t in terms:
                _choose(t, True, rnd, out)
        else:
            for t in terms:
                _choose(t, True, rnd, out)
            _choose(rnd.choice(terms), False, rnd, out)
        return
    if isinstance(e, ir.Or):
        terms = list(e.terms)
        if want:
            for t in terms:
                if rnd.random() < 0.3:
                    _choose(t, False, rnd, out)
            _choose(rnd.choice(terms), True, rnd, out)
        else:
            for t in terms:
                _choose(t, False, rnd, out)
        return
    if isinstance(e, ir.Not):
        _choose(e.expr, not want, rnd, out)
        return
    a = atom_for(e, rnd)
    if a is not None:
        out[a.path] = rnd.choice(a.pos if want else a.neg)


def atoms(e: ir.Expr) -> list[ir.Expr]:
    if isinstance(e, (ir.And, ir.Or)):
        return [x for t in e.terms for x in atoms(t)]
    if isinstance(e, ir.Not):
        return atoms(e.expr)
    return [e]


def _timestamp(ms: int) -> str:
    return (T0 + timedelta(milliseconds=ms)).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def condition_values(condition: ir.Expr, rnd: random.Random, count: int) -> list[dict]:
    """``count``-ish value assignments (path -> value) for one event query's condition."""
    out: list[dict] = []
    for i in range(count):
        chosen: dict = {}
        _choose(condition, i % 3 != 2, rnd, chosen)
        out.append(chosen)
    leaves = atoms(condition)
    for leaf in leaves[:24]:  # one flipped atom at a time, from a satisfying assignment
        a = atom_for(leaf, rnd)
        if a is None:
            continue
        base: dict = {}
        _choose(condition, True, rnd, base)
        for v in (rnd.choice(a.neg), rnd.choice(a.pos)):
            flipped = dict(base)
            flipped[a.path] = v
            out.append(flipped)
    return out


def _event(eid: str, category: Optional[str], values: dict, ms: int, rnd: random.Random,
           category_field: tuple = ("event", "category")) -> dict:
    ev: dict = {"_id": eid, "@timestamp": _timestamp(ms)}
    if category is not None:
        _set(ev, category_field, [category] if rnd.random() < 0.9 else [category, "other"])
    for path, v in values.items():
        if path == category_field:
            continue
        _set(ev, path, _shape(path, v, rnd))
    return ev


def event_query_events(query: ir.EventQuery, seed: int = 0, count: int = 24, category_field: str = "event.category") -> list[dict]:
    rnd = random.Random(seed)
    out = []
    for i, vals in enumerate(condition_values(query.condition, rnd, count)):
        cat = query.category if i % 11 != 10 else "other"
        out.append(_event(f"w{i:03d}", cat, vals, i * 1000, rnd, tuple(category_field.split("."))))
    return out


def sequence_events(seq: ir.Sequence, seed: int = 0, scenarios: int = 8, category_field: str = "event.category") -> list[dict]:
    """Scenarios of events for a sequence (see the module docstring); ids ``s<scenario>e<n>``."""
    rnd = random.Random(seed)
    cat_path = tuple(category_field.split("."))
    terms: list[ir.SequenceTerm] = []
    for t in seq.terms:
        terms.extend([t] * t.runs)
    span = seq.maxspan.millis if seq.maxspan else 60_000
    numeric = {a.left.path for t in terms for a in atoms(t.query.condition)
               if isinstance(a, ir.Compare) and isinstance(a.left, ir.Field) and isinstance(a.right, ir.Number)}
    out: list[dict] = []
    ms = 0
    for s in range(scenarios):
        keys_same = s % 4 != 3
        base_key = [f"k{s}-{p}" for p in range(len(seq.keys(terms[0])))]
        order = list(range(len(terms)))
        if s % 5 == 4:
            rnd.shuffle(order)
        gap = rnd.choice([1, span // max(len(terms), 1), span // max(len(terms) - 1, 1), span // max(len(terms) - 1, 1) + 1])
        for n, i in enumerate(order):
            t = terms[i]
            if t.missing:
                continue
            chosen: dict = {}
            _choose(t.query.condition, not (s % 6 == 5 and n == len(order) - 1), rnd, chosen)
            for p, k in enumerate(seq.keys(t)):
                f = _field(k)
                if f is None:
                    continue
                value = base_key[p] if keys_same or p != len(base_key) - 1 else base_key[p] + "-other"
                if f.path in numeric:
                    value = 1000 * s + 10 * p + (0 if value == base_key[p] else 1)
                chosen[f.path] = [value, "shared"] if (s % 7 == 6 and _dotted(f.path) in ARRAY_FIELDS) else value
            out.append(_event(f"s{s:02d}e{n}", t.query.category, chosen, ms, rnd, cat_path))
            ms += max(gap, 1)
        ms += span * 3
    return out


def events_for(rule, seed: int = 0) -> list[dict]:
    """Witness events for a rule (event query or sequence); samples get none."""
    body = rule.query.body
    cf = getattr(rule, "event_category_override", None) or "event.category"
    if isinstance(body, ir.EventQuery):
        return event_query_events(body, seed, category_field=cf)
    if isinstance(body, ir.Sequence):
        return sequence_events(body, seed, category_field=cf)
    return []


def ids(events: Iterable[dict]) -> list[str]:
    return [e["_id"] for e in events]
