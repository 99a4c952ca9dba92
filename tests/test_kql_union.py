"""Multi-category queries (``any where`` naming several event categories) as a Kusto ``union`` of
one leg per table (targets/kql/query.py ``union_query``), for both profiles.

Each leg keeps its table's column mapping and facts; a field only another table records is read as
absent in a leg (stated, checked per leg by the fixture adapter); a leg that can never match is
dropped with a stated reason. The queries run on duckdb-kql (which runs ``union``, filling the
columns a leg lacks with null, as Kusto's default ``kind=outer`` does) and must select what the
reference matcher selects among the events inside the stated assumptions; Microsoft's Kusto parser
must find nothing wrong in them.
"""

from __future__ import annotations

import pytest

from eqlc import parse_query
from eqlc.result import Status
from eqlc.rule import Rule
from eqlc.matcher import matcher
from eqlc.targets.kql import TARGET
from tests.test_kql_optional_absent import judged

PROFILES = ["defender", "sentinel-asim"]
TS = "2026-01-01T00:00:0{}Z"


def _rule(text: str, override: str | None = None) -> Rule:
    return Rule(query=parse_query(text), query_text=text, name="kql union", event_category_override=override)


def _host() -> dict:
    return {"id": "h1", "name": "h1", "os": {"type": "windows"}}


def _proc(_id: str, name: str, args: list[str], extra: dict | None = None) -> dict:
    ev = {"_id": _id, "@timestamp": TS.format(1), "host": _host(),
          "event": {"category": ["process"], "type": ["start"], "action": "start"},
          "process": {"name": name, "executable": f"C:\\Windows\\{name}", "pid": 7,
                      "command_line": " ".join(args), "args": args}}
    ev.update(extra or {})
    return ev


def _file(_id: str, fname: str, actor: str = "explorer.exe", category: list[str] | None = None,
          args: list[str] | None = None) -> dict:
    args = args or [actor]
    return {"_id": _id, "@timestamp": TS.format(2), "host": _host(),
            "event": {"category": category or ["file"], "type": ["creation"], "action": "creation"},
            "file": {"name": fname, "path": f"C:\\Temp\\{fname}"},
            "process": {"name": actor, "executable": f"C:\\Windows\\{actor}", "pid": 9,
                        "command_line": " ".join(args), "args": args}}


def _reg(_id: str, value: str) -> dict:
    return {"_id": _id, "@timestamp": TS.format(3), "host": _host(),
            "event": {"category": ["registry"], "type": ["change"], "action": "modification"},
            "registry": {"hive": "HKLM", "key": "Software\\Run", "value": value,
                         "path": f"HKLM\\Software\\Run\\{value}"},
            "process": {"name": "reg.exe", "executable": "C:\\Windows\\reg.exe", "pid": 5,
                        "command_line": "reg.exe", "args": ["reg.exe"]}}


def _net(_id: str, actor: str) -> dict:
    return {"_id": _id, "@timestamp": TS.format(4), "host": _host(),
            "event": {"category": ["network"], "type": ["start", "connection"], "action": "connection_attempted"},
            "destination": {"ip": "10.0.0.1", "port": 443}, "source": {"ip": "10.0.0.2", "port": 5000},
            "process": {"name": actor, "executable": f"C:\\Windows\\{actor}", "pid": 4,
                        "command_line": actor, "args": [actor]}}


EVENTS = [
    _proc("p-enc", "powershell.exe", ["powershell.exe", "-enc"]),
    _proc("p-plain", "cmd.exe", ["cmd.exe", "/c"]),
    # a process event carrying a file.name: the process leg reads file.name as absent, so this
    # event is outside that leg's stated assumption (the matcher selects it through file.name)
    _proc("p-with-file", "cmd.exe", ["cmd.exe"], {"file": {"name": "a.txt"}}),
    _file("f-a", "a.txt"),
    _file("f-b", "b.txt"),
    # the acting process of a file event is process.*: the file leg reads its command line
    _file("f-enc", "c.txt", actor="powershell.exe", args=["powershell.exe", "-enc"]),
    _reg("r-run1", "Run1"),
    _reg("r-other", "Other"),
    _net("n-x", "x.exe"),
    _net("n-y", "y.exe"),
]


def _run(text: str, profile: str, override: str | None = None, events: list[dict] = EVENTS):
    return judged(_rule(text, override), events, profile)


@pytest.mark.parametrize("profile", PROFILES)
def test_union_of_two_categories_each_leg_with_its_own_columns(profile):
    tr, got, want, out = _run(
        'any where event.category in ("file", "process") and (file.name == "a.txt" or process.args == "-enc")', profile)
    assert tr.status is Status.ASSUMPTIONS
    assert tr.output.startswith("union\n"), tr.output
    process, file = ("DeviceProcessEvents", "DeviceFileEvents") if profile == "defender" else ("imProcessCreate", "imFileEvent")
    assert f"({process}" in tr.output and f"({file}" in tr.output
    assert any(n.startswith(f"file.name has no column in {process}") for n in tr.notes), tr.notes
    assert set(out) == {"p-with-file"}, out  # outside the process leg's absent reading of file.name
    assert got == want == ["f-a", "f-enc", "p-enc"]


@pytest.mark.parametrize("profile", PROFILES)
def test_union_of_disjuncts_that_each_name_their_category(profile):
    tr, got, want, out = _run(
        'any where (event.category == "file" and file.name == "b.txt") or '
        '(event.category == "registry" and registry.value == "Run1")', profile)
    assert tr.output.startswith("union\n"), tr.output
    # in each leg the other branch is decided false by the table's category, nothing else is stated
    assert not any("has no column" in n for n in tr.notes), tr.notes
    assert out == {}
    assert got == want == ["f-b", "r-run1"]


@pytest.mark.parametrize("profile", PROFILES)
def test_a_leg_that_can_never_match_is_dropped_with_a_stated_reason(profile):
    tr, got, want, out = _run(
        'any where event.category in ("process", "network") and event.type == "connection" and process.name == "x.exe"',
        profile)
    assert tr.status is Status.ASSUMPTIONS
    assert not tr.output.startswith("union"), tr.output  # one leg left: a plain query
    process = "DeviceProcessEvents" if profile == "defender" else "imProcessCreate"
    assert any(n.startswith(f"the query's condition is false for every row of {process}") for n in tr.notes), tr.notes
    assert got == want == ["n-x"]


@pytest.mark.parametrize("profile", PROFILES)
def test_an_event_in_two_categories_is_judged_once(profile):
    both = _file("fp", "a.txt", category=["file", "process"])
    tr, got, want, out = _run('any where event.category in ("file", "process") and file.name == "a.txt"', profile,
                              events=EVENTS + [both])
    # the process leg reads file.name as absent: "fp" holds one, so it is outside that assumption
    assert set(out) == {"fp", "p-with-file"}, out
    assert got == want == ["f-a"]


@pytest.mark.parametrize("profile", PROFILES)
@pytest.mark.parametrize("text, reason", [
    # events of every category (or none) match: no set of tables holds them all
    ('any where process.name == "cmd.exe"', "does not restrict event.category"),
    ('any where event.category == "file" or process.name == "cmd.exe"', "does not restrict event.category"),
    # intrusion_detection events could match and no table holds them (driver events: defender's
    # DeviceEvents DriverLoad rows, tests/test_kql_driver_load.py)
    ('any where event.category in ("process", "intrusion_detection") and process.name == "x.exe"',
     "table holds `intrusion_detection` events"),
    # a field of the tables' own field set that no table records is not read as absent
    ('any where event.category in ("file", "process") and process.no_such_field == "x"', "process.no_such_field has no column"),
])
def test_what_a_union_cannot_search_is_refused(profile, text, reason):
    tr = TARGET.compile(_rule(text), profile=profile)
    assert tr.status is Status.REFUSED and reason in tr.notes[0], tr.notes


def test_category_override_reads_the_category_word_from_the_named_field():
    # event.category as the override field is the default: the rule compiles as without it
    plain = TARGET.compile(_rule('process where process.name == "cmd.exe"'))
    same = TARGET.compile(_rule('process where process.name == "cmd.exe"', override="event.category"))
    assert same.output == plain.output and same.status is plain.status
    # another field: `start where C` is `any where event.type == "start" and C`, which names no
    # category (events of every category with event.type start match): refused for that reason
    tr = TARGET.compile(_rule('start where process.name == "cmd.exe"', override="event.type"))
    assert tr.status is Status.REFUSED and "does not restrict event.category" in tr.notes[0], tr.notes
    tr, got, want, out = _run('start where event.category in ("process", "network") and process.name == "x.exe"',
                              "defender", override="event.type")
    assert got == want == ["n-x"]


def test_union_queries_have_no_kusto_diagnostics():
    from tests.node.kusto import analyse, declared_tables

    queries = [
        'any where event.category in ("file", "process") and (file.name == "a.txt" or process.args == "-enc")',
        'any where (event.category == "file" and file.name == "b.txt") or (event.category == "registry" and registry.value == "Run1")',
        'any where host.os.type == "windows" and event.category in ("file", "registry", "network") and process.name : "x*" | head 5',
    ]
    emitted = []
    for profile in PROFILES:
        tables = declared_tables(profile)
        texts = [TARGET.compile(_rule(q), profile=profile).output for q in queries]
        assert all(t and t.startswith("union") for t in texts), texts
        emitted.append((profile, texts, analyse(texts, tables)))
    bad = [(p, t, d) for p, texts, diags in emitted for t, d in zip(texts, diags) if d]
    assert not bad, bad


@pytest.mark.parametrize("profile", PROFILES)
def test_a_value_another_category_has_is_decided_false_in_a_leg_and_checked(profile):
    # event.type "start" is no value of the file table's map: the file leg decides it false
    # (stated); a file event that does say "start" is outside that assumption
    odd = _file("f-start", "z.txt", actor="cmd.exe")
    odd["event"]["type"] = ["start"]
    tr, got, want, out = _run(
        'any where event.category in ("file", "process") and '
        '((event.type == "creation" and file.name == "a.txt") or (event.type == "start" and process.name == "cmd.exe"))',
        profile, events=EVENTS + [odd])
    assert tr.status is Status.ASSUMPTIONS, tr.notes
    file = "DeviceFileEvents" if profile == "defender" else "imFileEvent"
    assert any(n.startswith(f"event.type of {file} rows is taken to be one of the values its map lists") for n in tr.notes), tr.notes
    assert set(out) == {"f-start"}, out
    assert got == want == ["f-a", "p-plain", "p-with-file"]


@pytest.mark.parametrize("profile", PROFILES)
def test_a_pattern_on_an_implied_field_is_decided_against_the_implied_values(profile):
    # "st*" matches the process table's implied action "start": taken to hold, stated, and the
    # events whose event.action does not match it are outside that assumption
    other = _proc("p-exec", "cmd.exe", ["cmd.exe"])
    other["event"]["action"] = "exec_event"
    tr, got, want, out = _run('process where event.action : "st*" and process.name == "cmd.exe"', profile,
                              events=EVENTS + [other])
    assert any(n.startswith('event.action like~ "st*" is taken to hold for every') for n in tr.notes), tr.notes
    assert "ActionType" not in tr.output and "EventType" not in tr.output and '"st' not in tr.output
    assert {i for i in out if i.startswith("p-")} == {"p-exec"}, out  # (a fact of a one-table query is checked on every event)
    assert got == want == ["p-plain", "p-with-file"]
    # a pattern no implied value matches is false on every row: alone it never holds ...
    tr = TARGET.compile(_rule('process where event.action : "Image loaded*"'), profile=profile)
    assert tr.status is Status.REFUSED and "never hold" in tr.notes[0], tr.notes
    # ... and in a union it drops the leg it decides (Sysmon's image loads as process events)
    text = ('any where event.category : ("library", "process") and '
            '(event.category == "library" or event.action : "Image loaded*") and process.name == "cmd.exe"')
    if profile == "sentinel-asim":  # ASIM has no image-load table: the library category is refused
        tr = TARGET.compile(_rule(text), profile=profile)
        assert tr.status is Status.REFUSED and "table holds `library` events" in tr.notes[0], tr.notes
        return
    lib = _file("l-1", "x.dll", actor="cmd.exe", category=["library"])
    lib["dll"] = lib.pop("file")
    lib["event"].update(type=["start"], action="load")
    tr, got, want, out = _run(text, profile, events=EVENTS + [lib])
    assert any("Image loaded*\" is taken to be false for every" in n for n in tr.notes), tr.notes
    assert tr.output.split("\n")[0] == "DeviceImageLoadEvents", tr.output
    assert got == want == ["l-1"]


@pytest.mark.parametrize("profile", PROFILES)
def test_a_sequence_step_over_several_categories_has_one_leg_per_table(profile):
    # duckdb-kql does not run scan/partition (tests/data/kql/engine_limits.yaml): the whole query
    # is checked by Kusto.Language, and each leg is run on duckdb-kql on its own: its rows must be
    # the events the step's condition selects (reference matcher) among those inside the assumptions
    import re

    from eqlc.targets.kql.adapter import ID_COLUMN, connect, load_for
    from tests.node.kusto import analyse, declared_tables
    import duckdb_kql

    step = 'any where event.category in ("file", "process") and (file.name == "a.txt" or process.name == "cmd.exe")'
    text = f'sequence by host.id with maxspan=5s [{step}] [network where process.name == "x.exe"]'
    rule = _rule(text)
    tr = TARGET.compile(rule, profile=profile)
    assert tr.status is Status.ASSUMPTIONS, tr.notes
    assert analyse([tr.output], declared_tables(profile)) == [[]]
    legs = re.findall(r"^let (__leg\d+) = (.*?);$", tr.output, re.S | re.M)
    assert [re.search(r"__stage = (\d+)", body).group(1) for _, body in legs] == ["1", "1", "2"]
    out = TARGET.outside_assumptions(rule, tr, EVENTS, profile=profile)
    loaded = load_for(tr, EVENTS, profile)
    first = matcher(_rule(step))
    selected = set()
    for name, body in legs[:2]:
        con = connect(loaded, body)
        rel = duckdb_kql.kql(con, body)
        pos = [d[0] for d in rel.description].index(ID_COLUMN)
        selected |= {row[pos] for row in rel.fetchall()}
    assert selected == {e["_id"] for e in EVENTS if first.match(e) and e["_id"] not in out} == {"f-a", "p-plain"}
    assert set(out) == {"p-with-file"}, out  # a process event with a file.name: outside the process leg's absent reading


def test_a_case_variant_category_is_outside_not_missed():
    """`event.category : (...)` is case-insensitive, so the matcher selects an event whose category
    is ``LIBRARY``; each event is read from the table of its exact category, so no table holds it.
    The translation states that categories are spelled as ECS lists them and the adapter leaves such
    an event out (found by the whole-corpus --broader superset run on
    privilege_escalation_dns_serverlevelplugindll, where the event was silently missed)."""
    text = 'any where event.category : ("library", "process") and process.name : "dns.exe"'
    lib = _proc("lib", "dns.exe", ["dns.exe"], {"event": {"category": ["library"], "type": ["start"], "action": "load"}})
    upper = _proc("upper", "dns.exe", ["dns.exe"], {"event": {"category": ["LIBRARY"], "type": ["start"], "action": "load"}})
    proc = _proc("proc", "dns.exe", ["dns.exe"])
    tr, got, want, out = judged(_rule(text), [lib, upper, proc], "defender")  # ASIM has no library table
    assert any("spelled as ECS lists them" in str(n) for n in tr.notes), tr.notes
    assert "upper" in out and "case variant" in out["upper"]
    assert got == want and "lib" in got and "proc" in got
