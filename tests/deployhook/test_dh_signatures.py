"""Signature matrix: every provider, right/wrong/missing/empty secret, SHA-1 on and off."""

from __future__ import annotations

import hashlib
import hmac

import pytest
from dh_helpers import SECRET

from deployhook.events import detect_provider
from deployhook.signatures import ALL_PROVIDERS, Verified, sign_sha256, verify_as

BODY = b'{"zen": "Keep it logically awesome."}'


def verify(
    headers: dict[str, str],
    body: bytes,
    secret: str,
    *,
    allow_sha1: bool = False,
    providers: tuple[str, ...] = ALL_PROVIDERS,
) -> Verified | None:
    """What the receiver does: the provider its headers name, checked the way it signs."""
    provider = detect_provider(headers, providers)
    if provider is None:
        return None
    return verify_as(provider, headers, body, secret, allow_sha1=allow_sha1)


def test_github_documented_test_vector() -> None:
    # https://docs.github.com/en/webhooks/using-webhooks/validating-webhook-deliveries
    expected = "757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"
    assert sign_sha256("It's a Secret to Everybody", b"Hello, World!") == expected
    headers = {"X-Hub-Signature-256": f"sha256={expected}"}
    result = verify(headers, b"Hello, World!", "It's a Secret to Everybody")
    assert result is not None and result.provider == "github"
    assert verify(headers, b"Hello, World?", "It's a Secret to Everybody") is None


def _hex(secret: str, body: bytes = BODY, algo: str = "sha256") -> str:
    return hmac.new(secret.encode(), body, getattr(hashlib, algo)).hexdigest()


@pytest.mark.parametrize(
    ("provider", "header", "prefix"),
    [
        ("github", "X-Hub-Signature-256", "sha256="),
        ("gitea", "X-Gitea-Signature", ""),
        ("forgejo", "X-Forgejo-Signature", ""),
        ("gogs", "X-Gogs-Signature", ""),
    ],
)
def test_hmac_providers_right_wrong_missing(provider: str, header: str, prefix: str) -> None:
    right = {header: prefix + _hex(SECRET)}
    verified = verify(right, BODY, SECRET)
    assert verified is not None and verified.provider == provider
    assert verify({header: prefix + _hex("another secret")}, BODY, SECRET) is None
    assert verify({header: prefix + _hex(SECRET, BODY + b" ")}, BODY, SECRET) is None
    assert verify({header: ""}, BODY, SECRET) is None
    assert verify({}, BODY, SECRET) is None
    # The same right signature is refused when the server has an empty secret.
    assert verify(right, BODY, "") is None
    # Provider switched off in the config.
    others = tuple(p for p in ("github", "gitea", "forgejo", "gogs", "gitlab") if p != provider)
    assert verify(right, BODY, SECRET, providers=others) is None


def test_github_signature_needs_its_prefix() -> None:
    assert verify({"X-Hub-Signature-256": _hex(SECRET)}, BODY, SECRET) is None
    assert verify({"X-Hub-Signature-256": "sha1=" + _hex(SECRET)}, BODY, SECRET) is None


def test_uppercase_hex_is_accepted() -> None:
    assert verify({"X-Hub-Signature-256": "sha256=" + _hex(SECRET).upper()}, BODY, SECRET)


def test_gitlab_token() -> None:
    ok = verify({"X-Gitlab-Token": SECRET}, BODY, SECRET)
    assert ok is not None and ok.provider == "gitlab"
    assert verify({"X-Gitlab-Token": SECRET + "x"}, BODY, SECRET) is None
    assert verify({"X-Gitlab-Token": ""}, BODY, SECRET) is None
    assert verify({"X-Gitlab-Token": ""}, BODY, "") is None


def test_sha1_only_when_allowed() -> None:
    headers = {"X-Hub-Signature": "sha1=" + _hex(SECRET, algo="sha1")}
    assert verify(headers, BODY, SECRET) is None
    allowed = verify(headers, BODY, SECRET, allow_sha1=True)
    assert allowed is not None and allowed.scheme == "hmac-sha1"
    wrong = {"X-Hub-Signature": "sha1=" + _hex("nope", algo="sha1")}
    assert verify(wrong, BODY, SECRET, allow_sha1=True) is None


def test_sha256_wins_over_sha1_when_both_present() -> None:
    headers = {
        "X-Hub-Signature-256": "sha256=" + "0" * 64,
        "X-Hub-Signature": "sha1=" + _hex(SECRET, algo="sha1"),
    }
    # A valid legacy signature must not rescue a wrong SHA-256 one.
    assert verify(headers, BODY, SECRET, allow_sha1=True) is None


def test_hostile_header_values_do_not_raise() -> None:
    for value in ("sha256=ÿÿ", "sha256=" + "g" * 64, "sha256=", "=" * 500, "sha256=\x00"):
        assert verify({"X-Hub-Signature-256": value}, BODY, SECRET) is None
    assert verify({"X-Gitlab-Token": "ü" * 40}, BODY, SECRET) is None
