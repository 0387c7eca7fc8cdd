"""SQL functions that SQLite's search triggers call, registered on every app connection.

A connection without them (the sqlite3 shell, say) can read the catalogue but not change
books: the triggers fail with "no such function" instead of leaving the index stale.
"""

from __future__ import annotations

import json
import sqlite3
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Engine

from bookshelf.wordforms import stemmed, suggestion_words


def _words_json(text: str | None) -> str:
    return json.dumps(suggestion_words(text or ""), ensure_ascii=False)


def register_functions_on(connection: sqlite3.Connection) -> None:
    connection.create_function("bookshelf_stems", 1, stemmed, deterministic=True)
    connection.create_function("bookshelf_words", 1, _words_json, deterministic=True)


def _register(dbapi_connection: Any, _record: Any) -> None:
    if isinstance(dbapi_connection, sqlite3.Connection):
        register_functions_on(dbapi_connection)


def register_sqlite_functions() -> None:
    if not event.contains(Engine, "connect", _register):
        event.listen(Engine, "connect", _register)
