"""The cim and windows SPL profiles: the mapping against the data model reference, the kinds of field
entries (facts, value maps, filled fields, arguments, last path segments), what each states and
checks, and the refusals that name what the data model or add-on lacks.

Every expectation about which events a search selects is computed by the reference evaluator over
the emitted text and compared with the Python matcher where the translation claims exactness.
"""

from __future__ import annotations

import pytest

from eqlc.parser import parse_query
from eqlc.result import Status
from eqlc.rule import Rule
from eqlc.targets.spl import TARGET
from eqlc.targets.spl.evaluator import datamodels
from eqlc.targets.spl.profile import load_profile
from tests.test_spl_corpus import matcher_selection


def compile_(q: str, profile: str):
    return TARGET.compile(Rule(query=parse_query(q), query_text=q, name="t", path="r.toml"), profile=profile)


def E(i: str, category: str = "process", **fields) -> dict:
    ev: dict = {"_id": i, "@timestamp": f"2026-01-01T00:00:{int(i) % 60:02d}Z", "event": {"category": [category]}}
    for k, v in fields.items():
        node = ev
        parts = k.split("__")
        for p in parts[:-1]:
            node = node.setdefault(p, {})
        node[parts[-1]] = v
    return ev


def agree(q: str, profile: str, events: list[dict]) -> tuple[list[str], dict]:
    """The ids the translation selects among the events inside its stated assumptions, asserted equal
    to the matcher's; and the outside events with their reasons."""
    rule = Rule(query=parse_query(q), query_text=q, name="t", path="r.toml")
    t = TARGET.compile(rule, profile=profile)
    assert t.status is not Status.REFUSED, t.notes
    outside = TARGET.outside_assumptions(rule, t, events)
    inside = [e for e in events if e["_id"] not in outside]
    expected = matcher_selection(rule, inside)
    got = TARGET.execute(t, inside)
    assert got == expected, (t.output, got, expected)
    for name, text in t.artifacts.items():
        if name.endswith(".spl"):
            assert TARGET.run_text(text, inside, profile) == expected, name
    return got, outside


# ---- the cim mapping against the CIM reference (the evaluator's table) -------------------------------
def test_every_cim_field_the_mapping_reads_is_a_field_of_its_dataset():
    prof = load_profile("cim", None)
    for ds in prof.datasets.values():
        ref = datamodels.DATASETS[ds.label]
        assert ds.tags == ref.tags, ds.label
        for ecs, fm in ds.fields.items():
            name = fm.field or fm.last_segment_of
            if name:
                assert name in ref.fields, (ds.label, ecs, name)
            # a data model calculated field that fills missing values is stated as such, and only then
            if fm.field and fm.field in ref.calculated and 'unknown' in ref.calculated[fm.field]:
                assert fm.filled, (ds.label, ecs)
            if fm.filled:
                assert fm.field in ref.calculated, (ds.label, ecs)


def test_scope_of_each_dataset_for_deployment():
    cim, win = load_profile("cim", None), load_profile("windows", None)
    assert cim.dataset_scope(cim.datasets["Endpoint.Processes"]) == "| datamodel Endpoint Processes search"
    assert win.dataset_scope(win.datasets["sysmon.process_creation"]) == \
        'index="*" source="XmlWinEventLog:Microsoft-Windows-Sysmon/Operational" EventCode="1"'
    assert win.dataset_scope(win.datasets["security"]) == 'index="*" source="XmlWinEventLog:Security"'


# ---- facts: what a dataset implies -----------------------------------------------------------------------
def test_facts_decide_leaves_and_their_check_excludes_events_that_say_otherwise():
    q = 'process where event.type == "start" and event.action in ("exec", "start") and process.pid == 7'
    t = compile_(q, "cim")
    assert "event.action" not in t.output and "event.type" not in t.output
    assert any("event.action in (\"exec\", \"start\") is taken to be true" in n for n in t.notes)
    events = [E("1", event__type=["start"], event__action="exec", process__pid=7),
              E("2", event__type=["end"], event__action="exec", process__pid=7),  # not a process start: outside
              E("3", event__action="fork", process__pid=7),  # outside
              E("4", event__type=["start"], event__action="start", process__pid=8)]
    got, outside = agree(q, "cim", events)
    assert got == ["1"] and set(outside) == {"2", "3"}


def test_a_condition_a_fact_makes_false_is_refused_with_the_fact():
    t = compile_('process where event.action == "fork" and process.name == "x"', "cim")
    assert t.status is Status.REFUSED
    assert t.notes[0].startswith("the condition can never hold on Endpoint.Processes events: event.action == \"fork\"")
    t = compile_('process where host.os.type == "linux" and process.name == "x"', "windows")
    assert t.status is Status.REFUSED and "host.os.type == \"linux\" is taken to be false" in t.notes[0]


# ---- value maps: the ECS spelling is stated, other spellings are outside ----------------------------------
def test_value_map_translates_listed_values_and_refuses_others():
    t = compile_('authentication where event.outcome == "success" and user.name == "bob"', "cim")
    assert 'Authentication.action="success"' in t.output
    assert any("spelled exactly so" in n for n in t.notes)
    assert compile_('authentication where event.outcome == "Success"', "cim").status is Status.REFUSED
    t = compile_('authentication where event.outcome : "SUCCESS"', "cim")  # case-insensitive: the listed value
    assert 'Authentication.action="success"' in t.output


def test_value_map_check_excludes_other_spellings():
    q = 'authentication where event.outcome == "success" and user.name == "bob"'
    events = [E("1", "authentication", event__outcome="success", user__name="bob"),
              E("2", "authentication", event__outcome="Success", user__name="bob"),  # ES: no match; outside
              E("3", "authentication", event__outcome="failure", user__name="bob"),
              E("4", "authentication", user__name="bob")]
    got, outside = agree(q, "cim", events)
    assert got == ["1"] and set(outside) == {"2"}


def test_windows_logon_type_and_event_action_are_read_from_the_event_code():
    q = 'authentication where winlog.logon.type == "Network" and event.action == "logged-in" and winlog.event_data.TargetUserName : "adm*"'
    t = compile_(q, "windows")
    assert 'LogonType="3"' in t.output and 'EventCode="4624"' in t.output and 'source="XmlWinEventLog:Security"' in t.output
    events = [E("1", "authentication", winlog__logon__type="Network", event__action="logged-in", event__code="4624",
                winlog__event_data__TargetUserName="Admin"),
              E("2", "authentication", winlog__logon__type="Interactive", event__action="logged-in",
                winlog__event_data__TargetUserName="admin"),
              E("3", "authentication", winlog__logon__type="Network", event__action="logged-in", event__code="4625",
                winlog__event_data__TargetUserName="admin"),  # event.action and event.code disagree: outside
              E("4", "authentication", winlog__logon__type="network", event__action="logged-in",
                winlog__event_data__TargetUserName="admin")]  # another spelling: outside
    got, outside = agree(q, "windows", events)
    assert got == ["1"] and set(outside) == {"3", "4"}


# ---- filled fields: the data model's "unknown" ---------------------------------------------------------
def test_filled_fields_are_stated_present_and_null_tests_refused():
    t = compile_('process where not process.parent.name : "bash"', "cim")
    assert any("process.parent.name is taken to be present" in n for n in t.notes)
    events = [E("1", process__parent__name="bash"), E("2", process__parent__name="sh"), E("3"),
              E("4", process__parent__name="")]
    got, outside = agree('process where not process.parent.name : "bash"', "cim", events)
    assert got == ["2"] and set(outside) == {"3", "4"}
    t = compile_('process where process.parent.name == null', "cim")
    assert t.status is Status.REFUSED and "unknown" in t.notes[0]


# ---- arguments read from the command line ------------------------------------------------------------
def test_arguments_are_the_words_of_the_command_line():
    q = 'process where process.args : "-enc*" and process.args_count >= 3 and not process.args == "-nop"'
    t = compile_(q, "cim")
    assert "split('Processes.process', \" \")" in t.output
    assert any("split on single spaces" in n for n in t.notes)
    events = [E("1", process__command_line="ps -EncodedCommand abc", process__args=["ps", "-EncodedCommand", "abc"], process__args_count=3),
              E("2", process__command_line="ps -nop -enc x", process__args=["ps", "-nop", "-enc", "x"], process__args_count=4),
              E("3", process__command_line="ps -enc", process__args=["ps", "-enc"], process__args_count=2),
              E("4", process__command_line="ps  -enc a", process__args=["ps", "", "-enc", "a"], process__args_count=4),
              E("5", process__command_line='"C:\\a b\\ps.exe" -enc x', process__args=["C:\\a b\\ps.exe", "-enc", "x"],
                process__args_count=3),
              E("6", process__command_line='"C:\\a -enc\\ps.exe" x', process__args=["C:\\a -enc\\ps.exe", "x"],
                process__args_count=2)]  # quoted argument whose words answer otherwise: outside
    got, outside = agree(q, "cim", events)
    # 4 (two spaces) and 5 (a quoted argument) break "the line is the arguments joined by single
    # spaces", but every test on the arguments answers alike on the split line: inside, and agreeing
    assert got == ["1", "4", "5"] and set(outside) == {"6"}
    assert compile_('process where process.args == "a b"', "cim").status is Status.REFUSED


def test_case_insensitive_argument_words_have_a_tstats_form():
    t = compile_('process where process.args : "/c"', "cim")
    assert t.output.splitlines()[-1].startswith("| tstats") and 'Processes.process IN ("/c", "/c *", "* /c", "* /c *")' in t.output


# ---- last path segments (windows: process.name from Image) -------------------------------------------
def test_process_name_is_the_last_segment_of_image():
    q = 'process where process.name : "cmd.exe" and process.parent.name == "WINWORD.EXE"'
    t = compile_(q, "windows")
    assert "| eval " in t.output and "replace('Image'" in t.output and 'Image="*cmd.exe"' in t.output
    events = [E("1", process__name="CMD.EXE", process__executable="C:\\w\\CMD.EXE", process__parent__name="WINWORD.EXE",
                process__parent__executable="C:\\o\\WINWORD.EXE"),
              E("2", process__name="cmd.exe", process__executable="C:\\w\\cmd.exe", process__parent__name="winword.exe",
                process__parent__executable="C:\\o\\winword.exe"),
              E("3", process__name="cmd.exe", process__executable="C:\\w\\xcmd.exe", process__parent__name="WINWORD.EXE",
                process__parent__executable="C:\\o\\WINWORD.EXE")]  # name is not the path's last segment: outside
    got, outside = agree(q, "windows", events)
    assert got == ["1"] and set(outside) == {"3"}


# ---- datasets: chosen by category and fields ------------------------------------------------------------
def test_the_dataset_is_the_first_that_has_the_fields_and_can_hold():
    t = compile_('process where event.code == "10" and winlog.event_data.TargetImage : "*lsass.exe"', "windows")
    assert 'EventCode="10"' in t.output and 'TargetImage="*lsass.exe"' in t.output
    t = compile_('network where dns.question.name : "*.onion"', "cim")
    assert "FROM datamodel=Network_Resolution.DNS" in t.output
    t = compile_('network where destination.port == 443 and process.name == "x"', "cim")
    assert t.status is Status.REFUSED
    assert t.notes[0] == ("ECS field process.name has no field in the Network_Traffic.All_Traffic dataset of the cim "
                          "profile mapping")


def test_windows_sequences_may_span_datasets_and_cim_sequences_may_not():
    q = ('sequence by process.entity_id with maxspan=1m '
         '[process where process.name : "powershell.exe"] [network where destination.port == 443]')
    t = compile_(q, "windows")
    assert t.status is not Status.REFUSED
    events = [E("1", process__entity_id="g1", process__name="powershell.exe", process__executable="C:\\p\\powershell.exe"),
              E("2", "network", process__entity_id="g1", destination__port=443, process__name="powershell.exe",
                process__executable="C:\\p\\powershell.exe"),
              E("3", "network", process__entity_id="g2", destination__port=443)]
    got, _ = agree(q, "windows", events)
    assert got == ["1", "2"]
    t = compile_(q, "cim")
    assert t.status is Status.REFUSED and "a sequence across data model datasets" in t.notes[0]


def test_any_queries_read_the_windows_security_log():
    q = 'any where event.code == "5136" and winlog.event_data.AttributeLDAPDisplayName : "gPCMachineExtensionNames"'
    t = compile_(q, "windows")
    assert t.output.startswith('index="*" source="XmlWinEventLog:Security"') and 'EventCode="5136"' in t.output
    events = [E("1", "iam", event__code="5136", winlog__event_data__AttributeLDAPDisplayName="gPCMachineExtensionNames"),
              E("2", "iam", event__code="5137", winlog__event_data__AttributeLDAPDisplayName="gPCMachineExtensionNames")]
    got, _ = agree(q, "windows", events)
    assert got == ["1"]
    assert compile_(q, "cim").status is Status.REFUSED


@pytest.mark.parametrize("profile", ["cim", "windows"])
def test_refusals_keep_the_ir_node(profile):
    from eqlc.result import Refused
    from eqlc.targets.spl import emitter

    q = 'process where process.code_signature.trusted == true'
    rule = Rule(query=parse_query(q), query_text=q, name="t", path="r.toml")
    with pytest.raises(Refused) as err:
        emitter.event_query(rule, rule.query.body, load_profile(profile, None), __import__("eqlc.result").result.Notes())
    assert err.value.node is not None


def test_windows_profile_refuses_rules_written_for_other_platforms():
    """Sysmon/Security data holds Windows events only: a Linux rule (an ``OS: Linux`` tag or the
    older bare ``Linux`` tag) is refused there, an untagged or Windows rule is not."""
    from eqlc.parser import parse_query
    from eqlc.result import Status
    from eqlc.rule import Rule
    from eqlc.targets.spl.target import TARGET as SPL

    q = 'process where event.type == "start" and process.name == "sh"'
    for tags, refused in ((("OS: Linux",), True), (("Linux", "Host"), True), (("OS: Windows", "OS: Linux"), False), ((), False)):
        t = SPL.compile(Rule(query=parse_query(q), query_text=q, name="t", tags=tags), profile="windows")
        assert (t.status is Status.REFUSED) == refused, (tags, t.notes)
        if refused:
            assert "written for linux" in t.notes[0]
        assert SPL.compile(Rule(query=parse_query(q), query_text=q, name="t", tags=tags), profile="cim").status is not Status.REFUSED


def test_a_branch_that_does_not_read_the_arguments_is_not_doubted_for_its_command_line():
    """Regression (spl:windows vacuous pair, cross-platform/execution_azure_run_command_script_child_process.toml):
    the Windows branch needs a parent command line with two spaces, which broke the argument
    assumption of the other branch's process.parent.args test on every positive; the test answers
    alike on the split line, so those positives are inside and agree."""
    q = ('process where event.type == "start" and ((process.parent.name == "powershell.exe" and '
         'process.parent.command_line like "powershell  -File script?.ps1") or '
         '(process.parent.name == "bash" and process.parent.args like "/var/lib/waagent/*/script.sh"))')
    line = "powershell  -File script1.ps1"
    events = [E("1", event__type=["start"], host__os__type="windows",
                process__parent__name="powershell.exe", process__parent__executable="C:\\Windows\\powershell.exe",
                process__parent__command_line=line, process__parent__args=["powershell", "-File", "script1.ps1"]),
              E("2", event__type=["start"], host__os__type="windows",
                process__parent__name="powershell.exe", process__parent__executable="C:\\Windows\\powershell.exe",
                process__parent__command_line="powershell -File other.ps1", process__parent__args=["powershell", "-File", "other.ps1"])]
    got, outside = agree(q, "windows", events)
    assert got == ["1"] and not outside


def test_a_sequence_whose_steps_the_profile_cannot_keep_apart_is_refused():
    """Owed refusal (spl:windows vacuous pair, windows/defense_evasion_suspicious_wmi_script.toml):
    a process start step and an image-load step are both ECS process events, so each is read as a
    row of both Sysmon datasets; the start step never holds on an image load (event.type change),
    so no match could be inside the stated assumptions."""
    q = ('sequence by process.entity_id with maxspan=2m '
         '[process where event.type == "start" and process.name : "WMIC.exe"] '
         '[any where event.category == "process" and event.action : "Image loaded*" and file.name : "jscript.dll"]')
    t = compile_(q, "windows")
    assert t.status is Status.REFUSED
    assert "cannot keep apart" in t.notes[0] and "sysmon.image_load" in t.notes[0] and "event.type" in t.notes[0]
    # a sequence of two process starts reads one dataset and is translated
    ok = compile_('sequence by process.entity_id with maxspan=2m [process where event.type == "start" and '
                  'process.name : "WMIC.exe"] [process where event.type == "start" and process.name : "cmd.exe"]', "windows")
    assert ok.status is not Status.REFUSED, ok.notes
