"""SQL functions that SQLite's search triggers call, registered on every app connection.

A connection without them (the sqlite3 shell, say) can read the catalogue but not change
books: the triggers fail with "no such function" instead of leaving the index stale.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from sqlalchemy import event
from sqlalchemy.engine import Engine

from bookshelf.database import is_sqlite_connection
from bookshelf.wordforms import stemmed, suggestion_words

if TYPE_CHECKING:
    import sqlite3


def _words_json(text: str | None) -> str:
    return json.dumps(suggestion_words(text or ""), ensure_ascii=False)


def register_functions_on(connection: sqlite3.Connection) -> None:
    connection.create_function("bookshelf_stems", 1, stemmed, deterministic=True)
    connection.create_function("bookshelf_words", 1, _words_json, deterministic=True)


def _register(dbapi_connection: Any, _record: Any) -> None:
    if is_sqlite_connection(dbapi_connection):
        register_functions_on(dbapi_connection)


def register_sqlite_functions() -> None:
    if not event.contains(Engine, "connect", _register):
        event.listen(Engine, "connect", _register)
