"""Run windows that neither overlap nor leave gaps, for rules that Elastic runs every ``interval``
over ``from = now-<look-back>`` and de-duplicates across the overlap. Sentinel and Splunk do not
de-duplicate, so the copied overlap would alert twice on one event.

Each event belongs to exactly one run: the run whose frequency-long window holds its
**ingestion** time. The query reads the events generated within the last frequency plus
``delay`` (the delay allowance, Elastic's own extra look-back: ``now-9m`` every ``5m`` keeps 4
minutes for late events) and keeps those ingested within the last frequency. This is the pattern
Microsoft documents for scheduled analytics rules ("Handle ingestion delay in scheduled analytics
rules", MicrosoftDocs/azure-docs articles/sentinel/ingestion-delay.md)::

    | where TimeGenerated >= ago(ingestion_delay + rule_look_back)
    | where ingestion_time() > ago(rule_look_back)

The windows tile time when consecutive runs start exactly one frequency apart (Sentinel's
scheduler runs each rule at a fixed interval, on a five-minute delay from its scheduled time:
articles/sentinel/scheduled-rules-overview.md, "Ingestion delay"). An event ingested at most
``delay`` after its TimeGenerated is always seen; one ingested later may be missed (and always is
past frequency plus delay).
"""

from __future__ import annotations

from dataclasses import dataclass

from eqlc.rule import Rule

MINUTE = 60_000
DEFAULT_INTERVAL_MS = 5 * MINUTE  # Elastic's default rule interval
DEFAULT_DELAY_MS = MINUTE  # Elastic's default look-back is now-6m for a 5m interval
SENTINEL_MIN_MS = 5 * MINUTE  # allowed range of queryFrequency/queryPeriod: 5 minutes to 14 days
SENTINEL_MAX_MS = 14 * 24 * 60 * MINUTE


@dataclass(frozen=True)
class Window:
    """``frequency``: how often the rule runs; ``delay``: how late (after its timestamp) an event
    may be ingested and still be seen; ``notes``: every change made to the rule's own schedule."""

    frequency_ms: int
    delay_ms: int
    notes: tuple[str, ...] = ()

    @property
    def lookback_ms(self) -> int:
        return self.frequency_ms + self.delay_ms


def window_of(rule: Rule, min_frequency_ms: int = 0) -> Window:
    """The rule's interval as the run frequency (raised to ``min_frequency_ms``), and Elastic's
    extra look-back (``from`` minus ``interval``, at least one minute) as the delay allowance."""
    notes: list[str] = []
    interval = rule.interval_ms or DEFAULT_INTERVAL_MS
    if not rule.interval_ms:
        notes.append(f"the rule has no interval; Elastic's default of {interval // MINUTE}m is used")
    lookback = rule.lookback_ms
    delay = (lookback - interval) if lookback is not None else DEFAULT_DELAY_MS
    if delay < MINUTE:
        notes.append(f"the rule's look-back ({rule.from_ or 'unset'}) leaves {max(delay, 0) // 1000}s for late events; "
                     "1m is used")
        delay = MINUTE
    frequency = interval
    if frequency < min_frequency_ms:
        notes.append(f"interval {rule.interval or interval} raised to {min_frequency_ms // MINUTE}m, the target's minimum")
        frequency = min_frequency_ms
    return Window(frequency, delay, tuple(notes))


def assumption(window: Window, time_column: str) -> str:
    """The stated assumption of the windowed query."""
    return (f"each event is ingested at most {span(window.delay_ms)} after its {time_column} (Elastic's extra look-back); "
            f"runs start exactly {span(window.frequency_ms)} apart, so each event is alerted once, by the run whose "
            f"window holds its ingestion time")


def span(ms: int) -> str:
    """A Kusto timespan literal (also Sentinel's YAML duration spelling): 5m, 2h, 1d."""
    for unit, size in (("d", 86_400_000), ("h", 3_600_000), ("m", MINUTE), ("s", 1000)):
        if ms % size == 0:
            return f"{ms // size}{unit}"
    return f"{ms}ms"


def iso_duration(ms: int) -> str:
    """ISO 8601 duration, as the ARM template takes queryFrequency/queryPeriod: PT5M, PT2H, P1D."""
    days, rest = divmod(ms, 86_400_000)
    hours, rest = divmod(rest, 3_600_000)
    minutes, rest = divmod(rest, MINUTE)
    seconds = rest // 1000
    time = "".join(f"{v}{u}" for v, u in ((hours, "H"), (minutes, "M"), (seconds, "S")) if v)
    return "P" + (f"{days}D" if days else "") + (f"T{time}" if time else ("" if days else "T0S"))
