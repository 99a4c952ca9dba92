"""Sigma gaps of issue 14 closed by the `sigopen` pass (the method of tests/test_sigma_sources.py:
compile, run through pySigma's sqlite backend, compare with the Python matcher; differences only on
events the translation's own checks set apart)."""

from __future__ import annotations

from eqlc.result import Status
from eqlc.targets.sigma import TARGET
from tests.test_sigma_sources import agree, docs, ev, rule

WIN_SEC = dict(host__os__type="windows", data_stream__dataset="system.security")


# ---- 4688 process fields of the Security log ---------------------------------------------------

def test_security_4688_process_fields_are_new_and_parent_process_name():
    """winlogbeat-security.js renameNewProcessFields (event 4688): NewProcessName -> process.executable,
    ParentProcessName -> process.parent.executable, their basenames -> the names, CommandLine ->
    process.command_line; the query pins event.code 4688, so windows/security reads them."""
    r = rule('process where host.os.type == "windows" and event.code : "4688" and '
             'process.executable : "?:\\\\Windows\\\\System32\\\\lsass.exe" and '
             'process.parent.name : "lsass.exe" and process.command_line : "*lsass*"')
    t = TARGET.compile(r, profile="cased")
    assert t.status is not Status.REFUSED, t.notes
    [d] = docs(t)
    assert d["logsource"] == {"product": "windows", "service": "security"}
    sel = str(d["detection"])
    assert "NewProcessName" in sel and "ParentProcessName" in sel and "CommandLine" in sel
    base = dict(event__code="4688", event__category=["process"], event__type=["start"],
                event__action="created-process", **WIN_SEC)
    events = [ev("clone", process__executable="C:\\Windows\\System32\\lsass.exe", process__name="lsass.exe",
                 process__parent__executable="C:\\Windows\\System32\\lsass.exe", process__parent__name="lsass.exe",
                 process__command_line="C:\\Windows\\System32\\lsass.exe", **base),
              ev("other_parent", process__executable="C:\\Windows\\System32\\lsass.exe", process__name="lsass.exe",
                 process__parent__executable="C:\\Windows\\System32\\wininit.exe", process__parent__name="wininit.exe",
                 process__command_line="C:\\Windows\\System32\\lsass.exe", **base)]
    got, want, outside = agree(r, events, profile="cased", must_agree=["clone", "other_parent"])
    assert got == {"clone"}


# ---- an event.action only a third-party integration writes, inside an exclusion -----------------

def test_a_crowdstrike_action_inside_an_exclusion_is_false_on_process_creation():
    """CrowdStrike FDR's event.action is its event_simpleName (mapping.yaml foreign_actions); on an
    endpoint log source ``not ((dataset == fdr or event.action == "ProcessRollup2") and ...)`` reads the
    test as false, and an event that has the action is set apart by the stated check."""
    r = rule('process where host.os.type == "windows" and event.type == "start" and process.parent.name : "wsl.exe" and '
             'not ((data_stream.dataset == "crowdstrike.fdr" or event.action == "ProcessRollup2") and '
             'process.executable : "\\\\Device\\\\*")')
    t = TARGET.compile(r, profile="cased")
    assert t.status is not Status.REFUSED, t.notes
    assert "ProcessRollup2" not in "\n".join(l for l in t.output.splitlines() if not l.startswith("#"))
    base = dict(event__category=["process"], event__type=["start"], host__os__type="windows",
                process__parent__name="wsl.exe", process__parent__executable="C:\\Windows\\System32\\wsl.exe",
                process__name="bash.exe")
    events = [ev("sysmon", event__action="Process Create (rule: ProcessCreate)",
                 process__executable="C:\\x\\bash.exe", **base),
              ev("device_path", event__action="start", process__executable="\\Device\\HarddiskVolume2\\bash.exe", **base),
              ev("fdr", event__action="ProcessRollup2", process__executable="\\Device\\HarddiskVolume2\\bash.exe", **base)]
    got, want, outside = agree(r, events, profile="cased", must_agree=["sysmon", "device_path"])
    assert {"sysmon", "device_path"} <= got
    assert "fdr" in outside and "fdr" not in want


def test_an_action_not_listed_as_foreign_inside_an_expression_stays_refused():
    r = rule('process where host.os.type == "windows" and event.type == "start" and '
             'not (event.action == "exec" and process.name : "a.exe")')
    t = TARGET.compile(r)
    assert t.status is Status.REFUSED and "part of a larger expression" in t.notes[0]


# ---- a collection branch whose event.type ECS does not expect for its category ----------------

def test_a_file_branch_that_starts_is_left_out_under_ecs_expected_types():
    """``event.category in ("file", "process") and ((event.type == "creation" and file...) or
    (event.type == "start" and process...))`` splits into four branches; ECS (schemas/event.yml
    expected_event_types) expects no `start` for file and no `creation` for process, so those two are
    left out, stated with a check that sets apart exactly an event having such a pair."""
    r = rule('any where host.os.type == "windows" and event.category in ("file", "process") and '
             '((event.type == "creation" and file.path : "*\\u{202E}*") or '
             '(event.type == "start" and process.name : "*\\u{202E}*"))')
    t = TARGET.compile(r, profile="cased")
    assert t.status is not Status.REFUSED, t.notes
    assert sorted(d["logsource"]["category"] for d in docs(t)) == ["file_event", "process_creation"]
    win = dict(host__os__type="windows")
    events = [ev("file", event__category=["file"], event__type=["creation"], file__path="C:\\a\u202Efdp.exe",
                 file__name="a\u202Efdp.exe", **win),
              ev("proc", event__category=["process"], event__type=["start"], process__name="x\u202Ecod.scr",
                 process__executable="C:\\x\u202Ecod.scr", **win),
              ev("plain", event__category=["process"], event__type=["start"], process__name="x.exe",
                 process__executable="C:\\x.exe", **win),
              # a file event that "starts": ECS does not expect it, the check sets it apart
              ev("odd", event__category=["file"], event__type=["start"], process__name="x\u202Ecod.scr",
                 process__executable="C:\\x\u202Ecod.scr", **win)]
    got, want, outside = agree(r, events, profile="cased", must_agree=["file", "proc", "plain"])
    assert got == {"file", "proc"}
    assert "odd" in outside and "odd" in want


def test_a_single_query_with_an_unexpected_type_is_not_dropped():
    """Only a collection's branches are left out: a whole query on file events that start still has no log source."""
    r = rule('file where host.os.type == "windows" and event.type == "start" and file.name : "a.exe"')
    t = TARGET.compile(r)
    assert t.status is Status.REFUSED and "no Sigma log source" in t.notes[0]


# ---- a wildcard on the head of Sysmon's User ---------------------------------------------------

def test_a_wildcard_on_user_domain_is_a_regex_on_the_head_of_user():
    """user.domain is the part of User before its backslash (Elastic's Sysmon pipeline); startsWith /
    endsWith on it are regexes on that head, their wildcards kept off the backslash."""
    r = rule('file where host.os.type == "windows" and event.type == "creation" and file.name : "*.vbs" and '
             'not (startsWith(user.domain, "NT") or endsWith(user.domain, "NT"))')
    t = TARGET.compile(r, profile="cased")
    assert t.status is not Status.REFUSED, t.notes
    assert "User|re" in t.output
    base = dict(event__category=["file"], event__type=["creation"], host__os__type="windows",
                file__path="C:\\Users\\a\\x.vbs", file__name="x.vbs", file__extension="vbs")
    events = [ev("corp", user__domain="CORP", user__name="alice", **base),
              ev("nt_authority", user__domain="NT AUTHORITY", user__name="SYSTEM", **base),
              ev("ends_nt", user__domain="CORPNT", user__name="bob", **base),
              # the name, not the domain, starts with NT: the regex must stop at the backslash
              ev("name_nt", user__domain="CORP", user__name="NTuser", **base),
              ev("lower", user__domain="nt authority", user__name="system", **base)]
    got, want, outside = agree(r, events, profile="cased", must_agree=["corp", "nt_authority", "ends_nt", "name_nt", "lower"])
    assert got == {"corp", "name_nt", "lower"}


# ---- PrivilegeList: a list the Security pipeline splits from one text ----------------------------

def _priv(i, privs, logon="0x3e7", ts="2026-11-03T10:00:00.000Z", **kw):
    return ev(i, ts=ts, event__code="4672", event__action="logged-in-special", event__category=["iam"],
              event__type=["admin"], winlog__computer_name="dc1", winlog__event_data__SubjectLogonId=logon,
              winlog__event_data__PrivilegeList=privs, **WIN_SEC, **kw)


def test_privilege_list_is_a_whole_word_of_the_text():
    """winlogbeat-security.js splits PrivilegeList on /\\s+/; `PrivilegeList : "SeBackupPrivilege"`
    (any element, case-insensitively) is a regex for one whole word of the Security log's text, which
    the fixture adapter writes with the log's own separators (CR LF and tabs)."""
    r = rule('iam where host.os.type == "windows" and event.action == "logged-in-special" and '
             'winlog.event_data.PrivilegeList : "SeBackupPrivilege" and not winlog.event_data.PrivilegeList : "SeDebugPrivilege"')
    t = TARGET.compile(r, profile="cased")
    assert t.status is not Status.REFUSED, t.notes
    assert "PrivilegeList|re" in t.output
    events = [_priv("backup", ["SeBackupPrivilege", "SeRestorePrivilege"]),
              _priv("lower", ["sebackupprivilege"]),
              _priv("debug_too", ["SeBackupPrivilege", "SeDebugPrivilege"]),
              # a longer privilege name holding the word is not the word
              _priv("longer", ["SeBackupPrivilegeX", "XSeBackupPrivilege"]),
              _priv("none", ["SeTcbPrivilege"]),
              # an element holding whitespace is not what the split writes: set apart
              _priv("unsplit", ["SeBackupPrivilege SeRestorePrivilege"])]
    got, want, outside = agree(r, events, profile="cased", must_agree=["backup", "lower", "debug_too", "longer", "none"])
    assert got - {"unsplit"} == {"backup", "lower"}
    assert "unsplit" in outside and "unsplit" not in want


def test_the_sebackup_sequence_on_agreeing_security_events():
    """The corpus rule credential_access_suspicious_winreg_access_via_sebackup_priv on events whose
    event.code and event.action agree (its generated witnesses never do, so its verification is vacuous)."""
    from eqlc.loaders import load_rules
    from tests.corpus import CORPUS

    [r] = load_rules(str(CORPUS / "windows" / "credential_access_suspicious_winreg_access_via_sebackup_priv.toml"))
    share = dict(event__code="5145", event__action="network-share-object-access-checked", event__category=["network", "file"],
                 event__type=["info", "access"], winlog__computer_name="dc1", **WIN_SEC)
    events = [_priv("p1", ["SeBackupPrivilege", "SeRestorePrivilege"], logon="0x1", ts="2026-11-03T10:00:00.000Z"),
              ev("s1", ts="2026-11-03T10:00:10.000Z", winlog__event_data__SubjectLogonId="0x1",
                 winlog__event_data__RelativeTargetName="winreg", **share),
              _priv("p2", ["SeBackupPrivilege", "SeDebugPrivilege"], logon="0x2", ts="2026-11-03T10:01:00.000Z"),
              ev("s2", ts="2026-11-03T10:01:10.000Z", winlog__event_data__SubjectLogonId="0x2",
                 winlog__event_data__RelativeTargetName="winreg", **share),
              _priv("p3", ["SeBackupPrivilege"], logon="0x3", ts="2026-11-03T10:02:00.000Z"),
              ev("s3", ts="2026-11-03T10:02:10.000Z", winlog__event_data__SubjectLogonId="0x4",
                 winlog__event_data__RelativeTargetName="winreg", **share)]
    got, want, outside = agree(r, events, profile="cased", must_agree=["p1", "s1", "p2", "s2", "p3", "s3"])
    assert want == {"p1", "s1"} and got == want


# ---- NewUACList: the names of the bits set in NewUacValue ----------------------------------------

def _uac(i, names=None, raw=None, **kw):
    data = {}
    if names is not None:
        data["NewUACList"] = names
    if raw is not None:
        data["NewUacValue"] = raw
    return ev(i, event__code="4738", event__action="modified-user-account", event__category=["iam"],
              event__type=["user", "change"], winlog__event_data=data, **WIN_SEC, **kw)


def test_new_uac_list_is_a_regex_on_the_hex_digit_of_its_bit():
    """security_standard.yml decodes NewUacValue and lists the MS-SAMR flag names whose bit is set:
    USER_DONT_REQUIRE_PREAUTH is bit 0x10000, the fifth hex digit from the right."""
    r = rule('any where host.os.type == "windows" and event.code == "4738" and '
             'winlog.event_data.NewUACList == "USER_DONT_REQUIRE_PREAUTH"')
    t = TARGET.compile(r, profile="cased")
    assert t.status is not Status.REFUSED, t.notes
    [d] = docs(t)
    assert d["detection"]["selection_new_uac_value"]["NewUacValue|re"] == "^0[xX][0-9a-fA-F]*[13579bdfBDF][0-9a-fA-F]{4}$"
    events = [_uac("preauth", ["USER_NORMAL_ACCOUNT", "USER_DONT_REQUIRE_PREAUTH"]),
              _uac("preauth_raw", ["USER_DONT_REQUIRE_PREAUTH", "USER_USE_AES_KEYS"], raw="0x210000"),
              _uac("normal", ["USER_NORMAL_ACCOUNT", "USER_DONT_EXPIRE_PASSWORD"]),
              _uac("des", ["USER_USE_DES_KEY_ONLY"]),
              _uac("none"),
              # a name the table does not have, or a number that disagrees with the list: set apart
              _uac("odd_name", ["DONT_REQ_PREAUTH"]),
              _uac("odd_raw", ["USER_DONT_REQUIRE_PREAUTH"], raw="0x10")]
    got, want, outside = agree(r, events, profile="cased", must_agree=["preauth", "preauth_raw", "normal", "des", "none"])
    assert got == {"preauth", "preauth_raw"}  # odd_raw carries 0x10, which the rule does not select
    assert {"odd_name", "odd_raw"} <= set(outside)


def test_an_or_of_event_ids_is_one_rule_per_id():
    """`(event.code == "4738" and ...) or (event.code == "5136" and ...)`: each branch reads the fields its
    own event id records (user.id is SubjectUserSid on 4738), so the query is a collection of two rules."""
    r = rule('any where host.os.type == "windows" and ('
             '(event.code == "4738" and winlog.event_data.NewUACList == "USER_DONT_EXPIRE_PASSWORD" and not user.id == "S-1-5-18") or '
             '(event.code == "5136" and winlog.event_data.AttributeLDAPDisplayName == "userAccountControl" and '
             'winlog.event_data.AttributeValue in ("66048", "66080")))')
    t = TARGET.compile(r, profile="cased")
    assert t.status is not Status.REFUSED, t.notes
    assert [d["detection"]["selection_new_uac_value"]["EventID"] if "selection_new_uac_value" in d["detection"] else None
            for d in docs(t)][0] == 4738
    assert len(docs(t)) == 2
    events = [_uac("never", ["USER_NORMAL_ACCOUNT", "USER_DONT_EXPIRE_PASSWORD"], user__id="S-1-5-21-1"),
              _uac("system", ["USER_DONT_EXPIRE_PASSWORD"], user__id="S-1-5-18"),
              _uac("expires", ["USER_NORMAL_ACCOUNT"], user__id="S-1-5-21-1"),
              ev("ds", event__code="5136", event__action="directory-service-object-modified", event__category=["iam", "configuration"],
                 event__type=["admin", "change"], winlog__event_data={"AttributeLDAPDisplayName": "userAccountControl",
                                                                      "AttributeValue": "66048"}, **WIN_SEC),
              ev("ds_other", event__code="5136", event__action="directory-service-object-modified", event__category=["iam", "configuration"],
                 event__type=["admin", "change"], winlog__event_data={"AttributeLDAPDisplayName": "userAccountControl",
                                                                      "AttributeValue": "512"}, **WIN_SEC)]
    got, want, outside = agree(r, events, profile="cased", must_agree=["never", "system", "expires", "ds", "ds_other"])
    assert got == {"never", "ds"}


# ---- an extension's absence ----------------------------------------------------------------------

def test_no_extension_is_a_last_path_segment_without_a_dot():
    """Under the tail assumption (file.extension is what follows the last '.' of the file name; its check
    sets apart an event whose path has an extension the ECS field lacks, or the reverse), `file.extension
    == null` is a missing path, a last segment without a dot, or a path ending with the dot."""
    r = rule('file where host.os.type == "linux" and event.type == "creation" and file.path like "*.git/hooks/*" and '
             'file.extension == null')
    t = TARGET.compile(r, profile="cased")
    assert t.status is not Status.REFUSED, t.notes
    base = dict(event__category=["file"], event__type=["creation"], host__os__type="linux")
    events = [ev("hook", file__path="/src/repo/.git/hooks/pre-commit", file__name="pre-commit", **base),
              ev("sample", file__path="/src/repo/.git/hooks/pre-commit.sample", file__name="pre-commit.sample",
                 file__extension="sample", **base),
              ev("dotdir", file__path="/src/a.b/.git/hooks/post-merge", file__name="post-merge", **base),
              # the extension is missing in ECS although the path has one: set apart by the tail check
              ev("odd", file__path="/src/repo/.git/hooks/x.sh", file__name="x.sh", **base)]
    got, want, outside = agree(r, events, profile="cased", must_agree=["hook", "sample", "dotdir"])
    assert got - {"odd"} == {"hook", "dotdir"}
    assert "odd" in outside


# ---- 5140/5145 file share access: source address and subject user --------------------------------

def test_share_access_reads_ip_address_and_the_subject_user():
    """security_standard.yml renames IpAddress/IpPort of 5140/5145 to source.ip/port unless the log writes "-"
    (dropped: `source.ip != null` is IpAddress neither null nor "-"), and copies the Subject* user."""
    r = rule('file where event.action == "network-share-object-access-checked" and '
             'winlog.event_data.ShareName : "\\\\\\\\*\\\\C$" and source.ip != null and source.ip != "127.0.0.1" and '
             'user.name == "alice"')
    t = TARGET.compile(r, profile="cased")
    assert t.status is not Status.REFUSED, t.notes
    [d] = docs(t)
    assert "'-'" in t.output and "SubjectUserName" in t.output
    base = dict(event__code="5145", event__action="network-share-object-access-checked", event__category=["network", "file"],
                event__type=["info", "access"], winlog__event_data__ShareName="\\\\*\\C$", **WIN_SEC)
    events = [ev("remote", source__ip="10.0.0.5", source__port=50123, user__name="alice", **base),
              ev("local", source__ip="127.0.0.1", user__name="alice", **base),
              ev("no_ip", user__name="alice", **base),
              ev("bob", source__ip="10.0.0.5", user__name="bob", **base)]
    got, want, outside = agree(r, events, profile="cased", must_agree=["remote", "local", "no_ip", "bob"])
    assert got == {"remote"}


def test_a_query_on_alert_documents_says_so():
    """Elastic Security's alerts (signal.*) are no log event: the refusal names them, and the coverage
    family classes them inexpressible (Sigma correlations chain the rules they name)."""
    from eqlc.targets.sigma.coverage import reason_class, verdict

    t = TARGET.compile(rule('any where host.os.type == "windows" and signal.rule.threat.tactic.name == "Credential Access"'))
    assert t.status is Status.REFUSED and "Elastic Security alert documents: signal.rule.threat.tactic.name" in t.notes[0]
    assert verdict(reason_class(t.notes[0])) == "inexpressible"
