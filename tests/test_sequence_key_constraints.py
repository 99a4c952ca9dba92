"""Elasticsearch copies a sequence step's conjunct that reads a join key to the other steps
(PropagateJoinKeyConstraints); one that also reads another field changes what those steps select
(eqlc.sequence_keys). KQL, SPL and Sigma translate the copied sequence (tests/test_kql_sentinel_heartbeat.py
has the KQL corpus case): each step reads the copied condition (in the example here Sigma then refuses
the copied two-field startsWith, as it refuses it in the step it came from). A conjunct on the key
alone changes nothing.
Before this, SPL translated `defense_evasion_process_termination_followed_by_deletion` without the
Citrix exclusion Elasticsearch copies from the deletion step to the termination step."""

from __future__ import annotations

import re

import pytest

from eqlc import parse_query
from eqlc.result import Status
from eqlc.rule import Rule
from eqlc.checks import fields_in
from eqlc.sequence_keys import copies_other_fields, with_copied_key_constraints
from tests.corpus import CORPUS
from eqlc.loaders import load_file
from eqlc.targets.sigma import TARGET as SIGMA
from eqlc.targets.spl import TARGET as SPL

COPIED = ('sequence by host.id, user.name with maxspan=1m '
          '[authentication where event.action == "logged-in" and startsWith~(host.name, user.name)] '
          '[process where event.action == "start"]')
KEY_ONLY = ('sequence by host.id, user.name with maxspan=1m '
            '[authentication where event.action == "logged-in" and user.name == "admin"] '
            '[process where event.action == "start"]')


def _rule(text: str) -> Rule:
    return Rule(query=parse_query(text), query_text=text, name="key constraints", index=("logs-*",))


def test_a_conjunct_reading_the_key_and_another_field_is_copied_to_the_other_step():
    seq = _rule(COPIED).query.body
    assert copies_other_fields(seq)
    second = with_copied_key_constraints(seq).terms[1].query.condition
    assert ("host", "name") in {f.path for f in fields_in(second)} and ("user", "name") in {f.path for f in fields_in(second)}
    assert not copies_other_fields(_rule(KEY_ONLY).query.body)


def test_sigma_reads_the_copied_condition_in_the_other_step():
    tr = SIGMA.compile(_rule(COPIED))
    assert tr.status is Status.REFUSED and any("startsWith~(host.name, user.name)" in n for n in tr.notes), tr.notes


def test_spl_reads_the_copied_exclusion_in_the_other_step():
    """The corpus rule's deletion step excludes Citrix's bootstrapper by file.path (its key) and the
    process signer; Elasticsearch copies that exclusion to the termination step with
    process.executable (that step's key) in its place."""
    [rule] = load_file(CORPUS / "_deprecated/defense_evasion_process_termination_followed_by_deletion.toml")
    tr = SPL.compile(rule)
    assert tr.status is not Status.REFUSED, tr.notes
    # the deletion step tests the path as file.path; the copy in the termination step as process.executable
    assert tr.output.count('"Citrix Systems, Inc."') == 2
    assert re.search(r'Citrix Systems, Inc\."\)\) AND isnotnull\(mvfind\(\'process\.executable\'', tr.output), tr.output
