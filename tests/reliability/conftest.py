"""Reliability tests use the shared fixtures of tests/conftest.py (SQLite and PostgreSQL)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest

# The soak package lives at the top of the checkout (python -m soak.run); appended, so that
# it never shadows an installed package.
sys.path.append(str(Path(__file__).resolve().parents[2]))


@pytest.fixture
def app_settings() -> dict[str, Any]:
    # The login limit is tested on its own (scale-out); here it would only slow sign-ins down.
    return {"RATELIMIT_ENABLED": False}
