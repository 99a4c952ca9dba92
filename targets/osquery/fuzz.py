"""Rows osquery could hold, built from a rule's own literals, for differential checks.

A translation is right when, on every row osquery can hold, the SQL selects the row exactly when
Elasticsearch would select the row's ECS view (:meth:`.adapter.Adapter.view_event`). Random rows
rarely meet a rule's conditions, so the values here come from the rule: each literal, its case
variants, its wildcards filled with empty/plain/spaced/non-ASCII text, path prefixes for
file-name fields, neighbours of numbers, and osquery's "no value" markers.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import json
import random
from typing import Iterator

from eqlc import ir

from . import sysmon_decode
from .adapter import Loaded
from .fields import FieldMap, Mapping, TableMap


def literals(node: object, out: list) -> list:
    """Every string/number literal, wildcard pattern text and regex sample under an IR node."""
    if isinstance(node, ir.String):
        out.append(node.value)
    elif isinstance(node, ir.Number):
        out.append(node.value)
    elif isinstance(node, ir.Pattern):
        out.append(node.text)
    elif isinstance(node, ir.RegexMatch):
        out.extend(_regex_samples(p) for p in node.patterns)
    if dataclasses.is_dataclass(node):
        for f in dataclasses.fields(node):
            v = getattr(node, f.name)
            for item in v if isinstance(v, tuple) else (v,):
                if dataclasses.is_dataclass(item):
                    literals(item, out)
    return out


def _regex_samples(pattern: str) -> str:
    """A string close to what a Lucene regex matches: its literal characters, classes as their first member."""
    out = []
    i = 0
    while i < len(pattern):
        c = pattern[i]
        if c == "\\" and i + 1 < len(pattern):
            out.append(pattern[i + 1])
            i += 2
            continue
        if c == "[":
            end = pattern.find("]", i + 1)
            body = pattern[i + 1 : end] if end > 0 else ""
            out.append(body[:1] if body and body[0] != "^" else "x")
            i = end + 1 if end > 0 else i + 1
            continue
        if c not in "()|*+?{}.@#~&<>\"":
            out.append(c)
        elif c == ".":
            out.append("é")
        i += 1
    return "".join(out)


def _fill(text: str, rnd: random.Random) -> str:
    out = []
    for ch in text:
        if ch == "*":
            out.append(rnd.choice(["", "a", "X y/z", "é"]))
        elif ch == "?":
            out.append(rnd.choice(["é", "q"]))
        else:
            out.append(ch)
    return "".join(out)


def _variants(value: object, rnd: random.Random) -> list:
    if isinstance(value, bool):
        return ["true", "false"]
    if isinstance(value, (int, float)):
        n = int(value)
        return [n, n + 1, n - 1, str(n)]
    text = _fill(str(value), rnd)
    swapped = "".join(c.swapcase() if c.isascii() else c for c in text)
    return list(dict.fromkeys([text, text.upper(), text.lower(), swapped, text + "x", "x" + text, text[:-1]]))


class RowMaker:
    """Random rows for one table on one platform, seeded with a rule's literals."""

    def __init__(self, mapping: Mapping, table: TableMap, platform: str, condition: ir.Expr, seed: int = 0) -> None:
        self.mapping = mapping
        self.table = table
        self.platform = platform
        self.rnd = random.Random(seed)
        pool = [v for lit in literals(condition, []) for v in _variants(lit, self.rnd)]
        self.numbers = [p for p in pool if isinstance(p, int)]
        self.texts = [p for p in pool if isinstance(p, str)] or ["x"]
        self.int_texts = [int(t) for t in self.texts if t.lstrip("-").isdigit() and str(int(t)) == t] + self.numbers
        self.fields = dict(table.fields[platform])
        for name in sorted(fields_of(condition)):  # wildcard fields the rule reads (winlog.event_data.X)
            if name not in self.fields:
                fm = table.field(name, platform)
                if fm is not None:
                    self.fields[name] = fm

    def columns(self, table: str) -> dict:
        return self.mapping.schema[self.platform][table]

    def put(self, row: dict, main: dict, fm: FieldMap, value: object) -> None:
        """Store ``value`` for ``fm`` in ``row`` (inside its JSON document for a json field)."""
        col = fm.column_for(main)
        if col is None:
            return
        if fm.json_path:
            doc = json.loads(row[col]) if row.get(col) else {}
            path = fm.json_path_for(main)
            if fm.fallback and self.rnd.random() < 0.4:
                # the value in the fallback key, the first key missing or holding a marker
                first = self.rnd.choice([None] + list(fm.missing))
                self.put(row, main, dataclasses.replace(fm, fallback=""), first)
                doc = json.loads(row[col]) if row.get(col) else {}
                path = fm.fallback
            keys = path.split(".")[1:]
            node = doc
            for k in keys[:-1]:
                node = node.setdefault(k, {})
            if value is not None and fm.decode:
                value = self._encoded(fm, node.get(keys[-1]), str(value))
            if value is None:
                node.pop(keys[-1], None)
            else:
                node[keys[-1]] = str(value)
            row[col] = json.dumps(doc, ensure_ascii=False)
        else:
            if value is not None and fm.decode:
                value = self._encoded(fm, row.get(col), str(value))
            row[col] = value

    def _encoded(self, fm: FieldMap, have: object, value: str) -> str:
        """The EventData text a decoded field is read from, often in the shape Sysmon writes it."""
        if self.rnd.random() < 0.25:
            return value  # any text: the decoding must agree on it too
        if fm.decode == "windows_outcome":
            return sysmon_decode.outcome_keywords(value) or self.rnd.choice(
                ["0x8000000000000000", "0x8030000000000000", "0x20000000000000", "0x802000000000000g"])
        if fm.decode == "sysmon_hive":
            return self.rnd.choice([value + "\\", value + "\\Software\\x", value])
        if fm.decode.startswith("sysmon_hash:"):
            algo = fm.decode.split(":", 1)[1]
            text = have if isinstance(have, str) and self.rnd.random() < 0.5 else None
            return sysmon_decode.with_hash(text, self.rnd.choice([algo, algo.lower()]), value) or value
        return value

    def value(self, fm: FieldMap, table: str) -> object:
        rnd = self.rnd
        sql_type = "TEXT" if fm.json_path else self.columns(table)[fm.column]
        integer = sql_type in ("BIGINT", "INTEGER")
        if fm.kind == "enum":
            return rnd.choice([c for c, _ in fm.values] + [None, "other"] if not integer else [c for c, _ in fm.values] + [None, 99])
        if rnd.random() < 0.12:
            return rnd.choice([None] + list(fm.missing))
        if fm.type == "ip":
            pick = rnd.choice(self.texts)
            try:
                net = ipaddress.ip_network(pick.split("/")[0] + ("/" + pick.split("/")[1] if "/" in pick else ""), strict=False)
                base = int(net.network_address) + rnd.randrange(min(net.num_addresses, 1 << 20))
                addr = ipaddress.ip_address(base)
            except ValueError:
                addr = ipaddress.ip_address(rnd.choice(["10.1.2.3", "8.8.8.8", "fe80::1", "::ffff:10.0.0.9"]))
            return str(addr) if isinstance(addr, ipaddress.IPv4Address) else addr.exploded
        numbers, texts = self.numbers, self.texts
        if integer and fm.type == "long" and fm.kind == "column":
            return rnd.choice(numbers or [0, 1, 4000])
        if integer:  # keyword over an integer column
            return rnd.choice(self.int_texts or [0, 1000])
        text = rnd.choice(texts)
        if fm.kind == "basename":
            sep = fm.separator
            dirs = ["", "/usr/bin/", "/tmp/a b/", "/Ü/"] if sep == "/" else ["", "C:\\Windows\\", "C:\\a b\\", "\\\\Ü\\"]
            text = rnd.choice(dirs) + text.replace(sep, "")
        elif fm.kind == "extension":
            text = ("/tmp/" if fm.separator == "/" else "C:\\t\\") + rnd.choice(["f.", "f.tar.", ".", ""]) + text
        elif fm.kind in ("tokens", "token_count"):
            text = " ".join(rnd.choice(texts) for _ in range(rnd.randint(1, 3)))
        return text

    def rows(self, n: int) -> Iterator[Loaded]:
        table = self.table.sql_table
        for _ in range(n):
            main = {c: None for c in self.columns(table)}
            for col, allowed in self.table.filter:
                main[col] = self.rnd.choice(list(allowed))
            live = [fm for fm in self.fields.values() if fm.column and not fm.join and fm.kind not in ("refuse", "absent")]
            filt = dict(self.table.filter)
            enum_set = {fm.column for fm in live if fm.kind == "enum" and not fm.json_path}
            for fm in sorted(live, key=lambda f: f.kind != "enum"):  # enumerations decide `cases` columns
                if fm.kind != "enum" and not fm.json_path and fm.column in enum_set and main.get(fm.column) is not None \
                        and self.rnd.random() < 0.8:
                    continue  # mostly keep the enumeration's value (event.code beside event.action on eventid)
                if fm.column in filt and not fm.json_path:
                    allowed = filt[fm.column]
                    listed = [c for c, _ in fm.values if c in allowed] if fm.kind == "enum" else []
                    main[fm.column] = self.rnd.choice(listed or list(allowed))
                    continue
                self.put(main, main, fm, self.value(fm, table))
            enum_cols = {fm.column for fm in live if fm.kind == "enum"}
            for fm in live:  # `when` columns no enumeration decides (ntfs_journal_events.partial)
                for c, v in fm.when:
                    if main.get(c) is None and c not in enum_cols:
                        main[c] = self.rnd.choice(list(v) + list(v) + [None] if isinstance(v, tuple) else [v, v, None])
            loaded = Loaded(self.table.name, main)
            for alias, join in self.table.joins.items():
                if join.table == table and main.get(join.on) is not None and main.get(join.on) == main.get(join.key):
                    main[join.on] = 999_999  # no process is its own parent (the join would find the row itself)
                if self.rnd.random() < 0.2:
                    continue  # the parent has exited (the joined row is missing)
                jrow = {c: None for c in self.columns(join.table)}
                for fm in self.fields.values():
                    if fm.join == alias and fm.column:
                        self.put(jrow, main, fm, self.value(fm, join.table))
                key = main.get(join.on)
                if self.columns(table)[join.on] in ("BIGINT", "INTEGER"):
                    if key is None or key == -1 or (join.table == table and key == main.get(join.key)):
                        key = 999_999
                        main[join.on] = key
                elif key is None or key == "":
                    continue  # no path: the joined table has no row for it
                jrow[join.key] = key
                loaded.joined[alias] = jrow
            yield loaded


# ---- witnesses: rows aimed at making the condition true (or false) -------------------------------
def requirements(expr: ir.Expr, want: bool, rnd: random.Random, out: list) -> list:
    """A random way for ``expr`` to come out ``want``: the leaves and the value each must take."""
    if isinstance(expr, ir.Not):
        return requirements(expr.expr, not want, rnd, out)
    if isinstance(expr, (ir.And, ir.Or)):
        every = isinstance(expr, ir.And) == want
        for term in expr.terms if every else [rnd.choice(expr.terms)]:
            requirements(term, want, rnd, out)
        return out
    if isinstance(expr, ir.Boolean):
        return out
    out.append((expr, want))
    return out


def all_leaves(expr: ir.Expr, out: list) -> list:
    if isinstance(expr, ir.Not):
        return all_leaves(expr.expr, out)
    if isinstance(expr, (ir.And, ir.Or)):
        for term in expr.terms:
            all_leaves(term, out)
        return out
    if not isinstance(expr, ir.Boolean):
        out.append(expr)
    return out


def fields_of(expr: object) -> set:
    out: set = set()
    if isinstance(expr, ir.Field):
        out.add(expr.name)
    elif dataclasses.is_dataclass(expr):
        for f in dataclasses.fields(expr):
            v = getattr(expr, f.name)
            for item in v if isinstance(v, tuple) else (v,):
                out |= fields_of(item)
    return out


def _key(fm: FieldMap) -> tuple:
    """What one value decides: a column (of the joined row), or a key of its JSON document."""
    return (fm.join, fm.column, fm.json_path, fm.cases)


_LEAF_MATCHERS: dict = {}  # (leaf, index mapping id) -> reference matcher, shared by all makers
_FIELDS_OF: dict = {}


def _fields_of_leaf(leaf: ir.Expr) -> set:
    got = _FIELDS_OF.get(leaf)
    if got is None:
        got = _FIELDS_OF[leaf] = fields_of(leaf)
    return got


class WitnessMaker(RowMaker):
    """Rows built to satisfy (or falsify) the condition, leaf by leaf, as judged by the reference
    matcher on the rows' ECS view; the rows are then checked as a whole like any other."""

    def __init__(self, mapping: Mapping, table: TableMap, platform: str, condition: ir.Expr, seed: int = 0) -> None:
        super().__init__(mapping, table, platform, condition, seed)
        from eqlc.matcher import matcher

        from .adapter import Adapter
        from .verify import es_index_mapping

        self.condition = condition
        self.adapter = Adapter(mapping, table, platform)
        self._es = es_index_mapping(mapping)
        self._es_key = id(mapping)
        self._matcher = matcher
        self._pools: dict = {}
        self._column_leaves: dict = {}
        for leaf in all_leaves(condition, []):
            for name in _fields_of_leaf(leaf):
                fm = self.fields.get(name)
                if fm is not None and fm.column:
                    self._column_leaves.setdefault(_key(fm), []).append((leaf, True))

    def leaf_holds(self, leaf: ir.Expr, view: dict) -> bool:
        key = (leaf, self._es_key)
        m = _LEAF_MATCHERS.get(key)
        if m is None:
            m = _LEAF_MATCHERS[key] = self._matcher(ir.Query(ir.EventQuery(None, leaf)), mapping=self._es)
        return m.match(view)

    def candidates(self, key: tuple, fm: FieldMap, table: str, leaves: list) -> list:
        """Column values worth trying for the leaves on this column (computed once per column)."""
        pool = self._pools.get(key)
        if pool is None:
            leaves = self._column_leaves.get(key, leaves)
            local = [v for leaf, _ in leaves for lit in literals(leaf, []) for v in _variants(lit, self.rnd)]
            saved = self.numbers, self.texts, self.int_texts
            self.numbers = [p for p in local if isinstance(p, int)] or saved[0]
            self.texts = [p for p in local if isinstance(p, str)] or saved[1]
            self.int_texts = [int(t) for t in self.texts if t.lstrip("-").isdigit() and str(int(t)) == t] + self.numbers or saved[2]
            try:
                pool = [self.value(fm, table) for _ in range(24)]
                if fm.kind == "basename":
                    pool += self.texts[:8]
            finally:
                self.numbers, self.texts, self.int_texts = saved
            pool = list(dict.fromkeys(pool)) + [None] + list(fm.missing)
            self._pools[key] = pool
        return list(pool)

    def witness(self, want: bool) -> Loaded:
        reqs = requirements(self.condition, want, self.rnd, [])
        loaded = next(self.rows(1))
        by_column: dict = {}
        for leaf, value in reqs:
            for name in _fields_of_leaf(leaf):
                fm = self.fields.get(name)
                if fm is None or not fm.column or fm.kind in ("refuse", "absent"):
                    continue
                by_column.setdefault(_key(fm), (fm, [], set()))
                by_column[_key(fm)][1].append((leaf, value))
                by_column[_key(fm)][2].add(name)
        order = sorted(by_column, key=lambda k: (by_column[k][0].kind != "enum", k[0] or ""))
        for key in order:
            fm, leaves, names = by_column[key]
            if fm.join:
                if fm.join not in loaded.joined:
                    continue
                row, table = loaded.joined[fm.join], self.table.joins[fm.join].table
            else:
                row, table = loaded.main, self.table.sql_table
            if not fm.join and not fm.json_path and fm.column in dict(self.table.filter):
                allowed = dict(self.table.filter)[fm.column]
                cands = [c for c, _ in fm.values if c in allowed] if fm.kind == "enum" else list(allowed)
            else:
                cands = self.candidates(key, fm, table, leaves)
            self.rnd.shuffle(cands)
            for cand in cands:
                self.put(row, loaded.main, fm, cand)
                self.sync_joins(loaded)
                view = self.adapter.view_event(loaded, names=names)
                if all(self.leaf_holds(leaf, view) == value for leaf, value in leaves):
                    break
        return loaded

    def sync_joins(self, loaded: Loaded) -> None:
        """Rows joined on a text column (a path) follow the main row's value of it."""
        table = self.table.sql_table
        for alias, join in self.table.joins.items():
            if alias in loaded.joined and self.columns(table)[join.on] not in ("BIGINT", "INTEGER"):
                loaded.joined[alias][join.key] = loaded.main.get(join.on)
