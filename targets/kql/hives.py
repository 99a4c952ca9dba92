"""Registry hive spellings: a rule's literal hive prefixes rewritten to the table's spelling.

ECS ``registry.path`` starts with the hive, and Elastic's sources spell it several ways, which is
why Elastic's rules list the same key under several spellings
(``windows/persistence_evasion_registry_startup_shell_folder_modified.toml`` lists all of them):

* ``HKLM\\...``, ``HKU\\...`` -- Elastic Defend and Winlogbeat's Sysmon module (which copies
  Sysmon's ``TargetObject``; beats ``x-pack/winlogbeat/module/sysmon/config/winlogbeat-sysmon.js``,
  ``setRegistryFields``); Elastic Defend spells user hives in full, ``HKEY_USERS\\S-1-5-...``;
* ``\\REGISTRY\\MACHINE\\...``, ``\\REGISTRY\\USER\\...`` -- the Windows kernel's object names of
  the same hives (``\\Registry\\Machine``), as kernel-level sensors (Endgame, CrowdStrike) record them;
* ``MACHINE\\...``, ``USER\\...`` -- SentinelOne Deep Visibility (``registry.keyPath``
  ``MACHINE\\SYSTEM\\ControlSet001\\...`` in elastic/integrations
  ``packages/sentinel_one_cloud_funnel/data_stream/event/_dev/test/pipeline/test-registry.log``).

Defender's and ASIM's ``RegistryKey`` spell the hive in full (``HKEY_LOCAL_MACHINE\\...``;
ASIM's Registry Event schema: root keys "normalized to standard root key naming conventions").
A pattern that names a hive in another spelling would never match a row, so the emitter rewrites
every literal hive prefix to the full name (:func:`respell_leaf`): the query then selects a key
whichever spelling the rule used for it. Where a pattern's hive part cannot be rewritten soundly
(a wildcard inside the hive's name that the full name cannot complete, ``HKL*\\...``; a hive named
after a wildcard, ``*\\REGISTRY\\MACHINE\\...``), the translation is refused with the reason.

The spellings are the profile's data (``registry_hives.names`` in defender.yaml and
sentinel-asim.yaml: spelling -> full name); matching is ASCII case-insensitive, as Windows names
hives. The fixture adapter renders an ECS event's path with the same table
(:meth:`HiveNames.respell_path`), so emitter and adapter share one list.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Optional, Union

from eqlc import ir
from eqlc.result import Refused


@dataclass(frozen=True)
class Respelt:
    """A condition on a field read with the table's hive spelling: ``leaf`` as the rule states
    it, ``query`` as the query tests it (literal hive prefixes in the table's spelling; the same
    node where nothing was rewritten). The adapter checks, per event, that ``leaf`` on the ECS
    value and ``query`` on the value the query reads agree."""

    leaf: ir.Expr
    query: ir.Expr


class HiveNames:
    """Spelling -> full hive name, matched case-insensitively, longest spelling first."""

    def __init__(self, names: dict[str, str]) -> None:
        table = {k.upper(): v for k, v in names.items()}
        for full in set(names.values()):
            table.setdefault(full.upper(), full)
        self.full_names = {v.upper() for v in names.values()}
        self._by_length = sorted(table.items(), key=lambda kv: -len(kv[0]))

    def full(self, hive: str) -> str:
        """The full name of a hive given in any listed spelling (unknown names unchanged)."""
        return dict(self._by_length).get(hive.upper(), hive)

    def prefix(self, text: str) -> Optional[tuple[int, str]]:
        """(length, full name) of the hive spelling ``text`` starts with, when it is followed by a
        backslash or ends ``text``; None if ``text`` does not start with a hive."""
        up = text.upper()
        for spelling, full in self._by_length:
            if up.startswith(spelling) and (len(up) == len(spelling) or up[len(spelling)] == "\\"):
                return len(spelling), full
        return None

    def respell_path(self, path: str) -> Optional[str]:
        """``path`` with its hive in the full spelling, or None if it does not start with a hive."""
        hit = self.prefix(path)
        if hit is None:
            return None
        n, full = hit
        return full + path[n:]

    def completions(self, head: str) -> list[tuple[str, str]]:
        """(spelling, full name) of every spelling that starts with ``head`` (case-insensitively)."""
        up = head.upper()
        return [(s, f) for s, f in self._by_length if s.startswith(up)]

    def foreign_at_start(self, text: str) -> Optional[str]:
        """The hive spelling ``text`` starts with (followed by a backslash) when a wildcard before
        it could not match the full name's part before it: ``HKLM\\``, ``\\REGISTRY\\MACHINE\\``
        (``MACHINE\\`` is the end of ``HKEY_LOCAL_MACHINE\\``, so ``*MACHINE\\`` still matches)."""
        hit = self.prefix(text)
        if hit is None or len(text) == hit[0]:
            return None
        n, full = hit
        return None if full.upper().endswith(text[:n].upper()) else text[:n]


def _unsound(field: str, shown: str, why: str) -> Refused:
    return Refused(f"{field} {shown!r}: {why}, so it cannot be rewritten to the table's hive spelling "
                   f"(HKEY_LOCAL_MACHINE\\..., HKEY_USERS\\...) soundly")


def respell_head(hives: HiveNames, head: str, open_end: bool, field: str, shown: str) -> str:
    """``head`` (a pattern's leading literal run; ``open_end``: a wildcard follows it) with its hive
    spelling rewritten to the full name.

    * ``HKLM\\...`` / ``\\REGISTRY\\MACHINE\\...`` / a literal equal to a hive: rewritten;
    * a run a wildcard completes into a hive name (``HK*``): unchanged if every hive it can begin
      has a full name beginning with it too (``H*``, ``HK*``, ``HKEY_*``), rewritten if it is a
      whole spelling no other extends (``HKLM*``), refused otherwise (``HKL*``, ``\\REGISTRY\\MACH*``);
    * anything else names no hive (``SOFTWARE\\...``) and is left as it is: it matches no path
      in any spelling."""
    hit = hives.prefix(head)
    if hit is not None and (len(head) > hit[0] or not open_end):
        n, full = hit
        return full + head[n:]
    if open_end:
        options = hives.completions(head)
        if options:
            if all(f.upper().startswith(head.upper()) for _, f in options):
                return head
            if len(options) == 1 and options[0][0] == head.upper():
                return options[0][1]
            raise _unsound(field, shown, f"the hive's name {head!r} is completed by a wildcard")
    return head


def _check_tail(hives: HiveNames, literal: str, field: str, shown: str) -> None:
    """A literal run after a wildcard must not start with an abbreviated hive spelling: the hive
    would be named somewhere inside the path, where the table's spelling never puts it."""
    if hives.foreign_at_start(literal):
        raise _unsound(field, shown, "it names the hive after a wildcard")


def respell_pattern(hives: HiveNames, p: ir.Pattern, field: str) -> ir.Pattern:
    parts = p.parts
    for i, part in enumerate(parts):
        if isinstance(part, str) and i > 0:
            _check_tail(hives, part, field, p.text)
    if not parts or not isinstance(parts[0], str):
        return p
    head = parts[0]
    new = respell_head(hives, head, len(parts) > 1, field, p.text)
    return p if new == head else ir.Pattern(new + p.text[len(head):])


# Lucene regex: characters read literally when unescaped (everything else may be an operator).
_REGEX_PLAIN = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_ :-,;=!%'/")


def _regex_head(regex: str) -> tuple[str, int]:
    """The literal text a Lucene regex starts with, and how many regex characters spell it (a
    literal a quantifier follows is not part of it)."""
    chars: list[tuple[str, int]] = []  # (character, index where its spelling starts)
    i = 0
    while i < len(regex):
        ch = regex[i]
        if ch == "\\" and i + 1 < len(regex):
            chars.append((regex[i + 1], i))
            i += 2
        elif ch in _REGEX_PLAIN:
            chars.append((ch, i))
            i += 1
        else:
            break
    if i < len(regex) and regex[i] in "?*+{" and chars:
        i = chars.pop()[1]
    return "".join(c for c, _ in chars), i


def _regex_escape(text: str) -> str:
    return "".join(ch if ch in _REGEX_PLAIN else "\\" + ch for ch in text)


def respell_regex(hives: HiveNames, regex: str, field: str) -> str:
    """A Lucene regex whose leading literal names a hive, with the hive in the full spelling.
    A regex starting with ``.`` (``.*\\\\Software...``) absorbs any hive and is kept; one whose
    start is an operator other than that (a group, a class) is refused; so is a literal head a
    later operator could complete into a hive name."""
    head, used = _regex_head(regex)
    rest = regex[used:]
    if not head:
        if regex.startswith(".") or regex == "":
            return regex
        raise _unsound(field, regex, "the regex does not start with a literal hive name or with `.`")
    open_end = bool(rest)
    if open_end and not rest.startswith(".") and hives.prefix(head) is None and hives.completions(head):
        raise _unsound(field, regex, "the regex completes the hive's name with an operator")
    new = respell_head(hives, head, open_end and hives.prefix(head) is None, field, regex)
    return regex if new == head else _regex_escape(new) + rest


def respell_leaf(hives: HiveNames, e: ir.Expr, field: str) -> ir.Expr:
    """``e`` (a condition on a field whose values start with a hive) with every literal hive
    prefix in the table's spelling; raises :class:`Refused` where that cannot be done soundly."""
    if isinstance(e, ir.Compare) and e.op is ir.CompareOp.EQ:
        lit = e.right if isinstance(e.left, ir.Field) else e.left
        if isinstance(lit, ir.String):
            new = ir.String(respell_head(hives, lit.value, False, field, lit.value))
            return replace(e, right=new) if isinstance(e.left, ir.Field) else replace(e, left=new)
        return e
    if isinstance(e, ir.InSet):
        vals: list[Union[ir.Expr]] = []
        for v in e.values:
            vals.append(ir.String(respell_head(hives, v.value, False, field, v.value)) if isinstance(v, ir.String) else v)
        return replace(e, values=tuple(vals))  # type: ignore[arg-type]
    if isinstance(e, ir.WildcardMatch):
        return replace(e, patterns=tuple(respell_pattern(hives, p, field) for p in e.patterns))
    if isinstance(e, ir.RegexMatch):
        return replace(e, patterns=tuple(respell_regex(hives, p, field) for p in e.patterns))
    if isinstance(e, ir.FunctionCall) and len(e.args) == 2 and isinstance(e.args[1], ir.String):
        name, lit = e.name.lower(), e.args[1].value
        if name == "startswith":
            return replace(e, args=(e.args[0], ir.String(respell_head(hives, lit, True, field, lit))))
        if name in ("endswith", "stringcontains"):
            _check_tail(hives, lit, field, lit)
    return e
