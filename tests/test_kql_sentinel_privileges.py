"""winlog.event_data.PrivilegeList on the `sentinel` KQL profile (issue 13, kqlfort): SecurityEvent's
PrivilegeList column holds the event's text; Elastic's System integration splits it into a list on
Java's \\s+ for 4672-4674 and 4741-4743 (standard.yml 057f555, the split processor) and keeps it one
string for the other ids. A leaf reads "some element equals L" as L between whitespace or the
text's ends (raw_tables.words_leaf).

* The reading is evaluated by duckdb-kql on PrivilegeList texts written by hand as Windows writes
  them (words separated by "\\r\\n\\t\\t\\t") and compared with the elements Java's split gives,
  written by hand too: a vertical tab separates (Java's \\s has it, RE2's \\s does not), a no-break
  space does not, a longer privilege name is no match, another event id compares the whole text.
* The corpus rule (a 4672 with SeBackupPrivilege and without SeDebugPrivilege, then a 5145 winreg
  access by the same logon) runs on duckdb-kql over rows the fixture adapter writes from ECS events,
  against the reference matcher; events no split can give (a word with a space) are set apart.
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

CORPUS = Path(__file__).resolve().parents[2] / "shared" / "corpus" / "elastic-detection-rules" / "windows"
WIN = "\r\n\t\t\t"

# (id, EventID, PrivilegeList text, the elements Elastic indexes)
TEXTS = [
    ("windows", 4672, f"SeBackupPrivilege{WIN}SeRestorePrivilege{WIN}SeDebugPrivilege", ["SeBackupPrivilege", "SeRestorePrivilege", "SeDebugPrivilege"]),
    ("one", 4672, "SeRestorePrivilege", ["SeRestorePrivilege"]),
    ("longer-name", 4672, "SeRestorePrivilegeX SeBackupPrivilege", ["SeRestorePrivilegeX", "SeBackupPrivilege"]),
    ("vertical-tab", 4673, "SeTcbPrivilege\x0bSeRestorePrivilege", ["SeTcbPrivilege", "SeRestorePrivilege"]),
    ("no-break-space", 4674, "SeTcbPrivilege\u00a0SeRestorePrivilege", ["SeTcbPrivilege\u00a0SeRestorePrivilege"]),
    ("trailing", 4742, "SeRestorePrivilege\r\n", ["SeRestorePrivilege"]),
    ("other-id-whole", 4704, "SeRestorePrivilege SeBackupPrivilege", ["SeRestorePrivilege SeBackupPrivilege"]),
    ("other-id-one", 4705, "SeRestorePrivilege", ["SeRestorePrivilege"]),
    ("empty", 4672, "", []),
]


@pytest.mark.parametrize("literal,ci", [("SeRestorePrivilege", False), ("serestoreprivilege", True),
                                        ("SeTcbPrivilege", False), ("SeRestorePrivilege SeBackupPrivilege", None)])
def test_word_reading_gives_the_elements_java_split_gives(literal, ci):
    op = ":" if ci else "=="
    rule = _rule(f'any where winlog.event_data.PrivilegeList {op} "{literal}"')
    tr = TARGET.compile(rule, profile="sentinel")
    if ci is None:  # a value with whitespace is no element of a split list
        assert tr.status is Status.REFUSED and any("holds whitespace" in n for n in tr.notes), tr.notes
        return
    prof = load_profile("sentinel")
    cols = {ID_COLUMN: "string", **prof.columns_of(prof.tables["SecurityEvent"])}
    rows = []
    for _id, code, text, _ in TEXTS:
        row = {c: ("" if t == "string" else None) for c, t in cols.items()}
        row.update({ID_COLUMN: _id, "EventID": code, "PrivilegeList": text})
        rows.append(row)
    query = tr.output.rstrip() + f"\n| project {ID_COLUMN}"
    got = sorted(r[0] for r in duckdb_kql.kql(connect(Loaded({"SecurityEvent": (cols, rows)}), query), query).fetchall())
    fold = (lambda s: s.lower()) if ci else (lambda s: s)
    want = sorted(_id for _id, _, _, elems in TEXTS if any(fold(e) == fold(literal) for e in elems))
    assert got == want, (literal, got, want)


def _ev(_id: str, second: int, code: str, logon: str = "0x1", privileges=None, target: str = "", computer: str = "DC1") -> dict:
    ev = {"_id": _id, "@timestamp": f"2026-01-01T00:00:{second:02d}Z", "host": {"os": {"type": "windows"}},
          "event": {"code": code}, "winlog": {"computer_name": computer, "event_data": {"SubjectLogonId": logon}}}
    if code == "4672":
        ev["event"].update({"action": "logged-in-special", "category": ["iam"]})
    if privileges is not None:
        ev["winlog"]["event_data"]["PrivilegeList"] = privileges
    if target:
        ev["winlog"]["event_data"]["RelativeTargetName"] = target
    return ev


def test_sebackup_winreg_rule_runs_on_duckdb_kql_as_the_matcher_decides():
    from eqlc.loaders import load_rules

    rule = load_rules(CORPUS / "credential_access_suspicious_winreg_access_via_sebackup_priv.toml")[0]
    events = [
        _ev("backup", 0, "4672", "0x1", ["SeBackupPrivilege", "SeRestorePrivilege"]),
        _ev("winreg", 1, "5145", "0x1", target="winreg"),
        _ev("debug", 2, "4672", "0x2", ["SeBackupPrivilege", "SeDebugPrivilege"]),
        _ev("winreg-debug", 3, "5145", "0x2", target="winreg"),
        _ev("backup-lower", 4, "4672", "0x3", ["sebackupprivilege"]),
        _ev("winreg-lower", 5, "5145", "0x3", target="WINREG"),
        _ev("restore-only", 6, "4672", "0x4", ["SeRestorePrivilege"]),
        _ev("winreg-restore", 7, "5145", "0x4", target="winreg"),
        # outside: a word with a space, which splitting on whitespace cannot give
        _ev("spaced", 8, "4672", "0x5", ["SeBackupPrivilege", "Se Debug"]),
    ]
    from eqlc.matcher import matcher

    tr = TARGET.compile(rule, profile="sentinel")
    assert tr.status is Status.ASSUMPTIONS, tr.notes
    out = TARGET.outside_assumptions(rule, tr, events, profile="sentinel")
    assert set(out) == {"spaced"}, out
    inside = [e for e in events if e["_id"] not in out]
    got = sorted(TARGET.execute(tr, inside, profile="sentinel"))
    want = sorted(dict.fromkeys(e["_id"] for m in matcher(rule).run(inside, sort=True) for e in m.events))
    assert got == want and {"backup", "winreg", "backup-lower", "winreg-lower"} <= set(got), (got, want)
    assert not {"debug", "winreg-debug", "restore-only", "winreg-restore"} & set(got), got


def test_query_parses_with_microsofts_parser():
    from eqlc.loaders import load_rules
    from tests.node.kusto import analyse, declared_tables

    rule = load_rules(CORPUS / "credential_access_suspicious_winreg_access_via_sebackup_priv.toml")[0]
    tr = TARGET.compile(rule, profile="sentinel")
    assert analyse([tr.output], declared_tables("sentinel")) == [[]]
