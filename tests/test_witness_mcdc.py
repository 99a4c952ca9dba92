"""The witness generator's claims, checked against the Python matcher.

* MC/DC: for every atom with a pair, the two events (event queries) or the two scenarios
  (sequences) get different verdicts from the matcher, and a unique-cause pair differs only in
  the atom's field(s) (plus the ECS partner fields kept consistent, e.g. name <-> executable);
* edge cases per atom are present (case, Unicode case traps, missing, null, arrays on ECS array
  fields, wildcard boundaries, quotes, backslashes, ``*``/``?`` as characters);
* sequence scenarios mean what their names say (maxspan boundary, wrong key, until, runs,
  missing events, unordered samples);
* every event is ECS-shaped (``_id``, ``@timestamp``, ``event.category``).
"""

from __future__ import annotations

import re
from pathlib import Path

import orjson
import pytest

from eqlc import ir
from eqlc.fixtures.atoms import skeleton
from eqlc.fixtures.ecs import _ARGS_LINE_PAIRS, _NAME_PATH_PAIRS
from eqlc.fixtures.oracle import Oracle
from eqlc.fixtures.witness import WitnessSet, generate, with_category
from eqlc.loaders import load_file
from eqlc.matcher import matcher
from tests.corpus import CORPUS, EXAMPLE_DIR, all_rules, rule_id

ORACLE = Oracle()
TS = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")

# Rules chosen for the constructs they exercise (list forms, functions, regex, cidrMatch,
# numbers, optional fields, sequences with maxspan/until/runs/missing events, samples).
SEQUENCE_RULES = [
    "integrations/okta/credential_access_okta_mfa_bombing_via_push_notifications.toml",  # until, runs
    "cross-platform/defense_evasion_missing_events_after_alert.toml",  # ![...] missing event
    "linux/credential_access_potential_successful_linux_ssh_bruteforce.toml",  # runs=25, keys in conditions
    "windows/defense_evasion_parent_process_pid_spoofing.toml",  # long join keys, one read by a condition
]
# A network term after a process term testing event.type (two `or` siblings subsume each other,
# so it stays out of the 90%-coverage parametrisation above).
NETWORK_AFTER_PROCESS = "windows/lateral_movement_cmd_service.toml"


def _rules_with(pred, limit: int) -> list:
    out = []
    for r in all_rules():
        if pred(r) and len(out) < limit:
            out.append(r)
    return out


def _has(node: object, kind: type) -> bool:
    if isinstance(node, kind):
        return True
    if isinstance(node, tuple):
        return any(_has(x, kind) for x in node)
    fields = getattr(node, "__dataclass_fields__", None)
    return bool(fields) and any(_has(getattr(node, f), kind) for f in fields if f != "span")


def _event_rules() -> list:
    picks: dict[str, object] = {}
    body = lambda r: r.query.body  # noqa: E731
    for name, pred in {
        "regex": lambda r: _has(body(r), ir.RegexMatch),
        "function": lambda r: _has(body(r), ir.FunctionCall),
        "number": lambda r: _has(body(r), ir.Number),
        "isnull": lambda r: _has(body(r), ir.IsNull),
        "any": lambda r: isinstance(body(r), ir.EventQuery) and body(r).category is None,
    }.items():
        found = _rules_with(lambda r, p=pred: isinstance(body(r), ir.EventQuery) and p(r), 2)
        for r in found:
            picks.setdefault(rule_id(r), r)
    return list(picks.values())


@pytest.fixture(scope="module")
def dracut() -> WitnessSet:
    return generate(load_file(EXAMPLE_DIR / "rule.eql")[0], ORACLE)


def _flat(event: dict, prefix: str = "") -> dict:
    out = {}
    for k, v in event.items():
        key = f"{prefix}.{k}" if prefix else k
        if isinstance(v, dict):
            out.update(_flat(v, key))
        else:
            out[key] = v
    return out


def _partners(field: str) -> set[str]:
    names = {field}
    for a, b in _NAME_PATH_PAIRS + _ARGS_LINE_PAIRS:
        da, db = ".".join(a), ".".join(b)
        count = ".".join(a[:-1] + ("args_count",))
        if field in (da, db) or (a[-1] == "args" and field == count):
            names |= {da, db, count}
    if field in ("file.name", "file.path", "file.extension"):
        names |= {"file.name", "file.path", "file.extension"}
    if field in ("event.category", "event.action"):
        names.add("event.type")  # the type an ECS producer records with that category and action
    if field.rsplit(".", 1)[-1] in ("executable", "path", "working_directory") or field in names & {"file.name", "process.name"}:
        # a rule that does not read host.os.type: its events report the OS whose path style they have
        names.add("host.os.type")
    registry = {"registry.path", "registry.hive", "registry.key", "registry.value"}
    if field in registry:
        names |= registry
    return names


def _check_event_pairs(ws: WitnessSet) -> int:
    m = matcher(ws.rule)
    by_id = {e["_id"]: e for e in ws.events}
    sk = skeleton(with_category(ws.rule.query.body, ws.rule))
    checked = 0
    for a in ws.atoms:
        if a.kind == "none":
            assert a.reason, a
            continue
        sel, rej = by_id[a.true_event], by_id[a.false_event]
        assert m.match(sel) and not m.match(rej), (a.text, sel, rej)
        if a.kind == "unique":
            fields = {".".join(str(p) for p in f) for f in sk.atoms[a.index].fields}
            allowed = set().union(*(_partners(f) for f in fields)) | {"_id", "@timestamp", "_note"}
            fs, fr = _flat(sel), _flat(rej)
            diff = {k for k in set(fs) | set(fr) if fs.get(k) != fr.get(k)}
            assert diff <= allowed, (a.text, diff - allowed)
        checked += 1
    return checked


def test_every_atom_of_the_example_has_a_unique_cause_pair_that_flips(dracut):
    assert len(dracut.atoms) == 24  # the category test + 23 atoms (list forms split per element)
    assert all(a.kind == "unique" for a in dracut.atoms), [a for a in dracut.atoms if a.kind != "unique"]
    assert _check_event_pairs(dracut) == 24


def test_example_witnesses_hold_the_edge_cases(dracut):
    values = [v for e in dracut.events for v in _flat(e).values()]
    strings = [s for v in values for s in (v if isinstance(v, list) else [v]) if isinstance(s, str)]
    events = [_flat(e) for e in dracut.events]
    assert "DRACUT" in strings and "LINUX" in strings  # other ASCII case
    assert any("\u212a" in s or "\u017f" in s or "\u0130" in s for s in strings)  # Unicode case traps
    assert any(not s.isascii() and "\u212a" not in s for s in strings)  # accented letters
    assert any("process.parent.executable" not in e for e in events)  # field missing
    assert any(e.get("process.parent.executable", 0) is None for e in events)  # explicit null
    arrays = [e["process.parent.args"] for e in events if isinstance(e.get("process.parent.args"), list)]
    assert any(len(a) >= 3 for a in arrays)  # one matching element among others (an ECS array field)
    assert not any(isinstance(e.get("process.name"), list) for e in events)  # never on single-valued fields
    assert any('"' in s and "\\" in s for s in strings)  # quotes and backslashes
    assert any("*" in s for s in strings) and any("?" in s for s in strings)  # * and ? as characters
    assert {"/tmp/newroot/", "/tmp/newroot"} <= set(strings)  # both sides of a wildcard boundary
    assert set(dracut.expected) == set(ORACLE.selected(dracut.rule, dracut.events))


@pytest.mark.parametrize("rule", _event_rules(), ids=rule_id)
def test_corpus_event_rule_pairs_flip_under_the_matcher(rule):
    ws = generate(rule, ORACLE)
    covered = _check_event_pairs(ws)
    assert covered >= 0.8 * len(ws.atoms), [(a.text, a.reason) for a in ws.atoms if a.kind == "none"]


def _scenario_of(ws: WitnessSet, event_id: str):
    return next(s for s in ws.scenarios if event_id in s.event_ids)


@pytest.fixture(scope="module", params=SEQUENCE_RULES)
def sequence_ws(request) -> WitnessSet:
    return generate(load_file(CORPUS / request.param)[0], ORACLE)


def test_sequence_pairs_flip_the_scenario_verdict(sequence_ws):
    ws = sequence_ws
    m = matcher(ws.rule)
    by_id = {e["_id"]: e for e in ws.events}
    covered = [a for a in ws.atoms if a.kind != "none"]
    assert len(covered) >= 0.9 * len(ws.atoms)
    for a in covered:
        s_true, s_false = _scenario_of(ws, a.true_event), _scenario_of(ws, a.false_event)
        assert s_true is not s_false
        got_true = ORACLE.selected(m, [by_id[i] for i in s_true.event_ids])
        got_false = ORACLE.selected(m, [by_id[i] for i in s_false.event_ids])
        assert got_true and not got_false, (a.text, s_true.name, s_false.name)


def test_sequence_scenarios_mean_what_they_say(sequence_ws):
    ws = sequence_ws
    by_name = {s.name: s for s in ws.scenarios}
    body = ws.rule.query.body
    first = ws.scenarios[0]
    assert first.name.startswith("in order") and first.selected == first.event_ids
    for s in ws.scenarios:
        if s.name.startswith(("wrong join key", "join key #")) or "past maxspan" in s.name or "runs-1" in s.name:
            assert s.selected == [], s.name
        if s.name in ("last event exactly at maxspan", "until event after the sequence completed"):
            assert s.selected, s.name
        if s.name == "until event between the first and second event":
            assert s.selected == []
        if s.name.startswith("missing-event term") and s.name.endswith("present"):
            assert s.selected == []
        if s.name.endswith("present with another join key"):
            assert s.selected
    if body.maxspan is not None and len(first.event_ids) > 1:
        assert "last event 1 ms past maxspan" in by_name
        ts = [e["@timestamp"] for e in ws.events if e["_id"] in by_name["last event exactly at maxspan"].event_ids]
        assert len(set(ts)) == len(ts)
    if getattr(body, "until", None) is not None:
        assert "until event between the first and second event" in by_name


def test_sequence_join_keys_have_their_ecs_type():
    """Join keys on ECS long fields get numbers (process.pid, process.parent.Ext.real.pid, which
    the rule also tests with `> 0`), keys on keyword fields strings: never "k001-2" in a long."""
    ws = generate(load_file(CORPUS / SEQUENCE_RULES[3])[0], ORACLE)
    seen = {"process.pid": 0, "process.parent.Ext.real.pid": 0, "host.id": 0, "user.id": 0}
    for e in ws.events:
        flat = _flat(e)
        for f in seen:
            if f in flat:
                seen[f] += 1
                kind = str if f in ("host.id", "user.id") else int
                assert isinstance(flat[f], kind) and not isinstance(flat[f], bool), (e["_id"], f, flat[f])
    assert all(seen.values()), seen
    assert ws.scenarios[0].selected == ws.scenarios[0].event_ids


def test_sequence_terms_get_ecs_completion_with_their_category():
    """A network term's event carries the event.type a network producer records, even though
    another term (the process one) reads event.type; the completion never changes a verdict."""
    ws = generate(load_file(CORPUS / NETWORK_AFTER_PROCESS)[0], ORACLE)
    first = ws.scenarios[0]
    by_id = {e["_id"]: e for e in ws.events}
    network = [by_id[i] for i in first.event_ids if by_id[i]["event"]["category"] == ["network"]]
    assert network and all(e["event"].get("type") == ["start"] for e in network)
    assert first.selected == first.event_ids


def test_sample_scenarios_are_unordered():
    rule = next(r for r in all_rules() if isinstance(r.query.body, ir.Sample))
    ws = generate(rule, ORACLE)
    by_name = {s.name: s for s in ws.scenarios}
    assert by_name["in order"].selected and by_name["sample terms in reverse time order (samples are unordered)"].selected
    assert all(not s.selected for n, s in by_name.items() if n.startswith("sample without term"))


@pytest.mark.parametrize("path", ["examples/dracut"] + SEQUENCE_RULES[:2])
def test_witness_events_are_ecs_shaped(path, dracut):
    ws = dracut if path == "examples/dracut" else generate(load_file(CORPUS / path)[0], ORACLE)
    ids = [e["_id"] for e in ws.events]
    assert len(ids) == len(set(ids)) and all(isinstance(i, str) for i in ids)
    for e in ws.events:
        assert TS.match(e["@timestamp"]), e["@timestamp"]
        orjson.loads(orjson.dumps(e))
        flat = _flat(e)
        assert "event.category" in flat or "event" in e, e
    cats = {t.query.category for t in getattr(ws.rule.query.body, "terms", ())} or {ws.rule.query.body.category}
    for e in ws.events:
        if e["_id"] in set(ws.expected):
            cat = _flat(e).get("event.category")
            assert cats == {None} or set(cat if isinstance(cat, list) else [cat]) & cats, e


def test_fixtures_command_writes_witnesses_coverage_and_expectations(tmp_path):
    from typer.testing import CliRunner

    from eqlc.cli import _register, app

    _register()
    res = CliRunner().invoke(app, ["fixtures", str(EXAMPLE_DIR / "rule.eql"), "-o", str(tmp_path)])
    assert res.exit_code == 0, res.output
    import yaml

    exp = yaml.safe_load((tmp_path / "expectations.yaml").read_text())
    events = [orjson.loads(line) for line in (tmp_path / "rule.witnesses.ndjson").read_text().splitlines()]
    cov = orjson.loads((tmp_path / "rule.coverage.json").read_bytes())
    assert exp["rule.eql"]["fixtures"] == "rule.witnesses.ndjson" and len(events) == cov["events"]
    assert cov["mcdc_unique"] == 24 and cov["uncovered"] == []
    rule = load_file(EXAMPLE_DIR / "rule.eql")[0]
    assert exp["rule.eql"]["matches"] == ORACLE.selected(rule, events)
    js = CliRunner().invoke(app, ["fixtures", str(EXAMPLE_DIR / "rule.eql"), "--json"])
    doc = orjson.loads(js.stdout)
    assert doc["totals"]["atoms"] == 24 and doc["totals"]["mcdc_unique"] == 24 and doc["totals"]["uncovered"] == 0
    assert Path(tmp_path / "rule.witnesses.ndjson").stat().st_size > 0
