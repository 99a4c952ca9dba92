"""Scheduling: witness events spread over a schedule, consecutive runs executed on duckdb-kql with
the emitted Sentinel query and time filters: every matching event is alerted exactly once; the
window Elastic's rule states (9 minutes every 5, no de-duplication) doubles alerts and a 5-minute
window on the event time alone loses late events, so the check can fail.

How a Sentinel run is reproduced (the nearest real thing to Sentinel's scheduler):

* a run at time ``t`` sees the rows ingested by ``t`` whose TimeGenerated lies in the rule's
  query period (Sentinel scopes every table of a scheduled query to it);
* ``now()``/``ago()`` are ``t`` (duckdb-kql's ``query_now``);
* duckdb-kql has no ``ingestion_time()``; Kusto's ``ingestion_time()`` returns the row's hidden
  ``$IngestionTime`` column, so the tables carry it as a column, ``IngestionTime`` (from the ECS
  ``event.ingested`` of each witness), and the call is read as that column.

Splunk's lagged windows are checked the same way on the SPL side (windows resolved from the
emitted dispatch times, events indexed with a delay).
"""

from __future__ import annotations

import datetime as dt
import random

import duckdb_kql
import pytest

from eqlc import parse_query
from eqlc.rule import Rule
from eqlc.targets.kql import TARGET
from eqlc.targets.kql.adapter import ID_COLUMN, SQL_TYPES, load_for
from eqlc.targets.kql.profile import load_profile
from eqlc.targets.kql.sentinel import build

T0 = dt.datetime(2026, 3, 2, 12, 0, 0)
MIN = dt.timedelta(minutes=1)


def rule_of(query: str, interval: str = "5m", from_: str = "now-9m") -> Rule:
    return Rule(query=parse_query(query), query_text=query, name="schedule witness", interval=interval, from_=from_)


def witnesses(n: int, delay_max: dt.timedelta, seed: int = 7) -> list[dict]:
    """``n`` process events spread over two hours, each ingested 0..delay_max after it happened;
    every other one matches the rule."""
    rnd = random.Random(seed)
    out = []
    for i in range(n):
        ts = T0 + dt.timedelta(seconds=rnd.randrange(0, 2 * 3600))
        ing = ts + dt.timedelta(seconds=rnd.randrange(0, int(delay_max.total_seconds()) + 1))
        out.append({"_id": f"w{i}", "@timestamp": ts.isoformat() + "Z",
                    "event": {"category": ["process"], "type": ["start"], "action": "exec", "ingested": ing.isoformat() + "Z"},
                    "host": {"id": f"h{i % 3}", "name": f"host{i % 3}", "os": {"type": "windows"}},
                    "process": {"name": "cmd.exe" if i % 2 == 0 else "calc.exe", "executable": "C:\\x\\cmd.exe"}})
    return out


def tables_with_time(t, events: list[dict], profile: str) -> dict[str, tuple[dict, list[dict]]]:
    """The adapter's tables (same profile YAML) plus TimeGenerated and IngestionTime columns."""
    prof = load_profile(profile)
    by_id = {e["_id"]: e for e in events}
    out = {}
    for name, (cols, rows) in load_for(t, events).tables.items():
        cols = {**cols, "TimeGenerated": "datetime", "IngestionTime": "datetime"}
        new_rows = []
        for r in rows:
            r = dict(r)
            r["TimeGenerated"] = r[prof.timestamp]
            e = by_id.get(r.get(ID_COLUMN))
            r["IngestionTime"] = (dt.datetime.fromisoformat(e["event"]["ingested"].rstrip("Z")) if e else r["TimeGenerated"])
            new_rows.append(r)
        out[name] = (cols, new_rows)
    return out


def run_at(now: dt.datetime, tables: dict, query: str, period: dt.timedelta) -> list[str]:
    """One scheduled run: the rows Sentinel would let the query see at ``now``."""
    con = duckdb_kql.connect()
    for name, (cols, rows) in tables.items():
        con.execute(f'CREATE TABLE "{name}" (' + ", ".join(f'"{c}" {SQL_TYPES.get(k, "VARCHAR")}' for c, k in cols.items()) + ")")
        visible = [r for r in rows if r["IngestionTime"] <= now and now - period <= r["TimeGenerated"] <= now]
        if visible:
            names = list(cols)
            con.executemany(f'INSERT INTO "{name}" VALUES ({", ".join("?" for _ in names)})',
                            [[r.get(c) for c in names] for r in visible])
    rel = duckdb_kql.kql(con, query.replace("ingestion_time()", "IngestionTime"), query_now=now)
    names = [d[0] for d in rel.description]
    return [row[names.index(ID_COLUMN)] for row in rel.fetchall()]


def alerts_over_schedule(query: str, tables: dict, period: dt.timedelta, every: dt.timedelta, start: dt.datetime,
                         runs: int) -> list[str]:
    out: list[str] = []
    for k in range(runs):
        out.extend(run_at(start + k * every, tables, query, period))
    return out


@pytest.mark.parametrize("profile", ["defender", "sentinel-asim"])
def test_consecutive_runs_alert_each_event_exactly_once(profile):
    rule = rule_of('process where process.name == "cmd.exe"')
    t = TARGET.compile(rule, profile=profile)
    s = build(rule, t.output, load_profile(profile), list(t.notes), sequence=False)
    assert (s.frequency_ms, s.period_ms) == (5 * 60_000, 9 * 60_000)
    events = witnesses(80, delay_max=4 * MIN)
    tables = tables_with_time(t, events, profile)
    matching = sorted(e["_id"] for e in events if e["process"]["name"] == "cmd.exe")
    # runs every 5 minutes from before the first event until after the last ingestion
    alerts = alerts_over_schedule(s.query, tables, dt.timedelta(milliseconds=s.period_ms), 5 * MIN, T0 - 3 * MIN, 30)
    assert sorted(alerts) == matching, "lost or doubled alerts"
    assert len(alerts) == len(set(alerts)) == 40

    # Elastic's window copied as is (9 minutes every 5, no de-duplication) alerts twice on some events
    naive = t.output.split("\n")
    copied = "\n".join([naive[0], "| where TimeGenerated >= ago(9m)", *naive[1:]])
    doubled = alerts_over_schedule(copied, tables, 9 * MIN, 5 * MIN, T0 - 3 * MIN, 30)
    assert len(doubled) > len(set(doubled))
    # a 5-minute window on the event time alone loses the events ingested late
    tight = "\n".join([naive[0], "| where TimeGenerated >= ago(5m)", *naive[1:]])
    lost = alerts_over_schedule(tight, tables, 5 * MIN, 5 * MIN, T0 - 3 * MIN, 30)
    assert set(lost) < set(matching)


def test_an_event_ingested_later_than_the_delay_allowance_is_the_stated_loss():
    """The assumption is real: an event ingested more than 4 minutes late may be missed (it is
    caught only if its ingestion falls in a run that still reads its time), one ingested more
    than 9 minutes late always is."""
    rule = rule_of('process where process.name == "cmd.exe"')
    t = TARGET.compile(rule)
    s = build(rule, t.output, load_profile("defender"), [], sequence=False)
    assert any("at most 4m after its TimeGenerated" in n for n in s.notes)
    late = witnesses(1, delay_max=0 * MIN)
    late[0]["event"]["ingested"] = (dt.datetime.fromisoformat(late[0]["@timestamp"].rstrip("Z")) + 10 * MIN).isoformat() + "Z"
    tables = tables_with_time(t, late, "defender")
    assert alerts_over_schedule(s.query, tables, dt.timedelta(milliseconds=s.period_ms), 5 * MIN, T0 - 3 * MIN, 30) == []


def _device_info_tables(t, event: dict, reports: list[tuple[dt.datetime, str]]) -> dict:
    tables = tables_with_time(t, [event], "defender")
    cols, _ = tables["DeviceInfo"]
    tables["DeviceInfo"] = (cols, [{"DeviceId": event["host"]["id"], "Timestamp": ts, "OSPlatform": os_, "TimeGenerated": ts,
                                    "IngestionTime": ts + dt.timedelta(seconds=30)} for ts, os_ in reports])
    return tables


def test_device_info_lookup_sees_the_hourly_report():
    """Microsoft: DeviceInfo complete reports come every hour; heartbeats between them may carry
    no OSPlatform. A Windows event 50 minutes after the last complete report, with an empty
    heartbeat since, is alerted by the emitted query; the lookup as it was (no OSPlatform filter,
    read over the rule's 9-minute period) drops it."""
    rule = rule_of('process where host.os.type == "windows" and process.name == "cmd.exe"')
    t = TARGET.compile(rule)
    s = build(rule, t.output, load_profile("defender"), [], sequence=False)
    assert "DeviceInfo | where TimeGenerated > ago(2h) | where isnotempty(OSPlatform)" in s.query
    assert s.period_ms == 2 * 3_600_000
    now = T0 + 60 * MIN
    [event] = witnesses(1, delay_max=0 * MIN)
    event["@timestamp"] = (now - 2 * MIN).isoformat() + "Z"
    event["event"]["ingested"] = (now - 2 * MIN).isoformat() + "Z"
    reports = [(now - 50 * MIN, "Windows10"), (now - 5 * MIN, "")]
    tables = _device_info_tables(t, event, reports)
    assert run_at(now, tables, s.query, dt.timedelta(milliseconds=s.period_ms)) == ["w0"]
    old = s.query.replace("| where TimeGenerated > ago(2h) | where isnotempty(OSPlatform) ", "")
    assert run_at(now, tables, old, 9 * MIN) == []
