"""A trailing missing-event term ``![...]`` on KQL (query.trailing_missing_only): the scan's completed
matches are kept unless an event of the missing term with their join key has a timestamp in
(last event, first event + maxspan] (Elasticsearch's TumblingWindow.doCheckMissingEvents; the
reference matcher's ``_check_trailing``), and okta.target.id, a list of objects' ids, as the join key
(query.list_key_rows: one leg row per object of OktaV2_CL.OriginalTarget).

The legs (the missing term's rows among them) run on duckdb-kql, the scan and the window join on
the scan model; every case must select exactly what the reference matcher selects among the events
inside the stated assumptions, with timings at the window's edges: a missing-term event tied with
the last event, exactly maxspan after the first, one millisecond later, before the match, between
its steps, and on another key. Microsoft's parser checks the queries and their Sentinel windowed
form.
"""

from __future__ import annotations

import pytest

from eqlc.result import Status
from tests.corpus import CORPUS
from tests.test_kql_sentinel import _rule, _sequence_run
from tests.test_kql_sentinel_okta import OKTA

CORPUS_RULE = CORPUS / "integrations" / "okta" / "persistence_mfa_deactivation_with_no_reactivation.toml"
DEACTIVATE = ('any where data_stream.dataset == "okta.system" and okta.event_type in ("user.mfa.factor.deactivate", '
              '"user.mfa.factor.reset_all") and okta.outcome.result == "SUCCESS"')
ACTIVATE = 'any where data_stream.dataset == "okta.system" and okta.event_type == "user.mfa.factor.activate"'
NO_REACTIVATION = f"sequence by okta.target.id with maxspan=12h [{DEACTIVATE}] ![{ACTIVATE}]"
TWO_STEPS = (f'sequence by okta.actor.id with maxspan=10m [{DEACTIVATE}] [any where data_stream.dataset == "okta.system" and '
             f'okta.event_type == "user.session.start"] ![{ACTIVATE}]')


def _ev(_id: str, ts: str, event_type: str, targets=None, actor: str = "a", result: str | None = "SUCCESS") -> dict:
    """An Okta System Log event at 2026-01-01T``ts``Z (``ts`` "HH:MM:SS.mmm" or "HH:MM")."""
    okta: dict = {"event_type": event_type, "actor": {"id": actor}}
    if targets is not None:
        okta["target"] = [{"id": t, "type": "User"} for t in targets]
    if result is not None:
        okta["outcome"] = {"result": result}
    stamp = ts if "." in ts else ts + ":00.000"
    return {"_id": _id, "@timestamp": f"2026-01-01T{stamp}Z", "data_stream": {"dataset": "okta.system"}, "okta": okta}


def _run(text_or_rule, events: list[dict]):
    rule = _rule(text_or_rule, OKTA) if isinstance(text_or_rule, str) else text_or_rule
    tr, got, want, out = _sequence_run(rule, events, whole=True)
    assert tr.status is Status.ASSUMPTIONS, tr.notes
    return tr, got, want, out


def test_the_missing_term_window_is_after_the_last_event_up_to_maxspan_after_the_first():
    events = [
        # u1: reactivated 12h later to the millisecond (the window's inclusive end): dropped
        _ev("u1-off", "00:00", "user.mfa.factor.deactivate", ["u1"]),
        _ev("u1-on", "12:00", "user.mfa.factor.activate", ["u1"]),
        # u2: reactivated 12h and 1 ms later (outside the window): kept
        _ev("u2-off", "00:00", "user.mfa.factor.deactivate", ["u2"]),
        _ev("u2-on", "12:00:00.001", "user.mfa.factor.activate", ["u2"]),
        # u3: an activation at the very timestamp of the deactivation (not after it): kept
        _ev("u3-off", "01:00", "user.mfa.factor.deactivate", ["u3"]),
        _ev("u3-on", "01:00", "user.mfa.factor.activate", ["u3"]),
        # u4: activated before, then deactivated: kept; u5: activated 1 ms after: dropped
        _ev("u4-on", "00:59:59.999", "user.mfa.factor.activate", ["u4"]),
        _ev("u4-off", "01:00", "user.mfa.factor.deactivate", ["u4"]),
        _ev("u5-off", "01:00", "user.mfa.factor.deactivate", ["u5"]),
        _ev("u5-on", "01:00:00.001", "user.mfa.factor.activate", ["u5"]),
        # u6: another user's activation does not count; u7: a failed deactivation is no match
        _ev("u6-off", "02:00", "user.mfa.factor.deactivate", ["u6"]),
        _ev("u6-other", "02:01", "user.mfa.factor.activate", ["someone-else"]),
        _ev("u7-off", "02:00", "user.mfa.factor.reset_all", ["u7"], result="FAILURE"),
    ]
    tr, got, want, out = _run(NO_REACTIVATION, events)
    assert "| where __mt > __end and __mt <= __begin + 12h" in tr.output and "let __miss2 = OktaV2_CL" in tr.output
    assert not out, out
    assert got == want == ["u2-off", "u3-off", "u4-off", "u6-off"], (got, want)


def test_each_target_id_is_its_own_sequence():
    events = [
        # two targets: the activation of f1 drops f1's match only; u1's keeps the event
        _ev("both-off", "00:00", "user.mfa.factor.deactivate", ["u1", "f1"]),
        _ev("f1-on", "00:10", "user.mfa.factor.activate", ["f1"]),
        # two targets, both reactivated (by one event listing both): dropped
        _ev("pair-off", "00:00", "user.mfa.factor.deactivate", ["u2", "f2"]),
        _ev("pair-on", "00:10", "user.mfa.factor.activate", ["f2", "u2"]),
        # no target at all: no join key, no match
        _ev("none-off", "00:00", "user.mfa.factor.deactivate"),
        _ev("empty-off", "00:00", "user.mfa.factor.deactivate", []),
    ]
    tr, got, want, out = _run(NO_REACTIVATION, events)
    assert "| mv-expand __item0 = OriginalTarget to typeof(dynamic)" in tr.output
    assert not out, out
    assert got == want == ["both-off"], (got, want)


def test_a_target_id_held_twice_or_empty_is_outside_the_assumption():
    events = [
        _ev("twice", "00:00", "user.mfa.factor.deactivate", ["u1", "u1"]),
        _ev("empty", "00:00", "user.mfa.factor.deactivate", ["", "u2"]),
        _ev("fine", "00:00", "user.mfa.factor.deactivate", ["u3"]),
    ]
    tr, got, want, out = _run(NO_REACTIVATION, events)
    assert set(out) == {"twice", "empty"}, out
    assert got == want == ["fine"], (got, want)


def test_missing_term_after_two_steps_counts_from_the_first_event():
    events = [
        # p: an activation between the two steps does not count (before the last event); one after
        # the last, within 10m of the first, drops the match
        _ev("p1", "00:00", "user.mfa.factor.deactivate", actor="p"),
        _ev("p-between", "00:01", "user.mfa.factor.activate", actor="p"),
        _ev("p2", "00:02", "user.session.start", actor="p"),
        _ev("p-after", "00:10", "user.mfa.factor.activate", actor="p"),
        # q: the activation comes 10m 1ms after the first event (though 2m after the last): kept
        _ev("q1", "00:00", "user.mfa.factor.deactivate", actor="q"),
        _ev("q2", "00:08:00.001", "user.session.start", actor="q"),
        _ev("q-late", "00:10:00.001", "user.mfa.factor.activate", actor="q"),
        # r: only the activation between the steps: kept
        _ev("r1", "00:00", "user.mfa.factor.deactivate", actor="r"),
        _ev("r-between", "00:01", "user.mfa.factor.activate", actor="r"),
        _ev("r2", "00:02", "user.session.start", actor="r"),
        # s: the activation tied with the last event: kept
        _ev("s1", "00:00", "user.mfa.factor.deactivate", actor="s"),
        _ev("s2", "00:02", "user.session.start", actor="s"),
        _ev("s-tie", "00:02", "user.mfa.factor.activate", actor="s"),
    ]
    tr, got, want, out = _run(TWO_STEPS, events)
    assert "| where __mt > __end and __mt <= __begin + 10m" in tr.output
    assert not out, out
    assert got == want == ["q1", "q2", "r1", "r2", "s1", "s2"], (got, want)


def test_an_event_of_both_terms_cancels_the_match_before_it_not_its_own():
    # an event matching the positive term and the missing one (a reset_all that is also an
    # activation cannot be; here the missing term reads the same event type as the positive one)
    text = (f'sequence by okta.target.id with maxspan=1h [{DEACTIVATE}] '
            f'![any where data_stream.dataset == "okta.system" and okta.event_type == "user.mfa.factor.deactivate"]')
    events = [
        _ev("d1", "00:00", "user.mfa.factor.deactivate", ["u1"]),
        _ev("d2", "00:30", "user.mfa.factor.deactivate", ["u1"]),  # drops d1's match, starts its own
        _ev("d3", "02:00", "user.mfa.factor.deactivate", ["u1"]),  # 90m after d2: d2 kept
    ]
    tr, got, want, out = _run(text, events)
    assert not out, out
    assert got == want == ["d2", "d3"], (got, want)


def test_the_corpus_rule_translates_and_runs_as_the_matcher_decides():
    from eqlc.loaders import load_file

    if not CORPUS_RULE.exists():
        pytest.skip("the shared corpus is not checked out beside the repository")
    [rule] = load_file(CORPUS_RULE)
    events = [
        _ev("x-off", "00:00", "user.mfa.factor.deactivate", ["x"]),
        _ev("x-on", "11:59", "user.mfa.factor.activate", ["x"]),
        _ev("y-off", "00:00", "user.mfa.factor.deactivate", ["y"]),
        _ev("y-on", "12:00:00.001", "user.mfa.factor.activate", ["y"]),
        _ev("z-off", "00:00", "user.mfa.factor.reset_all", ["z"]),
    ]
    events[4]["okta"]["outcome"]["reason"] = "User reset SECURITY_QUESTION factor"
    tr, got, want, out = _run(rule, events)
    assert not out, out
    assert got == want == ["y-off"], (got, want)


@pytest.mark.parametrize("text", [
    f"sequence by okta.target.id with maxspan=1h ![{ACTIVATE}] [{DEACTIVATE}]",
    f"sequence by okta.target.id with maxspan=1h [{DEACTIVATE}] ![{ACTIVATE}] [{DEACTIVATE}]",
    f"sequence by okta.target.id with maxspan=1h [{DEACTIVATE}] ![{ACTIVATE}] ![{ACTIVATE}]",
    f"sequence by okta.target.id with maxspan=1h [{DEACTIVATE}] ![{ACTIVATE}] until [{ACTIVATE}]",
])
def test_other_missing_term_shapes_stay_refused(text):
    from eqlc.targets.kql import TARGET

    tr = TARGET.compile(_rule(text, OKTA), profile="sentinel")
    assert tr.status is Status.REFUSED
    assert tr.notes[0].startswith("sequence with a missing-event term ![...]: not translated") or \
        tr.notes[0].startswith("sequence with `until`"), tr.notes


def test_a_condition_on_the_target_list_is_refused_not_dropped():
    from eqlc.targets.kql import TARGET

    tr = TARGET.compile(_rule('any where data_stream.dataset == "okta.system" and okta.target.id == "u1"', OKTA), profile="sentinel")
    assert tr.status is Status.REFUSED and "only a sequence join key reads it" in tr.notes[0], tr.notes


def test_missing_term_queries_parse_with_microsofts_parser_windowed_too():
    from eqlc.targets.kql import TARGET, schedule, sentinel
    from eqlc.targets.kql.profile import load_profile
    from tests.node.kusto import analyse, declared_tables

    prof = load_profile("sentinel")
    queries = [TARGET.compile(_rule(q, OKTA), profile="sentinel").output for q in (NO_REACTIVATION, TWO_STEPS)]
    window = schedule.Window(frequency_ms=300_000, delay_ms=3_300_000)
    windowed = [sentinel.windowed_query(prof, q, window, [])[0] for q in queries]
    assert all("__last > ago(5m) | join kind=leftanti (__cut)" in w and "let __miss2 = OktaV2_CL\n    | where TimeGenerated >= ago(" in w
               for w in windowed[:1]), windowed[0]
    assert analyse(queries + windowed, declared_tables("sentinel")) == [[], [], [], []]


def test_step_ties_are_decided_per_value_of_a_list_key():
    # adapter.step_ties: two step events sharing one target id at one timestamp are outside the tie
    # assumption (whatever else their lists hold); events without a target join nothing and tie with none
    from eqlc.targets.kql.adapter import step_ties

    rule = _rule(NO_REACTIVATION, OKTA)
    events = [
        _ev("a", "00:00", "user.mfa.factor.deactivate", ["u1", "f1"]),
        _ev("b", "00:00", "user.mfa.factor.deactivate", ["f1"]),
        _ev("c", "00:00", "user.mfa.factor.deactivate", ["u9"]),
        _ev("d", "00:00", "user.mfa.factor.deactivate"),
        _ev("e", "00:00", "user.mfa.factor.deactivate", []),
    ]
    assert set(step_ties(rule, events, {})) == {"a", "b"}
