"""Drive Microsoft's Kusto.Language (npm ``@kusto/language-service-next``) from the test suite.

All queries of a test process go to ONE ``node kqlcheck.js --serve`` process, kept open (the
library takes ~1 s to load, then a few ms per query). The declared schemas are the vendor tables in
``../shared/schemas/*.json`` (types normalised to Kusto's), plus the columns a profile declares
that the shared file lacks (ASIM's common fields).

If ``tests/node/node_modules`` is missing the helper raises with the install command instead of
skipping: a validation that did not run must never look green.
"""

from __future__ import annotations

import atexit
import json
import shutil
import subprocess
import threading
from pathlib import Path
from typing import Iterable

NODE_DIR = Path(__file__).resolve().parent
ROOT = NODE_DIR.parent.parent
SCHEMAS = ROOT.parent / "shared" / "schemas"
SCHEMA_UPDATES = ROOT / "tests" / "data" / "kql" / "schema_updates.yaml"
INSTALL = "npm ci --prefix tests/node"
# The raw Sentinel tables are not in ../shared/schemas: the project's test data holds them, with
# their sources (tests/data/kql/schemas/microsoft-sentinel-tables.json).
PROJECT_SCHEMAS = ROOT / "tests" / "data" / "kql" / "schemas"
PROFILE_SCHEMA = {"defender": SCHEMAS / "microsoft-defender-xdr.json", "sentinel-asim": SCHEMAS / "microsoft-sentinel-asim.json",
                  "sentinel": PROJECT_SCHEMAS / "microsoft-sentinel-tables.json"}

_TYPES = {
    "string": "string", "long": "long", "int": "int", "integer": "int", "datetime": "datetime",
    "date/time": "datetime", "bool": "bool", "boolean": "bool", "dynamic": "dynamic", "real": "real",
    "double": "real", "guid": "guid", "timespan": "timespan",
}


class KustoSetupError(RuntimeError):
    pass


def require_node() -> str:
    node = shutil.which("node")
    if node is None:
        raise KustoSetupError("node is not installed; the KQL validation needs Node 20+")
    lib = NODE_DIR / "node_modules" / "@kusto" / "language-service-next"
    if not lib.is_dir():
        raise KustoSetupError(f"@kusto/language-service-next is not installed: run `{INSTALL}` from the repository root")
    return node


def kusto_type(vendor_type: str) -> str:
    """The shared ASIM file uses ASIM's logical types (Username, IP address, Enumerated...):
    all of them are strings in Kusto; unknown or empty types are aliases, also strings."""
    return _TYPES.get(vendor_type.strip().lower(), "string")


def vendor_tables(profile: str) -> dict[str, dict[str, str]]:
    """The shared vendor schema, with the columns Microsoft's current reference adds
    (``tests/data/kql/schema_updates.yaml``, each with its source)."""
    import yaml

    data = json.loads(PROFILE_SCHEMA[profile].read_text(encoding="utf-8"))
    out: dict[str, dict[str, str]] = {}
    for table, cols in data["tables"].items():
        out[table] = {c.strip(): kusto_type(t) for c, t in cols.items() if c.strip() and " " not in c.strip()}
    updates = yaml.safe_load(SCHEMA_UPDATES.read_text(encoding="utf-8")).get(profile) or {}
    for table, cols in updates.items():
        out.setdefault(table, {}).update({c: kusto_type(t) for c, t in cols.items()})
    return out


def declared_tables(profile: str) -> dict[str, dict[str, str]]:
    """Vendor tables plus the profile's declared extra columns (added to every table)."""
    from eqlc.targets.kql.profile import load_profile

    tables = vendor_tables(profile)
    prof = load_profile(profile)
    extra: dict[str, str] = {}
    for cols in prof.extra_columns.values():
        extra.update(cols)
    if extra:
        for cols in tables.values():
            for c, t in extra.items():
                cols.setdefault(c, t)
    return tables


class _Server:
    """One ``node kqlcheck.js --serve`` per test process, started on first use and kept open: the
    suite checks queries in dozens of tests, and each fresh node process spent ~1 s loading the
    library before its few ms of analysis."""

    def __init__(self) -> None:
        self.proc: "subprocess.Popen[str] | None" = None
        self.lock = threading.Lock()

    def ask(self, request: str) -> dict:
        with self.lock:
            if self.proc is None or self.proc.poll() is not None:
                self.proc = subprocess.Popen([require_node(), str(NODE_DIR / "kqlcheck.js"), "--serve"], stdin=subprocess.PIPE,
                                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, bufsize=1)
                atexit.register(self.close)
            assert self.proc.stdin is not None and self.proc.stdout is not None
            try:
                self.proc.stdin.write(request + "\n")
                self.proc.stdin.flush()
                line = self.proc.stdout.readline()
            except BrokenPipeError:
                line = ""
            if not line:
                err = self.proc.stderr.read() if self.proc.stderr else ""
                self.proc = None
                raise KustoSetupError(f"kqlcheck.js --serve stopped: {err.strip()}")
            return json.loads(line)

    def close(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.stdin.close()  # type: ignore[union-attr]
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()


_SERVER = _Server()


def analyse(queries: Iterable[str], tables: dict[str, dict[str, str]]) -> list[list[dict]]:
    """Diagnostics per query (an empty list = Kusto.Language found nothing wrong)."""
    require_node()  # the set-up is checked at every call, not only when the server starts
    queries = list(queries)
    answer = _SERVER.ask(json.dumps({"database": "eqlc", "tables": tables, "queries": queries}))
    if "error" in answer:
        raise KustoSetupError(f"kqlcheck.js could not analyse the request: {answer['error']}")
    results = answer["results"]
    if len(results) != len(queries):
        raise KustoSetupError(f"kqlcheck.js answered {len(results)} results for {len(queries)} queries")
    return [r["diagnostics"] for r in results]
