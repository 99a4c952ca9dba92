"""Reading field values out of ECS events the way Elasticsearch indexes them.

Elasticsearch expands dotted keys into objects (``{"process.name": "a"}`` is ``process.name``),
flattens arrays (of values and of objects), and indexes nothing for ``null``, ``[]`` or
``[null]``. :func:`values` returns the indexed values of a field as a list: empty means the field
has no value (missing or null), one element a scalar, more an array. Every engine and fixture
adapter in eqlc reads events through this function so they all agree on what an event contains.
"""

from __future__ import annotations

from typing import Any, Union

Path = tuple[Union[str, int], ...]


def _walk(node: Any, path: Path, i: int, out: list) -> None:
    if i == len(path):
        if isinstance(node, list):
            for item in node:
                _walk(item, path, i, out)
        elif node is not None:
            out.append(node)
        return
    if isinstance(node, list):
        part = path[i]
        if isinstance(part, int):
            if -len(node) <= part < len(node):
                _walk(node[part], path, i + 1, out)
            return
        for item in node:
            _walk(item, path, i, out)
        return
    if not isinstance(node, dict):
        return
    part = path[i]
    if isinstance(part, int):
        return
    # Try the longest dotted key first ("process.name" as one key), then nested objects.
    for j in range(len(path), i, -1):
        segs = path[i:j]
        if any(isinstance(s, int) for s in segs):
            continue
        key = ".".join(segs)  # type: ignore[arg-type]
        if key in node:
            _walk(node[key], path, j, out)
            if j == i + 1 or out:
                return


def values(event: dict, path: Path) -> list:
    """The indexed values of ``path`` in ``event`` (``[]`` when missing or null).

    A path segment holding dots (an EQL backticked name such as
    ``kubernetes.audit.annotations.authorization_k8s_io/decision``) names the same field as its
    dot-separated parts: Elasticsearch maps every dotted name to object paths, so the nested
    object and the flat dotted key are one field."""
    if any(isinstance(s, str) and "." in s for s in path):
        path = tuple(p for s in path for p in (s.split(".") if isinstance(s, str) else (s,)))
    out: list = []
    _walk(event, path, 0, out)
    return out


def split_path(name: str) -> Path:
    """``"process.args[0]"`` -> ``("process", "args", 0)`` (no backtick handling: use IR fields)."""
    out: list[Union[str, int]] = []
    for seg in name.split("."):
        while "[" in seg and seg.endswith("]"):
            base, _, idx = seg.partition("[")
            if base:
                out.append(base)
            out.append(int(idx[:-1]))
            seg = ""
        if seg:
            out.append(seg)
    return tuple(out)


def first(event: dict, path: Path) -> Any:
    """The first indexed value, or None."""
    v = values(event, path)
    return v[0] if v else None


def replaced(event: dict, fields: dict) -> dict:
    """A copy of ``event`` in which each field path of ``fields`` holds only its value (None: the
    field removed), whether the event spells it with dotted or nested keys. Fixture adapters use it
    to build the event a derived or looked-up value says the target reads."""
    import json

    out = json.loads(json.dumps(event, default=repr))
    for path, value in fields.items():
        node: Any = out
        for i in range(len(path)):  # drop the field, dotted or nested
            if not isinstance(node, dict):
                break
            node.pop(".".join(path[i:]), None)
            node = node.get(path[i])
        if value is None:
            continue
        node = out
        for part in path[:-1]:
            if not isinstance(node.get(part), dict):
                node[part] = {}
            node = node[part]
        node[path[-1]] = value
    return out
