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
    def __init__(self, ci: bool) -> None:
        self.ci = ci
        self.dotall = False

    def char(self, ch: str) -> str:
        if self.ci and ch.isascii() and ch.isalpha():
            return f"[{ch.lower()}{ch.upper()}]"
        return "\\" + ch if ch in RE_META else ch

    def class_char(self, ch: str) -> str:
        return "\\" + ch if ch in CLASS_META else ch

    def render(self, node: lr.Node) -> str:  # type: ignore[name-defined]
        if isinstance(node, lr.Char):
            return self.char(node.ch)
        if isinstance(node, lr.AnyChar):
            self.dotall = True
            return "."
        if isinstance(node, lr.AnyString):
            self.dotall = True
            return "(.*)"
        if isinstance(node, lr.Empty):
            raise Untranslatable("the empty-language regex '#' has no Sigma regex equivalent")
        if isinstance(node, lr.Shorthand):
            body = "".join(self.class_item(s) for s in _SHORTHAND[node.letter.lower()])
            return f"[{'^' if node.letter.isupper() else ''}{body}]"
        if isinstance(node, lr.Class):
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
            return "[" + ("^" if node.negated else "") + "".join(parts) + "]"
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

    def class_item(self, s: str) -> str:
        if len(s) == 3 and s[1] == "-":
            return s
        return self.class_char(s)


def render(patterns: tuple[str, ...] | list[str], case_insensitive: bool) -> Rendered:
    """``^(p1|p2...)$`` in Sigma's regex subset (raises RegexError/Untranslatable)."""
    r = _Renderer(case_insensitive)
    alts = [r.render(lr.parse_regex(p)) for p in patterns]
    return Rendered("^(" + "|".join(alts) + ")$", r.dotall)
