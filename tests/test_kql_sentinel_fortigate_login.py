"""The `sentinel` profile's FortiGate logins (issue 13, kqlforti): event.action, event.outcome and
fortinet.firewall.ui of CommonSecurityLog rows, computed from the CEF columns (Message, DeviceAction,
DeviceEventCategory, AdditionalExtensions, SourceProcessName) as Elastic's fortinet_fortigate
pipeline derives them from the same FortiOS fields; observer.name as Computer.

* :func:`elastic` transcribes the pipeline steps that decide the three fields (default.yml 009be49,
  event.yml 05ab9f6, login.yml 35ead75, traffic.yml, utm.yml), with a port of Elasticsearch's
  dissect (libs/dissect DissectParser.parse, including its consecutive-delimiter rule), and
  hand-written FortiOS logs are compared, as duckdb-kql evaluates the profile's expressions on their
  CEF rows, with what it gives: a wrong pipeline order (traffic's action over "login"), a dissect
  read at the wrong occurrence, a missed fail/success folding or ui kept on a login fails here.
  Logs whose message repeats a delimiter (where dissect and a regular expression part) are the
  stated assumption's exclusions: targets/kql/fortigate.breaks must set each of them apart.
* the corpus rule runs on duckdb-kql against the reference matcher over ECS events whose login
  message the fixture adapter writes (targets/kql/fortigate.fill), and Microsoft's parser reads its
  query with no diagnostic.
"""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import duckdb_kql
import pytest

from eqlc.result import Status
from eqlc.targets.kql import TARGET, fortigate
from eqlc.targets.kql.adapter import ID_COLUMN, Loaded, connect
from eqlc.targets.kql.profile import load_profile
from tests.test_kql_sentinel import _sequence_run

CORPUS = Path(__file__).resolve().parents[2] / "shared" / "corpus" / "elastic-detection-rules" / "network"
RULE = "persistence_fortigate_sso_login_followed_by_admin_creation.toml"


# ---- Elasticsearch's dissect and the pipeline, transcribed ------------------------------------

def _pattern(pattern: str) -> tuple[str, list[tuple[str, str]]]:
    """(leading delimiter, [(key, the delimiter after it)]) of a dissect pattern without modifiers."""
    leading, _, rest = pattern.partition("%{")
    pairs = []
    while rest:
        key, _, rest = rest.partition("}")
        delim, _, rest = rest.partition("%{")
        pairs.append((key, delim))
    return leading, pairs


def dissect(pattern: str, text: str) -> Optional[dict[str, str]]:
    """DissectParser.parse: the keys' values (skip keys left out, empty values kept, as DissectMatch
    keeps them and DissectProcessor writes them), or None when the text does not match."""
    leading, pairs = _pattern(pattern)
    if not (len(text) > len(leading) and text.startswith(leading)):
        return None
    data, out, matches = text.encode(), {}, 0
    it = iter(pairs)
    key, delim = next(it)
    d = delim.encode()
    i = start = len(leading.encode())

    def add(k: str, v: str) -> None:
        nonlocal matches
        matches += 1
        if k:
            out[k] = v

    while i < len(data):
        if d and data[i:i + len(d)] == d:
            add(key, data[start:i].decode())
            i += len(d)
            last = False
            while i < len(data) and data[i:i + len(d)] == d:  # consecutive delimiters
                i += len(d)
                nxt = next(it, None)
                if nxt is None:
                    last = True
                    break
                key, _ = nxt
                add(key, "")
            nxt = None if last else next(it, None)
            if nxt is None:
                break
            key, delim = nxt
            d = delim.encode()
            start = i
        else:
            i += 1
    if matches < len(pairs) and not d:
        add(key, data[start:].decode())
    return out if matches == len(pairs) else None


def elastic(fw: dict) -> dict:
    """event.action, event.outcome and fortinet.firewall.ui (None: no value) as the pipeline sets
    them from FortiOS fields as Elastic parses them (N/A values already dropped)."""
    action = outcome = None
    ui = fw.get("ui")
    message, act, kind = fw.get("msg"), fw.get("action"), fw.get("type")
    if kind == "event":  # event.yml
        if fw.get("result") == "ERROR" or fw.get("status") == "negotiate_error":
            outcome = "failure"
        if fw.get("result") == "OK" or act in ("FSSO-logon", "auth-logon", "FSSO-logoff", "auth-logout"):
            outcome = "success"
    if isinstance(message, str) and ("login" in message.lower() or "logged in" in message.lower()):  # login.yml
        action = action or "login"
        found = None
        if message.startswith("user") and fw.get("desc") is not None:
            found = dissect("User login/logout %{event.outcome}", fw["desc"])
        if message.startswith("Login from ssh:"):
            found = dissect("Login from ssh: %{event.outcome} for %{user.name} from %{source.ip} port %{source.port}", message)
        if message.startswith("Administrator") and "logged in" not in message.lower():
            found = dissect("%{roles} %{user.name} login %{event.outcome} from %{}(%{source.ip}) %{}", message)
        if message.startswith("Administrator") and "logged in" in message.lower():
            found = dissect("%{roles} %{user.name} logged in %{event.outcome} from %{}(%{source.ip})", message)
        if found is not None:
            outcome = found["event.outcome"]
        if outcome is not None and outcome.lower().startswith("fail"):
            outcome = "failure"
        if outcome is not None and outcome.lower().startswith("success"):
            outcome = "success"
        ui = None
    if kind == "traffic":  # traffic.yml
        if act:
            action = act
        if act is not None:
            outcome = "success"
    if kind in ("utm", "dns") and act is not None:  # utm.yml
        outcome = "success"
    if action is None and fw.get("eventtype") is not None:  # default.yml, eventtype -> event.action
        action = fw["eventtype"]
    return {"event.action": action, "event.outcome": outcome, "fortinet.firewall.ui": ui}


def test_dissect_port_reads_the_patterns_as_elasticsearch_does():
    assert dissect("Login from ssh: %{o} for %{u} from %{ip} port %{p}",
                   "Login from ssh: Failed for philipp from 192.168.0.10 port 38654") == {
        "o": "Failed", "u": "philipp", "ip": "192.168.0.10", "p": "38654"}
    # a trailing delimiter ends the last key; what follows is not read
    assert dissect("%{r} %{u} logged in %{o} from %{}(%{ip})", "Administrator a logged in ok from GUI(1.2.3.4) x")["o"] == "ok"
    # a repeated delimiter gives the next key "" and skips its delimiter (DissectParser's comment)
    assert dissect("%{a},%{b},%{c},%{d}", "foo,,,") == {"a": "foo", "b": "", "c": "", "d": ""}
    assert dissect("%{r} %{u} login %{o} from %{}(%{ip}) %{}", "Administrator  bob login failed from x(1) y")["o"] == "bob login failed"
    assert dissect("User login/logout %{o}", "User login/logout ") is None  # not longer than the prefix


# (id, FortiOS fields as Elastic has them; a log of the FortiOS Log Message Reference's shapes)
LOGS = [
    ("gui-success", {"type": "event", "subtype": "system", "msg": "Administrator admin logged in successfully from https(10.1.1.1)",
                     "ui": "https(10.1.1.1)", "action": "login", "status": "success"}),
    ("sso-success", {"type": "event", "subtype": "system", "msg": "Administrator cloud-user logged in successfully from sso(203.0.113.5)",
                     "ui": "sso(203.0.113.5)", "method": "sso"}),
    ("ssh-key-failed", {"type": "event", "subtype": "system",
                        "msg": "Administrator philipp login failed from ssh(192.168.0.10) because of invalid ssh key"}),
    ("ssh-failed", {"type": "event", "subtype": "system", "msg": "Login from ssh: Failed for philipp from 192.168.0.10 port 38654"}),
    ("ssh-accepted", {"type": "event", "subtype": "system", "msg": "Login from ssh: Accepted for bob from 1.2.3.4 port 22"}),
    ("ssh-for-in-user", {"type": "event", "msg": "Login from ssh: Failed for user for x from 1.2.3.4 port 22"}),
    ("desc-success", {"type": "event", "subtype": "user", "msg": "user login successful", "desc": "User login/logout successful"}),
    ("desc-over-result", {"type": "event", "subtype": "user", "msg": "user login failed", "desc": "User login/logout failure",
                          "result": "OK"}),
    ("desc-prefix-only", {"type": "event", "subtype": "user", "msg": "user login x", "desc": "User login/logout ", "result": "OK"}),
    ("desc-not-user", {"type": "event", "msg": "User login via sso", "desc": "User login/logout failure", "result": "OK"}),
    ("upper-login", {"type": "event", "msg": "SSO LOGGED IN ok", "result": "ERROR"}),
    ("upper-success", {"type": "event", "msg": "Administrator admin logged in SUCCESSFULLY from GUI(1.1.1.1)"}),
    ("no-parenthesis", {"type": "event", "msg": "Administrator admin logged in successfully from GUI 1.1.1.1", "result": "OK"}),
    ("no-outcome", {"type": "event", "msg": "Administrator admin logged in successfully from GUI 1.1.1.1"}),
    ("traffic-action", {"type": "traffic", "subtype": "forward", "action": "accept", "msg": "login page"}),
    ("traffic-no-action", {"type": "traffic", "subtype": "forward", "msg": "login page"}),
    ("utm-action", {"type": "utm", "subtype": "webfilter", "action": "pass", "msg": "Administrator x login ok from a(b) c"}),
    ("dns-action", {"type": "dns", "subtype": "dns-query", "action": "block", "msg": "Login from ssh: Failed for a from b port c"}),
    # event.action "login" from eventtype: login.yml does not run, ui stays (the rule's ui branch)
    ("eventtype-login", {"type": "event", "subtype": "user", "eventtype": "login", "msg": "Authentication succeeded",
                         "action": "auth-logon", "ui": "sso-portal"}),
    ("eventtype-other", {"type": "event", "subtype": "system", "eventtype": "config", "msg": "Attribute configured"}),
    ("negotiate", {"type": "event", "subtype": "vpn", "status": "negotiate_error", "msg": "IPsec negotiate"}),
    ("no-message", {"type": "event", "subtype": "system", "ui": "sso-x"}),
    ("logout", {"type": "event", "subtype": "system", "msg": "Administrator admin logged out from GUI(1.1.1.1)", "ui": "GUI(1.1.1.1)"}),
]
# FortiOS values of N/A, which Elastic's pipeline drops (default.yml): (id, as Elastic has the log,
# the CEF row's values where they differ)
NA = [
    ("na-message", {"type": "event", "result": "OK"}, {"msg": "N/A"}),
    ("na-desc", {"type": "event", "subtype": "user", "msg": "user login ok", "result": "OK"}, {"desc": "N/A"}),
    ("na-action", {"type": "traffic", "msg": "login page"}, {"action": "N/A"}),
]
# messages repeating a delimiter of their dissect: outside the stated reading (fortigate.breaks)
DOUBLED = [
    ("double-space", {"type": "event", "msg": "Administrator  bob login failed from ssh(1.2.3.4) x"}),
    ("double-for", {"type": "event", "msg": "Login from ssh: Failed for  for bob from 1.2.3.4 port 22"}),
    ("double-paren", {"type": "event", "msg": "Administrator bob logged in ok from GUI((1.2.3.4)"}),
]


def _row(_id: str, fw: dict) -> dict:
    pairs = ";".join(f"FTNTFGT{k}={fw[k]}" for k in ("result", "status", "desc", "eventtype", "method") if k in fw)
    cat = f"{fw['type']}:{fw.get('subtype', '')}" if "type" in fw else ""
    return {ID_COLUMN: _id, "TimeGenerated": None, "Message": fw.get("msg", ""), "DeviceAction": fw.get("action", ""),
            "DeviceEventCategory": cat, "AdditionalExtensions": pairs, "SourceProcessName": fw.get("ui", "")}


def _computed(logs: list[tuple[str, dict]]) -> dict[str, dict]:
    table = load_profile("sentinel").tables["CommonSecurityLog"]
    names = ["event.action", "event.outcome", "fortinet.firewall.ui"]
    cols = {ID_COLUMN: "string", "TimeGenerated": "datetime", "Message": "string", "DeviceAction": "string",
            "DeviceEventCategory": "string", "AdditionalExtensions": "string", "SourceProcessName": "string"}
    rows = [_row(i, fw) for i, fw in logs]
    query = f"CommonSecurityLog | project {ID_COLUMN}, " + ", ".join(
        f"v{i} = tostring({table.fields[n].expr})" for i, n in enumerate(names))
    con = connect(Loaded({"CommonSecurityLog": (cols, rows)}), query)
    return {r[0]: dict(zip(names, r[1:])) for r in duckdb_kql.kql(con, query).fetchall()}


def test_the_columns_give_what_elastics_pipeline_sets():
    got = _computed(LOGS)
    for _id, fw in LOGS:
        assert fortigate.breaks(fw.get("msg", "")) is None, _id
        want = {k: v or "" for k, v in elastic(fw).items()}
        assert {k: v or "" for k, v in got[_id].items()} == want, (_id, got[_id], want)
    # the cases the table reads: both derivations of "login", both outcomes, ui kept / removed
    assert elastic(dict(LOGS)["sso-success"]) == {"event.action": "login", "event.outcome": "success", "fortinet.firewall.ui": None}
    assert elastic(dict(LOGS)["eventtype-login"])["fortinet.firewall.ui"] == "sso-portal"
    assert elastic(dict(LOGS)["traffic-action"])["event.action"] == "accept"


def test_na_values_read_as_elastic_drops_them():
    got = _computed([(i, {**fw, **raw}) for i, fw, raw in NA])
    for _id, fw, _raw in NA:
        want = {k: v or "" for k, v in elastic(fw).items()}
        assert {k: v or "" for k, v in got[_id].items()} == want, (_id, got[_id], want)


def test_repeated_delimiters_are_set_apart():
    got = _computed(DOUBLED)
    differs = 0
    for _id, fw in DOUBLED:
        assert fortigate.breaks(fw["msg"]) is not None, _id
        differs += ({k: v or "" for k, v in elastic(fw).items()} != {k: v or "" for k, v in got[_id].items()})
    assert differs, "the exclusion guards a case where dissect and the regular expression part"


@pytest.mark.parametrize("outcome", ["success", "failure", "Accepted", None])
def test_the_written_message_gives_the_witness_values(outcome):
    ev = {"event": {"action": "login", **({"outcome": outcome} if outcome else {})}}
    written, why = fortigate.fill(ev)
    assert why is None and len(written) == 1
    got = elastic({"msg": written[0][1]})
    assert got["event.action"] == "login" and got["event.outcome"] == outcome


def test_an_event_with_its_own_message_is_read_as_it_is():
    assert fortigate.fill({"message": "Administrator a logged in ok from x(y)", "event": {"action": "login"}}) == ([], None)
    written, why = fortigate.fill({"message": "Administrator  a login ok from x(y) z"})
    assert written == [] and "twice in a row" in why
    assert fortigate.fill({"event": {"action": "exec"}}) == ([], None)


# ---- the corpus rule --------------------------------------------------------------------------

def _ev(_id: str, ts: str, host: Optional[str] = "fgt-1", **fields) -> dict:
    ev: dict = {"_id": _id, "@timestamp": f"2026-01-01T00:{ts}Z", "data_stream": {"dataset": "fortinet_fortigate.log"},
                "event": {}, "fortinet": {"firewall": {}}}
    if host is not None:
        ev["observer"] = {"name": host}
    for k, v in fields.items():
        if k in ("action", "outcome", "code", "category"):
            ev["event"][k] = v
        elif k == "message":
            ev["message"] = v
        else:
            ev["fortinet"]["firewall"][k] = v
    return ev


def _login(_id, ts, host="fgt-1", **kw):
    return _ev(_id, ts, host, category=["authentication"], **{"action": "login", "outcome": "success", **kw})


def _add(_id, ts, host="fgt-1"):
    ev = _ev(_id, ts, host, code="0100044547", cfgpath="system.admin")
    ev["fortinet"]["firewall"]["action"] = "Add"
    return ev


EVENTS = [
    _login("sso", "00:00", method="sso"), _add("sso-add", "05:00"),
    _login("late", "00:00", host="fgt-2", method="sso"), _add("late-add", "16:00", host="fgt-2"),
    _login("other-method", "00:00", host="fgt-3", method="local"), _add("other-method-add", "01:00", host="fgt-3"),
    _login("failed", "00:00", host="fgt-4", method="sso", outcome="failure"), _add("failed-add", "01:00", host="fgt-4"),
    _login("real-message", "00:00", host="fgt-5", method="sso",
           message="Administrator cloud-user logged in successfully from sso(203.0.113.5)"), _add("real-message-add", "02:00", host="fgt-5"),
    _login("other-host", "00:00", host="fgt-6", method="sso"), _add("other-host-add", "01:00", host="fgt-7"),
    # outside: a login's ui (login.yml removes it), a message whose dissect gives another outcome
    _login("ui-on-login", "00:00", host="fgt-8", ui="sso"), _add("ui-on-login-add", "01:00", host="fgt-8"),
    _login("message-says-failed", "00:00", host="fgt-9", method="sso",
           message="Administrator a logged in failed from sso(1.2.3.4)"), _add("message-says-failed-add", "01:00", host="fgt-9"),
]


def _corpus():
    from eqlc.loaders import load_rules

    return load_rules(CORPUS / RULE)[0]


def _run(rule, events: list[dict]):
    """The translation, the ids duckdb-kql selects, the ids of the matcher's sequences over the
    events inside the stated assumptions, and the events outside them (with why)."""
    return _sequence_run(rule, events)


def test_sso_login_sequence_runs_on_duckdb_kql_as_the_matcher_decides():
    tr, got, want, out = _run(_corpus(), EVENTS)
    assert tr.status is Status.ASSUMPTIONS, tr.notes
    # (their admin creations are outside through them: without them the rule selects neither)
    assert set(out) == {"ui-on-login", "message-says-failed", "ui-on-login-add", "message-says-failed-add"}, out
    assert "fortinet.firewall.ui" in out["ui-on-login"] and "event.outcome" in out["message-says-failed"]
    assert got == want == ["real-message", "real-message-add", "sso", "sso-add"], (got, want)
    notes = " ".join(tr.notes)
    assert "observer.name is CommonSecurityLog's Computer" in notes
    assert "no dissect delimiter twice in a row" in notes


def test_sso_login_query_parses_with_microsofts_parser():
    from tests.node.kusto import analyse, declared_tables

    out = TARGET.compile(_corpus(), profile="sentinel").output
    assert out and "Message matches regex" in out
    assert analyse([out], declared_tables("sentinel")) == [[]]
