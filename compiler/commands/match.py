"""``eqlc match RULE EVENTS...``: the command-line declaration (typer) of the command whose body is
match_run.py. ``eqlc match`` invocations the typer-free parser (match_args.py) reads never import
this module (eqlc.launch); help, errors and anything else unusual come here."""

from __future__ import annotations

from pathlib import Path
from typing import List, Optional

import typer

from .match_run import Reader, _with_progress, run_match  # noqa: F401 - Reader, _with_progress: tests use them here


def match_cmd(
    rule: str = typer.Argument(..., help="A rule file (.eql, .toml, .ndjson, .md, .txt) or an EQL query."),
    events: List[str] = typer.Argument(..., help="NDJSON event files (.gz allowed), or - for stdin."),
    count: bool = typer.Option(False, "--count", help="Print only the number of matches."),
    sort: bool = typer.Option(False, "--sort", help="Sort events by timestamp first (buffers the input; needed for unsorted input to sequences)."),
    dialect: str = typer.Option("elasticsearch", "--dialect", help="elasticsearch, endgame or endgame-cs."),
    mapping: Optional[Path] = typer.Option(None, "--mapping", help="Elasticsearch index mapping (JSON/YAML) for field types and aliases."),
    category: str = typer.Option("event.category", "--event-category-field", help="Field holding the event category."),
    timestamp: str = typer.Option("@timestamp", "--timestamp-field", help="Field holding the event time."),
    tiebreaker: Optional[str] = typer.Option(None, "--tiebreaker-field", help="Field that orders events sharing a timestamp."),
    no_prefilter: bool = typer.Option(False, "--no-prefilter", help="Decode and validate every line (by default only lines holding one of the rule's literals are decoded; the matches are the same)."),
    scan: str = typer.Option("auto", "--scan", help="Prefilter scan: auto (Hyperscan when installed), hyperscan or stdlib."),
    jobs: str = typer.Option("auto", "--jobs", help="Processes reading the input: auto (one per CPU for a single-event rule over regular files of 64 MB or more, unless a progress bar is shown) or a number (1: one process). The matches, their order and the summary are the same."),
    no_cache: bool = typer.Option(False, "--no-cache", help="Compile the rule afresh instead of loading it from the cache (EQLC_CACHE_DIR, default ~/.cache/eqlc; EQLC_NO_CACHE=1 also turns it off)."),
) -> None:
    """Run a rule over NDJSON events and print the matches as NDJSON."""
    run_match(rule, events, count=count, sort=sort, dialect=dialect, mapping=mapping, category=category,
              timestamp=timestamp, tiebreaker=tiebreaker, no_prefilter=no_prefilter, scan=scan, jobs=jobs,
              no_cache=no_cache)


def register(app: typer.Typer) -> None:
    app.command("match")(match_cmd)
