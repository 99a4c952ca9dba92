"""Type checks for the rule metadata that detection-rules TOML and Kibana exports share.

A rule file is user input: ``description = 7``, ``threat = ["x"]`` or ``"query": null`` must be a
located error (file, line, column), never a traceback deep inside a target. The expected types
are those of Kibana's detection rule schema (``rule_id``/``name``/``description``/``severity``
strings, ``risk_score`` an integer 0-100, ``tags``/``index``/``references``/``author``/
``false_positives`` arrays of strings, ``threat`` an array of objects with a ``tactic`` object
and ``technique`` objects holding ``subtechnique`` objects, ``version`` an integer). A single
string where an array is expected is accepted as a one-element array, as eqlc always did.
Unknown keys are ignored (exports carry many more).
"""

from __future__ import annotations

from typing import Any, Callable

from ..errors import EqlError

STRING_FIELDS = ("name", "rule_id", "description", "severity", "license", "interval", "from", "language", "type",
                 "event_category_override", "timestamp_override", "tiebreaker_field", "note", "setup")
STRING_LIST_FIELDS = ("tags", "index", "references", "author", "false_positives")
INT_FIELDS = {"risk_score": (0, 100), "version": (0, 2**31 - 1)}

Locate = Callable[[str], tuple[int, int]]


def _type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, (list, tuple)):
        return "an array"
    if isinstance(value, dict):
        return "a table/object"
    return type(value).__name__


def check_rule_fields(data: dict, fail: Callable[[str, str], EqlError]) -> None:
    """Raise ``fail(key, message)`` for the first metadata value of the wrong type."""
    query = data.get("query")
    if not isinstance(query, str):
        raise fail("query", f"'query' must be a string, found {_type(query)}")
    for key in STRING_FIELDS:
        if key in data and data[key] is not None and not isinstance(data[key], str):
            raise fail(key, f"'{key}' must be a string, found {_type(data[key])}")
    for key in STRING_LIST_FIELDS:
        value = data.get(key)
        if value is None or isinstance(value, str):
            continue
        if not isinstance(value, (list, tuple)) or not all(isinstance(v, str) for v in value):
            raise fail(key, f"'{key}' must be an array of strings, found {_type(value)}"
                       + ("" if not isinstance(value, (list, tuple)) else " holding " + _type(next(v for v in value if not isinstance(v, str)))))
    for key, (lo, hi) in INT_FIELDS.items():
        value = data.get(key)
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
            raise fail(key, f"'{key}' must be an integer from {lo} to {hi}, found {value!r}"[:300])
    _check_threat(data.get("threat"), lambda m: fail("threat", m))


def _check_threat(threat: Any, fail: Callable[[str], EqlError]) -> None:
    if threat is None:
        return
    if not isinstance(threat, (list, tuple)):
        raise fail(f"'threat' must be an array of tables/objects, found {_type(threat)}")
    for i, entry in enumerate(threat, 1):
        if not isinstance(entry, dict):
            raise fail(f"threat entry {i} must be a table/object, found {_type(entry)}")
        tactic = entry.get("tactic")
        if tactic is not None and not isinstance(tactic, dict):
            raise fail(f"threat entry {i}: 'tactic' must be a table/object, found {_type(tactic)}")
        for key in ("id", "name"):
            if isinstance(tactic, dict) and tactic.get(key) is not None and not isinstance(tactic[key], str):
                raise fail(f"threat entry {i}: tactic '{key}' must be a string, found {_type(tactic[key])}")
        _check_techniques(entry.get("technique"), f"threat entry {i}", "technique", fail)


def _check_techniques(items: Any, where: str, key: str, fail: Callable[[str], EqlError]) -> None:
    if items is None:
        return
    if not isinstance(items, (list, tuple)):
        raise fail(f"{where}: '{key}' must be an array of tables/objects, found {_type(items)}")
    for j, t in enumerate(items, 1):
        if not isinstance(t, dict):
            raise fail(f"{where}: {key} {j} must be a table/object, found {_type(t)}")
        for k in ("id", "name"):
            if t.get(k) is not None and not isinstance(t[k], str):
                raise fail(f"{where}: {key} {j} '{k}' must be a string, found {_type(t[k])}")
        if key == "technique":
            _check_techniques(t.get("subtechnique"), f"{where}, technique {j}", "subtechnique", fail)
