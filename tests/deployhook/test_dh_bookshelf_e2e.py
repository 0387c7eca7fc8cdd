"""bookshelf deploys bookshelf: the README walkthrough as a test, on SQLite and PostgreSQL.

A real `deployhook serve` deploys this repository (its committed HEAD, cloned into a local bare
repository) with the config the README tells a user to make from deploy/deployhook.example.toml;
gunicorn runs with the environment and command line of deploy/bookshelf.service. A user signs
up and adds a book; then a pushed commit, a commit whose migration adds a column, and
`deployhook rollback` must each keep the book, the account and the signed-in session, with
zero failed requests across each switch.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shlex
import sqlite3
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import requests
from dh_helpers import github_request, push_payload, start_deployhook
from dotenv import dotenv_values
from test_dh_e2e import LoadLoop, git

from support import (
    free_port,
    require_postgres,
    start_server,
    stop_group,
    temporary_postgres_database,
)

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
EXAMPLE_CONFIG = ROOT / "deploy" / "deployhook.example.toml"
UNIT = ROOT / "deploy" / "bookshelf.service"
SERVER_ROOT = "/srv/bookshelf"
SERVER_PIDFILE = "/run/bookshelf/gunicorn.pid"
# BOOKSHELF_E2E_FULL_GATE=1 runs the README's test gate unchanged (the bookshelf suite, several
# minutes per release; .ci/run does so once on SQLite); by default the gate keeps the README's
# layering but installs only pytest and runs one quick test file, so `make test-slow` stays short.
FULL_GATE = os.environ.get("BOOKSHELF_E2E_FULL_GATE") == "1"
DEPLOY_SECONDS = 1500 if FULL_GATE else 600  # the longest one deploy may take here
QUICK_GATE_TESTS = "tests/bookshelf/test_instance_path.py"

# Run by deployhook after install and after the test gate (with the test's own Python, so it
# imports nothing from the release): a listing of every path under .venv with its mode, size
# and content hash, to prove the gate left .venv exactly as install made it.
FINGERPRINT_PY = """\
import hashlib, os, pathlib, stat, sys
venv, out = pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2])
lines = []
for dirpath, dirnames, filenames in os.walk(venv):
    dirnames.sort()
    for name in sorted(dirnames + filenames):
        path = pathlib.Path(dirpath, name)
        st = path.lstat()
        if stat.S_ISLNK(st.st_mode):
            what = "-> " + os.readlink(path)
        elif stat.S_ISREG(st.st_mode):
            what = hashlib.sha256(path.read_bytes()).hexdigest()
        else:
            what = "dir"
        lines.append(f"{path.relative_to(venv)} {oct(st.st_mode)} {st.st_size} {what}")
out.mkdir(parents=True, exist_ok=True)
(out / f"{os.environ['DEPLOYHOOK_SHA']}-{sys.argv[3]}.txt").write_text("\\n".join(lines))
print(len(lines), "paths under", venv)
"""


class LoopbackCookieJar(requests.cookies.RequestsCookieJar):
    """The app's cookies are Secure (nginx terminates TLS in production): keep them sendable
    over plain HTTP on loopback."""

    def set_cookie(self, cookie: Any, *args: Any, **kwargs: Any) -> None:
        cookie.secure = False
        super().set_cookie(cookie, *args, **kwargs)


def browser() -> requests.Session:
    session = requests.Session()
    session.cookies = LoopbackCookieJar()
    return session


def csrf(session: requests.Session, url: str) -> str:
    page = session.get(url, timeout=10)
    page.raise_for_status()
    match = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page.text)
    assert match, f"no CSRF token in the form at {url}"
    return match.group(1)


@pytest.fixture(scope="module")
def wheelhouse() -> Path:
    """The pinned wheels in the virtualenv's `wheelhouse/`: each release installs with
    --no-index from there, as an operator with a local wheelhouse would. `make install-dev`
    fills it, so this test needs no network afterwards; a missing wheel is fetched once."""
    target = Path(sys.prefix) / "wheelhouse"
    pins = ("-r", str(ROOT / "requirements" / "dev.txt"), "setuptools")
    download = (sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "-d")
    local = subprocess.run(
        [*download, str(target), "--no-index", "--find-links", str(target), *pins],
        capture_output=True,
        text=True,
        timeout=300,
    )
    if local.returncode != 0:
        fetched = subprocess.run(
            [*download, str(target), *pins], capture_output=True, text=True, timeout=600
        )
        assert fetched.returncode == 0, fetched.stderr
    return target


# -- the deployment, as the README sets it up --------------------------------------------------
@dataclass
class Deployment:
    tmp: Path
    database_url: str | None
    deploy_to: Path = field(init=False)
    origin: Path = field(init=False)
    work: Path = field(init=False)
    config: Path = field(init=False)
    fingerprints: Path = field(init=False)
    app_port: int = field(default_factory=free_port)
    hook_port: int = field(default_factory=free_port)
    secret: str = field(default_factory=lambda: secrets.token_hex(32))
    token: str = field(default_factory=lambda: secrets.token_hex(16))
    procs: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.deploy_to = self.tmp / "srv" / "bookshelf"
        self.origin = self.tmp / "bookshelf.git"
        self.work = self.tmp / "work"
        self.config = self.tmp / "etc" / "bookshelf.toml"
        self.fingerprints = self.tmp / "fingerprints"

    @property
    def app_url(self) -> str:
        return f"http://127.0.0.1:{self.app_port}"

    @property
    def pidfile(self) -> Path:
        return self.tmp / "run" / "gunicorn.pid"

    def server_path(self, text: str) -> str:
        """What the README's `sed 's#/srv/bookshelf#...#'` does, plus this run's ports."""
        return (
            text.replace(SERVER_PIDFILE, str(self.pidfile))
            .replace(SERVER_ROOT, str(self.deploy_to))
            .replace("127.0.0.1:8000", f"127.0.0.1:{self.app_port}")
        )

    def cli(self, *args: str, timeout: float = DEPLOY_SECONDS) -> subprocess.CompletedProcess[str]:
        """`deployhook ...` as the README runs it: DEPLOYHOOK_CONFIG set, secrets in the .env
        next to the config file."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("DEPLOYHOOK_")}
        env["DEPLOYHOOK_CONFIG"] = str(self.config)
        return subprocess.run(
            [str(BIN / "deployhook"), *args],
            cwd=self.tmp,
            env=env,
            capture_output=True,
            text=True,
            timeout=timeout,
        )

    def commit(self, message: str, files: dict[str, str]) -> str:
        """Commit in the developer's clone and push to the bare repository deployhook fetches."""
        for name, text in files.items():
            path = self.work / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text)
        git(self.work, "add", "-A")
        git(self.work, "commit", "-q", "-m", message)
        git(self.work, "push", "-q", "origin", "HEAD:main")
        return git(self.work, "rev-parse", "HEAD")

    def push_webhook(self, sha: str) -> int:
        body, headers = github_request(push_payload(sha, repo="acme/bookshelf"), secret=self.secret)
        url = f"http://127.0.0.1:{self.hook_port}/webhook"
        resp = requests.post(url, data=body, headers=headers, timeout=10)
        assert resp.status_code == 202, resp.text
        return resp.json()["deploy_id"]

    def record(self, deploy_id: int) -> dict[str, Any]:
        url = f"http://127.0.0.1:{self.hook_port}/api/deploys/{deploy_id}"
        auth = {"Authorization": f"Bearer {self.token}"}
        return requests.get(url, headers=auth, timeout=10).json()

    def wait(self, deploy_id: int, until_step: str | None = None) -> dict[str, Any]:
        """Poll until the deploy ends, or until it has reached the step ``until_step``."""
        deadline = time.monotonic() + DEPLOY_SECONDS
        while time.monotonic() < deadline:
            record = self.record(deploy_id)
            if record["status"] not in ("queued", "running"):
                return record
            if until_step and any(s["name"] == until_step for s in record["steps"]):
                return record
            time.sleep(0.2)
        raise AssertionError(f"deploy {deploy_id} did not finish: {record}")

    def served_commit(self) -> str:
        with urllib.request.urlopen(f"{self.app_url}/healthz", timeout=5) as resp:  # noqa: S310
            return json.loads(resp.read())["commit"]

    def live_release(self) -> Path:
        return (self.deploy_to / "current").resolve()


def readme_config(d: Deployment, wheelhouse: Path) -> str:
    """deploy/deployhook.example.toml with the README's substitutions, and what this test must
    change besides (each said below)."""
    import tomllib

    data = tomllib.loads(d.server_path(EXAMPLE_CONFIG.read_text()))
    data["server"]["port"] = d.hook_port  # a free port on a shared machine
    data["server"]["debounce_seconds"] = 0.2
    data["app"]["git_url"] = str(d.origin)  # README: "edit repository and git_url"
    commands = data["commands"]
    # Installs come from the local wheelhouse: fast, and no index is asked.
    commands["env"] = {"PIP_NO_INDEX": "1", "PIP_FIND_LINKS": str(wheelhouse)}
    fingerprint = d.tmp / "fingerprint.py"
    fingerprint.write_text(FINGERPRINT_PY)

    def snapshot(label: str) -> list[str]:
        return [sys.executable, str(fingerprint), ".venv", str(d.fingerprints), label]

    if not FULL_GATE:
        layer, link, dev_install, pytest_run = commands["test"]
        assert dev_install[-4:] == ["-r", "requirements/dev.txt", "-c", "requirements/main.txt"]
        dev_install[-4:] = ["pytest", "pytest-timeout", "-c", "requirements/dev.txt"]
        assert pytest_run[-1] == "tests/bookshelf"
        pytest_run[-1] = QUICK_GATE_TESTS
        commands["test"] = [layer, link, dev_install, pytest_run]
    commands["install"].append(snapshot("install"))
    commands["test"].append(snapshot("test"))
    data["timeouts"].update(reload=60, health=30)
    data["health"]["interval"] = 0.1
    return to_toml(data)


def to_toml(data: dict[str, Any]) -> str:
    """Tables of scalars, arrays and inline tables; JSON strings are valid TOML strings."""
    lines = []
    for table, values in data.items():
        lines.append(f"[{table}]")
        for key, value in values.items():
            if isinstance(value, dict):
                items = ", ".join(f"{json.dumps(k)} = {json.dumps(v)}" for k, v in value.items())
                literal = "{ " + items + " }"
            elif isinstance(value, bool):
                literal = str(value).lower()
            else:
                literal = json.dumps(value)
            lines.append(f"{key} = {literal}")
    return "\n".join(lines) + "\n"


def set_up(d: Deployment, wheelhouse: Path) -> None:
    """The README's one-time set-up, with this machine's paths."""
    # The bare repository's main is this checkout's committed HEAD (a clone alone would take
    # the main repository's HEAD when this is a linked worktree).
    git(d.tmp, "clone", "-q", "--bare", str(ROOT), str(d.origin))
    git(d.origin, "update-ref", "refs/heads/main", git(ROOT, "rev-parse", "HEAD"))
    git(d.origin, "symbolic-ref", "HEAD", "refs/heads/main")
    git(d.tmp, "clone", "-q", str(d.origin), str(d.work))
    shared = d.deploy_to / "shared"
    (shared / "instance").mkdir(parents=True, mode=0o700)
    d.config.parent.mkdir(parents=True, mode=0o700)
    d.config.write_text(readme_config(d, wheelhouse))
    (d.config.parent / ".env").write_text(
        f"DEPLOYHOOK_SECRET={d.secret}\nDEPLOYHOOK_OPERATOR_TOKEN={d.token}\n"
    )
    app_env = [
        f"SECRET_KEY={secrets.token_hex(32)}",
        f"BOOKSHELF_INSTANCE_PATH={d.server_path(SERVER_ROOT + '/shared/instance')}",
    ]
    if d.database_url:
        app_env.append(f"DATABASE_URL={d.database_url}")
    (shared / ".env").write_text("\n".join(app_env) + "\n")
    for env_file in (d.config.parent / ".env", shared / ".env"):
        env_file.chmod(0o600)


def unit_command(d: Deployment) -> tuple[list[str], dict[str, str], Path]:
    """ExecStart, environment and working directory of deploy/bookshelf.service, as systemd
    would use them (Environment= first, then EnvironmentFile= overrides)."""
    text = d.server_path(UNIT.read_text().replace("\\\n", " "))
    env = {k: os.environ[k] for k in ("PATH", "HOME", "LANG") if k in os.environ}
    argv: list[str] = []
    cwd = Path("/")
    for line in text.splitlines():
        key, _, value = line.strip().partition("=")
        if key == "Environment":
            name, _, setting = value.partition("=")
            env[name] = setting
        elif key == "EnvironmentFile":
            path = Path(value.lstrip("-"))
            if path.exists():
                env.update({k: v for k, v in dotenv_values(path).items() if v is not None})
        elif key == "ExecStart":
            argv = shlex.split(value)
        elif key == "WorkingDirectory":
            cwd = Path(value)
    assert argv and env.get("BOOKSHELF_INSTANCE_PATH"), "the unit sets where data lives"
    # Test-only: fewer workers on a shared 2-core box, no access log.
    env.update(GUNICORN_WORKERS="2", GUNICORN_ACCESSLOG="")
    return argv, env, cwd


def start_servers(d: Deployment) -> None:
    argv, env, cwd = unit_command(d)
    d.pidfile.parent.mkdir(exist_ok=True)
    d.procs["gunicorn"] = start_server(
        argv,
        d.tmp / "gunicorn.log",
        cwd=cwd,
        env=env,
        ready=f"{d.app_url}/healthz",
        timeout=60,
        below=600,
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("DEPLOYHOOK_")}
    env["DEPLOYHOOK_CONFIG"] = str(d.config)
    d.procs["deployhook"] = start_deployhook(d.hook_port, d.tmp / "deployhook.log", env, cwd=d.tmp)


# -- what a user does and sees -----------------------------------------------------------------
@dataclass
class Reader:
    """A signed-up user with one book; keeps the session cookie from before the deploys."""

    username: str
    password: str
    book_id: int
    title: str
    session_cookie: str
    cover_url: str


def sign_up_and_add_a_book(d: Deployment) -> Reader:
    user = browser()
    username, password = f"reader{secrets.token_hex(3)}", secrets.token_urlsafe(12)
    token = csrf(user, f"{d.app_url}/users/new")
    form = {"csrf_token": token, "username": username, "password": password, "confirm": password}
    resp = user.post(f"{d.app_url}/users", data=form, timeout=10, allow_redirects=False)
    assert resp.status_code == 302, resp.text
    title = "The Left Hand of Darkness"
    token = csrf(user, f"{d.app_url}/books/new")
    book = {"csrf_token": token, "title": title, "author": "Ursula K. Le Guin"}
    book.update(pages_num="304", review="Kept across every deploy.")
    cover = {"cover": ("cover.png", cover_png(), "image/png")}
    resp = user.post(
        f"{d.app_url}/books", data=book, files=cover, timeout=10, allow_redirects=False
    )
    assert resp.status_code == 302, resp.text
    book_id = int(resp.headers["Location"].rstrip("/").rsplit("/", 1)[1])
    cover_url = requests.get(f"{d.app_url}/api/v1/books/{book_id}", timeout=10).json()["cover"]
    return Reader(username, password, book_id, title, user.cookies["session"], cover_url["url"])


def cover_png() -> bytes:
    import io

    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (200, 300), "#3d405b").save(out, "PNG")
    return out.getvalue()


def assert_reader_kept(d: Deployment, reader: Reader) -> None:
    """Same book (id and title), the account signs in, the old session is still signed in."""
    resp = requests.get(f"{d.app_url}/api/v1/books/{reader.book_id}", timeout=10)
    assert resp.status_code == 200, resp.text
    assert (resp.json()["id"], resp.json()["title"]) == (reader.book_id, reader.title)
    page = requests.get(f"{d.app_url}/books/{reader.book_id}", timeout=10)
    assert page.status_code == 200 and reader.title in page.text
    assert reader.cover_url in page.text
    cover = requests.get(f"{d.app_url}{reader.cover_url}", timeout=10)
    assert cover.status_code == 200 and cover.headers["Content-Type"] == "image/webp"
    fresh = browser()
    token = csrf(fresh, f"{d.app_url}/login")
    login = {"csrf_token": token, "username": reader.username, "password": reader.password}
    resp = fresh.post(f"{d.app_url}/login", data=login, timeout=10, allow_redirects=False)
    assert resp.status_code == 302, resp.text
    old = requests.get(
        f"{d.app_url}/books/new",
        headers={"Cookie": f"session={reader.session_cookie}"},
        timeout=10,
        allow_redirects=False,
    )
    assert old.status_code == 200, f"old session sent to {old.headers.get('Location')}"


def assert_data_outside_releases(d: Deployment) -> None:
    releases = d.deploy_to / "releases"
    inside = [p for p in releases.rglob("*") if p.suffix.startswith(".sqlite")]
    inside += list(releases.rglob("*.webp"))  # covers; `instance` there is a link to shared/
    assert inside == [], inside
    covers = d.deploy_to / "shared" / "instance" / "covers"
    assert len(list(covers.glob("*.webp"))) == 2  # the reader's cover and its thumbnail
    for release in releases.iterdir():
        assert not (release / ".venv" / "var").exists(), "instance folder inside a venv"
    if d.database_url is None:
        database = d.deploy_to / "shared" / "instance" / "bookshelf.sqlite3"
        assert database.stat().st_mode & 0o777 == 0o600
        assert releases.resolve() not in database.resolve().parents


def assert_gate_left_venv_alone(d: Deployment, sha: str) -> None:
    """What passed the gate is what goes live: .venv after the tests is .venv after install,
    and production carries no test tools."""
    after_install = (d.fingerprints / f"{sha}-install.txt").read_text().splitlines()
    after_tests = (d.fingerprints / f"{sha}-test.txt").read_text().splitlines()
    changed = sorted(set(after_install) ^ set(after_tests))
    assert changed == [], f"the test gate changed .venv: {changed[:10]}"
    venv = d.live_release() / ".venv"
    assert not list(venv.glob("lib/python*/site-packages/pytest*"))
    assert not list(venv.glob("lib/python*/site-packages/__editable__*"))


def count_rows(d: Deployment) -> dict[str, int]:
    tables = ("books", "users")
    if d.database_url is None:
        path = d.deploy_to / "shared" / "instance" / "bookshelf.sqlite3"
        with sqlite3.connect(path) as conn:
            return {t: conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in tables}  # noqa: S608
    import psycopg

    with psycopg.connect(d.database_url) as conn:
        return {t: conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in tables}  # noqa: S608


def book_columns(d: Deployment) -> set[str]:
    if d.database_url is None:
        path = d.deploy_to / "shared" / "instance" / "bookshelf.sqlite3"
        with sqlite3.connect(path) as conn:
            return {row[1] for row in conn.execute("PRAGMA table_info(books)")}
    import psycopg

    with psycopg.connect(d.database_url) as conn:
        rows = conn.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_name = 'books'"
        )
        return {row[0] for row in rows}


def add_column_migration(work: Path) -> dict[str, str]:
    """A new migration on top of the current head that adds a nullable column to books."""
    versions = work / "src" / "bookshelf" / "migrations" / "versions"
    revisions, parents = set(), set()
    for path in versions.glob("*.py"):
        text = path.read_text()
        revisions |= set(re.findall(r'^revision = "([^"]+)"', text, re.M))
        parents |= set(re.findall(r'^down_revision = "([^"]+)"', text, re.M))
    (head,) = revisions - parents
    body = f'''"""e2e: a column added by a deploy

Revision ID: e2e_shelf_note
Revises: {head}
"""

import sqlalchemy as sa
from alembic import op

revision = "e2e_shelf_note"
down_revision = "{head}"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("books", sa.Column("shelf_note", sa.String(80), nullable=True))


def downgrade() -> None:
    op.drop_column("books", "shelf_note")
'''
    return {str((versions / "9999_e2e_shelf_note.py").relative_to(work)): body}


def deploy_under_load(d: Deployment, sha: str) -> dict[str, Any]:
    """Push, and keep requests going from just before the switch until after it (not during
    install: the load would only slow the build on a small machine)."""
    before = d.served_commit()
    deploy_id = d.push_webhook(sha)
    d.wait(deploy_id, until_step="link shared")
    with LoadLoop(f"{d.app_url}/healthz", threads=2, max_s=300) as load:
        record = d.wait(deploy_id)
        time.sleep(0.3)
    assert record["status"] == "succeeded", json.dumps(record, indent=1)[-4000:]
    print(f"\ndeploy {sha[:7]}: {load.total} requests across the switch, {dict(load.ok)}")
    assert load.failures == [], load.failures[:5]
    assert load.ok[before] > 0 and load.ok[sha] > 0, dict(load.ok)
    assert d.served_commit() == sha
    return record


# -- the story -----------------------------------------------------------------------------------
@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def deployment(
    request: pytest.FixtureRequest, tmp_path: Path, wheelhouse: Path
) -> Iterator[Deployment]:
    with ExitStack() as stack:
        url = None
        if request.param == "postgresql":
            require_postgres()
            url = stack.enter_context(temporary_postgres_database("bookshelf_e2e"))
        d = Deployment(tmp_path, url)
        try:
            set_up(d, wheelhouse)
            yield d
        finally:
            for proc in d.procs.values():
                stop_group(proc)


@pytest.mark.timeout(4 * DEPLOY_SECONDS if FULL_GATE else DEPLOY_SECONDS)
def test_bookshelf_deploys_itself_and_keeps_every_book(deployment: Deployment) -> None:
    d = deployment
    check = d.cli("check-config")
    assert check.returncode == 0, check.stdout + check.stderr
    # First release: no app server to reload yet (the README's bootstrap).
    boot = d.cli("deploy", "--no-reload")
    assert boot.returncode == 0, boot.stdout + boot.stderr
    first = git(d.work, "rev-parse", "HEAD")
    assert_gate_left_venv_alone(d, first)
    start_servers(d)
    assert d.served_commit() == first
    reader = sign_up_and_add_a_book(d)

    second = d.commit("Say hello in the changelog", {"CHANGES.e2e": "hello\n"})
    deploy_under_load(d, second)
    assert_reader_kept(d, reader)
    assert_data_outside_releases(d)
    assert_gate_left_venv_alone(d, second)

    rows = count_rows(d)
    third = d.commit("Books get a shelf note", add_column_migration(d.work))
    deploy_under_load(d, third)
    assert "shelf_note" in book_columns(d)
    assert count_rows(d) == rows
    assert_reader_kept(d, reader)
    assert_data_outside_releases(d)

    with LoadLoop(f"{d.app_url}/healthz", threads=2) as load:
        back = d.cli("rollback")
    assert back.returncode == 0 and "succeeded" in back.stdout, back.stdout + back.stderr
    assert load.failures == [], load.failures[:5]
    assert d.served_commit() == second
    assert count_rows(d) == rows
    assert_reader_kept(d, reader)
    assert_data_outside_releases(d)
