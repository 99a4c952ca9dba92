"""Rule loaders: plain ``.eql``, Elastic detection-rules TOML, Kibana NDJSON exports, and Elastic's
prebuilt-rule documentation pages (Markdown and plain text).

``load_rules(path)`` loads one file or every rule file under a directory and raises the first
:class:`EqlError`; ``load_batch(path)`` never stops at a bad file and returns the failures beside
the rules, which is what batch commands use.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable, Union

from ..errors import EqlError, PartialLoad
from ..limits import check_file_size
from ..rule import Rule
from .docs import load_markdown, load_text
from .eqlfile import load_eql
from .kibana import load_ndjson
from .toml_rule import load_toml

LOADERS: dict[str, Callable[[Path, str], list[Rule]]] = {
    ".eql": load_eql,
    ".toml": load_toml,
    ".ndjson": load_ndjson,
    ".md": load_markdown,
    ".txt": load_text,
}


@dataclass
class Batch:
    rules: list[Rule] = field(default_factory=list)
    errors: list[EqlError] = field(default_factory=list)
    files: int = 0


def _looks_like_rule(path: Path) -> bool:
    """In a directory scan, skip files that merely share an extension with a rule format:
    fixture NDJSON, a README.md, LICENSE.txt. A file named explicitly is always loaded."""
    suffix = path.suffix.lower()
    if suffix in (".eql", ".toml"):
        return True
    try:
        head = path.read_text(encoding="utf-8", errors="replace")[:20000]
    except OSError:
        return True
    if suffix == ".ndjson":
        first = next((line for line in head.splitlines() if line.strip()), "")
        return '"query"' in first and ('"rule_id"' in first or '"language"' in first)
    return "Rule type" in head and "eql" in head  # a documentation page of an EQL rule


def rule_files(path: Union[str, Path]) -> list[Path]:
    """The rule files at ``path``: the file itself, or every rule file below a directory."""
    p = Path(path)
    if p.is_dir():
        return sorted(f for f in p.rglob("*") if f.is_file() and f.suffix.lower() in LOADERS and _looks_like_rule(f))
    return [p]


def load_file(path: Path, dialect: str = "elasticsearch") -> list[Rule]:
    """All rules in one file; :class:`EqlError` (naming the file) on any problem."""
    loader = LOADERS.get(path.suffix.lower())
    if loader is None:
        raise EqlError(f"unknown rule file type {path.suffix!r}; expected one of {', '.join(LOADERS)}", path=str(path))
    try:
        check_file_size(path.stat().st_size, str(path))
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as err:
        raise EqlError(f"file is not UTF-8 text ({err.reason})", path=str(path)) from None
    except OSError as err:
        raise EqlError(f"cannot read file: {err.strerror}", path=str(path)) from None
    return loader(path, text) if dialect == "elasticsearch" else loader(path, text, dialect=dialect)  # type: ignore[call-arg]


def load_file_batch(path: Path, dialect: str = "elasticsearch") -> tuple[list[Rule], list[EqlError]]:
    """The rules of one file that loaded and an error for each that did not; never raises (an
    unexpected exception in a loader is reported as an error naming the file)."""
    try:
        return load_file(path, dialect), []
    except PartialLoad as part:
        return list(part.rules), list(part.errors)
    except EqlError as err:
        return [], [err]
    except RecursionError:
        return [], [EqlError("input nested too deeply to load", path=str(path))]
    except Exception as exc:  # noqa: BLE001 - a loader bug must not end the batch
        from ..result import describe_exception

        return [], [EqlError(f"internal error while loading: {describe_exception(exc)}", path=str(path))]


def iter_batch(paths: Iterable[Union[str, Path]]) -> Iterable[tuple[Path, Union[list[Rule], EqlError]]]:
    """Per file: its loaded rules (if any), then one item per error."""
    for root in paths:
        for f in rule_files(root):
            rules, errors = load_file_batch(f)
            if rules or not errors:
                yield f, rules
            for err in errors:
                yield f, err


def load_batch(*paths: Union[str, Path]) -> Batch:
    batch = Batch()
    for root in paths:
        for f in rule_files(root):
            batch.files += 1
            rules, errors = load_file_batch(f)
            batch.rules.extend(rules)
            batch.errors.extend(errors)
    return batch


def load_rules(path: Union[str, Path]) -> list[Rule]:
    """Every rule at ``path`` (a file or a directory); raises the first :class:`EqlError`."""
    files = rule_files(path)
    if not files or not files[0].exists():
        raise EqlError("no such file or directory", path=str(path))
    out: list[Rule] = []
    for f in files:
        out.extend(load_file(f))
    return out
