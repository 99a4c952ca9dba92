"""``registry.data.strings`` in the KQL (RegistryValueData) and Sigma (Details) targets.

ECS ``registry.data.strings`` is an array: one element for REG_SZ / REG_EXPAND_SZ and numbers,
one per string of a REG_MULTI_SZ value (ECS field reference). RegistryValueData and Sysmon's
Details are one string, and neither Microsoft's table reference nor Sysmon says how several
strings are spelt in it. Both targets therefore follow one policy: the comparison is stated as
exact for events whose ``registry.data.strings`` has at most one element, and each target's own
check (``outside_assumptions``) says which events break that. Sigma's Details also spells data
of numbers its own way ("DWORD (0x00000001)" where Elastic's Sysmon pipeline writes "1"): an exact
value is translated into every Details value that pipeline turns into it (targets/sigma/spelling.py),
with its check; a pattern that could select a number on one side only is refused.

Runs duckdb-kql and pySigma's SQLite output against the reference matcher.
"""

from __future__ import annotations

import pytest

from eqlc import parse_query
from eqlc.matcher import matcher
from eqlc.result import Status
from eqlc.rule import Rule
from eqlc.target import get_target


def _rule(text: str) -> Rule:
    return Rule(query=parse_query(text), query_text=text, name="registry data case", rule_id="registry-data-case")


def _ev(_id: str, strings) -> dict:
    reg = {"path": "HKLM\\SYSTEM\\ControlSet001\\Services\\svc\\ImagePath", "hive": "HKLM",
           "key": "SYSTEM\\ControlSet001\\Services\\svc", "value": "ImagePath"}
    if strings is not None:
        reg["data"] = {"strings": strings}
    return {"_id": _id, "@timestamp": "2026-01-01T00:00:00Z", "event": {"category": ["registry"], "type": ["change"]},
            "host": {"id": "h1", "os": {"type": "windows"}}, "registry": reg}


EVENTS = [
    _ev("dll", ["C:\\evil\\a.dll"]),
    _ev("txt", ["C:\\evil\\a.txt"]),
    _ev("multi-hit", ["C:\\evil\\a.txt", "C:\\evil\\b.dll"]),  # a REG_MULTI_SZ value: any element matches in ES
    _ev("multi-miss", ["x", "y"]),
    _ev("none", None),
]
TARGETS = [("kql", "defender"), ("kql", "sentinel-asim"), ("sigma", None)]
WINDOWS = 'registry where host.os.type == "windows" and event.type == "change" and '


def _run(target: str, profile, text: str, events=EVENTS):
    t = get_target(target)
    rule = _rule(text)
    tr = t.compile(rule, profile=profile)
    assert tr.status is Status.ASSUMPTIONS, tr.notes
    out = t.outside_assumptions(rule, tr, events, profile=profile)
    got = sorted(i for i in t.execute(tr, events, profile=profile) if i not in out)  # judged where assumptions hold
    m = matcher(rule)
    want = sorted(e["_id"] for e in events if m.match(e) and e["_id"] not in out)
    return tr, out, got, want


@pytest.mark.parametrize("target,profile", TARGETS)
@pytest.mark.parametrize("cond", ['registry.data.strings : "*.dll"', 'not registry.data.strings : "*.txt"'])
def test_one_string_column_is_stated_and_multi_string_events_are_outside(target, profile, cond):
    # Regression (issue 13): the KQL target read registry.data.strings from RegistryValueData with no
    # stated assumption, and the Sigma target refused it; both now state it and check it.
    tr, out, got, want = _run(target, profile, WINDOWS + cond)
    assert any("REG_MULTI_SZ" in n and "more than one element" in n for n in tr.notes), tr.notes
    assert set(out) == {"multi-hit", "multi-miss"}
    assert got == want and got  # agrees with the matcher on every one-string event, and selects some


@pytest.mark.parametrize("profile", ["defender", "sentinel-asim"])
def test_a_query_not_reading_the_data_keeps_multi_string_events_in_scope(profile):
    # The several values cannot be loaded into RegistryValueData, but a query that does not read it
    # sees the rest of the row: such events are not excused.
    tr, out, got, want = _run("kql", profile, WINDOWS + 'registry.value : "ImagePath"')
    assert out == {} and got == want == sorted(e["_id"] for e in EVENTS)


def _typed(_id: str, strings, data_type=None) -> dict:
    ev = _ev(_id, strings)
    if data_type is not None:
        ev["registry"].setdefault("data", {})["type"] = data_type
    return ev


# Events as Elastic's Sysmon pipeline writes them (a DWORD/QWORD number in decimal, its type
# SZ_DWORD/SZ_QWORD), as Elastic Defend types them (REG_DWORD), and as text; the fixture adapter
# writes Details in Sysmon's spelling ("DWORD (0x00000001)") for a number type.
SPELT = [
    _typed("dword-0", ["0"], "SZ_DWORD"), _typed("dword-1", ["1"], "REG_DWORD"), _typed("qword-1", ["1"], "SZ_QWORD"),
    _typed("dword-4", ["4"], "SZ_DWORD"), _typed("text-0", ["0"]), _typed("text-hex-0", ["0x00000000"], "REG_SZ"),
    _typed("text-hex-1", ["0x00000001"]), _typed("binary", ["Binary Data"], "REG_BINARY"), _typed("empty-text", ["(Empty)"]),
    _typed("text-dll", ["C:\\evil\\a.dll"]), _ev("none", None),
    # values Elastic's pipeline never writes: outside the stated assumption
    _typed("hex-dword", ["0x00000001"], "REG_DWORD"), _typed("spelt", ["DWORD (0x00000001)"]), _typed("empty", [""]),
]


@pytest.mark.parametrize("cond", [
    'registry.data.strings : ("0", "0x00000000")',  # windows/defense_evasion_amsienable_key_mod.toml
    'registry.data.strings : ("0", "0x00000000", "1", "0x00000001")',  # ..._code_signing_policy_modification_registry
    'registry.data.strings : ("4", "0x00000004")',  # windows/defense_evasion_solarwinds_backdoor_service_disabled_via_reg
    'registry.data.strings : "?*"',  # windows/credential_access_persistence_network_logon_provider_modification.toml
    'registry.data.strings == "1"',
    'not registry.data.strings : ("1", "0x00000001")',
])
def test_sigma_reads_numbers_in_sysmons_details_spelling(cond):
    # Main's registry.data.strings policy (one string, stated and checked) plus Sysmon's spelling of
    # numbers as Elastic's Sysmon pipeline reads it: "0" is Details "0", "DWORD (0x00000000)" or
    # "QWORD (0x00000000-0x00000000)". Executed through pySigma's SQLite output on events whose
    # Details the adapter spells as Sysmon does.
    tr, out, got, want = _run("sigma", None, WINDOWS + cond, SPELT)
    assert any("Sysmon pipeline" in n for n in tr.notes), tr.notes
    assert {"hex-dword", "spelt", "empty"} <= set(out), out
    assert got == want and got, (got, want)
    if "0x00000000" in cond:
        assert "DWORD (0x00000000)" in tr.output and "QWORD (0x00000000-0x00000000)" in tr.output


def test_sigmas_details_spelling_is_the_pipelines_preimage():
    from eqlc.targets.sigma import spelling

    for ecs in ["0", "1", "4", "255", "256", "4095", "0x00000001", "Binary Data", "(Empty)", "C:\\x"]:
        pre = spelling.preimage(ecs)
        assert pre and all(spelling.ecs_of(d) == ecs for d in pre), (ecs, pre)
    assert "QWORD (0x00000001-0x00000000)" in spelling.preimage("256")  # the pipeline's (a << 8) + b
    assert spelling.preimage("") == [] and spelling.preimage("dword (0x00000001)") == []
    assert spelling.ecs_of("") is None
    with pytest.raises(ValueError):  # 17 QWORD spellings: the emitter refuses such a value
        spelling.preimage("4096")


@pytest.mark.parametrize("cond", [
    'registry.data.strings : "1*"',  # could select "1" and "10" but not "DWORD (0x0000000A)"
    'registry.data.strings regex "C:.*"',
])
def test_sigma_refuses_patterns_that_could_select_a_number_on_one_side(cond):
    tr = get_target("sigma").compile(_rule(WINDOWS + cond))
    assert tr.status is Status.REFUSED and "spells numbers otherwise" in tr.notes[0], tr.notes


def test_sigma_keeps_comparisons_no_other_spelling_can_meet():
    tr = get_target("sigma").compile(_rule(WINDOWS + 'registry.data.strings : ("*.dll", "*\\\\Users\\\\*", "*")'))
    assert tr.status is Status.ASSUMPTIONS, tr.notes
    assert "Details" in tr.output


def test_sigma_refuses_a_number_with_too_many_qword_spellings():
    # Elastic's pipeline reads QWORD (0x<a>-0x<b>) as (a << 8) + b, so 4294967295 has 2**24 spellings
    tr = get_target("sigma").compile(_rule(WINDOWS + 'registry.data.strings == "4294967295"'))
    assert tr.status is Status.REFUSED and "in too many ways" in tr.notes[0], tr.notes
