"""host.os.type with several values on one event (a generated witness's array edge case).

Defender states the OS once per device (DeviceInfo's latest OSPlatform, joined on DeviceId);
ASIM per row (a value-mapped column). EQL's ``host.os.type == "windows"`` holds on
``["macos", "windows"]`` (any element), but one device row or one column value cannot hold both:
such an event is outside the stated assumption, and reported so. Before this check the Defender
fixture adapter wrote the array's first element as the device's OS, so the translation missed the
event with no reason given (found by the whole-corpus --broader run on
command_and_control_genai_process_suspicious_tld_connection)."""

from __future__ import annotations

import pytest

from tests.test_kql_mapping_gaps import _ev, _run

RULE = 'process where host.os.type == "windows" and process.name == "cmd.exe"'

EVENTS = [
    _ev("win", "process", event__type=["start"], process__name="cmd.exe", process__executable="C:\\Windows\\cmd.exe"),
    _ev("mac", "process", os_type="macos", event__type=["start"], process__name="cmd.exe", process__executable="C:\\Windows\\cmd.exe"),
    _ev("both", "process", os_type=["macos", "windows"], event__type=["start"], process__name="cmd.exe", process__executable="C:\\Windows\\cmd.exe"),
    _ev("both-other-host", "process", os_type=["windows", "linux"], event__type=["start"], process__name="cmd.exe", process__executable="C:\\Windows\\cmd.exe",
        host__id="h2"),
]


# Defender leaves out every event with several OS types (one device, one OSPlatform); ASIM writes
# the first mapped value into the row's DvcOs and leaves out the event only where that row decides
# a leaf otherwise than the event (the value-mapping check), so ["windows", "linux"] stays in.
CASES = [
    ("defender", {"win"}, {"both", "both-other-host"}),
    ("sentinel-asim", {"win", "both-other-host"}, {"both"}),
]


@pytest.mark.parametrize("profile,selected,outside", CASES, ids=[c[0] for c in CASES])
def test_an_event_with_several_os_types_is_outside_the_assumption(profile, selected, outside):
    tr, got, want, out = _run(profile, RULE, EVENTS)
    assert got == want == selected, tr.output
    assert set(out) == outside, out
    if profile == "defender":
        assert all("several values" in why and "host.os.type" in why for why in out.values()), out
