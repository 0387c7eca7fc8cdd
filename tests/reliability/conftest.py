"""Reliability tests run on bookshelf's fixtures (SQLite and PostgreSQL), sign-ins unthrottled."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest

from bookshelf_fixtures import app, client, database_uri, postgres_url

# The soak package lives at the top of the checkout (python -m soak.run); appended, so that
# it never shadows an installed package.
sys.path.append(str(Path(__file__).resolve().parents[2]))


__all__ = ["app", "app_settings", "client", "database_uri", "postgres_url"]


@pytest.fixture
def app_settings() -> dict[str, Any]:
    # The login limit is tested on its own (scale-out); here it would only slow sign-ins down.
    return {"RATELIMIT_ENABLED": False}
