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

Only these commands are supported; anything else raises :class:`Unsupported`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Callable, Optional

from . import eval_lang as E
from . import pcre
from . import search_lang as S
from . import values as V
from .errors import SplSyntaxError, Undocumented, Unsupported


def strip_comments(text: str) -> str:
    out = []
    i = 0
    in_q = False
    while i < len(text):
        c = text[i]
        if in_q:
            out.append(c)
            if c == "\\" and i + 1 < len(text):
                out.append(text[i + 1])
                i += 2
                continue
            if c == '"':
                in_q = False
            i += 1
            continue
        if text.startswith("```", i):
            end = text.find("```", i + 3)
            if end < 0:
                raise SplSyntaxError("unterminated ``` comment", i)
            out.append(" ")
            i = end + 3
            continue
        if c == '"':
            in_q = True
        out.append(c)
        i += 1
    if in_q:
        raise SplSyntaxError("unbalanced quotation mark")
    return "".join(out)


def split_pipeline(text: str) -> list[str]:
    text = strip_comments(text)
    parts: list[str] = []
    buf: list[str] = []
    i = 0
    in_q = False
    while i < len(text):
        c = text[i]
        if c == "\\" and i + 1 < len(text):
            buf.append(text[i : i + 2])
            i += 2
            continue
        if c == '"':
            in_q = not in_q
        if c == "|" and not in_q:
            parts.append("".join(buf))
            buf = []
        else:
            buf.append(c)
        i += 1
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
    if segments and segments[0] == "":
        raise Unsupported("a search starting with a generating command ('| ...') is outside the subset")
    commands = []
    for i, seg in enumerate(segments):
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
