"""Sigma rule metadata from the Elastic rule: id, title, tags, level, dates, references.

ATT&CK tags are built offline from the rule's own threat mapping (tactic names and technique ids,
as the Sigma tags appendix spells them: ``attack.persistence``, ``attack.t1059.004``); nothing is
fetched. References to attack.mitre.org are left out because the tags carry them (SigmaHQ's
``sigmahq_mitre_link`` validator asks for tags instead of such links).
"""

from __future__ import annotations

import datetime
import re
import uuid
from typing import Optional

from eqlc.rule import Rule

# Fixed namespace so that the same Elastic rule_id always gives the same Sigma id.
SIGMA_NAMESPACE = uuid.UUID("6f4d9a0e-1c57-5b8e-9d3a-2f61c0e8b7a4")

LEVELS = {"informational", "low", "medium", "high", "critical"}


def sigma_id(rule: Rule, suffix: str = "") -> str:
    return str(uuid.uuid5(SIGMA_NAMESPACE, rule.stable_id + suffix))


def _date(text: Optional[str]) -> Optional[datetime.date]:
    if not text:
        return None
    m = re.fullmatch(r"(\d{4})[/-](\d{2})[/-](\d{2})", text.strip())
    if not m:
        return None
    try:
        return datetime.date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
    except ValueError:
        return None


# Words SigmaHQ's title-case validator (sigmahq_title_case) lets stay lower-case.
_SMALL_WORDS = {"a", "an", "and", "as", "at", "by", "for", "from", "in", "new", "of", "on", "or", "over", "the",
                "through", "to", "via", "with", "without"}


def title_case(title: str) -> str:
    """Capitalise the lower-case words SigmaHQ's convention wants capitalised (others untouched)."""
    words = []
    for w in title.split(" "):
        if w.islower() and w not in _SMALL_WORDS and not any(c in w for c in "./_") and not w[0].isdigit():
            i = next(i for i, c in enumerate(w) if c.isalpha())  # islower() implies a letter
            w = w[:i] + w[i].upper() + w[i + 1:]
        words.append(w)
    return " ".join(words)


def tags(rule: Rule) -> list[str]:
    out: list[str] = []
    for th in rule.threat:
        if th.tactic_name:
            out.append("attack." + re.sub(r"[^a-z0-9]+", "-", th.tactic_name.lower()).strip("-"))
        for t in th.techniques:
            out.append("attack." + t.id.lower())
            out.extend("attack." + s.id.lower() for s in t.subtechniques)
    return list(dict.fromkeys(out))


def level(rule: Rule) -> Optional[str]:
    if rule.severity and rule.severity.lower() in LEVELS:
        return rule.severity.lower()
    if rule.risk_score is not None:  # Elastic's score bands: 21 low, 47 medium, 73 high, 99 critical
        return "low" if rule.risk_score < 47 else "medium" if rule.risk_score < 73 else "high" if rule.risk_score < 99 else "critical"
    return None


def header(rule: Rule, title: Optional[str] = None, suffix: str = "", description: Optional[str] = None) -> dict:
    """The metadata keys that precede ``logsource``/``correlation``."""
    doc: dict = {"title": title_case(" ".join((title or rule.name or "Untitled EQL rule").split()))}
    doc["id"] = sigma_id(rule, suffix)
    if rule.rule_id and not suffix:
        try:
            doc["related"] = [{"id": str(uuid.UUID(rule.rule_id)), "type": "derived"}]
        except ValueError:
            pass
    doc["status"] = status(rule)
    desc = description or " ".join((rule.description or "").split())
    doc["description"] = desc or f"Translated by eqlc from the EQL rule {doc['title']!r}."
    refs = [r for r in dict.fromkeys(rule.references) if "attack.mitre.org" not in r]
    if refs:
        doc["references"] = refs
    doc["author"] = ", ".join(rule.author) if rule.author else "eqlc"
    created, updated = _date(rule.created), _date(rule.updated)
    if created:
        doc["date"] = created
    if updated and created and updated > created:
        doc["modified"] = updated
    t = tags(rule)
    if t:
        doc["tags"] = t
    return doc


# Elastic's rule maturity (detection-rules `[metadata] maturity`: development, experimental,
# production, deprecated) -> Sigma status (sigma-rules-specification.md "Status": stable, test,
# experimental, deprecated, unsupported): a production rule is one Elastic ships after testing it
# in many environments, which is what Sigma's `stable` says.
MATURITY_STATUS = {"production": "stable", "development": "test", "experimental": "experimental", "deprecated": "deprecated"}


def status(rule: Rule) -> str:
    maturity = str(((rule.extra or {}).get("metadata") or {}).get("maturity") or "").lower()
    return MATURITY_STATUS.get(maturity, "experimental")


def _capitalised(text: str) -> str:
    """SigmaHQ wants each false-positive entry to start with a capital (sigmahq_falsepositives_capital)."""
    return text[:1].upper() + text[1:]


def footer(rule: Rule) -> dict:
    doc: dict = {}
    fps = [_capitalised(" ".join(f.split())) for f in rule.false_positives if f and f.strip()]
    # SigmaHQ convention: every rule lists its false positives, "Unknown" when none are known
    doc["falsepositives"] = fps or ["Unknown"]
    lv = level(rule)
    if lv:
        doc["level"] = lv
    return doc
