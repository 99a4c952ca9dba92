"""The Sigma emitter, construct by construct: the detection it writes, the assumptions it states,
the refusals (tests/data/sigma/refusals.yaml) and the metadata. Every emitted text is also parsed
by pySigma, and correlations are resolved by pySigma's collection."""

from __future__ import annotations

import datetime
import uuid
from pathlib import Path

import pytest
import yaml
from sigma.collection import SigmaCollection
from sigma.correlations import SigmaCorrelationRule, SigmaCorrelationType
from sigma.rule import SigmaRule

from eqlc import parse_query
from eqlc.result import Status
from eqlc.rule import Rule, Technique, Threat
from eqlc.targets.sigma import TARGET
from eqlc.targets.sigma.emit import emit
from eqlc.targets.sigma.metadata import SIGMA_NAMESPACE

DATA = Path(__file__).parent / "data" / "sigma"
LNX = 'process where host.os.type == "linux" and event.type == "start" and '


def rule(query: str, **kw) -> Rule:
    kw.setdefault("name", "Test Rule")
    kw.setdefault("rule_id", "00000000-0000-4000-8000-000000000001")
    return Rule(query=parse_query(query), query_text=query, **kw)


def sigma_docs(query: str, profile: str = "cased", **kw) -> list[dict]:
    em = emit(rule(query, **kw), profile)
    SigmaCollection.from_yaml(em.text)  # pySigma parses every emitted text
    return list(yaml.safe_load_all(em.text))


def detection(query: str, profile: str = "cased", **kw) -> dict:
    return sigma_docs(query, profile, **kw)[-1]["detection"]


def notes(query: str, profile: str = "cased", **kw) -> list[str]:
    return TARGET.compile(rule(query, **kw), profile=profile).notes


# ---- single-event detections ------------------------------------------------------------


def test_case_sensitive_equality_is_cased_and_literal_star_escaped():
    d = detection(LNX + 'process.executable == "/bin/a*b?"')
    assert d == {"selection_image": {"Image|cased": "/bin/a\\*b\\?"}, "condition": "selection_image"}


def test_colon_is_case_insensitive_and_uses_modifiers():
    d = detection(LNX + 'process.executable : ("/BIN/*", "*.SH", "*tmp*", "/x?y*z", "/exact")')
    assert d["selection_image"] == [
        {"Image|startswith": "/BIN/"},
        {"Image|endswith": ".SH"},
        {"Image|contains": "tmp"},
        {"Image": ["/x?y*z", "/exact"]},
    ]


def test_like_is_cased_with_wildcards():
    d = detection(LNX + 'process.executable like "/usr/*/x?"')
    assert d["selection_image"] == {"Image|cased": "/usr/*/x?"}


def test_not_equal_is_a_negated_filter_and_null_checks_use_null():
    d = detection(LNX + 'process.executable != "/bin/sh" and process.parent.executable != null and process.command_line == null')
    assert d["condition"] == "selection_command_line_null and not filter_image and not filter_parent_image_null"
    assert d["filter_image"] == {"Image|cased": "/bin/sh"}
    assert d["filter_parent_image_null"] == {"ParentImage": None}
    assert d["selection_command_line_null"] == {"CommandLine": None}


def test_boolean_structure_is_mirrored():
    d = detection(LNX + '(process.executable : "/a" or process.command_line : "*x*") and not (process.working_directory : "/tmp" and process.pid > 5)')
    assert d["condition"] == "selection_image and not filter_current_directory"
    assert d["selection_image"] == [{"Image": "/a"}, {"CommandLine|contains": "x"}]
    assert d["filter_current_directory"] == {"CurrentDirectory": "/tmp", "ProcessId|gt": 5}


def test_numbers_and_comparisons():
    d = detection(LNX + 'process.pid in (1, 2) and process.parent.pid <= 10')
    assert d["selection_process_id"] == {"ProcessId": [1, 2], "ParentProcessId|lte": 10}


def test_regex_is_anchored_folded_and_dotall():
    d = detection(LNX + 'process.executable regex~ "/bin/[a-c]+\\\\..*"')
    assert d["selection_image"] == {"Image|re|s": "^(/[bB][iI][nN]/[a-c]+\\..*)$"}
    assert any("PCRE's $ also matches before a final newline" in n for n in notes(LNX + 'process.executable regex "a"'))


def test_functions_become_modifiers():
    d = detection(LNX + 'startsWith(process.executable, "/tmp/") and endsWith~(process.command_line, "-X") and stringContains(process.working_directory, "50_")')
    assert d["selection_image"] == {
        "Image|startswith|cased": "/tmp/",
        "CommandLine|endswith": "-X",
        "CurrentDirectory|contains|cased": "50_",
    }


def test_cidr_match():
    d = detection('network where host.os.type == "linux" and event.type == "start" and cidrMatch(destination.ip, "10.0.0.0/8", "192.168.0.0/16")')
    assert d["selection_destination_ip"] == {"DestinationIp|cidr": ["10.0.0.0/8", "192.168.0.0/16"]}


def test_process_name_is_the_file_name_of_image():
    q = LNX + 'process.name == "dracut" and process.parent.name in ("sudo", "su") and not process.name : "*.SH"'
    d = detection(q)
    assert d["selection_image"] == {"Image|endswith|cased": "/dracut", "ParentImage|endswith|cased": ["/sudo", "/su"]}
    assert d["filter_image"] == {"Image|endswith": ".SH"}
    assert sum("file name is exactly process" in n for n in notes(q)) == 2


def test_file_name_prefix_needs_a_regex_confined_to_the_last_segment():
    d = detection(LNX + 'process.name : "py*"')
    assert d["selection_image"] == {"Image|re": "/[pP][yY][^/]*$"}


def test_windows_and_unknown_products_use_their_separators():
    d = detection('process where host.os.type == "windows" and event.type == "start" and process.name : "cmd.exe"')
    assert d["selection_image"] == {"Image|endswith": "\\cmd.exe"}
    # a query naming no OS is written once per product (SigmaHQ knows no product-less process_creation),
    # each with its product's separator
    docs = sigma_docs('process where event.type == "start" and process.name : "cmd.exe"')
    assert [(d["logsource"]["product"], d["detection"]["selection_image"]) for d in docs] == [
        ("linux", {"Image|endswith": "/cmd.exe"}),
        ("windows", {"Image|endswith": "\\cmd.exe"}),
        ("macos", {"Image|endswith": "/cmd.exe"}),
    ]
    assert len({d["id"] for d in docs}) == 3


def test_extension_is_the_tail_after_the_last_dot():
    d = detection('file where host.os.type == "linux" and event.type == "creation" and file.extension : ("so", "ps*")')
    assert d["selection_target_filename"] == [
        {"TargetFilename|endswith": ".so"},
        {"TargetFilename|re": "\\.[pP][sS][^./]*$"},
    ]


def test_args_are_found_in_the_command_line():
    d = detection(LNX + 'process.args == "-c" and process.args : "--date=*"')
    assert d["selection_command_line"] == [
        {"CommandLine|cased": "-c"},
        {"CommandLine|startswith|cased": "-c "},
        {"CommandLine|endswith|cased": " -c"},
        {"CommandLine|contains|cased": " -c "},
    ]
    assert d["selection_command_line_2"] == [
        {"CommandLine|startswith": "--date="},
        {"CommandLine|contains": " --date="},
    ]
    assert any("joined by single spaces" in n for n in notes(LNX + 'process.args == "-c"'))


def test_general_arg_pattern_is_a_regex_without_spaces():
    d = detection(LNX + 'process.args like "/home/*/x.py"')
    assert d["selection_command_line"] == {"CommandLine|re": "(^| )/home/[^ ]*/x\\.py( |$)"}


def test_source_facts_become_the_log_source_with_an_assumption():
    docs = sigma_docs(LNX + 'event.action in ("exec", "start") and process.executable == "/a"')
    assert docs[0]["logsource"] == {"category": "process_creation", "product": "linux"}
    [n] = [n for n in notes(LNX + 'event.action in ("exec", "start") and process.executable == "/a"') if "log source" in n]
    assert 'event.action in ("exec", "start")' in n and 'host.os.type == "linux"' in n


def test_product_from_the_os_tag_is_an_assumption():
    q = 'process where event.type == "start" and process.executable == "/a"'
    docs = sigma_docs(q, tags=("OS: Windows",))
    assert docs[0]["logsource"] == {"category": "process_creation", "product": "windows"}
    assert any("comes from the rule's OS tag" in n for n in notes(q, tags=("OS: Windows",)))


def test_query_without_event_type_states_the_narrowing():
    assert any("the query does not restrict event.type" in n for n in notes('process where host.os.type == "linux" and process.executable == "/a"'))


def test_non_ascii_case_insensitive_value_is_an_assumption():
    assert any("non-ASCII letters" in n for n in notes(LNX + 'process.executable : "/ÉTÉ"'))
    assert not any("non-ASCII" in n for n in notes(LNX + 'process.executable : "/ete"'))


def test_optional_field_is_an_assumption():
    assert any("?process.executable is treated as a field the index maps" in n for n in notes(LNX + '?process.executable == "/a"'))


def test_portable_profile_drops_cased_and_states_it():
    q = LNX + 'process.executable == "/bin/sh"'
    assert detection(q, "portable")["selection_image"] == {"Image": "/bin/sh"}
    [n] = [n for n in notes(q, "portable") if "portable profile" in n]
    assert "'/bin/sh'" in n
    em = emit(rule(q), "portable")
    [a] = [a for a in em.log.items if "portable profile" in a.text]
    assert a.violated({"process": {"executable": "/BIN/SH"}})
    assert not a.violated({"process": {"executable": "/bin/sh"}}) and not a.violated({})


def test_plain_fields_add_only_the_log_source_and_single_value_assumptions():
    q = rule(LNX + 'process.executable == "/a" and not process.working_directory : "/tmp"')
    t = TARGET.compile(q, profile="cased")
    assert t.status is Status.ASSUMPTIONS and len(t.notes) == 2
    assert t.notes[1].startswith(
        "Sigma fields hold one value: assumes Image (process.executable), CurrentDirectory (process.working_directory) hold"
    )
    [a] = [a for a in emit(q).log.items if a.text == t.notes[1]]
    assert a.violated({"process": {"executable": ["/a", "/b"]}}) and not a.violated({"process": {"executable": "/a"}})


# ---- refusals ----------------------------------------------------------------------------

REFUSALS = yaml.safe_load((DATA / "refusals.yaml").read_text())


@pytest.mark.parametrize("case", REFUSALS, ids=[c["reason"][:50] for c in REFUSALS])
def test_refusals_give_the_reason(case):
    t = TARGET.compile(rule(case["query"], tags=tuple(case.get("tags", ()))))
    assert t.status is Status.REFUSED and t.output is None
    assert case["reason"] in t.notes[0], t.notes


# ---- mapping override --------------------------------------------------------------------


def test_user_mapping_adds_a_field(tmp_path):
    override = tmp_path / "map.yaml"
    override.write_text("logsources:\n  process_creation:\n    fields:\n      user.id: UserId\n")
    q = rule(LNX + 'user.id == "0"')
    assert TARGET.compile(q).status is Status.REFUSED
    t = TARGET.compile(q, profile="cased", mapping=str(override))
    assert t.status is Status.ASSUMPTIONS
    assert yaml.safe_load(t.output)["detection"]["selection_user_id"] == {"UserId|cased": "0"}
    # the default (portable) profile states the case assumption instead of |cased
    t = TARGET.compile(q, mapping=str(override))
    assert yaml.safe_load(t.output)["detection"]["selection_user_id"] == {"UserId": "0"}
    assert any("matched case-insensitively (portable profile" in n for n in t.notes)


# ---- metadata ----------------------------------------------------------------------------


def test_metadata():
    r = rule(
        LNX + 'process.executable == "/a"',
        name="suspicious use of shell via the tmp dir",
        description="Detects  things.\nMore.",
        severity="high",
        author=("Elastic",),
        created="2020/01/02",
        updated="2024/05/06",
        references=("https://example.com/a", "https://attack.mitre.org/techniques/T1059/"),
        false_positives=("Admins",),
        threat=(Threat("TA0005", "Defense Evasion", (Technique("T1059", "x", (Technique("T1059.004"),)),)),),
    )
    doc = yaml.safe_load(emit(r).text)
    assert doc["title"] == "Suspicious Use of Shell via the Tmp Dir"
    assert doc["id"] == str(uuid.uuid5(SIGMA_NAMESPACE, r.rule_id)) and emit(r).text == emit(r).text
    assert doc["related"] == [{"id": r.rule_id, "type": "derived"}]
    assert doc["description"] == "Detects things. More."
    assert doc["tags"] == ["attack.defense-evasion", "attack.t1059", "attack.t1059.004"]
    assert doc["references"] == ["https://example.com/a"]
    assert doc["date"] == datetime.date(2020, 1, 2) and doc["modified"] == datetime.date(2024, 5, 6)
    assert doc["level"] == "high" and doc["falsepositives"] == ["Admins"] and doc["status"] == "experimental"
    assert list(doc)[-2:] == ["falsepositives", "level"]


# ---- correlations ------------------------------------------------------------------------

SEQ = """sequence by process.entity_id with maxspan=2m
  [process where host.os.type == "linux" and event.type == "start" and process.executable == "/bin/a"]
  [network where host.os.type == "linux" and event.type == "start" and destination.port == 4444]"""


def _collection(query: str) -> SigmaCollection:
    c = SigmaCollection.from_yaml(emit(rule(query)).text)
    c.resolve_rule_references()
    return c


def test_sequence_is_a_temporal_ordered_correlation_pysigma_resolves():
    c = _collection(SEQ)
    base = [r for r in c.rules if isinstance(r, SigmaRule)]
    [corr] = [r for r in c.rules if isinstance(r, SigmaCorrelationRule)]
    assert corr.type is SigmaCorrelationType.TEMPORAL_ORDERED
    assert [ref.rule for ref in corr.rules] == base
    assert corr.group_by == ["ProcessGuid"] and corr.timespan.seconds == 120
    assert [str(r.logsource.category) for r in base] == ["process_creation", "network_connection"]
    n = notes(SEQ)
    assert any("compared case-insensitively by Sigma correlation backends" in x for x in n)
    assert any("distinct @timestamp" in x for x in n)


def test_join_keys_with_different_names_use_aliases():
    q = """sequence with maxspan=30s
      [process where host.os.type == "linux" and event.type == "start" and process.name == "curl"] by process.executable
      [file where host.os.type == "linux" and event.type == "creation" and file.extension == "sh"] by file.path"""
    c = _collection(q)
    [corr] = [r for r in c.rules if isinstance(r, SigmaCorrelationRule)]
    assert corr.group_by == ["join_key_1"]
    alias = corr.aliases.aliases["join_key_1"]
    assert sorted(alias.mapping.values()) == ["Image", "TargetFilename"]
    assert corr.timespan.seconds == 30


def test_numeric_join_keys_are_not_case_folded():
    q = """sequence by process.pid with maxspan=1m
      [process where host.os.type == "linux" and event.type == "start" and process.executable == "/a"]
      [process where host.os.type == "linux" and event.type == "start" and process.executable == "/b"]"""
    assert not any("case-insensitively by Sigma correlation" in x for x in notes(q))


def test_timestamp_override_is_an_assumption_of_correlations():
    em = emit(rule(SEQ, timestamp_override="event.ingested"))
    [a] = [a for a in em.log.items if "timestamp_override" in a.text]
    assert a.violated({"@timestamp": "2026-01-01T00:00:00Z", "event": {"ingested": "2026-01-01T00:00:05Z"}})
    assert not a.violated({"@timestamp": "2026-01-01T00:00:00Z"})
    assert not any("timestamp_override" in n for n in notes(SEQ))


@pytest.mark.parametrize("action,kind", [("modification", "change"), ("rename", "change"), ("deletion", "deletion")])
def test_an_action_of_another_event_type_than_the_log_source_holds_is_refused(action, kind):
    """file_event holds file creations (mapping.yaml): a query pinning event.action to a
    modification is refused with the reason, not stated as an assumption no real event meets."""
    t = TARGET.compile(rule(f'file where host.os.type == "macos" and event.action == "{action}" and file.path : "/tmp/x"'))
    assert t.status is Status.REFUSED
    assert f'`event.action == "{action}"` names ECS event.type {kind} events' in t.notes[0] and "macos" in t.notes[0]


def test_a_creation_action_keeps_the_file_event_log_source():
    t = TARGET.compile(rule('file where host.os.type == "linux" and event.action in ("creation", "file_create_event") and file.path : "/tmp/x"'))
    assert t.status is Status.ASSUMPTIONS and "category: file_event" in t.output
