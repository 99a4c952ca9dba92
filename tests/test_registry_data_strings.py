"""``registry.data.strings`` in the KQL (RegistryValueData) and Sigma (Details) targets.

ECS ``registry.data.strings`` is an array: one element for REG_SZ / REG_EXPAND_SZ and numbers,
one per string of a REG_MULTI_SZ value (ECS field reference). RegistryValueData and Sysmon's
Details are one string, and neither Microsoft's table reference nor Sysmon says how several
strings are spelt in it. Both targets therefore follow one policy: the comparison is stated as
exact for events whose ``registry.data.strings`` has at most one element, and each target's own
check (``outside_assumptions``) says which events break that. Sigma's Details also spells data
of other types its own way ("DWORD (0x00000001)" where Winlogbeat's ECS has "1"); a comparison
that could select such a value is refused.

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


@pytest.mark.parametrize("cond", [
    'registry.data.strings : ("0", "0x00000000")',  # windows/defense_evasion_amsienable_key_mod.toml
    'registry.data.strings : "?*"',  # windows/credential_access_persistence_network_logon_provider_modification.toml
    'registry.data.strings regex "C:.*"',
])
def test_sigma_refuses_comparisons_that_could_select_a_value_details_spells_otherwise(cond):
    # Sysmon's Details holds "DWORD (0x00000000)" where Winlogbeat's ECS has "0", "(Empty)" where ECS
    # has "": the Sigma rule would select none of the rule's DWORD positives (or other ones).
    tr = get_target("sigma").compile(_rule(WINDOWS + cond))
    assert tr.status is Status.REFUSED and "Details spells some values otherwise" in tr.notes[0], tr.notes


def test_sigma_keeps_comparisons_no_other_spelling_can_meet():
    tr = get_target("sigma").compile(_rule(WINDOWS + 'registry.data.strings : ("*.dll", "*\\\\Users\\\\*", "*")'))
    assert tr.status is Status.ASSUMPTIONS, tr.notes
    assert "Details" in tr.output
