"""Assemble the generated module for one query: conditions, keys, timestamps, and the SPEC the
runtime engines execute. Shared by the in-process matcher and the standalone Python target."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Optional

from .. import ir
from . import optimize as opt
from .codegen import ESCodegen, ModuleBuilder, Options


@dataclass
class Generated:
    source: str
    kind: str
    pruned: bool = False
    re2_only: list = field(default_factory=list)  # Java-syntax regexes (script path): need RE2
    # single-event queries: source of the streaming filter (the condition inlined in a loop),
    # generated on demand (it doubles the code to compile)
    filter_source: Any = None


def expand_runs(terms: tuple) -> list:
    out = []
    for t in terms:
        out.extend([t] * max(1, t.runs))
    return out


def category_condition(q: ir.EventQuery, category_field: str) -> Any:
    if q.category is None:
        return q.condition
    cat = ir.Compare(ir.CompareOp.EQ, ir.Field(tuple(category_field.split("."))), ir.String(q.category))
    return ir.And((cat, q.condition))


_CACHE: dict = {}


def generate(query: ir.Query, options: Options) -> Generated:
    """Generated module for ``query`` (a few recent results are kept: the in-process matcher and
    the python target often generate the same rule back to back)."""
    key = None
    if options.mapping is None:
        key = (query, options.dialect, options.event_category_field, options.timestamp_fields,
               options.tiebreaker_field, options.omit_category)
        hit = _CACHE.get(key)
        if hit is not None:
            return hit
    gen = _generate(query, options)
    if key is not None:
        if len(_CACHE) >= 16:
            _CACHE.pop(next(iter(_CACHE)))
        _CACHE[key] = gen
    return gen


def _generate(query: ir.Query, options: Options) -> Generated:
    if options.dialect.startswith("endgame"):
        from .endgame import generate_endgame

        return generate_endgame(query, options)
    m = ModuleBuilder()
    cg = ESCodegen(options, m)
    body = query.body
    spec: dict = {"pipes": [(p.name, int(p.args[0].value)) for p in query.pipes if p.name in ("head", "tail")]}
    pruned = False
    if isinstance(body, ir.EventQuery):
        if options.omit_category:
            spec["category"] = body.category
            cond = cg.prepare(body.condition)
        else:
            cond = cg.prepare(category_condition(body, options.event_category_field))
        name, pruned = cg.condition_function(cond)
        spec_terms = [f'{{"cond": {name}, "keys": None, "missing": False}}']
        kind = "event"
        if not pruned and not (isinstance(cond, ir.Boolean) and cond.value):
            def make_filter(cg=cg, cond=cond) -> str:
                start = len(cg.m.lines)
                name = cg.filter_function(cond)
                return "\n".join(cg.m.lines[start:]) + f"\nSPEC['filter'] = {name}\n"

            filter_source = make_filter
    else:
        kind = "sequence" if isinstance(body, ir.Sequence) else "sample"
        terms = expand_runs(body.terms)
        conds = [cg.prepare(category_condition(t.query, options.event_category_field)) for t in terms]
        keys = [tuple(cg._resolve_nulls(k) for k in body.keys(t)) for t in terms]
        conds = opt.propagate_key_constraints(conds, keys)
        conds = [opt.optimize(c, opt.Folder(cg.fold_eval), cg._integer_field) for c in conds]
        spec_terms = []
        styles: list = []
        made: dict = {}  # `with runs=N` repeats one term N times: generate its functions once
        for t, c, k in zip(terms, conds, keys):
            if (id(t), c, k) in made:
                cname, term_pruned, kname, kstyles = made[(id(t), c, k)]
            else:
                cname, term_pruned = cg.condition_function(c)
                kname, kstyles = cg.key_function(k)
                made[(id(t), c, k)] = (cname, term_pruned, kname, kstyles)
            pruned = pruned or term_pruned
            if not styles:
                styles = kstyles
            spec_terms.append(f'{{"cond": {cname}, "keys": {kname}, "missing": {t.missing!r}}}')
        if kind == "sample":
            styles = [None] * len(styles)
        spec["key_styles"] = styles
        if isinstance(body, ir.Sequence):
            spec["maxspan"] = body.maxspan.millis if body.maxspan else None
            if body.until is not None:
                u = body.until
                ucond = cg.prepare(category_condition(u.query, options.event_category_field))
                ukeys = tuple(cg._resolve_nulls(k) for k in body.keys(u))
                uname, _ = cg.condition_function(ucond)
                ukname, _ = cg.key_function(ukeys)
                spec["until"] = f'{{"cond": {uname}, "keys": {ukname}, "missing": False}}'
    if kind != "sample":
        spec["timestamp"] = cg.first_value_function(options.timestamp_fields, date=True)
        spec["tiebreaker"] = cg.first_value_function((options.tiebreaker_field,), date=False) if options.tiebreaker_field else None
    lines = ["SPEC = {", f'    "kind": {kind!r},', "    \"terms\": [" + ", ".join(spec_terms) + "],"]
    for key, value in spec.items():
        if key in ("until", "timestamp", "tiebreaker", "filter"):
            lines.append(f"    {key!r}: {value if value is not None else 'None'},")
        else:
            lines.append(f"    {key!r}: {value!r},")
    lines.append(f'    "pruned": {pruned!r},')
    lines.append(f'    "dialect": {options.dialect!r},')
    lines.append("}")
    m.emit("\n".join(lines))
    gen = Generated(m.source(), kind, pruned, list(m.needs_re2_only))
    if kind == "event" and not pruned and "filter_source" in locals():
        gen.filter_source = filter_source
    return gen
