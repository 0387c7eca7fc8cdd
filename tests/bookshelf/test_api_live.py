"""The API behind a real gunicorn (deploy/gunicorn.conf.py), probed by clients nobody here wrote.

- gunicorn answers an over-long request line itself, in text/html, unless the app rejects it
  first: the app's own limit must sit below gunicorn's `limit_request_line`.
- nginx (deploy/nginx-bookshelf.conf) answers its own errors as problem+json under /api/.
- the schemathesis CLI (all checks, stateful phase) on SQLite and PostgreSQL.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests

from bookshelf import create_app
from bookshelf.extensions import db
from bookshelf.models import User
from bookshelf.users.tokens import issue_token
from bookshelf_helpers import TEST_SECRET, add_books, app_config, create_account, make_rows
from support import (
    free_port,
    require,
    require_postgres,
    sqlalchemy_url,
    start_server,
    stop_group,
    temporary_postgres_database,
)

ROOT = Path(__file__).resolve().parents[2]
SCHEMATHESIS_HOOKS = ROOT / "tests" / "support" / "schemathesis_hooks.py"
VENV_BIN = Path(sys.executable).parent
PROBLEM = "application/problem+json"

pytestmark = pytest.mark.slow


@dataclass
class LiveApi:
    url: str
    token: str


def prepare_database(database_uri: str) -> str:
    """Migrate, seed a few books and an account; return that account's API token."""
    from flask_migrate import upgrade

    app = create_app(app_config(database_uri))
    with app.app_context():
        upgrade()
        owner = create_account(app, "schemathesis")
        add_books(app, make_rows(12, added_by_id=owner))
        _record, token = issue_token(db.session.get(User, owner), "live")
        db.engine.dispose()
    return token


@pytest.fixture(
    scope="module", params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]
)
def live_api(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LiveApi]:
    workdir = tmp_path_factory.mktemp(f"live-{request.param}")
    if request.param == "sqlite":
        with serve(f"sqlite:///{workdir / 'live.sqlite3'}", workdir) as live:
            yield live
        return
    require_postgres()
    with (
        temporary_postgres_database("bookshelf_live") as url,
        serve(sqlalchemy_url(url), workdir) as live,
    ):
        yield live


class serve:
    """gunicorn with the shipped config file, one worker, on a free loopback port."""

    def __init__(self, database_uri: str, workdir: Path) -> None:
        self.database_uri, self.workdir = database_uri, workdir

    def __enter__(self) -> LiveApi:
        token = prepare_database(self.database_uri)
        port = free_port()
        env = {
            **{k: v for k, v in os.environ.items() if not k.startswith(("GUNICORN_", "FLASK_"))},
            "APP_ROOT": str(self.workdir / "srv"),  # no deployhook layout: no chdir
            "GUNICORN_BIND": f"127.0.0.1:{port}",
            "GUNICORN_WORKERS": "1",
            "GUNICORN_ACCESSLOG": "",
            "DATABASE_URL": self.database_uri,
            "SECRET_KEY": TEST_SECRET,
            "BOOKSHELF_INSTANCE_PATH": str(self.workdir / "instance"),
        }
        command = [
            *(VENV_BIN / "python", "-m", "gunicorn"),
            *("-c", ROOT / "deploy" / "gunicorn.conf.py", "bookshelf:create_app()"),
        ]
        url = f"http://127.0.0.1:{port}"
        log = self.workdir / "gunicorn.log"
        self.process = start_server(command, log, env=env, ready=url + "/healthz")
        return LiveApi(url, token)

    def __exit__(self, *_exc: object) -> None:
        stop_group(self.process)


@pytest.mark.parametrize("length", [5_000, 8_000])
def test_over_long_query_strings_get_the_apps_414(live_api: LiveApi, length: int) -> None:
    response = requests.get(f"{live_api.url}/api/v1/books?q={'x' * length}", timeout=10)
    assert response.status_code == 414
    assert response.headers["Content-Type"].startswith(PROBLEM), response.text[:200]
    assert response.json()["status"] == 414


# Small enough that both databases' runs together stay near a minute on two busy cores.
MAX_EXAMPLES = 4
# An over-long URL is refused with 414, which is a rejection of invalid input too.
SCHEMATHESIS_CONFIG = """
[checks.negative_data_rejection]
expected-statuses = ["400", "401", "403", "404", "405", "406", "409", "414", "415", "422",
                     "428", "429"]

# Shelving a book has rules that tie its fields together (a finish date only on Read, not
# before the start, not in the future), which OpenAPI 3.0 cannot state: a body the document
# allows may still break one, and its 422 names the field. Only for this operation.
[[operations]]
include-operation-id = "shelveBook"
checks.positive_data_acceptance.expected-statuses = ["2xx", "401", "403", "404", "409", "422",
                                                     "429"]
# A cover's body is any bytes as far as a schema can say; only real images are accepted, and
# random bytes are a 422 (tests/bookshelf/test_covers.py covers the images themselves).
# A search's year range must not run backwards (year_from after year_to), which OpenAPI 3.0
# cannot state either; the 422 names year_from.
[[operations]]
include-operation-id = "listBooks"
checks.positive_data_acceptance.expected-statuses = ["200", "404", "422", "429"]

[[operations]]
include-operation-id = "putBookCover"

[operations.checks.positive_data_acceptance]
expected-statuses = ["200", "401", "403", "404", "409", "412", "422", "429"]
"""


def test_schemathesis_cli_finds_nothing(
    live_api: LiveApi, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    """Every check, and the stateful phase, which chains create -> get/update/delete through
    the document's links, against the real server: the run must find no failure. The
    coverage phase probes the document's boundaries, not the database: once, on SQLite."""
    phases = "fuzzing,stateful"
    if "sqlite" in request.node.callspec.id:
        phases = "coverage," + phases
    config = tmp_path / "schemathesis.toml"
    config.write_text(SCHEMATHESIS_CONFIG)
    result = subprocess.run(
        [
            *(str(VENV_BIN / "schemathesis"), "--config-file", str(config), "--no-color"),
            *("run", f"{live_api.url}/api/v1/openapi.json"),
            *("--checks", "all", "--phases", phases),
            *("--max-examples", str(MAX_EXAMPLES), "--seed", "21", "--workers", "1"),
            *("--header", f"Authorization: Bearer {live_api.token}"),
            *("--request-timeout", "10", "--suppress-health-check", "all"),
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        # Real ISBNs for `format: isbn` (a check digit no pattern can state).
        env={**os.environ, "SCHEMATHESIS_HOOKS": str(SCHEMATHESIS_HOOKS)},
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-6000:]
    assert "No issues found" in output, output[-3000:]


@contextmanager
def nginx_in_front(upstream_port: int, workdir: Path) -> Iterator[str]:
    """deploy/nginx-bookshelf.conf as shipped, on loopback ports and without TLS."""
    require(shutil.which("nginx") is not None, "nginx (apt-get install nginx)")
    port, redirect_port = free_port(), free_port()
    site = (ROOT / "deploy" / "nginx-bookshelf.conf").read_text()
    site = re.sub(r"^\s*ssl_certificate.*$", "", site, flags=re.M)
    site = site.replace("listen 443 ssl http2;", f"listen 127.0.0.1:{port};")
    site = site.replace("listen 80;", f"listen 127.0.0.1:{redirect_port};")
    site = re.sub(r"server 127\.0\.0\.1:\d+", f"server 127.0.0.1:{upstream_port}", site)
    workdir.mkdir(parents=True, exist_ok=True)
    (workdir / "site.conf").write_text(site)
    (workdir / "logs").mkdir(exist_ok=True)
    # Started as root, nginx runs its workers as `nobody`, who cannot write the request-body
    # temporary files (bodies over 16 KB, such as cover uploads) into this private folder.
    user = "user root;\n" if os.geteuid() == 0 else ""
    (workdir / "nginx.conf").write_text(
        f"{user}pid {workdir}/nginx.pid;\nerror_log {workdir}/error.log;\ndaemon off;\n"
        "events {}\n"
        f"http {{ access_log off; client_body_temp_path {workdir}/body;\n"
        f"  proxy_temp_path {workdir}/proxy;\n  include {workdir}/site.conf; }}\n"
    )
    url = f"http://127.0.0.1:{port}"
    process = start_server(
        ["nginx", "-p", workdir, "-c", workdir / "nginx.conf"],
        workdir / "nginx.log",
        # Any answer (this path is a 404) means nginx is listening.
        ready=f"{url}/_front_errors/none",
        timeout=10,
        below=600,
    )
    try:
        yield url
    finally:
        stop_group(process)


def assert_problem(response: requests.Response, status: int) -> None:
    assert response.status_code == status, response.text[:300]
    assert response.headers["Content-Type"].startswith(PROBLEM), response.text[:300]
    assert response.json()["status"] == status and response.json()["title"]


def test_nginx_and_gunicorn_errors_are_problems(live_api: LiveApi, tmp_path: Path) -> None:
    gunicorn_port = int(live_api.url.rsplit(":", 1)[1])
    with nginx_in_front(gunicorn_port, tmp_path / "up") as url:
        assert requests.get(f"{url}/api/v1/books", timeout=10).status_code == 200
        # The app's own limit first, then nginx's buffer: problem+json either way.
        assert_problem(requests.get(f"{url}/api/v1/books?q={'x' * 5000}", timeout=10), 414)
        assert_problem(requests.get(f"{url}/api/v1/books?q={'x' * 9000}", timeout=10), 414)
        body = {"title": "x" * (2 * 1024 * 1024)}
        assert_problem(requests.post(f"{url}/api/v1/books", json=body, timeout=10), 413)
        page = requests.post(f"{url}/books", data=body, timeout=10)
        assert page.status_code == 413 and page.headers["Content-Type"].startswith("text/html")
    with nginx_in_front(free_port(), tmp_path / "down") as url:  # no instance listening
        assert_problem(requests.get(f"{url}/api/v1/books", timeout=10), 502)
        page = requests.get(f"{url}/books", timeout=10)
        assert page.status_code == 502 and page.headers["Content-Type"].startswith("text/html")


def padded_jpeg(size: int) -> bytes:
    """A real JPEG (Pillow) padded after its end marker to `size` bytes."""
    import io

    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (60, 90), "teal").save(out, "JPEG")
    return out.getvalue() + b"\0" * (size - len(out.getvalue()))


def test_cover_uploads_through_nginx(live_api: LiveApi, tmp_path: Path) -> None:
    """nginx lets a 4 MiB cover through on its route (1 MiB elsewhere) and refuses 7 MiB itself;
    between them the app answers its own 413."""
    gunicorn_port = int(live_api.url.rsplit(":", 1)[1])
    auth = {"Authorization": f"Bearer {live_api.token}"}
    with nginx_in_front(gunicorn_port, tmp_path / "covers") as url:
        created = requests.post(
            f"{url}/api/v1/books",
            json={"title": "Covered", "author": "A. Writer", "pages_num": 10},
            headers=auth,
            timeout=10,
        )
        assert created.status_code == 201, created.text
        cover = f"{url}/api/v1/books/{created.json()['id']}/cover"
        image = {**auth, "Content-Type": "image/jpeg"}

        stored = requests.put(cover, data=padded_jpeg(4 * 1024 * 1024), headers=image, timeout=20)
        assert stored.status_code == 200, stored.text[:300]
        served = requests.get(url + stored.json()["cover"]["url"], timeout=10)
        assert served.status_code == 200 and served.headers["Content-Type"] == "image/webp"
        assert "immutable" in served.headers["Cache-Control"]

        by_app = requests.put(cover, data=b"\xff" * 6_000_000, headers=image, timeout=20)
        assert_problem(by_app, 413)
        assert "5 MB" in by_app.json()["detail"]
        by_nginx = requests.put(cover, data=b"\xff" * (7 * 1024 * 1024), headers=image, timeout=20)
        assert_problem(by_nginx, 413)
        assert "6 MiB" in by_nginx.json()["detail"]
        form = requests.post(
            f"{url}/books", files={"cover": ("c.jpg", b"\xff" * (7 * 1024 * 1024))}, timeout=20
        )
        assert form.status_code == 413 and form.headers["Content-Type"].startswith("text/html")
        # Elsewhere the limit is still 1 MiB.
        assert_problem(requests.post(f"{url}/api/v1/books", json={"t": "x" * 1_100_000},
                                     headers=auth, timeout=10), 413)  # fmt: skip
