"""Windows arguments with spaces in Sigma (issue 14, sig470): process.args read from CommandLine as Windows
splits a command line in the plain form eqlc.windows_argv states (the KQL target states the same form).

Method of tests/test_sigma_sources.py: compile, run through pySigma's sqlite backend, compare with the
Python matcher; differences only on events the translation's own checks set apart, and the events named
in ``must_agree`` inside the assumptions and agreeing."""

from __future__ import annotations

import subprocess

import pytest

from eqlc.result import Status
from eqlc.targets.sigma import TARGET
from eqlc.windows_argv import win_split
from tests.test_sigma_sources import agree, docs, ev, rule

WIN = 'process where host.os.type == "windows" and event.type == "start" and '


def wproc(i: str, args: list, line=None, **kw) -> dict:
    """A Windows process start whose command line is ``args`` as CreateProcess callers quote them
    (subprocess.list2cmdline, the Microsoft C runtime rules), unless ``line`` is given."""
    cmd = subprocess.list2cmdline(args) if line is None else line
    return ev(i, event__category=["process"], event__type=["start"], host__os__type="windows",
              process__executable="C:\\Windows\\System32\\net.exe", process__name="net.exe",
              process__command_line=cmd, process__args=args, process__args_count=len(args), **kw)


def test_a_value_with_a_space_is_one_quoted_argument():
    r = rule(WIN + 'process.args : ("Domain Admins", "group") and not process.args : "/add"')
    t = TARGET.compile(r)
    assert t.status is Status.ASSUMPTIONS, t.notes
    assert any("as Windows splits a command line" in n for n in t.notes)
    [d] = docs(t)
    assert d["logsource"] == {"category": "process_creation", "product": "windows"}
    events = [
        wproc("quoted", ["net", "group", "Domain Admins", "/domain"]),
        wproc("tabs", ["net", "group", "Domain Admins"], line='net\tgroup\t"Domain Admins"'),
        wproc("added", ["net", "group", "Domain Admins", "/add"]),
        # the words of a quoted argument are no arguments: "x group y" is one argument
        wproc("inside", ["net", "x group y", "/domain"]),
        wproc("words", ["net", "Domain", "Admins"]),  # two arguments, not "Domain Admins"
        wproc("quoted_group", ['net', 'group', 'DOMAIN ADMINS'], line='net "group" "DOMAIN ADMINS"'),
        wproc("none", ["net", "user"]),
        ev("no_line", event__category=["process"], event__type=["start"], host__os__type="windows",
           process__executable="C:\\x.exe"),
    ]
    got, want, outside = agree(r, events, must_agree=[e["_id"] for e in events])
    assert got == want == {"quoted", "tabs", "quoted_group"}


def test_words_inside_a_quoted_argument_are_not_arguments():
    """The regex starts at the line's start and steps over whole arguments, so a pattern never matches
    the words of a quoted argument (the reason a bare `(^|[ \\t])P([ \\t]|$)` is not used)."""
    r = rule(WIN + 'process.args : ("b", "C:\\\\Program Files\\\\*")')
    events = [
        wproc("in_quotes", ["x", "a b c", "y"]),
        wproc("bare_b", ["x", "b"]),
        wproc("program_files", ["run", "C:\\Program Files\\a b\\c.exe", "-q"]),
        wproc("program_files_in_arg", ["run", "/p:C:\\Program Files\\x"]),
        wproc("quoted_b", ["x", "b"], line='x "b"'),
    ]
    got, want, outside = agree(r, events, must_agree=[e["_id"] for e in events])
    assert got == want == {"bare_b", "program_files", "quoted_b"}


def test_events_outside_the_plain_form_are_set_apart():
    r = rule(WIN + 'process.args : "Domain Admins"')
    events = [
        wproc("plain", ["net", "group", "Domain Admins"]),
        # an escaped quote inside an argument: not the plain form (splitters differ there)
        wproc("escaped", ['net', 'group', 'Domain "Admins"'], line='net group "Domain \\"Admins\\""'),
        # args that are not the Windows split of the line (a producer other than CommandLineToArgvW)
        wproc("joined", ["net", "group", "Domain Admins"], line="net group Domain Admins"),
        wproc("leading", ["net", "Domain Admins"], line=' net "Domain Admins"'),
    ]
    got, want, outside = agree(r, events, must_agree=["plain"])
    assert {"escaped", "joined", "leading"} <= set(outside)
    assert "plain" in got


def test_the_argument_count_is_counted_as_windows_splits():
    """A rule that reads process.args the Windows way counts process.args_count the same way (the
    single-space count would contradict it on every quoted argument with a space)."""
    r = rule(WIN + 'process.args : "Domain Admins" and process.args_count >= 4')
    t = TARGET.compile(r)
    assert t.status is Status.ASSUMPTIONS, t.notes
    assert any("counted as the arguments of CommandLine" in n for n in t.notes)
    events = [
        wproc("three", ["net", "group", "Domain Admins"]),
        wproc("four", ["net", "group", "Domain Admins", "/domain"]),
        wproc("four_tabs", ["net", "group", "Domain Admins", "/domain"], line='net  group\t"Domain Admins" /domain '),
        wproc("bad_count", ["net", "group", "Domain Admins"], line='net group "Domain Admins"') | {},
    ]
    events[-1]["process"]["args_count"] = 7
    got, want, outside = agree(r, events, must_agree=["three", "four", "four_tabs"])
    assert got == want - {"bad_count"} == {"four", "four_tabs"}
    assert "bad_count" in outside


def test_a_value_with_a_double_quote_is_no_argument():
    r = rule(WIN + 'process.args : ("group=\\"remote desktop\\"", "localport=3389")')
    t = TARGET.compile(r)
    assert t.status is Status.ASSUMPTIONS, t.notes
    assert any("values with a double quote" in n for n in t.notes)
    events = [wproc("port", ["netsh", "localport=3389"]), wproc("group", ["netsh", "group=remote desktop"])]
    got, want, outside = agree(r, events, must_agree=["port", "group"])
    assert got == want == {"port"}


@pytest.mark.parametrize("query", [
    'process where host.os.type == "linux" and process.args : "Domain Admins"',
    'process where host.os.type == "macos" and process.args : "/Library/Application Support/x"',
    'process where process.args : "Domain Admins"',
])
def test_linux_macos_and_unpinned_rules_keep_the_single_space_reading(query):
    """Linux and macOS record argv joined by spaces with no quoting; a rule that names no OS is written
    once per product, and the Linux/macOS parts cannot read a value with a space."""
    t = TARGET.compile(rule(query))
    assert t.status is Status.REFUSED
    assert "contains a space" in t.notes[0]


def test_a_regex_on_windows_arguments_is_refused():
    t = TARGET.compile(rule(WIN + 'process.args : "Domain Admins" and process.args regex "a.*"'))
    assert t.status is Status.REFUSED and "as Windows splits" in t.notes[0]


def test_rules_without_a_space_keep_the_single_space_reading():
    t = TARGET.compile(rule(WIN + 'process.args : "group"'))
    assert t.status is Status.ASSUMPTIONS
    assert not any("Windows splits" in n for n in t.notes)


def test_the_shared_form_splits_as_windows_does():
    assert win_split('a "b c" d\t"" e') == ["a", "b c", "d", "", "e"]
    assert win_split('a "b\\" c') is None and win_split(' a') is None and win_split('a"b"') is None
    assert win_split("") == []


def test_the_corpus_rules_read_the_windows_way_convert():
    """A corpus rule with quoted arguments converts with sigma-cli's splunk and kusto backends (their regex
    operators take the regex as it is: PCRE for Splunk's `regex`, RE2 for Kusto's `matches regex`)."""
    from eqlc.loaders import load_rules
    from eqlc.targets.sigma import validate
    from tests.corpus import CORPUS

    [r] = load_rules(str(CORPUS / "windows" / "execution_via_mmc_console_file_unusual_path.toml"))
    t = TARGET.compile(r)
    assert t.status is Status.ASSUMPTIONS, t.notes
    assert "CommandLine|re" in t.output
    for backend in ("splunk", "kusto"):
        assert validate.convert(t.output, backend)


# ---- the Security log's ProcessId (hex text) as process.pid ---------------------------------------

def logon(i: str, pid=None, raw=None, **kw) -> dict:
    """A 4624 logon as Elastic's System integration writes it: process.pid decoded from ProcessId."""
    fields = dict(event__code="4624", event__action="logged-in", event__category=["authentication"],
                  event__type=["start"], event__outcome="success", host__os__type="windows",
                  winlog__logon__type="Network", **kw)
    if pid is not None:
        fields["process__pid"] = pid
    if raw is not None:
        fields["winlog__event_data__ProcessId"] = raw
    return ev(i, **fields)


def test_process_pid_of_a_logon_is_processid_in_hex():
    """standard.yml "Rename Common Auth Fields": process.pid = Long.decode(ProcessId), which Windows writes
    as 0x and hex digits ("0x44c"): `process.pid == n` is a regex on the text, any letter case and leading
    zeros."""
    r = rule('authentication where host.os.type == "windows" and event.action == "logged-in" and '
             'process.pid in (0, 1100) and winlog.logon.type == "Network"')
    t = TARGET.compile(r)
    assert t.status is Status.ASSUMPTIONS, t.notes
    [d] = docs(t)
    assert d["logsource"] == {"product": "windows", "service": "security"}
    assert "ProcessId|re" in t.output and any("ProcessId decoded" in n for n in t.notes)
    events = [logon("zero", 0), logon("hex", 1100), logon("other", 0x288), logon("none"),
              logon("raw_zero", 0, raw="0x0"), logon("raw_upper", 1100, raw="0x0000044C"),
              logon("raw_other", 1100, raw="0x288"), logon("decimal", 1100, raw="1100")]
    got, want, outside = agree(r, events, must_agree=["zero", "hex", "other", "none", "raw_zero", "raw_upper"])
    assert got == {"zero", "hex", "raw_zero", "raw_upper"}
    assert {"raw_other", "decimal"} <= set(outside)


def test_process_pid_compared_otherwise_is_refused():
    t = TARGET.compile(rule('authentication where host.os.type == "windows" and event.action == "logged-in" and '
                            'process.pid > 4'))
    assert t.status is Status.REFUSED and "hex text" in t.notes[0]


def test_calltrace_sequence_on_witnesses_shaped_as_the_sysmon_pipeline_writes_them():
    """defense_evasion_suspicious_process_creation_calltrace (Sysmon 1 then Sysmon 10, parent arguments with
    spaces): the generator gives its Sysmon 10 events event.type start, which Elastic's Sysmon pipeline never
    writes (packages/windows sysmon_operational default.yml, "Add ECS categorization fields": 10 -> process /
    access), so on the raw witnesses every selected event breaks the process_creation log source's assumption
    (the sample/full snapshot lists the pair as a witness gap). With event.type as the pipeline writes it, the
    sequence agrees with the matcher on every event inside the stated assumptions, selected ones included."""
    from eqlc.fixtures.witness import generate
    from eqlc.loaders import load_rules
    from tests.corpus import CORPUS

    [r] = load_rules(str(CORPUS / "windows" / "defense_evasion_suspicious_process_creation_calltrace.toml"))
    events = generate(r).events
    for e in events:
        if e.get("event", {}).get("code") == "10" and "start" in (e["event"].get("type") or []):
            e["event"]["type"] = ["access"]
    events.sort(key=lambda e: e["@timestamp"])  # the matcher runs a sequence over events in time order
    got, want, outside = agree(r, events)
    inside_selected = {i for i in want if i not in outside}
    assert len(inside_selected) >= 10, (len(want), len(outside))
