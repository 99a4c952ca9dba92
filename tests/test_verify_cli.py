"""``eqlc verify``: the matrix, the JSON shape and the exit status, with real and stand-in targets.

Stand-in targets (tests/data/verify/fake_targets.py) behave in one precise way each (agree with
the matcher, select the complement, refuse, crash), so these tests pin down how a disagreement,
a refusal and an engine failure are reported, independently of the state of the real targets.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from eqlc import target as target_mod
from eqlc.cli import _register, app
from eqlc.fixtures import load_events
from eqlc.loaders import load_file
from eqlc.verify import TargetSpec, verify_rule
from tests.corpus import EXAMPLE_DIR

DATA = Path(__file__).parent / "data" / "verify"
RULE = EXAMPLE_DIR / "rule.toml"
RESULT_KEYS = {"rule", "target", "status", "verified", "disagreements"}

_register()
runner = CliRunner()


@pytest.fixture()
def fakes(monkeypatch):
    monkeypatch.syspath_prepend(str(DATA))
    for name in ("agree", "inverted", "refuser", "crasher", "assuming", "claimsexact", "blind"):
        monkeypatch.setitem(target_mod.REGISTRY, name, f"fake_targets:{name.upper()}")
    return target_mod.REGISTRY


def verify(*args: str):
    return runner.invoke(app, ["verify", *args])


def test_agreeing_and_refusing_targets_pass_on_hand_written_fixtures(fakes):
    res = verify(str(RULE), "--targets", "agree,refuser", "--json")
    assert res.exit_code == 0, res.output
    doc = json.loads(res.stdout)
    by = {r["target"]: r for r in doc["results"]}
    assert set(by) == {"agree", "refuser"} and all(RESULT_KEYS <= set(r) for r in doc["results"])
    assert by["agree"] == by["agree"] | {"status": "exact", "verified": True, "disagreements": []}
    # A refusal is shown as refused, with its reason, and is not a disagreement.
    assert by["refuser"]["status"] == "refused" and by["refuser"]["verified"] is False
    assert by["refuser"]["disagreements"] == [] and "test double" in by["refuser"]["notes"][0]
    (ref,) = doc["reference"]
    assert ref["fixtures"] == "hand-written" and ref["expectation_failures"] == []
    assert ref["selected"] == ref["expected"]


def test_a_disagreeing_target_fails_and_names_every_event(fakes):
    res = verify(str(RULE), "--targets", "agree", "--targets", "inverted", "--json")
    assert res.exit_code == 1
    doc = json.loads(res.stdout)
    inverted = next(r for r in doc["results"] if r["target"] == "inverted")
    events = load_events(EXAMPLE_DIR / "fixtures.ndjson")
    assert inverted["verified"] is False and inverted["verdict"] == "disagreement"
    assert inverted["disagreements"] == [e["_id"] for e in events]  # the complement differs everywhere
    assert inverted["expectation_failures"] == inverted["disagreements"]


def test_an_engine_crash_is_an_error_not_a_crash_of_verify(fakes):
    res = verify(str(RULE), "--targets", "crasher,agree", "--json")
    assert res.exit_code == 1
    crasher = next(r for r in json.loads(res.stdout)["results"] if r["target"] == "crasher")
    assert crasher["verdict"] == "error" and "engine exploded" in crasher["error"] and crasher["verified"] is False


def test_matrix_shows_events_targets_and_marks_disagreements(fakes):
    res = verify(str(RULE), "--targets", "agree,inverted,refuser", "--all")
    assert res.exit_code == 1
    text = res.stdout
    for token in ("d01", "d31", "expected", "matcher", "agree", "inverted", "(refused)", "disagreement(s)"):
        assert token in text, token
    assert "refuser: refused - refuser cannot express anything" in text


def test_a_failed_hand_written_expectation_fails_even_when_targets_agree(fakes, tmp_path):
    shutil.copy(EXAMPLE_DIR / "rule.eql", tmp_path / "rule.eql")
    shutil.copy(EXAMPLE_DIR / "fixtures.ndjson", tmp_path / "fixtures.ndjson")
    (tmp_path / "expectations.yaml").write_text("rule.eql:\n  fixtures: fixtures.ndjson\n  matches: [d01, d02]\n")
    res = verify(str(tmp_path / "rule.eql"), "--targets", "agree", "--json")
    assert res.exit_code == 1
    doc = json.loads(res.stdout)
    (ref,) = doc["reference"]
    assert "d02" in ref["expectation_failures"] and "d05" in ref["expectation_failures"]
    agree = doc["results"][0]
    assert agree["disagreements"] == [] and agree["expectation_failures"] == ref["expectation_failures"]


def test_without_hand_written_fixtures_verify_uses_generated_witnesses(fakes, tmp_path):
    shutil.copy(EXAMPLE_DIR / "rule.eql", tmp_path / "rule.eql")
    res = verify(str(tmp_path / "rule.eql"), "--targets", "agree,inverted", "--json")
    assert res.exit_code == 1
    doc = json.loads(res.stdout)
    (ref,) = doc["reference"]
    assert ref["fixtures"] == "generated" and ref["events"] > 50 and 0 < len(ref["selected"]) < ref["events"]
    inverted = next(r for r in doc["results"] if r["target"] == "inverted")
    assert len(inverted["disagreements"]) == ref["events"]


def test_bad_input_exits_2(fakes, tmp_path):
    assert verify(str(RULE), "--targets", "nosuchtarget").exit_code == 2
    assert verify(str(tmp_path / "missing.eql")).exit_code == 2
    bad = tmp_path / "bad.ndjson"
    bad.write_text('{"_id": "a"}\n{"_id": "a"}\n')
    res = verify(str(RULE), "--targets", "agree", "--fixtures", str(bad))
    assert res.exit_code == 2 and "duplicate _id 'a'" in res.output


@pytest.mark.parametrize("name", target_mod.available())
def test_every_installed_target_runs_on_the_hand_written_fixtures(name):
    """Each real target compiles the example and runs its engine on the shared fixtures; the
    verdict is computed, never crashes, and ``verified`` means exactly: no disagreement with the
    matcher and no failed expectation."""
    rule = load_file(RULE)[0]
    v = verify_rule(rule, [TargetSpec(name)])
    (run,) = v.runs
    assert v.source == "hand-written" and v.reference_failures == []
    assert run.verdict in ("verified", "disagreement", "refused", "error")
    if not run.refused and run.error is None:
        expected = set(v.expected)
        wrong = sorted(i for i in (e["_id"] for e in v.events) if (i in set(run.selected)) != (i in expected))
        assert run.expectation_failures == sorted(run.expectation_failures, key=[e["_id"] for e in v.events].index)
        # a difference is excused only on an event that the target's own check says breaks a stated assumption
        assert sorted(run.expectation_failures) == [i for i in wrong if i not in run.outside]
        assert set(run.outside_differences) == set(wrong) & set(run.outside)
        assert not run.outside or run.status.value == "assumptions"
        assert run.verified == (not run.disagreements and not run.expectation_failures)
        # every target that compiles the example agrees with the hand-written truth where its assumptions
        # hold, and that is not vacuous: those events include selected and rejected ones
        assert run.verified, (run.disagreements, run.expectation_failures)
        assert 0 < run.in_scope_selected < run.in_scope
        assert run.in_scope >= len(v.events) * 2 // 3, (run.in_scope, len(v.events))
    else:
        assert not run.verified


def test_differences_outside_stated_assumptions_are_reported_not_failed(fakes):
    """A target whose check says an event breaks its stated assumption is excused there, the
    events and the assumption are named, and the rest of the events must still agree."""
    res = verify(str(RULE), "--targets", "assuming", "--json")
    assert res.exit_code == 0, res.output
    (r,) = json.loads(res.stdout)["results"]
    events = load_events(EXAMPLE_DIR / "fixtures.ndjson")
    breaking = [e["_id"] for e in events if (e.get("process") or {}).get("parent", {}).get("name") != "bash"]
    assert r["verified"] is True and r["disagreements"] == [] and r["status"] == "assumptions"
    assert list(r["outside_assumptions"]) == breaking and len(breaking) >= 3
    assert set(r["outside_assumptions"].values()) == {"assumes process.parent.name is bash (test double)"}
    assert r["events_in_scope"] == len(events) - len(breaking)
    text = verify(str(RULE), "--targets", "assuming").stdout
    assert "breaks a stated assumption" in text and f"{len(breaking)} break one" in text


def test_an_exact_translation_gets_no_excuse(fakes):
    res = verify(str(RULE), "--targets", "claimsexact", "--json")
    assert res.exit_code == 1
    (r,) = json.loads(res.stdout)["results"]
    assert r["status"] == "exact" and r["verdict"] == "disagreement" and r["outside_assumptions"] == {}
    events = load_events(EXAMPLE_DIR / "fixtures.ndjson")
    assert r["disagreements"] == [e["_id"] for e in events if (e.get("process") or {}).get("parent", {}).get("name") != "bash"]


def test_an_assumption_every_selected_event_breaks_is_reported_as_vacuous(fakes):
    """Regression (issue 13): a target whose query selects nothing and whose check excuses exactly the
    events the rule selects used to pass as ``unproven`` (exit 0); it is ``vacuous`` and fails."""
    res = verify(str(RULE), "--targets", "blind", "--json")
    assert res.exit_code == 1, res.output
    (r,) = json.loads(res.stdout)["results"]
    events = load_events(EXAMPLE_DIR / "fixtures.ndjson")
    positives = [e["_id"] for e in events if e["_id"] in set(json.loads(res.stdout)["reference"][0]["selected"])]
    assert r["verdict"] == "vacuous" and r["verified"] is False and r["disagreements"] == []
    assert r["events_selected"] == len(positives) > 0 and r["events_in_scope_selected"] == 0
    assert r["positives_outside"] == [{"assumption": "assumes process.name is not dracut (test double)", "events": len(positives)}]
    text = verify(str(RULE), "--targets", "blind").stdout
    assert "vacuous" in text and "breaks a stated assumption" in text


def test_edge_cases_outside_an_assumption_do_not_make_it_vacuous(fakes):
    """Some positives break the assumption by design (edge cases); as long as one positive stays
    inside it, the translation is judged on those: ``assuming`` excuses the non-bash parents only."""
    res = verify(str(RULE), "--targets", "assuming", "--json")
    (r,) = json.loads(res.stdout)["results"]
    assert r["verdict"] == "verified" and 0 < r["events_in_scope_selected"] < r["events_selected"]
    assert sum(b["events"] for b in r["positives_outside"]) == r["events_selected"] - r["events_in_scope_selected"]


def test_scope_of_counts_positives_inside_and_outside_the_assumptions():
    from eqlc.verify import scope_of

    events = [{"_id": i} for i in ("a", "b", "c", "d")]
    s = scope_of(events, ["a", "b"], {"a": "x", "c": "y"})
    assert (s.events, s.positives, s.in_scope, s.in_scope_positives) == (4, 2, 2, 1)
    assert s.positive_breaks == (("x", 1),) and s.positives_outside == 1
    assert s.proven and not s.vacuous
    assert scope_of(events, ["a", "c"], {"a": "x", "c": "y"}).vacuous  # every positive excused
    assert not scope_of(events, [], {"a": "x"}).vacuous  # the rule selects nothing: unproven, not vacuous
    everything = scope_of(events, ["a", "b", "c", "d"], {})  # all selected: agreement proves nothing
    assert not everything.proven and not everything.vacuous
