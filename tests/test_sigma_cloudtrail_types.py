"""Sigma aws/cloudtrail: event.type and event.outcome as Elastic's AWS integration derives them, and a
rule's event_category_override read as a test of that field (issue 14, cloud log sources).

Facts: elastic/integrations packages/aws/data_stream/cloudtrail/elasticsearch/ingest_pipeline/default.yml,
script "Add ECS categorization": event.type is ['info'] for every record unless its eventName table gives
other types; event.outcome is failure when errorCode or errorMessage is set, else success, and for
ConsoleLogin the record's responseElements.ConsoleLogin lower-cased when present. Each case runs the
Sigma through pySigma's sqlite backend and compares with the Python matcher (tests/test_sigma_sources.agree).
"""

from __future__ import annotations

from eqlc.result import Status
from eqlc.targets.sigma import TARGET
from tests.test_sigma_sources import agree, ev, rule

CT = dict(data_stream__dataset="aws.cloudtrail", event__provider="signin.amazonaws.com")


def test_override_info_where_is_an_event_type_test_and_console_login_outcome_is_its_response():
    r = rule('info where data_stream.dataset == "aws.cloudtrail" and event.action in ("ConsoleLogin", "CreateUser") and '
             'event.outcome == "success"', event_category_override="event.type")
    t = TARGET.compile(r)
    assert t.status is Status.ASSUMPTIONS, t.notes
    assert "responseElements.ConsoleLogin" in t.output and "CreateUser" in t.output
    def login(i, outcome, response=None, **kw):
        out = ev(i, event__action="ConsoleLogin", event__type=["info"], event__outcome=outcome, **CT, **kw)
        if response is not None:
            out.setdefault("aws", {}).setdefault("cloudtrail", {})["flattened"] = {"response_elements": {"ConsoleLogin": response}}
        return out

    events = [login("a", "success", "Success"),
              # a failed console login without an error field: the response decides (ECS failure)
              login("b", "failure", "Failure"),
              login("c", "success"),
              login("d", "failure", aws__cloudtrail__error_message="Failed authentication"),
              # the response wins over the error fields
              login("e", "success", "Success", aws__cloudtrail__error_message="x"),
              # CreateUser: event.type user, creation -- not info
              ev("f", event__action="CreateUser", event__type=["user", "creation"], event__outcome="success", **CT),
              # an outcome its fields do not give: outside
              login("g", "failure", "Success")]
    got, want, outside = agree(r, events, must_agree="abcdef")
    assert got & set("abcdef") == {"a", "c", "e"} and "g" in outside


def test_override_in_a_sequence_stays_refused():
    r = rule('sequence with maxspan=5m [info where data_stream.dataset == "aws.cloudtrail"] [info where data_stream.dataset == "aws.cloudtrail"]',
             event_category_override="event.type")
    t = TARGET.compile(r)
    assert t.status is Status.REFUSED and any("overrides the event category field" in n for n in t.notes), t.notes


def test_the_console_login_rule_of_the_corpus_passes_sigmahqs_validators(tmp_path):
    from tests import sigmahq_data

    sigmahq_data.assert_corpus_rules_pass(tmp_path, "integrations/aws", ["lateral_movement_ec2_instance_console_login"], "aws_")
