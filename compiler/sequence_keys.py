"""Elasticsearch's PropagateJoinKeyConstraints for the targets (the reference matcher applies the
rule itself, :func:`eqlc.matcher.optimize.propagate_key_constraints`).

Elasticsearch's EQL optimizer copies a conjunct (with no ``or``) of one sequence step that reads a
join key to every other step, with that step's key at the same position in its place
(x-pack/plugin/eql Optimizer.java, PropagateJoinKeyConstraints). A copied conjunct that reads only
the key is implied in the other step by the join itself (the key values are equal); one that also
reads another field changes what the other step selects, and a target that translates the steps as
written selects more than Elasticsearch (``credential_access_dollar_account_relay_ntlm`` can never
match in Elasticsearch for that reason). Targets translate :func:`with_copied_key_constraints`'s
sequence, or refuse where it differs (:func:`copies_other_fields`).
"""

from __future__ import annotations

import dataclasses

from eqlc import ir
from eqlc.checks import fields_in


def with_copied_key_constraints(seq: ir.Sequence) -> ir.Sequence:
    """``seq`` with the conditions Elasticsearch's PropagateJoinKeyConstraints adds (the reference
    matcher applies the same rule, eqlc.matcher.optimize.propagate_key_constraints): a conjunct
    (with no ``or``) of one step that reads a join key is copied to every other step, that step's
    key at the same position in its place. Only the conjuncts that also read another field are
    copied here: they change what the other step selects (``startsWith~(winlog.computer_name,
    substring(user.name, 0, -1))`` copied reads that step's own user.name), whereas one on the key
    alone is implied there by the join (the key values are equal)."""
    from eqlc.matcher.optimize import propagate_key_constraints, split_and

    terms = seq.terms
    keys = [tuple(seq.keys(t)) for t in terms]
    conds = [t.query.condition for t in terms]
    added = propagate_key_constraints(conds, keys)
    out = []
    changed = False
    for t, cond, new, ks in zip(terms, conds, added, keys):
        own = split_and(cond)
        extra = [c for c in split_and(new)[len(own):] if _reads_beyond(c, ks)]
        if extra:
            changed = True
            t = dataclasses.replace(t, query=dataclasses.replace(t.query, condition=ir.And(tuple(own + extra))))
        out.append(t)
    return dataclasses.replace(seq, terms=tuple(out)) if changed else seq


def _reads_beyond(node: ir.Expr, keys: tuple) -> bool:
    """Whether ``node`` reads a field that is not one of ``keys``."""
    key_paths = {k.path for k in keys if isinstance(k, ir.Field)}
    return any(f.path not in key_paths for f in fields_in(node))


def copies_other_fields(seq: ir.Sequence) -> bool:
    """Whether Elasticsearch adds to some step a conjunct that reads a field other than its keys."""
    return with_copied_key_constraints(seq) is not seq


__all__ = ["with_copied_key_constraints", "copies_other_fields"]
