"""deploy/nginx-bookshelf.conf is a valid nginx configuration (nginx -t, with a throwaway
certificate in place of Let's Encrypt's) and keeps the limits docs/RELIABILITY.md relies on."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

from support import require

CONF = Path(__file__).resolve().parents[2] / "deploy" / "nginx-bookshelf.conf"


def test_limits_match_the_app() -> None:
    text = CONF.read_text()
    assert "client_max_body_size 1m;" in text  # MAX_CONTENT_LENGTH default: 1 MiB
    # Cover uploads (5 MiB images, MAX_COVER_REQUEST_LENGTH 5.25 MiB) on their routes only.
    covers = re.search(r"location ~ (\S+) \{\s*client_max_body_size 6m;", text)
    assert covers is not None
    for path in ("/books", "/books/12", "/api/v1/books/12/cover"):
        assert re.fullmatch(covers.group(1).strip("^$"), path)
    for path in ("/api/v1/books", "/books/12/edit", "/login", "/reading-list"):
        assert not re.fullmatch(covers.group(1).strip("^$"), path)
    read_timeout = int(re.search(r"proxy_read_timeout (\d+)s;", text).group(1))  # type: ignore[union-attr]
    assert read_timeout < 30  # below gunicorn's --timeout (deploy/gunicorn.conf.py)
    assert "non_idempotent" not in text  # a sent POST must never be repeated
    assert len(re.findall(r"^\s*server 127\.0\.0\.1:\d+", text, re.M)) == 2


def test_nginx_accepts_the_example(tmp_path: Path) -> None:
    require(shutil.which("nginx") is not None, "nginx (apt-get install nginx)")
    require(shutil.which("openssl") is not None, "openssl")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj",
         "/CN=bookshelf.example.com", "-keyout", str(key), "-out", str(cert)],
        check=True,
        capture_output=True,
    )  # fmt: skip
    site = CONF.read_text()
    site = site.replace("/etc/letsencrypt/live/bookshelf.example.com/fullchain.pem", str(cert))
    site = site.replace("/etc/letsencrypt/live/bookshelf.example.com/privkey.pem", str(key))
    (tmp_path / "site.conf").write_text(site)
    (tmp_path / "logs").mkdir()
    main = tmp_path / "nginx.conf"
    main.write_text(
        f"pid {tmp_path}/nginx.pid;\nerror_log {tmp_path}/error.log;\n"
        "events {}\n"
        f"http {{ access_log off; client_body_temp_path {tmp_path}/body;\n"
        f"  include {tmp_path}/site.conf; }}\n"
    )
    result = subprocess.run(
        ["nginx", "-t", "-p", str(tmp_path), "-c", str(main)], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    assert "syntax is ok" in result.stderr
