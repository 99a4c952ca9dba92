"""FortiGate login events in CommonSecurityLog (the ``sentinel`` profile): the message text the
fixture adapter writes for a login, and the message texts outside the stated reading of it.

Elastic's fortinet_fortigate pipeline derives a login's event.action and event.outcome from the
message text (FortiOS's ``msg``, which FortiGate's CEF sends as ``msg`` and Sentinel keeps in
``Message``): default.yml (009be49) runs login.yml when the message, lowercased, contains "login"
or "logged in"; login.yml (35ead75) sets event.action "login" and dissects event.outcome out of
the message (or out of ``desc``) with one of four patterns, then folds a fail*/success* prefix to
failure/success. targets/kql/sentinel.yaml reads the same decision back from the CEF columns
(``event.action`` / ``event.outcome`` expressions of its CommonSecurityLog block, which cite the
pipeline); the dissects are read there as leftmost-first regular expressions.

Elasticsearch's dissect (libs/dissect DissectParser.parse) has one behaviour no such expression
states: a delimiter found twice in a row gives the next key an empty value and skips that key's
own delimiter. The translation states that a login message holds no delimiter of its pattern
twice in a row; and an empty captured outcome, which Elasticsearch writes as "" (DissectMatch keeps
empty values, DissectProcessor sets every result) and Kusto cannot tell from no value, is set apart
too. :func:`breaks` is that check, per event, beside the fixture adapter's
computed-field check (which compares the expressions' values with the event's ECS values).

The fixture events are ECS documents: a witness of event.action "login" carries no message text.
:func:`fill` writes one that the pipeline turns into the witness's action and outcome (the inverse
of the expressions, as raw_tables.fill_event_data writes EventData): this cannot show that the
expressions are Elastic's derivation (tests/test_kql_sentinel_fortigate_login.py compares them
with a transcription of the pipeline on hand-written messages); it shows that the query's logic
over the CEF columns agrees with the rule's over the ECS fields.
"""

from __future__ import annotations

import re
from typing import Optional

from eqlc.events import split_path, values

FILL = "fortigate_login"  # the table key (sentinel.yaml CommonSecurityLog `fill`)

# login.yml's message dissects: (the message prefix its `if` tests, the pattern's delimiters in
# order, the leftmost-first regular expression, the outcome's group). The `desc` dissect ("User
# login/logout %{event.outcome}", for messages starting with "user") has no delimiter after its
# one key and needs desc longer than its prefix (DissectParser: input longer than the leading
# delimiter), so no case of it is set apart.
_LOGGED_IN = re.compile(r"[Ll][Oo][Gg][Gg][Ee][Dd] [Ii][Nn]")
_LOGIN = re.compile(r"[Ll][Oo][Gg](?:[Ii][Nn]|[Gg][Ee][Dd] [Ii][Nn])")
_DISSECTS = (
    ("Login from ssh:", ("Login from ssh: ", " for ", " from ", " port "),
     re.compile(r"^Login from ssh: (.*?) for .*? from .*? port "), 1, None),
    ("Administrator", (" ", " login ", " from ", "(", ") "),
     re.compile(r"^(.*?) (.*?) login (.*?) from (.*?)\((.*?)\) "), 3, False),
    ("Administrator", (" ", " logged in ", " from ", "(", ")"),
     re.compile(r"^(.*?) (.*?) logged in (.*?) from (.*?)\((.*?)\)"), 3, True),
)

# written for a login witness without a message (documentation addresses, RFC 5737)
_SUCCESS = "Administrator eqlc logged in successfully from sso(192.0.2.1)"
_FAILURE = "Administrator eqlc logged in failed from sso(192.0.2.1)"


def is_login(message: str) -> bool:
    """default.yml's test for running login.yml: the message, lowercased, contains "login" or
    "logged in" (Java's toLowerCase maps no other character to these ASCII letters, except under a
    Turkish or Azeri default locale, which the translation's note excludes)."""
    return bool(_LOGIN.search(message))


def breaks(message: str) -> Optional[str]:
    """Why a message is outside the stated reading of login.yml's dissects, or None."""
    if not is_login(message):
        return None
    for prefix, delims, rx, group, logged_in in _DISSECTS:
        if not message.startswith(prefix) or (logged_in is not None and logged_in != bool(_LOGGED_IN.search(message))):
            continue
        doubled = next((d for d in delims if d + d in message), None)
        if doubled is not None:
            return (f"the message holds the dissect delimiter {doubled!r} twice in a row (Elasticsearch's dissect then "
                    f"gives the next key an empty value and skips its delimiter, which the query does not read)")
        m = rx.search(message)
        if m is not None and m.group(group) == "":
            return ("the message's dissect captures an empty outcome, which Elasticsearch writes as \"\" and "
                    "Kusto cannot tell from no value")
        return None
    return None


def fill(event: dict) -> tuple[list[tuple[tuple[str, ...], str]], Optional[str]]:
    """The message to write into the row of ``event`` (as an ECS path and text) when it has none,
    and why the event is outside the stated reading of its message, if it is."""
    msgs = [v for v in values(event, ("message",)) if isinstance(v, str)]
    if msgs:
        return [], (breaks(msgs[0]) if len(msgs) == 1 else None)
    actions = values(event, split_path("event.action"))
    if actions != ["login"]:
        return [], None
    outcomes = values(event, split_path("event.outcome"))
    if not outcomes:
        text = "eqlc login"  # login.yml runs; no dissect's prefix: the outcome is event.yml's
    elif outcomes == ["success"]:
        text = _SUCCESS
    elif outcomes == ["failure"]:
        text = _FAILURE
    elif len(outcomes) == 1 and isinstance(outcomes[0], str):
        text = f"Login from ssh: {outcomes[0]} for eqlc from 192.0.2.1 port 22"
    else:
        return [], None
    return [(("message",), text)], breaks(text)
