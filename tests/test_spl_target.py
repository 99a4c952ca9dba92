"""The SPL target: emitted text, its meaning through the reference evaluator, escaping, stanza."""

from __future__ import annotations

import re

import json
import string
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from eqlc import ir
from eqlc.loaders import load_file
from eqlc.result import Status
from eqlc.rule import Rule
from eqlc.targets.spl import TARGET
from eqlc.targets.spl import evaluator
from eqlc.targets.spl.savedsearch import cron_for, earliest_for, expand_macros
from tests.corpus import EXAMPLE_DIR

FIXTURES = [json.loads(line) for line in (EXAMPLE_DIR / "fixtures.ndjson").read_text().splitlines() if line.strip()]
EXPECT = yaml.safe_load((EXAMPLE_DIR / "expectations.yaml").read_text())


@pytest.mark.parametrize("name", sorted(EXPECT))
def test_example_selects_the_expected_fixtures(name):
    (rule,) = load_file(EXAMPLE_DIR / name)
    t = TARGET.compile(rule)
    assert t.status is not Status.REFUSED, t.notes
    assert TARGET.execute(t, FIXTURES) == EXPECT[name]["matches"]
    assert len(evaluator.parse(t.output).commands) == 2


def test_example_with_regex_case_folding_is_exact(tmp_path):
    m = tmp_path / "m.yaml"
    m.write_text("options: {case_insensitive: regex}\n")
    (rule,) = load_file(EXAMPLE_DIR / "rule.toml")
    t = TARGET.compile(rule, mapping=str(m))
    assert t.status is Status.EXACT, t.notes
    assert TARGET.execute(t, FIXTURES, mapping=str(m)) == EXPECT["rule.toml"]["matches"]


def rule_of(condition: ir.Expr, category="process", index=("logs-endpoint.events.*",)) -> Rule:
    return Rule(query=ir.Query(ir.EventQuery(category, condition)), query_text="", name="t", index=index)


def F(name: str) -> ir.Field:
    return ir.Field(tuple(name.split(".")))


def E(i, **fields):
    ev = {"_id": i, "event": {"category": ["process"]}}
    for k, v in fields.items():
        node = ev
        parts = k.split("__")
        for p in parts[:-1]:
            node = node.setdefault(p, {})
        node[parts[-1]] = v
    return ev


def run(cond, events, **kw):
    t = TARGET.compile(rule_of(cond), **kw)
    assert t.status is not Status.REFUSED, t.notes
    return TARGET.execute(t, events, **kw), t


def test_equality_is_case_sensitive_and_colon_is_not():
    events = [E("1", process__name="cmd.exe"), E("2", process__name="CMD.EXE"), E("3")]
    assert run(ir.Compare(ir.CompareOp.EQ, F("process.name"), ir.String("cmd.exe")), events)[0] == ["1"]
    pat = (ir.Pattern("CMD.exe"),)
    assert run(ir.WildcardMatch(F("process.name"), pat, True), events)[0] == ["1", "2"]


def test_not_matches_missing_fields_and_arrays_need_no_equal_element():
    events = [E("1", process__args=["a", "-e"]), E("2", process__args=["a"]), E("3")]
    ne = ir.Not(ir.Compare(ir.CompareOp.EQ, F("process.args"), ir.String("-e")))
    assert run(ne, events)[0] == ["2", "3"]
    eq = ir.Compare(ir.CompareOp.EQ, F("process.args"), ir.String("-e"))
    assert run(eq, events)[0] == ["1"]


def test_question_mark_wildcard_and_literal_star():
    events = [E("1", file__path="C:\\x.exe"), E("2", file__path="CC:\\x.exe"), E("3", file__path="*")]
    got, t = run(ir.WildcardMatch(F("file.path"), (ir.Pattern("?:\\x.exe"),), True), events)
    assert got == ["1"] and any("UTF-8" in n for n in t.notes)
    star = ir.Compare(ir.CompareOp.EQ, F("file.path"), ir.String("*"))
    got, t = run(star, events)
    assert got == ["3"] and "*" not in t.output.splitlines()[0].split("event.category")[-1]


def test_cidr_looking_value_is_not_a_search_term():
    events = [E("1", source__ip="10.0.0.0/8"), E("2", source__ip="10.1.2.3")]
    got, t = run(ir.InSet(F("source.ip"), (ir.String("10.0.0.0/8"),), True), events)
    assert got == ["1"]
    assert 'source.ip=' not in t.output.splitlines()[0]


def test_numbers_booleans_and_null_checks():
    events = [E("1", process__pid=4242, x__ok=True), E("2", process__pid=7, x__ok=False), E("3")]
    assert run(ir.Compare(ir.CompareOp.EQ, F("process.pid"), ir.Number(4242)), events)[0] == ["1"]
    assert run(ir.Compare(ir.CompareOp.GT, F("process.pid"), ir.Number(100)), events)[0] == ["1"]
    assert run(ir.Compare(ir.CompareOp.EQ, F("x.ok"), ir.Boolean(False)), events)[0] == ["2"]
    assert run(ir.IsNull(F("process.pid")), events)[0] == ["3"]
    assert run(ir.Not(ir.IsNull(F("process.pid"))), events)[0] == ["1", "2"]


def test_numeric_looking_strings_use_exact_regex():
    events = [E("1", user__id="10"), E("2", user__id="10.0"), E("3", user__id="010")]
    got, t = run(ir.Compare(ir.CompareOp.EQ, F("user.id"), ir.String("10")), events)
    # a value without letters: the search term is exact ("1" does not match "1.0") and no where is needed
    assert got == ["1"] and 'user.id="10"' in t.output and "'user.id'" not in t.output
    got, t = run(ir.Compare(ir.CompareOp.EQ, F("user.id"), ir.String("1e1")), [E("1", user__id="1e1"), E("2", user__id="10")])
    assert got == ["1"] and "mvfind" in t.output


def test_lucene_regex_and_functions():
    events = [E("1", process__name="ab1"), E("2", process__name="AB1"), E("3", process__name="xab1")]
    assert run(ir.RegexMatch(F("process.name"), ("ab[0-9]",), False), events)[0] == ["1"]
    assert run(ir.RegexMatch(F("process.name"), ("ab[0-9]",), True), events)[0] == ["1", "2"]
    sw = ir.FunctionCall("startsWith", (F("process.name"), ir.String("AB")), True)
    assert run(sw, events)[0] == ["1", "2"]
    ln = ir.Compare(ir.CompareOp.GT, ir.FunctionCall("length", (F("process.name"),)), ir.Number(3))
    assert run(ln, events)[0] == ["3"]
    assert run(ir.Not(ln), events)[0] == ["1", "2"]  # script: not(null) is false, so no missing-field match
    cidr = ir.FunctionCall("cidrMatch", (F("source.ip"), ir.String("10.0.0.0/8")))
    assert run(cidr, [E("1", source__ip="10.2.3.4"), E("2", source__ip="11.0.0.1")])[0] == ["1"]


@pytest.mark.parametrize("fn,lit,ci,expected", [
    ("stringContains", "a*b", False, ["dash", "star", "ab", "bs", "q"]),  # * is a wildcard
    ("stringContains", "a\\*b", False, ["star"]),  # the string a\*b: an escaped star, i.e. a literal a*b
    ("stringContains", "a?b", False, ["star", "q"]),
    ("stringContains", "A?B", True, ["star", "q"]),
    ("endsWith", "\\*b", False, ["star", "bs"]),  # ends with *b
    ("endsWith", "x.exe\\", False, ["path"]),  # a trailing backslash is itself literal
    ("stringContains", "", False, ["dash", "star", "ab", "bs", "q", "path", "none"]),  # "**": every value
])
def test_ends_with_and_string_contains_read_their_literal_as_elasticsearch_wildcard_syntax(fn, lit, ci, expected):
    """endsWith/stringContains(field, lit) run in Elasticsearch as Lucene wildcard queries built
    from lit unescaped (eqlc.native_wildcard); the SPL evaluator and the matcher agree."""
    from eqlc.matcher import matcher
    events = [E("dash", process__command_line="a-x-b"), E("star", process__command_line="a*b"),
              E("ab", process__command_line="ab"), E("bs", process__command_line="a\\*b"),
              E("q", process__command_line="aQb"), E("path", process__command_line="c:\\x.exe\\"),
              E("none", process__command_line="zzz"), E("missing")]
    cond = ir.FunctionCall(fn, (F("process.command_line"), ir.String(lit)), ci)
    got, _ = run(cond, events)
    assert got == expected
    ref = matcher(rule_of(cond))
    assert [e["_id"] for e in events if ref.match(e)] == expected


def test_refusals_name_the_construct():
    t = TARGET.compile(rule_of(ir.Compare(ir.CompareOp.EQ, F("a.b"), ir.Arithmetic(ir.ArithOp.ADD, ir.Number(1), ir.Number(2)))))
    assert t.status is Status.REFUSED
    t = TARGET.compile(rule_of(ir.FunctionCall("endsWith", (ir.FunctionCall("substring", (F("file.path"), ir.Number(1))), ir.String("x")))))
    assert t.status is Status.REFUSED and "endsWith" in t.notes[0]
    t = TARGET.compile(rule_of(ir.Compare(ir.CompareOp.EQ, F("process.name"), ir.String("x"))), profile="cim")
    assert t.status is not Status.REFUSED
    t = TARGET.compile(rule_of(ir.Compare(ir.CompareOp.EQ, F("process.code_signature.trusted"), ir.Boolean(True))), profile="cim")
    assert t.status is Status.REFUSED and "process.code_signature.trusted" in t.notes[0] and "Endpoint.Processes" in t.notes[0]


# ---- escaping: adversarial literals round-trip through the emitted SPL and the evaluator -------
ADVERSARIAL = st.lists(
    st.sampled_from(list('abcAZ019 *?%_\\"\'|`()=!<>[]{}.,^$-+/:;#@&~\t\nñÉİKſ') + ["```", "\\\\", "\\\"", "\\|"]),
    min_size=0, max_size=10,
).map("".join)


def _mutations(s: str) -> list[str]:
    return [s + "x", "x" + s, s[:-1], s.swapcase() if s.swapcase() != s else s + "Y"]


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(ADVERSARIAL, st.sampled_from(["eq", "in", "ci_in", "like_exact", "starts"]), st.sampled_from(["search", "regex"]))
def test_adversarial_literals_round_trip(value, op, ci_form):
    f = F("process.command_line")
    cond = {
        "eq": ir.Compare(ir.CompareOp.EQ, f, ir.String(value)),
        "in": ir.InSet(f, (ir.String(value), ir.String("other")), False),
        "ci_in": ir.InSet(f, (ir.String(value),), True),
        "like_exact": ir.WildcardMatch(f, (ir.Pattern(value.replace("*", "").replace("?", "")),), False),
        "starts": ir.FunctionCall("startsWith", (f, ir.String(value)), False),
    }[op]
    mapping = None
    events = [E("hit", process__command_line=value if op != "like_exact" else value.replace("*", "").replace("?", ""))]
    events += [E(f"m{i}", process__command_line=m) for i, m in enumerate(_mutations(events[0]["process"]["command_line"]))]
    t = TARGET.compile(rule_of(cond))
    assert t.status is not Status.REFUSED, t.notes
    pipeline = evaluator.parse(t.output)
    assert [c.name for c in pipeline.commands] in (["search"], ["search", "where"]), t.output
    got = TARGET.execute(t, events, mapping=mapping)
    target_value = events[0]["process"]["command_line"]
    expected = []
    for e in events:
        v = e["process"]["command_line"]
        if op == "ci_in":
            ok = v.translate(_ASCII_LOWER) == target_value.translate(_ASCII_LOWER)
        elif op == "starts":
            ok = v.startswith(target_value)
        else:
            ok = v == target_value
        if ok:
            expected.append(e["_id"])
    assert got == expected, t.output


_ASCII_LOWER = {c: c + 32 for c in range(65, 91)}


def test_a_pipe_or_quote_in_a_value_cannot_inject_a_command():
    value = 'x" | delete | search "'
    t = TARGET.compile(rule_of(ir.InSet(F("process.name"), (ir.String(value),), True)))
    assert [c.name for c in evaluator.parse(t.output).commands] == ["search", "where"]
    assert TARGET.execute(t, [E("1", process__name=value), E("2", process__name="x")]) == ["1"]


# ---- savedsearches.conf ----------------------------------------------------------------------
def test_savedsearch_stanza_for_the_example():
    (rule,) = load_file(EXAMPLE_DIR / "rule.toml")
    t = TARGET.compile(rule)
    assert not any(name.endswith(".savedsearches.conf") for name in t.artifacts)  # the batch app holds the stanza
    files = TARGET.batch_artifacts([t], [rule])
    text = files["eqlc_ecs/default/savedsearches.conf"]
    assert "[Manual Dracut Execution]" in text
    assert "cron_schedule = */5 * * * *" in text and "realtime_schedule = 0" in text
    # Elastic: every 5m over now-9m -> a lagged window of 5 minutes, 4 minutes behind
    assert "dispatch.earliest_time = -9m@m" in text and "dispatch.latest_time = -4m@m" in text
    assert "alert.severity = 3" in text and "action.notable.param.severity = low" in text
    assert 'action.correlationsearch.annotations = {"mitre_attack":["T1542","T1059","T1059.004"]' in text
    # the multi-line search continues with a backslash; its scope macros (one per index pattern,
    # OR-ed) expand to a search selecting what the emitted search selects
    search = text.split("search = ", 1)[1].split("\ndescription = ")[0].replace("\\\n", "\n")
    macros = dict(re.findall(r"\[(\S+)\]\ndefinition = (.*)", files["eqlc_ecs/default/macros.conf"]))
    expanded = expand_macros(search, macros)
    assert search.startswith("(`eqlc_ecs_src_logs_endpoint_events_star`) OR (") and "`" not in expanded
    assert expanded.split("\n", 1)[1] == t.output.split("\n", 1)[1]
    events = [json.loads(l) for l in (EXAMPLE_DIR / "fixtures.ndjson").read_text(encoding="utf-8").splitlines() if l.strip()]
    assert TARGET.run_text(expanded, events) == TARGET.run_text(t.output, events) != []


@pytest.mark.parametrize("ms,cron", [(60_000, "* * * * *"), (300_000, "*/5 * * * *"), (3_600_000, "0 * * * *"),
                                     (7_200_000, "0 */2 * * *"), (86_400_000, "0 0 * * *")])
def test_cron_from_interval(ms, cron):
    assert cron_for(ms) == (cron, None)


def test_cron_approximation_is_stated():
    assert cron_for(30_000)[1] and cron_for(7 * 60_000)[1]
    assert earliest_for("now-9m") == ("-9m", None) and earliest_for("now-2h") == ("-2h", None)


# ---- cim profile: the tstats form and the datamodel search form ----------------------------------
# (the profiles' field mappings, facts and checks: tests/test_spl_profiles.py)
def _cim_event(i, **fields):
    ev = E(i, **fields)
    ev["event"]["type"] = ["start"]  # Endpoint.Processes holds process launches (a fact of the dataset)
    ev.setdefault("host", {}).setdefault("name", "h")
    return ev


def test_cim_tstats_form_when_every_condition_is_a_search_term():
    from eqlc.parser import parse_query

    q = 'process where host.os.type == "windows" and process.name : "cmd.exe" and not user.id : "S-1-5-18"'
    t = TARGET.compile(Rule(query=parse_query(q), query_text=q, name="t", path="r.toml"), profile="cim")
    assert t.status is Status.ASSUMPTIONS
    assert t.output.splitlines()[-1].startswith("| tstats summariesonly=false")
    assert "FROM datamodel=Endpoint.Processes" in t.output
    assert 'WHERE Processes.os="windows" Processes.process_name="cmd.exe" NOT Processes.user_id="S-1-5-18" BY Processes.dest' in t.output
    assert any(n.startswith("the tstats form assumes") for n in t.notes)
    dm = t.artifacts["r.datamodel.spl"]
    assert dm.startswith("| datamodel Endpoint Processes search\n| search ")
    events = [
        _cim_event("1", host__os__type="windows", process__name="CMD.exe"),
        _cim_event("2", host__os__type="windows", process__name="cmd.exe", user__id="s-1-5-18"),
        _cim_event("3", host__os__type="linux", process__name="cmd.exe"),
        _cim_event("5", host__os__type="windows", process__name="cmd.exe"),
    ]
    assert TARGET.execute(t, events) == TARGET.run_text(dm, events, "cim") == ["1", "5"]


def test_cim_without_tstats_form_searches_the_dataset_and_says_why_in_the_stanza():
    from eqlc.parser import parse_query

    q = 'process where process.name == "cmd.exe"'
    rule = Rule(query=parse_query(q), query_text=q, name="t", path="r.toml")
    t = TARGET.compile(rule, profile="cim")
    assert t.output.splitlines()[0] == "| datamodel Endpoint Processes search"
    assert "r.datamodel.spl" not in t.artifacts
    app = TARGET.batch_artifacts([t], [rule], "cim")
    assert "# no tstats form: these conditions need eval (where) semantics" in app["eqlc_cim/default/savedsearches.conf"]
    events = [_cim_event("1", process__name="cmd.exe"), _cim_event("2", process__name="CMD.EXE")]
    assert TARGET.execute(t, events) == ["1"]
    assert TARGET.compile(rule).artifacts == {}
