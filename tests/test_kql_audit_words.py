"""Adversarial checks of SecurityEvent's PrivilegeList (`words_of`, raw_tables.words_leaf): the
list Elastic's System integration splits from the text on Java's whitespace for some event ids and
keeps whole for the others.

Generated texts mix ASCII and non-ASCII letters that Unicode case mappings fold to ASCII (the
Kelvin sign, dotted capital I), accented letters, Java whitespace and a no-break space (not Java
whitespace); the conditions compare with literals case-sensitively and not. The emitted KQL runs on
duckdb-kql and must select what the reference matcher selects on every event the translation's
check keeps (audit6).
"""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from eqlc.result import Status
from tests.test_kql_sentinel import _rule, _run

SPLIT_ID, WHOLE_ID = 4672, 4670  # split on whitespace by Elastic's standard.yml / kept whole
# one-letter words that Unicode case mappings make equal (K the Kelvin sign, İ ı, ſ), so that
# generated texts and literals often differ by case only
LETTERS = ["k", "K", "\u212a", "i", "I", "\u0130", "\u0131", "s", "S", "\u017f", "\u00e9", "\u00c9", "ab"]
SEPARATORS = [" ", "\t", "\r\n\t", "\x0b", "\u00a0", ""]  # Java whitespace, a no-break space (not), none
TEXT = st.lists(st.tuples(st.sampled_from(LETTERS), st.sampled_from(SEPARATORS)), max_size=2).map(
    lambda parts: "".join(w + s for w, s in parts).rstrip(" "))


def _ev(_id: str, code: int, value) -> dict:
    ev = {"_id": _id, "@timestamp": "2026-01-01T00:00:00Z", "host": {"os": {"type": "windows"}},
          "event": {"code": str(code), "category": ["iam"]}, "winlog": {"event_data": {"SubjectUserSid": "S-1-5-21-1"}}}
    if value is not None:
        ev["winlog"]["event_data"]["PrivilegeList"] = value
    return ev


def _events(texts: list) -> list[dict]:
    out = []
    for i, t in enumerate(texts):
        words = t.split() if isinstance(t, str) else t
        out.append(_ev(f"w{i}", WHOLE_ID, t))
        out.append(_ev(f"s{i}", SPLIT_ID, [w for w in words if w] if isinstance(t, str) else t))
    return out


def _check(cond: str, events: list[dict]) -> tuple[list, list]:
    tr, got, want, out = _run(_rule(f'any where event.code in ("{SPLIT_ID}", "{WHOLE_ID}") and {cond}'), events)
    assert tr.status is Status.ASSUMPTIONS, tr.notes
    assert got == want, f"{cond}\n{tr.output}\nKQL only: {sorted(set(got) - set(want))}, matcher only: {sorted(set(want) - set(got))}"
    return got, list(out)


def test_case_insensitive_whole_text_folds_ascii_letters_only():
    """Elasticsearch's case-insensitive keyword comparison folds ASCII letters only; Kusto's =~ (the
    first translation of the whole-text branch) also equates é and É, k and the Kelvin sign, i and İ."""
    events = [_ev("acute", WHOLE_ID, "\u00c9"), _ev("kelvin", WHOLE_ID, "\u212a"), _ev("dotted", WHOLE_ID, "\u0130"),
              _ev("ascii", WHOLE_ID, "K"), _ev("split-kelvin", SPLIT_ID, ["\u212a"])]
    assert _check('winlog.event_data.PrivilegeList : "\u00e9"', events)[0] == []
    assert _check('winlog.event_data.PrivilegeList : "k"', events)[0] == ["ascii"]
    assert _check('winlog.event_data.PrivilegeList in~ ("i", "x")', events)[0] == []


@settings(max_examples=10, deadline=None, derandomize=True)
@given(texts=st.lists(TEXT | st.none(), min_size=3, max_size=8), lits=st.lists(st.sampled_from(["k", "i", "s", "\u00e9", "ab"]), min_size=1, max_size=3),
       op=st.sampled_from([":", "in~", ":", "==", "in", "!="]), negate=st.booleans())
def test_privilege_list_agrees_with_the_matcher(texts, lits, op, negate):
    values = ", ".join('"' + v + '"' for v in lits)
    cond = (f"winlog.event_data.PrivilegeList {op} ({values})" if op.startswith("in")
            else f'winlog.event_data.PrivilegeList {op} "{lits[0]}"')
    _check(f"not ({cond})" if negate else cond, _events(texts))
