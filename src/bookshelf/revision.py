"""Which commit is running: deployhook's health check compares it with the pushed sha."""

from __future__ import annotations

import os
import subprocess
from functools import cache
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[2]


@cache
def current_commit() -> str | None:
    """BOOKSHELF_COMMIT, else a REVISION file (written per release), else git; read once."""
    if os.environ.get("BOOKSHELF_COMMIT"):
        return os.environ["BOOKSHELF_COMMIT"]
    for folder in (Path.cwd(), PROJECT_ROOT):
        revision_file = folder / "REVISION"
        if revision_file.is_file():
            return revision_file.read_text().strip() or None
    try:
        result = subprocess.run(
            ["git", "rev-parse", "HEAD"],  # noqa: S607  (git from PATH, fixed arguments)
            cwd=PROJECT_ROOT,
            capture_output=True,
            text=True,
            timeout=5,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return result.stdout.strip() or None if result.returncode == 0 else None
