"""Sequences (placeholder until the streamstats translation lands)."""
from compiler.result import Refused


def sequence_query(rule, seq, profile, notes):
    raise Refused("sequences are not translated yet")
