"""SPL pipelines: splitting the text into commands and running them over events.

Documented rules:

* "Use the vertical bar ( | ), or pipe character, to apply a command to the retrieved events";
  "The search command is implied at the beginning of every search" (``search`` command). A pipe
  inside a quoted string, or escaped as ``\\|``, does not split ("The sequence \\| as part of a
  search sends a pipe character to the command").
* Comments: text between triple backticks is ignored (Search Manual > Add comments to searches).
* ``where``, ``eval``, ``search``, ``regex`` (keep results whose field matches, ``!=`` for those
  that do not; "An unanchored regular expression"), ``sort`` ("sort 0" removes the default 10,000
  limit; ``+``/``-`` order; numbers sort numerically), ``reverse``, ``streamstats`` (running
  statistics in event order, per ``by`` group; "current=f" leaves the current event out, as its
  documentation says: "If false, the search uses the field value from the previous event";
  functions skip results without the field), ``fields``/``table`` (no effect on which events are
  returned).
* ``mvexpand <field>``: "Expands the values of a multivalue field into separate events, one event
  for each value in the multivalue field"; the other fields are unchanged (the documentation's
  a/b/c example). A result without the field is not documented (:class:`Undocumented`), nor is
  ``limit=``; the memory limit (``max_mem_usage_mb``) is a resource limit the evaluator does not
  model.
* ``dedup <field>...``: "Removes the events that contain an identical combination of values for
  the fields that you specify", keeping the first in search order; "keepempty ... Default: false.
  All events where any of the selected fields are null are removed". Deduplicating by a multivalue
  field is not documented (:class:`Undocumented`); no other options are supported.

* ``rex field=<field> "<regex>"``: "Use this command to ... extract fields using regular expression
  named groups"; the regex is quoted, "Quotation marks are required", and the quoted text is read
  as every quoted search string is (``\\\\``, ``\\"``, ``\\|`` expanded); ``max_match`` defaults to 1: the
  first match sets each named group's field, and no match sets none (eqlc's checks only read fields
  that did not exist before). Other options (``mode=sed``,
  ``max_match``, ``offset_field``) and a multivalue source field are outside the subset.
* ``| tstats`` and ``| datamodel`` (the generating commands supported), over the CIM data model
  datasets of :mod:`.datamodels`. tstats: "Use the tstats command to perform statistical queries on
  indexed fields in tsidx files ... from indexed data or accelerated data models"; syntax ``| tstats
  [summariesonly=<bool>] [allow_old_summaries=<bool>] [fillnull_value=<string>] <stats-func>... FROM
  datamodel=<data_model_name>.<root_dataset_name> [WHERE <search-query>] [BY <field-list>]`` (the
  keywords are written in either case, as the reference's own examples do). The events are the input
  rows that meet the dataset's constraint, seen as the dataset returns them (:func:`.datamodels.dataset_view`:
  calculated fields evaluated, fields named ``<dataset>.<field>``); WHERE is a search query over them
  (:mod:`.search_lang`: that tstats applies the search command's matching rules to data model fields
  is the assumption eqlc states with every tstats form); ``count``/``min(_time)``/``max(_time)`` per
  distinct BY-value combination; "fillnull_value ... substitutes for null values for any field within
  its group-by field list" (without it, a row lacking a BY field is :class:`Undocumented`, as is a
  multivalue BY field). ``summariesonly=false`` (the default) reads every event, summarised or not,
  which is what the rows are; ``allow_old_summaries`` only decides which summaries may be read, so it
  changes nothing here. Each output row carries ``_eqlc_from``: the ``_id`` of every event it counts
  (evaluator provenance, not a Splunk field), so tests can compare the counted events with the events
  another search selects. ``| datamodel <model> <dataset> search``: the same dataset view, one
  result per event ("search: Returns the search results exactly how they are defined"); other
  modes and options are outside the subset.

Only these commands are supported; anything else raises :class:`Unsupported`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Callable, Optional

from . import datamodels
from . import eval_lang as E
from . import pcre
from . import search_lang as S
from . import values as V
from .errors import SplSyntaxError, Undocumented, Unsupported


_COMMENT_TOKEN = re.compile(r'"(?:[^"\\]|\\.)*"|```.*?```|[^"`]+|`|"', re.S)
_PIPE_TOKEN = re.compile(r'\\.|"(?:[^"\\]|\\.)*"|[^"\\|]+|\||"|\\', re.S)


def strip_comments(text: str) -> str:
    """Remove ```comments``` (outside quoted strings); a quoted string may hold backslash escapes."""
    out = []
    for m in _COMMENT_TOKEN.finditer(text):
        tok = m.group(0)
        if tok == '"':
            raise SplSyntaxError("unbalanced quotation mark")
        if tok == "`" and text.startswith("```", m.start()):
            raise SplSyntaxError("unterminated ``` comment", m.start())
        out.append(" " if tok.startswith("```") else tok)
    return "".join(out)


def split_pipeline(text: str) -> list[str]:
    """Commands split at pipes outside quoted strings; ``\\|`` does not split."""
    text = strip_comments(text)
    parts: list[str] = []
    buf: list[str] = []
    in_q = False
    for m in _PIPE_TOKEN.finditer(text):
        tok = m.group(0)
        if tok == "|" and not in_q:
            parts.append("".join(buf))
            buf = []
            continue
        if tok == '"':  # an unterminated quote runs to the end
            in_q = not in_q
        buf.append(tok)
    parts.append("".join(buf))
    return [p.strip() for p in parts]


# ---- commands --------------------------------------------------------------------------------
Rows = list  # list[V.Event]


@dataclass
class Command:
    name: str
    run: Callable[[Rows], Rows]
    detail: object = None


def _search_cmd(body: str) -> Command:
    node = S.parse_search(body)
    return Command("search", lambda rows: [r for r in rows if S.evaluate(node, r)], node)


def _where_cmd(body: str) -> Command:
    expr = E.parse_eval(body)

    def run(rows: Rows) -> Rows:
        return [r for r in rows if E._truth(E.evaluate(expr, E.Env(r))) is True]

    return Command("where", run, expr)


def _eval_cmd(body: str) -> Command:
    p = E.Parser(body)
    assigns: list[tuple[str, E.Expr]] = []
    while True:
        t = p.peek()
        if t is None or t.kind not in ("ident", "field"):
            raise SplSyntaxError("eval needs <field>=<expression>")
        p.take()
        p.expect("op", "=")
        assigns.append((t.value, p.expr()))
        if not p.accept(","):
            break
    if not p.done():
        raise SplSyntaxError(f"unexpected {p.peek().text!r} in eval", p.peek().pos)

    def run(rows: Rows) -> Rows:
        out = []
        for r in rows:
            r = dict(r)
            for name, expr in assigns:
                v = E.assign_value(E.evaluate(expr, E.Env(r)))
                if v is None:
                    r.pop(name, None)
                else:
                    r[name] = v
            out.append(r)
        return out

    return Command("eval", run, assigns)


def _sort_cmd(body: str) -> Command:
    words = body.replace(",", " ").split()
    if words and words[0].isdigit():
        limit = int(words.pop(0))
    else:
        limit = 10000
    keys: list[tuple[str, bool]] = []
    for w in words:
        desc = w.startswith("-")
        name = w.lstrip("+-")
        if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_.{}]*", name):
            raise Unsupported(f"sort key {w!r}")
        keys.append((name, desc))
    if not keys:
        raise SplSyntaxError("sort needs a field")

    def key_of(r: V.Event, name: str):
        vals = V.get(r, name)
        if vals is None:
            raise Undocumented(f"sorting results without {name!r} is not documented here")
        if len(vals) > 1:
            raise Undocumented(f"sorting by the multivalue field {name!r}")
        n = V.to_number(vals[0])
        return (0, n, "") if n is not None else (1, 0.0, V.render(vals[0]))

    def run(rows: Rows) -> Rows:
        out = list(rows)
        for name, desc in reversed(keys):  # stable multi-key sort
            out.sort(key=lambda r: key_of(r, name), reverse=desc)
        return out[:limit] if limit else out

    return Command("sort", run, keys)


_AGG = re.compile(r"(count|max|min|last|first|sum)(?:\(([^()]*)\))?(?:\s+(?:AS|as)\s+([A-Za-z_][A-Za-z0-9_]*))?")


def _streamstats_cmd(body: str) -> Command:
    text = body.strip()
    current = True
    m = re.match(r"current\s*=\s*(t|f|true|false)\s+", text)
    if m:
        current = m.group(1) in ("t", "true")
        text = text[m.end():]
    by: list[str] = []
    bm = re.search(r"\s+by\s+(.+)$", text)
    if bm:
        by = bm.group(1).replace(",", " ").split()
        text = text[: bm.start()]
    aggs: list[tuple[str, Optional[str], str]] = []
    pos = 0
    text = text.strip()
    while pos < len(text):
        m = _AGG.match(text, pos)
        if not m:
            raise Unsupported(f"streamstats argument {text[pos:]!r}")
        fn, arg, alias = m.group(1), m.group(2), m.group(3)
        arg = arg.strip() if arg else None
        if fn != "count" and not arg:
            raise SplSyntaxError(f"{fn}() needs a field")
        aggs.append((fn, arg, alias or (f"{fn}({arg})" if arg else fn)))
        pos = m.end()
        while pos < len(text) and text[pos] in " ,":
            pos += 1

    def run(rows: Rows) -> Rows:
        state: dict[tuple, list[list]] = {}
        out = []
        for r in rows:
            key = []
            for b in by:
                vals = V.get(r, b)
                if vals is None:
                    raise Undocumented(f"streamstats by {b!r} on a result without {b!r}")
                if len(vals) > 1:
                    raise Undocumented(f"streamstats by the multivalue field {b!r}")
                key.append(V.render(vals[0]))
            seen = state.setdefault(tuple(key), [[] for _ in aggs])
            r = dict(r)
            for i, (fn, arg, alias) in enumerate(aggs):
                vals = V.get(r, arg) if arg else [1]
                if current and vals:
                    seen[i].extend(vals)
                result = _aggregate(fn, seen[i], arg)
                if result is None:
                    r.pop(alias, None)
                else:
                    r[alias] = [result]
                if not current and vals:
                    seen[i].extend(vals)
            out.append(r)
        return out

    return Command("streamstats", run, (current, aggs, by))


def _aggregate(fn: str, vals: list, arg: Optional[str]):
    if fn == "count":
        return float(len(vals))
    if not vals:
        return None
    if fn in ("max", "min", "sum"):
        nums = [V.to_number(v) for v in vals]
        if any(n is None for n in nums):
            raise Undocumented(f"{fn}() over non-numeric values")
        return {"max": max, "min": min, "sum": sum}[fn](nums)
    return vals[-1] if fn == "last" else vals[0]


def _regex_cmd(body: str) -> Command:
    m = re.match(r'^\s*([A-Za-z_][A-Za-z0-9_.{}]*)\s*(!?=)\s*"((?:[^"\\]|\\.)*)"\s*$', body)
    if not m:
        raise Unsupported(f"regex argument {body!r}")
    fname, op, raw = m.group(1), m.group(2), S.unescape_search_string(m.group(3))
    pcre.compile_pcre(raw)

    def matches(r: V.Event) -> bool:
        vals = V.get(r, fname)
        if vals is None:
            return False
        if len(vals) > 1:
            raise Undocumented("the regex command on a multivalue field")
        return pcre.search(raw, V.render(vals[0]))

    def run(rows: Rows) -> Rows:
        if op == "=":
            return [r for r in rows if matches(r)]
        return [r for r in rows if not matches(r)]

    return Command("regex", run, (fname, op, raw))


def _rex_cmd(body: str) -> Command:
    m = re.match(r'^\s*field\s*=\s*([A-Za-z_][A-Za-z0-9_.{}]*)\s+"((?:[^"\\]|\\.)*)"\s*$', body)
    if not m:
        raise Unsupported(f"rex argument {body!r} (only field=<f> \"<regex>\")")
    fname, raw = m.group(1), S.unescape_search_string(m.group(2))
    rx = pcre.compile_pcre(raw)
    if not rx.groupindex:
        raise Unsupported("rex without a named group extracts nothing")

    def run(rows: Rows) -> Rows:
        out = []
        for r in rows:
            r = dict(r)
            vals = V.get(r, fname)
            if vals is not None and len(vals) > 1:
                raise Undocumented("rex on a multivalue field")
            hit = rx.search_groups(V.render(vals[0])) if vals else None
            for name in rx.groupindex:
                if hit is not None and hit.group(name) is not None:
                    r[name] = [hit.group(name)]
            out.append(r)
        return out

    return Command("rex", run, (fname, raw))


def _mvexpand_cmd(body: str) -> Command:
    m = re.fullmatch(r"\s*([A-Za-z_][A-Za-z0-9_.{}]*)\s*", body)
    if not m:
        raise Unsupported(f"mvexpand argument {body!r}")
    fname = m.group(1)

    def run(rows: Rows) -> Rows:
        out = []
        for r in rows:
            vals = V.get(r, fname)
            if vals is None:
                raise Undocumented(f"mvexpand on a result without {fname!r} is not documented")
            for v in vals:
                row = dict(r)
                row[fname] = [v]
                out.append(row)
        return out

    return Command("mvexpand", run, fname)


def _dedup_cmd(body: str) -> Command:
    names = body.replace(",", " ").split()
    if not names or any(not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_.{}]*", n) for n in names) or any("=" in n for n in names):
        raise Unsupported(f"dedup argument {body!r}")

    def run(rows: Rows) -> Rows:
        seen: set = set()
        out = []
        for r in rows:
            key = []
            for n in names:
                vals = V.get(r, n)
                if vals is None:
                    break
                if len(vals) > 1:
                    raise Undocumented(f"dedup by the multivalue field {n!r}")
                key.append(V.render(vals[0]))
            else:
                if tuple(key) not in seen:
                    seen.add(tuple(key))
                    out.append(r)
        return out

    return Command("dedup", run, names)


_TSTATS_AGG = re.compile(r"(count|min\(_time\)|max\(_time\))(?:\s+(?:AS|as)\s+([A-Za-z_][A-Za-z0-9_]*))?\s*")


def _top_level_keyword(text: str, word: str) -> int:
    """Offset of ``word`` as a separate top-level word (outside quotes and parentheses), or -1."""
    depth, in_q, i = 0, False, 0
    while i < len(text):
        c = text[i]
        if in_q:
            if c == "\\":
                i += 2
                continue
            if c == '"':
                in_q = False
        elif c == '"':
            in_q = True
        elif c == "(":
            depth += 1
        elif c == ")":
            depth -= 1
        elif depth == 0 and text.startswith(word, i) and (i == 0 or text[i - 1].isspace()) \
                and (i + len(word) == len(text) or text[i + len(word)].isspace()):
            return i
        i += 1
    return -1


def _dataset_of(name: str) -> "datamodels.DatasetDef":
    ds = datamodels.DATASETS.get(name)
    if ds is None:
        raise Unsupported(f"data model dataset {name!r} is not in the evaluator's CIM table")
    return ds


def _datamodel_cmd(body: str) -> Command:
    """``| datamodel <data model name> <dataset name> search``: the dataset's events, fields named
    ``<dataset>.<field>`` (:mod:`.datamodels`). Other modes and options are outside the subset."""
    words = body.split()
    if len(words) != 3 or words[2] != "search":
        raise Unsupported(f"datamodel {body!r}: only '| datamodel <model> <dataset> search' is supported")
    ds = _dataset_of(f"{words[0]}.{words[1]}")

    def run(rows: Rows) -> Rows:
        return [datamodels.dataset_view(r, ds) for r in rows if datamodels.meets_constraint(r, ds)]

    return Command("datamodel", run, ds)


def _tstats_cmd(body: str) -> Command:
    text = body.strip()
    options: dict[str, str] = {}
    while True:
        m = re.match(r'(summariesonly|fillnull_value|allow_old_summaries)\s*=\s*("(?:[^"\\]|\\.)*"|\S+)\s+', text)
        if not m:
            break
        v = m.group(2)
        options[m.group(1)] = S.unescape_search_string(v[1:-1]) if v.startswith('"') else v
        text = text[m.end():]
    if options.get("summariesonly", "false") not in ("false", "f", "0"):
        raise Unsupported("summariesonly=true reads only summarised events; the evaluator models complete reads")
    f = _top_level_keyword(text, "FROM")
    if f < 0:
        f = _top_level_keyword(text, "from")
    if f < 0:
        raise Unsupported("tstats without FROM datamodel=... is outside the subset eqlc emits")
    aggs_text, rest = text[:f], text[f + 4:].strip()
    aggs: list[tuple[str, str]] = []
    pos = 0
    while pos < len(aggs_text):
        m = _TSTATS_AGG.match(aggs_text, pos)
        if not m:
            raise Unsupported(f"tstats function {aggs_text[pos:]!r}")
        aggs.append((m.group(1), m.group(2) or m.group(1)))
        pos = m.end()
    if not aggs:
        raise SplSyntaxError("tstats needs a statistical function")
    m = re.match(r"datamodel\s*=\s*([A-Za-z0-9_]+\.[A-Za-z0-9_]+)\s*", rest)
    if not m:
        raise Unsupported("tstats FROM must be datamodel=<model>.<dataset>")
    ds = _dataset_of(m.group(1))
    rest = rest[m.end():]
    by: list[str] = []
    b = _top_level_keyword(rest, "BY")
    if b < 0:
        b = _top_level_keyword(rest, "by")
    if b >= 0:
        by = rest[b + 2:].replace(",", " ").split()
        rest = rest[:b]
    rest = rest.strip()
    where = S.Everything()
    if rest:
        if not rest.startswith(("WHERE", "where")):
            raise SplSyntaxError(f"unexpected {rest[:20]!r} in tstats")
        where = S.parse_search(rest[5:])
    fill = options.get("fillnull_value")

    def run(rows: Rows) -> Rows:
        groups: dict[tuple, dict] = {}
        for r in rows:
            if not datamodels.meets_constraint(r, ds):
                continue
            view = datamodels.dataset_view(r, ds)
            if not S.evaluate(where, view):
                continue
            key = []
            for name in by:
                vals = V.get(view, name)
                if vals is None:
                    if fill is None:
                        raise Undocumented(f"tstats BY {name!r} on an event without it (no fillnull_value)")
                    vals = [fill]
                if len(vals) > 1:
                    raise Undocumented(f"tstats BY the multivalue field {name!r}")
                key.append(V.render(vals[0]))
            g = groups.setdefault(tuple(key), {"times": [], "ids": []})
            g["times"].extend(V.to_number(t) for t in r.get("_time", []))
            g["ids"].extend(r.get("_id", []))
        out = []
        for key, g in groups.items():
            row: dict = {name: [v] for name, v in zip(by, key)}
            for fn, alias in aggs:
                if fn == "count":
                    row[alias] = [float(len(g["ids"]))]
                elif g["times"]:
                    row[alias] = [min(g["times"]) if fn.startswith("min") else max(g["times"])]
            row["_eqlc_from"] = list(g["ids"])
            out.append(row)
        return out

    return Command("tstats", run, (ds, where, by))


GENERATING: dict[str, Callable[[str], Command]] = {"tstats": _tstats_cmd, "datamodel": _datamodel_cmd}


def _noop(name: str) -> Callable[[str], Command]:
    return lambda body: Command(name, lambda rows: rows)


COMMANDS: dict[str, Callable[[str], Command]] = {
    "search": _search_cmd,
    "where": _where_cmd,
    "eval": _eval_cmd,
    "sort": _sort_cmd,
    "reverse": lambda body: Command("reverse", lambda rows: list(reversed(rows))),
    "streamstats": _streamstats_cmd,
    "regex": _regex_cmd,
    "mvexpand": _mvexpand_cmd,
    "rex": _rex_cmd,
    "dedup": _dedup_cmd,
    "fields": _noop("fields"),
    "table": _noop("table"),
}


@dataclass
class Pipeline:
    commands: list[Command] = field(default_factory=list)

    def run(self, events: list[V.Event]) -> list[V.Event]:
        rows = list(events)
        for c in self.commands:
            rows = c.run(rows)
        return rows


def parse(text: str) -> Pipeline:
    segments = split_pipeline(text)
    commands = []
    if segments and segments[0] == "":
        first = segments[1] if len(segments) > 1 else ""
        m = re.match(r"([A-Za-z_]+)\b\s*(.*)$", first, re.S)
        if not m or m.group(1) not in GENERATING:
            raise Unsupported("a search starting with a generating command other than tstats or datamodel is outside the subset")
        commands.append(GENERATING[m.group(1)](m.group(2)))
        segments = segments[2:]
        if any(not seg for seg in segments):
            raise SplSyntaxError("empty command between pipes")
        offset = 1
    else:
        offset = 0
    for i, seg in enumerate(segments, offset):
        if not seg:
            raise SplSyntaxError("empty command between pipes")
        m = re.match(r"([A-Za-z_]+)\b\s*(.*)$", seg, re.S)
        name = m.group(1) if m else ""
        if name in COMMANDS and not (i == 0 and name != "search" and re.match(r"[A-Za-z_]+\s*[=!<>]", seg)):
            if i == 0 and name != "search":
                raise Unsupported(f"first command {name!r}")
            commands.append(COMMANDS[name](m.group(2)))
        elif i == 0:
            commands.append(_search_cmd(seg))
        else:
            raise Unsupported(f"command {seg.split()[0]!r} is outside the subset eqlc emits")
    return Pipeline(commands)


def run(text: str, events: list[V.Event]) -> list[V.Event]:
    return parse(text).run(events)
