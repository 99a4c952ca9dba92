"""The witness generator's agreeing events (:mod:`eqlc.fixtures.agreeing`), checked on queries.

A target stating that two ECS fields agree (Sigma's ``Image`` for both ``process.executable`` and
``process.name``, Sysmon's ``IntegrityLevel`` for Elastic Defend's token level...) is proven only on
selected witnesses inside that statement; the generator writes, per rule, a few selected events
whose related fields agree. Each test asserts such an event exists and, as everywhere, that its
verdict is the matcher's.
"""

from __future__ import annotations

from eqlc.events import values
from eqlc.fixtures.agreeing import agreeing
from eqlc.fixtures.ecs_derive import event_type_for
from eqlc.fixtures.oracle import Oracle
from eqlc.fixtures.witness import generate
from eqlc.parser import parse_query
from eqlc.rule import Rule

ORACLE = Oracle()


def _rule(query: str) -> Rule:
    return Rule(query=parse_query(query), query_text=query, name="query")


def _agreeing(query: str) -> tuple[list[dict], set]:
    ws = generate(_rule(query), ORACLE)
    selected = set(ORACLE.selected(ORACLE.matcher(ws.rule), ws.events))
    assert selected == set(ws.expected)
    made = [e for e in ws.events if "agree" in e.get("_note", "")]
    assert made, "no agreeing event"
    assert {e["_id"] for e in made} <= selected, "an agreeing event the matcher does not select"
    return made, selected


def _one(event: dict, path: str):
    got = values(event, tuple(path.split(".")))
    return got[0] if len(got) == 1 else got


def test_a_neutral_action_becomes_a_real_one_with_its_type():
    """``event.action != "deletion"`` is met by any word; an agreeing event carries an action a
    producer sends, with the event.type it implies (a file creation)."""
    made, _ = _agreeing('file where event.action != "deletion" and file.name : "lsass*.dmp"')
    assert any(_one(e, "event.action") == "creation" and _one(e, "event.type") == "creation" for e in made)
    for e in made:
        action = _one(e, "event.action")
        if isinstance(action, str) and event_type_for("file", action):
            assert values(e, ("event", "type")) == event_type_for("file", action)


def test_loaded_image_names_agree_across_dll_and_file():
    made, _ = _agreeing('library where (?dll.name : "scrobj.dll" or ?file.name : "scrobj.dll") and process.name : "x.exe"')
    assert any(_one(e, "dll.name") == _one(e, "file.name") == "scrobj.dll"
               and str(_one(e, "dll.path")).endswith("\\scrobj.dll") and str(_one(e, "file.path")).endswith("\\scrobj.dll")
               for e in made)


def test_optional_field_left_out_where_another_branch_selects():
    made, _ = _agreeing('process where process.args : "reverse" and (?process.code_signature.exists == false or process.name : "rundll32.exe")')
    assert any(not values(e, ("process", "code_signature", "exists")) and _one(e, "process.name").lower() == "rundll32.exe"
               for e in made)


def test_a_container_id_is_never_empty_in_an_agreeing_event():
    """``container.id like "*"`` is met by "" (the solver's shortest value), which no producer
    writes (ECS: "Unique container id"); an agreeing event carries a neutral id, and one the rule
    would not select with an id keeps its ""."""
    made, _ = _agreeing('process where container.id like "*" and process.name == "nc"')
    assert all(_one(e, "container.id") != "" for e in made)
    assert any(_one(e, "container.id") == "eqlc-container-0001" for e in made)
    rule = _rule('process where container.id == "" and process.name == "nc"')
    base = {("container", "id"): "", ("process", "name"): "nc", ("event", "category"): ["process"]}
    got = agreeing(base, lambda f: ORACLE.matcher(rule).match(_nested(f)))
    assert got is None or got[("container", "id")] == ""


def _nested(fields: dict) -> dict:
    out: dict = {}
    for path, v in fields.items():
        node = out
        for p in path[:-1]:
            node = node.setdefault(p, {})
        node[path[-1]] = v
    return out


def test_a_windows_event_log_event_carries_its_code_outcome_and_copies():
    made, _ = _agreeing('authentication where event.action == "logged-in" and winlog.logon.type : "Network" and '
                        'winlog.event_data.TargetUserName : "admin*"')
    e = next(e for e in made if _one(e, "event.code") == "4624")
    assert _one(e, "event.outcome") == "success" and _one(e, "host.os.type") == "windows"
    assert _one(e, "user.name") == _one(e, "winlog.event_data.TargetUserName")


def test_a_security_event_naming_no_action_gets_an_id_of_its_category():
    """kqlwinsec: ``authentication where winlog.* ...`` names neither id nor action; the selected
    events get an id Elastic's categorization table gives authentication (and its relations), and
    some rejected ones get one too, so that a target reading the event id has both inside."""
    query = ('authentication where winlog.event_data.LogonProcessName : "Advapi*" and winlog.logon.type == "Interactive" '
             'and not winlog.event_data.TargetUserSid : "S-1-5-18"')
    made, selected = _agreeing(query)
    # an event of several categories (no Security id has ["api", "authentication", "configuration"]) gets none
    plain = [e for e in made if _one(e, "event.category") == "authentication"]
    codes = {_one(e, "event.code") for e in plain}
    assert codes and codes <= {"4624", "4625", "4648", "4768", "4769", "4771", "4776"}, codes
    e = next(e for e in made if _one(e, "event.code") == "4624")
    assert _one(e, "event.outcome") == "success"
    ws = generate(_rule(query), ORACLE)
    rejected = [e for e in ws.events if e["_id"] not in selected and "rejected event with the relations" in e.get("_note", "")]
    assert rejected and all(_one(e, "event.code") for e in rejected)


def test_auditd_opened_file_gets_the_syscall_that_decides_its_type():
    made, _ = _agreeing('file where host.os.type == "linux" and event.action in ("opened-file", "wrote-to-file") and '
                        'file.path : "/sys/kernel/security/apparmor/*"')
    assert any(_one(e, "auditd.data.syscall") == "creat" and _one(e, "event.type") == "creation" for e in made)


def test_one_event_has_one_os_path_style():
    """A POSIX program on a Windows host (the rule's path, a neutral parent) is made one host's."""
    fields = {("event", "category"): ["process"], ("host", "os", "type"): "windows",
              ("process", "executable"): "/usr/bin/sh", ("process", "name"): "sh",
              ("process", "parent", "executable"): "C:\\Windows\\System32\\eqlc-neutral.exe",
              ("process", "parent", "name"): "eqlc-neutral.exe"}
    got = agreeing(fields, lambda f: True)
    assert got[("host", "os", "type")] == "linux"
    assert got[("process", "parent", "executable")] == "/usr/bin/eqlc-neutral"
    assert got[("process", "parent", "name")] == "eqlc-neutral"


def test_nothing_changes_where_the_matcher_would_not_select():
    """Every rewrite is kept only where the matcher still selects the event: a name and a path the
    selection needs as they are stay disagreeing."""
    fields = {("event", "category"): ["process"], ("process", "name"): "a.exe", ("process", "executable"): "C:\\x\\b.exe"}

    def selects(f: dict) -> bool:
        return f.get(("process", "name")) == "a.exe" and f.get(("process", "executable")) == "C:\\x\\b.exe"

    got = agreeing(fields, selects)
    assert got is None or (selects(got) and got != fields)


def test_an_extension_of_no_named_file_is_left_out():
    """Regression (kql defender vacuous pairs, linux/persistence_*_creation.toml): the solver
    falsifies ``file.Ext.original.extension == "dpkg-new"`` with a neutral extension and no
    original name; a profile computing that extension from the original name (Defender's
    PreviousFileName) finds every such positive outside its statement. The agreeing event leaves
    it out (a created file has no original), and the matcher still selects it."""
    made, _ = _agreeing('file where event.action == "creation" and file.path : "/etc/cron.d/*" and '
                        'not file.Ext.original.extension == "dpkg-new" and not file.extension in ("swp", "dpkg-remove")')
    assert any(not values(e, ("file", "Ext", "original", "extension")) and not values(e, ("file", "Ext", "original", "name"))
               for e in made)
    for e in made:  # and every agreeing file event's extension is its name's
        ext, name = values(e, ("file", "extension")), values(e, ("file", "name"))
        if ext and name:
            assert name[0].endswith("." + ext[0])


def test_an_extension_kept_by_the_rule_gets_a_named_file():
    fields = {("event", "category"): ["file"], ("file", "Ext", "original", "extension"): "dpkg-new"}
    got = agreeing(fields, lambda f: f.get(("file", "Ext", "original", "extension")) == "dpkg-new")
    assert got[("file", "Ext", "original", "name")] == "eqlc-file.dpkg-new"


def test_a_windows_event_log_event_names_its_computer_and_its_categories():
    """Regression (osquery vacuous pair, windows/privilege_escalation_windows_service_via_unusual_client.toml):
    ``startswith~(user.domain, winlog.computer_name)`` was met only with both empty, and 4697 had
    the rule's category alone; an event log record always names its computer, a local account's
    domain is that computer's name, and the System integration writes [iam, configuration] for 4697."""
    made, _ = _agreeing('configuration where event.action == "service-installed" and '
                        'startswith~(user.domain, winlog.computer_name) and winlog.event_data.ServiceAccount == "LocalSystem"')
    e = next(e for e in made if _one(e, "event.code") == "4697")
    assert _one(e, "winlog.computer_name") and str(_one(e, "user.domain")).upper().startswith(_one(e, "winlog.computer_name"))
    assert values(e, ("event", "category")) == ["iam", "configuration"]


def test_a_path_completed_from_a_name_join_key_follows_the_scenario_key():
    """Regression (kql sentinel-asim vacuous pair, linux/credential_access_proc_credential_dumping.toml):
    a sequence joined on process.parent.name had the parent's executable completed from the pinned
    key (``/usr/bin/eqlc-key-1``) while each scenario renamed the key (``k001-1``); a profile reading
    the name from the path saw two names. The path now takes the scenario's name."""
    rule = _rule('sequence by host.id, process.parent.name with maxspan=1m '
                 '[process where process.name == "ps"] [process where process.name == "strings"]')
    ws = generate(rule, ORACLE)
    keyed = [e for e in ws.events if values(e, ("process", "parent", "name")) and values(e, ("process", "parent", "executable"))]
    assert keyed
    for e in keyed:
        name = _one(e, "process.parent.name")
        exe = str(_one(e, "process.parent.executable"))
        if "eqlc-key" in exe or name.startswith("k0"):
            assert exe.rsplit("/", 1)[-1] == name, e
