"""KQL registry mapping, for both profiles: an ECS registry event (registry.hive abbreviated,
registry.key relative to the hive, registry.path = hive\\key\\value) becomes a row whose RegistryKey
spells the hive in full, as Defender (DeviceRegistryEvents) and ASIM (imRegistry: "normalized to
standard root key naming conventions", HKEY_LOCAL_MACHINE\\..., per Microsoft's ASIM Registry Event
normalization schema) record it; the query reads registry.path as RegistryKey\\<value name column>
(RegistryValueName in Defender, RegistryValue in ASIM). Runs the real duckdb-kql engine and the
reference matcher."""

from __future__ import annotations

import pytest

from eqlc import parse_query
from eqlc.matcher import matcher
from eqlc.rule import Rule
from eqlc.targets.kql import TARGET


def _rule(text: str) -> Rule:
    return Rule(query=parse_query(text), query_text=text, name="kql registry case")


def _ev(_id: str, hive: str, key: str, value: str, path: str | None = None) -> dict:
    return {"_id": _id, "@timestamp": "2026-01-01T00:00:00Z", "event": {"category": ["registry"], "type": ["change"]},
            "host": {"id": "h1", "os": {"type": "windows"}},
            "registry": {"hive": hive, "key": key, "value": value,
                         "path": path if path is not None else f"{hive}\\{key}\\{value}"}}


PROFILES = ["defender", "sentinel-asim"]
VALUE_NAME = {"defender": "RegistryValueName", "sentinel-asim": "RegistryValue"}


def _check(text: str, events: list[dict], profile: str) -> tuple[list[str], list[str], dict[str, str]]:
    rule = _rule(text)
    tr = TARGET.compile(rule, profile=profile)
    assert tr.output is not None, tr.notes
    out = TARGET.outside_assumptions(rule, tr, events, profile=profile)
    got = sorted(TARGET.execute(tr, events, profile=profile))
    m = matcher(rule)
    want = sorted(e["_id"] for e in events if m.match(e) and e["_id"] not in out)
    return got, want, out


CONSISTENT = [
    _ev("lm", "HKLM", "SYSTEM\\ControlSet001\\Control\\Lsa", "RunAsPPL"),
    _ev("lm-other", "HKLM", "SYSTEM\\ControlSet001\\Control\\Other", "RunAsPPL"),
    _ev("hku", "HKU", "S-1-5-21-1\\Environment", "windir", path="HKEY_USERS\\S-1-5-21-1\\Environment\\windir"),
    _ev("hku-abbr", "HKU", "S-1-5-21-1\\Environment", "systemroot"),
    _ev("hku-no", "HKU", "S-1-5-21-1\\Environment", "path"),
]


@pytest.mark.parametrize("profile", PROFILES)
def test_hive_agnostic_patterns_select_what_the_matcher_selects_and_excuse_nothing(profile):
    text = ('registry where registry.path : ("*\\\\SYSTEM\\\\*ControlSet*\\\\Control\\\\Lsa\\\\RunAsPPL", '
            '"*\\\\Environment\\\\windir", "*\\\\Environment\\\\systemroot")')
    got, want, out = _check(text, CONSISTENT, profile)
    assert out == {}
    assert got == want == ["hku", "hku-abbr", "lm"]


@pytest.mark.parametrize("profile", PROFILES)
def test_registry_key_is_hive_relative_as_in_ecs(profile):
    got, want, out = _check('registry where registry.key : "SYSTEM\\\\ControlSet001\\\\Control\\\\Lsa"', CONSISTENT, profile)
    assert out == {}
    assert got == want == ["lm"]


@pytest.mark.parametrize("profile", PROFILES)
def test_path_that_is_not_hive_key_value_is_excused_with_the_reason(profile):
    odd = _ev("odd", "HKLM", "SYSTEM\\ControlSet001\\Control\\Lsa", "RunAsPPL", path="\\SYSTEM\\ControlSet001\\Control\\Lsa\\RunAsPPL")
    got, want, out = _check('registry where registry.path : "*\\\\Lsa\\\\RunAsPPL"', CONSISTENT + [odd], profile)
    assert set(out) == {"odd"}
    assert "is not registry.hive\\registry.key\\registry.value" in out["odd"]
    assert got == want == ["lm"]


@pytest.mark.parametrize("profile", PROFILES)
def test_pattern_depending_on_the_hive_spelling_excuses_exactly_the_events_it_depends_on(profile):
    # "HKLM\\*" is true of ECS's abbreviated spelling, false of Defender's HKEY_LOCAL_MACHINE\\...;
    # the HKU events are false under both spellings, so they stay in scope.
    got, want, out = _check('registry where registry.path : "HKLM\\\\*"', CONSISTENT, profile)
    assert set(out) == {"lm", "lm-other"}
    assert all("depends on the hive's spelling" in why for why in out.values())
    assert got == want == []


@pytest.mark.parametrize("profile", PROFILES)
def test_query_reads_the_profiles_own_columns_for_key_and_path(profile):
    # registry.key is never compared with RegistryKey itself (which holds the root key), and
    # registry.path is built from the profile's value-name column: ASIM has no path column.
    tr = TARGET.compile(_rule('registry where registry.path : "*\\\\Lsa\\\\RunAsPPL" and registry.key : "SYSTEM\\\\*"'),
                        profile=profile)
    assert tr.output is not None, tr.notes
    assert f'RegistryKey, @"\\", {VALUE_NAME[profile]}' in tr.output
    assert 'indexof(RegistryKey, @"\\")' in tr.output
    assert any("registry.path is read as RegistryKey\\" + VALUE_NAME[profile] in n for n in tr.notes)


@pytest.mark.parametrize("profile", PROFILES)
def test_value_name_selects_what_the_matcher_selects(profile):
    got, want, out = _check('registry where registry.value : ("windir", "systemroot")', CONSISTENT, profile)
    assert out == {}
    assert got == want == ["hku", "hku-abbr"]


@pytest.mark.parametrize("profile", PROFILES)
def test_event_without_a_hive_is_excused_on_registry_key_with_the_reason(profile):
    # With no registry.hive, RegistryKey would not start with a root key, so reading registry.key
    # as RegistryKey after its first segment would cut a real key segment: excused, never guessed.
    nohive = {"_id": "nohive", "@timestamp": "2026-01-01T00:00:00Z", "event": {"category": ["registry"], "type": ["change"]},
              "host": {"id": "h1", "os": {"type": "windows"}},
              "registry": {"key": "SYSTEM\\ControlSet001\\Control\\Lsa", "value": "RunAsPPL"}}
    got, want, out = _check('registry where registry.key : "SYSTEM\\\\ControlSet001\\\\Control\\\\Lsa"', CONSISTENT + [nohive],
                            profile)
    assert set(out) == {"nohive"}
    assert "registry.key" in out["nohive"]
    assert got == want == ["lm"]
