"""Uploaded exports kept between the preview and the import, under the instance folder.

Each file is named by its reader's id and a random key, so that one reader cannot import (or
even name) another's upload; files older than a day are removed on the next upload.
"""

from __future__ import annotations

import secrets
import time
from pathlib import Path

from flask import current_app

MAX_AGE_S = 24 * 3600


def folder() -> Path:
    """Where previews wait for their import: the instance folder unless configured (tests
    point it at their own temporary folder)."""
    configured = current_app.config.get("GOODREADS_UPLOADS_FOLDER")
    path = Path(configured) if configured else Path(current_app.instance_path) / "goodreads-imports"
    path.mkdir(parents=True, exist_ok=True)
    return path


def path_for(user_id: int, key: str) -> Path:
    return folder() / f"{user_id}-{key}.csv"


def keep(user_id: int, data: bytes) -> str:
    remove_stale()
    key = secrets.token_urlsafe(24)
    path_for(user_id, key).write_bytes(data)
    return key


def load(user_id: int, key: str) -> bytes | None:
    path = path_for(user_id, key)
    return path.read_bytes() if path.is_file() else None


def discard(user_id: int, key: str) -> None:
    path_for(user_id, key).unlink(missing_ok=True)


def remove_stale() -> None:
    limit = time.time() - MAX_AGE_S
    for path in folder().glob("*.csv"):
        if path.stat().st_mtime < limit:
            path.unlink(missing_ok=True)
