"""process.pid on the `sentinel` KQL profile's SecurityEvent (issue 13, kqlfort): Elastic's System
integration sets it with Java's Long.decode of the EventData ProcessId for the "Rename Common Auth
Fields" event ids (standard.yml 057f555); the query compares the ProcessId text with each integer
by the spellings Long.decode reads as it (raw_tables.java_long_regex).

* The reading runs on duckdb-kql over ProcessId texts written by hand, and is compared with what
  Long.decode gives for each, written by hand from its specification (java.lang.Long#decode: an
  optional sign, then "0x", "0X" or "#" and hex digits, or "0" and octal digits, or decimal; a sign
  after the prefix is an error, "0500" is octal 320, a lone "0x" is an error).
* The corpus rule (a 4624 Kerberos network logon from loopback by process id 0, then a service
  install by the same logon) runs on duckdb-kql against the reference matcher on ECS events.
"""

from __future__ import annotations

from pathlib import Path

import duckdb_kql
import pytest

from eqlc.result import Status
from eqlc.targets.kql import TARGET
from eqlc.targets.kql.adapter import ID_COLUMN, Loaded, connect
from eqlc.targets.kql.profile import load_profile
from tests.test_kql_sentinel import _rule
from tests.winlog_outcome import with_outcome

CORPUS = Path(__file__).resolve().parents[2] / "shared" / "corpus" / "elastic-detection-rules" / "windows"

# ProcessId text -> Long.decode(text) (None: NumberFormatException)
DECODED = {
    "0x1f4": 500, "0X1F4": 500, "#1f4": 500, "0x01F4": 500, "500": 500, "+500": 500, "0764": 500, "00764": 500,
    "-0x1f4": -500, "-500": -500, "0500": 320, "1f4": None, "0x": None, "0x-1f4": None, "": None,
    "0": 0, "00": 0, "0x0": 0, "#0": 0, "-0": 0, "+0x00": 0, "0x1f5": 501,
}


@pytest.mark.parametrize("n", [500, 0, -500, 320])
def test_pid_reading_gives_what_long_decode_gives(n):
    tr = TARGET.compile(_rule(f'authentication where event.code == "4624" and process.pid == {n}'), profile="sentinel")
    assert tr.status is Status.ASSUMPTIONS, tr.notes
    prof = load_profile("sentinel")
    cols = {ID_COLUMN: "string", **prof.columns_of(prof.tables["SecurityEvent"])}
    rows = []
    for i, text in enumerate(DECODED):
        row = {c: ("" if t == "string" else None) for c, t in cols.items()}
        row.update({ID_COLUMN: f"t{i}", "EventID": 4624, "ProcessId": text})
        rows.append(row)
    query = tr.output.rstrip() + f"\n| project {ID_COLUMN}"
    got = sorted(r[0] for r in duckdb_kql.kql(connect(Loaded({"SecurityEvent": (cols, rows)}), query), query).fetchall())
    want = sorted(f"t{i}" for i, v in enumerate(DECODED.values()) if v == n)
    assert got == want and want, (n, got, want)


def test_other_comparisons_and_unpinned_ids_are_refused():
    for text, why in [('authentication where event.code == "4624" and process.pid > 4', "only equality"),
                      ('authentication where event.code == "4688" and process.pid == 4', "pin"),
                      ('authentication where process.pid == 4', "pin")]:
        tr = TARGET.compile(_rule(text), profile="sentinel")
        assert tr.status is Status.REFUSED and any(why in n for n in tr.notes), (text, tr.notes)


def _ev(_id: str, second: int, code: str, logon: str, pid=None, ip: str = "127.0.0.1") -> dict:
    ev = {"_id": _id, "@timestamp": f"2026-01-01T00:00:{second:02d}Z", "host": {"os": {"type": "windows"}},
          "event": {"code": code}, "winlog": {"computer_name": "DC1", "event_data": {}}}
    if code == "4624":
        ev["event"].update({"action": "logged-in", "outcome": "success", "category": ["authentication"]})
        ev["winlog"]["event_data"].update({"ElevatedToken": "%%1843", "AuthenticationPackageName": "Kerberos",
                                           "TargetLogonId": logon})
        ev["winlog"]["logon"] = {"type": "Network"}
        ev["source"] = {"ip": ip}
    else:
        ev["event"].update({"action": "service-installed"})
        ev["winlog"]["event_data"]["SubjectLogonId"] = logon
    if pid is not None:
        ev["process"] = {"pid": pid}
    return with_outcome(ev)


def test_krbrelayup_rule_runs_on_duckdb_kql_as_the_matcher_decides():
    from eqlc.loaders import load_rules
    from eqlc.matcher import matcher

    rule = load_rules(CORPUS / "privilege_escalation_krbrelayup_service_creation.toml")[0]
    events = [
        _ev("relay", 0, "4624", "0x10", pid=0), _ev("svc", 1, "4697", "0x10"),
        _ev("other-pid", 2, "4624", "0x11", pid=4), _ev("svc-other-pid", 3, "4697", "0x11"),
        _ev("no-pid", 4, "4624", "0x12"), _ev("svc-no-pid", 5, "4697", "0x12"),
        _ev("remote", 6, "4624", "0x13", pid=0, ip="10.0.0.5"), _ev("svc-remote", 7, "4697", "0x13"),
    ]
    tr = TARGET.compile(rule, profile="sentinel")
    assert tr.status is Status.ASSUMPTIONS, tr.notes
    out = TARGET.outside_assumptions(rule, tr, events, profile="sentinel")
    assert not out, out
    got = sorted(TARGET.execute(tr, events, profile="sentinel"))
    want = sorted(dict.fromkeys(e["_id"] for m in matcher(rule).run(events, sort=True) for e in m.events))
    assert got == want == ["relay", "svc"], (got, want)


def test_query_parses_with_microsofts_parser():
    from eqlc.loaders import load_rules
    from tests.node.kusto import analyse, declared_tables

    rule = load_rules(CORPUS / "privilege_escalation_krbrelayup_service_creation.toml")[0]
    tr = TARGET.compile(rule, profile="sentinel")
    assert analyse([tr.output], declared_tables("sentinel")) == [[]]
