"""Where eqlc keeps its caches (the parse cache and the compiled-matcher cache of `eqlc match`).

``$EQLC_CACHE_DIR``, else ``$XDG_CACHE_HOME/eqlc``, else ``~/.cache/eqlc``; ``EQLC_NO_CACHE=1`` (or
``eqlc match --no-cache``) turns caching off. A module of its own, importing nothing of eqlc: the
command reads it at every start.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Iterable, Optional


def default_dir() -> Optional[Path]:
    """The cache directory the environment names, or ``None`` when caching is turned off."""
    if os.environ.get("EQLC_NO_CACHE", "") not in ("", "0"):
        return None
    explicit = os.environ.get("EQLC_CACHE_DIR")
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "eqlc"


def code_files(packages: Iterable[str], dists: Iterable[str], suffixes: tuple[str, ...]) -> list[Path]:
    """The files a cache entry depends on, found without importing them: those with ``suffixes``
    directly in each of eqlc's ``packages`` (``eqlc``, ``eqlc.grammar``...: located through their
    import specs, since the grammar is a package of its own folder in a checkout) and the
    ``__init__.py`` of each distribution in ``dists`` (Lark's holds its version). The parse cache
    hashes their contents; the compiled-matcher cache, read at every start, takes their stats."""
    from importlib.util import find_spec

    files: list[Path] = []
    for name in packages:
        spec = find_spec(name)
        for d in (spec.submodule_search_locations or ()) if spec is not None else ():
            files.extend(f for f in sorted(Path(d).iterdir()) if f.suffix in suffixes and f.is_file())
    for name in dists:
        spec = find_spec(name)
        if spec is not None and spec.origin:
            files.append(Path(spec.origin))
    return files


def private_write(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically (a reader sees the old file or the whole new one), the
    directory and the file private to the user: an entry is loaded as code (a pickle, a marshalled
    code object), so only the user may write it. Errors are the caller's to ignore."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
    except BaseException:
        try:
            tmp.unlink()
        except OSError:
            pass
        raise
