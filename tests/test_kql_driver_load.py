"""Driver loads (ECS event.category ``driver``) read from Defender's DeviceEvents rows whose
ActionType is DriverLoad (defender profile; defender.yaml cites the sources). Every query on the
table starts with that filter (the table's ``where``), the driver is named in dll.* (Elastic
Defend's driver events), the loader in the InitiatingProcess* columns, and the signature through
the DeviceFileCertificateInfo lookup on the row's SHA1. Queries run on duckdb-kql over tables the
fixture adapter builds from the same YAML, against the reference matcher on the events inside the
stated assumptions, and Microsoft's Kusto parser reports no diagnostic on them."""

from __future__ import annotations

import json

import pytest
import yaml

from eqlc import parse_query
from eqlc.result import Status
from eqlc.rule import Rule
from eqlc.targets.kql import TARGET
from tests.test_kql_optional_absent import judged


def _rule(text: str, name: str = "kql driver load") -> Rule:
    return Rule(query=parse_query(text), query_text=text, name=name)


def _driver(_id: str, name: str, *, pid: int = 4, loader: str = "System", trusted: bool | None = None,
            sha1: str | None = None, dll: bool = True) -> dict:
    """An Elastic Defend driver-load event (the driver in dll.*), or with ``dll=False`` one shaped
    like Sysmon event 6 through Elastic's Windows integration (the driver in file.* only)."""
    event: dict = {"_id": _id, "@timestamp": "2026-01-01T00:00:00Z",
                   "event": {"category": ["driver"]},
                   "host": {"id": "dev-1", "os": {"type": "windows"}},
                   "process": {"name": loader, "pid": pid, "executable": f"C:\\Windows\\System32\\{loader}"}}
    image = {"name": name, "path": f"C:\\Windows\\System32\\drivers\\{name}"}
    if sha1:
        image["hash"] = {"sha1": sha1}
    if trusted is not None:
        image["code_signature"] = {"exists": True, "trusted": trusted}
    event["dll" if dll else "file"] = image
    return event


def _library(_id: str, name: str, loader: str) -> dict:
    return {"_id": _id, "@timestamp": "2026-01-01T00:00:00Z", "event": {"category": ["library"], "action": "load"},
            "host": {"id": "dev-1", "os": {"type": "windows"}},
            "process": {"name": loader, "pid": 1000, "executable": f"C:\\Program Files\\Office\\{loader}"},
            "dll": {"name": name, "path": f"C:\\Windows\\System32\\{name}"}}


def test_a_driver_rule_reads_the_driver_load_rows_of_device_events():
    events = [_driver("evil", "evil.sys"), _driver("good", "good.sys"), _driver("evil-by-user", "evil.sys", pid=4242,
                                                                                   loader="loader.exe")]
    tr, got, want, out = judged(_rule('driver where dll.name : "EVIL.sys" and process.pid == 4'), events, "defender")
    assert tr.status is Status.ASSUMPTIONS
    lines = tr.output.splitlines()
    assert lines[:2] == ["DeviceEvents", '| where ActionType == "DriverLoad"'], lines
    assert "InitiatingProcessId == 4" in tr.output and 'FileName =~ "EVIL.sys"' in tr.output
    assert any("DeviceEvents rows whose ActionType is DriverLoad" in n for n in tr.notes), tr.notes
    assert out == {}
    assert got == want == ["evil"]


def test_a_library_or_driver_union_reads_both_tables_and_reads_file_fields_as_absent_in_the_driver_leg():
    # the shape of the corpus's windows/execution_suspicious_image_load_wmi_ms_office.toml
    rule = _rule('any where host.os.type == "windows" and (event.category : ("library", "driver") or '
                 '(event.category == "process" and event.action : "Image loaded*")) and '
                 'process.name : ("WINWORD.EXE", "EXCEL.EXE") and (?dll.name : "wmiutils.dll" or file.name : "wmiutils.dll")')
    events = [_library("lib-word", "wmiutils.dll", "WINWORD.EXE"), _library("lib-other", "other.dll", "WINWORD.EXE"),
              _driver("drv-word", "wmiutils.dll", pid=77, loader="WINWORD.EXE"),
              _driver("drv-system", "wmiutils.dll"),
              # Sysmon-shaped: the driver only in file.*, which the driver leg reads as absent (stated, checked)
              _driver("drv-sysmon", "wmiutils.dll", pid=77, loader="WINWORD.EXE", dll=False)]
    tr, got, want, out = judged(rule, events, "defender")
    assert tr.status is Status.ASSUMPTIONS
    assert tr.output.startswith("union") and "(DeviceImageLoadEvents" in tr.output and "(DeviceEvents" in tr.output
    assert "DeviceProcessEvents" not in tr.output  # "Image loaded*" is decided false against its implied actions
    assert set(out) == {"drv-sysmon"}, out
    assert got == want == ["drv-word", "lib-word"]


def test_a_driver_signature_is_read_from_the_certificate_lookup_on_the_rows_sha1():
    rule = _rule('driver where process.pid == 4 and dll.code_signature.trusted == false')
    events = [_driver("untrusted", "a.sys", trusted=False, sha1="aa"), _driver("trusted", "b.sys", trusted=True, sha1="bb"),
              _driver("unsigned", "c.sys", sha1="cc")]
    tr, got, want, out = judged(rule, events, "defender")
    assert "DeviceFileCertificateInfo" in tr.output and "on SHA1" in tr.output
    assert out == {}
    assert got == want == ["untrusted"]


@pytest.mark.parametrize("text, reason", [
    # Elastic's driver-event actions are not documented against DriverLoad rows
    ('driver where event.action == "load" and dll.name == "a.sys"', "field event.action has no column in DeviceEvents"),
    ('driver where dll.code_signature.exists == false', "field dll.code_signature.exists has no exact reading in DeviceEvents"),
    ('driver where dll.code_signature.status == "errorExpired"', "field dll.code_signature.status has no column in DeviceEvents"),
])
def test_what_driver_load_rows_do_not_record_is_refused(text, reason):
    tr = TARGET.compile(_rule(text), profile="defender")
    assert tr.status is Status.REFUSED
    assert tr.notes[0].startswith(reason), tr.notes


def test_the_asim_profile_still_has_no_driver_table():
    tr = TARGET.compile(_rule('driver where dll.name == "a.sys"'), profile="sentinel-asim")
    assert tr.status is Status.REFUSED and "driver" in tr.notes[0]


def test_microsoft_parser_reports_no_diagnostic_and_deployment_reads_device_events():
    from tests.node.kusto import analyse, declared_tables

    texts = [TARGET.compile(_rule(q), profile="defender").output for q in (
        'driver where dll.name : "evil.sys" and process.pid == 4 and dll.path : "C:\\\\Temp\\\\*"',
        'driver where dll.code_signature.trusted == false and dll.hash.sha256 != "ab"',
        'any where host.os.type == "windows" and event.category : ("library", "driver") and '
        '(?dll.name : "scrobj.dll" or ?file.name : "scrobj.dll") and process.executable : "?:\\\\Windows\\\\System32\\\\*.exe"',
    )]
    assert all(texts), texts
    assert analyse(texts, declared_tables("defender")) == [[]] * len(texts)
    tr = TARGET.compile(_rule('driver where dll.name : "evil.sys"'), profile="defender")
    doc = yaml.safe_load(next(v for k, v in tr.artifacts.items() if k.endswith(".sentinel.yaml")))
    assert doc["requiredDataConnectors"][0]["dataTypes"] == ["DeviceEvents"]
    assert 'ActionType == "DriverLoad"' in doc["query"]
    columns = [m["columnName"] for e in doc["entityMappings"] for m in e["fieldMappings"]]
    assert {"DeviceName", "FileName", "InitiatingProcessId"} <= set(columns)
    assert analyse([doc["query"]], {**declared_tables("defender"),
                                    "DeviceEvents": {**declared_tables("defender")["DeviceEvents"],
                                                     "TimeGenerated": "datetime"}}) == [[]]
    body = json.loads(next(v for k, v in tr.artifacts.items() if k.endswith(".defender.json")))
    assert "DeviceEvents" in json.dumps(body)
