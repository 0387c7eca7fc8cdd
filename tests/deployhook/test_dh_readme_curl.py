"""`deployhook serve` answers the README's signed ping and push (curl)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from dh_helpers import free_port, kill_group

ROOT = Path(__file__).resolve().parents[2]
DEPLOYHOOK = Path(sys.executable).parent / "deployhook"


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
    server = subprocess.Popen(
        [str(DEPLOYHOOK), "serve", "--config", str(config_path), "--port", str(port)],
        env=env,
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1).close()
                break
            except OSError:
                assert time.monotonic() < deadline, "deployhook serve did not start"
                time.sleep(0.1)
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
        kill_group(server)
