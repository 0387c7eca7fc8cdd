"""How a page lays out in a Playwright page: what the browser tests measure at phone widths."""

from __future__ import annotations

from typing import Any


def sideways(page: Any) -> int:
    """How far the page can be scrolled sideways, in CSS pixels (0 when it fits the viewport)."""
    return int(page.evaluate("document.documentElement.scrollWidth - window.innerWidth"))
