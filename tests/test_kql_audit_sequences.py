"""Adversarial checks of KQL sequences with `until` on one table (query.until_leg, kqlentra) and of
the tie order every sequence query states: generated Okta streams of two actors with deny-push and
session-start events, successful or not, on a half-minute grid where events often share a
timestamp. The query runs on duckdb-kql and must select what the reference matcher selects among
the events inside the stated assumptions (audit6).

Found here: two step events of one join key at the same timestamp. The query orders them by stage
(stated: "sequence events with equal timestamps are ordered by stage"), the matcher by input
position, Elasticsearch by its tiebreaker; no check set such events apart, so the query and the
matcher disagreed on them (adapter.step_ties now does, as until_ties does for until events).
"""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from tests.test_kql_sentinel_okta import _okta
from tests.test_kql_sequence_until import OK, PUSH, _run

DENY, START = "user.mfa.okta_verify.deny_push", "user.session.start"
QUERIES = [
    f'sequence by okta.actor.id with maxspan=3m [{PUSH}] [{PUSH}] until [{OK}]',
    f'sequence by okta.actor.id with maxspan=5m [{PUSH}] with runs=2 [any where data_stream.dataset == "okta.system" '
    f'and okta.event_type == "{START}"] until [{OK}]',
    f'sequence by okta.actor.id with maxspan=3m [{PUSH}] [any where data_stream.dataset == "okta.system" and '
    f'okta.event_type == "{START}"]',
]


def test_tied_step_events_are_set_apart():
    events = [_okta("t1", "01:00", "a", DENY, result="FAILURE"), _okta("t2", "01:00", "a", DENY),
              _okta("b1", "01:00", "b", DENY), _okta("b2", "01:30", "b", DENY)]
    tr, got, want, out = _run(QUERIES[0], events)
    assert set(out) == {"t1", "t2"} and "same timestamp" in out["t1"], out
    assert got == want == ["b1", "b2"], (got, want)
    assert any("ordered by stage" in n for n in tr.notes), tr.notes


EVENT = st.tuples(st.integers(0, 20), st.sampled_from("ab"), st.sampled_from([DENY, START, START]),
                  st.sampled_from(["SUCCESS", "FAILURE", None]))


@settings(max_examples=8, deadline=None, derandomize=True)
@given(stream=st.lists(EVENT, min_size=3, max_size=12), which=st.sampled_from(range(len(QUERIES))))
def test_sequences_agree_with_the_matcher(stream, which):
    events = [_okta(f"e{i:02d}", f"{half // 2:02d}:{30 * (half % 2):02d}", actor, kind, result=result)
              for i, (half, actor, kind, result) in enumerate(stream)]
    tr, got, want, out = _run(QUERIES[which], events)
    assert got == want, (QUERIES[which], got, want, out)
