"""`deployhook serve` answers the README's signed ping and push (curl)."""

from __future__ import annotations

import os
import re
import subprocess
import time
from pathlib import Path

import pytest
from dh_helpers import start_deployhook

from support import free_port, stop_group

ROOT = Path(__file__).resolve().parents[2]


def _readme_block(marker: str) -> str:
    text = (ROOT / "README.md").read_text()
    match = re.search(rf"<!-- tested: {marker} -->\s*```sh\n(.*?)```", text, re.S)
    assert match, f"README has no sh block after <!-- tested: {marker} -->"
    return match.group(1)


@pytest.mark.slow
def test_readme_curl_ping_and_push(tmp_path: Path) -> None:
    port = free_port()
    config = (ROOT / "deploy" / "deployhook.example.toml").read_text()
    config = config.replace("/srv/bookshelf", str(tmp_path / "srv"))
    # No network in tests: the queued deploy fails fast on a local, missing origin.
    config = config.replace("https://github.com/acme/bookshelf.git", str(tmp_path / "none.git"))
    config_path = tmp_path / "deployhook.toml"
    config_path.write_text(config)
    env = dict(os.environ, DEPLOYHOOK_SECRET="readme-demo-secret-0123456789abcdef")
    args = ("--config", config_path, "--port", str(port))
    server = start_deployhook(port, tmp_path / "deployhook.log", env, *args, cwd=tmp_path)
    try:
        script = _readme_block("curl-demo")
        # The snippet takes the sha from `git rev-parse HEAD`; CI may run from a tarball.
        checkout = tmp_path / "checkout"
        subprocess.run(["git", "init", "-q", str(checkout)], check=True)
        subprocess.run(
            [
                *("git", "-C", str(checkout), "-c", "user.name=t", "-c", "user.email=t@e"),
                *("commit", "-q", "--allow-empty", "-m", "demo"),
            ],
            check=True,
        )
        start = time.monotonic()
        proc = subprocess.run(
            ["bash", "-euo", "pipefail", "-c", script],
            env=dict(env, DEPLOYHOOK_URL=f"http://127.0.0.1:{port}/webhook"),
            cwd=checkout,
            capture_output=True,
            text=True,
            timeout=60,
        )
        elapsed = time.monotonic() - start
        assert proc.returncode == 0, proc.stderr
        assert '"status":"pong"' in proc.stdout.replace(" ", "")
        assert '"status":"queued"' in proc.stdout.replace(" ", "")
        assert "HTTP 202" in proc.stdout and "HTTP 200" in proc.stdout
        assert elapsed < 10
    finally:
        stop_group(server)
