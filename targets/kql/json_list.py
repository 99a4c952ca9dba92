"""An ECS list field read from one key of each object of a JSON list column.

Elastic's AWS integration keeps a CloudTrail record's ``resources`` list of objects as
``aws.cloudtrail.resources`` (elastic/integrations packages/aws/data_stream/cloudtrail/
elasticsearch/ingest_pipeline/default.yml: the script "Drops duplicates where the same combination
of ARN, accountId and type is found multiple times in the resources list" renames each object's
``ARN`` to ``arn`` and the list is renamed to ``aws.cloudtrail.resources``), so
``aws.cloudtrail.resources.arn`` is the list of the objects' ARNs, and Elasticsearch matches a
query on it when any of them matches. Sentinel's AWSCloudTrail holds the same list as JSON text in
``Resources`` (string; Microsoft's AWSCloudTrail table reference), Defender's CloudAuditEvents in
``RawEventData.resources``.

Kusto has no "any element matches" short of ``mv-apply``, but on the list's compact JSON
(``tostring(parse_json(Resources))``: ``[{"ARN":"arn:aws:s3:::b/k","type":"AWS::S3::Object"}]``)
each value of the key stands between ``"ARN":"`` and the next ``"``, when no value holds ``"`` or
``\\`` (what JSON escapes). A Lucene regex on one value is then a search for ``"ARN":"(R')"`` in
that text, ``R'`` being the regex with every character it may match other than ``"`` (``.``,
negated classes): such a search finds exactly the values ``R`` matches whole. Stated: every value is
printable ASCII without ``"`` or ``\\`` (what JSON escapes; a serialiser may also escape non-ASCII
characters), at most 1024 characters (the keyword's ``ignore_above``:
Elasticsearch indexes no longer value); :class:`PlainValues` checks it per event.

Only Elastic's AWS integration sets ``resources.arn``: Filebeat's aws module renames
``json.resources.ARN`` (elastic/beats x-pack/filebeat/module/aws/cloudtrail/ingest/pipeline.yml),
a path that does not reach into a list, so its documents carry no ``resources.arn``. The field's
own note in the profiles states that the rows are read as the integration writes them.

Elastic's Entra ID audit log pipeline keeps the record's ``additionalDetails`` list of
``{key, value}`` pairs the same way (``azure.auditlogs.properties.additional_details.value``),
AuditLogs holds it as ``AdditionalDetails`` (dynamic), read alike.
"""

from __future__ import annotations

import dataclasses
from typing import Optional

from eqlc import ir
from eqlc.events import split_path, values
from eqlc.lucene_regex import (AnyChar, AnyString, Char, Class, Range, Renderer, RegexError, Shorthand,
                               Untranslatable, parse_regex, re2_fold_safe)
from eqlc.result import Refused

from . import syntax
from .profile import FieldMap

MAX_LENGTH = 1024
DELIMITER = '"'


class _InValue(Renderer):
    """Renders a Lucene regex so that it never matches the delimiter ``"``: a match then stays
    inside one JSON string value."""

    def render(self, node):  # type: ignore[override]
        if isinstance(node, AnyChar):
            return '[^"]'
        if isinstance(node, AnyString):
            return '[^"]*'
        if isinstance(node, Char) and node.ch == DELIMITER:
            raise Untranslatable('the regex matches \'"\', which no value holds and which ends a value in the JSON text')
        if isinstance(node, Shorthand) and node.letter.isupper():
            return f'[^"{_short(node.letter)}]'
        if isinstance(node, Class):
            if node.negated:
                return '[^"' + super().render(node)[2:]
            for item in node.items:
                if (isinstance(item, Char) and item.ch == DELIMITER) or (
                        isinstance(item, Range) and item.lo <= DELIMITER <= item.hi) or (
                        isinstance(item, Shorthand) and item.letter.isupper()):
                    raise Untranslatable("a character class of the regex may match '\"', which ends a value in the JSON text")
        return super().render(node)


def _short(letter: str) -> str:
    from eqlc.lucene_regex import _SHORT_CLASS
    return _SHORT_CLASS[letter.lower()]


def value_regex(patterns: tuple[str, ...], key: str, ci: bool) -> str:
    """The RE2 search pattern for "some value of ``key`` matches one of ``patterns`` whole"."""
    r = _InValue("re2", ci)
    try:
        body = "|".join(f"(?:{r.render(parse_regex(p))})" for p in patterns)
    except (Untranslatable, RegexError) as err:
        raise Refused(f"regex {patterns!r} on a list read from JSON text: {err}") from None
    return f'"{key}":"(?:{re2_fold_safe(body)})"'


def _text_body(parts: tuple, ci: bool) -> str:
    """An in-value RE2 body for a literal (one str part) or a wildcard pattern's parts."""
    out = []
    for part in parts:
        if part is ir.Wildcard.STAR:
            out.append('[^"]*')
        elif part is ir.Wildcard.QUESTION:
            out.append('[^"]')
        else:
            if DELIMITER in part:
                raise Refused(f"{part!r} holds '\"', which no value holds and which ends a value in the JSON text")
            if ci and syntax.has_non_ascii_letter(part):
                raise Refused(f"case-insensitive {part!r} with non-ASCII letters on a list read from JSON text")
            out.append(syntax.literal_regex(part, ci))
    return "".join(out)


def leaf(e: ir.Expr, fm: FieldMap) -> str:
    """A test of a ``key_list`` field: some value of the key passes it. Regexes, literal equality
    and wildcard patterns translate; ordering and functions do not."""
    key = fm.key_list or ""
    if isinstance(e, ir.RegexMatch):
        pattern = value_regex(tuple(e.patterns), key, e.case_insensitive)
    else:
        bodies: list[str] = []
        ci = False
        if isinstance(e, ir.Compare) and e.op is ir.CompareOp.EQ and isinstance(e.right, ir.String) and isinstance(e.left, ir.Field):
            bodies.append(_text_body((e.right.value,), False))
        elif isinstance(e, ir.InSet) and all(isinstance(v, ir.String) for v in e.values):
            ci = e.case_insensitive
            bodies.extend(_text_body((v.value,), ci) for v in e.values)  # type: ignore[union-attr]
        elif isinstance(e, ir.WildcardMatch):
            ci = e.case_insensitive
            bodies.extend(_text_body(tuple(p.parts), ci) for p in e.patterns)
        else:
            raise Refused(f"{fm.field} is the list of the {key} values of {fm.text}'s objects: only regex, equality "
                          f"and wildcard tests of it are translated")
        body = re2_fold_safe("|".join(f"(?:{b})" for b in bodies)) if ci else "|".join(f"(?:{b})" for b in bodies)
        pattern = f'"{key}":"(?:{body})"'
    return f"{fm.text} matches regex {syntax.quote_regex(pattern)}"


def note(fm: FieldMap) -> str:
    return (f"{fm.field} is the list of the {fm.key_list} values of the objects of {fm.json_path or fm.column} (a JSON list), "
            f"each value printable ASCII without '\"' or '\\' in at most {MAX_LENGTH} characters: the query searches the "
            f"list's compact JSON for a value the test matches whole")


@dataclasses.dataclass(frozen=True)
class PlainValues:
    """The fixture adapter's check of the stated assumption on a ``key_list`` field's values."""

    field: str

    def violation(self, event: dict) -> Optional[str]:
        for v in values(event, split_path(self.field)):
            why = breaks(v)
            if why:
                return f"{self.field} {v!r} {why}"
        return None


def breaks(v: object) -> Optional[str]:
    if not isinstance(v, str):
        return "is not text"
    if len(v) > MAX_LENGTH:
        return f"has {len(v)} characters, over {MAX_LENGTH} (Elasticsearch does not index a longer keyword)"
    # printable ASCII only: JSON escapes '"', '\\' and controls, and a serialiser may escape
    # non-ASCII characters too (\uXXXX), which the regex would then not see as written
    bad = next((c for c in v if c in '"\\' or not " " <= c <= "~"), None)
    if bad is not None:
        return f"holds {bad!r}, which the JSON text escapes or may escape"
    return None


def to_json(fm: FieldMap, vals: list) -> list:
    """The JSON list the column holds for the ECS values: one object per value."""
    return [{fm.key_list: v} for v in vals]


def distinct_keys_note(fm: FieldMap) -> str:
    """The assumption a join key on a ``list_key`` field states (query.list_key_rows)."""
    col, key = fm.list_key
    return (f"{fm.field} is the list of the {key} values of the objects of {col} (a dynamic list): as a join key each "
            f"object gives one row, so each value is taken to be text, not empty (the source drops empty values) and "
            f"held by one object of the list only")


@dataclasses.dataclass(frozen=True)
class DistinctKeys:
    """The fixture adapter's check of :func:`distinct_keys_note`: Elasticsearch joins a multi-valued
    key once per distinct value, the query once per object of the list."""

    field: str

    def violation(self, event: dict) -> Optional[str]:
        vals = [v for v in values(event, split_path(self.field)) if v is not None]
        for v in vals:
            if not isinstance(v, str):
                return f"{self.field} {v!r} is not text"
            if v == "":
                return f"{self.field} holds an empty value, which the source drops"
        if len(set(vals)) != len(vals):
            return f"{self.field} {vals!r} holds a value twice, one row per object in the query"
        return None
