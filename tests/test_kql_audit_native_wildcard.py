"""Adversarial checks of endsWith / stringContains with a literal read as Lucene wildcard syntax
(eqlc.native_wildcard in KQL, cteq): literals over `*`, `?`, `\\` (escape, trailing backslash),
spaces, quotes, accented and case-folding letters, empty; on plain string fields and on
process.args read from the command line; case-sensitive and `~`. The query runs on duckdb-kql and
must select what the reference matcher selects on every event the translation's checks keep
(audit6: no disagreement found).
"""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from tests.test_kql_mapping_gaps import _ev, _run
from tests.test_kql_windows_args import eql_string

WIN = 'process where host.os.type == "windows" and event.type == "start" and '
ALPHABET = 'aA*?\\ \u00e9"\u212a.'


def _p(i: int, cmd: str) -> dict:
    return _ev(f"e{i:02d}", "process", event__type=["start"], event__action="start", process__command_line=cmd,
               process__executable="C:\\x\\" + cmd, process__name=cmd, process__pid=7, process__args=cmd.split(" "))


@settings(max_examples=8, deadline=None, derandomize=True)
@given(texts=st.lists(st.text(alphabet=ALPHABET, max_size=6), min_size=4, max_size=16),
       fn=st.sampled_from(["stringContains", "endsWith", "stringContains~", "endsWith~"]),
       field=st.sampled_from(["process.command_line", "process.name", "process.executable", "process.args"]),
       lit=st.text(alphabet=ALPHABET, max_size=4), negate=st.booleans(), profile=st.sampled_from(["defender", "sentinel-asim"]))
def test_native_wildcard_literals_agree_with_the_matcher(texts, fn, field, lit, negate, profile):
    if field == "process.args":
        lit = lit.replace(" ", "")  # a spaced value on args is the Windows reading's (test_kql_audit_argv.py)
    cond = f"{fn}({field}, {eql_string(lit)})"
    tr, got, want, out = _run(profile, WIN + ("not " if negate else "") + cond, [_p(i, t) for i, t in enumerate(texts)])
    assert got == want, f"{cond}\n{tr.output}\nKQL only: {sorted(got - want)}, matcher only: {sorted(want - got)}"
