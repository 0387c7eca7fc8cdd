"""The bench harness's own tests, on bookshelf's fixtures (SQLite and PostgreSQL)."""

from __future__ import annotations

import sys
from pathlib import Path

from bookshelf_fixtures import app, app_settings, client, database_uri, postgres_url

# The bench package lives at the top of the checkout (python -m bench.run); appended, so that
# it never shadows an installed package.
sys.path.append(str(Path(__file__).resolve().parents[2]))


__all__ = ["app", "app_settings", "client", "database_uri", "postgres_url"]
