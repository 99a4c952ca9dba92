"""The event.outcome Elastic's Windows input writes on a hand-written Security event: success or
failure for the event ids Microsoft documents as one kind of audit only (the facts the generator
and the KQL sentinel profile read, eqlc.fixtures.winlog_facts), nothing for the others (their
outcome depends on the event's audit keyword)."""

from __future__ import annotations

from typing import Optional

from eqlc.fixtures.winlog_facts import outcome_ids

_BY_ID = {str(i): kind for kind, ids in outcome_ids("security").items() for i in ids}


def elastic_outcome(code: str) -> Optional[str]:
    return _BY_ID.get(str(code))


def with_outcome(event: dict) -> dict:
    """``event`` with the event.outcome of its Security event id (when documented and not set)."""
    kind = elastic_outcome(event.get("event", {}).get("code", ""))
    if kind is not None:
        event["event"].setdefault("outcome", kind)
    return event
