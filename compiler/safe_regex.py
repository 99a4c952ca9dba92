"""Python ``re`` semantics in bounded time: RE2 where it means the same, else a budgeted ``re``.

Several engines eqlc runs are *defined* by Python's ``re`` (the ``eql`` package behind the
endgame dialect, the ``REGEXP`` function the Sigma sqlite verification registers) or model a
backtracking engine with it (PCRE for the SPL evaluator, ECMAScript ``std::regex`` for osquery).
A backtracking engine needs exponential time on patterns such as ``(a+)+$`` or ``(.*a){30}``, so
a hostile rule could hang ``verify``, ``report`` or ``match``. :func:`compile` keeps the meaning
of ``re`` exactly and bounds the cost:

1. The pattern is parsed by ``re``'s own parser (so it is valid exactly when ``re`` says so) and,
   when every construct in it has the same meaning in RE2, translated node by node to an RE2
   pattern (code points spelled ``\\x{...}``, Python's Unicode ``\\d``/``\\s``/``\\w`` enumerated
   from ``str.isdecimal``/``isspace``/``isalnum`` so they are Python's sets, not RE2's ASCII
   ones, repetitions over RE2's 1000 split into chunks). RE2 runs in time linear in the input.
   RE2 keeps Perl's leftmost-first preference, so ``search``/``match``/``fullmatch`` succeed on
   the same inputs with the same span of the whole match (group 0) -- except where a repetition
   can match its body *empty*. ``re`` (like Perl) ends a ``*``/``+``/``{m,n}`` loop once an
   optional iteration matched the empty string and goes on with the rest of the pattern; RE2
   drops that empty path and tries the body's next alternative instead. ``((?:[^a]*|a)*)`` on
   ``"1a"``: ``re`` matches ``"1"`` (the second iteration takes ``[^a]*`` empty and stops),
   RE2 ``"1a"``. So a repetition that can iterate again after an iteration (upper bound above
   ``max(min, 1)``) whose body can match the empty string *and* has a choice (an alternation,
   or a quantifier such as ``?``/``*``, at any depth) is not translated: the pattern goes to
   tier 2 (``(?:a?|b)*``, ``(?:x*|y)+``, ``(?:a|)*``). A body without a choice matches in one way
   only, and ``?``/``{n}`` have no loop, so there the two engines agree. Sources: CPython
   ``Modules/_sre/sre_lib.h`` ``SRE_OP_MAX_UNTIL`` ("zero-width match protection": no further
   iteration when the position equals ``last_ptr``, where the previous optional one began);
   google/re2#310 and golang/go#46123 (RE2 compiles ``e*`` as ``(e+)?``, which fixes only an
   empty match the whole body prefers first, not one a later iteration reaches). Sub-group
   captures are not promised by the RE2 tier; :meth:`SafeRegex.search_groups` asks ``re``.
2. Anything else (back-references, look-around, ``\\b``, ``re.IGNORECASE``, ``re.MULTILINE``,
   ``$`` followed by more pattern, lone surrogates, the repetitions above) runs in ``re`` itself
   under a time budget (:data:`DEFAULT_BUDGET` seconds per call, an interval timer in the main
   thread; ``re``'s matching loop checks for signals). Past the budget the call raises
   :class:`RegexBudgetExceeded`, which engines report as an engine error, never a hang. Off the
   main thread no timer is available: a pattern with a quantified sub-pattern that itself
   repeats or alternates (the shape of every catastrophic case) is refused there with the same
   error; other patterns run as they are (polynomial).

``$`` without ``re.MULTILINE`` ("at the end, or before a newline at the end") has no zero-width
RE2 spelling; when it ends the pattern it is translated as ``\\n?\\z``, which accepts the same
inputs but may include that final newline in the match span (eqlc's callers only test whether a
match exists, or use patterns that end in ``\\Z``).
"""

from __future__ import annotations

import functools
import os
import re
import re._constants as _c  # type: ignore[import-not-found]
import re._parser as _p  # type: ignore[import-not-found]
import signal
import threading
import time
from typing import Any, Optional, Union

from .code_point_ranges import complement as _complement
from .code_point_ranges import normalise as _normalise
from .errors import RegexBudgetExceeded  # defined there (re-exported here): catching it imports no regex machinery

try:
    import re2 as _re2
except ImportError:  # pragma: no cover - google-re2 is a dependency
    _re2 = None

DEFAULT_BUDGET = float(os.environ.get("EQLC_REGEX_BUDGET", "2.0"))
"""Seconds one backtracking ``search``/``match`` may take before :class:`RegexBudgetExceeded`."""

RE2_MAX_REPEAT = 1000  # RE2: "bad repetition operator" above {1000}
RE2_MAX_MEM = 64 << 20


class _NotRE2(Exception):
    """The pattern uses a construct whose meaning RE2 does not share."""


# ---- Python's Unicode shorthand classes, enumerated once ----------------------------------------
@functools.lru_cache(maxsize=None)
def _unicode_ranges(kind: str) -> tuple[tuple[int, int], ...]:
    test = {"digit": str.isdecimal, "space": str.isspace, "word": lambda ch: ch.isalnum() or ch == "_"}[kind]
    out: list[list[int]] = []
    for cp in range(0x110000):
        if 0xD800 <= cp <= 0xDFFF:
            continue
        if test(chr(cp)):
            if out and out[-1][1] == cp - 1:
                out[-1][1] = cp
            else:
                out.append([cp, cp])
    return tuple((a, b) for a, b in out)


_ASCII_CATS = {
    "digit": ((0x30, 0x39),),
    "space": ((0x09, 0x0D), (0x20, 0x20)),  # [ \t\n\r\f\v]
    "word": ((0x30, 0x39), (0x41, 0x5A), (0x5F, 0x5F), (0x61, 0x7A)),
}
_CATEGORY = {
    _c.CATEGORY_DIGIT: ("digit", False), _c.CATEGORY_NOT_DIGIT: ("digit", True),
    _c.CATEGORY_SPACE: ("space", False), _c.CATEGORY_NOT_SPACE: ("space", True),
    _c.CATEGORY_WORD: ("word", False), _c.CATEGORY_NOT_WORD: ("word", True),
}


def _cp(code: int) -> str:
    if 0xD800 <= code <= 0xDFFF:
        raise _NotRE2("surrogate code point")
    return f"\\x{{{code:x}}}"


class _Translator:
    def __init__(self, is_bytes: bool, dollar: str) -> None:
        self.is_bytes = is_bytes
        self.top = 0xFF if is_bytes else 0x10FFFF
        self.dollar = dollar
        self.used_dollar = False

    def cat_ranges(self, code: Any, flags: int) -> list[tuple[int, int]]:
        kind, neg = _CATEGORY[code]
        ascii_only = self.is_bytes or flags & re.ASCII
        ranges = list(_ASCII_CATS[kind] if ascii_only else _unicode_ranges(kind))
        if neg:
            ranges = _complement(ranges, self.top)
            if not self.is_bytes:  # surrogates are not code points RE2 can see; drop them
                ranges = [r for part in ranges for r in _split_surrogates(part)]
        return ranges

    def check_flags(self, flags: int) -> None:
        if flags & (re.MULTILINE | re.LOCALE):
            raise _NotRE2("multi-line or locale flag")

    def seq(self, items: Any, flags: int, tail: bool) -> str:
        items = list(items)
        out = []
        for i, (op, av) in enumerate(items):
            out.append(self.node(op, av, flags, tail and i == len(items) - 1))
        return "".join(out)

    def node(self, op: Any, av: Any, flags: int, tail: bool) -> str:
        self.check_flags(flags)
        if flags & re.IGNORECASE and op in (_c.LITERAL, _c.NOT_LITERAL, _c.IN):
            return self.folded_class(op, av, flags)
        if op is _c.LITERAL:
            return _cp(av)
        if op is _c.NOT_LITERAL:
            return "[^" + _cp(av) + "]"
        if op is _c.ANY:
            return "(?s:.)" if flags & re.DOTALL else "[^\\n]"
        if op is _c.IN:
            return self.char_class(av, flags)
        if op is _c.BRANCH:
            return "(?:" + "|".join(self.seq(alt, flags, tail) for alt in av[1]) + ")"
        if op is _c.SUBPATTERN:
            group, add, drop, sub = av
            inner = self.seq(sub, (flags | add) & ~drop, tail)
            return f"({inner})" if group is not None else f"(?:{inner})"
        if op in (_c.MAX_REPEAT, _c.MIN_REPEAT):
            lo, hi, sub = av
            if (hi is _c.MAXREPEAT or hi > max(lo, 1)) and _nullable(sub) and _has_choice(sub):
                raise _NotRE2("repeated sub-pattern that can match the empty string one way and more another")
            body = "(?:" + self.seq(sub, flags, False) + ")"
            lazy = "?" if op is _c.MIN_REPEAT else ""
            return self.repeat(body, lo, None if hi is _c.MAXREPEAT else hi, lazy)
        if op is _c.AT:
            if av in (_c.AT_BEGINNING, _c.AT_BEGINNING_STRING):
                return "\\A"
            if av is _c.AT_END_STRING:
                return "\\z"
            if av is _c.AT_END and tail:
                self.used_dollar = True
                return self.dollar
            raise _NotRE2(f"anchor {av}")
        raise _NotRE2(f"construct {op}")

    @staticmethod
    def repeat(body: str, lo: int, hi: Optional[int], lazy: str) -> str:
        parts = []
        while lo > RE2_MAX_REPEAT:  # x{m,n} = x{1000} x{m-1000,n-1000}: same language and preference
            parts.append(f"{body}{{{RE2_MAX_REPEAT}}}")
            lo -= RE2_MAX_REPEAT
            hi = None if hi is None else hi - RE2_MAX_REPEAT
        if hi is None:
            parts.append(f"{body}{{{lo},}}{lazy}")
        elif hi - lo <= RE2_MAX_REPEAT:
            parts.append(f"{body}{{{lo},{hi}}}{lazy}")
        else:
            raise _NotRE2("bounded repetition range above RE2's limit")
        return "".join(parts)

    def folded_class(self, op: Any, av: Any, flags: int) -> str:
        """A one-character node under ``re.IGNORECASE`` as the explicit class of what ``re``
        matches with it: for a character ``x`` that is not cased (``x.lower() == x.upper() == x``)
        the flag changes nothing; the cased characters (a few thousand) are each tested with
        ``re`` itself, so the class is ``re``'s folding, special cases included."""
        items = [(_c.LITERAL, av)] if op is _c.LITERAL else [(_c.NEGATE, None), (_c.LITERAL, av)] if op is _c.NOT_LITERAL else av
        ranges, negate = self.class_ranges(items, flags)
        if negate:
            ranges = _complement(ranges, self.top)
        cased_ranges, cased = _cased(self.is_bytes or bool(flags & re.ASCII))
        one = re.compile(self.python_class(items), flags & (re.IGNORECASE | re.ASCII | re.UNICODE))
        if self.is_bytes:
            hits = [cp for cp in cased if one.fullmatch(bytes([cp]))]
        else:
            hits = [cp for cp in cased if one.fullmatch(chr(cp))]
        ranges = _normalise(_minus(ranges, cased_ranges) + [(cp, cp) for cp in hits])
        if not self.is_bytes:
            ranges = [r for part in ranges for r in _split_surrogates(part)]
        if not ranges:
            return "[^\\x00-\\x{10ffff}]"
        return _class_text(ranges)

    def python_class(self, items: Any) -> Any:
        """``items`` (an ``IN`` node's) as ``re`` source, to test characters with."""
        cats = {v: k for k, v in {"\\d": _c.CATEGORY_DIGIT, "\\D": _c.CATEGORY_NOT_DIGIT, "\\s": _c.CATEGORY_SPACE,
                                   "\\S": _c.CATEGORY_NOT_SPACE, "\\w": _c.CATEGORY_WORD, "\\W": _c.CATEGORY_NOT_WORD}.items()}
        esc = (lambda cp: f"\\x{cp:02x}") if self.is_bytes else (lambda cp: f"\\U{cp:08x}")
        out = []
        for op, av in items:
            if op is _c.NEGATE:
                out.insert(0, "^")
            elif op is _c.LITERAL:
                out.append(esc(av))
            elif op is _c.RANGE:
                out.append(f"{esc(av[0])}-{esc(av[1])}")
            elif op is _c.CATEGORY:
                out.append(cats[av])
            else:
                raise _NotRE2(f"class item {op}")
        text = "[" + "".join(out) + "]"
        return text.encode("ascii") if self.is_bytes else text

    def class_ranges(self, items: Any, flags: int) -> tuple[list[tuple[int, int]], bool]:
        ranges: list[tuple[int, int]] = []
        negate = False
        for op, av in items:
            if op is _c.NEGATE:
                negate = True
            elif op is _c.LITERAL:
                ranges.append((av, av))
            elif op is _c.RANGE:
                ranges.append(av)
            elif op is _c.CATEGORY:
                ranges += self.cat_ranges(av, flags)
            else:
                raise _NotRE2(f"class item {op}")
        return ranges, negate

    def char_class(self, items: Any, flags: int) -> str:
        ranges, negate = self.class_ranges(items, flags)
        if not ranges:
            return "(?s:.)" if negate else "[^\\x00-\\x{10ffff}]"
        return _class_text(sorted(ranges), negate)


def _class_text(ranges: list[tuple[int, int]], negate: bool = False) -> str:
    """RE2 source of a class. RE2's parser turns a class of exactly one ASCII letter's two cases
    (``[Ss]``) into a case-folded literal, and when it later merges such literals of an
    alternation into one class (``vbs|vbe`` factored to ``vb[se]``) it adds their whole Unicode
    case orbit: ``ſ`` (U+017F) for ``s``, the Kelvin sign for ``k``. ``re`` matches neither, so the
    pair is written as an alternation of two plain literals, which RE2 merges exactly."""
    points = [a for a, b in ranges if a == b]
    if not negate and len(ranges) == 2 and len(points) == 2 and 0x41 <= points[0] <= 0x5A and points[1] == points[0] + 0x20:
        return f"(?:{_cp(points[0])}|{_cp(points[1])})"
    body = "".join(_cp(a) if a == b else f"{_cp(a)}-{_cp(b)}" for a, b in ranges)
    return f"[{'^' if negate else ''}{body}]"


@functools.lru_cache(maxsize=None)
def _cased(ascii_only: bool) -> tuple[list[tuple[int, int]], tuple[int, ...]]:
    """The characters ``re.IGNORECASE`` can change: ``_sre``'s own ``iscased`` (ASCII letters in
    ASCII/bytes mode), as ranges and as a list."""
    import _sre  # type: ignore[import-not-found]

    if ascii_only:
        cps = tuple(cp for cp in range(128) if _sre.ascii_iscased(cp))
    else:
        cps = tuple(cp for cp in range(0x110000) if _sre.unicode_iscased(cp))
    return _normalise([(cp, cp) for cp in cps]), cps


def _minus(a: list[tuple[int, int]], b: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Code points in ``a`` and not in ``b``."""
    keep = _complement(_normalise(b), 0x10FFFF)
    out = []
    for lo, hi in _normalise(a):
        for klo, khi in keep:
            s, e = max(lo, klo), min(hi, khi)
            if s <= e:
                out.append((s, e))
    return out


def _split_surrogates(r: tuple[int, int]) -> list[tuple[int, int]]:
    lo, hi = r
    if hi < 0xD800 or lo > 0xDFFF:
        return [r]
    out = []
    if lo < 0xD800:
        out.append((lo, 0xD7FF))
    if hi > 0xDFFF:
        out.append((0xE000, hi))
    return out


def _nullable(items: Any) -> bool:
    """Whether the sequence ``items`` (``re``'s parse) can match the empty string. Conservative:
    a construct not listed (a back-reference, a conditional) counts as able to."""
    for op, av in items:
        if op in (_c.LITERAL, _c.NOT_LITERAL, _c.ANY, _c.IN, _c.CATEGORY):
            return False
        if op is _c.BRANCH and not any(_nullable(alt) for alt in av[1]):
            return False
        if op is _c.SUBPATTERN and not _nullable(av[3]):
            return False
        if op is _c.ATOMIC_GROUP and not _nullable(av):
            return False
        if op in (_c.MAX_REPEAT, _c.MIN_REPEAT, _c.POSSESSIVE_REPEAT) and av[0] > 0 and not _nullable(av[2]):
            return False
    return True


def _has_choice(items: Any) -> bool:
    """Whether ``items`` contains, at any depth, an alternation or a quantifier: a sequence
    without one matches in exactly one way, so whether it is nullable is all there is to it."""
    for op, av in items:
        if op in (_c.BRANCH, _c.GROUPREF_EXISTS, _c.MAX_REPEAT, _c.MIN_REPEAT, _c.POSSESSIVE_REPEAT):
            return True
        if op is _c.SUBPATTERN and _has_choice(av[3]):
            return True
        if op is _c.ATOMIC_GROUP and _has_choice(av):
            return True
        if op in (_c.ASSERT, _c.ASSERT_NOT) and _has_choice(av[1]):
            return True
    return False


def to_re2(pattern: Union[str, bytes], flags: int = 0, full: bool = False) -> Optional[str]:
    """The RE2 spelling of Python ``re`` pattern ``pattern`` with the same meaning, or None when
    some construct in it has no such spelling (raises ``re.error`` when ``re`` rejects it).
    ``full``: for ``fullmatch``, where a final ``$`` can only match at the very end."""
    tree = _p.parse(pattern, flags)
    try:
        return _Translator(isinstance(pattern, bytes), "\\z" if full else "(?:\\n?\\z)").seq(tree.data, tree.state.flags, True)
    except _NotRE2:
        return None


def _risky(items: Any, inside_repeat: bool = False) -> bool:
    """A quantified sub-pattern that itself repeats or alternates: the shape of exponential
    backtracking (``(a+)+``, ``(a|a)*``, ``(.*a){30}``)."""
    for op, av in items:
        if op in (_c.MAX_REPEAT, _c.MIN_REPEAT, _c.POSSESSIVE_REPEAT):
            if inside_repeat and av[1] != 1:
                return True
            if _risky(av[2], inside_repeat or av[1] != 1):
                return True
        elif op is _c.BRANCH:
            if inside_repeat:
                return True
            if any(_risky(alt, inside_repeat) for alt in av[1]):
                return True
        elif op in (_c.SUBPATTERN,):
            if _risky(av[3], inside_repeat):
                return True
        elif op in (_c.ASSERT, _c.ASSERT_NOT):
            if _risky(av[1], inside_repeat):
                return True
        elif op is _c.ATOMIC_GROUP:
            if _risky(av, inside_repeat):
                return True
        elif op is _c.GROUPREF_EXISTS:
            if _risky(av[1], inside_repeat) or (av[2] is not None and _risky(av[2], inside_repeat)):
                return True
    return False


# ---- the timer ---------------------------------------------------------------------------------
_state = threading.local()


def _on_alarm(signum: int, frame: Any) -> None:
    if getattr(_state, "armed", False):
        _state.armed = False
        raise RegexBudgetExceeded("regular expression exceeded its time budget")


class _Budget:
    """Arm ITIMER_REAL for ``seconds`` around a backtracking call (main thread only), restoring
    any handler and timer that were there before."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds

    def __enter__(self) -> "_Budget":
        self.old_handler = signal.signal(signal.SIGALRM, _on_alarm)
        self.old_timer = signal.setitimer(signal.ITIMER_REAL, 0)
        self.start = time.monotonic()
        seconds = self.seconds
        if self.old_timer[0] > 0:
            seconds = min(seconds, self.old_timer[0])
        _state.armed = True
        signal.setitimer(signal.ITIMER_REAL, seconds)
        return self

    def __exit__(self, *exc: Any) -> None:
        _state.armed = False
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, self.old_handler)
        if self.old_timer[0] > 0:
            left = self.old_timer[0] - (time.monotonic() - self.start)
            signal.setitimer(signal.ITIMER_REAL, max(left, 1e-6), self.old_timer[1])


def _re2_compile(pattern: Union[str, bytes], re2_pattern: str) -> Any:
    opts = _re2.Options()
    opts.log_errors = False
    opts.max_mem = RE2_MAX_MEM
    if isinstance(pattern, bytes):
        opts.encoding = _re2.Options.Encoding.LATIN1
    try:
        return _re2.compile(re2_pattern.encode("latin-1") if isinstance(pattern, bytes) else re2_pattern, opts)
    except Exception:  # noqa: BLE001 - RE2 refused (too large): the budgeted tier runs it
        return None


class SafeRegex:
    """A compiled pattern with ``re``'s meaning: ``search``/``match``/``fullmatch`` return a
    match object (``group``, ``span``, ``groups``) or None. ``engine`` says which tier runs it."""

    __slots__ = ("pattern", "flags", "groups", "groupindex", "engine", "re2_pattern", "_rx", "_rx_full", "_py", "budget", "_risky")

    def __init__(self, pattern: Union[str, bytes], flags: int = 0, budget: Optional[float] = None) -> None:
        self.pattern = pattern
        self.flags = flags
        self.budget = DEFAULT_BUDGET if budget is None else budget
        self._py = re.compile(pattern, flags)  # the definition; raises re.error like re does
        self.groups = self._py.groups
        self.groupindex = self._py.groupindex
        self._rx = self._rx_full = None
        self.re2_pattern = to_re2(pattern, flags) if _re2 is not None else None
        if self.re2_pattern is not None:
            self._rx = _re2_compile(pattern, self.re2_pattern)
            full = to_re2(pattern, flags, full=True)
            self._rx_full = self._rx if full == self.re2_pattern else _re2_compile(pattern, full)  # type: ignore[arg-type]
            if self._rx_full is None:
                self._rx = None
        self.engine = "re2" if self._rx is not None else "re"
        self._risky = _risky(_p.parse(pattern, flags).data) if self._rx is None else False

    def _run(self, method: str, text: Any) -> Any:
        if self._rx is not None:
            try:
                return getattr(self._rx_full if method == "fullmatch" else self._rx, method)(text)
            except UnicodeEncodeError:  # a lone surrogate: only re can look at it
                pass
        return self._bounded(getattr(self._py, method), text)

    def _bounded(self, fn: Any, text: Any) -> Any:
        if threading.current_thread() is threading.main_thread():
            with _Budget(self.budget):
                return fn(text)
        if self._risky:
            raise RegexBudgetExceeded(
                f"regular expression {self.pattern!r} can backtrack exponentially and cannot be time-bounded off the main thread")
        return fn(text)

    def search(self, text: Any) -> Any:
        return self._run("search", text)

    def search_groups(self, text: Any) -> Any:
        """``re``'s own match object, sub-group captures included (``rex``): RE2 first decides
        whether there is a match at all, then ``re`` (under the budget) reports its groups."""
        if self._rx is not None:
            try:
                if self._rx.search(text) is None:
                    return None
            except UnicodeEncodeError:
                pass
        return self._bounded(self._py.search, text)

    def match(self, text: Any) -> Any:
        return self._run("match", text)

    def fullmatch(self, text: Any) -> Any:
        return self._run("fullmatch", text)

    def sub(self, repl: Any, text: Any, count: int = 0) -> Any:
        """``re``'s ``sub`` (SPL's ``replace``): RE2 first decides whether anything matches at
        all; a replacement runs ``re`` under the time budget, as :meth:`search_groups` does."""
        if self._rx is not None:
            try:
                if self._rx.search(text) is None:
                    return text
            except UnicodeEncodeError:
                pass
        return self._bounded(lambda t: self._py.sub(repl, t, count), text)


@functools.lru_cache(maxsize=4096)
def compile(pattern: Union[str, bytes], flags: int = 0, budget: Optional[float] = None) -> SafeRegex:  # noqa: A001
    """``re.compile`` with bounded cost (see the module docstring); raises ``re.error`` for what
    ``re`` rejects."""
    return SafeRegex(pattern, flags, budget)
