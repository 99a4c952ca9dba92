"""The documented library API in compiler/__init__.py, used as the README shows."""

from __future__ import annotations

import eqlc
from eqlc import EqlError, Status, compile, load_rules, matcher, parse_query
from tests.corpus import EXAMPLE_DIR


def test_readme_api_flow() -> None:
    query = parse_query('process where process.name : "dracut*"')
    assert query.kind == "event"
    rules = load_rules(EXAMPLE_DIR / "rule.toml")
    result = compile(rules[0], "python")
    assert result.status is Status.EXACT and result.output
    m = matcher(rules[0])
    event = {"event": {"category": "process", "type": "start", "action": "exec"}, "host": {"os": {"type": "linux"}},
             "process": {"name": "dracut", "parent": {"executable": "/usr/bin/bash", "name": "bash"}}}
    assert m.match(event) is True
    event["process"]["name"] = "Dracut"
    assert m.match(event) is False


def test_matcher_attribute_is_the_function_after_importing_the_subpackage() -> None:
    import eqlc.matcher  # noqa: F401

    assert callable(eqlc.matcher)


def test_eql_error_carries_position() -> None:
    try:
        parse_query("process where (")
    except EqlError as err:
        assert (err.line, err.column) == (1, 16)
    else:
        raise AssertionError("no error")
