"""YAML mapping files (ECS -> a target's fields), overridable by the user.

A target ships its default mapping as YAML next to its code; ``--mapping FILE`` is deep-merged
over it, so a user overrides one field without copying the whole file. The emitter and the
fixture adapter of a target both read the merged mapping, so a mapping is written once.

Each target also states its file's shape as a :data:`Schema` (beside its loader): the levels whose
keys are fixed and the keys they have. A user's file is checked against it before it is merged, so
a typo (``indx:``) is a :class:`~eqlc.errors.MappingError` naming the file, line, column and the
valid keys, instead of a key that is silently never read.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping, Optional, Union

import yaml

from .errors import EqlError, MappingError

# A schema is a dict: key -> the schema of its value, or None for a value whose content is free
# (a scalar, a list, a mapping with any keys and values). ANY as a key stands for every key not
# listed (a table name, an ECS field name). Where a schema dict has no ANY, the keys are fixed.
# A value that is not a mapping is not checked against a dict schema (``ecs.field: Column`` and
# ``ecs.field: {column: C}`` are both valid field entries). Keys starting with ``x-`` are allowed
# at every level: YAML anchors live there (``x-note: &note ...``). ``<<`` merge keys are checked
# as the mapping they merge.
Schema = Mapping[str, Any]
ANY = "*"
EXTENSION_PREFIX = "x-"


def deep_merge(base: Any, override: Any) -> Any:
    if isinstance(base, dict) and isinstance(override, dict):
        out = dict(base)
        for k, v in override.items():
            out[k] = deep_merge(base.get(k), v) if k in base else v
        return out
    return override


def _read(p: Path, error: type[EqlError] = EqlError) -> str:
    """The text of mapping file ``p``; an unreadable file is ``error`` naming it (never a traceback)."""
    try:
        return p.read_text(encoding="utf-8")
    except OSError as err:
        raise error(f"cannot read mapping: {err.strerror}", path=str(p)) from None


def load_yaml(path: Union[str, Path]) -> Any:
    p = Path(path)
    text = _read(p)
    try:
        return yaml.safe_load(text) or {}
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        raise EqlError(
            f"invalid YAML: {getattr(err, 'problem', err)}",
            (mark.line + 1) if mark else 0,
            (mark.column + 1) if mark else 0,
            text,
            str(p),
        ) from None


def load_mapping(default: Union[str, Path], override: Optional[Union[str, Path]] = None,
                 schema: Optional[Schema] = None) -> dict:
    """The default mapping with the user's ``override`` file deep-merged over it; with ``schema``,
    the override's keys are checked first (:func:`check_keys`)."""
    data = load_yaml(default)
    if override:
        if schema is not None:
            check_keys(override, schema, data)
        data = deep_merge(data, load_yaml(override))
    return data


def check_keys(path: Union[str, Path], schema: Schema, default: Any = None) -> None:
    """Raise :class:`MappingError` at the first key of the YAML file ``path`` that ``schema`` does
    not allow. A key present at the same place in ``default`` (the target's own file) is allowed
    too, so the check never rejects what the target ships."""
    p = Path(path)
    text = _read(p, MappingError)
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError:
        load_yaml(p)  # raises the located syntax error
        raise
    if node is None:
        return
    if not isinstance(node, yaml.MappingNode):
        raise MappingError("a mapping file must be a YAML mapping (key: value) at the top level",
                           node.start_mark.line + 1, node.start_mark.column + 1, text, str(p))
    _check_node(node, schema, default, [], text, str(p), set())


def _check_node(node: yaml.MappingNode, schema: Schema, default: Any, where: list[str], text: str, path: str,
                seen: set) -> None:
    if id(node) in seen:  # an alias of a mapping already checked
        return
    seen.add(id(node))
    fixed = ANY not in schema
    for key_node, value_node in node.value:
        key = str(key_node.value)
        if key == "<<":
            merged = value_node.value if isinstance(value_node, yaml.SequenceNode) else [value_node]
            for m in merged:
                if isinstance(m, yaml.MappingNode):
                    _check_node(m, schema, default, where, text, path, seen)
            continue
        if key.startswith(EXTENSION_PREFIX):
            continue
        known = key in schema or (isinstance(default, dict) and key in default)
        if fixed and not known:
            valid = sorted(set(schema) | (set(map(str, default)) if isinstance(default, dict) and fixed else set()))
            place = "at the top level" if not where else "under " + " > ".join(where)
            raise MappingError(f"unknown key {key!r} {place}; expected one of {', '.join(valid)}",
                               key_node.start_mark.line + 1, key_node.start_mark.column + 1, text, path)
        sub = schema.get(key, schema.get(ANY))
        sub_default = default.get(key) if isinstance(default, dict) else None
        if isinstance(sub, Mapping) and isinstance(value_node, yaml.MappingNode):
            _check_node(value_node, sub, sub_default, where + [key], text, path, seen)
