"""Which reason a sequence or sample construct eqlc does not translate (``until``, a missing-event
term, pipes after a sequence, ``sample``) is refused with: a term the profile cannot translate on
its own (a field no table records, a category no table holds) is the reason that stays however the
construct were built, so it is reported; the construct is the reason only when every term
translates. Issue 13 classes refusals by this reason (tests/test_kql_refusal_families.py)."""

from __future__ import annotations

import pytest

from eqlc import parse_query
from eqlc.result import Status
from eqlc.rule import Rule
from eqlc.targets.kql import TARGET

PROFILES = ["defender", "sentinel-asim"]


def _refusal(text: str, profile: str) -> str:
    tr = TARGET.compile(Rule(query=parse_query(text), query_text=text, name="structural"), profile=profile)
    assert tr.status is Status.REFUSED, tr.output
    return tr.notes[0]


@pytest.mark.parametrize("profile", PROFILES)
@pytest.mark.parametrize("text, structural", [
    ('sample by host.id [process where process.name == "a"] [process where process.name == "b"]', "sample: "),
    ('sequence by host.id [process where process.name == "a"] [process where process.name == "b"] | tail 1',
     "pipes after a sequence"),
    # kqlentra: an until term on one table translates (tests/test_kql_sequence_until.py); over several not yet
    ('sequence by host.id [process where process.name == "a"] [process where process.name == "b"] '
     'until [any where event.category in ("process", "file") and process.name == "c"]', "sequence with `until` over several tables"),
    # kqlmiss: one trailing missing-event term translates (tests/test_kql_missing_events.py); a leading one not yet
    ('sequence by host.id with maxspan=1m ![process where process.name == "b"] [process where process.name == "a"]',
     "sequence with a missing-event term"),
])
def test_the_construct_is_the_reason_when_every_term_translates(profile, text, structural):
    assert _refusal(text, profile).startswith(structural)


@pytest.mark.parametrize("profile", PROFILES)
@pytest.mark.parametrize("text", [
    'sample by host.id [process where process.name == "a"] [process where auditd.data.syscall == "open"]',
    'sequence by host.id [process where process.name == "a"] [process where auditd.data.syscall == "open"] | tail 1',
    'sequence by host.id [process where process.name == "a"] [process where process.name == "b"] '
    'until [process where auditd.data.syscall == "open"]',
    'sequence by host.id with maxspan=1m [process where process.name == "a"] ![process where auditd.data.syscall == "open"]',
])
def test_a_term_the_profile_cannot_translate_is_the_reason(profile, text):
    assert _refusal(text, profile).startswith("field auditd.data.syscall has no column in ")


def test_a_term_over_a_category_no_table_holds_is_the_reason():
    why = _refusal('sample by host.id [process where process.name == "a"] [iam where user.name == "x"]', "defender")
    assert why.startswith("no defender table holds `iam` events"), why
