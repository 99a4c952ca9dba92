"""Targets: one sub-package per output language (Sigma, KQL, SPL, osquery SQL, Python).

Each exposes ``TARGET`` implementing :class:`eqlc.target.Target`; see ``compiler/target.py``.
"""
