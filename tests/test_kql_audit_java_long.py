"""Adversarial checks of process.pid read as Java's Long.decode of SecurityEvent's ProcessId
(`java_long`, raw_tables.java_long_regex): generated ASCII texts around every spelling Long.decode
reads (sign, 0x / 0X / # / leading-zero octal prefixes, digits of every radix, a sign after the
prefix, a lone prefix, surrounding whitespace, overflow) are compared, on duckdb-kql, with a
Python transcription of java.lang.Long#decode (OpenJDK 17 source: sign, then the radix prefix, a
sign after it is an error, Long.valueOf(rest, radix), retried with the sign for Long.MIN_VALUE).
The ECS side: events whose process.pid is not a Java long are set apart by the check (audit6).
"""

from __future__ import annotations

import duckdb_kql
from hypothesis import given, settings
from hypothesis import strategies as st

from eqlc.result import Status
from eqlc.targets.kql import TARGET
from eqlc.targets.kql.adapter import ID_COLUMN, Loaded, connect
from eqlc.targets.kql.profile import load_profile
from tests.test_kql_sentinel import _rule, _run

LONG_MIN, LONG_MAX = -(2**63), 2**63 - 1


def long_decode(text: str):
    """java.lang.Long.decode on ASCII text; None where it throws NumberFormatException."""
    if not text:
        return None
    i, negative = 0, False
    if text[0] in "+-":
        negative, i = text[0] == "-", 1
    if text.startswith(("0x", "0X"), i):
        radix, i = 16, i + 2
    elif text.startswith("#", i):
        radix, i = 16, i + 1
    elif text.startswith("0", i) and len(text) > i + 1:
        radix, i = 8, i + 1
    else:
        radix = 10
    rest = text[i:]
    if rest.startswith(("-", "+")) or not rest:
        return None
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"[:radix]
    if any(c.lower() not in digits for c in rest):
        return None
    value = int(rest, radix)
    value = -value if negative else value
    return value if LONG_MIN <= value <= LONG_MAX else None


PIECE = st.sampled_from(["", "+", "-", "0x", "0X", "#", "0", "00", " ", "\t"])
DIGITS = st.text(alphabet="0123456789abcdefABCDEF8", max_size=4)
TEXT = st.tuples(PIECE, PIECE, DIGITS, st.sampled_from(["", "", " ", "\n", "x"])).map("".join) | st.sampled_from(
    ["9223372036854775807", "9223372036854775808", "-9223372036854775808", "0x8000000000000000",
     "-0x8000000000000000", "0x7fffffffffffffff", "077777777777777777777", "01000000000000000000000"])


def _decoded(texts: list[str], numbers: list[int]) -> list[str]:
    tr = TARGET.compile(_rule(f'authentication where event.code == "4624" and process.pid in ({", ".join(map(str, numbers))})'),
                        profile="sentinel")
    assert tr.status is Status.ASSUMPTIONS, tr.notes
    prof = load_profile("sentinel")
    cols = {ID_COLUMN: "string", **prof.columns_of(prof.tables["SecurityEvent"])}
    rows = []
    for i, text in enumerate(texts):
        row = {c: ("" if t == "string" else None) for c, t in cols.items()}
        row.update({ID_COLUMN: f"t{i}", "EventID": 4624, "ProcessId": text})
        rows.append(row)
    query = tr.output.rstrip() + f"\n| project {ID_COLUMN}"
    return sorted(r[0] for r in duckdb_kql.kql(connect(Loaded({"SecurityEvent": (cols, rows)}), query), query).fetchall())


def test_the_transcription_reads_the_documented_cases():
    for text, want in {"0x1f4": 500, "#1F4": 500, "0764": 500, "-0": 0, "+0x00": 0, "0x": None, "0x-1": None,
                       "08": None, " 12": None, "-0x8000000000000000": LONG_MIN, "0x8000000000000000": None}.items():
        assert long_decode(text) == want, text


@settings(max_examples=10, deadline=None, derandomize=True)
@given(texts=st.lists(TEXT, min_size=5, max_size=25),
       extra=st.lists(st.sampled_from([0, 1, 8, 500, -500, 320, LONG_MAX, LONG_MIN]), max_size=2))
def test_process_id_text_reads_as_long_decode(texts, extra):
    decoded = [long_decode(t) for t in texts]
    numbers = sorted({d for d in decoded if d is not None} | set(extra)) or [0]
    numbers = numbers[:3]
    want = sorted(f"t{i}" for i, d in enumerate(decoded) if d in numbers)
    assert _decoded(texts, numbers) == want, [(t, d) for t, d in zip(texts, decoded)]


def test_ecs_values_that_are_no_java_long_are_set_apart():
    """The adapter writes the ECS value's text into ProcessId: "-0" is 0 for Long.decode but a
    string for the matcher, 500.0 is 500 for the matcher and no spelling the query reads."""
    def ev(_id: str, pid) -> dict:
        return {"_id": _id, "@timestamp": "2026-01-01T00:00:00Z", "host": {"os": {"type": "windows"}}, "process": {"pid": pid},
                "event": {"code": "4624", "category": ["authentication"], "action": "logged-in", "outcome": "success"}}

    events = [ev("int", 500), ev("float", 500.0), ev("text", "0x1f4"), ev("minus-zero", "-0"), ev("bool", True),
              ev("zero", 0), ev("two", [500, 1])]
    for cond, hits in [("process.pid == 500", ["int"]), ("process.pid == 0", ["zero"]), ("not process.pid == 500", ["zero"])]:
        tr, got, want, out = _run(_rule(f'authentication where event.code == "4624" and {cond}'), events)
        assert got == want == hits, (cond, got, want)
        assert set(out) == {"float", "text", "minus-zero", "bool", "two"}, out
        assert "not a Java long" in out["float"]
