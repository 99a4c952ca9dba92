"""Generated events for a rule, from the literals in its IR: each field the rule tests gets, per
event, one of the rule's own values for it (patterns instantiated), a case variant, another
value, nothing, or (``rich``) an array or an explicit null. Sequences get events of each term in
order with join keys drawn from a small pool, inside maxspan, so sequences actually complete.

``rich=False`` gives what the eql package's engine and Elasticsearch agree on: every referenced
field present, one scalar value, nested objects (no dotted keys)."""

from __future__ import annotations

import ipaddress
import random
from typing import Any, Iterator

from eqlc import ir
from eqlc.checks import children


def _instantiate(pattern: str, rng: random.Random) -> str:
    out = []
    for ch in pattern:
        if ch == "*":
            out.append(rng.choice(["", "x", "ab", "-Z9"]))
        elif ch == "?":
            out.append(rng.choice("aZ7"))
        else:
            out.append(ch)
    return "".join(out)


def field_values(node: Any, rng: random.Random, out: dict) -> dict:
    """``{path: [candidate values]}`` for the fields a condition tests against literals."""

    def add(f: Any, value: Any) -> None:
        if isinstance(f, ir.Field) and value is not None:
            out.setdefault(tuple(f.path), []).append(value)

    if isinstance(node, ir.Compare) and isinstance(node.right, ir.LITERAL_TYPES) and not isinstance(node.right, ir.Null):
        v = node.right.value
        add(node.left, v)
        if isinstance(v, (int, float)) and not isinstance(v, bool):
            add(node.left, v + 1)
            add(node.left, v - 1)
    elif isinstance(node, ir.InSet):
        for v in node.values:
            if not isinstance(v, ir.Null):
                add(node.expr, v.value)
    elif isinstance(node, ir.WildcardMatch):
        for p in node.patterns:
            add(node.expr, _instantiate(p.text, rng))
    elif isinstance(node, ir.FunctionCall) and node.args and isinstance(node.args[0], ir.Field):
        lits = [a.value for a in node.args[1:] if isinstance(a, ir.String)]
        if node.name == "cidrMatch":
            for c in lits:
                net = ipaddress.ip_network(c, strict=False)
                add(node.args[0], str(net.network_address + min(1, net.num_addresses - 1)))
            add(node.args[0], "203.0.113.77")
        elif lits:
            lit = lits[0]
            add(node.args[0], {"startsWith": lit + "x", "endsWith": "x" + lit, "stringContains": "x" + lit + "y"}.get(node.name, lit))
    for c in children(node):
        field_values(c, rng, out)
    return out


def _variant(v: Any, rng: random.Random) -> Any:
    if isinstance(v, str):
        if v and rng.random() < 0.5:
            return v.swapcase()
        return v + "_other"
    if isinstance(v, bool):
        return not v
    if isinstance(v, (int, float)):
        return v + 7
    return v


def _set(doc: dict, path: tuple, value: Any) -> None:
    node = doc
    for p in path[:-1]:
        nxt = node.get(p)
        if not isinstance(nxt, dict):
            nxt = node[p] = {}
        node = nxt
    node[path[-1]] = value


def _terms(query: ir.Query) -> list:
    body = query.body
    if isinstance(body, ir.EventQuery):
        return [(body, ())]
    terms = [(t.query, body.keys(t)) for t in body.terms]
    if isinstance(body, ir.Sequence) and body.until is not None:
        terms.append((body.until.query, body.keys(body.until)))
    return terms


def events_for(query: ir.Query, n: int, seed: int, rich: bool = True, category_field: str = "event.category") -> list:
    rng = random.Random(seed)
    terms = _terms(query)
    values: dict = {}
    per_term = []
    for q, _keys in terms:
        field_values(q.condition, rng, values)
        per_term.append(field_values(q.condition, rng, {}))
    key_pool = ["k1", "k2", "K1"] if rich else ["k1", "k2"]
    kinds = [t for t in query.body.terms] if not isinstance(query.body, ir.EventQuery) else []
    maxspan = getattr(query.body, "maxspan", None)
    step = max(1, (maxspan.millis // 4) if maxspan else 1000)
    cat_path = tuple(category_field.split("."))
    out = []
    t = 1_700_000_000_000
    for i in range(n):
        ti = i % len(terms) if kinds else 0
        if kinds and rng.random() < 0.25:
            ti = rng.randrange(len(terms))
        q, keys = terms[ti]
        doc: dict = {"_id": f"e{i}", "@timestamp": t}
        t += rng.randint(1, step)
        cat = q.category or rng.choice(["process", "network", "file"])
        _set(doc, cat_path, [cat] if rich and rng.random() < 0.5 else cat)
        own = per_term[ti]
        for path, cands in values.items():
            if any(isinstance(p, int) for p in path) or path == cat_path:
                continue
            r = rng.random()
            v = rng.choice(own.get(path) or cands)
            if path in own and r < 0.3:
                r = 0.0  # an event of term i mostly carries term i's own values
            if r < 0.6:
                pass
            elif r < 0.8:
                v = _variant(v, rng)
            elif rich and r < 0.88:
                continue  # missing
            elif rich and r < 0.94:
                v = [_variant(v, rng), v] if rng.random() < 0.5 else [v, None]
            elif rich:
                v = None
            _set(doc, path, v)
        # rich: this term's keys (sometimes missing); otherwise every term's keys, so that no
        # event has a null join key (where the eql package and Elasticsearch differ)
        for k in keys if rich else [k for _q, ks in terms for k in ks]:
            if isinstance(k, ir.Field):
                if rich and rng.random() < 0.08:
                    continue
                _set(doc, tuple(k.path), rng.choice(key_pool))
        out.append(doc)
    return out


def ids_of(matches: Iterator) -> list:
    return [([None if e is None else e["_id"] for e in m.events], list(m.keys)) for m in matches]
