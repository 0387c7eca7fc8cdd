"""The shared cache README.md suggests, as a real nginx runs it in front of a real gunicorn: a
visitor's page is kept a moment and revalidated with the app's 304, each language apart, and a
signed-in reader's page (or anyone's with a cookie) never enters it or comes out of it."""

from __future__ import annotations

import re
import shutil
import time
from pathlib import Path

import pytest
import requests
from test_api_live import serve

from bookshelf_helpers import PASSWORD
from support import require, start_nginx

pytestmark = pytest.mark.slow


def test_nginx_caches_a_visitors_pages_and_never_a_readers(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    require(shutil.which("nginx") is not None, "nginx (apt-get install nginx)")
    monkeypatch.setenv("SHARED_CACHE_SECONDS", "1")
    with serve(f"sqlite:///{tmp_path / 'cache.sqlite3'}", tmp_path) as live:
        nginx = start_nginx([int(live.url.rsplit(":", 1)[1])], tmp_path, cache=True)
        try:
            check_the_cache(nginx.url)
        finally:
            nginx.stop()


def check_the_cache(url: str) -> None:
    def get(headers: dict[str, str] | None = None) -> requests.Response:
        return requests.get(url + "/books", headers=headers or {}, timeout=10)

    first, again = get(), get()
    assert (first.headers["X-Cache"], again.headers["X-Cache"]) == ("MISS", "HIT")
    assert first.headers["Cache-Control"] == "public, max-age=0, s-maxage=1"
    # Another language is another copy (Vary), whether asked by header or by cookie.
    russian = get({"Accept-Language": "ru"})
    assert russian.headers["X-Cache"] == "MISS" and '<html lang="ru">' in russian.text
    by_cookie = get({"Cookie": "lang=ru"})
    assert by_cookie.headers["X-Cache"] == "BYPASS" and '<html lang="ru">' in by_cookie.text
    assert '<html lang="en">' in get().text

    # A signed-in reader: past the cache both ways, and their page is never handed to others.
    session = sign_in(url)
    mine = get({"Cookie": session})
    assert mine.headers["X-Cache"] == "BYPASS" and "schemathesis" in mine.text
    assert mine.headers["Cache-Control"] == "private, no-cache"
    theirs = get()
    # The visitors' copy (fresh, or revalidated if the sign-in took past its second).
    assert theirs.headers["X-Cache"] in {"HIT", "REVALIDATED"}
    assert "schemathesis" not in theirs.text

    # Expired: nginx asks again with the ETag, and the app's 304 refreshes the copy. nginx
    # keeps time in whole seconds: a copy stored early in a second with s-maxage=1 is still
    # fresh 1.9 s later, so wait past two second boundaries.
    time.sleep(2.5)
    assert get().headers["X-Cache"] == "REVALIDATED"


def sign_in(url: str) -> str:
    """The session cookie of a signed-in reader, as a Cookie header (the app marks its cookies
    Secure; this nginx speaks plain HTTP, so they are sent by hand)."""
    form = requests.get(url + "/login", timeout=10)
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', form.text).group(1)  # type: ignore[union-attr]
    cookie = form.cookies["session"]
    signed_in = requests.post(
        url + "/login",
        data={"username": "schemathesis", "password": PASSWORD, "csrf_token": token},
        headers={"Cookie": f"session={cookie}"},
        allow_redirects=False,
        timeout=10,
    )
    assert signed_in.status_code == 302, signed_in.text[:300]
    session = re.search(r"session=([^;]+)", signed_in.headers["Set-Cookie"]).group(1)  # type: ignore[union-attr]
    return f"session={session}"
