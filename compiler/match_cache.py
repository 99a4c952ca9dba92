"""A disk cache of compiled matchers, for `eqlc match`: the same rule compiled at every start.

``eqlc match RULE EVENTS`` runs again and again on the same rule (a hunt over one file after
another, a pipeline stage per batch). Loading the rule, parsing it and generating its code means
importing the loaders, the parser, the IR and the code generator: about half of the command's
start-up (benchmarks/bench_ndjson.py --only startup), paid before the first line is read. The
generated code (eqlc.matcher.compiled) runs with the runtime alone, so the first run stores it,
compiled, with the few facts the command needs of the query (its kind, whether it has pipes, its
prefilter), and later runs rebuild the matcher from it without importing the compiler at all.

What makes an entry valid: its key holds the rule as given (a file's suffix and bytes, or the
query text), every option that changes the compiled code (dialect, the ``--mapping`` file's bytes,
the category, timestamp and tiebreaker fields), the Python version (code objects are stored with
``marshal``, whose format is the interpreter's) and a fingerprint of the code that turns a rule
into a matcher: the name, size and modification time of every module of eqlc's root, ``matcher``,
``loaders`` and ``grammar`` folders and of Lark's and PyYAML's ``__init__`` (installing or editing
any of them changes it; a stat per file, not a read: the fingerprint is taken at every start). An
entry stores its whole key and is used only when it is equal, so a clash of file names is a miss,
never a wrong matcher. Only rules that compiled are stored: an error is always reported from a
fresh parse, with its line and column. Any failure to read or write an entry falls back to
compiling: the cache makes the command faster, never wrong or broken.

Where: ``matcher/`` in eqlc's cache directory (eqlc.cache_dir; ``--no-cache`` or
``EQLC_NO_CACHE=1`` turns it off), private to the user like the parse cache: an entry holds code.
"""

from __future__ import annotations

import marshal
import os
import sys
import zlib
from pathlib import Path
from typing import Any, Optional

_FORMAT = "eqlc-matcher-cache-1"
_FIELDS = {"key": bytes, "kind": str, "dialect": str, "has_pipes": bool, "needles": (list, type(None)),
           "reason": str, "describe": str}


def _code_fingerprint() -> list:
    """(folder, name, size, mtime) of every file the compiled code of a rule depends on (module
    docstring)."""
    from .cache_dir import code_files

    out = []
    for f in code_files(("eqlc", "eqlc.matcher", "eqlc.loaders", "eqlc.grammar"), ("lark", "yaml"), (".py", ".lark", ".yaml")):
        try:
            st = f.stat()
        except OSError:
            continue
        out.append((f.parent.name, f.name, st.st_size, st.st_mtime_ns))
    return out


def key(rule: str, dialect: str, mapping: Optional[str], category: str, timestamp: str,
        tiebreaker: Optional[str]) -> Optional[bytes]:
    """The key of ``eqlc match``'s rule argument with these options, or None (an input that cannot
    be read: the command reports it from the normal path)."""
    try:
        if os.path.exists(rule):
            p = Path(rule)
            source: tuple = ("file", p.suffix.lower(), p.read_bytes())
        else:
            source = ("text", rule)
        mapping_bytes = Path(mapping).read_bytes() if mapping else None
    except OSError:
        return None
    parts = (_FORMAT, sys.version, sys.implementation.cache_tag, _code_fingerprint(), source, dialect,
             mapping_bytes, category, timestamp, tiebreaker)
    return marshal.dumps(parts)


def _path(directory: Path, blob: bytes) -> Path:
    # two checksums make clashes rare; an entry holds its whole key, so a clash is only a miss
    return directory / "matcher" / f"{zlib.crc32(blob):08x}{zlib.adler32(blob):08x}.marshal"


def load(directory: Path, blob: bytes) -> Any:
    """The matcher stored under key ``blob`` (an :class:`eqlc.matcher.compiled.CompiledMatcher`),
    or None (no entry, an entry of another key, or one that cannot be read)."""
    try:
        entry = marshal.loads(_path(directory, blob).read_bytes())
    except Exception:  # noqa: BLE001 - any unreadable entry means "compile it"
        return None
    if not isinstance(entry, dict) or entry.get("format") != _FORMAT or entry.get("key") != blob:
        return None
    if not all(isinstance(entry.get(k), t) for k, t in _FIELDS.items()) or type(entry.get("code")).__name__ != "code":
        return None
    from .matcher.compiled import CompiledMatcher, NeedleSummary

    needles = NeedleSummary(entry["needles"], entry["reason"], entry["describe"])
    return CompiledMatcher(entry["code"], entry["kind"], entry["dialect"], entry["has_pipes"], needles)


def store(directory: Path, blob: bytes, m: Any) -> None:
    """Store matcher ``m`` (an :class:`eqlc.matcher.Matcher`) under key ``blob``."""
    try:
        from .cache_dir import private_write
        from .matcher.compiled import NeedleSummary

        needles = NeedleSummary.of(m.needles)
        entry = {
            "format": _FORMAT, "key": blob, "kind": m.kind, "dialect": m.dialect, "has_pipes": m.has_pipes,
            "code": compile(m.full_source(), "<eqlc matcher>", "exec"),
            "needles": None if needles.needles is None else [(n.text, n.ci) for n in needles.needles],
            "reason": needles.reason, "describe": needles.describe(),
        }
        private_write(_path(directory, blob), marshal.dumps(entry))
    except Exception:  # noqa: BLE001 - a cache that cannot be written only costs time
        pass
