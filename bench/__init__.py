"""Benchmark harness for bookshelf (`make bench`); never imported by the app or the tests."""

import sys
from pathlib import Path

# Ports, throwaway databases and server processes come from the tests' support package
# (tests/support); appended, so that it never shadows an installed module.
_TESTS = str(Path(__file__).resolve().parents[1] / "tests")
if _TESTS not in sys.path:
    sys.path.append(_TESTS)
