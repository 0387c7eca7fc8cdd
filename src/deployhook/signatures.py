"""Webhook authentication for GitHub, Gitea/Forgejo/Gogs and GitLab, over the raw body."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from dataclasses import dataclass

# Order matters: the strongest scheme present in a request is the one checked.
_HMAC_HEADERS = (
    ("github", "X-Hub-Signature-256"),
    ("forgejo", "X-Forgejo-Signature"),
    ("gitea", "X-Gitea-Signature"),
    ("gogs", "X-Gogs-Signature"),
)


@dataclass(frozen=True)
class Verified:
    """Outcome of a successful check: which provider signed the request."""

    provider: str
    scheme: str


def sign_sha256(secret: str, body: bytes) -> str:
    """Hex HMAC-SHA256 of ``body``: what GitHub (with a ``sha256=`` prefix) and Gitea send."""
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def _equal(a: str, b: str) -> bool:
    # compare_digest on bytes: constant time, and no TypeError on non-ASCII header values.
    return hmac.compare_digest(a.encode("utf-8", "replace"), b.encode("utf-8", "replace"))


def verify(
    headers: Mapping[str, str],
    body: bytes,
    secret: str,
    *,
    allow_sha1: bool = False,
    providers: tuple[str, ...] = ("github", "gitea", "forgejo", "gogs", "gitlab"),
) -> Verified | None:
    """Return who signed ``body``, or None. Never raises on hostile input."""
    if not secret:
        # An empty key would make every signature computable by anyone.
        return None
    for provider, header in _HMAC_HEADERS:
        value = headers.get(header)
        if value is None or provider not in providers:
            continue
        if provider == "github":
            if not value.startswith("sha256="):
                return None
            value = value[len("sha256=") :]
        expected = sign_sha256(secret, body)
        return Verified(provider, "hmac-sha256") if _equal(expected, value.lower()) else None
    legacy = headers.get("X-Hub-Signature")
    if legacy is not None and "github" in providers:
        if not allow_sha1 or not legacy.startswith("sha1="):
            return None
        expected = hmac.new(secret.encode(), body, hashlib.sha1).hexdigest()
        ok = _equal(expected, legacy[len("sha1=") :].lower())
        return Verified("github", "hmac-sha1") if ok else None
    token = headers.get("X-Gitlab-Token")
    if token is not None and "gitlab" in providers:
        return Verified("gitlab", "token") if _equal(secret, token) else None
    return None
