"""String positions in ``length()`` and ``substring()``: Java's UTF-16 units against Kusto's code points.

Elasticsearch runs EQL's ``length(s)`` as Java's ``String.length()`` and ``substring(s, a, b)`` as
``StringUtils.substringSlice`` over Java string indices (x-pack/plugin/eql ``LengthFunctionProcessor``,
``SubstringFunctionProcessor``): both count UTF-16 code units, so a character outside the Basic
Multilingual Plane (an emoji, U+1F600) counts 2. Kusto's ``strlen`` "counts Unicode code points"
(MicrosoftDocs kusto/query/strlen-function), 1 for the same character. On text without such
characters the two agree, so a translation reading ``length()`` or ``substring()`` states that and
the fixture adapter sets apart events whose fields read there hold one (:class:`BmpOnly`). Found by
the audit6 differential (tests/test_kql_audit_strings.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

from eqlc.events import split_path, values


def note(field: str) -> str:
    return (f"{field} is measured or cut by position (length(), substring()): Elasticsearch counts UTF-16 code units "
            f"(Java strings), Kusto's strlen code points; assumes {field} holds no character outside the Basic "
            f"Multilingual Plane (above U+FFFF), where the two counts agree")


@dataclass(frozen=True)
class BmpOnly:
    """The check of :func:`note` on one ECS event."""

    field: str

    def violation(self, event: dict) -> Optional[str]:
        for v in values(event, split_path(self.field)):
            if isinstance(v, str) and not v.isascii() and any(c > "\uffff" for c in v):
                return (f"{self.field} {v!r} holds a character above U+FFFF, which Java counts as two UTF-16 units "
                        f"and Kusto's strlen as one code point")
        return None
