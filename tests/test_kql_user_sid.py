"""Defender's account columns hold Windows SIDs; Elastic's user.id is a SID on Windows and the
numeric uid on Linux and macOS (targets/kql/shapes.py).

Before this check, `host.os.type == "linux" and user.id == "0"` was emitted as
`OSPlatform in ("Linux") and AccountSid == "0"`, a query that selects nothing Defender records,
and the fixture adapter wrote "0" into AccountSid, so verification called it verified. Now a
comparison with a literal that is no SID, and a rule that reads user.id while pinning a
non-Windows OS, are refused on the defender profile (sentinel-asim's ActorUserId is typed per
OS and still translates), and the adapter sets apart every event whose user.id is no SID.
"""

from __future__ import annotations

import pytest

from eqlc.result import Status
from eqlc.targets.kql import TARGET
from tests.node.kusto import analyse, declared_tables
from tests.test_kql_mapping_gaps import _ev, _rule, _run


@pytest.mark.parametrize("text", [
    'process where host.os.type == "linux" and user.id == "0"',
    'process where user.id != "0" and process.name == "getcap"',
    'process where user.id in ("S-1-5-18", "0")',
    'process where user.id >= "1000000000"',
    'sequence by host.id, user.id [process where host.os.type == "linux"] [file where host.os.type == "linux"]',
    'process where host.os.type : ("linux", "macos") and user.id like "10*"',
])
def test_a_posix_uid_reading_is_refused_on_defender(text):
    tr = TARGET.compile(_rule(text), profile="defender")
    assert tr.status is Status.REFUSED, tr.output
    assert any("user.id" in n and "Windows security identifier" in n for n in tr.notes), tr.notes


def test_the_same_rule_translates_on_asim():
    tr = TARGET.compile(_rule('process where host.os.type == "linux" and user.id == "0"'), profile="sentinel-asim")
    assert tr.status is Status.ASSUMPTIONS, tr.notes


EVENTS = [
    _ev("system", "process", event__type=["start"], user__id="S-1-5-18", process__name="a.exe"),
    _ev("user", "process", event__type=["start"], user__id="S-1-5-21-1-2-3-1001", process__name="b.exe"),
    _ev("no-user", "process", event__type=["start"], process__name="c.exe"),
    # a Linux process with a numeric uid: no Defender row holds it in AccountSid
    _ev("uid", "process", os_type="linux", event__type=["start"], user__id="0", process__name="sh"),
    _ev("lower-sid", "process", event__type=["start"], user__id="s-1-5-18", process__name="d.exe"),
]


@pytest.mark.parametrize("text,selected", [
    ('process where user.id : "S-1-5-18"', {"system"}),
    ('process where user.id like "S-1-5-21*"', {"user"}),
    ('process where not user.id in ("S-1-5-18", "S-1-5-19", "S-1-5-20")', {"user", "no-user"}),
])
def test_sid_comparisons_run_as_the_matcher_decides_inside_the_assumption(text, selected):
    tr, got, want, out = _run("defender", text, EVENTS)
    assert got == want == selected, tr.output
    assert set(out) == {"uid", "lower-sid"}, out
    assert "no SID" not in tr.output
    assert analyse([tr.output], declared_tables("defender")) == [[]]
