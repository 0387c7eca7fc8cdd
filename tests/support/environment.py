"""Services a test may need that a developer's machine may lack: skip there, fail in CI."""

from __future__ import annotations

import os
import shutil

CHROMIUM = "/usr/bin/chromium"
IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}
REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


def require(available: bool, what: str) -> None:
    """Skip with a visible reason on a developer's machine; fail in CI, where nothing may skip."""
    if available:
        return
    import pytest  # only tests call this; soak and bench run without pytest loaded

    if IN_CI:
        pytest.fail(f"{what} is required when CI=true but is not available")
    pytest.skip(f"{what} is not available on this machine")


def chromium_available() -> bool:
    return shutil.which(CHROMIUM) is not None


def require_redis() -> None:
    """Skip the test without a Redis server locally; fail it in CI."""
    try:
        import redis

        available = bool(redis.Redis.from_url(REDIS_URL, socket_timeout=2).ping())
    except Exception:
        available = False
    require(available, f"Redis at {REDIS_URL}")
