"""Adversarial checks of FortiGate fields read from CommonSecurityLog (kqlfort): `kv_path` values
of AdditionalExtensions key=value pairs and the `cef_text` DeviceAction column. Generated values
hold the pair separator, "=", backslashes, quotes, surrounding spaces, "N/A" in both cases, "",
accented letters, arrays and non-strings; conditions compare with ==, :, !=, like~, in, wildcards
and null. The query runs on duckdb-kql and must select what the reference matcher selects on every
event the translation's checks keep (audit6: no disagreement found).
"""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from eqlc import parse_query
from eqlc.rule import Rule
from tests.test_kql_sentinel import _run

FORTI = ("logs-fortinet_fortigate.*",)
ATOMS = ["a", "A", "N/A", "n/a", " ", ";", "=", "\\", '"', "\u00e9", "[x]", "0"]
VALUE = st.lists(st.sampled_from(ATOMS), max_size=3).map("".join)
ECS_VALUE = st.none() | VALUE | st.lists(VALUE, min_size=1, max_size=2) | st.just(5)
LITERAL = st.sampled_from(["a", "A", "N/A", "n/a", "\u00e9", "a*", "*", "?", "[x]", "0"])


def _event(i: int, path, action) -> dict:
    fw = {k: v for k, v in (("cfgpath", path), ("action", action)) if v is not None}
    return {"_id": f"e{i:02d}", "@timestamp": "2026-01-01T00:00:00Z", "data_stream": {"dataset": "fortinet_fortigate.log"},
            "event": {"code": "0100044547"}, "fortinet": {"firewall": fw}}


@settings(max_examples=8, deadline=None, derandomize=True)
@given(values=st.lists(st.tuples(ECS_VALUE, ECS_VALUE), min_size=4, max_size=14),
       field=st.sampled_from(["fortinet.firewall.cfgpath", "fortinet.firewall.action"]),
       op=st.sampled_from(["==", ":", "!=", "like~", "in"]), lit=LITERAL, negate=st.booleans(), null=st.booleans())
def test_fortigate_fields_agree_with_the_matcher(values, field, op, lit, negate, null):
    events = [_event(i, p, a) for i, (p, a) in enumerate(values)]
    cond = f'{field} in ("{lit}", "a")' if op == "in" else f'{field} {op} "{lit}"'
    if null:
        cond = f"({cond} or {field} == null)"
    if negate:
        cond = f"not {cond}"
    text = f"any where {cond}"
    rule = Rule(query=parse_query(text), query_text=text, name="kql fortigate audit", index=FORTI)
    tr, got, want, out = _run(rule, events)
    assert got == want, f"{text}\n{tr.output}\nKQL only: {sorted(set(got) - set(want))}, matcher only: {sorted(set(want) - set(got))}"
