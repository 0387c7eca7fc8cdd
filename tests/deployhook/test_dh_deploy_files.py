"""The files in deploy/ are accepted by the tools that will read them (when installed here)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"


@pytest.mark.skipif(not shutil.which("nginx") or not shutil.which("openssl"), reason="no nginx")
def test_nginx_config_is_valid(tmp_path: Path) -> None:
    subprocess.run(
        [
            *("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1"),
            *("-keyout", str(tmp_path / "key.pem"), "-out", str(tmp_path / "cert.pem")),
            *("-subj", "/CN=test"),
        ],
        check=True,
        capture_output=True,
    )
    site = (DEPLOY / "nginx-deployhook.conf").read_text()
    site = re.sub(r"/etc/letsencrypt/live/[\w.]+/fullchain\.pem", str(tmp_path / "cert.pem"), site)
    site = re.sub(r"/etc/letsencrypt/live/[\w.]+/privkey\.pem", str(tmp_path / "key.pem"), site)
    (tmp_path / "site.conf").write_text(site)
    (tmp_path / "nginx.conf").write_text(
        f"pid {tmp_path}/nginx.pid;\nerror_log {tmp_path}/error.log;\nevents {{}}\n"
        f"http {{ access_log off; include {tmp_path}/site.conf; }}\n"
    )
    out = subprocess.run(
        ["nginx", "-t", "-c", str(tmp_path / "nginx.conf")], capture_output=True, text=True
    )
    assert out.returncode == 0, out.stderr


@pytest.mark.skipif(not shutil.which("systemd-analyze"), reason="no systemd-analyze")
def test_systemd_units_parse(tmp_path: Path) -> None:
    units = []
    for name in ("bookshelf.service", "deployhook.service"):
        shutil.copy(DEPLOY / name, tmp_path / name)
        units.append(str(tmp_path / name))
    out = subprocess.run(
        ["systemd-analyze", "verify", "--man=no", *units], capture_output=True, text=True
    )
    # Binaries under /srv and /opt do not exist here; anything else is a real problem.
    problems = [
        line
        for line in (out.stdout + out.stderr).splitlines()
        if line.strip() and "is not executable" not in line
    ]
    assert problems == []


def test_gunicorn_config_loads(tmp_path: Path) -> None:
    (tmp_path / "app.py").write_text(
        "def app(environ, start_response):\n    start_response('200 OK', [])\n    return [b'ok']\n"
    )
    out = subprocess.run(
        [
            *(sys.executable, "-m", "gunicorn", "-c", str(DEPLOY / "gunicorn.conf.py")),
            *("--check-config", "app:app"),
        ],
        cwd=tmp_path,
        env=dict(os.environ, APP_ROOT=str(tmp_path / "srv")),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 0, out.stdout + out.stderr
