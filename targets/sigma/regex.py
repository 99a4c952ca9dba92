"""Lucene regular expressions (EQL ``regex``/``regex~``) in Sigma's regex subset.

Sigma's ``re`` modifier takes PCRE restricted to ``.``, ``^``, ``$``, quantifiers, ``[...]``
classes, ``()`` groups and ``|`` (sigma-appendix-modifiers.md, "Regular Expression"); other
metacharacters "are unsupported and can not be used". So this renderer, unlike
:func:`eqlc.lucene_regex.to_pattern`, writes no ``(?:``, no ``(?s:``, no ``\\d``/``\\w``/``\\s``
and no ``\\x{..}``:

* Lucene matches the whole value; Sigma's regex is a search, so the pattern is wrapped in
  ``^(...)$``. PCRE's ``$`` also matches before a final newline: stated as an assumption by the
  emitter.
* Lucene's ``.`` matches any character including a newline: rendered ``.`` with the ``s``
  sub-modifier (``|re|s``), which pySigma's sqlite/splunk/kusto backends turn into ``(?s)``.
* ``regex~`` folds ASCII letters of single characters only (Lucene ``ASCII_CASE_INSENSITIVE``,
  not ranges): rendered as explicit ``[aA]`` classes, never the ``i`` flag.
* Shorthand classes are spelled out (``\\d`` = ``[0-9]``, ``\\w`` = ``[a-zA-Z0-9_]``).
* ``#`` (empty language), ``&``, ``~`` and ``<n-m>`` have no rendering: :class:`Untranslatable`.
"""

from __future__ import annotations

from dataclasses import dataclass

from eqlc import lucene_regex as lr
from eqlc.lucene_regex import Untranslatable

from .values import CLASS_META, RE_META

_SHORTHAND = {"d": ["0-9"], "w": ["a-z", "A-Z", "0-9", "_"], "s": [" ", "\t", "\n", "\x0b", "\f", "\r"]}


@dataclass
class Rendered:
    pattern: str
    dotall: bool  # needs the `s` sub-modifier


class _Renderer:
    def __init__(self, ci: bool, segment: str = "") -> None:
        self.ci = ci
        self.dotall = False
        # characters the matched value cannot hold (a file name holds no path separator, an argument
        # no space): ``.`` and negated classes leave them out, so that a match stays inside one segment
        self.segment = segment

    def _never(self, what: str) -> Untranslatable:
        return Untranslatable(f"the regex matches {what}, which the value (one segment) cannot hold")

    def char(self, ch: str) -> str:
        if ch in self.segment:
            raise self._never(repr(ch))
        if self.ci and ch.isascii() and ch.isalpha():
            return f"[{ch.lower()}{ch.upper()}]"
        return "\\" + ch if ch in RE_META else ch

    def class_char(self, ch: str) -> str:
        return "\\" + ch if ch in CLASS_META else ch

    def render(self, node: lr.Node) -> str:  # type: ignore[name-defined]
        if isinstance(node, lr.Char):
            return self.char(node.ch)
        if isinstance(node, lr.AnyChar):
            if self.segment:
                return self._not_segment()
            self.dotall = True
            return "."
        if isinstance(node, lr.AnyString):
            if self.segment:
                return f"({self._not_segment()}*)"
            self.dotall = True
            return "(.*)"
        if isinstance(node, lr.Empty):
            raise Untranslatable("the empty-language regex '#' has no Sigma regex equivalent")
        if isinstance(node, lr.Shorthand):
            items = _SHORTHAND[node.letter.lower()]
            body = "".join(self.class_item(s) for s in items)
            if node.letter.isupper():
                return f"[^{body}{self._segment_chars()}]"
            if any(self._covers(s) for s in items):
                raise self._never(f"\\{node.letter}")
            return f"[{body}]"
        if isinstance(node, lr.Class):
            if not node.negated and self.segment:
                for item in node.items:
                    if isinstance(item, lr.Char) and item.ch in self.segment:
                        raise self._never(repr(item.ch))
                    if isinstance(item, lr.Range) and any(item.lo <= c <= item.hi for c in self.segment):
                        raise self._never(f"the range {item.lo}-{item.hi}")
                    if isinstance(item, lr.Shorthand) and any(self._covers(x) for x in _SHORTHAND[item.letter.lower()]):
                        raise self._never(f"\\{item.letter}")
            parts = []
            for item in node.items:
                if isinstance(item, lr.Char):
                    alts = [item.ch.lower(), item.ch.upper()] if (self.ci and item.ch.isascii() and item.ch.isalpha()) else [item.ch]
                    parts.extend(self.class_char(a) for a in alts)
                elif isinstance(item, lr.Range):
                    parts.append(f"{self.class_char(item.lo)}-{self.class_char(item.hi)}")
                else:
                    if item.letter.isupper():
                        raise Untranslatable(f"negated shorthand \\{item.letter} inside a character class")
                    parts.extend(self.class_item(s) for s in _SHORTHAND[item.letter])
            return "[" + ("^" if node.negated else "") + "".join(parts) + (self._segment_chars() if node.negated else "") + "]"
        if isinstance(node, lr.Concat):
            return "".join(f"({self.render(i)})" if isinstance(i, lr.Union_) else self.render(i) for i in node.items)
        if isinstance(node, lr.Union_):
            return "|".join(self.render(i) for i in node.items)
        if isinstance(node, lr.Repeat):
            inner = self.render(node.item)
            if not isinstance(node.item, (lr.Char, lr.AnyChar, lr.Class, lr.Shorthand)):
                inner = f"({inner})"
            lo, hi = node.lo, node.hi
            if (lo, hi) == (0, None):
                q = "*"
            elif (lo, hi) == (1, None):
                q = "+"
            elif (lo, hi) == (0, 1):
                q = "?"
            elif hi is None:
                q = f"{{{lo},}}"
            elif lo == hi:
                q = f"{{{lo}}}"
            else:
                q = f"{{{lo},{hi}}}"
            return inner + q
        if isinstance(node, lr.Intersection):
            raise Untranslatable("regex intersection '&' has no Sigma regex equivalent")
        if isinstance(node, lr.Complement):
            raise Untranslatable("regex complement '~' has no Sigma regex equivalent")
        if isinstance(node, lr.Interval):
            raise Untranslatable("numeric interval '<n-m>' has no Sigma regex equivalent")
        raise Untranslatable(f"unsupported regex node {type(node).__name__}")

    def _segment_chars(self) -> str:
        return "".join(self.class_char(c) for c in self.segment)

    def _not_segment(self) -> str:
        return f"[^{self._segment_chars()}]"

    def _covers(self, item: str) -> bool:
        """Does a shorthand's class item (a char or an ``a-z`` range) match a segment character?"""
        if len(item) == 3 and item[1] == "-":
            return any(item[0] <= c <= item[2] for c in self.segment)
        return item in self.segment

    def class_item(self, s: str) -> str:
        if len(s) == 3 and s[1] == "-":
            return s
        return self.class_char(s)


def render(patterns: tuple[str, ...] | list[str], case_insensitive: bool) -> Rendered:
    """``^(p1|p2...)$`` in Sigma's regex subset (raises RegexError/Untranslatable)."""
    r = _Renderer(case_insensitive)
    alts = [r.render(lr.parse_regex(p)) for p in patterns]
    return Rendered("^(" + "|".join(alts) + ")$", r.dotall)


def render_segment(patterns: tuple[str, ...] | list[str], case_insensitive: bool, separators: str, argv: bool) -> Rendered:
    """The regex of a field that is one segment of a Sigma field: a file name, the part of a path after
    its last separator (``(^|SEP)(p1|p2...)$``), or one argument of a command line split on single
    spaces (``(^| )(p1|p2...)( |$)``). ``.`` and negated classes leave the separators out, so a match
    is one whole segment, which is what Lucene's whole-value match of the ECS field is."""
    r = _Renderer(case_insensitive, separators)
    alts = [r.render(lr.parse_regex(p)) for p in patterns]
    sep = "[" + r._segment_chars() + "]" if len(separators) > 1 else r.class_char(separators) if separators != "\\" else "\\\\"
    if argv:
        return Rendered("(^| )(" + "|".join(alts) + ")( |$)", r.dotall)
    return Rendered("(^|" + sep + ")(" + "|".join(alts) + ")$", r.dotall)
