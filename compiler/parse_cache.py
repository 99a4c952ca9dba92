"""A disk cache of parsed queries, for the command that parses the same rule at every start.

``eqlc match RULE EVENTS`` is run again and again on the same rule (a hunt over one file after
another, a pipeline stage per batch). Parsing the rule costs more than half of the command's
start-up: importing Lark, loading its LALR tables and running the contextual lexer, about 0.3G of
the 0.72G instructions of ``eqlc match`` on an empty file (benchmarks/README.md, goal 5). The IR a
parse yields is plain frozen dataclasses, so the first run stores it and later runs load it
without importing Lark at all.

What makes an entry valid: its key is a SHA-256 of the query text, the dialect, the Python
version and a fingerprint of the code that turns text into IR (every module of the ``eqlc``
package root, the grammar directory, and Lark's own version file), so editing or reinstalling
eqlc or Lark invalidates every entry. Only queries that parsed and passed the semantic checks are
stored; an error is never cached (it is reported from a fresh parse, with its line and column).

Where: ``$EQLC_CACHE_DIR``, else ``$XDG_CACHE_HOME/eqlc``, else ``~/.cache/eqlc`` (the directory is
created private to the user, as the files are: an entry is a pickle, and loading a pickle runs
code, so the cache must be writable by the user alone; that is the same trust a user gives their
own home directory). ``EQLC_NO_CACHE=1`` or ``eqlc match --no-cache`` turns it off. Any failure to
read or write an entry (read-only home, full disk, a truncated file, an entry from an
incompatible build) falls back to parsing: the cache can make the command faster, never wrong or
broken.
"""

from __future__ import annotations

import hashlib
import pickle
import sys
from pathlib import Path
from typing import Optional

from . import ir
from .cache_dir import code_files, default_dir, private_write  # noqa: F401 - default_dir: this module's API too

_FORMAT = b"eqlc-parse-cache-1"


def fingerprint_files() -> list[Path]:
    """The files whose contents a parse depends on: every module and grammar file of the package
    root and of ``eqlc.grammar``, and Lark's ``__init__.py`` (it holds Lark's version), found
    without importing Lark."""
    return code_files(("eqlc", "eqlc.grammar"), ("lark",), (".py", ".lark"))


def _code_fingerprint() -> bytes:
    h = hashlib.sha256(_FORMAT)
    h.update(sys.version.encode())
    for f in fingerprint_files():
        h.update(f.name.encode() + b"\0")
        h.update(f.read_bytes())
    return h.digest()


class ParseCache:
    """Parsed queries under one directory, one file per (text, dialect) key."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory / "ir"
        self._fingerprint: Optional[bytes] = None

    def _path(self, text: str, dialect: str) -> Path:
        if self._fingerprint is None:
            self._fingerprint = _code_fingerprint()
        key = hashlib.sha256(self._fingerprint + dialect.encode() + b"\0" + text.encode("utf-8", "surrogatepass"))
        return self.directory / f"{key.hexdigest()}.pickle"

    def load(self, text: str, dialect: str) -> Optional[ir.Query]:
        """The stored IR of ``text``, or ``None`` (no entry, or an entry that cannot be read)."""
        try:
            data = self._path(text, dialect).read_bytes()
            query = pickle.loads(data)
        except Exception:  # noqa: BLE001 - any unreadable entry means "parse it"
            return None
        return query if isinstance(query, ir.Query) else None

    def store(self, text: str, dialect: str, query: ir.Query) -> None:
        """Write the entry (atomically: a reader sees the old state or the whole new file)."""
        try:
            private_write(self._path(text, dialect), pickle.dumps(query, protocol=pickle.HIGHEST_PROTOCOL))
        except Exception:  # noqa: BLE001 - a cache that cannot be written only costs time
            pass
