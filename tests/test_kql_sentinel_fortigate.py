"""The `sentinel` KQL profile's FortiGate logs (issue 13, kqlfort): CommonSecurityLog rows of the
Fortinet CEF connectors, with the FortiOS fields Elastic's fortinet_fortigate integration indexes
as fortinet.firewall.* read from the CEF extensions (act in DeviceAction, FTNTFGT* pairs in
AdditionalExtensions).

Two kinds of test, as for SecurityEvent (test_kql_sentinel_derived.py):

* the key=value reading is evaluated by duckdb-kql on AdditionalExtensions strings written by hand
  as Sentinel stores FortiGate's CEF extensions (the FortiOS Log Message Reference's CEF examples,
  pairs joined by ";"), and compared with the values Elastic's pipeline sets from the same FortiOS
  fields, written by hand too: a wrong key anchor (cfgattr read out of a longer key), a value cut at
  the wrong separator, or N/A read as a value fails here;
* the corpus rules run on duckdb-kql over rows the fixture adapter builds from ECS events and are
  compared with the reference matcher; events whose values CEF cannot carry as Elastic has them (a
  quote, ";", "=", a surrounding space, N/A) are set apart by name.
"""

from __future__ import annotations

from pathlib import Path

import duckdb_kql
import pytest

from eqlc.result import Status
from eqlc.targets.kql import TARGET
from eqlc.targets.kql.adapter import ID_COLUMN, Loaded, connect
from eqlc.targets.kql.profile import load_profile
from eqlc.rule import Rule
from eqlc import parse_query
from tests.test_kql_sentinel import _run

CORPUS = Path(__file__).resolve().parents[2] / "shared" / "corpus" / "elastic-detection-rules" / "network"
FORTI = ("logs-fortinet_fortigate.*",)

# AdditionalExtensions as Sentinel keeps FortiGate's CEF extensions without a column of their own,
# and the fortinet.firewall values / event.code Elastic's pipeline sets from the same FortiOS log
# (default.yml: quotes removed, N/A dropped; event.yml: logid renamed to event.code).
RAW = [
    ("policy", "FTNTFGTlogid=0100044547;FTNTFGTlogdesc=Object attribute configured;FTNTFGTcfgtid=1000;"
               "FTNTFGTcfgpath=firewall.policy;FTNTFGTcfgobj=21;FTNTFGTcfgattr=srcaddr[all]dstaddr[all]service[ALL]",
     {"event.code": "0100044547", "fortinet.firewall.cfgpath": "firewall.policy",
      "fortinet.firewall.cfgobj": "21", "fortinet.firewall.cfgattr": "srcaddr[all]dstaddr[all]service[ALL]"}),
    # the key first, a key that ends with another key's name (xcfgattr), an empty value
    ("anchors", "FTNTFGTcfgattr=accprofile[super_admin];XFTNTFGTcfgpath=nope;FTNTFGTcfgpath=system.admin;FTNTFGTcfgobj=",
     {"fortinet.firewall.cfgattr": "accprofile[super_admin]", "fortinet.firewall.cfgpath": "system.admin",
      "fortinet.firewall.cfgobj": "", "event.code": ""}),
    # N/A: Elastic's pipeline removes the field
    ("na", "FTNTFGTlogid=0100032095;FTNTFGTcfgpath=N/A;FTNTFGTsubtype=system",
     {"event.code": "0100032095", "fortinet.firewall.cfgpath": "", "fortinet.firewall.subtype": "system"}),
    ("empty", "", {"event.code": "", "fortinet.firewall.cfgattr": ""}),
]


def test_key_value_reading_gives_what_elastic_sets():
    table = load_profile("sentinel").tables["CommonSecurityLog"]
    names = sorted({n for _, _, want in RAW for n in want})
    cols = {ID_COLUMN: "string", "AdditionalExtensions": "string", "TimeGenerated": "datetime"}
    rows = [{ID_COLUMN: _id, "AdditionalExtensions": raw, "TimeGenerated": None} for _id, raw, _ in RAW]
    query = f"CommonSecurityLog | project {ID_COLUMN}, " + ", ".join(
        f"v{i} = tostring({table.fields[n].expr})" for i, n in enumerate(names))
    got = {r[0]: dict(zip(names, r[1:])) for r in duckdb_kql.kql(connect(Loaded({"CommonSecurityLog": (cols, rows)}), query), query).fetchall()}
    for _id, _raw, want in RAW:
        for name, value in want.items():
            assert (got[_id][name] or "") == value, (_id, name, got[_id][name])


def _rule(text: str) -> Rule:
    return Rule(query=parse_query(text), query_text=text, name="kql sentinel fortigate", index=FORTI)


def _ev(_id: str, code="0100044547", action="Add", path="system.admin", attr="accprofile[super_admin]",
        dataset="fortinet_fortigate.log") -> dict:
    fw = {k: v for k, v in (("action", action), ("cfgpath", path), ("cfgattr", attr)) if v is not None}
    ev = {"_id": _id, "@timestamp": "2026-01-01T00:00:00Z", "data_stream": {"dataset": dataset},
          "fortinet": {"firewall": fw}}
    if code is not None:
        ev["event"] = {"code": code}
    return ev




def _corpus(name: str) -> Rule:
    from eqlc.loaders import load_rules

    return load_rules(CORPUS / name)[0]


EVENTS = [
    _ev("match"),
    _ev("match-upper-attr", attr="name[x]ACCPROFILE[SUPER_ADMIN]"),
    _ev("other-profile", attr="accprofile[prof_admin]"),
    _ev("edit", action="Edit"),
    _ev("action-case", action="add"),
    _ev("other-path", path="system.global"),
    _ev("other-code", code="0100044546"),
    _ev("short-code", code="44547"),
    _ev("no-attr", attr=None),
    # outside: values the CEF extension does not carry as Elastic indexes them
    _ev("semicolon", attr="comments[a;b]accprofile[super_admin]"),
    _ev("quote", attr='accprofile[super_admin]name["x"]'),
    _ev("equals", attr="accprofile[super_admin]k[a=b]"),
    _ev("space", attr=" accprofile[super_admin]"),
    _ev("na", path="N/A"),
    _ev("action-quote", action='"Add"'),
    _ev("action-na", action="N/A"),
    # outside: another data set than the table's
    _ev("other-dataset", dataset="fortinet_fortigate.other"),
]


def test_super_admin_rule_runs_on_duckdb_kql_as_the_matcher_decides():
    rule = _corpus("persistence_fortigate_super_admin_account_creation.toml")
    tr, got, want, out = _run(rule, EVENTS)
    assert tr.status is Status.ASSUMPTIONS, tr.notes
    assert tr.output.splitlines()[:3] == ["CommonSecurityLog", '| where DeviceVendor == "Fortinet"',
                                          '| where DeviceProduct == "Fortigate"']
    assert set(out) == {"semicolon", "quote", "equals", "space", "na", "action-quote", "action-na", "other-dataset"}, out
    assert got == want == ["match", "match-upper-attr"], (got, want)


@pytest.mark.parametrize("name,hits", [
    ("collection_fortigate_config_download.toml", {"download"}),
    ("defense_evasion_fortigate_overly_permissive_firewall_policy.toml", {"policy", "policy-edit"}),
    ("persistence_fortigate_super_admin_account_creation.toml", {"match"}),
])
def test_corpus_rules_translate_and_agree(name, hits):
    events = [
        _ev("download", code="0100032095", action="download", path=None, attr=None),
        _ev("download-other-code", code="0100032096", action="download", path=None, attr=None),
        _ev("policy", path="firewall.policy", attr="srcaddr[all]dstaddr[all]service[ALL]"),
        _ev("policy-edit", action="Edit", path="firewall.policy", attr="name[p]srcaddr[all]dstaddr[all]service[all]"),
        _ev("policy-some", path="firewall.policy", attr="srcaddr[all]dstaddr[lan]service[ALL]"),
        _ev("match"),
    ]
    tr, got, want, out = _run(_corpus(name), events)
    assert tr.status is Status.ASSUMPTIONS, tr.notes
    assert not out, out
    assert set(got) == set(want) == hits, (got, want)


def test_queries_parse_with_microsofts_parser():
    from tests.node.kusto import analyse, declared_tables

    names = ["collection_fortigate_config_download.toml",
             "defense_evasion_fortigate_overly_permissive_firewall_policy.toml",
             "persistence_fortigate_super_admin_account_creation.toml"]
    outs = [TARGET.compile(_corpus(n), profile="sentinel").output for n in names]
    assert all(outs)
    assert analyse(outs, declared_tables("sentinel")) == [[] for _ in outs]
