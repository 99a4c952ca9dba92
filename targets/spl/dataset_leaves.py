"""Leaf conditions on the fields of a data model or add-on dataset (cim, windows profiles).

A dataset does not hold ECS fields one to one. Each kind of field entry (:class:`.profile.FieldMap`)
gets its own translation here, and each states what it assumes with a check beside it
(:mod:`.assumptions`), so the verifier knows which events the translation is claimed for:

* **facts** (``event.type`` of a process dataset): the leaf is decided at compile time from the
  values the dataset implies, by the Python matcher itself (``leaf_holds`` on an event holding the
  implied values), so any leaf kind works (``==``, ``in``, wildcards, regex). Stated: "<leaf> is taken
  to be true/false for every <dataset> event"; the events where the leaf says otherwise break it.
* **value maps** (``event.outcome`` -> ``action``): the leaf is evaluated, again by the matcher, on
  each listed ECS value; the Splunk field must hold one of the values standing for those that
  satisfy it. A literal that is not listed is refused. Stated: the ECS field is spelled exactly as
  listed; the check excludes every other spelling (another letter case included).
* **filled** fields (CIM calculated fields that turn a missing or empty value into ``"unknown"``):
  stated as "present with one non-empty value", checked per event; ``== null`` is refused.
* **arguments** (``process.args`` from the command line): "some word of the line matches",
  ``mvfind(split(line, " "), ...)``, exact under the assumption that the line is the arguments
  joined by single spaces, none empty or holding a space (checked). ``args_count`` is the number
  of words.
* **last segments** (``process.name`` from Sysmon's ``Image``): an ``eval`` computes the part after
  the last backslash; the ECS event must agree (checked).
"""

from __future__ import annotations

from typing import Callable, Optional

from eqlc import ir
from eqlc.lucene_regex import RegexError, Untranslatable, to_pattern
from eqlc.native_wildcard import query_parts
from eqlc.printer import expr as print_expr
from eqlc.result import Refused

from . import literals as L
from .assumptions import (CheckedNote, argv_check, consistent_check, fact_check, filled_check, leaf_holds, segment_check,
                          spelled_check, synthetic)
from .profile import FieldMap, checked_name

_FUNCTIONS = ("startsWith", "endsWith", "stringContains", "cidrMatch")


def describe(e: ir.Expr) -> str:
    try:
        return print_expr(e)
    except Exception:  # noqa: BLE001 - a note must never fail a translation
        return type(e).__name__


def leaf_field(e: ir.Expr) -> Optional[ir.Field]:
    """The one field a leaf condition reads, or None for anything else."""
    if isinstance(e, ir.Compare):
        left, right = e.left, e.right
        if isinstance(left, ir.Field) and isinstance(right, ir.LITERAL_TYPES):
            return left
        if isinstance(right, ir.Field) and isinstance(left, ir.LITERAL_TYPES):
            return right
        if isinstance(left, ir.FunctionCall) and left.name == "length" and len(left.args) == 1 \
                and isinstance(left.args[0], ir.Field) and isinstance(right, ir.Number):
            return left.args[0]
        return None
    if isinstance(e, (ir.InSet, ir.WildcardMatch, ir.RegexMatch, ir.IsNull)):
        return e.expr if isinstance(e.expr, ir.Field) else None
    if isinstance(e, ir.FunctionCall) and e.name in _FUNCTIONS and e.args and isinstance(e.args[0], ir.Field) \
            and all(isinstance(a, ir.String) for a in e.args[1:]):
        return e.args[0]
    return None


def _literal_strings(e: ir.Expr) -> tuple[Optional[list[str]], bool]:
    if isinstance(e, ir.Compare) and e.op is ir.CompareOp.EQ:
        lit = e.right if isinstance(e.left, ir.Field) else e.left
        if isinstance(lit, ir.String):
            return [lit.value], False
    if isinstance(e, ir.InSet) and all(isinstance(v, ir.String) for v in e.values):
        return [v.value for v in e.values], e.case_insensitive
    return None, False


def _fold(s: str) -> str:
    return "".join(c.lower() if c.isascii() else c for c in s)


def no_field(b, f: ir.Field, node: ir.Expr) -> Refused:
    ds = b.dataset
    return Refused(f"ECS field {f.name} has no field in the {ds.label} dataset of the {b.profile.name} profile mapping", node)


# ---- entry points (called by ConditionBuilder) ----------------------------------------------------
def special_leaf(b, e: ir.Expr):
    """A Cond for a leaf on a fact, value-mapped, argument or derived field; None for a plain
    field (the generic code then writes it through :func:`plain_name`)."""
    from .conditions import Cond  # noqa: F401 - used by the helpers

    f = leaf_field(e)
    if f is None or f.has_index:
        return None
    ds = b.dataset
    if f.name in ds.facts:
        return fact(b, e, f)
    fm = ds.lookup(f.name)
    if fm is None:
        raise no_field(b, f, e)
    if fm.values is not None:
        return value_mapped(b, e, f, fm)
    if fm.argv_of or fm.argc_of:
        return arguments(b, e, f, fm)
    if fm.last_segment_of:
        return segment(b, e, f, fm)
    if fm.filled and isinstance(e, ir.IsNull):
        raise Refused(f"{describe(e)}: {f.name} is read from {fm.field}, and {fm.filled}, so a missing value cannot be told apart", e)
    return None


def plain_name(b, f: ir.Field) -> str:
    """The Splunk field of a plain mapping (stating its note and fill assumption)."""
    ds = b.dataset
    if f.name in ds.facts:
        raise Refused(f"{f.name} is implied by the {ds.label} dataset ({', '.join(ds.facts[f.name])}); only a condition on "
                      f"it alone can be decided", f)
    fm = ds.lookup(f.name)
    if fm is None:
        raise no_field(b, f, f)
    if not fm.plain or not fm.field:
        raise Refused(f"{f.name} is read from {fm.field or fm.argv_of or fm.argc_of or fm.last_segment_of} through a "
                      f"derivation; only a condition on it alone translates", f)
    return _named(b, fm)


def _named(b, fm: FieldMap) -> str:
    ds = b.dataset
    name = checked_name(ds.prefixed(str(fm.field)))
    for other, ofm in ds.fields.items():
        if other != fm.ecs and ofm.plain and ofm.field == fm.field:
            b.note(CheckedNote(f"{fm.ecs} and {other} are both read from {name}: assumes they hold the same values where both "
                               f"are present", _same_check(fm.ecs, other)))
    if fm.note:
        b.note(CheckedNote(fm.note, _excludes_check(fm.excludes)) if fm.excludes else fm.note)
    if fm.filled:
        b.note(CheckedNote(f"{fm.ecs} is taken to be present with one non-empty value on every {ds.label} event: it is read "
                           f"from {name}, and {fm.filled}", filled_check(fm.ecs)))
    return name


# ---- facts -----------------------------------------------------------------------------------------
def fact(b, e: ir.Expr, f: ir.Field):
    from .conditions import Cond

    ds = b.dataset
    implied = list(ds.facts[f.name])
    decided = leaf_holds(e, synthetic(f.name, implied if len(implied) > 1 else implied[0]))
    b.note(CheckedNote(f"{describe(e)} is taken to be {'true' if decided else 'false'} for every {ds.label} event "
                       f"({f.name} implied: {', '.join(implied)})", fact_check(e, decided)))
    return Cond("true()" if decided else "false()")


# ---- value maps ----------------------------------------------------------------------------------
def value_mapped(b, e: ir.Expr, f: ir.Field, fm: FieldMap):
    from .conditions import Cond

    ds = b.dataset
    keys = list(fm.values)
    name = checked_name(ds.prefixed(str(fm.field)))
    lits, ci = _literal_strings(e)
    for v in lits or ():
        if not any((_fold(v) == _fold(k)) if ci else v == k for k in keys):
            raise Refused(f"{f.name} value {v!r} has no {fm.field} equivalent in the {b.profile.name} profile mapping "
                          f"(listed: {', '.join(keys)})", e)
    shown = ", ".join(f"{k} -> {'/'.join(fm.values[k])}" for k in keys[:6]) + (", ..." if len(keys) > 6 else "")
    b.note(CheckedNote(f"{f.name} is read from {name} through a value map ({shown}): assumes {f.name} holds only the listed "
                       f"ECS values, spelled exactly so (another letter case or value is outside the mapping), and {name} "
                       f"their listed spellings", spelled_check(f.name, keys)))
    for other, ofm in ds.fields.items():
        if other != f.name and ofm.field == fm.field and (ofm.plain or ofm.values is not None):
            b.note(CheckedNote(f"{f.name} and {other} are both read from {name}: assumes they agree (they stand for a common "
                               f"{fm.field} value)", consistent_check(f.name, fm.values, other, ofm.values)))
    if fm.note:
        b.note(fm.note)
    if fm.field in ds.constants:
        b.note(CheckedNote(f"{f.name} is taken to be present on every {ds.label} event: it is read from {name}, which every "
                           f"event of the dataset has", _present_check(f.name)))
    if isinstance(e, ir.IsNull):
        if fm.filled or fm.field in ds.constants:
            raise Refused(f"{describe(e)}: {f.name} is read from {fm.field}, and {fm.filled}, so a missing value cannot be told apart", e)
        return Cond(f"isnull({L.field_ref(name)})")
    selected = [k for k in keys if leaf_holds(e, synthetic(f.name, k))]
    vals = list(dict.fromkeys(v for k in selected for v in fm.values[k]))
    if not vals:
        return Cond("false()")
    exact = b.equal_strings(name, vals)
    others = {_fold(v) for k in keys if k not in selected for v in fm.values[k]}
    search = None
    if b.searchable(name) and not others & {_fold(v) for v in vals}:
        try:
            from .conditions import _search_term

            search = _search_term(name, [L.search_pattern((v,)) for v in vals])
            if any("*" in v for v in vals):
                search = None
        except ValueError:
            search = None
    return Cond(exact.where, search=search, prefilter=exact.prefilter)


# ---- arguments from a command line --------------------------------------------------------------------
def arguments(b, e: ir.Expr, f: ir.Field, fm: FieldMap):
    from .conditions import Cond, _mvfind_wildcards, _search_term, _utf8_note

    ds = b.dataset
    line_ecs = fm.argv_of or fm.argc_of
    line_fm = ds.lookup(line_ecs)
    if line_fm is None or not line_fm.plain or not line_fm.field:
        raise Refused(f"{f.name} is read from {line_ecs}, which the {ds.label} dataset has no field for", e)
    line = _named(b, line_fm)
    ref = L.field_ref(line)
    words = f"split({ref}, \" \")"
    # the conditions on this field so far: the stated assumption's check asks whether a line
    # that is not the joined values changes one of their answers (the note is stated once per
    # field, its check sees every condition)
    leaves = b.__dict__.setdefault("_argv_leaves", {}).setdefault(f.name, [])
    leaves.append(e)
    if fm.argc_of:
        b.note(CheckedNote(f"{f.name} is counted as the space-separated words of {line} ({line_ecs}): assumes {line_ecs} is the "
                           f"argument values joined by single spaces, none empty or containing a space, and {f.name} their "
                           f"number", argv_check(f.name, line_ecs, True, leaves)))
        if not (isinstance(e, ir.Compare) and isinstance(e.left, ir.Field) and isinstance(e.right, ir.Number)):
            raise Refused(f"{describe(e)}: {f.name} is counted from {line}; only a comparison with a number translates", e)
        op = "==" if e.op is ir.CompareOp.EQ else e.op.value
        return Cond(f"(isnotnull({ref}) AND mvcount({words}){op}{L.number(e.right.value)})", atomic_where=False)
    b.note(CheckedNote(f"{f.name} is read from {line} ({line_ecs}) split on single spaces: assumes {line_ecs} is the {f.name} "
                       f"values joined by single spaces and no value is empty or contains a space (quoted arguments break this; "
                       f"an event whose line is not that is outside where a test on {f.name} answers otherwise on the split line)",
                       argv_check(f.name, line_ecs, False, leaves)))
    notes: list[str] = []
    ci = False
    words_of: list[tuple] = []  # wildcard patterns over one word (for the search form)
    if isinstance(e, ir.Compare) and e.op is ir.CompareOp.EQ and isinstance(e.right, ir.String):
        words_of = [(e.right.value,)]
    elif isinstance(e, ir.InSet) and all(isinstance(v, ir.String) for v in e.values):
        words_of = [(v.value,) for v in e.values]
        ci = e.case_insensitive
    elif isinstance(e, ir.WildcardMatch):
        words_of = [p.parts for p in e.patterns]
        ci = e.case_insensitive
    elif isinstance(e, ir.FunctionCall) and e.name in ("startsWith", "endsWith", "stringContains") and len(e.args) == 2:
        # startsWith is a prefix query (text); endsWith/stringContains Elasticsearch's wildcard
        # query "*lit" / "*lit*" with lit unescaped (eqlc.native_wildcard.query_parts)
        words_of = [query_parts(e.name, e.args[1].value)]
        ci = e.case_insensitive
    elif isinstance(e, ir.RegexMatch):
        try:
            body = to_pattern(e.patterns, e.case_insensitive, flavor="pcre")
        except Untranslatable as err:
            raise Refused(f"regex on {f.name}: {err}", e) from None
        except RegexError as err:
            raise Refused(f"regex on {f.name} is not a valid Lucene regular expression: {err}", e) from None
        rx = f"^(?:{body})\\z"
        if "(?s:.)" in body or "[^" in body or "\\x{" in body:
            notes.append(_utf8_note(line))
        return Cond(f"isnotnull(mvfind({words}, {L.eval_string(rx)}))", notes=tuple(notes))
    else:
        raise Refused(f"{describe(e)}: {f.name} is read from {line} split on spaces; this comparison of it is not translated", e)
    for w in words_of:
        if any(isinstance(x, str) and (" " in x or L.has_control(x)) for x in w):
            raise Refused(f"{f.name} value {''.join(x if isinstance(x, str) else x.value for x in w)!r} contains a space or a "
                          f"control character, but {f.name} is read from {line} split on single spaces", e)
        if w in ((), ("",)):
            raise Refused(f"{f.name} compared with \"\": an empty argument cannot be found in {line} split on single spaces", e)
    where = _mvfind_wildcards(words, words_of, ci, line, notes)
    search = _word_search(line, words_of) if ci and b.profile.case_insensitive == "search" and b.searchable(line) else None
    prefilter = None
    if search is None and b.profile.prefilter and b.searchable(line):
        prefilter = _word_search(line, [tuple(ir.Wildcard.STAR if x is ir.Wildcard.QUESTION else x for x in w) for w in words_of],
                                 superset=True)
    fold = frozenset([line]) if search and any(c in "iksIKS" for w in words_of for x in w if isinstance(x, str) for c in x) else frozenset()
    return Cond(where, search=search, prefilter=prefilter, search_ci_fields=fold, notes=tuple(dict.fromkeys(notes)))


def _word_search(line: str, words: list[tuple], superset: bool = False) -> Optional[str]:
    """Search terms saying "some space-separated word of ``line`` matches": an exact word ``w`` is
    the line ``w``, ``w *``, ``* w`` or ``* w *``; ``w*``: ``w*`` or ``* w*``; ``*w``: ``*w`` or ``*w *``;
    ``*w*``: ``*w*`` (w has no space, so it lies inside one word). Other shapes have no exact
    search form (a ``*`` inside a word could cross a space); with ``superset`` they get a looser
    term that every match satisfies (a prefilter)."""
    from .conditions import _search_term

    star = ir.Wildcard.STAR
    texts: list[str] = []
    for w in words:
        lits = [x for x in w if isinstance(x, str)]
        shape = tuple("L" if isinstance(x, str) else "*" for x in w)
        if any(x is ir.Wildcard.QUESTION for x in w):
            return None
        if not superset and any("*" in x for x in lits):  # a literal '*' would be a search wildcard
            return None
        try:
            if shape == ("L",):
                t = L.search_pattern(w)
                texts += [t, t + " *", "* " + t, "* " + t + " *"]
            elif shape == ("L", "*"):
                t = L.search_pattern(w)
                texts += [t, "* " + t]
            elif shape == ("*", "L"):
                t = L.search_pattern(w)
                texts += [t, t + " *"]
            elif shape == ("*", "L", "*"):
                texts.append(L.search_pattern(w))
            elif superset and lits:
                texts.append(L.search_pattern((star,) + tuple(x for x in w) + (star,)).replace("**", "*"))
            else:
                return None
        except ValueError:
            return None
    return _search_term(line, list(dict.fromkeys(texts))) if texts else None


# ---- the last segment of a path ------------------------------------------------------------------------
def segment(b, e: ir.Expr, f: ir.Field, fm: FieldMap):
    """``process.name`` as the part of ``Image`` after its last backslash: an eval field, then the
    generic translation of the leaf on it (where-form only; a prefilter on the source field)."""
    from .conditions import Cond, ConditionBuilder

    ds = b.dataset
    src = checked_name(ds.prefixed(str(fm.last_segment_of)))
    sources = [k for k, v in ds.fields.items() if v.plain and v.field == fm.last_segment_of]
    # dll.name from ImageLoaded: the ECS field ImageLoaded is written from for dll.* is dll.path
    source_ecs = next((k for k in sources if k.split(".")[0] == f.name.split(".")[0]), sources[0] if sources else None)
    if source_ecs is not None:
        _named(b, ds.fields[source_ecs])  # the source's own assumptions (a data model fill rule)
    alias = "eqlc_" + "".join(c if c.isalnum() else "_" for c in f"{f.name}__{src}")
    sep = L.regex_literal(fm.separator)
    b.evals[alias] = f"replace({L.field_ref(src)}, {L.eval_string('(?s)^.*' + sep)}, \"\")"
    b.unsearchable.add(alias)
    b.note(CheckedNote(f"{f.name} is read as the part of {src}{f' ({source_ecs})' if source_ecs else ''} after its last "
                       f"{fm.separator!r}: assumes {f.name} is exactly that part (one value)", segment_check(f.name, source_ecs, fm.separator)))
    # translate the leaf on the eval field with a builder that maps this one field to the alias
    sub = ConditionBuilder(b.profile, b.category, None)
    sub.unsearchable = {alias}
    sub.field_name = lambda g: alias if g.name == f.name else b.field_name(g)  # type: ignore[method-assign]
    c = sub.build(e) if not isinstance(e, ir.IsNull) else Cond(f"isnull({L.field_ref(alias)})")
    pre = _segment_prefilter(b, src, e) if b.profile.prefilter and b.searchable(src) else None
    return Cond(c.where, None, pre, frozenset(), c.notes, atomic_where=c.atomic_where)


def _segment_prefilter(b, src: str, e: ir.Expr) -> Optional[str]:
    """A superset search term on the source field: the whole value ends with the segment."""
    from .conditions import _search_term

    star = ir.Wildcard.STAR
    lits, _ = _literal_strings(e)
    if lits is not None:
        pats = [(star, v) for v in lits]
    elif isinstance(e, ir.WildcardMatch):
        pats = [(star,) + tuple(star if x is ir.Wildcard.QUESTION else x for x in p.parts) for p in e.patterns]
    else:
        return None
    try:
        texts = [L.search_pattern(p) for p in pats]
    except ValueError:
        return None
    if any(t.replace("*", "") == "" for t in texts):
        return None
    return _search_term(src, texts)


# ---- the dataset itself ------------------------------------------------------------------------------
def dataset_notes(b) -> None:
    """What reading a raw dataset assumes of every event: an ECS field written to one of the fields
    that select the dataset (``event.code`` -> ``EventCode``) holds one of the dataset's values."""
    ds = b.dataset
    if ds is None:
        return
    if ds.requires:
        from .adapter import member

        cats = ", ".join(c for c in ds.categories)
        b.note(CheckedNote(f"{cats} events are read from the {ds.label} dataset: assumes the events the rule selects have a "
                           f"field under {' or '.join(ds.requires)} (as the dataset's events do)",
                           lambda event: not member(event, ds)))
    for k, codes in ds.constants.items():
        for ecs, fm in ds.fields.items():
            if fm.plain and fm.field == k:
                b.note(CheckedNote(f"{ecs} is taken to be one of {', '.join(codes)} on every {ds.label} event (the {k} values "
                                   f"the dataset is selected by)", _one_of_check(ecs, codes)))


def category_note(b, category: Optional[str], condition: ir.Expr) -> None:
    """A dataset that does not imply one event category (the Windows Security log holds
    authentication, iam and other events) reads a ``<category> where`` query's events under a stated
    assumption: the events its condition selects there are of that category (an event of another
    category meeting the condition breaks it)."""
    ds = b.dataset
    if ds is None or category is None or "event.category" in ds.facts:
        return
    from eqlc.events import values

    def violated(event: dict) -> bool:
        return category not in [str(v) for v in values(event, ("event", "category"))] and leaf_holds(condition, event)

    b.note(CheckedNote(f"{category} events are read from the {ds.label} dataset: assumes the events the rule's condition "
                       f"selects there have event.category {category!r}", violated))


def _same_check(a: str, b: str) -> "Callable[[dict], bool]":
    from eqlc.events import split_path, values

    pa, pb = split_path(a), split_path(b)

    def violated(event: dict) -> bool:
        va, vb = values(event, pa), values(event, pb)
        return bool(va) and bool(vb) and sorted(map(str, va)) != sorted(map(str, vb))

    return violated


def _present_check(ecs: str) -> "Callable[[dict], bool]":
    from eqlc.events import split_path, values

    path = split_path(ecs)
    return lambda event: not values(event, path)


def _one_of_check(ecs: str, allowed) -> "Callable[[dict], bool]":
    from eqlc.events import split_path, values

    path, allowed = split_path(ecs), set(allowed)
    return lambda event: any(str(v) not in allowed for v in values(event, path))


def _excludes_check(excludes: dict) -> "Callable[[dict], bool]":
    from eqlc.events import split_path, values

    paths = [(split_path(k), set(v)) for k, v in excludes.items()]
    return lambda event: any(str(x) in bad for path, bad in paths for x in values(event, path))


def missing_fields(query: ir.EventQuery, ds) -> int:
    """How many fields the query reads that ``ds`` neither has nor implies (to tell which dataset's
    refusal to report when none translates)."""
    import dataclasses

    names: set[str] = set()

    def walk(n) -> None:
        if isinstance(n, ir.Field):
            names.add(n.name)
        elif dataclasses.is_dataclass(n) and not isinstance(n, type):
            for fl in dataclasses.fields(n):
                v = getattr(n, fl.name)
                for item in v if isinstance(v, tuple) else (v,):
                    walk(item)

    walk(query.condition)
    return sum(1 for n in names if n not in ds.facts and ds.lookup(n) is None)
