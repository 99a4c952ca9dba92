"""ECS fixture events -> rows in Sigma's taxonomy, for running pySigma's SQLite output.

Built from the same ``mapping.yaml`` the emitter reads:

* an event is a row of log source ``L`` iff it is one of L's events (:func:`member`): its
  ``event.category`` holds L's category and (when L lists event types) its ``event.type`` holds one
  of them; for a source of data sets (cloud audit logs), its ``event.dataset``/``data_stream.dataset``
  is one of L's; for a source of event ids (Windows Security, Sysmon), its ``event.code`` is one of
  L's. ``eqlc_category``/``eqlc_product``/``eqlc_service`` columns carry the log source, and the
  execution pipeline adds the matching conditions to each rule, as a deployment's pipeline maps a
  log source to a table;
* each plain field copies its ECS value (read with :func:`eqlc.events.values`, so dotted keys
  and nulls are read as Elasticsearch reads them; Sysmon's registry Details spells a number of a
  number ``registry.data.type`` as Sysmon does, spelling.py); a column several ECS fields map to takes the
  first of them that has a value (the emitter states that they agree, with a check); value maps
  and numbers written as strings (event.code) are applied as the emitter applies them;
  ``tail``/``argv`` fields add no column: the emitted rule reads them from the path/command line
  column, which is what the assumptions say;
* fields under a mapped prefix (``winlog.event_data.X`` is the Windows event's ``X``) are copied
  under their own names;
* a missing or null value is SQL NULL; booleans are 1/0; ``@timestamp`` is the ``timestamp`` column
  pySigma's correlation SQL reads.

Sigma fields are scalar. An event holding several values in a mapped single-valued ECS field (ECS
defines every mapped field as single-valued) is expanded into one row per value combination, and
the engine reports the event if any of its rows matches; that is Elasticsearch's any-element
semantics for positive conditions but not under ``not`` -- :func:`multi_valued` lets the tests set
such events apart.
"""

from __future__ import annotations

import itertools
from typing import Any, Iterable, Optional, Union

from eqlc.events import split_path, values

from .mapping import FieldSpec, LogSource, Mapping
from .spelling import sysmon_spelling

MAX_ROWS_PER_EVENT = 64
# how the Security log separates the entries of a list it writes as one text (PrivilegeList)
WORD_SEPARATOR = "\r\n\t\t\t"


def product_of(event: dict, mapping: Mapping) -> Optional[str]:
    os_values = values(event, split_path(mapping.os_field))
    if len(os_values) != 1 or not isinstance(os_values[0], str):
        return None
    return mapping.products.get(os_values[0])


def mapped_values(spec: FieldSpec, event: dict) -> list:
    """The Sigma values ``spec``'s ECS field gives in ``event`` (value map and string numbers
    applied; an ECS value the map does not know gives nothing)."""
    out: list = []
    vmap = spec.value_map
    data_type = None
    if spec.spelling and spec.spelling_type:
        types = values(event, split_path(spec.spelling_type))
        data_type = types[0] if len(types) == 1 and isinstance(types[0], str) else None
    for v in values(event, split_path(spec.ecs)):
        if spec.spelling and isinstance(v, str):
            out.append(sysmon_spelling(v, data_type))  # a number of a number type in Sysmon's spelling
        elif vmap is not None:
            out.extend(spec.mapped(v))
        elif spec.from_string:
            if isinstance(v, str) and v.isascii() and v.isdigit():
                out.append(int(v))
            elif isinstance(v, int) and not isinstance(v, bool):
                out.append(v)
        else:
            c = _cell(v)
            if c is not None:
                out.append(c)
    return out


def event_codes(event: dict, ls: LogSource, mapping: Mapping) -> Optional[tuple[str, ...]]:
    """The event ids ``event`` has for ``ls``: its event.code (or the log source's ``key`` field:
    auditd's syscall), else what a value-mapped field of the same column says (winlogbeat's
    event.action names an event id)."""
    key = ls.key or mapping.code_field
    codes = [str(v) for v in values(event, split_path(key)) if isinstance(v, (str, int))]
    if codes:
        return tuple(codes)
    for col, specs in ls.column_sources(None, mapping.separators).items():
        if any(s.ecs == key for s in specs):
            for s in specs:
                if s.value_map is not None and s.fill:
                    got = mapped_values(s, event)
                    if got:
                        return tuple(str(g) for g in got)
    return None


def member(event: dict, ls: LogSource, product: Union[None, str, Iterable[str]], mapping: Mapping) -> bool:
    """Is ``event`` a row of log source ``ls`` (restricted to ``product``, or to one of several
    products, when given)?"""
    if ls.category is not None and ls.category not in values(event, split_path(mapping.category_field)):
        return False
    if ls.event_types is not None and not set(ls.event_types) & {
        v for v in values(event, split_path(mapping.type_field)) if isinstance(v, str)
    }:
        return False
    if any(not values(event, split_path(f)) for f in ls.requires):
        return False
    if ls.datasets is not None:
        have = {v for f in mapping.dataset_fields for v in values(event, split_path(f))}
        if not have & set(ls.datasets):
            return False
    if ls.codes is not None:
        codes = event_codes(event, ls, mapping)
        if not codes or not set(codes) & set(ls.codes):
            return False
    if not ls.products:
        return True
    if ls.products and product_of(event, mapping) not in ls.products and ls.is_service:
        return False
    if product is None:
        return True
    wanted = {product} if isinstance(product, str) else set(product)
    return product_of(event, mapping) in wanted


def flags_text(number: int) -> str:
    """A bit mask as Windows writes a HexInt32 event field (NewUacValue "0x15")."""
    return f"0x{number:X}"


def hex_text(number: int) -> str:
    """A number as Windows writes a HexInt64 EventData field (4624's ProcessId "0x44c", Microsoft Learn
    "4624(S): An account was successfully logged on", event XML)."""
    return f"0x{number:x}"


def _cell(v: Any) -> Any:
    if isinstance(v, bool):
        return int(v)
    if isinstance(v, (str, int, float)):
        return v
    return None  # objects are not Sigma values


def _prefixed(event: dict, prefix: str, exclude: Iterable[str]) -> dict[str, list]:
    """``{name: values}`` of every field ``prefix + name`` the event holds (one level deep)."""
    node: Any = event
    parts = prefix.rstrip(".").split(".")
    out: dict[str, list] = {}
    # dotted keys are read as Elasticsearch reads them: try the nested object and flat keys
    for depth in range(len(parts), -1, -1):
        head, tail = parts[:depth], parts[depth:]
        node = event
        for p in head:
            node = node.get(p) if isinstance(node, dict) else None
        if not isinstance(node, dict):
            continue
        key_prefix = ".".join(tail) + "." if tail else ""
        for k in node:
            if key_prefix and not k.startswith(key_prefix):
                continue
            name = k[len(key_prefix):]
            if not name or "." in name or name in exclude:
                continue
            vals = [c for c in (_cell(v) for v in values(event, split_path(prefix + name))) if c is not None]
            out.setdefault(name, vals)
    return out


def rows(event: dict, mapping: Mapping) -> list[dict]:
    """The Sigma-taxonomy rows of one ECS event (one per log source it belongs to, and per
    combination of the values of its multi-valued fields)."""
    out: list[dict] = []
    ts = values(event, ("@timestamp",))
    for ls, base, choices in columns(event, mapping):
        base = dict(base, timestamp=ts[0] if ts else None)
        names = list(choices)
        combos = itertools.islice(itertools.product(*(choices[n] for n in names)), MAX_ROWS_PER_EVENT)
        for combo in combos:
            row = dict(base)
            row.update(zip(names, combo))
            out.append(row)
    return out


def composed_values(event: dict, ls: LogSource, product: Optional[str], mapping: Mapping) -> dict[str, list]:
    """The columns of mapping.yaml ``composed`` that ``ls`` reads for ``product`` (one of its fields is
    derived from the column), joined from the ECS fields of their parts: ``User`` = user.domain + "\\" +
    user.name; an empty part where the event has no value."""
    out: dict[str, list] = {}
    for col, raw in mapping.composed.items():
        prods = raw.get("products")
        if prods and product not in prods:
            continue
        fields = list(raw.get("from") or ())
        specs = [ls.field(f, product, mapping.separators) for f in fields]
        if not any(s is not None and s.sigma == col for s in specs):
            continue
        parts = [[v for v in values(event, split_path(f)) if isinstance(v, str)] for f in fields]
        if not parts or not parts[-1]:
            continue
        # a part without value is written empty ("\\name" for a name without a domain): the derived fields
        # still read what the event says (user.name), and the prefix's check sets apart a rule reading
        # the missing part (user.domain), whose head is then empty
        out[col] = [str(raw.get("sep") or "").join(p[0] if p else "" for p in parts)]
    return out


def columns(event: dict, mapping: Mapping) -> list[tuple[LogSource, dict, dict[str, list]]]:
    """Per log source ``event`` belongs to: the log-source columns (eqlc_category, eqlc_product,
    eqlc_service) and every Sigma column with its values (``[None]`` when it has none)."""
    out: list = []
    product = product_of(event, mapping)
    for ls in mapping.logsources.values():
        if not member(event, ls, None, mapping):
            continue
        base = {
            "eqlc_category": ls.sigma.get("category"),
            "eqlc_product": ls.sigma.get("product") or product,
            "eqlc_service": ls.sigma.get("service"),
        }
        codes = event_codes(event, ls, mapping)
        choices: dict[str, list] = {}
        for col, specs in ls.column_sources(product, mapping.separators).items():
            vals: list = []
            for s in specs:
                if not s.fill or (s.codes is not None and not (codes and set(codes) <= set(s.codes))):
                    continue
                vals = mapped_values(s, event)
                if vals:
                    break
            choices[col] = list(dict.fromkeys(vals)) or [None]
        for col, specs in ls.column_sources(product, mapping.separators, "words").items():
            # a list the producer split on whitespace (PrivilegeList): the column is the text it was split from
            for s in specs:
                if s.codes is not None and not (codes and set(codes) <= set(s.codes)):
                    continue
                words = [str(v) for v in values(event, split_path(s.ecs)) if isinstance(v, (str, int))]
                if words:
                    choices[col] = [WORD_SEPARATOR.join(words)]
                    break
        for col, specs in ls.column_sources(product, mapping.separators, "flags").items():
            # a list of names of the bits set in a number (NewUACList of NewUacValue): the number, in the hex
            # spelling Windows writes; names the table lacks add nothing (the emitter's check sets them apart)
            if any(_prefixed(event, prefix, ()).get(col) for prefix in ls.prefixes):
                continue  # the event carries the number itself (copied below from its prefix)
            for s in specs:
                table = dict(s.flags or ())
                names = [v for v in values(event, split_path(s.ecs)) if isinstance(v, str)]
                if names:
                    choices[col] = [flags_text(sum({table.get(n, 0) for n in names}))]
                    break
        for col, specs in ls.column_sources(product, mapping.separators, "hex").items():
            # a number Windows writes as 0x and hex digits (the Security log's ProcessId, "0x44c"), which the
            # producer decoded into the ECS number
            if any(_prefixed(event, prefix, ()).get(col) for prefix in ls.prefixes):
                continue  # the event carries the text itself (copied below from its prefix)
            for s in specs:
                if s.codes is not None and not (codes and set(codes) <= set(s.codes)):
                    continue
                numbers = [v for v in values(event, split_path(s.ecs)) if isinstance(v, int) and not isinstance(v, bool) and v >= 0]
                if numbers:
                    choices[col] = [hex_text(n) for n in numbers]
                    break
        for col, vals in composed_values(event, ls, product, mapping).items():
            if choices.get(col, [None]) == [None]:
                choices[col] = vals
        for col, specs in ls.column_sources(product, mapping.separators, "target").items():
            # a web request target (url.original): the raw record is its path and query, which the
            # producer derived url.original and url.query from; the target decides both columns
            for s in specs:
                targets = [v for v in values(event, split_path(s.ecs)) if isinstance(v, str)]
                if targets:
                    head, has_query, rest = targets[0].partition(s.after[0])
                    choices[col] = [head]
                    if s.query:
                        choices[s.query] = [rest] if has_query else [None]
                    break
        if ls.syslog_line:
            choices[ls.syslog_line["column"]] = [syslog_line(event, ls.syslog_line)]
        for prefix, opts in ls.prefixes.items():
            only = (opts or {}).get("only")
            for name, vals in _prefixed(event, prefix, (opts or {}).get("exclude", ())).items():
                if only is not None and name not in only:
                    continue
                if name not in choices or choices[name] == [None]:
                    choices[name] = vals or [None]
        for raw in mapping.join_fields.values():  # correlation group-by fields (host.id -> Computer)
            if choices.get(raw["field"], [None]) == [None]:
                vals = [c for c in (_cell(v) for v in values(event, split_path(raw["from"]))) if c is not None]
                choices[raw["field"]] = vals or [None]
        out.append((ls, base, choices))
    return out


def syslog_line(event: dict, spec: dict) -> str:
    """The syslog line a producer that derives ECS fields from raw lines (Elastic's system auth pipeline:
    process.name from the line's program tag, event.type from the program, event.outcome from "fail" in the
    message) would have read ``event`` from: the event's own process.name and message when it has them, else
    the program ``spec["programs"]`` derives its event.type values from and a message giving its outcome. The
    emitter's checks compare what the keyword reading of this line gives with the event's ECS fields."""
    def first(path: str) -> Optional[str]:
        got = [v for v in values(event, split_path(path)) if isinstance(v, (str, int))]
        return str(got[0]) if got else None

    types = {v for v in values(event, split_path("event.type")) if isinstance(v, str)}
    program = first("process.name") or next(
        (p for p, derived in (spec.get("programs") or {}).items() if set(derived) <= types), "eqlc")
    message = first("message")
    if message is None:
        outcomes = values(event, split_path("event.outcome"))
        message = "failed adding user" if "failure" in outcomes else f"new user: name={first('user.name') or 'eqlc'}"
    return f"Dec  6 07:00:00 {first('host.hostname') or 'eqlc-host'} {program}[{first('process.pid') or 1}]: {message}"


def multi_valued(event: dict, mapping: Mapping, fields: Iterable[str]) -> list[str]:
    """The ECS ``fields`` (plain-mapped) holding several values in ``event``."""
    return [f for f in fields if len(values(event, split_path(f))) > 1]
