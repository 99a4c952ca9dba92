"""ECS fixture events -> the Splunk events the emitted SPL would see, from the same YAML mapping.

ECS profile: each ECS field becomes the Splunk field the emitter uses for it
(:meth:`Profile.splunk_field`: the dotted name, ``{}`` for ECS array fields), holding the values
Elasticsearch indexes for it (:func:`eqlc.events.values`: arrays flattened, null/[] dropped),
as text the way Splunk extracts JSON (``true``, ``4242``). ``_time`` is ``@timestamp`` in epoch
seconds.

Data model and add-on profiles (cim, windows): an ECS event becomes one Splunk event per dataset
of its ``event.category`` (every dataset serving ``any`` takes every event), carrying what the
add-on would put there: the dataset's constraint tags (cim) or constant fields (windows:
``source``, ``EventCode``), and the dataset's fields from the event's ECS values, written as the
add-on writes them (un-prefixed: the evaluator's ``datamodel``/``tstats`` commands apply the data
model, its calculated fields included). Value-mapped fields hold the first Splunk value listed for
the event's ECS value; derived fields (arguments, last path segments) are not written: the search
computes them from the field they come from. A field written from a plain mapping wins over a
value map, which wins over a dataset constant (``EventCode`` from ``event.code``, else from
``event.type``'s map, else the dataset's first code).
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any, Iterable, Optional

from eqlc.events import split_path, values
from eqlc.result import Refused
from eqlc.target import EVENT_ID_FIELD

from .profile import ANY, Dataset, Profile


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


def _base(event: dict, index: str) -> dict:
    out: dict[str, list] = {"_id": [str(event.get(EVENT_ID_FIELD))], "index": [index]}
    t = epoch(event.get("@timestamp"))
    if t is not None:
        out["_time"] = [t]
    return out


def in_category(event: dict, ds: Dataset) -> bool:
    """Is the ECS event of a category the dataset serves?"""
    if ANY in ds.categories:
        return True
    return bool({text(v) for v in values(event, ("event", "category"))} & set(ds.categories))


def member(event: dict, ds: Dataset) -> bool:
    """Does the ECS event belong to the dataset (its category, and one of the required fields)?"""
    if not in_category(event, ds):
        return False
    if ds.requires:
        names: set[str] = set()
        _leaf_names({k: v for k, v in event.items() if k != EVENT_ID_FIELD}, "", names)
        if not any(n.startswith(p) for n in names for p in ds.requires):
            return False
    return True


def dataset_row(event: dict, profile: Profile, ds: Dataset) -> dict:
    row = _base(event, "main")
    if ds.tags:
        row["tag"] = list(ds.tags)
    plain: dict[str, list] = {}
    mapped: dict[str, list] = {}
    for ecs, fm in ds.fields.items():
        vals = values(event, split_path(ecs))
        if not vals or not fm.field:
            continue
        if fm.values is not None:
            out = [x for v in vals if text(v) in fm.values for x in fm.values[text(v)]]
            if out:
                mapped.setdefault(fm.field, []).append(out)
        elif fm.plain:
            plain.setdefault(fm.field, []).extend(text(v) for v in vals)
    if ds.prefixes:
        names: set[str] = set()
        _leaf_names({k: v for k, v in event.items() if k != EVENT_ID_FIELD}, "", names)
        for name in sorted(names):
            fm = ds.lookup(name)
            if fm is not None and name not in ds.fields and fm.field:
                vals = values(event, split_path(name))
                if vals:
                    plain.setdefault(fm.field, []).extend(text(v) for v in vals)
    for k, vs in ds.constants.items():
        row[k] = [vs[0]]
    for k, sets in mapped.items():
        # several value maps writing one field: the values all of them stand for (in the first map's
        # order); a single map: the first value listed for each ECS value
        common = [v for v in sets[0] if all(v in s for s in sets[1:])] if len(sets) > 1 else None
        if common:
            row[k] = common[:1]
        else:
            firsts = [fm_first for fm_first in _firsts(event, ds, k)]
            row[k] = list(dict.fromkeys(firsts)) or list(dict.fromkeys(sets[0]))
    for k, vs in plain.items():
        row[k] = list(dict.fromkeys(vs))  # one field written from two ECS fields (file.path, dll.path): their values
    return row


def _firsts(event: dict, ds: Dataset, field: str) -> list[str]:
    """The first Splunk value listed for each ECS value of the first value map writing ``field``."""
    for ecs, fm in ds.fields.items():
        if fm.values is not None and fm.field == field:
            vals = [text(v) for v in values(event, split_path(ecs))]
            out = [fm.values[v][0] for v in vals if v in fm.values]
            if out:
                return out
    return []


def to_splunk(event: dict, profile: Profile, index: str, sourcetype: Optional[str]) -> list[dict]:
    if not profile.is_ecs:
        return [dataset_row(event, profile, ds) for ds in profile.datasets.values() if member(event, ds)]
    names: set[str] = set()
    _leaf_names({k: v for k, v in event.items() if k != EVENT_ID_FIELD}, "", names)
    out = _base(event, index)
    if sourcetype:
        out["sourcetype"] = [sourcetype]
    for name in sorted(names):
        try:
            splunk_name = profile.splunk_field(name)
        except Refused:
            continue
        vals = [text(v) for v in values(event, tuple(name.split(".")))]
        if vals:
            out[splunk_name] = vals
    return [out]


def adapt(events: Iterable[dict], profile: Profile, index: str, sourcetype: Optional[str]) -> list[dict]:
    return [row for e in events for row in to_splunk(e, profile, index, sourcetype)]
