"""Which byte strings must appear in a raw NDJSON line for a query to possibly match it.

Why: decoding JSON is most of the time of ``eqlc match`` (about 84%: ``../shared/research/
perf-probe.md``), and most lines of a log cannot match a selective rule. If every event the rule
selects holds one of a few literal values, a line that contains none of them (as raw bytes) can be
skipped without decoding it. This module derives those literals, the *needles*, from the same
prepared condition the matcher's generated code is built from (``ESCodegen.prepare``: unmapped
optional fields resolved, Elasticsearch's rewrites applied), so that the needles follow the
matcher's meaning, not the EQL text.

``require(node)`` is a set of needles one of which occurs in the line whenever ``node`` is true, or
None (no such set is known: every line is a candidate):

* a native string test of a field (``==``/``in`` with string literals, ``:``/``in~`` (``CIEq``),
  ``like``/``like~``, ``startsWith``/``endsWith``/``stringContains`` with a literal) gives, per
  value or pattern, its longest literal run (split at ``*``/``?`` exactly as the generated code
  splits the pattern). When the test only accepts JSON *strings* (the dynamic family: the generated
  test checks ``x.__class__ is str``; a term with a non-numeric, non-boolean literal), a whole-value
  or prefix/suffix run takes its JSON quote, so ``"sh"`` does not hit ``bash``;
* ``and``: the best child's set (all of them hold); ``or``: the union (None if any child has none);
* ``not``, null checks, ranges, regexes, cidrMatch, scripts (Painless semantics fold case by Unicode
  rules and compare computed values) and numbers: None. A numeric-looking string literal is None
  too: a long/double value matches ``"10"`` when its JSON spelling is ``1e1`` or ``10.0``.

Needles are written as canonical JSON text (``\\"``, ``\\\\``, short control escapes, raw UTF-8,
raw ``/``). A JSON line may spell a character another way only through ``\\uXXXX`` or ``\\/``
escapes; the scanner (scan.py) decodes every line holding a real ``\\u`` escape, and every line
holding ``\\/`` when a needle has a ``/``, so a needle's canonical text is a substring of every
other line whose decoded value holds it. A case-insensitive needle is ASCII-lowered and searched in
the ASCII-lowered line: the matcher folds ASCII letters only (``runtime._fold``, as Lucene's
case_insensitive queries do), JSON escape letters are lower-case already, and UTF-8 bytes of other
characters are >= 0x80, so lowering commutes with the encoding.

Sequences and samples: the union over every term (missing ``![...]`` terms and ``until``
included): an event that satisfies no term's condition changes no result (only the order check
for unsorted input sees fewer events; see ``NdjsonReader``).

Where no derivation can be exact the prefilter is off with a reason (``Needles.reason``): the
endgame dialects (other folding rules), and an index mapping with ``null_value`` (a JSON ``null``
then matches a literal absent from the line) or ``normalizer`` (Elasticsearch normalizes values
the raw line does not hold).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Iterable, Optional

from .. import ir
from . import esmapping as em
from . import optimize as opt
from . import runtime as rt
from .codegen import ESCodegen, ModuleBuilder, Options, native_string_segments, parts_segments, term_forms

# Values of these fields are in most lines of a log (categories, OS names, agent types): a needle
# from them filters little, so it is a last resort (ESCodegen.LOW_CARDINALITY and ECS prefixes).
GENERIC_PREFIXES = ("event.", "host.os.", "data_stream.", "agent.", "ecs.", "os.", "cloud.", "observer.")
_NUMBER_CHARS = frozenset("0123456789.eE+-")
_SHORT_ESCAPES = {'"': '\\"', "\\": "\\\\", "\b": "\\b", "\f": "\\f", "\n": "\\n", "\r": "\\r", "\t": "\\t"}


@dataclass(frozen=True, order=True)
class Needle:
    """One literal: canonical JSON bytes (ASCII-lowered when ``ci``)."""

    text: bytes
    ci: bool = False
    generic: bool = False  # from a field whose values are in most lines
    static_cost: float = field(init=False, compare=False, repr=False, default=0.0)

    def __post_init__(self) -> None:
        # rough chance that a random log line holds this needle (lower is better): shorter
        # literals and generic fields' values are everywhere; quotes count half
        n = len(self.text) - 0.5 * self.text.count(b'"')
        base = min(1.0, 4.0 ** (2 - n))
        if self.generic:
            base += 1.0  # worse than any other needle, the longer generic value still preferred
        object.__setattr__(self, "static_cost", base * (1.2 if self.ci else 1.0))

    @property
    def slash(self) -> bool:
        """A ``/`` that a line may spell ``\\/``: such lines are decoded."""
        return b"/" in self.text

    def cost(self) -> float:
        return self.static_cost


def set_cost(needles: Iterable[Needle]) -> float:
    """The static cost of a needle set. ``math.fsum`` is correctly rounded, so the total does not
    depend on the order of the (frozen)set, which follows PYTHONHASHSEED: a plain ``sum`` of floats
    does, and the choice between sets of (almost) equal cost then changed from run to run."""
    return math.fsum(n.static_cost for n in needles)


@dataclass(frozen=True)
class Needles:
    """The prefilter of one query: ``needles`` (one of which is in every line the query can
    match) or None with the ``reason`` why every line must be decoded."""

    needles: Optional[frozenset]
    reason: str = ""
    # single-event queries: every needle set found (``needles`` is the first), best static cost
    # first; a caller that knows the data (DispatchSet's calibration) may pick another
    alternatives: tuple = ()

    @property
    def usable(self) -> bool:
        return self.needles is not None

    def describe(self) -> str:
        if self.needles is None:
            return f"off ({self.reason})"
        shown = sorted(n.text.decode("utf-8", "replace") + ("~" if n.ci else "") for n in self.needles)
        more = f" and {len(shown) - 5} more" if len(shown) > 5 else ""
        return f"{len(shown)} needle{'s' if len(shown) != 1 else ''}: " + ", ".join(shown[:5]) + more

    def quality(self, min_length: int = 4) -> bool:
        """Selective enough to dispatch a rule on (many-rules mode): no generic needle and no
        needle shorter than ``min_length`` bytes of value (quotes not counted)."""
        if self.needles is None:
            return False
        return all(not n.generic and len(n.text) - n.text.count(b'"') >= min_length for n in self.needles)


def mapping_blocks_prefilter(mapping: Optional[em.IndexMapping]) -> str:
    """Why an index mapping makes literal prefiltering inexact ('' when it does not)."""
    if mapping is None:
        return ""
    found: list = []

    def walk(node: Any, path: str) -> None:
        if isinstance(node, dict):
            for k, v in node.items():
                if k in ("null_value", "normalizer") and not isinstance(v, dict):
                    found.append(f"{path or 'mapping'} has {k}")
                walk(v, f"{path}.{k}" if path else str(k))
        elif isinstance(node, list):
            for v in node:
                walk(v, path)

    walk(mapping.properties, "")
    if not found:
        return ""
    return f"the index mapping's {found[0].replace('.properties', '')} (a raw line need not hold the value it indexes)"


def derive(query: ir.Query, options: Options) -> Needles:
    """The needles of ``query`` under ``options`` (see the module docstring)."""
    if options.dialect != "elasticsearch":
        return Needles(None, f"the {options.dialect} dialect")
    blocked = mapping_blocks_prefilter(options.mapping)
    if blocked:
        return Needles(None, blocked)
    d = _Deriver(options)
    from .build import category_condition, expand_runs

    body = query.body
    if isinstance(body, ir.EventQuery):
        conds = [category_condition(body, options.event_category_field)]
    else:
        terms = list(expand_runs(body.terms))
        if isinstance(body, ir.Sequence) and body.until is not None:
            terms.append(body.until)
        conds = [category_condition(t.query, options.event_category_field) for t in terms]
    out: set = set()
    alternatives: tuple = ()
    for cond in conds:
        try:
            prepared = d.cg.prepare(cond)
        except Exception:  # noqa: BLE001 - the matcher reports the query's errors itself
            return Needles(None, "the condition could not be prepared")
        if isinstance(prepared, (ir.Boolean, ir.Null)) and not (isinstance(prepared, ir.Boolean) and prepared.value):
            continue  # a term that never matches needs no line
        options_ = d.alternatives(prepared)
        if not options_:
            return Needles(None, "a condition has no literal every match must contain")
        out |= options_[0]
        if len(conds) == 1:
            alternatives = tuple(options_)
    return Needles(frozenset(out), alternatives=alternatives or (frozenset(out),))


def derive_condition(cond: Any, options: Options) -> Optional[frozenset]:
    """The needles of one prepared single-event condition (None: none known)."""
    if options.dialect != "elasticsearch" or mapping_blocks_prefilter(options.mapping):
        return None
    found = _Deriver(options).alternatives(cond)
    return found[0] if found else None


@dataclass
class _Deriver:
    options: Options
    cg: ESCodegen = field(init=False)

    def __post_init__(self) -> None:
        # a scratch code generator: field types and prepare() exactly as the matcher's
        self.cg = ESCodegen(self.options, ModuleBuilder())

    # -- structure -----------------------------------------------------------------------------
    def alternatives(self, node: Any) -> list:
        """Needle sets of which each alone is required by ``node`` (best static cost first, at
        most LIMIT); empty when none is known."""
        if isinstance(node, ir.And):
            found: list = []
            for t in opt.split_and(node):
                found.extend(self.alternatives(t))  # every conjunct's requirement holds
            return _best(found)
        if isinstance(node, ir.Or):
            combos: list = [frozenset()]
            for t in opt.split_or(node):
                child = self.alternatives(t)
                if not child:
                    return []
                combos = _best([a | b for a in combos for b in child[:3]])
            return combos
        if isinstance(node, ir.Boolean):
            return [frozenset()] if not node.value else []  # false: no line; true: every line
        if isinstance(node, ir.Null):
            return [frozenset()]  # null is false at the top of a filter
        return self.leaf(node)

    def require(self, node: Any) -> Optional[frozenset]:
        found = self.alternatives(node)
        return found[0] if found else None

    # -- leaves --------------------------------------------------------------------------------
    def _field(self, f: Any) -> Optional[Any]:
        """FieldInfo of a field whose raw JSON value is what the test reads, or None."""
        if not isinstance(f, ir.Field):
            return None
        try:
            fi = self.cg.field_info(f)
        except Exception:  # noqa: BLE001 - unknown to the mapping: the matcher reports it
            return None
        if fi.null or fi.constant is not None or fi.null_value is not None:
            return None
        if fi.family not in (em.DYNAMIC, em.KEYWORD):
            return None
        return fi

    def _generic(self, fi: Any) -> bool:
        name = ".".join(str(p) for p in fi.path)
        return (name in ESCodegen.LOW_CARDINALITY or name == self.options.event_category_field
                or name.startswith(GENERIC_PREFIXES))

    def leaf(self, node: Any) -> list:
        if isinstance(node, ir.Compare):
            if node.op is not ir.CompareOp.EQ or not isinstance(node.right, ir.String):
                return []
            fi = self._field(node.left)
            return [] if fi is None else self._exact(fi, [node.right.value], False)
        if isinstance(node, opt.CIEq):
            fi = self._field(node.expr)
            if fi is None or not isinstance(node.value, str):
                return []
            return self._exact(fi, [node.value], True)
        if isinstance(node, ir.InSet):
            if node.case_insensitive:
                return []  # substitute() turned in~ into CIEq alternatives already
            fi = self._field(node.expr)
            if fi is None:
                return []
            values = [v for v in node.values if not isinstance(v, ir.Null)]
            if not all(isinstance(v, ir.String) for v in values):
                return []
            return self._exact(fi, [v.value for v in values], False)
        if isinstance(node, ir.WildcardMatch):
            fi = self._field(node.expr)
            if fi is None or len(node.patterns) != 1:
                return []
            return self._wild(fi, parts_segments(node.patterns[0].parts), node.case_insensitive)
        if isinstance(node, ir.FunctionCall) and node.name in ("startsWith", "endsWith", "stringContains"):
            if len(node.args) != 2 or not isinstance(node.args[1], ir.String):
                return []
            fi = self._field(node.args[0])
            if fi is None:
                return []
            return self._wild(fi, native_string_segments(node.name, node.args[1].value), node.case_insensitive)
        return []

    def _exact(self, fi: Any, values: list, ci: bool) -> list:
        """Whole-value string tests: ``==``/``in`` (case-sensitive term) or CIEq."""
        out = set()
        generic = self._generic(fi)
        for v in values:
            if not isinstance(v, str):
                return []
            s, n, b = term_forms(v)
            if fi.family == em.DYNAMIC:
                if not ci and n is not None:
                    return []  # the term also matches a number, spelled any way in JSON
                # a dynamic CIEq reads strings only; a term without number/boolean forms too
                quoted = ci or b is None
            else:  # keyword: numbers and booleans are indexed as their text
                if n is not None or not _has_non_number_char(v):
                    return []
                quoted = (rt._fold(v) if ci else v) not in ("true", "false")
            text = rt._fold(v) if ci else v
            needle = _needle(text, ci, generic, quoted, quoted)
            if needle is None:
                return []
            out.add(needle)
        return [frozenset(out)]

    def _wild(self, fi: Any, segs: list, ci: bool) -> list:
        """A wildcard over the whole value: each literal run (quoted at a fixed end) alone."""
        runs = []  # (text, starts the value, ends the value)
        last = len(segs) - 1
        for i, seg in enumerate(segs):
            parts = [seg] if isinstance(seg, str) else _split_none(seg)
            for j, part in enumerate(parts):
                if not part:
                    continue
                at_start = i == 0 and j == 0
                at_end = i == last and j == len(parts) - 1
                runs.append((part, at_start, at_end))
        found = []
        for text, at_start, at_end in runs:
            if fi.family == em.KEYWORD and not _has_non_number_char(text):
                continue  # a number's text (JSON 1e1 indexes "10.0")
            quoted = fi.family == em.DYNAMIC  # the generated test reads JSON strings only
            n = _needle(rt._fold(text) if ci else text, ci, self._generic(fi), quoted and at_start, quoted and at_end)
            if n is not None:
                found.append(frozenset({n}))
        return _best(found)


def _split_none(seg: list) -> list:
    out, cur = [], []
    for c in seg:
        if c is None:
            out.append("".join(cur))
            cur = []
        else:
            cur.append(c)
    out.append("".join(cur))
    return out


def _has_non_number_char(text: str) -> bool:
    return any(c not in _NUMBER_CHARS for c in text)


def _encode(text: str) -> list:
    """Canonical JSON encodings of ``text``'s runs: a character JSON can only write as ``\\uXXXX``
    (other control characters, lone surrogates) splits the text (such lines are decoded anyway)."""
    runs: list = []
    cur: list = []
    for ch in text:
        esc = _SHORT_ESCAPES.get(ch)
        if esc is not None:
            cur.append(esc)
        elif ch < " " or "\ud800" <= ch <= "\udfff":
            runs.append("".join(cur))
            cur = []
        else:
            cur.append(ch)
    runs.append("".join(cur))
    return runs


def _needle(text: str, ci: bool, generic: bool, quote_start: bool, quote_end: bool) -> Optional[Needle]:
    runs = _encode(text)
    if len(runs) == 1:
        enc = ('"' if quote_start else "") + runs[0] + ('"' if quote_end else "")
    else:  # split by an unencodable character: keep the longest piece (quotes only at the ends)
        pieces = [("\"" if (i == 0 and quote_start) else "") + r + ("\"" if (i == len(runs) - 1 and quote_end) else "")
                  for i, r in enumerate(runs)]
        enc = max(pieces, key=len)
    if not enc.strip('"'):
        return None
    data = enc.encode("utf-8")
    return Needle(data.lower() if ci else data, ci, generic)


LIMIT = 8  # alternative needle sets kept per node


def _best(sets: list) -> list:
    """Distinct sets, best static cost first (then fewer needles), at most LIMIT."""
    unique = list(dict.fromkeys(sets))
    if len(unique) > 1:
        unique.sort(key=lambda s: (set_cost(s), len(s), sorted((n.text, n.ci, n.generic) for n in s)))
    return unique[:LIMIT]
