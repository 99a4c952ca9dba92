"""Adversarial checks of last session's table routing in KQL (audit6: no disagreement found):

* Entra ID routed raw tables (`route`, kqlentra): Identity Protection records of both kept
  categories, of categories Elastic's pipeline drops or none, audit-log records, user principal
  names differing in case, empty or missing, in one-table and two-table sequences;
* ASIM `_Im_Dns` + `imNetworkSession` legs (`others_in`, kqlnet): network events with and without
  a question (missing, "", arrays, case), connections, other hosts, negated question conditions;
* ASIM `imAuthentication` (sshd, kqlnet): ssh_login and other actions, user names with the
  parser's "invalid user " prefix, empty, cased.

Each query runs on duckdb-kql and must select what the reference matcher selects among the events
inside the stated assumptions.
"""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from tests.test_kql_asim_gaps import _ev as asim_ev
from tests.test_kql_mapping_gaps import _run as asim_run
from tests.test_kql_sentinel_entra import ALERT_THEN_DEVICE, ALERTS, IDP, IDP_AUDIT, _audit, _risk, _sequence

UPN = st.sampled_from(["alice@corp", "ALICE@corp", "bob@corp", "", None, "\u00e9@corp"])
RISK = st.tuples(st.just("risk"), UPN, st.sampled_from(["RiskyUsers", "UserRiskEvents", "RiskyServicePrincipals", None]))
AUDIT = st.tuples(st.just("audit"), UPN, st.sampled_from(["Register device", "register device", "Add user"]))


@settings(max_examples=6, deadline=None, derandomize=True)
@given(records=st.lists(st.tuples(st.integers(0, 40), RISK | AUDIT), min_size=3, max_size=10, unique_by=lambda r: r[0]),
       two_tables=st.booleans())
def test_entra_routed_sequences_agree_with_the_matcher(records, two_tables):
    events = []
    for i, (half, (kind, upn, detail)) in enumerate(records):
        ts = f"{half // 2:02d}:{30 * (half % 2):02d}"
        events.append(_risk(f"e{i:02d}", ts, upn, detail) if kind == "risk" else _audit(f"e{i:02d}", ts, upn, action=detail))
    text, index = (ALERT_THEN_DEVICE, IDP_AUDIT) if two_tables else (ALERTS, IDP)
    tr, got, want, out = _sequence(text, index, events)
    assert got == want, (text, got, want, out)


NAME = st.sampled_from(["evil.top", "EVIL.TOP", "example.com", "", "localhost", "x.local", ["a.top", "b.com"], None])
NETWORK = st.fixed_dictionaries({"host__os__type": st.sampled_from(["windows", "linux"]),
                                 "process__name": st.sampled_from(["x.exe", "X.EXE", "hh.exe"]),
                                 "dns__question__name": NAME,
                                 "destination__ip": st.sampled_from(["10.0.0.1", "8.8.8.8", None])})
DNS_CONDITIONS = st.sampled_from([
    'process.name : "x.exe" and not dns.question.name : "{lit}"',
    '(dns.question.name : "{lit}" or destination.ip == "10.0.0.1")',
    'host.os.type == "windows" and dns.question.name == null and process.name : "x.exe"',
    'dns.question.name != null and not dns.question.name : ("{lit}", "example.com")'])


@settings(max_examples=6, deadline=None, derandomize=True)
@given(rows=st.lists(NETWORK, min_size=4, max_size=14), cond=DNS_CONDITIONS,
       lit=st.sampled_from(["*.top", "localhost", "*.local", "evil*", "*"]))
def test_asim_dns_and_session_legs_agree_with_the_matcher(rows, cond, lit):
    events = [asim_ev(f"e{i:02d}", "network", process__executable="C:\\Users\\Public\\" + r["process__name"],
                      **{k: v for k, v in r.items() if v is not None}) for i, r in enumerate(rows)]
    tr, got, want, out = asim_run("sentinel-asim", "network where " + cond.format(lit=lit), events)
    assert got == want, (cond, tr.output, sorted(got ^ want))


LOGIN = st.fixed_dictionaries({"event__action": st.sampled_from(["ssh_login", "user_login", "SSH_LOGIN", None]),
                               "event__outcome": st.sampled_from(["success", "failure", None]),
                               "user__name": st.sampled_from(["root", "ROOT", "invalid user x", "invalid userx", "", " root", None]),
                               "source__ip": st.sampled_from(["203.0.113.5", "10.1.2.3", "", None])})


@settings(max_examples=6, deadline=None, derandomize=True)
@given(rows=st.lists(LOGIN, min_size=4, max_size=14), op=st.sampled_from(["==", ":", "!=", "like~"]),
       user=st.sampled_from(["root", "ROOT", "invalid*", "*", "ro?t", "x"]), negate=st.booleans())
def test_asim_ssh_logins_agree_with_the_matcher(rows, op, user, negate):
    events = [asim_ev(f"e{i:02d}", "authentication", host__os__type="linux", **{k: v for k, v in r.items() if v is not None})
              for i, r in enumerate(rows)]
    cond = f'user.name {op} "{user}"'
    text = f'authentication where event.action == "ssh_login" and {"not " if negate else ""}{cond}'
    tr, got, want, out = asim_run("sentinel-asim", text, events)
    assert got == want, (text, tr.output, sorted(got ^ want))
