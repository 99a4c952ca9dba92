"""Code signatures through Defender's DeviceFileCertificateInfo, looked up by the file's SHA1
(targets/kql/certificates.py; defender.yaml cites Microsoft's references).

Each query runs on duckdb-kql over tables the fixture adapter builds from the ECS events (the
certificate rows included, from the same profile entries), and must select what the reference
matcher selects among the events inside the stated assumptions; the events outside them are
asserted exactly, so a check that left out too much or too little fails here. Every emitted
query is also checked by Microsoft's Kusto parser (0 diagnostics)."""

from __future__ import annotations

import pytest

from eqlc import parse_query
from eqlc.result import Status
from eqlc.rule import Rule
from eqlc.targets.kql import TARGET
from tests.test_kql_optional_absent import judged

CERT = "DeviceFileCertificateInfo"


def _rule(text: str) -> Rule:
    return Rule(query=parse_query(text), query_text=text, name="kql certificates")


def _sig(trusted=None, exists=None) -> dict:
    out: dict = {}
    if trusted is not None:
        out["trusted"] = trusted
    if exists is not None:
        out["exists"] = exists
    return out


def _proc(_id: str, trusted=None, sha1=None, parent=None, exists=None, os="windows", second=0) -> dict:
    process: dict = {"name": f"{_id}.exe", "executable": f"C:\\x\\{_id}.exe", "pid": 7, "command_line": f"{_id}.exe"}
    if trusted is not None or exists is not None:
        process["code_signature"] = _sig(trusted, exists)
    if sha1:
        process["hash"] = {"sha1": sha1}
    if parent is not None:
        process["parent"] = {"name": "p.exe", "code_signature": _sig(parent)}
    host: dict = {"id": "h1"}
    if os:
        host["os"] = {"type": os}
    return {"_id": _id, "@timestamp": f"2026-01-01T00:00:{second:02d}Z", "host": host, "process": process,
            "event": {"category": ["process"], "type": ["start"], "action": "start"}}


EVENTS = [
    _proc("t", True), _proc("u", False), _proc("none"), _proc("same1", True, sha1="H", second=1),
    _proc("same2", False, sha1="H", second=2), _proc("unsigned", False, exists=False),
    _proc("mac", True, os="macos"), _proc("pt", True, parent=True), _proc("pu", True, parent=False),
    _proc("multi", [True, False]),
]

NOT_SIGNED_BY_HASH = "same2"  # shares H with same1 (trusted), whose row the lookup keeps


@pytest.mark.parametrize("text, selected, outside", [
    ('process where process.code_signature.trusted == true', ["pt", "pu", "same1", "t"],
     {NOT_SIGNED_BY_HASH, "mac", "multi"}),
    # `not`: a file with no certificate row (none, unsigned) has no trusted, which must_not matches
    ('process where not process.code_signature.trusted == true', ["none", "u", "unsigned"],
     {NOT_SIGNED_BY_HASH, "mac", "multi"}),
    ('process where process.code_signature.trusted != true', ["none", "u", "unsigned"],
     {NOT_SIGNED_BY_HASH, "mac", "multi"}),
    # an unsigned file has no row: its trusted false cannot be read, so that event is outside
    ('process where process.code_signature.trusted == false', ["u"],
     {NOT_SIGNED_BY_HASH, "unsigned", "multi"}),
    ('process where process.code_signature.trusted == null', ["none"], {"unsigned", "mac", "multi"}),
    # the process's and its parent's certificates in one query (two lookups, renamed columns)
    ('process where process.code_signature.trusted == true and process.parent.code_signature.trusted == false', ["pu"],
     {NOT_SIGNED_BY_HASH, "mac", "multi"}),
    ('process where process.parent.code_signature.trusted == true', ["pt"], set()),
])
def test_process_signatures_run_on_duckdb_kql(text, selected, outside):
    tr, got, want, out = judged(_rule(text), EVENTS, "defender")
    assert tr.status is Status.ASSUMPTIONS
    assert f"lookup kind=leftouter ({CERT} | where isnotempty(SHA1)" in tr.output
    assert any(n.startswith("process.") and f"{CERT}.IsTrusted" in n for n in tr.notes), tr.notes
    assert set(out) == outside, out
    assert got == want == selected


def _signer(_id: str, subject=None, trusted=True, sha1=None, exists=None) -> dict:
    e = _proc(_id, trusted, sha1=sha1, exists=exists)
    if subject is not None:
        e["process"]["code_signature"]["subject_name"] = subject
    return e


SIGNERS = [
    _signer("ms", "Microsoft Windows"), _signer("msl", "microsoft windows"), _signer("moz", "Mozilla Corporation"),
    _signer("nosub"), _signer("empty", ""), _signer("nosig", trusted=None),
    _signer("other1", "Microsoft Windows", sha1="S", exists=True), _signer("other2", "Evil Corp", sha1="S"),
]


@pytest.mark.parametrize("text, selected, outside", [
    ('process where process.code_signature.subject_name == "Microsoft Windows"', ["ms", "other1"], {"other2"}),
    ('process where process.code_signature.subject_name : "microsoft*"', ["ms", "msl", "other1"], {"other2"}),
    # a file with no certificate row (nosig) or none recorded (nosub) has no subject_name: must_not matches
    ('process where not process.code_signature.subject_name : "microsoft*"', ["empty", "moz", "nosig", "nosub"], {"other2"}),
    ('process where process.code_signature.subject_name in ("Mozilla Corporation", "Evil Corp")', ["moz"], {"other2"}),
    # "" is read as missing (Kusto's string), stated, and the event holding it is outside
    ('process where process.code_signature.subject_name == null', ["nosig", "nosub"], {"empty"}),
])
def test_subject_name_is_the_rows_signer(text, selected, outside):
    tr, got, want, out = judged(_rule(text), SIGNERS, "defender")
    assert tr.status is Status.ASSUMPTIONS
    assert "SHA1_Signer" in tr.output and any("Signer spelled as Elastic's subject_name" in n for n in tr.notes), tr.notes
    assert set(out) == outside, out
    assert got == want == selected


def test_the_rows_hash_column_is_the_join_key():
    """A hash the rule reads itself is not invented: an event without it has no certificate row."""
    events = [_proc("a", True, sha1="A1"), _proc("b", True), _proc("c", False, sha1="C1")]
    tr, got, want, out = judged(_rule('process where process.hash.sha1 != "zz" and process.code_signature.trusted == true'),
                                events, "defender")
    assert set(out) == {"b"} and "what the query reads" in out["b"]
    assert got == want == ["a"]


def test_acting_process_and_dll_signatures():
    dll_events = []
    for i, (trusted, dll_trusted) in enumerate([(True, False), (False, True), (None, None)]):
        e = _proc(f"l{i}", trusted)
        e["event"] = {"category": ["library"], "action": "load"}
        e["dll"] = {"name": "x.dll", "path": "C:\\x\\x.dll"}
        if dll_trusted is not None:
            e["dll"]["code_signature"] = {"trusted": dll_trusted}
        dll_events.append(e)
    tr, got, want, out = judged(_rule('library where dll.name == "x.dll" and not dll.code_signature.trusted == true'),
                                dll_events, "defender")
    assert "on SHA1" in tr.output and not out
    assert got == want == ["l0", "l2"]
    tr, got, want, out = judged(_rule('library where process.code_signature.trusted == true'), dll_events, "defender")
    assert "on InitiatingProcessSHA1" in tr.output and not out
    assert got == want == ["l0"]
    file_events = [dict(e, event={"category": ["file"], "type": ["creation"], "action": "creation"},
                        file={"name": "f.txt", "path": "C:\\f.txt"}) for e in dll_events]
    tr, got, want, out = judged(_rule('file where file.name == "f.txt" and process.code_signature.trusted == false'),
                                file_events, "defender")
    assert tr.output.startswith("DeviceFileEvents") and not out
    assert got == want == ["l1"]


def test_a_sequence_reads_the_certificate_in_its_leg():
    events = [_proc("s1", False, second=1), _proc("s2", True, second=2)]
    for e in events:
        e["process"]["entity_id"] = "E"
    text = ('sequence by process.entity_id [process where process.code_signature.trusted == false] '
            '[process where process.code_signature.trusted == true]')
    rule = _rule(text)
    tr = TARGET.compile(rule, profile="defender")
    assert tr.status is Status.ASSUMPTIONS, tr.notes
    assert not TARGET.outside_assumptions(rule, tr, events, profile="defender")
    from eqlc.matcher import matcher

    want = sorted({e["_id"] for m in matcher(rule).run(events, sort=True) for e in m.events})
    assert sorted(TARGET.execute(tr, events, profile="defender")) == want == ["s1", "s2"]
    swapped = [_proc("s1", True, second=1), _proc("s2", False, second=2)]
    for e in swapped:
        e["process"]["entity_id"] = "E"
    assert TARGET.execute(tr, swapped, profile="defender") == []


@pytest.mark.parametrize("text, reason", [
    ('process where host.os.type == "macos" and process.code_signature.trusted == true', "non-Windows host"),
    ('process where host.os.type : ("linux", "macos") and not process.parent.code_signature.trusted == true', "non-Windows host"),
    # no row for an unsigned file, and none for an event without code_signature: Elasticsearch tells them apart
    ('process where process.code_signature.exists == false', "process.code_signature.exists has no exact reading"),
    # a field the lookup has no column for, in a rule about non-Windows hosts: the host is the reason that stays
    ('process where host.os.type == "macos" and (process.name == "sh" or process.parent.code_signature.exists == false)',
     "non-Windows host"),
    ('process where host.os.type == "windows" and process.code_signature.status == "trusted"', "process.code_signature.status has no column"),
    ('process where process.code_signature.status == "trusted"', "process.code_signature.status has no column"),
    ('process where string(process.code_signature.trusted) == "true"', "looked up by the file's hash"),
    ('process where process.code_signature.trusted == "true"', "only comparisons with true or false"),
])
def test_what_the_lookup_cannot_say_is_refused(text, reason):
    tr = TARGET.compile(_rule(text), profile="defender")
    assert tr.status is Status.REFUSED and reason in tr.notes[0], tr.notes


def test_certificate_queries_have_no_kusto_diagnostics_and_deploy_with_the_table():
    from tests.node.kusto import analyse, declared_tables

    queries = [
        'process where process.code_signature.trusted == true and process.parent.code_signature.trusted == false',
        'process where not process.code_signature.trusted == true and process.name == "a.exe"',
        'process where process.code_signature.subject_name : ("Microsoft*", "Google LLC") and '
        'not process.parent.code_signature.subject_name == "x"',
        'library where not dll.code_signature.trusted == true and process.code_signature.trusted == true',
        'any where event.category in ("file", "network") and process.code_signature.trusted == false',
        'sequence by host.id with maxspan=1m [process where process.code_signature.trusted == false] '
        '[file where not process.code_signature.trusted == true]',
    ]
    trs = [TARGET.compile(_rule(q), profile="defender") for q in queries]
    assert all(t.output for t in trs), [t.notes for t in trs]
    texts = [t.output for t in trs]
    diags = analyse(texts, declared_tables("defender"))
    assert not [(t, d) for t, d in zip(texts, diags) if d]
    # the Sentinel deployment reads the lookup table over its profile period, and lists it as a data type
    from eqlc.targets.kql import sentinel
    from eqlc.targets.kql.profile import load_profile

    prof = load_profile("defender")
    sr = sentinel.build(_rule(queries[0]), texts[0], prof, [], False)
    assert f"({CERT} | where TimeGenerated > ago(14d) | where isnotempty(SHA1)" in sr.query
    assert CERT in sr.connectors[0]["dataTypes"]
    sentinel_tables = {name: {**cols, "TimeGenerated": "datetime"} for name, cols in declared_tables("defender").items()}
    deployed = analyse([sr.query], sentinel_tables)
    assert deployed == [[]], deployed
    # a Defender custom detection reads the table over the run's lookback, which is said
    import json

    from eqlc.targets.kql import defender_rule

    arts = defender_rule.artifacts(_rule(queries[0]), texts[0], ["DeviceProcessEvents"], [], "r", False)
    assert "DeviceFileCertificateInfo is read over the same lookback" in json.loads(arts["r.defender.eqlc.json"])["lookups"]


def test_an_event_of_two_categories_names_two_files():
    """An event in the process and the library tables: the created process's and the dll's SHA1
    are different files, so rows without a recorded hash get one each (one shared hash would give
    the dll the process's certificate, and the event would be wrongly outside)."""
    from eqlc.matcher import matcher

    both = _proc("both", True)
    both["event"] = {"category": ["process", "library"], "type": ["start"], "action": "start"}
    both["dll"] = {"name": "x.dll", "code_signature": {"trusted": False}}
    later = _proc("later", None, second=1)
    later["event"] = {"category": ["library"], "action": "load"}
    later["dll"] = {"name": "y.dll", "code_signature": {"trusted": False}}
    rule = _rule('sequence by host.id [process where process.code_signature.trusted == true] '
                 '[library where dll.code_signature.trusted == false]')
    tr = TARGET.compile(rule, profile="defender")
    assert tr.status is Status.ASSUMPTIONS, tr.notes
    assert TARGET.outside_assumptions(rule, tr, [both, later], profile="defender") == {}
    want = sorted({e["_id"] for m in matcher(rule).run([both, later], sort=True) for e in m.events})
    assert sorted(TARGET.execute(tr, [both, later], profile="defender")) == want
