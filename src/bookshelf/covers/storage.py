"""Cover files under the instance folder, named by the SHA-256 of their content.

`<digest>.webp` is the book page's image and `<digest>-thumb.webp` its thumbnail. The same
picture uploaded for two books is one pair of files, and a file never changes once written:
that is what lets it be cached for a year.

Web requests never delete a file. Replacing or removing a cover (or deleting a book) only
changes the `cover` column: another book may show the same file, a request that saved the
same picture a moment ago may not have committed its row yet, and a database restored from a
backup may refer to covers its books had before. `flask prune-covers` deletes, on purpose, the
files that no book refers to and that are older than a grace period.
"""

from __future__ import annotations

import os
import re
import tempfile
import time
from collections.abc import Iterable
from pathlib import Path

from flask import current_app

from bookshelf.config import make_private_dir
from bookshelf.covers.images import ProcessedCover

FILE_NAME = re.compile(r"(?P<digest>[0-9a-f]{64})(?P<thumb>-thumb)?\.webp")
DIGEST = re.compile(r"[0-9a-f]{64}")
# A file younger than this may belong to an upload whose row is not committed yet.
PRUNE_GRACE_SECONDS = 24 * 3600


def page_name(digest: str) -> str:
    return f"{digest}.webp"


def thumbnail_name(digest: str) -> str:
    return f"{digest}-thumb.webp"


class CoverStore:
    def __init__(self, folder: str | os.PathLike[str]) -> None:
        self.folder = Path(folder)

    @classmethod
    def for_app(cls) -> CoverStore:
        return cls(current_app.config["COVERS_FOLDER"])

    def save(self, cover: ProcessedCover) -> str:
        """Write both files (each atomically) and return the digest to store in `books.cover`."""
        make_private_dir(self.folder)
        digest = cover.digest
        self._write(page_name(digest), cover.page)
        self._write(thumbnail_name(digest), cover.thumbnail)
        return digest

    def path(self, name: str) -> Path | None:
        """The file behind a served name, or None for any name that is not a cover's."""
        if FILE_NAME.fullmatch(name) is None:
            return None
        path = self.folder / name
        return path if path.is_file() else None

    def prune(self, referenced: Iterable[str], older_than: float = PRUNE_GRACE_SECONDS) -> int:
        """Delete cover files no book refers to and older than `older_than` seconds."""
        if not self.folder.is_dir():
            return 0
        keep = set(referenced)
        cutoff = time.time() - older_than
        removed = 0
        for entry in self.folder.iterdir():
            match = FILE_NAME.fullmatch(entry.name)
            if match is None or match["digest"] in keep:
                continue
            if entry.stat().st_mtime < cutoff:
                entry.unlink(missing_ok=True)
                removed += 1
        return removed

    def _write(self, name: str, data: bytes) -> None:
        target = self.folder / name
        if target.is_file():
            # Same name, same bytes. Touched so that a prune running now sees it as fresh.
            os.utime(target)
            return
        # A temporary file in the same folder, then an atomic rename: a reader (or a crash)
        # never meets half a file under the final name.
        fd, temporary = tempfile.mkstemp(dir=self.folder, prefix=".upload-", suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as out:
                out.write(data)
                out.flush()
                os.fsync(out.fileno())
            os.chmod(temporary, 0o600)
            os.replace(temporary, target)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
