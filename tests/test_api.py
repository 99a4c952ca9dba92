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


def test_compile_raises_typed_errors_for_unknown_target_and_profile() -> None:
    rule = load_rules(EXAMPLE_DIR / "rule.toml")[0]
    for call, kind, message in (
        (lambda: compile(rule, "splunk"), eqlc.UnknownTarget, "unknown target 'splunk'; expected one of sigma, kql, spl, osquery, python"),
        (lambda: compile(rule, "kql", profile="sentinel-raw"), eqlc.UnknownProfile,
         "unknown profile 'sentinel-raw' for kql; expected one of defender, sentinel-asim, sentinel"),
        (lambda: compile(rule, "python", profile="x"), eqlc.UnknownProfile, "the python target has no profiles (got 'x')"),
    ):
        try:
            call()
        except kind as err:
            assert isinstance(err, eqlc.UsageError) and isinstance(err, EqlError)
            assert err.message == message and err.render() == f"error: {message}"
        else:
            raise AssertionError(message)


def test_compile_takes_a_parsed_query_or_its_text() -> None:
    query = parse_query('process where process.name : "dracut*"')
    for source in (query, 'process where process.name : "dracut*"'):
        t = compile(source, "spl", profile="ecs")
        assert t.status is Status.EXACT and t.profile == "ecs" and 'process.name="dracut*"' in t.output
    assert compile(query, "kql").profile == "defender"  # the profile in effect is named


def test_a_bad_mapping_key_is_a_mapping_error(tmp_path) -> None:
    bad = tmp_path / "m.yaml"
    bad.write_text("scope:\n  indx: x\n")
    try:
        compile("process where true", "spl", mapping=bad)
    except eqlc.MappingError as err:
        assert (err.path, err.line, err.column) == (str(bad), 2, 3)
    else:
        raise AssertionError("no error")


def test_types_are_exported_and_the_package_is_typed() -> None:
    from pathlib import Path

    for name in ("Query", "Rule", "Translation", "Status", "TargetSpec", "EqlError", "UsageError", "UnknownTarget",
                 "UnknownProfile", "MappingError"):
        assert name in eqlc.__all__ and isinstance(getattr(eqlc, name), type), name
    assert (Path(eqlc.__file__).parent / "py.typed").is_file()
