"""YAML mapping files (ECS -> a target's fields), overridable by the user.

A target ships its default mapping as YAML next to its code; ``--mapping FILE`` is deep-merged
over it, so a user overrides one field without copying the whole file. The emitter and the
fixture adapter of a target both read the merged mapping, so a mapping is written once.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Optional, Union

import yaml

from .errors import EqlError


def deep_merge(base: Any, override: Any) -> Any:
    if isinstance(base, dict) and isinstance(override, dict):
        out = dict(base)
        for k, v in override.items():
            out[k] = deep_merge(base.get(k), v) if k in base else v
        return out
    return override


def load_yaml(path: Union[str, Path]) -> Any:
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as err:
        raise EqlError(f"cannot read mapping: {err.strerror}", path=str(p)) from None
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


def load_mapping(default: Union[str, Path], override: Optional[Union[str, Path]] = None) -> dict:
    """The default mapping with the user's ``override`` file deep-merged over it."""
    data = load_yaml(default)
    if override:
        data = deep_merge(data, load_yaml(override))
    return data
