"""One Splunk app for a batch of rules (``eqlc compile DIR -t spl -o OUT`` writes ``OUT/eqlc_<profile>/``):

* ``default/savedsearches.conf`` -- one correlation search per rule;
* ``default/macros.conf`` -- the index/source-type scope as macros the user edits once:
  ``eqlc_<profile>_index`` (the index, ``index="ecs"`` as the profile says) and, where the profile
  maps Elasticsearch index patterns to source types, one ``eqlc_<profile>_src_<pattern>`` macro
  per pattern built on it (security_content's own searches start with such data-source macros);
* ``default/app.conf``, ``metadata/default.meta``, ``README.txt``.

Every key is one ``savedsearches.conf.spec`` defines (Splunk Enterprise 9.x) or an Enterprise
Security alert action parameter (``action.<action>.<param>``, which the spec allows for the actions
``alert_actions.conf`` defines; ES defines notable, risk and correlationsearch: the keys and their
JSON follow splunk/contentctl's savedsearches_detections.j2). tests/test_deploy_splunk.py checks
them, and runs Splunk AppInspect on the app.

Scheduling, a lagged window (security_content's pattern, ``-70m@m`` to ``-10m@m`` every hour):
the search runs every ``period`` minutes (cron) over ``[-(period+lag)m@m, -lag m@m)``. Snapped to
whole minutes, consecutive windows tile time; ``realtime_schedule = 0`` (continuous scheduling)
makes the scheduler never skip a period, and a delayed run still covers "the time range it would
have covered if it started on time" (Splunk Reporting Manual, "Prioritize concurrently scheduled
reports"). ``lag`` is the rule's extra look-back (Elastic's allowance for late events, at least
1m): an event is missed only if it is indexed more than ``lag`` after its ``_time``.

Values are one line: line breaks (including NEL and U+2028) in names and descriptions become
spaces, a trailing backslash (a continuation in .conf files) is dropped, ``[``/``]`` leave stanza
names; a search whose own lines would end in a backslash is refused from the app with the reason.
"""

from __future__ import annotations

import json
import re
import zlib
from dataclasses import dataclass
from typing import Optional, Sequence

from eqlc.oneline import one_line as _no_breaks
from eqlc.result import Refused, Translation
from eqlc.rule import Rule

from .profile import Profile

SEVERITY_LEVEL = {"low": 3, "medium": 4, "high": 5, "critical": 6}
NOTABLE_SEVERITY = {"low": "low", "medium": "medium", "high": "high", "critical": "critical"}
SECURITY_DOMAIN = {"process": "endpoint", "file": "endpoint", "registry": "endpoint", "library": "endpoint",
                   "driver": "endpoint", "network": "network", "dns": "network", "authentication": "access",
                   "iam": "access", "configuration": "audit"}
APP_VERSION = "1.0.0"
_LINE_BREAKS = re.compile(r"[\r\n\v\f\x1c-\x1e\x85\u2028\u2029]")


def one_line(text: str) -> str:
    """A .conf value on one line: every control character and whitespace run (line separators
    included, see :mod:`eqlc.oneline`) one space, and
    no trailing backslash (which would continue the value on the next line)."""
    return " ".join(_no_breaks(text).split()).rstrip("\\").rstrip()


def stanza_name(text: str) -> str:
    return one_line(re.sub(r"[\[\]]", " ", text))


# ---- schedule -----------------------------------------------------------------------------------
def cron_for(interval_ms: Optional[int]) -> tuple[str, Optional[str]]:
    """Cron expression for an interval, and a comment when cron can only approximate it."""
    cron, _period, note = schedule_for(interval_ms)
    return cron, note


def schedule_for(interval_ms: Optional[int]) -> tuple[str, int, Optional[str]]:
    """(cron, period in minutes, note): cron fires at equal intervals only for periods dividing the
    hour or the day, so another interval runs on the largest such period not longer than it."""
    if interval_ms is None:
        return "*/5 * * * *", 5, "the rule has no interval; Elastic's default of 5m is used"
    minutes, rest = divmod(interval_ms, 60_000)
    if rest or minutes == 0:
        return "* * * * *", 1, f"an interval of {interval_ms} ms is finer than cron's one minute; the search runs every minute"
    if minutes < 60:
        period = max(d for d in range(1, 61) if 60 % d == 0 and d <= minutes)
        cron = "* * * * *" if period == 1 else f"*/{period} * * * *"
    elif minutes < 1440:
        hours = max(d for d in range(1, 25) if 24 % d == 0 and d * 60 <= minutes)
        period = hours * 60
        cron = "0 * * * *" if hours == 1 else f"0 */{hours} * * *"
    else:
        period, cron = 1440, "0 0 * * *"
    note = None if period == minutes else (
        f"an interval of {minutes} minutes does not divide the hour/day; the search runs every {period} minutes over "
        f"{period}-minute windows")
    return cron, period, note


def earliest_for(from_: Optional[str]) -> tuple[str, Optional[str]]:
    """Elastic's look-back as a Splunk relative time (kept for callers; the app uses :func:`window_for`)."""
    if not from_:
        return "-6m", "the rule has no look-back; Elastic's default of now-6m is used"
    m = re.match(r"^now-(\d+)([smhdwMy])$", from_)
    if not m:
        return "-6m", f"look-back {from_!r} is not of the form now-<n><unit>; -6m is used"
    return f"-{m.group(1)}{ {'M': 'mon'}.get(m.group(2), m.group(2)) }", None


@dataclass(frozen=True)
class LaggedWindow:
    cron: str
    period_min: int
    lag_min: int
    notes: tuple[str, ...]

    @property
    def earliest(self) -> str:
        return f"-{self.period_min + self.lag_min}m@m"

    @property
    def latest(self) -> str:
        return f"-{self.lag_min}m@m"


def window_for(rule: Rule) -> LaggedWindow:
    cron, period, note = schedule_for(rule.interval_ms if rule.interval else None)
    interval = rule.interval_ms or 300_000
    lookback = rule.lookback_ms
    extra = (lookback - interval) if lookback is not None else 60_000
    lag = max(1, -(-extra // 60_000)) if extra > 0 else 1
    notes = [n for n in (note,) if n]
    if extra < 60_000:
        notes.append(f"the rule's look-back ({rule.from_ or 'unset'}) leaves under a minute for late events; a 1m lag is used")
    notes.append(f"lagged window: every {period}m over [-{period + lag}m@m, -{lag}m@m): each event is searched once, if "
                 f"it is indexed at most {lag}m after its _time")
    return LaggedWindow(cron, period, lag, tuple(notes))


# ---- scope macros -------------------------------------------------------------------------------
def macro_prefix(profile: Profile) -> str:
    return "eqlc_" + re.sub(r"[^A-Za-z0-9_]", "_", profile.name)


def _slug(pattern: str) -> str:
    return re.sub(r"_+", "_", re.sub(r"[^A-Za-z0-9]", "_", pattern.replace("*", "_star_"))).strip("_") or "all"


def scope_macros(profile: Profile, rule: Rule, known: Optional[dict[str, str]] = None) -> tuple[str, str, dict[str, str]]:
    """(the scope the search starts with, its macro form, {macro name: definition}); ``known``
    holds the app's macros so far: a name already defined otherwise (two patterns with one slug,
    ``a-*`` and ``a*``) takes the pattern's CRC-32 as a suffix."""
    known = known if known is not None else {}
    full = profile.scope_terms(rule.index)
    index_terms = profile.scope_terms(())
    index_macro = f"{macro_prefix(profile)}_index"
    macros = {index_macro: index_terms}
    if full == index_terms:
        return full, f"`{index_macro}`", macros
    names = []
    for pattern in dict.fromkeys(rule.index):
        terms = profile.scope_terms((pattern,))
        if terms.startswith(index_terms + " "):
            terms = f"`{index_macro}`" + terms[len(index_terms):]
        name = f"{macro_prefix(profile)}_src_{_slug(pattern)}"
        if {**known, **macros}.get(name, terms) != terms:
            name += "_" + format(zlib.crc32(pattern.encode("utf-8")), "08x")
        macros[name] = terms
        names.append(name)
    form = f"`{names[0]}`" if len(names) == 1 else "(" + ") OR (".join(f"`{n}`" for n in names) + ")"
    return full, form, macros


def with_macros(search: str, full: str, form: str) -> str:
    """``search`` with its scope (the first line that starts with it) written as macros."""
    lines = search.split("\n")
    for i, line in enumerate(lines):
        if line == full or line.startswith(full + " "):
            lines[i] = form + line[len(full):]
            return "\n".join(lines)
    raise Refused(f"the search does not start with the profile's scope {full!r}: no macro form")


def expand_macros(search: str, macros: dict[str, str]) -> str:
    """The search as Splunk expands the app's macros (for tests and checks)."""
    for _ in range(5):
        new = re.sub(r"`([A-Za-z0-9_-]+)`", lambda m: macros.get(m.group(1), m.group(0)), search)
        if new == search:
            return new
        search = new
    return search


# ---- one stanza ---------------------------------------------------------------------------------
def _category(rule: Rule) -> Optional[str]:
    from eqlc import ir

    body = rule.query.body
    q = body.terms[0].query if isinstance(body, ir.Sequence) else body
    return getattr(q, "category", None)


def _dataset_field(profile: Profile, ecs: str, category: Optional[str]) -> Optional[str]:
    """The Splunk field of the first dataset of ``category`` that reads ``ecs`` as a plain field
    (named as the search's results name it: ``Processes.dest`` after ``| datamodel``), else None."""
    for ds in profile.datasets_for(category):
        fm = ds.lookup(ecs)
        if fm is not None and fm.plain and fm.field:
            return ds.prefixed(fm.field) if profile.is_datamodel else fm.field
    return None


def risk_objects(rule: Rule, profile: Profile) -> list[dict]:
    """ES risk objects: the host and the user fields of the profile, scored with the rule's risk score."""
    score = rule.risk_score if rule.risk_score is not None else 50
    out = []
    for ecs, kind in (("host.name", "system"), ("user.name", "user")):
        try:
            field = profile.splunk_field(ecs) if profile.is_ecs else _dataset_field(profile, ecs, _category(rule))
        except Refused:
            continue
        if field is None:
            continue
        out.append({"risk_object_field": field, "risk_object_type": kind, "risk_score": score})
    return out


def stanza(rule: Rule, t: Translation, profile: Profile, name: str, comments: Sequence[str] = (),
           enabled: bool = False, known: Optional[dict[str, str]] = None) -> tuple[str, dict[str, str]]:
    """The stanza text and the macros its search uses (``known``: the app's macros so far)."""
    search = t.output or ""
    if profile.is_datamodel:
        # `| datamodel` and tstats read the data model, whose indexes the CIM app's own macros
        # (cim_<DataModel>_indexes) scope: the search has no index terms to write as a macro
        macros: dict[str, str] = {}
    else:
        full, form, macros = scope_macros(profile, rule, known)
        search = with_macros(search, full, form)
    lines_of_search = search.split("\n")
    if any(line.endswith("\\") for line in lines_of_search) or any(_LINE_BREAKS.search(line) for line in lines_of_search):
        raise Refused("the search has a line ending in a backslash or a line separator inside a line, which a "
                      "savedsearches.conf value cannot hold")
    window = window_for(rule)
    sev = (rule.severity or "medium").lower()
    title = one_line(rule.name or rule.stable_id)
    description = one_line(rule.description or rule.name or rule.stable_id)
    annotations: dict = {}
    if rule.technique_ids():
        annotations["mitre_attack"] = rule.technique_ids()
    if rule.tactic_names():
        annotations["kill_chain_phases"] = [x.lower().replace(" ", "_") for x in rule.tactic_names()]
    head = [f"# Generated by eqlc from rule_id {one_line(rule.stable_id)}; SPL profile {profile.name}: {t.status.value}."]
    head += [f"# assumption: {one_line(n)}" for n in t.notes]
    head += [f"# schedule: {one_line(n)}" for n in window.notes]
    head += [f"# {one_line(c)}" for c in comments]
    keys = [
        ("search", "\\\n".join(lines_of_search)),
        ("description", description),
        ("disabled", "0" if enabled else "1"),
        ("enableSched", "1"),
        ("cron_schedule", window.cron),
        ("realtime_schedule", "0"),
        ("dispatch.earliest_time", window.earliest),
        ("dispatch.latest_time", window.latest),
        ("counttype", "number of events"),
        ("relation", "greater than"),
        ("quantity", "0"),
        ("alert.track", "1"),
        ("alert.digest_mode", "0"),
        ("alert.severity", str(SEVERITY_LEVEL.get(sev, 4))),
        ("action.correlationsearch.enabled", "1"),
        ("action.correlationsearch.label", title),
        ("action.correlationsearch.annotations", json.dumps(annotations, separators=(",", ":"))),
        ("action.notable", "1"),
        ("action.notable.param.rule_title", title),
        ("action.notable.param.rule_description", description),
        ("action.notable.param.security_domain", SECURITY_DOMAIN.get(_category(rule) or "", "threat")),
        ("action.notable.param.severity", NOTABLE_SEVERITY.get(sev, "medium")),
        ("action.risk", "1"),
        ("action.risk.param._risk", json.dumps(risk_objects(rule, profile), separators=(",", ":"))),
        ("action.risk.param._risk_message", title),
        ("action.risk.param._risk_score", "0"),
        ("action.risk.param.verbose", "0"),
    ]
    body = "\n".join(f"{k} = {v}" for k, v in keys)
    return "\n".join(head) + f"\n[{name}]\n{body}\n", macros


# ---- the app ------------------------------------------------------------------------------------
def app_name(profile: Profile) -> str:
    return macro_prefix(profile)


def app_files(pairs: Sequence[tuple[Rule, Translation]], profile: Profile,
              comments: Optional[dict[int, Sequence[str]]] = None) -> dict[str, str]:
    """Relative path -> text of the app (empty when no rule translated)."""
    enabled = bool((profile.data.get("deploy") or {}).get("enabled", False))
    stanzas: list[str] = []
    left_out: list[str] = []
    macros: dict[str, str] = {}
    names: set[str] = set()
    for i, (rule, t) in enumerate(pairs):
        if t.output is None:
            continue
        name = stanza_name(rule.name or rule.stable_id) or stanza_name(rule.stable_id)
        if name in names:
            name = f"{name} ({stanza_name(rule.stable_id)[:36]})"
        try:
            text, used = stanza(rule, t, profile, name, (comments or {}).get(i, ()), enabled, macros)
        except Refused as r:
            left_out.append(f"# not in this app: {one_line(rule.name or rule.stable_id)}: {one_line(r.reason)}")
            continue
        names.add(name)
        stanzas.append(text)
        assert all(macros.get(k, v) == v for k, v in used.items())
        macros.update(used)
    if not stanzas:
        return {}
    app = app_name(profile)
    index_macro = f"{macro_prefix(profile)}_index"
    macro_text = [f"# Search scope of every eqlc search in this app (SPL profile {profile.name}).",
                  f"# Edit `{index_macro}` once: the index (or indexes) holding the events, e.g. definition = index=edr.",
                  "# The other macros narrow it to the source type the profile maps each Elasticsearch index pattern to;",
                  "# edit them only where your source types differ."]
    if profile.is_datamodel:
        macro_text = [f"# eqlc's searches in this app (SPL profile {profile.name}) read CIM data models (| datamodel, | tstats):",
                      "# the indexes they read are those the Splunk Common Information Model app's own macros give",
                      "# (cim_<DataModel>_indexes, set in the CIM Setup page), so this app defines no scope macro."]
    for name in sorted(macros, key=lambda n: (n != index_macro, n)):
        macro_text += ["", f"[{name}]", f"definition = {macros[name]}",
                       "description = " + ("The index of the events eqlc's searches read." if name == index_macro else
                                           "One Elasticsearch index pattern's events (eqlc).")]
    ss = [f"# Correlation searches generated by eqlc (SPL profile {profile.name}); created "
          f"{'enabled' if enabled else 'disabled: enable them in Splunk, or compile with a --mapping that sets deploy: {enabled: true}'}.",
          *left_out, ""]
    return {
        f"{app}/default/app.conf": "\n".join([
            "[install]", "is_configured = false", "",
            "[ui]", "is_visible = false", f"label = eqlc detections ({profile.name})", "",
            "[launcher]", "author = eqlc", f"description = Correlation searches compiled by eqlc from Elastic EQL rules (SPL profile {profile.name}).",
            f"version = {APP_VERSION}", "",
            "[package]", f"id = {app}", "check_for_updates = false", "",
            "[id]", f"name = {app}", f"version = {APP_VERSION}", ""]),
        f"{app}/default/savedsearches.conf": "\n".join(ss) + "\n".join(stanzas),
        f"{app}/default/macros.conf": "\n".join(macro_text) + "\n",
        f"{app}/metadata/default.meta": "[]\naccess = read : [ * ], write : [ admin, sc_admin ]\nexport = system\n",
        f"{app}/README.txt": (f"eqlc detections, SPL profile {profile.name}.\n\n"
                              + ("The searches read CIM data models: set the indexes each data model reads in the CIM app's "
                                 "setup (cim_<DataModel>_indexes macros)" if profile.is_datamodel else
                                 f"Edit the macro {index_macro} (Settings > Advanced search > Search macros) to the index "
                                 "of your events")
                              + "; the searches are created disabled unless compiled with deploy: {enabled: true}.\n"),
    }


__all__ = ["app_files", "cron_for", "earliest_for", "expand_macros", "schedule_for", "scope_macros", "stanza", "window_for"]
