"""Runtime support for eqlc-generated matchers. STANDARD LIBRARY ONLY.

This file is embedded verbatim (after ``compiler/events.py``) in every module that
``eqlc compile --target python`` writes, so it must not import anything from eqlc: the one import
of ``eqlc.events`` below is replaced by the inlined source in a standalone module. That is how
the in-process matcher and the standalone module share one meaning: the same generated code runs
on the same runtime.

What lives here: value normalisation per Elasticsearch field type, Elasticsearch's wildcard and
regular-expression matching (RE2 when importable, else a linear-time lazy DFA), the Java semantics
of EQL's script functions and arithmetic, and the streaming engines for event queries, sequences
(Elasticsearch's SequenceMatcher/TumblingWindow rules) and samples (SampleIterator).
"""

from __future__ import annotations

import bisect as _bisect
import datetime as _dt
import ipaddress as _ipaddress
import math as _math
import re as _re
from collections import deque as _deque
from itertools import product as _product

from eqlc.events import values as _es_values  # @standalone-inline compiler/events.py

try:  # RE2 (google-re2) runs in linear time; without it the lazy DFA below does.
    import re2 as _re2
except ImportError:  # pragma: no cover - exercised by the standalone-module tests
    _re2 = None

_SCALAR_TYPES = (str, int, float, bool)
_SCALAR_SET = frozenset(_SCALAR_TYPES)
_EMPTY = ()
_NONE1 = (None,)
_EMPTY_KEY = [()]
_MISSING = object()  # inline field reads: "not a plain nested-dict string, use the general path"
_U = object()  # a cached field read not done yet


class EventOrderError(ValueError):
    """An event arrived with an earlier timestamp than one already processed (streaming mode)."""


# ================================================================================================
# Field values
# ================================================================================================


def _values(e, path):
    """Elasticsearch's indexed values of ``path`` (eqlc.events.values), scalars only."""
    out = _es_values(e, path)
    for v in out:
        if v.__class__ not in _SCALAR_TYPES:
            return tuple(x for x in out if x.__class__ in _SCALAR_TYPES)
    return tuple(out)


def _getter(path, family="dynamic", norm=None):
    """A field reader ``e -> values`` with a fast path for nested dicts holding a scalar or a list
    of scalars; anything else (dotted keys on the way, lists of objects, nulls inside arrays)
    goes through ``_values`` (eqlc.events semantics), then ``norm``. ``family`` "keyword"
    accepts only strings on the fast path, "dynamic" any JSON scalar."""
    scalar = (str,) if family == "keyword" else _SCALAR_TYPES
    scalar_set = frozenset(scalar)

    def slow(e):
        v = _values(e, path)
        return norm(v) if norm is not None else v

    def tail(v, e):
        c = v.__class__
        if c in scalar_set:
            return (v,)
        if c is list:
            for x in v:
                if x.__class__ not in scalar_set:
                    return slow(e)
            return v
        if v is None:
            return ()
        return slow(e)

    n = len(path)
    if n == 1:
        (a,) = path

        def get1(e):
            v = e.get(a)
            if v.__class__ in scalar_set:
                return (v,)
            return tail(v, e)

        return get1
    if n == 2:
        a, b = path
        ab = a + "." + b

        def get2(e):
            x = e.get(a)
            if x.__class__ is dict and ab not in e:
                v = x.get(b)
                if v.__class__ in scalar_set:
                    return (v,)
                return tail(v, e)
            if x is None and ab not in e:
                return ()
            return slow(e)

        return get2
    if n == 3:
        a, b, c3 = path
        abc, ab, bc = a + "." + b + "." + c3, a + "." + b, b + "." + c3

        def get3(e):
            x = e.get(a)
            if x.__class__ is dict and abc not in e and ab not in e:
                y = x.get(b)
                if y.__class__ is dict and bc not in x:
                    v = y.get(c3)
                    if v.__class__ in scalar_set:
                        return (v,)
                    return tail(v, e)
                if y is None and bc not in x:
                    return ()
                return slow(e)
            if x is None and abc not in e and ab not in e:
                return ()
            return slow(e)

        return get3
    return slow


def _raw_with_nulls(node, path, i, out):
    """Like eqlc.events._walk, but keeps explicit nulls (for fields with ``null_value``)."""
    if i == len(path):
        if isinstance(node, list):
            for item in node:
                if isinstance(item, list):
                    _raw_with_nulls(item, path, i, out)
                else:
                    out.append(item)
        else:
            out.append(node)
        return
    if isinstance(node, list):
        for item in node:
            _raw_with_nulls(item, path, i, out)
        return
    if not isinstance(node, dict):
        return
    for j in range(len(path), i, -1):
        key = ".".join(path[i:j])
        if key in node:
            before = len(out)
            _raw_with_nulls(node[key], path, j, out)
            if j == i + 1 or len(out) > before:
                return


def _values_null(e, path, null_value):
    """Values of a field mapped with ``null_value``: an explicit null indexes ``null_value``."""
    out = []
    _raw_with_nulls(e, path, 0, out)
    return tuple(null_value if v is None else v for v in out if v is None or v.__class__ in _SCALAR_TYPES)


# ---- normalisation per field type (what Elasticsearch indexes for a JSON value) ----------------


def _java_double(x):
    """Java's Double.toString, the text a number literal has when compared with a keyword."""
    if x != x:
        return "NaN"
    if x in (float("inf"), float("-inf")):
        return "Infinity" if x > 0 else "-Infinity"
    if x == int(x) and abs(x) < 1e7:
        return "%d.0" % int(x) if x != 0 or _math.copysign(1, x) > 0 else "-0.0"
    a = abs(x)
    if 1e-3 <= a < 1e7:
        return repr(x)
    exp = ("%.17e" % x).partition("e")[2]
    r = repr(x)
    # shortest repr digits in scientific form: d.dddE[-]n
    digits = r.replace("-", "").replace(".", "").lstrip("0")
    if "e" in r:
        m, _, e = r.partition("e")
        m = m if "." in m else m + ".0"
        return m + "E" + str(int(e))
    e10 = int(exp)
    d = digits.rstrip("0") or "0"
    s = d[0] + "." + (d[1:] or "0")
    return ("-" if x < 0 else "") + s + "E" + str(e10)


def _kw_text(v):
    c = v.__class__
    if c is str:
        return v
    if c is bool:
        return "true" if v else "false"
    if c is int:
        return str(v)
    return _json_float_text(v)


def _json_float_text(v):
    r = repr(v)
    return r


def _len16(s):
    """Java String.length(): UTF-16 code units."""
    if s.isascii():
        return len(s)
    return len(s) + sum(1 for c in s if c > "\uffff")


def _n_kw(vals, ignore_above=None):
    out = []
    for v in vals:
        s = _kw_text(v)
        if ignore_above is not None and _len16(s) > ignore_above:
            continue
        out.append(s)
    return tuple(out)


_LONG_MIN, _LONG_MAX = -(2**63), 2**63 - 1


def _to_long(v):
    c = v.__class__
    if c is int:
        return v if _LONG_MIN <= v <= _LONG_MAX else None
    if c is float:
        if v != v or v in (float("inf"), float("-inf")):
            return None
        return _to_long(int(v))
    if c is str:
        s = v.strip()
        try:
            return _to_long(int(s))
        except ValueError:
            try:
                return _to_long(float(s))
            except ValueError:
                return None
    return None


def _n_long(vals):
    out = []
    for v in vals:
        x = _to_long(v)
        if x is not None:
            out.append(x)
    return tuple(out)


def _to_double(v):
    c = v.__class__
    if c is int or c is float:
        return float(v)
    if c is str:
        try:
            return float(v.strip())
        except ValueError:
            return None
    return None


def _n_double(vals):
    out = []
    for v in vals:
        x = _to_double(v)
        if x is not None:
            out.append(x)
    return tuple(out)


def _to_bool(v):
    if v.__class__ is bool:
        return v
    if v == "true":
        return True
    if v == "false" or v == "":
        return False
    return None


def _n_bool(vals):
    return tuple(x for x in (_to_bool(v) for v in vals) if x is not None)


# ---- IP addresses: an int in IPv6 space (IPv4 as ::ffff:a.b.c.d), as Elasticsearch stores them ---

_V4_MAPPED = 0xFFFF << 32


class _IP(int):
    """An IP address: compares and hashes as its 128-bit integer; prints as the address."""

    __slots__ = ()

    def __str__(self):
        v = int(self)
        if v >> 32 == 0xFFFF:
            return str(_ipaddress.IPv4Address(v & 0xFFFFFFFF))
        return str(_ipaddress.IPv6Address(v))

    __repr__ = __str__


def _to_ip(v):
    if v.__class__ is not str:
        return None
    try:
        a = _ipaddress.ip_address(v.strip())
    except ValueError:
        return None
    if a.version == 4:
        return _IP(_V4_MAPPED | int(a))
    return _IP(int(a))


def _n_ip(vals):
    return tuple(x for x in (_ip_cached(v) for v in vals) if x is not None)


_IP_CACHE = {}


def _ip_cached(v):
    """_to_ip with a bounded cache: addresses repeat a lot in event streams."""
    x = _IP_CACHE.get(v, _MISSING)
    if x is _MISSING:
        if len(_IP_CACHE) > 100000:
            _IP_CACHE.clear()
        x = _IP_CACHE[v] = _to_ip(v)
    return x


def _ip_net(text):
    """A CIDR block (or a single address) as an inclusive integer range."""
    net = _ipaddress.ip_network(text.strip(), strict=False)
    lo = int(net.network_address)
    hi = int(net.broadcast_address)
    if net.version == 4:
        return (_V4_MAPPED | lo, _V4_MAPPED | hi)
    return (lo, hi)


class _Nets:
    """CIDR blocks as merged, sorted integer ranges: membership by bisection."""

    __slots__ = ("starts", "ends")

    def __init__(self, ranges):
        merged = []
        for lo, hi in sorted(ranges):
            if merged and lo <= merged[-1][1] + 1:
                merged[-1][1] = max(merged[-1][1], hi)
            else:
                merged.append([lo, hi])
        self.starts = [lo for lo, _ in merged]
        self.ends = [hi for _, hi in merged]

    def __contains__(self, ip):
        i = _bisect.bisect_right(self.starts, ip) - 1
        return i >= 0 and ip <= self.ends[i]

    def __iter__(self):
        return iter(zip(self.starts, self.ends))


def _ip_in_nets(ip, nets):
    if nets.__class__ is _Nets:
        return ip in nets
    for lo, hi in nets:
        if lo <= ip <= hi:
            return True
    return False


# ---- versions (the ``version`` field type): semver order; invalid versions sort after valid ----


class _Ver(tuple):
    __slots__ = ()

    @property
    def text(self):
        return self[-1]

    def __str__(self):
        return self[-1]


def _pre_key(ident):
    return (0, int(ident), "") if ident.isdigit() else (1, 0, ident)


_SEMVER = _re.compile(r"^(\d+)(?:\.(\d+))*(?:-([0-9A-Za-z.-]+))?(?:\+([0-9A-Za-z.-]+))?$")


def _to_version(v):
    if v.__class__ is not str:
        v = _kw_text(v)
    m = _SEMVER.match(v)
    if m and all(p.isdigit() for p in v.split("+")[0].split("-")[0].split(".")):
        core = tuple(int(p) for p in v.split("+")[0].split("-")[0].split("."))
        pre = m.group(3)
        pre_key = (1,) if pre is None else (0,) + tuple(_pre_key(p) for p in pre.split("."))
        return _Ver((0, core, pre_key, v))
    return _Ver((1, (), (), v))


def _n_ver(vals):
    return tuple(_to_version(v) for v in vals)


# ---- dates: epoch milliseconds; a literal parses to an interval (missing fields round up) -------

_ISO = _re.compile(
    r"^(?P<year>[+-]?\d{4,9})(?:-(?P<month>\d{2})(?:-(?P<day>\d{2})(?:[T ](?P<hour>\d{2})(?::?(?P<minute>\d{2})"
    r"(?::?(?P<second>\d{2})(?:[.,](?P<fraction>\d{1,9}))?)?)?)?)?)?(?P<zone>Z|[+-]\d{2}(?::?\d{2})?)?$"
)
_EPOCH = _dt.datetime(1970, 1, 1, tzinfo=_dt.timezone.utc)


def _date_from_match(m, round_up):
    g = m.groupdict()
    year = g.get("year")
    if year is None and g.get("year2") is not None:
        year = 2000 + int(g["year2"])
    year = int(year) if year is not None else 1970
    month = int(g["month"]) if g.get("month") else None
    day = int(g["day"]) if g.get("day") else None
    hour = int(g["hour"]) if g.get("hour") else None
    minute = int(g["minute"]) if g.get("minute") else None
    second = int(g["second"]) if g.get("second") else None
    frac = g.get("fraction")
    zone = g.get("zone")
    offset = 0
    if zone and zone != "Z":
        sign = -1 if zone[0] == "-" else 1
        digits = zone[1:].replace(":", "")
        offset = sign * (int(digits[:2]) * 60 + (int(digits[2:4]) if len(digits) >= 4 else 0))
    try:
        if round_up:
            import calendar as _cal

            mo = month if month is not None else 12
            d = day if day is not None else _cal.monthrange(year, mo)[1]
            base = _dt.datetime(year, mo, d, hour if hour is not None else 23, minute if minute is not None else 59,
                                second if second is not None else 59, tzinfo=_dt.timezone.utc)
            if frac is None:
                ms = 999
            else:
                ms = int((frac + "000")[:3]) if len(frac) <= 3 else int(frac[:3])
        else:
            base = _dt.datetime(year, month or 1, day or 1, hour or 0, minute or 0, second or 0, tzinfo=_dt.timezone.utc)
            ms = int((frac + "000")[:3]) if frac else 0
    except ValueError:
        return None
    delta = base - _EPOCH
    return (delta.days * 86400 + delta.seconds) * 1000 + ms - offset * 60000


def _parse_date(v, spec, round_up=False):
    """Epoch millis of a date value for a field whose format parses as ``spec``; None if invalid."""
    c = v.__class__
    if c is int or c is float:
        if c is bool:
            return None
        for part in spec:
            if part[0] == "epoch_second":
                return int(v * 1000)
        return int(v)
    if c is not str:
        return None
    s = v.strip()
    for part in spec:
        kind = part[0]
        if kind == "iso":
            m = _ISO.match(s)
            if m:
                r = _date_from_match(m, round_up)
                if r is not None:
                    return r
        elif kind == "epoch_millis" or kind == "epoch_second":
            try:
                x = float(s) if ("." in s or "e" in s.lower()) else int(s)
            except ValueError:
                continue
            return int(x * 1000) if kind == "epoch_second" else int(x)
        else:
            m = _re.match(part[1], s)
            if m:
                r = _date_from_match(m, round_up)
                if r is not None:
                    return r
    return None


_DATE_CACHE = {}


def _date_cached(v, spec):
    """_parse_date of a string with a bounded cache (timestamps share prefixes, not values, but
    per-stream caches still pay off for repeated dates)."""
    key = (v, spec)
    x = _DATE_CACHE.get(key, _MISSING)
    if x is _MISSING:
        if len(_DATE_CACHE) > 100000:
            _DATE_CACHE.clear()
        x = _DATE_CACHE[key] = _parse_date(v, spec)
    return x


def _n_date(vals, spec):
    out = []
    for v in vals:
        if v.__class__ is bool:
            continue
        x = _parse_date(v, spec)
        if x is not None:
            out.append(x)
    return tuple(out)


def _date_literal(v, spec):
    """(lower, upper) millis of a date literal: upper rounds missing fields up (ES date parsing for
    range/term queries). None when the literal is not a date of this format."""
    lo = _parse_date(v, spec, False)
    hi = _parse_date(v, spec, True)
    if lo is None or hi is None:
        return None
    return (lo, hi)


def _iso_ms(ms):
    """ES's default date rendering: 2017-08-30T20:47:33.000Z."""
    d = _EPOCH + _dt.timedelta(milliseconds=ms)
    return d.strftime("%Y-%m-%dT%H:%M:%S.") + "%03dZ" % (d.microsecond // 1000)


# ================================================================================================
# Case folding, wildcards, regular expressions
# ================================================================================================

_ASCII_LOWER = {c: c + 32 for c in range(65, 91)}


def _fold(s):
    """ASCII-only lower-casing: Elasticsearch's case_insensitive term/prefix/wildcard/regexp
    queries fold ASCII letters only (AutomatonQueries.toCaseInsensitiveChar)."""
    if s.isascii():
        return s.lower()
    return s.translate(_ASCII_LOWER)


class _Wild:
    """A wildcard pattern (``*`` any run, ``?`` one code point) over the WHOLE value, matched
    without backtracking: fixed prefix/suffix, then each middle segment at its leftmost place
    (greedy leftmost placement is optimal for ``*``-separated segments). O(len(value) * len(pattern)).

    ``segs`` are the pattern's ``*``-separated segments; ``?`` inside a segment is the single
    character wildcard (stored as None in a tuple segment)."""

    __slots__ = ("segs", "minlen", "star")

    def __init__(self, segs):
        self.segs = tuple(s if isinstance(s, str) else tuple(s) for s in segs)
        self.minlen = sum(len(s) for s in self.segs)
        self.star = len(self.segs) > 1

    @staticmethod
    def _at(seg, s, i):
        if seg.__class__ is str:
            return s.startswith(seg, i)
        if i < 0 or i + len(seg) > len(s):
            return False
        for k, ch in enumerate(seg):
            if ch is not None and s[i + k] != ch:
                return False
        return True

    def _find(self, seg, s, pos, end):
        if seg.__class__ is str:
            return s.find(seg, pos, end)
        n = len(seg)
        for i in range(pos, end - n + 1):
            if self._at(seg, s, i):
                return i
        return -1

    def match(self, s):
        segs = self.segs
        n = len(s)
        if not self.star:
            return n == self.minlen and self._at(segs[0], s, 0)
        if n < self.minlen:
            return False
        first, last = segs[0], segs[-1]
        if first and not self._at(first, s, 0):
            return False
        if last and not self._at(last, s, n - len(last)):
            return False
        pos, end = len(first), n - len(last)
        for seg in segs[1:-1]:
            if not seg:
                continue
            i = self._find(seg, s, pos, end)
            if i < 0:
                return False
            pos = i + len(seg)
        return True


class _DFA:
    """A lazily built DFA over an NFA (compiled by eqlc.lucene_regex.to_nfa): linear time in the
    length of the value, whatever the pattern. Used when RE2 is not importable."""

    __slots__ = ("trans", "start", "accept", "cache", "ids", "acc", "sets")

    def __init__(self, nfa):
        self.start, self.accept, self.trans = nfa
        self._reset()

    def _reset(self):
        self.ids = {}
        self.sets = []
        self.acc = []
        self.cache = []
        self._intern(self._closure((self.start,)))

    def _closure(self, states):
        trans = self.trans
        seen = set()
        stack = list(states)
        while stack:
            s = stack.pop()
            if s in seen:
                continue
            seen.add(s)
            eps = trans[s][0]
            if eps:
                stack.extend(eps)
        return frozenset(seen)

    def _intern(self, fs):
        i = self.ids.get(fs)
        if i is None:
            i = len(self.sets)
            self.ids[fs] = i
            self.sets.append(fs)
            self.acc.append(self.accept in fs)
            self.cache.append({})
        return i

    def _step(self, d, ch):
        cp = ord(ch)
        nxt = []
        trans = self.trans
        for s in self.sets[d]:
            _eps, ranges, target = trans[s]
            if ranges and _bisect.bisect_right(ranges, cp) & 1:
                nxt.append(target)
        if len(self.sets) > 20000:
            self._reset()
            return None
        n = self._intern(self._closure(nxt))
        self.cache[d][ch] = n
        return n

    def fullmatch(self, s):
        d = 0
        cache = self.cache
        for ch in s:
            n = cache[d].get(ch)
            if n is None:
                n = self._step(d, ch)
                if n is None:  # cache was reset: restart the simulation from scratch
                    return self._slow(s)
            d = n
            if not self.sets[d]:
                return False
        return self.acc[d]

    def _slow(self, s):
        cur = self._closure((self.start,))
        for ch in s:
            cp = ord(ch)
            nxt = [self.trans[x][2] for x in cur if self.trans[x][1] and _bisect.bisect_right(self.trans[x][1], cp) & 1]
            cur = self._closure(nxt)
            if not cur:
                return False
        return self.accept in cur


def _re2_compile(pattern):
    """RE2's compiled pattern, or None where RE2 refuses it (a program over its memory budget):
    the lazy DFA then runs the pattern, still in linear time. Errors are not logged to stderr."""
    try:
        opts = _re2.Options()
        opts.log_errors = False
        return _re2.compile(pattern, opts)
    except Exception:  # noqa: BLE001 - re2.error, or a re2 module without Options
        return None


class _Regex:
    """A whole-value regular expression: RE2 when importable, else the lazy DFA (never Python's
    backtracking ``re``). ``nfa`` is None for Java-syntax (script) patterns, which need RE2."""

    __slots__ = ("fullmatch_fn", "pattern")

    def __init__(self, re2_pattern, nfa=None):
        self.pattern = re2_pattern
        rx = _re2_compile(re2_pattern) if _re2 is not None else None
        if rx is None and nfa is None and _re2 is not None:
            raise ValueError("RE2 cannot compile this regular expression (too large?): " + re2_pattern[:200])
        if rx is not None:
            fm = rx.fullmatch
            if nfa is not None:
                # RE2 may simplify a class holding s and S (or k and K) into a case-folded literal, which
                # then also matches U+017F (long s) or U+212A (Kelvin sign); Lucene folds ASCII
                # only. Values holding either character take the exact automaton instead.
                dfa = _DFA(nfa).fullmatch
                self.fullmatch_fn = lambda s: dfa(s) if ("\u017f" in s or "\u212a" in s) else fm(s) is not None
            else:
                self.fullmatch_fn = lambda s: fm(s) is not None
        elif nfa is not None:
            self.fullmatch_fn = _DFA(nfa).fullmatch
        else:
            raise ImportError("this pattern needs the google-re2 package (import re2): " + re2_pattern)

    def match(self, s):
        return self.fullmatch_fn(s)


# ================================================================================================
# Native (Lucene query) predicates on dynamically typed values
# ================================================================================================


def _dyn_term(vals, s, n, b):
    """``field == literal`` as a term query on a dynamically typed value: a string value is a
    keyword (compared with the literal's text ``s``), a number a long/double (compared with the
    literal's numeric value ``n``), a boolean a boolean (``b``)."""
    for v in vals:
        c = v.__class__
        if c is str:
            if v == s:
                return True
        elif c is bool:
            if b is not None and v is b:
                return True
        elif n is not None and v == n:
            return True
    return False


def _dyn_terms(vals, strs, nums, bools):
    for v in vals:
        c = v.__class__
        if c is str:
            if v in strs:
                return True
        elif c is bool:
            if v in bools:
                return True
        elif v in nums:
            return True
    return False


def _dyn_range(vals, op, s, n):
    """Range query on dynamically typed values: strings lexicographically against the literal's
    text, numbers numerically against its value (None when the literal is not numeric)."""
    for v in vals:
        c = v.__class__
        if c is str:
            x, y = v, s
        elif c is bool or n is None:
            continue
        else:
            x, y = v, n
        if op == "<":
            if x < y:
                return True
        elif op == "<=":
            if x <= y:
                return True
        elif op == ">":
            if x > y:
                return True
        elif x >= y:
            return True
    return False


def _date_cmp(vals, op, lohi):
    lo, hi = lohi
    for v in vals:
        if op == "==":
            if lo <= v <= hi:
                return True
        elif op == "<":
            if v < lo:
                return True
        elif op == "<=":
            if v <= hi:
                return True
        elif op == ">":
            if v > hi:
                return True
        elif v >= lo:
            return True
    return False


def _cmp_vals(vals, op, lit):
    for v in vals:
        try:
            if op == "<":
                if v < lit:
                    return True
            elif op == "<=":
                if v <= lit:
                    return True
            elif op == ">":
                if v > lit:
                    return True
            elif v >= lit:
                return True
        except TypeError:
            continue
    return False


def _ip_terms(vals, nets):
    for v in vals:
        if _ip_in_nets(v, nets):
            return True
    return False


def _cidr_dyn(vals, nets):
    """cidrMatch(field, ...) on unmapped string values: each value read as an IP address."""
    for v in vals:
        ip = _ip_cached(v) if v.__class__ is str else (v if isinstance(v, _IP) else None)
        if ip is not None and _ip_in_nets(ip, nets):
            return True
    return False


# ================================================================================================
# Script (Painless) semantics: null propagation, Java arithmetic, EQL string functions
# ================================================================================================


def _num(x):
    return x.__class__ in (int, float)


def _s_cmp(a, b):
    """QL Comparisons.compare: numbers numerically, same-typed comparables, else null."""
    if a is None or b is None:
        return None
    ca, cb = a.__class__, b.__class__
    if (ca is int or ca is float) and (cb is int or cb is float):
        return (a > b) - (a < b)
    if ca is cb or (isinstance(a, str) and isinstance(b, str)):
        try:
            if ca is str:
                a, b = _utf16_key(a), _utf16_key(b)
            return (a > b) - (a < b)
        except TypeError:
            return None
    return None


def _utf16_key(s):
    # Java String.compareTo orders UTF-16 code units; only astral characters differ from code points.
    # One code point per unit (_units) orders as the units do, and takes the lone surrogates a
    # substring() cut can leave, which s.encode("utf-16-be") refused.
    return _units(s)


def _units(s):
    """``s`` as Java sees it: one Python code point per UTF-16 code unit.

    Java strings are UTF-16 and every EQL string function of Elasticsearch indexes them by code
    unit (``String.length/substring/indexOf`` in x-pack/plugin/eql ``StringUtils``), so a character
    above U+FFFF is two positions, its surrogate pair. Python strings index code points; here such a
    character is split into its two surrogates (Python strings may hold lone surrogates), so
    Python's slicing, ``find`` and ``startswith`` on the result run on Java's positions."""
    if s.isascii() or max(s) <= "\uffff":
        return s
    out = []
    for c in s:
        o = ord(c)
        if o > 0xFFFF:
            o -= 0x10000
            out.append(chr(0xD800 + (o >> 10)))
            out.append(chr(0xDC00 + (o & 0x3FF)))
        else:
            out.append(c)
    return "".join(out)


def _from_units(u):
    """Back from :func:`_units`: a high surrogate followed by a low one is the one character they
    encode (as in a Java string, where the pair is that character); a surrogate left alone by a cut
    (Java's ``"\ud83d\ude00".substring(0, 1)``, a lone high surrogate) stays a lone surrogate code
    point, the only way a Python string can hold it."""
    if u.isascii() or max(u) < "\ud800":
        return u
    return u.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "surrogatepass")


def _s_eq(a, b):
    c = _s_cmp(a, b)
    return None if c is None else c == 0


def _s_lt(a, b):
    c = _s_cmp(a, b)
    return None if c is None else c < 0


def _s_le(a, b):
    c = _s_cmp(a, b)
    return None if c is None else c <= 0


def _s_gt(a, b):
    c = _s_cmp(a, b)
    return None if c is None else c > 0


def _s_ge(a, b):
    c = _s_cmp(a, b)
    return None if c is None else c >= 0


def _s_not(a):
    if a is None:
        return None
    return not a


def _s_and(a, b):
    if a is False or b is False:
        return False
    if a is None or b is None:
        return None
    return True


def _s_or(a, b):
    if a is True or b is True:
        return True
    if a is None or b is None:
        return None
    return False


def _java_lower(s):
    return s.lower()


def _java_eq_ic(a, b):
    """String.equalsIgnoreCase (per UTF-16 unit: upper-case, then lower-case, compare)."""
    if len(a) != len(b):
        return False
    for x, y in zip(a, b):
        if x == y:
            continue
        ux, uy = x.upper(), y.upper()
        if len(ux) != 1:
            ux = x
        if len(uy) != 1:
            uy = y
        if ux == uy:
            continue
        lx, ly = ux.lower(), uy.lower()
        if len(lx) == 1 and len(ly) == 1 and lx == ly:
            continue
        return False
    return True


def _s_ieq(a, b):
    """StringComparisons.insensitiveEquals (the script form of ``:`` without wildcards and of
    ``in~``): null == null is true; strings by String.compareToIgnoreCase (Unicode case folding,
    unlike the ASCII-only native queries); anything else as ``==``."""
    if a is None and b is None:
        return True
    if isinstance(a, str) and isinstance(b, str):
        return _java_eq_ic(a, b)
    return _s_eq(a, b)


def _s_in(v, items, has_null):
    """InProcessor: null value -> null; found -> true; not found with a null in the list -> null."""
    if v is None:
        return None
    for it in items:
        if _s_eq(v, it) is True:
            return True
    return None if has_null else False


def _s_in_ci(v, items):
    if v is None:
        return None
    r = False
    for it in items:
        x = _s_ieq(v, it)
        if x is True:
            return True
        if x is None:
            r = None
    return r


def _fold_s(v):
    """ASCII folding of a script value's string form (Java CASE_INSENSITIVE without UNICODE_CASE)."""
    if v is None:
        return None
    return _fold(v if v.__class__ is str else _s_string(v))


def _s_match(v, rx):
    """RegexProcessor: Java regex ``matches()`` on the value's string form; null -> null."""
    if v is None:
        return None
    return rx.match(v if v.__class__ is str else _s_string(v))


class _ArithError(Exception):
    pass


def _java_type_num(x):
    return x.__class__ is int or x.__class__ is float


def _chk_long(r):
    if _LONG_MIN <= r <= _LONG_MAX:
        return r
    raise _ArithError("long overflow")


def _s_add(a, b):
    if a is None or b is None:
        return None
    if not (_java_type_num(a) and _java_type_num(b)):
        raise _ArithError("not numbers")
    if a.__class__ is float or b.__class__ is float:
        return float(a) + float(b)
    return _chk_long(a + b)


def _s_sub(a, b):
    if a is None or b is None:
        return None
    if not (_java_type_num(a) and _java_type_num(b)):
        raise _ArithError("not numbers")
    if a.__class__ is float or b.__class__ is float:
        return float(a) - float(b)
    return _chk_long(a - b)


def _s_mul(a, b):
    if a is None or b is None:
        return None
    if not (_java_type_num(a) and _java_type_num(b)):
        raise _ArithError("not numbers")
    if a.__class__ is float or b.__class__ is float:
        return float(a) * float(b)
    return _chk_long(a * b)


def _s_div(a, b):
    """Java division: integers truncate toward zero; integer division by zero is an error;
    floating point follows IEEE 754."""
    if a is None or b is None:
        return None
    if not (_java_type_num(a) and _java_type_num(b)):
        raise _ArithError("not numbers")
    if a.__class__ is float or b.__class__ is float:
        a, b = float(a), float(b)
        if b == 0.0:
            if a == 0.0 or a != a:
                return float("nan")
            return _math.copysign(float("inf"), a) * _math.copysign(1.0, b)
        return a / b
    if b == 0:
        raise _ArithError("division by zero")
    q = abs(a) // abs(b)
    return _chk_long(q if (a >= 0) == (b >= 0) else -q)


def _s_mod(a, b):
    """Java remainder: the sign of the dividend."""
    if a is None or b is None:
        return None
    if not (_java_type_num(a) and _java_type_num(b)):
        raise _ArithError("not numbers")
    if a.__class__ is float or b.__class__ is float:
        a, b = float(a), float(b)
        if b == 0.0:
            return float("nan")
        return _math.fmod(a, b)
    if b == 0:
        raise _ArithError("division by zero")
    r = abs(a) % abs(b)
    return r if a >= 0 else -r


def _s_neg(a):
    if a is None:
        return None
    if not _java_type_num(a):
        raise _ArithError("not a number")
    return -a if a.__class__ is float else _chk_long(-a)


def _s_string(v):
    """ToStringFunctionProcessor: String.valueOf."""
    if v is None:
        return None
    c = v.__class__
    if c is str:
        return v
    if c is bool:
        return "true" if v else "false"
    if c is int:
        return str(v)
    if c is float:
        return _java_double(v)
    return str(v)


def _fn_length(s):
    if s is None:
        return None
    if s.__class__ is not str:
        raise _ArithError("length needs a string")
    return _len16(s)


def _fn_concat(*args):
    out = []
    for a in args:
        if a is None:
            return None
        out.append(_s_string(a))
    return "".join(out)


def _fn_between(s, left, right, greedy=False, ci=False):
    if s is None:
        return None
    if left is None or right is None:
        return None
    if not (isinstance(s, str) and isinstance(left, str) and isinstance(right, str)):
        raise _ArithError("between needs strings")
    if greedy is None:
        greedy = False
    if not s or not left or not right:
        return s
    # StringUtils.between: positions found in the (lower-cased) match string cut the original one,
    # all in UTF-16 units (_units).
    m = s
    if ci:
        m, left, right = s.lower(), left.lower(), right.lower()
    m, left, right, su = _units(m), _units(left), _units(right), _units(s)
    i = m.find(left)
    if i < 0:
        return ""
    start = i + len(left)
    j = m.rfind(right) if greedy else m.find(right, start)
    if j < 0:
        return ""
    if j < start:  # greedy: the last `right` lies before `left` ends - Java substring() throws
        raise _ArithError("between: bounds out of order")
    if j > len(su):  # lower-casing lengthened the match string past the original: Java throws
        raise _ArithError("between: bound past the string")
    return _from_units(su[start:j])


def _fn_starts_with(s, p, ci=False):
    if s is None or p is None:
        return None
    if not (isinstance(s, str) and isinstance(p, str)):
        raise _ArithError("startsWith needs strings")
    if ci:
        return _units(s.lower()).startswith(_units(p.lower()))
    return _units(s).startswith(_units(p))


def _fn_ends_with(s, p, ci=False):
    if s is None or p is None:
        return None
    if not (isinstance(s, str) and isinstance(p, str)):
        raise _ArithError("endsWith needs strings")
    if ci:
        return _units(s.lower()).endswith(_units(p.lower()))
    return _units(s).endswith(_units(p))


def _fn_string_contains(s, p, ci=False):
    if s is None or p is None:
        return None
    if not (isinstance(s, str) and isinstance(p, str)):
        raise _ArithError("stringContains needs strings")
    if not s or not p:
        return False
    if ci:
        return _units(p.lower()) in _units(s.lower())
    return _units(p) in _units(s)


def _fn_index_of(s, p, start=None, ci=False):
    if s is None or p is None:
        return None
    if not (isinstance(s, str) and isinstance(p, str)):
        raise _ArithError("indexOf needs strings")
    if start is not None and not _java_type_num(start):
        raise _ArithError("indexOf start must be a number")
    i = 0 if start is None else int(start)
    if ci:
        s, p = s.lower(), p.lower()
    s, p = _units(s), _units(p)  # String.indexOf: the start and the result are UTF-16 positions
    i = max(0, min(i, len(s)))
    r = s.find(p, i)
    return None if r < 0 else r


def _fn_substring(s, start, end=None):
    if s is None:
        return None
    if s.__class__ is not str:
        raise _ArithError("substring needs a string")
    if start is None:  # SubstringFunctionProcessor: a null start returns the input unchanged
        return s
    if not _java_type_num(start):
        raise _ArithError("substring start must be a number")
    if end is not None and not _java_type_num(end):
        raise _ArithError("substring end must be a number")
    if not s:
        return s
    # StringUtils.substringSlice cuts Java string indices: UTF-16 units (_units), so a cut can
    # halve a character above U+FFFF and leave a lone surrogate, as Java's String.substring does.
    s = _units(s)
    n = len(s)
    a = int(start)
    b = n if end is None else int(end)
    if a < 0:
        a += n
    if a < 0:
        a = 0
    if b < 0:
        b += n
    if b < 0:
        b = 0
    elif b > n:
        b = n
    if a >= b:
        return ""
    return _from_units(s[a:b])


_DECIMAL = _re.compile(r"^-?(?:\d+\.?\d*|\.\d+)$")


def _fn_number(s, base=None):
    """ToNumberFunctionProcessor: base 10 -> a long or a double (surrounding blanks ignored, as
    documented); other bases -> an int; '0x' prefix selects base 16."""
    if s is None:
        return None
    if s.__class__ is not str:
        raise _ArithError("number needs a string")
    hexp = s.startswith("0x")
    if base is None:
        base = 16 if hexp else 10
    elif base.__class__ is not int:
        raise _ArithError("number base must be an integer")
    if hexp and base == 16:
        s = s[2:]
    if base == 10:
        t = s.strip()
        if not _DECIMAL.match(t):
            raise _ArithError("not a number")
        if "." in t:
            f = float(t)
            if f == int(f) and abs(f) < 2**63:
                return int(f)
            return f
        v = int(t)
        return v if _LONG_MIN <= v <= _LONG_MAX else float(v)
    try:
        v = int(s, base)
    except ValueError:
        raise _ArithError("not a number") from None
    if not -(2**31) <= v < 2**31:
        raise _ArithError("int overflow")
    return v


def _fn_cidr(ip, nets):
    """CIDRMatchFunctionProcessor on a script value (an address string); null -> null."""
    if ip is None:
        return None
    a = ip if isinstance(ip, _IP) else _to_ip(ip)
    if a is None:
        raise _ArithError("not an IP address")
    return _ip_in_nets(a, nets)


# ================================================================================================
# Join keys
# ================================================================================================


class _BoolKey:
    """A boolean join-key value (Java Boolean is never equal to a Long, unlike Python's True == 1)."""

    __slots__ = ("value",)

    def __init__(self, value):
        self.value = value

    def __eq__(self, other):
        return other.__class__ is _BoolKey and other.value is self.value

    def __hash__(self):
        return hash(("bool", self.value))

    def __repr__(self):
        return "true" if self.value else "false"


_TRUE_KEY, _FALSE_KEY = _BoolKey(True), _BoolKey(False)


def _key_value(v):
    if v.__class__ is bool:
        return _TRUE_KEY if v else _FALSE_KEY
    return v


def _key_sort(v):
    if v is None:
        return (0, 0)
    if v.__class__ is _BoolKey:
        return (1, v.value)
    if isinstance(v, _Ver):
        return (4, v[:-1], v[-1])
    if isinstance(v, (int, float)):
        return (2, v)
    return (3, str(v))


def _key_values(vals):
    """Distinct values of one key field, sorted as doc values are (each value is one candidate)."""
    if len(vals) == 1:
        return (_key_value(vals[0]),)
    return tuple(sorted({_key_value(v) for v in vals}, key=_key_sort))


def _key_out(v, style=None):
    """A join-key value as Elasticsearch returns it in ``join_keys`` (``style`` "iso": a date
    rendered with the default format, as sequences return them; samples return epoch millis)."""
    if v is None:
        return None
    if v.__class__ is _BoolKey:
        return v.value
    if isinstance(v, _IP):
        return str(v)
    if isinstance(v, _Ver):
        return v.text
    if style == "iso" and isinstance(v, int):
        return _iso_ms(v)
    return v


def _keys_out(key, styles):
    return [_key_out(k, styles[i] if i < len(styles) else None) for i, k in enumerate(key)]


# ================================================================================================
# Matches and engines
# ================================================================================================


class Match:
    """One result: ``events`` in order (a missing-event placeholder ``![...]`` is None) and, for
    sequences and samples, the join ``keys``."""

    __slots__ = ("events", "keys")

    def __init__(self, events, keys=()):
        self.events = list(events)
        self.keys = list(keys)

    def __repr__(self):
        return "Match(events=%r, keys=%r)" % (self.events, self.keys)

    def __eq__(self, other):
        return isinstance(other, Match) and self.events == other.events and self.keys == other.keys

    def as_dict(self):
        return {"events": self.events, "keys": self.keys}


def _apply_pipes(matches, pipes):
    """``| head N`` / ``| tail N`` (and size/result_position) over a stream of matches."""
    for name, n in pipes:
        if name == "head":
            matches = _head(matches, n)
        elif name == "tail":
            matches = _tail(matches, n)
    return matches


def _head(it, n):
    if n <= 0:
        return
    for i, m in enumerate(it):
        yield m
        if i + 1 >= n:
            return


def _tail(it, n):
    buf = _deque(maxlen=n) if n > 0 else None
    for m in it:
        if buf is not None:
            buf.append(m)
    if buf:
        yield from buf


class _Ordered:
    """Orders events as Elasticsearch's sequence ordinals do: timestamp, then tiebreaker (events
    without one after those with one), then input order (the implicit _shard_doc tiebreaker).

    ``sort=True`` buffers everything and sorts; otherwise events must arrive with non-decreasing
    timestamps and only a group sharing one timestamp is buffered (and sorted by tiebreaker)."""

    def __init__(self, spec, sort):
        self.ts = spec["timestamp"]
        self.tb = spec.get("tiebreaker")
        self.sort = sort
        self.skipped = 0

    def __call__(self, events):
        ts_of = self.ts
        tb_of = self.tb
        if self.sort:
            rows = []
            for i, e in enumerate(events):
                t = ts_of(e)
                if t is None:
                    self.skipped += 1
                    continue
                rows.append((t, _tb_key(tb_of(e)) if tb_of else (0,), i, e))
            rows.sort(key=lambda r: (r[0], r[1], r[2]))
            for t, tb, i, e in rows:
                yield t, tb, i, e
            return
        group_ts = None
        group = []
        for i, e in enumerate(events):
            t = ts_of(e)
            if t is None:
                self.skipped += 1
                continue
            if tb_of is None:
                if group_ts is not None and t < group_ts:
                    raise EventOrderError(
                        "event %d has timestamp %r, earlier than %r already processed; sort the input "
                        "(run(..., sort=True) or `eqlc match --sort`)" % (i + 1, t, group_ts))
                group_ts = t
                yield t, (0,), i, e
                continue
            if group_ts is None or t == group_ts:
                group_ts = t
                group.append((t, _tb_key(tb_of(e)), i, e))
                continue
            if t < group_ts:
                raise EventOrderError(
                    "event %d has timestamp %r, earlier than %r already processed; sort the input "
                    "(run(..., sort=True) or `eqlc match --sort`)" % (i + 1, t, group_ts))
            group.sort(key=lambda r: (r[1], r[2]))
            yield from group
            group = [(t, _tb_key(tb_of(e)), i, e)]
            group_ts = t
        group.sort(key=lambda r: (r[1], r[2]))
        yield from group


def _tb_key(v):
    return (1,) if v is None else (0, _key_sort(v))


class _Seq:
    """An in-flight sequence: events/ordinals per positive stage, plus missing-event bookkeeping."""

    __slots__ = ("events", "start", "last", "last_ts", "doomed", "leading")

    def __init__(self, event, ordinal, ts):
        self.events = [event]
        self.start = ts
        self.last = ordinal
        self.last_ts = ts
        self.doomed = False
        self.leading = None


class _MissingTrack:
    """Per key, the two latest distinct timestamps of events matching a missing-event query, so
    that 'the latest such event strictly before t' is known for any t in the current group."""

    __slots__ = ("by_key",)

    def __init__(self):
        self.by_key = {}

    def add(self, key, ts):
        cur = self.by_key.get(key)
        if cur is None:
            self.by_key[key] = (ts, None)
        elif ts != cur[0]:
            self.by_key[key] = (ts, cur[0])

    def before(self, key, ts):
        cur = self.by_key.get(key)
        if cur is None:
            return None
        if cur[0] < ts:
            return cur[0]
        return cur[1] if cur[1] is not None and cur[1] < ts else None

    def evict(self, older_than):
        dead = [k for k, (a, _b) in self.by_key.items() if a < older_than]
        for k in dead:
            del self.by_key[k]


class SequenceEngine:
    """Elasticsearch's sequence matching, streamed.

    Stage k's hit takes the latest in-flight sequence of the previous positive stage with the same
    key whose last event is strictly earlier (SequenceMatcher.match / OrdinalGroup.trimBefore);
    keeping only the newest sequence per key and stage is equivalent for ordered input. maxspan
    is checked against the first event (span == maxspan matches). An ``until`` event kills the
    key's in-flight sequences (Ordinal.between is inclusive; UntilGroup.before is strict, so a
    sequence completing at the until event itself still completes). Missing events follow
    TumblingWindow.doCheckMissingEvents. Expired in-flight sequences are evicted as the stream's
    time passes maxspan, so memory stays flat on an endless stream."""

    def __init__(self, spec):
        self.spec = spec
        self.terms = spec["terms"]
        self.until = spec.get("until")
        self.maxspan = spec.get("maxspan")
        self.positive = [i for i, t in enumerate(self.terms) if not t["missing"]]
        self.first_pos = self.positive[0]
        self.last_pos = self.positive[-1]
        n = len(self.terms)
        self.lead = [i for i in range(0, self.first_pos)]
        self.trail = [i for i in range(self.last_pos + 1, n)]
        self.middle = {}  # positive stage -> missing stages between it and the previous positive
        for a, b in zip(self.positive, self.positive[1:]):
            self.middle[b] = [i for i in range(a + 1, b)]
        self.has_missing = any(t["missing"] for t in self.terms)
        self.tracks = {i: _MissingTrack() for i, t in enumerate(self.terms) if t["missing"]}
        self.pending = {i: {} for i in self.positive}  # stage -> key -> _Seq
        self.trailing = []  # completed sequences waiting for their trailing missing-event check
        self.styles = spec.get("key_styles", ())
        self.last_sweep = None
        self.events_since_sweep = 0

    # -- bookkeeping ----------------------------------------------------------------------------
    def _sweep(self, now):
        """Drop in-flight sequences that can no longer complete within maxspan."""
        ms = self.maxspan
        if ms is None:
            return
        limit = now - ms
        for stage, by_key in self.pending.items():
            if stage == self.last_pos:
                continue
            dead = [k for k, s in by_key.items() if s.start < limit]
            for k in dead:
                del by_key[k]
        for track in self.tracks.values():
            # an event older than now - maxspan cannot discard any sequence still possible:
            # middle gaps lie inside the span; leading/trailing ones count only within maxspan
            track.evict(limit - ms)

    def run(self, ordered):
        """Yield completed sequences as Match objects, in completion order."""
        terms = self.terms
        until = self.until
        pending = self.pending
        first_pos, last_pos = self.first_pos, self.last_pos
        maxspan = self.maxspan
        prev_pos = {}
        for a, b in zip(self.positive, self.positive[1:]):
            prev_pos[b] = a
        # per positive stage, last first: (cond, keys, first?, last?, previous pending, own pending,
        # missing stages before it)
        stages = []
        for stage in reversed(self.positive):
            t = terms[stage]
            stages.append((t["cond"], t["keys"], stage == first_pos, stage == last_pos,
                           pending[prev_pos[stage]] if stage in prev_pos else None,
                           pending[stage], self.middle.get(stage, ())))
        tracks = [(terms[m]["cond"], terms[m]["keys"], track) for m, track in self.tracks.items()]
        lead = self.lead
        trail = self.trail
        tracks_by_stage = self.tracks
        until_cond = until["cond"] if until is not None else None
        until_keys = until["keys"] if until is not None else None
        pending_dicts = [pending[s] for s in self.positive]
        last_sweep = None
        count = 0
        for ts, tb, idx, e in ordered:
            if maxspan is not None:
                count += 1
                if last_sweep is None:
                    last_sweep = ts
                elif (count & 1023) == 0 and ts - last_sweep > maxspan:
                    self._sweep(ts)
                    last_sweep = ts
            if self.trailing:
                yield from self._check_trailing(e, ts, final=False)
            for cond, keys_of, track in tracks:
                if cond(e):
                    keys = keys_of(e)
                    if keys:
                        for k in keys:
                            track.add(k, ts)
            completed = None
            for cond, keys_of, is_first, is_last, prev, own, middle in stages:
                if not cond(e):
                    continue
                keys = keys_of(e)
                if not keys:
                    continue
                for key in keys:
                    if is_first:
                        seq = _Seq(e, idx, ts)
                        if lead:
                            seq.leading = self._latest_before(lead, key, ts)
                        if is_last:
                            if completed is None:
                                completed = []
                            completed.append((key, seq))
                        else:
                            own[key] = seq
                        continue
                    seq = prev.pop(key, None)
                    if seq is None:
                        continue
                    # streamed in ordinal order: an in-flight sequence always ends before this event
                    if maxspan is not None and ts - seq.start > maxspan:
                        continue
                    for m in middle:
                        x = tracks_by_stage[m].before(key, ts)
                        if x is not None and x > seq.last_ts:
                            seq.doomed = True
                    seq.events.append(e)
                    seq.last = idx
                    seq.last_ts = ts
                    if is_last:
                        if completed is None:
                            completed = []
                        completed.append((key, seq))
                    else:
                        own[key] = seq
            if until_cond is not None and until_cond(e):
                ukeys = until_keys(e)
                if ukeys:
                    for k in ukeys:
                        for d in pending_dicts:
                            d.pop(k, None)
            if completed is None:
                continue
            for key, seq in completed:
                if seq.doomed:
                    continue
                if trail:
                    # ES: with leading stages too, no leading event keeps the sequence at once
                    state = True if (lead and seq.leading is None) else None
                    self.trailing.append([key, seq, state])
                    continue
                if lead and not self._leading_ok(seq):
                    continue
                yield self._match(key, seq)
            if self.trailing:
                yield from self._flush_trailing()
        if self.trailing:
            yield from self._check_trailing(None, None, final=True)

    def _latest_before(self, stages, key, ts):
        best = None
        for m in stages:
            x = self.tracks[m].before(key, ts)
            if x is not None and (best is None or x > best):
                best = x
        return best

    def _leading_ok(self, seq):
        # only leading missing stages: kept if none found or lastPositive - lastLeading > maxspan
        if seq.leading is None:
            return True
        return seq.last_ts - seq.leading > self.maxspan

    def _check_trailing(self, e, ts, final):
        """Decide waiting sequences (TumblingWindow.doCheckMissingEvents): the first trailing event
        after the last positive one decides (kept if it is more than maxspan after the anchor: the
        last leading event, else the first positive one); once the stream's time has passed
        anchor + maxspan, no later event can discard it. Results keep completion order."""
        for item in self.trailing:
            key, seq, state = item
            if state is not None:
                continue
            if final:
                item[2] = True
                continue
            anchor = seq.leading if self.lead else seq.start
            if ts > seq.last_ts:
                for m in self.trail:
                    t = self.terms[m]
                    if t["cond"](e):
                        ks = t["keys"](e)
                        if ks and key in ks:
                            item[2] = ts - anchor > self.maxspan
                            break
                if item[2] is None and ts - anchor > self.maxspan:
                    item[2] = True
        yield from self._flush_trailing()

    def _flush_trailing(self):
        q = self.trailing
        while q and q[0][2] is not None:
            key, seq, state = q.pop(0)
            if state:
                yield self._match(key, seq)

    def _match(self, key, seq):
        events = []
        it = iter(seq.events)
        for t in self.terms:
            events.append(None if t["missing"] else next(it))
        return Match(events, _keys_out(key, self.styles))


class SampleEngine:
    """Elasticsearch's samples (SampleIterator): per join key, the first hits of each filter in
    index order (``filters * max_samples_per_key`` of them, as its final msearch asks for), then
    ``matchSamples`` picks distinct events for the filters by backtracking, up to
    ``max_samples_per_key`` samples per key; keys in ascending order (composite aggregation), null
    keys (optional fields) first. Unordered by nature, so results come at the end of the input."""

    def __init__(self, spec, max_samples_per_key=1):
        self.terms = spec["terms"]
        self.per_key = max(1, int(max_samples_per_key))
        self.cap = len(self.terms) * self.per_key

    def run(self, events):
        n = len(self.terms)
        hits = {}  # key -> [list per term]
        for e in events:
            for i, t in enumerate(self.terms):
                if not t["cond"](e):
                    continue
                keys = t["keys"](e)
                if not keys:
                    continue
                for k in keys:
                    lists = hits.get(k)
                    if lists is None:
                        lists = hits[k] = [[] for _ in range(n)]
                    if len(lists[i]) < self.cap:
                        lists[i].append(e)
        for key in sorted(hits, key=lambda k: tuple(_key_sort(v) for v in k)):
            lists = hits[key]
            if any(not x for x in lists):
                continue
            for sample in self._match_samples(lists):
                yield Match(sample, _keys_out(key, ()))

    def _match_samples(self, lists):
        result = []
        partial = []
        n = len(lists)
        limit = self.per_key

        def rec(i):
            for ev in lists[i]:
                if any(ev is p for p in partial):
                    continue
                partial.append(ev)
                if i == n - 1:
                    result.append(list(partial))
                    if len(result) == limit:
                        return True
                elif rec(i + 1):
                    return True
                partial.pop()
            return False

        rec(0)
        return result


def _run_query(spec, events, sort=False, size=None, result_position="tail", max_samples_per_key=1):
    """Run a generated query spec over events; an iterator of Match."""
    kind = spec["kind"]
    pipes = list(spec.get("pipes", ()))
    if spec.get("pruned"):
        return iter(())  # never matches: do not even read the (possibly endless) input
    if kind == "event":
        cond = spec["terms"][0]["cond"]
        if not sort and spec.get("filter") is not None:
            stream = (Match([e]) for e in spec["filter"](events))
        elif sort:
            ordered = _Ordered(spec, True)
            stream = (Match([e]) for _t, _tb, _i, e in ordered(events) if cond(e))
        else:
            stream = (Match([e]) for e in events if cond(e))
    elif kind == "sequence":
        engine = SequenceEngine(spec)
        stream = engine.run(_Ordered(spec, sort)(events))
    else:
        engine = SampleEngine(spec, max_samples_per_key)
        stream = engine.run(events)
    if size is not None:
        # samples have no order to take a tail of: Elasticsearch returns the first `size`
        tail = result_position != "head" and kind != "sample"
        pipes.append(("tail" if tail else "head", int(size)))
    return _apply_pipes(stream, pipes)
