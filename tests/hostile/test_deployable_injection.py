"""No metadata value can add structure to a deployable (issue 19).

Every metadata field of a rule (name, rule_id, description, severity, risk_score, tags,
references, author, false positives, licence, ATT&CK ids and names, interval, look-back, the
source file name) is fuzzed with newlines (also CR, U+2028/2029, NEL, VT, FF), quotes, comment
and stanza openers and format-specific keys (``action.script = ...``); for every target and
profile, each file of the translation (the query and every deployment file) must have the same
structure as with harmless metadata: the same stanzas and keys (Splunk .conf), the same key paths
(YAML, JSON), the same top-level statements (the Python module), the same query text apart from
comments (KQL, SPL, SQL). A format that cannot hold a value must refuse or escape it, never
let it become structure."""

from __future__ import annotations

import ast
import json
import re
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings, strategies as st

from eqlc import parse_query
from eqlc.result import Status
from eqlc.rule import Rule, Technique, Threat
from eqlc.target import REGISTRY, get_target

QUERY = 'process where host.os.type == "linux" and event.type == "start" and process.name == "dracut"'

BREAKS = ["\n", "\r", "\r\n", "\u2028", "\u2029", "\u0085", "\x0b", "\x0c"]
PAYLOADS = [
    "\n[evil]\naction.script = 1\n", "\naction.script = pwn.sh\n", "\nenableSched = 0\n",
    "\nquery: | evil\n", "\nevil_key: 1\n", '"\n"evil": 1, "', "'\n'evil': 1\n", '"""\nimport os\n"""',
    "\n// comment\n| where false\n", "\n| delete\n", "\n-- x\n; DROP TABLE t;\n", "\n#evil\n",
    "\\\n[evil]\n", "}}{{", "${x}", "</script>", "\u2028[evil]\u2028action.script = 1",
    "\u0085[evil]\u0085k = v", "\r[evil]\rk = v",
]


def _rule(v: str, path_v: str = "") -> Rule:
    threat = (Threat("TA0002" + v, "Execution" + v, (Technique("T1059" + v, "Cmd" + v, (Technique("T1059.004" + v, "Unix" + v),)),)),)
    return Rule(
        query=parse_query(QUERY), query_text=QUERY, path=f"/rules/rule{path_v}.toml", name="Name" + v, rule_id="id-1" + v,
        description="Desc" + v, severity="low" + v, risk_score=21,  # an integer: the loaders refuse anything else (test_metadata_types)
        tags=("OS: Linux", "Tag" + v), threat=threat, index=("logs-*" + v,), interval="5m" + v, from_="now-9m" + v,
        references=("https://x" + v,), false_positives=("FP" + v,), author=("Elastic" + v,), license="Lic" + v, version=1,
        created="2024/01/01" + v, updated="2024/01/02" + v,
    )


_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def _key_paths(value: Any, prefix: str = "") -> set:
    """Every key path (list items as ``[]``): what a value must never add to."""
    if isinstance(value, dict):
        out = {prefix + "{}"}
        for k, v in value.items():
            # an osquery pack names its query after the rule (a slug), a Sentinel template keys its notes
            # by the rule's GUID (a UUID derived from rule_id): values, not structure
            name = "<name>" if prefix.endswith(".queries") or _UUID.fullmatch(str(k)) else k
            out |= _key_paths(v, f"{prefix}.{name}")
        return out
    if isinstance(value, list):
        out = {prefix + "[]"}
        for v in value:
            out |= _key_paths(v, prefix + "[]")
        return out
    return {prefix}


def _conf(text: str) -> list:
    """Splunk .conf: stanzas and their keys (comments dropped, backslash continuations joined)."""
    out: list = [("<default>", [])]
    lines = text.split("\n")
    i = 0
    while i < len(lines):
        line = lines[i]
        while line.endswith("\\") and i + 1 < len(lines):
            i += 1
            line = line[:-1] + "\n" + lines[i]
        i += 1
        s = line.strip()
        if not s or s.startswith("#"):
            continue
        if s.startswith("["):
            out.append((s, []))
        else:
            out[-1][1].append(s.split("=", 1)[0].strip())
    return [(name if name == "<default>" else "<stanza>", keys) for name, keys in out]


_STRINGS = re.compile(r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'', re.S)


def _strip_comments(text: str) -> list[str]:
    """Query text: string literals (which may hold metadata such as index patterns) as S,
    comment lines dropped; every other line is structure."""
    keep = []
    for line in _STRINGS.sub("S", text).split("\n"):
        s = line.strip()
        if s.startswith(("//", "#", "--")) or not s:
            continue
        keep.append(line)
    return keep


def structure(name: str, text: str) -> Any:
    if name.endswith(".conf"):
        return _conf(text)
    if name.endswith((".yml", ".yaml")):
        return _key_paths(list(yaml.safe_load_all(text)))
    if name.endswith(".json"):
        return _key_paths(json.loads(text))
    if name.endswith(".py"):
        tree = ast.parse(text)
        return [type(n).__name__ + ":" + ",".join(sorted(getattr(t, "id", "?") for t in getattr(n, "targets", []))) for n in tree.body]
    return _strip_comments(text)


def _within(got: Any, want: Any) -> bool:
    """``got`` adds nothing to ``want``: no new key path (a key left out for a value the format
    cannot hold is allowed), the same stanzas with no new keys, the same statements and query."""
    if isinstance(want, set):
        return got <= want
    if want and isinstance(want[0], tuple):  # .conf
        return len(got) == len(want) and all(g[0] == w[0] and set(g[1]) <= set(w[1]) for g, w in zip(got, want))
    return got == want


def _files(rule: Rule, target: str, profile: Any) -> list[tuple[str, str]]:
    t = get_target(target).compile(rule, profile=profile)
    if t.status is Status.REFUSED or t.output is None:
        return [("<refused>", "")]
    ext = {"sigma": ".yml", "kql": ".kql", "spl": ".spl", "osquery": ".sql", "python": ".py"}[target]
    return [("query" + ext, t.output)] + [(re.sub(r"^.*?(\.[^.]+\.[^.]+|\.[^.]+)$", r"\1", n, flags=re.S), v) for n, v in t.artifacts.items()]


CASES = [(t, p) for t in REGISTRY for p in (getattr(get_target(t), "profiles", None) or (None,))]


@pytest.fixture(scope="module")
def baseline():
    return {(t, p): [(n, structure(n, v)) for n, v in _files(_rule(""), t, p)] for t, p in CASES}


def _check(baseline, value: str, path_v: str = "") -> None:
    rule = _rule(value, path_v)
    for t, p in CASES:
        want = baseline[(t, p)]
        got = _files(rule, t, p)
        if got == [("<refused>", "")]:
            continue  # refusing hostile metadata is allowed
        assert [n for n, _ in got] == [n for n, _ in want], (t, p, [n for n, _ in got], [n for n, _ in want])
        for (name, text), (_n, shape) in zip(got, want):
            try:
                parsed = structure(name, text)
            except Exception as exc:  # a file that no longer parses is an injection too
                raise AssertionError(f"{t}:{p} {name} does not parse with metadata {value!r}: {exc}\n{text[:3000]}") from None
            assert _within(parsed, shape), f"{t}:{p} {name}: metadata {value!r} changed the structure\n{text[:3000]}"


@pytest.mark.parametrize("payload", PAYLOADS)
def test_known_payloads(baseline, payload):
    _check(baseline, payload)


@pytest.mark.parametrize("brk", BREAKS)
def test_file_name_with_line_breaks(baseline, brk):
    _check(baseline, "", path_v=f"{brk}[evil]{brk}action.script = 1")


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(value=st.lists(st.sampled_from(BREAKS + ['"', "'", "\\", "[", "]", "=", ":", "#", "//", "--", "{", "}", "|", "`", "a", " ", "$", "%", "<"]),
                      min_size=1, max_size=12).map("".join))
def test_fuzzed_metadata(baseline, value):
    _check(baseline, value)
