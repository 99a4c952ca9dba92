"""ECS fixture events -> the Splunk results the emitted SPL would see, from the same YAML mapping.

ECS profile: each ECS field becomes the Splunk field the emitter uses for it
(:meth:`Profile.splunk_field`: the dotted name, ``{}`` for ECS array fields), holding the values
Elasticsearch indexes for it (:func:`eqlc.events.values`: arrays flattened, null/[] dropped),
as text the way Splunk extracts JSON (``true``, ``4242``). CIM profile: an event belongs to the
data model dataset of its ``event.category`` values, gets that dataset's tags, and carries the CIM
fields the cim mapping derives from its ECS fields. ``_time`` is ``@timestamp`` in epoch seconds.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any, Iterable, Optional

from eqlc.events import values
from eqlc.result import Refused
from eqlc.target import EVENT_ID_FIELD

from .profile import Profile


def _leaf_names(node: Any, prefix: str, out: set[str]) -> None:
    if isinstance(node, dict):
        for k, v in node.items():
            _leaf_names(v, f"{prefix}.{k}" if prefix else k, out)
    elif isinstance(node, list):
        for item in node:
            _leaf_names(item, prefix, out)
    elif prefix:
        out.add(prefix)


def text(v: Any) -> str:
    if isinstance(v, str):
        return v
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return json.dumps(v)
    return json.dumps(v, sort_keys=True)


def epoch(ts: Any) -> Optional[float]:
    if not isinstance(ts, str):
        return None
    return datetime.fromisoformat(ts.replace("Z", "+00:00")).timestamp()


def to_splunk(event: dict, profile: Profile, index: str, sourcetype: Optional[str]) -> dict:
    names: set[str] = set()
    _leaf_names({k: v for k, v in event.items() if k != EVENT_ID_FIELD}, "", names)
    out: dict[str, list] = {"_id": [str(event.get(EVENT_ID_FIELD))], "index": [index]}
    if sourcetype:
        out["sourcetype"] = [sourcetype]
    t = epoch(event.get("@timestamp"))
    if t is not None:
        out["_time"] = [t]
    categories = [text(v) for v in values(event, ("event", "category"))]
    if profile.is_cim:
        tags: list[str] = []
        fields: dict[str, str] = {}
        for cat in categories:
            ds = profile.datasets.get(cat)
            if ds is None:
                continue
            if any(not set(req) & {text(v) for v in values(event, tuple(f.split(".")))} for f, req in ds.requires.items()):
                continue
            tags.extend(t for t in ds.tags if t not in tags)
            fields.update({ecs: str(cim) for ecs, cim in ds.fields.items()})
        if tags:
            out["tag"] = tags
        for ecs, cim in fields.items():
            vals = [text(v) for v in values(event, tuple(ecs.split(".")))]
            if vals:
                out.setdefault(cim, []).extend(vals)
        return out
    for name in sorted(names):
        try:
            splunk_name = profile.splunk_field(name)
        except Refused:
            continue
        vals = [text(v) for v in values(event, tuple(name.split(".")))]
        if vals:
            out[splunk_name] = vals
    return out


def adapt(events: Iterable[dict], profile: Profile, index: str, sourcetype: Optional[str]) -> list[dict]:
    return [to_splunk(e, profile, index, sourcetype) for e in events]
