"""The SQLite engine the osquery target runs its queries in (osquery itself is SQLite).

osquery answers SQL with SQLite over virtual tables whose columns are declared with the types of
its table specs (``CREATE TABLE name(col TYPE, ...)``, ``virtual_table.cpp``): TEXT columns
return text (``''`` when osquery had no value), BIGINT/INTEGER columns return integers (NULL when
empty, ``dynamic_table_row.cpp``). The engine here creates ordinary SQLite tables with the same
names, columns and declared types (so type affinity in comparisons is the same), per platform
(a table's columns differ by platform, ``extended_schema``), loaded from osquery's specs in
``schema.json`` beside this module (package data), and registers the osquery SQL functions the
emitter uses (``regex_match``, see :mod:`.regex`). Every query the target emits can be prepared and
run here.
"""

from __future__ import annotations

import ipaddress
import sqlite3
import threading
from typing import Iterable, Optional

from .fields import load_schema
from .regex import regex_match


def inet_aton(value: object) -> Optional[int]:
    """osquery's ``inet_aton(text)`` (``sqlite_string.cpp`` ``ip4StringToDecimalFunc``): NULL for
    NULL, for text containing ':' (IPv6) and for what ``inet_pton(AF_INET)`` rejects; else the
    IPv4 address as an integer."""
    if value is None:
        return None
    text = value if isinstance(value, str) else str(value)
    if ":" in text:
        return None
    try:
        return int(ipaddress.IPv4Address(text))
    except ValueError:
        return None


def register_functions(conn: sqlite3.Connection) -> None:
    """osquery's SQL extensions that emitted queries may call."""
    conn.create_function("regex_match", 3, regex_match, deterministic=True)
    conn.create_function("inet_aton", 1, inet_aton, deterministic=True)


def create_tables(conn: sqlite3.Connection, platform: str = "linux", tables: Optional[Iterable[str]] = None) -> None:
    """osquery's tables as built on ``platform``: its specs' columns plus that platform's
    extended columns; tables not built there do not exist (a query naming them fails to prepare)."""
    schema = load_schema()[platform]
    for name in tables or schema:
        cols = ", ".join(f"{col} {typ}" for col, typ in schema[name].items())
        conn.execute(f"CREATE TABLE {name} ({cols})")


def connect(platform: str = "linux") -> sqlite3.Connection:
    """A fresh in-memory database with osquery's tables on ``platform`` and its SQL functions."""
    conn = sqlite3.connect(":memory:")
    register_functions(conn)
    create_tables(conn, platform)
    return conn


_local = threading.local()


def const_eval(expr_sql: str) -> object:
    """Evaluate a constant SQL expression (no column references) exactly as SQLite does.

    The emitter uses this to decide the value of a predicate over a field whose value is fixed
    for a table (``event.category`` of ``process_events``...), with the very SQL it would emit.
    """
    conn = getattr(_local, "conn", None)
    if conn is None:
        conn = sqlite3.connect(":memory:")
        register_functions(conn)
        _local.conn = conn
    return conn.execute(f"SELECT {expr_sql}").fetchone()[0]


def prepare(conn: sqlite3.Connection, sql: str) -> None:
    """Compile ``sql`` without running it: raises on an unknown column, table or function, or a
    syntax error (``EXPLAIN`` prepares the statement)."""
    conn.execute("EXPLAIN " + sql.rstrip().rstrip(";")).fetchall()
