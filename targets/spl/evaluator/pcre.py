"""PCRE patterns (as ``match()``, ``mvfind()`` and ``regex`` receive them) run with Python's ``re``.

Splunk: "Splunk regular expressions are PCRE (Perl Compatible Regular Expressions) and use the PCRE
C library" (Knowledge Manager Manual > About Splunk regular expressions), and ``match()`` "returns
TRUE if the regular expression <regex> finds a match against any substring of the string value"
(unanchored). Python's ``re`` agrees with PCRE on the constructs eqlc emits (classes, groups,
``(?s:...)``, quantifiers, ``\\A``, ``$`` = end or before a final newline) once a few spellings are
translated: ``\\z`` (absolute end) is Python's ``\\Z``, ``\\x{hhhh}`` is a code point, a named group
``(?<name>...)`` is ``(?P<name>...)``. Python
matches on code points, which is PCRE in UTF-8 mode; eqlc states that assumption wherever it
matters (single-character wildcards). Anything else PCRE-specific is rejected as unsupported.
"""

from __future__ import annotations

import functools
import re

from eqlc import safe_regex

from .errors import SplSyntaxError, Unsupported


def _translate(pattern: str) -> str:
    out: list[str] = []
    i = 0
    n = len(pattern)
    while i < n:
        c = pattern[i]
        if c != "\\":
            out.append(c)
            i += 1
            continue
        if i + 1 >= n:
            raise SplSyntaxError("regex ends with a lone backslash")
        d = pattern[i + 1]
        if d == "z":
            out.append(r"\Z")
            i += 2
        elif d == "Z":  # PCRE \Z: end or before a final newline
            out.append(r"(?=\n?\Z)")
            i += 2
        elif d == "x" and i + 2 < n and pattern[i + 2] == "{":
            end = pattern.find("}", i + 3)
            if end < 0:
                raise SplSyntaxError("unterminated \\x{...} in regex")
            code = int(pattern[i + 3 : end], 16)
            out.append(re.escape(chr(code)))
            i = end + 1
        elif d in "QEKRXCgkPpNhHvV" or d.isdigit() and d != "0":
            raise Unsupported(f"PCRE escape \\{d} is outside the subset the evaluator supports")
        else:
            out.append(pattern[i : i + 2])
            i += 2
    text = "".join(out)
    # PCRE's named group (?<name>...) is Python's (?P<name>...); (?<= and (?<! stay lookbehinds
    text = re.sub(r"\(\?<(?![=!])([A-Za-z_][A-Za-z0-9_]*)>", r"(?P<\1>", text)
    text = _scope_inline_flags(text)
    for construct in ("(*", "(?|", "(?>", "(?R", "(?P>", "*+", "++", "?+"):
        if construct in text:
            raise Unsupported(f"PCRE construct {construct!r} is outside the supported subset")
    return text


_INLINE_FLAGS = re.compile(r"\(\?([imsx]+)\)")


def _scope_inline_flags(text: str) -> str:
    """PCRE: an option setting such as ``(?s)`` inside a group affects the rest of that group, and
    "changes made in one alternative do carry on into subsequent branches within the same
    subpattern"; Python accepts such a setting only at the very start. So the rest of the group
    becomes a scoped group, reopened after each ``|``: ``a(?s)b`` -> ``a(?s:b)``, ``(a(?i)b|c)`` ->
    ``(a(?i:b)|(?i:c))``."""
    if not _INLINE_FLAGS.search(text, 1):
        return text
    out: list[str] = []
    scoped: list[list[str]] = [[]]  # per open group: flags of the scoped groups opened in it
    i, n, in_class = 0, len(text), False
    while i < n:
        c = text[i]
        if c == "\\":
            out.append(text[i:i + 2])
            i += 2
            continue
        if in_class:
            in_class = c != "]"
            out.append(c)
            i += 1
            continue
        if c == "[":
            in_class = True
            j = i + 1
            if text.startswith("^", j):
                j += 1
            if text.startswith("]", j):
                j += 1
            out.append(text[i:j])
            i = j
            continue
        m = _INLINE_FLAGS.match(text, i)
        if m and i > 0:
            out.append(f"(?{m.group(1)}:")
            scoped[-1].append(m.group(1))
            i = m.end()
            continue
        if c == "(":
            scoped.append([])
        elif c == ")":
            out.append(")" * len(scoped.pop()))
            if not scoped:
                raise SplSyntaxError("unbalanced parenthesis in regex")
        elif c == "|" and scoped[-1]:
            out.append(")" * len(scoped[-1]) + "|" + "".join(f"(?{f}:" for f in scoped[-1]))
            i += 1
            continue
        out.append(c)
        i += 1
    out.append(")" * len(scoped.pop()))
    return "".join(out)


@functools.lru_cache(maxsize=4096)
def compile_pcre(pattern: str) -> "safe_regex.SafeRegex":
    """The translated pattern, run by RE2 where its meaning is the same, else by ``re`` under a
    time budget (:mod:`eqlc.safe_regex`): a catastrophic pattern is an engine error, not a hang."""
    try:
        return safe_regex.compile(_translate(pattern))
    except re.error as err:
        raise SplSyntaxError(f"invalid regular expression {pattern!r}: {err}") from None


def search(pattern: str, text: str) -> bool:
    """PCRE unanchored search, as ``match()`` and ``mvfind()`` perform it."""
    return compile_pcre(pattern).search(text) is not None
