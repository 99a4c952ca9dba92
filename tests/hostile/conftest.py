"""Shared helpers of the hostile-input suite (issue 19): run the CLI in-process or as a subprocess."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

PYTHON = sys.executable


def run_cli(*args: str, input: bytes | None = None, timeout: float = 120, env: dict | None = None, stdout=None) -> subprocess.CompletedProcess:
    """``python -m eqlc ARGS`` in a subprocess: real exit codes, real stdout/stderr, a hard timeout
    (a hang is a test failure, not a stuck suite)."""
    e = dict(os.environ)
    e.update(env or {})
    return subprocess.run([PYTHON, "-m", "eqlc", *args], input=input, timeout=timeout, env=e,
                          stdout=stdout if stdout is not None else subprocess.PIPE, stderr=subprocess.PIPE)


@pytest.fixture
def cli():
    return run_cli
