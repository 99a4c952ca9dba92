"""Sequences with ``until`` on KQL (query.until_leg): the scan's completed matches are kept unless an
until event of their join key lies in [first event, last event) of the match.

Queries run on duckdb-kql (the legs, the until rows among them) and the scan model, and must select
exactly what the reference matcher selects among the events inside the stated assumptions; the
events the matcher orders by input position and the query by timestamp (an until event at the
timestamp of another event of its key) are outside them. Microsoft's parser checks the query and
its Sentinel windowed form.
"""

from __future__ import annotations

from eqlc.result import Status
from tests.test_kql_sentinel import _rule, matcher
from tests.test_kql_sentinel_okta import OKTA, _okta

PUSH = 'any where data_stream.dataset == "okta.system" and okta.event_type == "user.mfa.okta_verify.deny_push"'
OK = ('any where data_stream.dataset == "okta.system" and okta.event_type in ("user.session.start", "user.mfa.okta_verify.deny_push") '
      'and okta.outcome.result == "SUCCESS"')
BOMBING = f'sequence by okta.actor.id with maxspan=10m [{PUSH}] with runs=3 until [{OK}]'
TWO_STEPS = (f'sequence by okta.actor.id with maxspan=10m [{PUSH}] [any where data_stream.dataset == "okta.system" and '
             f'okta.event_type == "user.session.start"] until [{OK}]')


def _run(text: str, events: list[dict], index=OKTA, profile: str = "sentinel"):
    from eqlc.targets.kql import TARGET

    rule = _rule(text, index)
    tr = TARGET.compile(rule, profile=profile)
    assert tr.status is Status.ASSUMPTIONS, tr.notes
    out = TARGET.outside_assumptions(rule, tr, events, profile=profile)
    got = sorted(TARGET.execute(tr, events, profile=profile))
    inside = [e for e in events if e["_id"] not in out]
    want = sorted(dict.fromkeys(e["_id"] for m in matcher(rule).run(events, sort=True) for e in m.events
                                if e["_id"] not in out))
    return tr, [g for g in got if g not in out], want, out


def test_an_until_event_drops_the_pending_sequences_of_its_key_only():
    events = [
        _okta("a1", "00:00", "a", "user.mfa.okta_verify.deny_push"),
        _okta("a2", "00:01", "a", "user.mfa.okta_verify.deny_push"),
        _okta("a-ok", "00:02", "a", "user.session.start", result="SUCCESS"),  # drops a1, a2
        _okta("a3", "00:03", "a", "user.mfa.okta_verify.deny_push"),
        _okta("a4", "00:04", "a", "user.mfa.okta_verify.deny_push"),
        _okta("a5", "00:05", "a", "user.mfa.okta_verify.deny_push"),  # a3..a5 complete after the until
        _okta("b1", "00:00", "b", "user.mfa.okta_verify.deny_push"),
        _okta("b2", "00:01", "b", "user.mfa.okta_verify.deny_push"),
        _okta("b-no", "00:02", "b", "user.session.start", result="FAILURE"),  # not an until event
        _okta("b3", "00:03", "b", "user.mfa.okta_verify.deny_push"),
        _okta("c1", "00:00", "c", "user.mfa.okta_verify.deny_push"),
        _okta("c2", "00:01", "c", "user.mfa.okta_verify.deny_push"),
        _okta("a-ok2", "00:02", "a", "user.session.start", result="SUCCESS"),  # another key's until
        _okta("c3", "00:03", "c", "user.mfa.okta_verify.deny_push"),
        _okta("c-ok", "00:04", "c", "user.session.start", result="SUCCESS"),  # after c completed
    ]
    tr, got, want, out = _run(BOMBING, events)
    assert "let __until = OktaV2_CL" in tr.output and "| where __ut >= __begin and __ut < __end" in tr.output
    assert not out, out
    assert got == want == ["a3", "a4", "a5", "b1", "b2", "b3", "c1", "c2", "c3"], (got, want)


def test_an_event_that_is_both_a_step_and_an_until_event():
    # a successful deny_push fills a step and is an until event: it still completes a sequence it
    # ends, and drops the one it starts or continues (the matcher pops pending sequences after the
    # event's own step)
    events = [
        _okta("x1", "00:00", "x", "user.mfa.okta_verify.deny_push"),
        _okta("x2", "00:01", "x", "user.mfa.okta_verify.deny_push"),
        _okta("x3", "00:02", "x", "user.mfa.okta_verify.deny_push", result="SUCCESS"),  # ends x1..x3
        _okta("y1", "00:00", "y", "user.mfa.okta_verify.deny_push", result="SUCCESS"),  # starts and drops
        _okta("y2", "00:01", "y", "user.mfa.okta_verify.deny_push"),
        _okta("y3", "00:02", "y", "user.mfa.okta_verify.deny_push"),
        _okta("z1", "00:00", "z", "user.mfa.okta_verify.deny_push"),
        _okta("z2", "00:01", "z", "user.mfa.okta_verify.deny_push", result="SUCCESS"),  # continues and drops
        _okta("z3", "00:02", "z", "user.mfa.okta_verify.deny_push"),
        _okta("z4", "00:03", "z", "user.mfa.okta_verify.deny_push"),
        _okta("z5", "00:04", "z", "user.mfa.okta_verify.deny_push"),
    ]
    tr, got, want, out = _run(BOMBING, events)
    assert not out, out
    assert got == want == ["x1", "x2", "x3", "z3", "z4", "z5"], (got, want)


def test_until_tied_with_a_step_event_is_outside_the_assumption():
    events = [
        _okta("t1", "00:00", "t", "user.mfa.okta_verify.deny_push"),
        _okta("t2", "00:01", "t", "user.mfa.okta_verify.deny_push"),
        _okta("t-ok", "00:01", "t", "user.session.start", result="SUCCESS"),  # same time as t2
        _okta("t3", "00:02", "t", "user.mfa.okta_verify.deny_push"),
        _okta("u1", "00:00", "u", "user.mfa.okta_verify.deny_push"),
        _okta("u-ok", "00:00", "v", "user.session.start", result="SUCCESS"),  # same time, another key
        _okta("u2", "00:01", "u", "user.mfa.okta_verify.deny_push"),
        _okta("u3", "00:02", "u", "user.mfa.okta_verify.deny_push"),
    ]
    tr, got, want, out = _run(BOMBING, events)
    assert {"t2", "t-ok"} <= set(out) and not {"u1", "u2", "u3", "u-ok"} & set(out), out
    assert got == want and {"u1", "u2", "u3"} <= set(got), (got, want)


def test_until_between_two_terms_and_after_the_sequence():
    events = [
        _okta("p1", "00:00", "p", "user.mfa.okta_verify.deny_push"),
        _okta("p-ok", "00:01", "p", "user.session.start", result="SUCCESS"),  # is also step 2: ends p1, p-ok
        _okta("q1", "00:00", "q", "user.mfa.okta_verify.deny_push"),
        _okta("q-ok", "00:01", "q", "user.mfa.okta_verify.deny_push", result="SUCCESS"),  # a step-1 until: drops q1 and itself
        _okta("q2", "00:02", "q", "user.session.start"),
        _okta("r1", "00:00", "r", "user.mfa.okta_verify.deny_push"),
        _okta("r2", "00:01", "r", "user.session.start"),
        _okta("r-ok", "00:02", "r", "user.session.start", result="SUCCESS"),  # after r1, r2 completed
    ]
    tr, got, want, out = _run(TWO_STEPS, events)
    assert not out, out
    assert got == want == ["p-ok", "p1", "r1", "r2"], (got, want)  # r-ok: no pending sequence left to end


def test_until_on_a_defender_category_table():
    from eqlc.targets.kql import TARGET

    text = ('sequence by host.id with maxspan=1m [process where process.name == "a.exe"] '
            '[process where process.name == "b.exe"] until [process where process.name == "c.exe"]')
    tr = TARGET.compile(_rule(text, ()), profile="defender")
    assert tr.status is Status.ASSUMPTIONS, tr.notes
    assert "let __until = DeviceProcessEvents" in tr.output


def test_until_queries_parse_with_microsofts_parser_windowed_too():
    from eqlc.targets.kql import TARGET, sentinel
    from eqlc.targets.kql.profile import load_profile
    from eqlc.targets.kql import schedule
    from tests.node.kusto import analyse, declared_tables

    prof = load_profile("sentinel")
    queries = [TARGET.compile(_rule(q, OKTA), profile="sentinel").output for q in (BOMBING, TWO_STEPS)]
    window = schedule.Window(frequency_ms=300_000, delay_ms=3_300_000)
    windowed = [sentinel.windowed_query(prof, q, window, [])[0] for q in queries]
    assert all("__last > ago(5m) | join kind=leftanti (__cut)" in w and "let __until = OktaV2_CL\n    | where TimeGenerated >= ago(1h)" in w
               for w in windowed), windowed[0]
    assert analyse(queries + windowed, declared_tables("sentinel")) == [[], [], [], []]
