"""Run a translation's queries over ECS events in SQLite, as osquery would run them.

Each event becomes the rows osquery would hold for it (:mod:`.adapter`) in a database with
osquery's tables (:mod:`.engine`); the pack's queries for the event's platform run there, and
the event is selected when a query returns the event's own row. Events are loaded one at a
time (the tables are emptied between events) because fixtures reuse pids with different
parents: one ``processes`` table could not hold every fixture's parent at once.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Iterable, Optional

from eqlc.events import values
from eqlc.result import Status, Translation
from eqlc.target import EVENT_ID_FIELD

from . import engine
from .adapter import Adapter, Loaded
from .fields import PLATFORMS, Mapping, TableMap
from .planner import source_of

_FROM = re.compile(r"^FROM (\w+)$", re.MULTILINE)


@dataclass
class PackQuery:
    table: TableMap
    platforms: list[str]
    sql: str


def pack_queries(translation: Translation, mapping: Mapping) -> list[PackQuery]:
    """The queries of a translation, from its packs (the deployed form, one pack per platform);
    a query that runs on several platforms is one PackQuery with every platform."""
    packs = [text for name, text in sorted(translation.artifacts.items()) if name.endswith(".pack.json")]
    if translation.status is Status.REFUSED or not packs:
        return []
    by_sql: dict = {}
    for text in packs:
        for q in json.loads(text)["queries"].values():
            m = _FROM.search(q["query"])
            if not m:
                raise ValueError(f"cannot find the table of the query {q['query']!r}")
            if q["query"] not in by_sql:
                by_sql[q["query"]] = PackQuery(source_of(q["query"], m.group(1), mapping), [], q["query"])
            for p in q["platform"].split(","):
                if p not in by_sql[q["query"]].platforms:
                    by_sql[q["query"]].platforms.append(p)
    return list(by_sql.values())


def event_platform(event: dict, queries: list["PackQuery"], mapping: Mapping) -> str:
    """The osquery platform whose host an event comes from: its ``host.os.type``; for an event
    without one, the first platform (linux, darwin, windows) a query of its category runs on.
    An event is one host's event: it is loaded on that platform's tables only."""
    for os_type in values(event, ("host", "os", "type")):
        platform = mapping.platform_of_os_type(os_type)
        if platform is not None:
            return platform
    served = {p for q in queries if in_table(event, q.table) for p in q.platforms}
    if "windows" in served and _windows_paths(event):
        return "windows"
    return next((p for p in PLATFORMS if p in served), PLATFORMS[0])


_WINDOWS_PATH = re.compile(r"^(?:[A-Za-z]:\\|\\\\)")


_OWN_PATHS = ("process.executable", "file.path", "dll.path")


def _windows_paths(event: dict) -> bool:
    """Does an event without host.os.type read as a Windows host's (its executables and paths
    are drive-letter or UNC paths)? The acting process's executable (else the file's path) decides
    when the event has one: a parent's path does not say where the event was recorded."""
    from .adapter import flat_names

    for name in _OWN_PATHS:
        own = [v for v in values(event, tuple(name.split("."))) if isinstance(v, str) and v]
        if own:
            return any(_WINDOWS_PATH.match(v) for v in own)
    for name in flat_names(event):
        if name.endswith((".executable", ".path")):
            if any(isinstance(v, str) and _WINDOWS_PATH.match(v) for v in values(event, tuple(name.split(".")))):
                return True
    return False


def in_table(event: dict, table: TableMap) -> bool:
    """Does osquery record this event in ``table``? (Its ``event.category``, as ``cat where``
    tests; an event without one only in a source whose rows can have none, e.g. a Security
    event id Elastic's integration gives no category.)"""
    cats = values(event, ("event", "category"))
    if not cats:
        return any(fm.kind == "enum" for fm in (f.get("event.category") for f in table.fields.values()) if fm)
    return bool(set(table.categories) & set(cats))


@dataclass
class Run:
    """One query run over the rows of one event."""

    query: PackQuery
    adapter: Adapter
    loaded: Loaded
    selected: bool


class Runner:
    def __init__(self, mapping: Mapping) -> None:
        self.mapping = mapping
        self.conns: dict = {}
        self.platform = "linux"

    @property
    def conn(self):  # the database of the platform last loaded
        return self._conn(self.platform)

    def _conn(self, platform: str):
        if platform not in self.conns:
            self.conns[platform] = engine.connect(platform)
        return self.conns[platform]

    def load(self, loaded: Loaded, table: TableMap, platform: str = "linux") -> tuple:
        """Empty the tables of ``platform``'s database, insert the rows; return the main row as
        SQLite stored it."""
        self.platform = platform
        conn = self.conn
        for name in self.mapping.schema[platform]:
            conn.execute(f"DELETE FROM {name}")
        rowid = self._insert(table.sql_table, loaded.main)
        for alias, row in loaded.joined.items():
            self._insert(table.joins[alias].table, row)
        return conn.execute(f"SELECT * FROM {table.sql_table} WHERE rowid = ?", (rowid,)).fetchone()

    def _insert(self, table: str, row: dict) -> int:
        cols = list(row)
        cur = self.conn.execute(
            f"INSERT INTO {table} ({', '.join(cols)}) VALUES ({', '.join('?' for _ in cols)})", [row[c] for c in cols]
        )
        return int(cur.lastrowid or 0)

    def selects(self, sql: str, main_row: tuple) -> bool:
        n = len(main_row)
        return any(tuple(r[:n]) == tuple(main_row) for r in self.conn.execute(sql))

    def run_event(self, queries: list[PackQuery], event: dict) -> list["Run"]:
        """Load ``event`` for every query that osquery would run on its host; the outcomes."""
        out = []
        platform = event_platform(event, queries, self.mapping)
        for q in queries:
            if not in_table(event, q.table) or platform not in q.platforms:
                continue
            adapter = Adapter(self.mapping, q.table, platform)
            loaded = adapter.load(event)
            main_row = self.load(loaded, q.table, platform)
            out.append(Run(q, adapter, loaded, self.selects(q.sql, main_row)))
        return out

    def run(self, queries: list[PackQuery], events: Iterable[dict]) -> list[str]:
        return [str(e.get(EVENT_ID_FIELD)) for e in events if any(r.selected for r in self.run_event(queries, e))]

    def close(self) -> None:
        for conn in self.conns.values():
            conn.close()
        self.conns = {}


def execute(translation: Translation, events: Iterable[dict], mapping: Mapping) -> list[str]:
    queries = pack_queries(translation, mapping)
    if not queries:
        return []
    runner = Runner(mapping)
    try:
        return runner.run(queries, events)
    finally:
        runner.close()


def prepare_all(translation: Translation, mapping: Mapping, conns: Optional[dict] = None) -> int:
    """Prepare every query of ``translation`` on every platform it runs on, in osquery's schema of
    that platform (raises on any SQL error); the number of (query, platform) statements prepared."""
    own = conns is None
    conns = {} if conns is None else conns
    n = 0
    try:
        for q in pack_queries(translation, mapping):
            for p in q.platforms:
                if p not in conns:
                    conns[p] = engine.connect(p)
                engine.prepare(conns[p], q.sql)
                n += 1
    finally:
        if own:
            for c in conns.values():
                c.close()
    return n
