import sys
from pathlib import Path

# Make the repository importable when the package is not installed (e.g. a bare `pytest` run).
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import os

# `eqlc match` caches parsed rules under ~/.cache/eqlc (eqlc.parse_cache); the suite must not write
# to the user's home nor depend on what an earlier run left there. tests/test_parse_cache.py turns
# it on in a temporary directory.
os.environ["EQLC_NO_CACHE"] = "1"
