"""Make fixture events satisfy a translation's data assumptions, to verify what remains.

Generated witness events set each field independently (``process.name`` without a matching
``process.executable``, arrays in single-valued fields), so they break the assumptions a Sigma
translation states and a disagreement on them proves little. :func:`conform` rewrites a copy of an
event so that the per-field assumptions hold -- file name/extension derived from the path, the
command line rebuilt from the arguments, one value per single-valued field -- and the verifier
then re-asks the reference matcher about the rewritten event. On conformed events the engine
must agree with the matcher except where an assumption still breaks (the log source's event
kinds, which cannot be rewritten without changing what the event is).
"""

from __future__ import annotations

import copy
from typing import Any

from eqlc.events import values

from .mapping import FieldSpec


def _nest(event: dict) -> dict:
    """A copy with dotted keys expanded into objects where that changes nothing else."""
    out: dict = {}
    for k, v in event.items():
        v = _nest(v) if isinstance(v, dict) else copy.deepcopy(v)
        if "." in k and not k.startswith("@"):
            parts = k.split(".")
            node = out
            ok = True
            for p in parts[:-1]:
                nxt = node.setdefault(p, {})
                if not isinstance(nxt, dict):
                    ok = False
                    break
                node = nxt
            if ok and parts[-1] not in node:
                node[parts[-1]] = v
                continue
        if k in out and isinstance(out[k], dict) and isinstance(v, dict):
            out[k].update(v)
        else:
            out[k] = v
    return out


def _put(event: dict, path: tuple[str, ...], value: Any) -> None:
    node = event
    for p in path[:-1]:
        nxt = node.get(p)
        if not isinstance(nxt, dict):
            nxt = node[p] = {}
        node = nxt
    node[path[-1]] = value


def _first(event: dict, path: tuple[str, ...]) -> Any:
    v = values(event, path)
    return v[0] if v else None


def conform(event: dict, specs: list[FieldSpec], sources: dict[str, str]) -> dict:
    """``specs``: the fields a translation read; ``sources``: Sigma column -> the plain ECS field
    holding it (for tails and argv)."""
    e = _nest(event)
    # one value per single-valued field
    for s in specs:
        path = tuple(s.ecs.split("."))
        if s.kind == "plain" or s.kind == "tail":
            vs = values(e, path)
            if len(vs) > 1:
                _put(e, path, vs[0])
    for s in specs:
        src = sources.get(s.sigma)
        if src:
            vs = values(e, tuple(src.split(".")))
            if len(vs) > 1:
                _put(e, tuple(src.split(".")), vs[0])
    # file names first rewrite their path, then every tail is re-read from its path
    for s in specs:
        src = sources.get(s.sigma)
        if s.kind != "tail" or not src or set(s.after) != set(s.excludes):
            continue
        name = _first(e, tuple(s.ecs.split(".")))
        if not isinstance(name, str) or not name or any(c in name for c in s.excludes):
            continue
        spath = tuple(src.split("."))
        path = _first(e, spath)
        sep = s.after[0]
        if isinstance(path, str) and any(c in path for c in s.after):
            cut = max(path.rfind(c) for c in s.after)
            _put(e, spath, path[: cut + 1] + name)
        else:
            _put(e, spath, ("C:\\eqlc" if sep == "\\" else "/eqlc") + sep + name)
    for s in specs:
        src = sources.get(s.sigma)
        if s.kind != "tail" or not src:
            continue
        path = _first(e, tuple(src.split(".")))
        tail = None
        if isinstance(path, str):
            cut = max(path.rfind(c) for c in s.after)
            if cut >= 0:
                tail = path[cut + 1:]
                if any(c in tail for c in s.excludes) or (tail == "" and set(s.after) != set(s.excludes)):
                    tail = None
        _put(e, tuple(s.ecs.split(".")), tail)
    # the command line is the arguments joined by spaces
    for s in specs:
        src = sources.get(s.sigma)
        if s.kind != "argv" or not src:
            continue
        apath, cpath = tuple(s.ecs.split(".")), tuple(src.split("."))
        args = [a for a in values(e, apath)]
        if not args:
            cmd = _first(e, cpath)
            args = cmd.split(" ") if isinstance(cmd, str) and cmd else []
        args = [(a.replace(" ", "_") or "_") if isinstance(a, str) else str(a) for a in args]
        _put(e, apath, args or None)
        _put(e, cpath, " ".join(args) if args else None)
    return e


def canonical_ips(event: dict, fields: set) -> dict:
    """IP fields hold canonical IP text (generated events may hold placeholders such as
    "eqlc-neutral", which an Elasticsearch ip field would reject)."""
    import ipaddress

    for f in fields:
        path = tuple(f.split("."))
        vs = values(event, path)
        if not vs:
            continue
        try:
            fixed = str(ipaddress.ip_address(vs[0]))
        except ValueError:
            fixed = "198.51.100.7"  # TEST-NET-2: matches no range a rule names
        _put(event, path, fixed)
    return event


def with_event_type(event: dict, category: str, event_type: str) -> dict:
    """Add the log source's event.type to an event of its category that has none of it (only
    used when the query does not test event.type, so the reference verdict is unchanged)."""
    cats = values(event, ("event", "category"))
    if category in cats and not values(event, ("event", "type")):
        _put(event, ("event", "type"), [event_type])
    return event
