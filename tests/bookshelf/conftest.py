"""Bookshelf's fixtures (app, client, database_uri on SQLite and PostgreSQL) for this folder."""

from bookshelf_fixtures import (
    app,
    app_settings,
    client,
    database_uri,
    postgres_url,
    small_windows,
)

__all__ = ["app", "app_settings", "client", "database_uri", "postgres_url", "small_windows"]
