"""Assemble a standalone module: compiler/events.py + compiler/matcher/runtime.py + the code the
matcher generates for the rule + a small API (``match``, ``run``, ``Match``) and a command line.

Nothing is re-implemented here: the runtime and the event-field reader are embedded from their
source files (the runtime's one eqlc import is replaced by the embedded reader), so the
standalone module and ``eqlc.matcher`` cannot drift apart. Regular expressions use ``re2``
when it is importable and otherwise the runtime's linear-time lazy DFA (never Python's
backtracking ``re``); a regex on a computed value (Elasticsearch evaluates those as Java regexes
in Painless) has no DFA form, so such rules are refused.
"""

from __future__ import annotations

import ast
import functools
import inspect
import pprint
import textwrap
from dataclasses import dataclass
from importlib.resources import files
from typing import Optional, Sequence

import eqlc.events as _events
from eqlc.matcher import runtime as _runtime
from eqlc.matcher import scan as _scan
from eqlc.matcher.build import Generated

_IMPORT_LINE = "from eqlc.events import values as _es_values  # @standalone-inline compiler/events.py"

# The module's API and command line are real files beside this one (so that they are read, linted
# and reviewed as code), embedded verbatim: standalone_api.py (one rule), standalone_multi.py (many
# rules, one runtime) and standalone_cli.py (the command line of both).
_PARTS = ("standalone_api.py", "standalone_multi.py", "standalone_cli.py")

# The Python versions a module runs on: what tests/test_standalone_module.py runs it with (the
# oldest claimed version is Debian 12's python3.11, which scripts/test.sh installs when missing).
PYTHON_VERSIONS = "Python 3.11 or later"


@functools.lru_cache(maxsize=None)
def part(name: str) -> str:
    """The text of one embedded part (``standalone_cli.py`` ...), read from the installed package."""
    if name not in _PARTS:
        raise KeyError(name)
    return files(__package__).joinpath(name).read_text(encoding="utf-8")


def _strip_future(text: str) -> str:
    return "\n".join(line for line in text.splitlines() if line.strip() != "from __future__ import annotations")


@functools.lru_cache(maxsize=1)
def runtime_text() -> str:
    """compiler/events.py, compiler/matcher/runtime.py and compiler/matcher/scan.py (the NDJSON
    reader with the literal prefilter), ready to be embedded."""
    events_src = _strip_future(inspect.getsource(_events))
    runtime_src = _strip_future(inspect.getsource(_runtime))
    scan_src = _strip_future(inspect.getsource(_scan))
    if _IMPORT_LINE not in runtime_src:
        raise RuntimeError("compiler/matcher/runtime.py no longer has its standalone import marker")
    runtime_src = runtime_src.replace(_IMPORT_LINE, "_es_values = values  # embedded compiler/events.py above")
    return (
        "# ==== compiler/events.py (embedded) " + "=" * 58 + "\n" + events_src + "\n\n"
        "# ==== compiler/matcher/runtime.py (embedded) " + "=" * 48 + "\n" + runtime_src + "\n\n"
        "# ==== compiler/matcher/scan.py (embedded) " + "=" * 51 + "\n" + scan_src + "\n"
    )


def module_text(generated: Generated, rule_meta: dict, header: str, needles: Optional[list] = None) -> str:
    """The standalone module of one rule: header, runtime, the rule's generated code, API, CLI.
    ``needles``: the rule's prefilter literals as ``(bytes, case_insensitive)`` pairs
    (eqlc.matcher.needles), or None when every line must be decoded."""
    filter_source = generated.filter_source() if generated.filter_source is not None else ""
    return (
        docstring_literal(header) + "\n\nfrom __future__ import annotations\n\n"
        + runtime_text()
        + "\n# ==== generated for this rule " + "=" * 63 + "\n"
        + generated.source
        + "\n" + filter_source
        + f"\nRULE = {pprint.pformat(rule_meta, sort_dicts=True)}\n"
        + f"NEEDLES = {pprint.pformat(sorted(needles) if needles is not None else None)}\n\n\n"
        + part("standalone_api.py") + "\n\n" + part("standalone_cli.py")
    )


@dataclass(frozen=True)
class ModuleRule:
    """One rule of a multi-rule module: its generated code and its metadata (``RULES`` entry)."""

    generated: Generated
    meta: dict


def multi_module_text(rules: Sequence[ModuleRule], header: str) -> str:
    """One standalone module holding several rules on one shared runtime.

    Each rule's generated code (the same text its own module and ``eqlc.matcher`` run) is the body
    of a function ``_rule_N`` returning its SPEC, so that the rules' generated names never clash;
    ``RULES`` lists every rule with its SPEC, and ``run()`` (standalone_multi.py) streams matches
    tagged by rule."""
    chunks = []
    entries = []
    for i, r in enumerate(rules):
        filter_source = r.generated.filter_source() if r.generated.filter_source is not None else ""
        body = textwrap.indent(r.generated.source + "\n" + filter_source + "\nreturn SPEC\n", "    ")
        title = str(r.meta.get("name") or r.meta.get("rule_id") or i)
        chunks.append(f"# ---- rule {i}: {title[:80]}\ndef _rule_{i}():\n{body}\n")
        meta = dict(r.meta, index=i)
        entries.append(f"    dict({_kwargs(meta)}, spec=_rule_{i}()),")
    return (
        docstring_literal(header) + "\n\nfrom __future__ import annotations\n\n"
        + runtime_text()
        + "\n# ==== generated for these rules " + "=" * 61 + "\n"
        + "\n".join(chunks)
        + "\nRULES = [\n" + "\n".join(entries) + "\n]\n\n\n"
        + part("standalone_multi.py") + "\n\n" + part("standalone_cli.py")
    )


def _kwargs(meta: dict) -> str:
    return ", ".join(f"{k}={v!r}" for k, v in sorted(meta.items()))


def docstring_literal(text: str) -> str:
    """A Python string literal whose value is exactly ``text``, for the module docstring.

    The header quotes the rule's query, which may hold backslashes (``"*\\u{202E}*"``, Windows
    paths), quotes or control characters; hand-escaping them into a ``\"\"\"...\"\"\"`` literal
    broke the module (``\\u{`` is a truncated unicode escape). A raw triple-quoted literal keeps
    the docstring readable when it round-trips; otherwise ``repr`` is exact by construction.
    Either way the result is checked with ``ast.literal_eval``."""
    if not all(c.isprintable() or c == "\n" for c in text):
        return repr(text)  # control/format characters (\r, U+202E) stay visible and survive newline translation
    for quote in ('"""', "'''"):
        candidate = "r" + quote + text + quote
        try:
            if ast.literal_eval(candidate) == text:
                return candidate
        except (SyntaxError, ValueError):
            pass
    return repr(text)


def header_for(rule_name: str, rule_id: Optional[str], query_text: str, notes: list) -> str:
    lines = [
        f"Standalone matcher for the EQL rule {rule_name!r}" + (f" ({rule_id})" if rule_id else "") + ".",
        "",
        "Generated by eqlc (--target python). Standard library only: Elasticsearch EQL semantics",
        "(case rules, missing fields and `not`, multi-valued fields, wildcards, Lucene regexes,",
        "sequences, samples) as the eqlc matcher implements them. Uses re2 if importable, else a",
        "linear-time automaton for regexes. Runs on " + PYTHON_VERSIONS + ".",
        "",
        "    import rule_module",
        "    rule_module.match(event)            # single-event rules",
        "    for m in rule_module.run(events):   # any rule: m.events, m.keys",
        "",
        "    python rule_module.py events.ndjson [--count] [--sort] [--no-prefilter]",
        "",
        "The command line prints matches as NDJSON and exits 0, or 2 with a one-line error for a file",
        "that does not exist or input a sequence needs sorted (as `eqlc match` does).",
        "",
        "Query:",
        "",
    ]
    lines += ["    " + x for x in query_text.strip().splitlines()]
    for n in notes:
        lines += ["", "Note: " + n]
    return "\n".join(lines) + "\n"


def multi_header_for(rules: Sequence[ModuleRule], skipped: Sequence[tuple[str, str]] = ()) -> str:
    """The docstring of a multi-rule module: what it holds and how to use it."""
    lines = [
        f"Standalone matcher for {len(rules)} EQL rules, sharing one runtime.",
        "",
        "Generated by eqlc (eqlc compile DIR --target python -o OUT). Standard library only:",
        "Elasticsearch EQL semantics as the eqlc matcher implements them (the same generated code",
        "as each rule's own module). Uses re2 if importable, else a linear-time automaton for",
        "regexes. Runs on " + PYTHON_VERSIONS + ".",
        "",
        "    import eqlc_rules",
        "    eqlc_rules.match_all(event)         # indices into RULES of the single-event rules it matches",
        "    for m in eqlc_rules.run(events):    # every rule, one pass: m.rule (a RULES entry), m.events, m.keys",
        "",
        "    python eqlc_rules.py events.ndjson [--count] [--sort]",
        "",
        "The command line prints one NDJSON line per match ({\"rule\", \"rule_id\", \"events\", \"keys\"})",
        "and exits 0, or 2 with a one-line error for a file that does not exist or input a sequence",
        "needs sorted (as `eqlc match` does).",
        "",
        "Rules:",
        "",
    ]
    for r in rules:
        lines.append(f"    {r.meta.get('name') or r.meta.get('query')!s}" + (f" ({r.meta['rule_id']})" if r.meta.get("rule_id") else ""))
    if skipped:
        lines += ["", "Not included (no exact standalone form; see eqlc's reasons):", ""]
        lines += [f"    {name}: {reason}" for name, reason in skipped]
    return "\n".join(lines) + "\n"
