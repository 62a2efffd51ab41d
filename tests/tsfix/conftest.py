"""Fixtures for tsfix's tests: real Node and the pinned TypeScript 5.9 of tests/node."""

import sys
from pathlib import Path

_TESTS = str(Path(__file__).resolve().parent.parent)
if _TESTS not in sys.path:
    sys.path.insert(0, _TESTS)

from js_support import node_tools  # noqa: E402

__all__ = ["node_tools"]
