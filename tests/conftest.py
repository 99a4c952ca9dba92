import sys
from pathlib import Path

# Make the repository importable when the package is not installed (e.g. a bare `pytest` run).
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
