"""Metadata text made safe for one line of a line-oriented format (comments, conf values).

Line-oriented formats end a line at more than ``\\n``: YAML 1.1 (PyYAML, pySigma) also breaks at
``\\r``, NEL (U+0085), LINE SEPARATOR (U+2028) and PARAGRAPH SEPARATOR (U+2029); Python's
``str.splitlines`` (and so anything built on it) also at VT, FF and the file/group/record
separators. A rule's name, id, file name or description holding any of them could start a new
YAML key or ``.conf`` stanza inside a comment. :func:`one_line` turns every such character, and
every other control character, into a space, so a value written after ``#`` or ``key =`` stays on
its line.
"""

from __future__ import annotations

import re

# C0 controls except TAB, DEL, C1 controls (NEL among them), and the Unicode line/paragraph separators
_BREAKING = re.compile(r"[\x00-\x08\x0a-\x1f\x7f-\x9f\u2028\u2029]+")


def one_line(text: object) -> str:
    """``text`` with every line break and control character replaced by one space."""
    return _BREAKING.sub(" ", str(text))
