"""Writing compiled rules to disk: ``eqlc compile -o DIR``.

One function, :func:`write_batch`, writes everything one target produced for a batch of rules:
each rule's translation as ``<stem><extension>`` plus its deployment files (``Translation.artifacts``),
then the files the target makes for the whole batch (its optional ``batch_artifacts`` hook, see
:mod:`eqlc.target`: one standalone Python module holding every rule, for example). Every
translation records the files written for it in ``Translation.files``; the batch-level files are
returned in a :class:`BatchFiles`. The CLI prints both and puts them in ``--json``.

File names are derived from the rules (:func:`output_stems`): a rule's file stem, made unique in
the batch so that two inputs with the same stem (``rule.toml`` and ``rule.eql``) never overwrite
each other, and stable (the same inputs give the same names, whatever their order).
"""

from __future__ import annotations

import dataclasses
import hashlib
import re
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path, PurePath
from typing import Callable, Optional, Sequence, Union

from .atomic import output_dir, write_atomic
from .errors import UsageError
from .result import Translation
from .rule import Rule
from .target import BATCH_ARTIFACTS, TargetSpec, get_target

EXTENSIONS = {"sigma": ".yml", "kql": ".kql", "spl": ".spl", "osquery": ".sql", "python": ".py"}

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def _slug(text: str) -> str:
    return _UNSAFE.sub("_", text).strip("_.") or "rule"


def _disambiguators(rule: Rule, root: Optional[PurePath]) -> list[str]:
    """Ever more specific suffixes for a rule whose stem is shared: the source format, then its
    folder path below the batch's common root, then a digest of what identifies it."""
    out: list[str] = []
    if rule.path:
        p = PurePath(rule.path)
        if p.suffix:
            out.append(p.suffix.lstrip(".").lower())
        parent = p.parent
        if root is not None:
            try:
                parent = parent.relative_to(root)
            except ValueError:
                pass
        if parent.parts:
            out.append("_".join(parent.parts) + "_" + (out[0] if out else ""))
    digest = hashlib.sha1("\0".join([rule.path or "", rule.rule_id or "", rule.name, rule.query_text]).encode()).hexdigest()[:8]
    out.append(digest)
    return out


def output_stems(rules: Sequence[Rule]) -> list[str]:
    """A distinct, stable file stem per rule (case-insensitively distinct, for file systems that fold
    case): :attr:`Rule.file_stem` where it is unique in the batch; where several rules share it,
    each gets the first suffix that tells it apart (``rule_toml``/``rule_eql``, then the folder,
    then a digest, then its position among identical rules)."""
    stems = [_slug(r.file_stem) for r in rules]
    paths = [PurePath(r.path).parent for r in rules if r.path]
    root: Optional[PurePath] = None
    if paths:
        common = paths[0]
        for p in paths[1:]:
            while common.parts and p.parts[: len(common.parts)] != common.parts:
                common = common.parent
                if common == common.parent:
                    break
        root = common
    groups: dict[str, list[int]] = defaultdict(list)
    for i, s in enumerate(stems):
        groups[s.lower()].append(i)
    out = list(stems)
    for members in groups.values():
        if len(members) < 2:
            continue
        options = {i: _disambiguators(rules[i], root) for i in members}
        depth = max(len(o) for o in options.values())
        for level in range(depth):
            names = {i: f"{stems[i]}_{options[i][min(level, len(options[i]) - 1)]}" for i in members}
            if len({n.lower() for n in names.values()}) == len(members):
                out = [names.get(i, out[i]) for i in range(len(out))]
                break
        else:  # identical rules (same file, name, id and query): their order in the file tells them apart
            for n, i in enumerate(members, 1):
                out[i] = f"{stems[i]}_{n}"
    # a disambiguated name may equal another rule's plain stem (rare): number the later one
    seen: set[str] = set()
    for i, s in enumerate(out):
        name, n = s, 1
        while name.lower() in seen:
            n += 1
            name = f"{s}_{n}"
        seen.add(name.lower())
        out[i] = name
    return out


def with_output_stems(rules: Sequence[Rule]) -> list[Rule]:
    """Copies of ``rules`` whose :attr:`Rule.file_stem` is their batch-unique :func:`output_stems`."""
    return [dataclasses.replace(r, output_stem=s) for r, s in zip(rules, output_stems(rules))]


@dataclass
class BatchFiles:
    """The files a target wrote for a whole batch (beside every rule's own files)."""

    target: str
    profile: Optional[str]
    directory: str
    files: list[str] = field(default_factory=list)

    def as_dict(self) -> dict:
        return {"target": self.target, "profile": self.profile, "directory": self.directory, "files": list(self.files)}


def _write(path: Path, content: Union[str, bytes]) -> None:
    """Write ``content`` atomically (:func:`eqlc.atomic.write_atomic`); raises
    :class:`~eqlc.atomic.OutputError`."""
    output_dir(path.parent)
    write_atomic(path, content)


def write_batch(spec: TargetSpec, items: Sequence[tuple[Rule, Translation]], directory: Path,
                on_rule: Optional[Callable[[Rule, Translation], None]] = None) -> BatchFiles:
    """Write one target's translations of a batch into ``directory``: per rule ``<stem><ext>`` (its
    ``output``, or the name :attr:`Translation.output_file` gives) and its ``artifacts``, recorded in ``translation.files``; then the target's
    ``batch_artifacts(translations, rules, profile, mapping)`` (if it has that hook), returned as
    :class:`BatchFiles`. ``items``' rules must carry their :func:`output_stems` (see
    :func:`with_output_stems`). A batch-level file that would overwrite a rule's file is a
    :class:`UsageError`; a file that cannot be written an :class:`~eqlc.atomic.OutputError`. Every
    file is written atomically."""
    extension = EXTENSIONS.get(spec.name, ".txt")
    owner: dict[str, tuple[int, str]] = {}

    def claim(path: Path, who: tuple[int, str]) -> None:
        key = str(path).lower()
        if key in owner and owner[key][0] != who[0]:
            raise UsageError(f"{path} would be written for both {owner[key][1]} and {who[1]}")
        owner[key] = who

    for i, (rule, t) in enumerate(items):
        who = (i, f"{rule.path or 'the inline query'} ({rule.name})" if rule.name else (rule.path or "the inline query"))
        t.files = []
        name = t.output_file if t.output_file is not None else f"{rule.file_stem}{extension}"
        if t.output is not None and name:  # "": the artifacts hold the output (a Sigma collection's files)
            p = directory / name
            claim(p, who)
            _write(p, t.output + ("" if t.output.endswith("\n") else "\n"))
            t.files.append(str(p))
        for name, content in t.artifacts.items():
            p = directory / name
            claim(p, who)
            _write(p, content)
            t.files.append(str(p))
        if on_rule is not None:
            on_rule(rule, t)
    batch = BatchFiles(spec.name, items[0][1].profile if items else spec.profile, str(directory))
    hook = getattr(get_target(spec.name), BATCH_ARTIFACTS, None)
    if hook is not None and items:
        pairs = list(items)
        for name, content in hook([t for _r, t in pairs], [r for r, _t in pairs], spec.profile, spec.mapping).items():
            p = directory / name
            claim(p, (-1, f"the {spec.label} batch"))
            _write(p, content)
            batch.files.append(str(p))
    return batch
