"""`make i18n-extract` works, and the committed Russian catalogue already holds every string.

The target runs on a copy of the catalogues, so the committed files are never rewritten by
the test, and with the running interpreter's Babel and its install step skipped (`-o`), so the
test never installs anything into the environment it runs in: in a deploy's test gate that is
the release about to go live.

After extracting, an entry that is new, empty or only fuzzily matched means a string in the
code or templates that a Russian reader would see in English (or, with a fuzzy match compiled
in, translated as some other sentence).
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parents[2]
TRANSLATIONS = ROOT / "src" / "bookshelf" / "translations"


def test_i18n_extract_runs_and_every_string_is_translated(tmp_path: Path) -> None:
    copy = tmp_path / "translations"
    shutil.copytree(TRANSLATIONS, copy, ignore=shutil.ignore_patterns("*.mo"))
    result = subprocess.run(
        [
            *("make", "-s", "-C", str(ROOT), "-o", "install-dev", "i18n-extract"),
            f"TRANSLATIONS={copy}",
            f"PYBABEL={sys.executable} -m babel.messages.frontend",
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    with (copy / "ru" / "LC_MESSAGES" / "messages.po").open("rb") as handle:
        catalog = read_po(handle, locale="ru")
    untranslated = [
        message.id
        for message in catalog
        if message.id
        and (
            message.fuzzy
            or not (message.string if isinstance(message.string, str) else all(message.string))
        )
    ]
    assert untranslated == []
    assert len(catalog) > 100
