"""Sigma target: EQL rules as Sigma detection and correlation rules (pySigma 1.5 / sigma-cli 3.1).

How the meaning is kept (details in each module):

* ``mapping.yaml`` maps ECS fields to Sigma taxonomy fields per log source, for the emitter and
  for the fixture adapter alike; ``--mapping FILE`` is deep-merged over it.
* ``logsource.py``: the event category and top-level ``host.os.type``/``event.type``/data-source
  conditions become the Sigma ``logsource``, always as a stated assumption.
* ``detection.py``: ``|cased`` wherever EQL is case-sensitive (profile ``cased``, the default) or a
  per-comparison case assumption (profile ``portable``, for Splunk/Kusto backends, which reject
  ``cased``); EQL ``not`` is Sigma ``not`` (both match absent fields); ``!= null`` is
  ``not F: null``; patterns re-escaped for Sigma; Lucene regexes in Sigma's regex subset
  (``regex.py``); ``process.name``-like fields read from the path, ``process.args`` from the
  command line, each under an assumption with a check.
* ``emit.py``: sequences become ``temporal_ordered`` correlations; ``until``, missing events,
  ``runs``, samples, pipes and spans under a second are refused with the reason.
* ``engine.py``/``adapter.py``: ``execute`` runs pySigma's sqlite SQL with sqlite3 over the
  fixture events mapped by the same YAML; ``conform.py`` and ``assumptions.py`` let the tests
  tell stated-assumption differences from bugs.
* ``validate.py``: ``sigma check``/``sigma convert`` in-process; ``coverage.py``: corpus counts.
"""

from .target import TARGET, SigmaTarget

__all__ = ["TARGET", "SigmaTarget"]
