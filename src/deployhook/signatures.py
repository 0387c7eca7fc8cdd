"""Webhook authentication for GitHub, Gitea/Forgejo/Gogs and GitLab, over the signed bytes."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from dataclasses import dataclass

ALL_PROVIDERS = ("github", "gitea", "forgejo", "gogs", "gitlab")
# Gitea and its descendants sign the JSON payload with plain hex HMAC-SHA256 in their own header.
_HEX_HEADERS = {
    "forgejo": "X-Forgejo-Signature",
    "gitea": "X-Gitea-Signature",
    "gogs": "X-Gogs-Signature",
}


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


def _github(headers: Mapping[str, str], body: bytes, secret: str, allow_sha1: bool) -> str | None:
    value = headers.get("X-Hub-Signature-256")
    if value is not None:
        # Present but wrong is a refusal: a valid legacy SHA-1 must not rescue it.
        if not value.startswith("sha256="):
            return None
        ok = _equal(sign_sha256(secret, body), value[len("sha256=") :].lower())
        return "hmac-sha256" if ok else None
    legacy = headers.get("X-Hub-Signature")
    if legacy is None or not allow_sha1 or not legacy.startswith("sha1="):
        return None
    expected = hmac.new(secret.encode(), body, hashlib.sha1).hexdigest()
    return "hmac-sha1" if _equal(expected, legacy[len("sha1=") :].lower()) else None


def verify_as(
    provider: str,
    headers: Mapping[str, str],
    signed: bytes,
    secret: str,
    *,
    allow_sha1: bool = False,
) -> Verified | None:
    """Check the request the way ``provider`` signs it; ``signed`` is what that provider signs
    (the raw body, or for Gitea's form deliveries the JSON inside). Never raises."""
    if not secret:
        # An empty key would make every signature computable by anyone.
        return None
    if provider == "github":
        scheme = _github(headers, signed, secret, allow_sha1)
        return Verified("github", scheme) if scheme else None
    if provider == "gitlab":
        token = headers.get("X-Gitlab-Token")
        ok = token is not None and _equal(secret, token)
        return Verified("gitlab", "token") if ok else None
    header = _HEX_HEADERS.get(provider)
    value = headers.get(header) if header else None
    if value is None:
        return None
    ok = _equal(sign_sha256(secret, signed), value.lower())
    return Verified(provider, "hmac-sha256") if ok else None
