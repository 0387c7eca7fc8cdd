"""Static checks: the secret scanner and bandit's explained findings can fail."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tools import audit

ROOT = Path(__file__).resolve().parents[2]

# Built at run time so that this file itself holds no secret-shaped literal.
SAMPLES = {
    "private key": "-----BEGIN " + "RSA PRIVATE KEY-----",
    "AWS access key": "AKIA" + "ABCDEFGHIJKLMNOP",
    "GitHub token": "ghp_" + "a1B2" * 9,
    "bookshelf API token": "bks_" + "x" * 43,
    "secret assignment": "SECRET_KEY=" + "3f9a0c" * 6,
}


@pytest.mark.parametrize("kind", SAMPLES)
def test_secret_patterns_catch_their_sample(kind: str) -> None:
    assert audit.SECRET_PATTERNS[kind].search(SAMPLES[kind])


def test_placeholders_are_not_secrets() -> None:
    text = "SECRET_KEY=...\nexport SECRET_KEY=$(openssl rand -hex 32)\nbks_<token>\n"
    assert not any(p.search(text) for p in audit.SECRET_PATTERNS.values())


def test_no_secret_is_committed() -> None:
    assert audit.committed_secrets() == []


def test_explained_bandit_findings_still_exist() -> None:
    """An explanation for code that is gone would hide the next finding in that file."""
    for path, _test_id in audit.EXPLAINED:
        assert (ROOT / path).is_file(), path
    result = subprocess.run(
        [str(audit.BIN / "bandit"), "-q", "-r", *{p for p, _ in audit.EXPLAINED}, "-ll"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    for path, test_id in audit.EXPLAINED:
        assert test_id in result.stdout, f"{path} {test_id} no longer reported: drop it"
