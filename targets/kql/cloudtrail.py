"""CloudTrail's request parameters: Elastic's Java rendering of a JSON object, read from the JSON.

Elastic's CloudTrail pipelines set ``aws.cloudtrail.request_parameters`` to
``ctx.json.requestParameters.toString()`` (elastic/integrations packages/aws/data_stream/
cloudtrail/elasticsearch/ingest_pipeline/default.yml, the script after the error renames; Filebeat's
x-pack/filebeat/module/aws/cloudtrail/ingest/pipeline.yml does the same on
``aws.cloudtrail.flattened.request_parameters``): the record's ``requestParameters`` object as the
ingest ``json`` processor parsed it, printed by Java's ``AbstractMap.toString``
(``{k=v, k2=[a, b], k3={x=y}}``: keys and strings unquoted, ``=`` after a key, ``", "`` between
entries and list elements) in the map's iteration order, which is a HashMap's (not the record's).
The integration drops null and empty values, objects and lists first ("Drops null/empty values
recursively"), Filebeat does not.

Sentinel's AWSCloudTrail table holds the same object as JSON text in ``RequestParameters`` (string;
Microsoft's AWSCloudTrail table reference). The profile (sentinel.yaml) reads the field as that
JSON re-serialised by Kusto (``tostring(parse_json(RequestParameters))``: compact, ``"k":v``
with ``,`` between entries) with the quotes taken out, ``":`` turned into ``=`` and ``,`` into
``", "``. That is the Java rendering of the same object, entry for entry, when

* every key and string value is printable ASCII other than ``"``, ``\\``, ``,``, ``=``, ``{``,
  ``}``, ``[`` and ``]`` (no escapes in the JSON; ``,`` and ``":`` only where they are structure),
  and none is empty; no value is null, an empty object or an empty list (the two pipelines then
  agree); numbers are integers (Java and Kusto print them alike); and
* the rendering is at most 1024 characters (Filebeat's default ``ignore_above`` for a keyword; the
  integration's is 8191): Elasticsearch indexes no longer value, so no rule matches it.

Only the order of each object's entries is unknown (Java's HashMap order against Kusto's). A
containment test ``stringContains(request_parameters, L)`` does not depend on it when ``L`` has no
``{``, ``}`` or ``,`` and does not start with a space: every occurrence of such an ``L`` lies
within one run of the rendering between structural ``{``, ``}`` or ``,`` characters, and reordering
an object's entries moves whole runs (a run's leading space, after ``", "``, is the only part that
changes with the position). Every other test of the field (equality, prefix, suffix, patterns,
regex, another field's value) is refused (:func:`check_rendered_literals`).

:class:`Rendered` is the fixture adapter's check of the first assumption on an ECS event:
the value must parse as such a rendering; :func:`to_json` turns it back into the JSON object
the table holds, in the rendering's order.
"""

from __future__ import annotations

import dataclasses
import json
from typing import Any, Optional, Union

from eqlc import ir
from eqlc.events import split_path, values
from eqlc.native_wildcard import NativePattern
from eqlc.result import Refused

from .profile import FieldMap, Table

# characters a key or string value may hold: printable ASCII but the rendering's structure and
# what JSON escapes
STRUCTURE = set('",={}[]\\')
MAX_LENGTH = 1024

Parsed = Union[dict, list, str]


class NotRendered(ValueError):
    """The text is not Java's rendering of a JSON object within the stated assumption."""


def _atom(text: str, i: int, stop: str) -> tuple[str, int]:
    j = i
    while j < len(text) and text[j] not in stop:
        ch = text[j]
        if ch in STRUCTURE or not (" " <= ch <= "~"):
            raise NotRendered(f"{ch!r} at {j} is neither structure nor a character a key or value may hold")
        j += 1
    if j == i:
        raise NotRendered(f"an empty key or value at {i}")
    return text[i:j], j


def _value(text: str, i: int) -> tuple[Parsed, int]:
    if i >= len(text):
        raise NotRendered("the text ends where a value should start")
    if text[i] == "{":
        out: dict = {}
        i += 1
        while True:
            key, i = _atom(text, i, "=")
            if i >= len(text) or text[i] != "=":
                raise NotRendered(f"no '=' after the key {key!r}")
            if key in out:
                raise NotRendered(f"the key {key!r} twice in one object")
            out[key], i = _value(text, i + 1)
            if text.startswith(", ", i):
                i += 2
                continue
            if i < len(text) and text[i] == "}":
                return out, i + 1
            raise NotRendered(f"neither ', ' nor '}}' at {i}")
    if text[i] == "[":
        items: list = []
        i += 1
        while True:
            item, i = _value(text, i)
            items.append(item)
            if text.startswith(", ", i):
                i += 2
                continue
            if i < len(text) and text[i] == "]":
                return items, i + 1
            raise NotRendered(f"neither ', ' nor ']' at {i}")
    return _atom(text, i, ",}]")


def parse(text: str) -> dict:
    """The JSON object ``text`` renders (strings for scalars: a rendering does not say which were
    numbers or booleans, and the re-serialised JSON reads the same either way)."""
    if len(text) > MAX_LENGTH:
        raise NotRendered(f"{len(text)} characters, over {MAX_LENGTH} (Elasticsearch does not index a longer keyword)")
    if not text.startswith("{"):
        raise NotRendered("it does not start with '{' (the parameters are an object)")
    obj, end = _value(text, 0)
    if end != len(text):
        raise NotRendered(f"text after the object at {end}")
    return obj  # type: ignore[return-value]


def to_json(text: str) -> str:
    """The RequestParameters JSON text of a rendering (compact, in the rendering's order)."""
    return json.dumps(parse(text), separators=(",", ":"))


def render(obj: Any) -> str:
    """Java's ``toString`` of a parsed JSON value (``AbstractMap``/``AbstractCollection``), in the
    object's own order: the tests compare it with what the query computes."""
    if isinstance(obj, dict):
        return "{" + ", ".join(f"{k}={render(v)}" for k, v in obj.items()) + "}"
    if isinstance(obj, list):
        return "[" + ", ".join(render(v) for v in obj) + "]"
    if isinstance(obj, bool):
        return "true" if obj else "false"
    if obj is None:
        return "null"
    return str(obj)


@dataclasses.dataclass(frozen=True)
class Rendered:
    """The fixture adapter's check of the rendering assumption on one ECS field."""

    field: str

    def violation(self, event: dict) -> Optional[str]:
        for v in values(event, split_path(self.field)):
            if not isinstance(v, str):
                return f"{self.field} {v!r} is not text"
            try:
                parse(v)
            except NotRendered as e:
                return f"{self.field} {v!r} is not Java's rendering of a JSON object as stated: {e}"
        return None


def note(fm: FieldMap) -> str:
    return (f"{fm.field} is Elastic's Java rendering of {fm.json_path or ', '.join(fm.columns) or fm.column}, an object whose keys and "
            f"string values are printable ASCII without \", \\, ',', '=', braces or brackets, none empty, with no null "
            f"value, empty object or list and no number but integers, rendered in at most {MAX_LENGTH} characters "
            f"(Elasticsearch indexes no longer keyword): the query rebuilds the rendering from Kusto's compact JSON "
            f"of the column, in Kusto's order of each object's entries")


def _literal_safe(lit: str) -> Optional[str]:
    bad = sorted(set(lit) & set("{},"))
    if bad:
        return f"it holds {', '.join(repr(c) for c in bad)}, whose place in the rendering depends on the order of an object's entries"
    if lit.startswith(" "):
        return "it starts with a space, which the rendering has after ', ' only for an entry that is not an object's first"
    return None


def _pattern_safe(pat: NativePattern) -> Optional[str]:
    """Why Elasticsearch's wildcard query for ``stringContains`` (:mod:`eqlc.native_wildcard`:
    ``"*" + literal + "*"``, the literal read as wildcard syntax) may depend on entry order, or None.

    ``*L*`` is a containment of ``L`` (:func:`_literal_safe`). ``*L*]*`` (``L`` then, anywhere
    after, ``]``; more ``]`` segments likewise) holds exactly when ``L`` occurs if ``L`` opens at
    least as many lists as it has ``]`` segments after it: under the assumption no key or value
    holds ``[`` or ``]``, so every ``[`` in ``L`` is structural and its list's ``]`` follows in
    any rendering. ``stringContains(request_parameters, "valuesToAdd=[*]")`` is such a test."""
    kind = pat.kind
    if kind is ir.PatternKind.CONTAINS:
        return _literal_safe(pat.literal)
    parts, star = pat.parts, ir.Wildcard.STAR
    if (len(parts) >= 5 and len(parts) % 2 == 1 and all(p is star for p in parts[0::2])
            and isinstance(parts[1], str) and all(p == "]" for p in parts[3::2])):
        lit, closes = parts[1], len(parts[3::2])
        opened = 0  # lists L opens and leaves open
        for ch in lit:
            opened += ch == "["
            opened -= ch == "]" and opened > 0
        if opened >= closes:
            return _literal_safe(lit)
    return (f"Elasticsearch matches it as the wildcard pattern {_render(parts)!r}, "
            f"which may span entries whose order the rendering does not fix")


def _render(parts: tuple) -> str:
    return "".join(p.value if isinstance(p, ir.Wildcard) else p for p in parts)


def check_rendered_literals(table: Table, cond: Any) -> None:
    """Refuse every test of a rendered field but a containment of an order-safe literal, or of
    another plain string field's value under the per-event order-safety assumption
    (:class:`OrderSafeValue`)."""
    from .raw_tables import _nodes

    rendered = {name for name, fm in table.fields.items() if fm.java_map}
    if not rendered:
        return
    for node in _nodes(cond):
        if isinstance(node, ir.FunctionCall) and node.name.lower() == "stringcontains":
            f, rest = node.args[0], node.args[1:]
            if isinstance(f, ir.Field) and f.name in rendered:
                if len(rest) == 1 and isinstance(rest[0], ir.Field) and (why := _field_value_refusal(table, rest[0])) is None:
                    continue  # a field's value as the substring: order-safe per event (OrderSafeValue, checked)
                if not (len(rest) == 1 and isinstance(rest[0], ir.String)):
                    raise Refused(f"stringContains({f.name}, ...) with a value that is no literal: {f.name} is a Java rendering whose "
                                  f"entries' order the {table.name} JSON does not give, so only literals are checked for it")
                why = _pattern_safe(NativePattern.of("stringContains", rest[0].value))
                if why:
                    raise Refused(f"stringContains({f.name}, {rest[0].value!r}): {why}, and {table.name} does not give Java's order")
            elif any(isinstance(a, ir.Field) and a.name in rendered for a in rest):
                raise Refused(f"{rendered} tested as a substring: not translated")
            continue
        for sub in (getattr(node, "expr", None), getattr(node, "left", None), getattr(node, "right", None)):
            if isinstance(sub, ir.Field) and sub.name in rendered and not isinstance(node, ir.FunctionCall):
                raise Refused(f"{sub.name} is Elastic's Java rendering of {table.name}'s JSON, whose entries' order the table "
                              f"does not give: only stringContains with a literal is translated for it")
        if isinstance(node, ir.FunctionCall) and any(isinstance(a, ir.Field) and a.name in rendered for a in node.args):
            raise Refused(f"{node.name} on {', '.join(sorted(rendered))}: only stringContains with a literal is translated for it")


def _field_value_refusal(table: Table, other: ir.Field) -> Optional[str]:
    """Why ``stringContains(rendered, other)`` is not translated, or None: ``other`` must be a plain
    string field of the table (one value per event, no value map, not itself a rendering), so the
    query compares the column's text as Elasticsearch's script compares the field's value."""
    fm = table.fields.get(other.name)
    if fm is None or other.has_index:
        return f"{other.name} has no column in {table.name}"
    if (not fm.is_string or fm.java_map or fm.is_array or fm.values is not None or fm.value_when is not None
            or fm.argv_of or fm.words_of or fm.java_long or fm.lookup is not None):
        return f"{other.name} is not read as one plain string of {table.name}"
    return None


@dataclasses.dataclass(frozen=True)
class OrderSafeValue:
    """The fixture adapter's check for ``stringContains(rendered, field)``: the field's value, the
    substring sought, must be order-safe as a literal must (:func:`_literal_safe`: no ``{``, ``}``
    or ``,``, no leading space), so that its containment in Java's rendering and in Kusto's
    re-serialisation agree whatever the order of the object's entries. A value that is not text is
    set apart too (the query compares the column's text)."""

    field: str
    rendered: str

    def violation(self, event: dict) -> Optional[str]:
        for v in values(event, split_path(self.field)):
            if not isinstance(v, str):
                return f"{self.field} {v!r} is not text"
            why = _literal_safe(v)
            if why:
                return f"{self.field} {v!r} is sought in {self.rendered} but {why}"
        return None


def value_note(field: str, rendered: str) -> str:
    return (f"{field}'s value, sought as a substring of {rendered}, holds no '{{', '}}' or ',' and does not start with a "
            f"space, so its containment does not depend on the order of the rendering's entries")
