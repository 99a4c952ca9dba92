"""Runtime for the ``endgame`` dialect: the ``eql`` package's (1.0.1 PythonEngine) semantics, so that
the package's own conformance suite can run on the eqlc matcher. Standard library only.

Differences from Elasticsearch that are *intended* here (see shared/research/eql-semantics.md §10):
Kleene three-valued logic everywhere, a global case-insensitive switch (on by default) folding
with ``str.lower``, ``==`` against a string with ``*`` is a wildcard (``*`` only), ``regex`` is
``re.match`` (anchored at the start only), fields are read with ``walk_path`` (no dotted keys, no
array flattening, ``a[0]`` indexes), lists are not "any element", sequences are matched in
input order with the engine's per-position lookups, and maxspan is counted in whole seconds of
Windows FILETIME ticks.
"""

from __future__ import annotations

import ipaddress as _ipaddress
import re as _re
from collections import OrderedDict, defaultdict

from .. import safe_regex as _safe_regex
from .runtime import Match, _head, _tail


def _is_str(x):
    return isinstance(x, str)


def _is_num(x):
    return isinstance(x, (int, float)) and not isinstance(x, bool)


class Ctx:
    """Per-matcher settings: case folding on or off."""

    def __init__(self, ci):
        self.ci = ci
        self.flags = _re.UNICODE | _re.DOTALL | (_re.IGNORECASE if ci else 0)

    def fold(self, s):
        return s.lower() if self.ci and isinstance(s, str) else s

    def remove_case(self, key):
        if isinstance(key, str):
            return self.fold(key)
        if isinstance(key, (list, tuple)):
            return tuple(self.remove_case(k) for k in key)
        return key


def walk(value, path):
    """eql ``_convert_field.walk_path``."""
    for key in path:
        if value is None:
            break
        if isinstance(value, str) and isinstance(key, str):
            value = value == key
        elif isinstance(value, dict):
            value = value.get(key)
        elif isinstance(key, int) and isinstance(value, (list, tuple)) and key < len(value):
            value = value[key]
        else:
            return None
    return value


def event_type(data):
    """eql ``Event.from_data``: ``event_type``, else ``event_type_full`` minus ``_event``."""
    data = data.get("data_buffer", data)
    t = data.get("event_type")
    if isinstance(t, str):
        return t
    full = data.get("event_type_full")
    if full is not None:
        return full[: -len("_event")] if full.endswith("_event") else full
    return "generic"


def cmp(ctx, op, a, b, fold):
    """Comparison with eql's ``check_types`` (null or mixed types -> null) and case folding."""
    if a is None or b is None:
        return None
    if fold and isinstance(a, str) and isinstance(b, str):
        a, b = ctx.fold(a), ctx.fold(b)
    if not ((isinstance(a, str) and isinstance(b, str)) or (_is_num(a) and _is_num(b)) or type(a) == type(b)):
        return None
    try:
        if op == "==":
            return a == b
        if op == "!=":
            return a != b
        if op == "<":
            return a < b
        if op == "<=":
            return a <= b
        if op == ">":
            return a > b
        return a >= b
    except TypeError:
        return None


def b3(x):
    return None if x is None else bool(x)


def not3(x):
    return None if x is None else not x


def and3(*thunks):
    agg = True
    for t in thunks:
        v = b3(t())
        if v is False:
            return False
        if v is None:
            agg = None
    return agg


def or3(*thunks):
    agg = False
    for t in thunks:
        v = b3(t())
        if v is True:
            return True
        if v is None:
            agg = None
    return agg


def in_set(ctx, v, items):
    if v is None:
        return None
    try:
        return ctx.fold(v) in items
    except TypeError:
        raise


def wildcard_regex(ctx, patterns):
    exprs = []
    for w in patterns:
        pieces = [_re.escape(p) for p in ctx.fold(w).split("*")]
        rx = "^" + ".*?".join(pieces) + "$"
        if rx.endswith(".*?$"):
            rx = rx[: -len(".*?$")]
        exprs.append(rx)
    return safe_compile("|".join(exprs), ctx.flags)


def safe_compile(pattern, flags):
    """``re.compile`` as the eql package does it, run in bounded time (eqlc.safe_regex: RE2 where
    the meaning is the same, else re under a time budget that raises RegexBudgetExceeded)."""
    return _safe_regex.compile(pattern, flags)


def rx_match(rx, v):
    if isinstance(v, str):
        return rx.match(v) is not None
    return None


# ---- functions (eql/functions.py semantics) ---------------------------------------------------


def f_add(x, y):
    return x + y if _is_num(x) and _is_num(y) else None


def f_subtract(x, y):
    return x - y if _is_num(x) and _is_num(y) else None


def f_multiply(x, y):
    return x * y if _is_num(x) and _is_num(y) else None


def f_divide(x, y):
    if _is_num(x) and _is_num(y) and y != 0:
        if isinstance(x, float) or isinstance(y, float):
            return float(x) / float(y)
        return x // y
    return None


def f_modulo(x, y):
    if _is_num(x) and _is_num(y):
        return x % y
    return None


def f_array_contains(ctx, array, *values):
    values = [ctx.fold(v) for v in values]
    if array is not None:
        for v in array:
            if ctx.fold(v) in values:
                return True
        return False
    return None


def f_between(ctx, s, first, second, greedy=False):
    if _is_str(s) and _is_str(first) and _is_str(second):
        m, first, second = ctx.fold(s), ctx.fold(first), ctx.fold(second)
        try:
            start = m.index(first) + len(first)
            end = m.rindex(second, start) if greedy else m.index(second, start)
            return s[start:end]
        except ValueError:
            return None
    return None


def f_cidr(ip, *cidrs):
    if _is_str(ip):
        addr = _ipaddress.ip_address(ip)
        for c in cidrs:
            if _is_str(c) and addr in _ipaddress.ip_network(c, strict=False):
                return True
    return False


def f_string(v):
    if v is None:
        return None
    if isinstance(v, bool):
        return "true" if v else "false"
    return str(v)


def f_concat(*args):
    if all(a is not None for a in args):
        return "".join(f_string(a) for a in args)
    return None


def f_ends_with(ctx, s, sub):
    if _is_str(s) and _is_str(sub):
        return ctx.fold(s).endswith(ctx.fold(sub))
    return None


def f_starts_with(ctx, s, sub):
    if _is_str(s) and _is_str(sub):
        return ctx.fold(s).startswith(ctx.fold(sub))
    return None


def f_string_contains(ctx, s, sub):
    if _is_str(s) and _is_str(sub):
        return ctx.fold(sub) in ctx.fold(s)
    return False


def f_index_of(ctx, s, sub, start=None):
    if start is None:
        start = 0
    if _is_str(s) and _is_str(sub):
        s, sub = ctx.fold(s), ctx.fold(sub)
        if sub in s[start:]:
            return s.index(sub, start)
    return None


def f_length(v):
    if _is_str(v) or isinstance(v, (dict, list, tuple)):
        return len(v)
    return None


def f_number(s, base=None):
    if _is_str(s):
        if len(s.split(".")) == 2 and base in (None, 10):
            return float(s)
        if s.startswith("0x") and base in (None, 16):
            return int(s[2:], 16)
        if s.lstrip("-+").isdigit():
            return int(s, base or 10)
    return None


def f_substring(a, start=None, end=None):
    if _is_str(a):
        return a[start:end]
    return None


# ---- engine -----------------------------------------------------------------------------------


def type_converter(items):
    """eql ``utils.get_type_converter``: None sorts as the empty value of the observed type."""
    items = list(items)
    if not items:
        return lambda x: None
    first = items[0]

    def empty(v):
        return None if v is None else type(v)()

    if not isinstance(first, (tuple, list)):
        e = empty(first)
        if e is None:
            for it in items:
                if it is not None:
                    e = empty(it)
                    break
        return lambda x: x or e
    empties = [empty(f) for f in first]
    for it in items:
        for i, v in enumerate(it):
            if empties[i] is None and v is not None:
                empties[i] = empty(v)
    return lambda xs: tuple(x if x is not None else empties[i] for i, x in enumerate(xs))


def run(spec, events):
    """Stream ``events`` (input order, as the eql engine streams them) through the query."""
    kind = spec["kind"]
    out = []
    if kind == "event":
        cond, etype = spec["terms"][0]["cond"], spec["terms"][0]["type"]
        tof = spec["type_of"]

        def source():
            for e in events:
                if (etype is None or tof(e) == etype) and cond(e):
                    yield [e]

        stream = source()
    elif kind == "sequence":
        stream = _sequence(spec, events)
    else:
        stream = _sample(spec, events)
    for pipe in spec["pipes"]:
        stream = pipe(stream)
    for result in stream:
        yield Match(result)


def _sequence(spec, events):
    terms = spec["terms"]
    tof = spec["type_of"]
    size = len(terms)
    lookups = [{} for _ in range(size)]
    until = spec.get("until")
    maxspan = spec.get("maxspan")
    time_of = spec["time_of"]
    types = {t["type"] for t in terms}
    for e in events:
        et = tof(e)
        if maxspan is not None and (None in types or et in types):
            t = time_of(e)
            minimum = t - maxspan
            for sub in lookups:
                for k, seq in list(sub.items()):
                    if seq and time_of(seq[0]) < minimum:
                        sub.pop(k)
        if until is not None and (until["type"] is None or et == until["type"]) and until["cond"](e):
            k = until["key"](e)
            for sub in lookups:
                sub.pop(k, None)
        for pos in range(size - 1, -1, -1):
            t = terms[pos]
            if t["type"] is not None and et != t["type"]:
                continue
            if pos == 0:
                if t["cond"](e):
                    if size == 1:
                        yield [e]
                    else:
                        lookups[1][t["key"](e)] = [e]
                continue
            if not lookups[pos] or not t["cond"](e):
                continue
            k = t["key"](e)
            if k in lookups[pos]:
                seq = lookups[pos].pop(k)
                seq.append(e)
                if pos == size - 1:
                    yield seq
                else:
                    lookups[pos + 1][k] = seq


def _sample(spec, events):
    terms = spec["terms"]
    tof = spec["type_of"]
    size = len(terms)
    samples = {}
    for e in events:
        et = tof(e)
        for t in reversed(terms):
            if t["type"] is not None and et != t["type"]:
                continue
            if t["cond"](e):
                k = t["key"](e)
                samples.setdefault(k, []).append(e)
                if len(samples[k]) == size:
                    yield samples.pop(k)


def pipe_head(n):
    """``| head n``: the first ``n`` results, as the elasticsearch dialect's pipe does."""
    return lambda stream: _head(stream, n)


def pipe_tail(n):
    """``| tail n``: the last ``n`` results, as the elasticsearch dialect's pipe does."""
    return lambda stream: _tail(stream, n)


def pipe_filter(cond):
    def p(stream):
        for r in stream:
            if cond(r):
                yield r
    return p


def pipe_unique(key):
    def p(stream):
        seen = set()
        for r in stream:
            k = key(r)
            if k not in seen:
                seen.add(k)
                yield r
    return p


def pipe_sort(key):
    def p(stream):
        buf = list(stream)
        conv = type_converter(key(r) for r in buf)
        buf.sort(key=lambda r: conv(key(r)))
        yield from buf
    return p


def pipe_unique_count(key, host_key="hostname"):
    def p(stream):
        results = OrderedDict()
        for r in stream:
            first = dict(r[0])
            rest = list(r[1:])
            k = key([first] + rest)
            hosts = first.pop("hosts", [])
            host = first.pop(host_key, None)
            count = first.pop("count", 1)
            if k not in results:
                first["hosts"] = set()
                first["count"] = count
                results[k] = [first] + rest
                match = first
            else:
                match = results[k][0]
                match["count"] += count
            if host:
                match["hosts"].add(host)
            else:
                match["hosts"].update(hosts)
        total = sum(r[0]["count"] for r in results.values())
        for r in results.values():
            d = r[0]
            hosts = d.pop("hosts")
            if hosts:
                d["hosts"] = sorted(hosts)
                d["total_hosts"] = len(hosts)
            d["percent"] = float(d["count"]) / total
            yield r
    return p


def pipe_count(key, nkeys, host_key="hostname"):
    def p(stream):
        if nkeys == 0:
            summary = {"key": "totals", "count": 0}
            hosts = set()
            for r in stream:
                summary["count"] += 1
                if host_key in r[0]:
                    hosts.add(r[0][host_key])
            if hosts:
                summary["total_hosts"] = len(hosts)
                summary["hosts"] = sorted(hosts)
            yield [summary]
            return
        table = defaultdict(lambda: {"count": 0, "hosts": set()})
        for r in stream:
            k = key(r)
            table[k]["count"] += 1
            if host_key in r[0]:
                table[k]["hosts"].add(r[0][host_key])
        total = sum(v["count"] for v in table.values()) or 1
        conv = type_converter(list(table))
        for k, d in sorted(table.items(), key=lambda kv: (kv[1]["count"], conv(kv[0]))):
            hosts = d.pop("hosts")
            if hosts:
                d["hosts"] = sorted(hosts)
                d["total_hosts"] = len(hosts)
            d["key"] = k
            d["percent"] = float(d["count"]) / total
            yield [d]
    return p
