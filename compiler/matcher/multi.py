"""Many single-event rules over one event stream: ``MatcherSet``.

Every rule's ``cat where`` is a term query on the category field, so the set reads that field once
per event and runs only the rules of the event's categories (and the ``any`` rules). The rules of
one category are generated as blocks of ONE function that shares field reads between them (a
field is read at most once per event, whichever rule needs it first). The result is the same as
running every rule's own matcher: ``match_all(e) == [i for i, m in enumerate(ms) if m.match(e)]``
(asserted by tests/test_matcher_perf_paths.py), only faster.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Iterable, Union

from .. import ir
from ..rule import Rule
from .codegen import ESCodegen, ModuleBuilder, Options


class MatcherSet:
    """``match_all(event)``: the indices (into the given rules) of the rules that match."""

    def __init__(self, source: str, functions: dict, any_function: str, category_getter: str, size: int) -> None:
        from . import runtime as rt

        self.source = source
        self.size = size
        ns = dict(vars(rt))
        exec(compile(source, "<eqlc matcher set>", "exec"), ns)  # noqa: S102 - generated from the IR
        self._by_cat = {cat: ns[name] for cat, name in functions.items()}
        self._any = ns[any_function] if any_function else None
        self._category = ns[category_getter]

    def match_all(self, event: dict) -> list:
        out: list = []
        if self._any is not None:
            self._any(event, out)
        cats = self._category(event)
        if cats:
            by_cat = self._by_cat
            if len(cats) == 1:
                fn = by_cat.get(cats[0]) if cats[0].__class__ is str else None
                if fn is not None:
                    fn(event, out)
            else:
                seen = set()
                for c in cats:
                    if c.__class__ is str and c not in seen:
                        seen.add(c)
                        fn = by_cat.get(c)
                        if fn is not None:
                            fn(event, out)
        if len(out) > 1:
            out.sort()
        return out


def matcher_set(rules: Iterable[Union[str, ir.Query, Rule]], mapping=None, event_category_field: str = "event.category") -> MatcherSet:
    """Compile single-event rules to be evaluated together (see MatcherSet)."""
    from ..parser import parse_query
    from .esmapping import load_index_mapping

    im = load_index_mapping(mapping)
    m = ModuleBuilder()
    cg = ESCodegen(Options(mapping=im, event_category_field=event_category_field), m)
    groups: dict = defaultdict(list)
    n = 0
    for i, r in enumerate(rules):
        n += 1
        q = r.query if isinstance(r, Rule) else r if isinstance(r, ir.Query) else parse_query(r)
        if isinstance(r, Rule) and r.event_category_override and r.event_category_override != event_category_field:
            raise ValueError("rules of one MatcherSet must share the event category field")
        if not isinstance(q.body, ir.EventQuery):
            raise ValueError("a MatcherSet holds single-event queries")
        cond = cg.prepare(q.body.condition)
        if isinstance(cond, (ir.Boolean, ir.Null)) and not (isinstance(cond, ir.Boolean) and cond.value):
            continue  # pruned: never matches
        groups[q.body.category].append((i, cond))
    functions = {}
    any_function = ""
    for cat, members in groups.items():
        name = m.name("_set")
        inline_cache: dict = {}
        cg.getter_cache = {}
        body: list = []
        for i, cond in members:
            if isinstance(cond, ir.Boolean) and cond.value:
                body.append(f"    out.append({i})")
                continue
            block = cg.condition_lines(cond, "break", inline_cache)
            body += ["    while True:"] + ["        " + x for x in block] + [f"        out.append({i})", "        break"]
        init = [v for v in list(inline_cache.values()) + list(cg.getter_cache.values())]
        cg.getter_cache = None
        head = [f"def {name}(e, out):"]
        if init:
            head.append("    " + " = ".join(init) + " = _U")
        m.emit("\n".join(head + body) + "\n")
        if cat is None:
            any_function = name
        else:
            functions[cat] = name
    getter = cg.getter(cg.field_info(ir.Field(tuple(event_category_field.split(".")))))
    return MatcherSet(m.source(), functions, any_function, getter, n)
