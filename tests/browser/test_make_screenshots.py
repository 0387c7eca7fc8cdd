"""`make screenshots` as a newcomer runs it, written into a temporary folder instead of docs/."""

from __future__ import annotations

import os
import struct
import subprocess
from pathlib import Path

import pytest

from support import CHROMIUM, chromium_available, require

ROOT = Path(__file__).resolve().parents[2]
PAGES = [
    "home",
    "books",
    "book",
    "search",
    "form-errors",
    "profile",
    "my-books",
    "authors",
    "author",
    "import-preview",
]
WIDTHS = {"desktop": 1280, "phone": 390}


def png_size(path: Path) -> tuple[int, int]:
    """Width and height from a PNG's IHDR chunk (a truncated or non-PNG file raises)."""
    header = path.read_bytes()[:24]
    assert header[:8] == b"\x89PNG\r\n\x1a\n", f"{path.name} is not a PNG"
    assert header[12:16] == b"IHDR"
    return struct.unpack(">II", header[16:24])


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_make_screenshots_writes_every_page_at_both_widths_in_both_languages(
    tmp_path: Path,
) -> None:
    require(chromium_available(), f"Chromium at {CHROMIUM} (apt-get install chromium)")
    env = {**os.environ, "SCREENSHOTS_DIR": str(tmp_path)}
    # The outer run's own make and pytest settings must not leak into the inner one.
    for name in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL", "PYTEST_ADDOPTS", "PYTEST_XDIST_WORKER"):
        env.pop(name, None)
    result = subprocess.run(
        ["make", "--no-print-directory", "screenshots"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]

    expected = {f"{p}-{v}-{lang}.png" for p in PAGES for v in WIDTHS for lang in ("en", "ru")}
    assert {path.name for path in tmp_path.glob("*.png")} == expected
    for name in expected:
        width, height = png_size(tmp_path / name)
        assert width == WIDTHS[name.split("-")[-2]], name
        assert height >= 600, name
