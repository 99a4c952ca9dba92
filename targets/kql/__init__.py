"""KQL (Kusto) target: Defender XDR advanced hunting and Sentinel ASIM queries.

``TARGET`` implements :class:`eqlc.target.Target`. The profile YAML files beside this module
map ECS fields to columns; the emitter (``emit``, ``query``) and the duckdb-kql fixture adapter
(``adapter``) both read them.
"""

from .target import TARGET, KqlTarget, KqlTranslation

__all__ = ["TARGET", "KqlTarget", "KqlTranslation"]
