"""Redirect targets taken from user input must stay on this site (no open redirect)."""

from __future__ import annotations

from urllib.parse import urlsplit


def local_target(target: str | None) -> str | None:
    """Return `target` if it is a path on this site, else None."""
    if not target:
        return None
    # Browsers treat backslashes as slashes, so "/\evil.com" would leave the site.
    normalized = target.replace("\\", "/")
    parts = urlsplit(normalized)
    if (
        parts.scheme
        or parts.netloc
        or not normalized.startswith("/")
        or normalized.startswith("//")
    ):
        return None
    if any(ord(ch) < 32 for ch in normalized):
        return None
    return target
