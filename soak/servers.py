"""Start and stop what a soak run needs: a database, gunicorn instances, a private nginx."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from support import free_port, sqlalchemy_url, start_server, stop_group, wait_for_postgres

ROOT = Path(__file__).resolve().parents[1]
VENV_BIN = Path(sys.executable).parent
SECRET = "soak-secret-key-that-is-long-enough-0123456789abcdef"  # noqa: S105  (throwaway)


def app_env(database_url: str, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GUNICORN_", "FLASK_"))}
    env.update(
        DATABASE_URL=database_url,
        SECRET_KEY=SECRET,
        # Loopback HTTP: production settings except the Secure cookie flag (no TLS here).
        BOOKSHELF_ENV="development",
        RATELIMIT_STORAGE_URI="redis://127.0.0.1:6379",
        # Sign-ins of the load actors must not trip the limit; scale-out tests it on its own.
        LOGIN_RATE_LIMIT="100000 per hour",
        # SOAK_SRC: run another copy of the app (e.g. to measure a proposed fix).
        PYTHONPATH=os.environ.get("SOAK_SRC", str(ROOT / "src")),
        **extra,
    )
    return env


def prepare_database(database_url: str, users: int) -> list[tuple[str, str]]:
    """Migrate, and create `users` accounts each with an API token: [(username, token)]."""
    from flask_migrate import upgrade

    from bookshelf import create_app
    from bookshelf.extensions import db
    from bookshelf.users.accounts import create_user
    from bookshelf.users.tokens import issue_token

    url = sqlalchemy_url(database_url)
    app = create_app(
        {
            "TESTING": True,
            "SECRET_KEY": SECRET,
            "SQLALCHEMY_DATABASE_URI": url,
            "PASSWORD_HASH_METHOD": "scrypt:1024:8:1",
        }
    )
    accounts = []
    with app.app_context():
        upgrade()
        for n in range(users):
            user = create_user(f"soak{n}", PASSWORD)
            accounts.append((user.username, issue_token(user, "soak")[1]))
        db.engine.dispose()
    return accounts


PASSWORD = "soak password 123"  # noqa: S105  (throwaway test accounts)


@dataclass
class Gunicorn:
    """A gunicorn master in its own process group, with its workers."""

    port: int
    process: subprocess.Popen[bytes]
    log: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def workers(self) -> list[int]:
        children = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children")
        try:
            return [int(pid) for pid in children.read_text().split()]
        except OSError:
            return []

    def stop(self) -> None:
        # SIGTERM: gunicorn's graceful stop; workers finish the requests they hold.
        stop_group(self.process, signal.SIGTERM, timeout=15)


def start_gunicorn(env: dict[str, str], workers: int, workdir: Path, timeout: int = 30) -> Gunicorn:
    port = free_port()
    log = workdir / f"gunicorn-{port}.log"
    command = [
        str(VENV_BIN / "gunicorn"),
        "--bind",
        f"127.0.0.1:{port}",
        "--workers",
        str(workers),
        "--timeout",
        str(timeout),
        "--graceful-timeout",
        "10",
        "bookshelf:create_app()",
    ]
    url = f"http://127.0.0.1:{port}"
    server = Gunicorn(port, start_server(command, log, env=env, ready=f"{url}/healthz"), log)
    deadline = time.monotonic() + 20
    while len(server.workers()) < workers and time.monotonic() < deadline:
        time.sleep(0.1)
    return server


def rss_kib(pid: int) -> int | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        return None
    return None


def restart_postgres(down_seconds: float) -> tuple[float, float]:
    """Stop the cluster, wait, start it again (always). Returns (stopped_at, back_at)."""
    cluster = ["pg_ctlcluster", "--skip-systemctl-redirect", postgres_version(), "main"]
    stopped_at = time.monotonic()
    try:
        subprocess.run([*cluster, "stop", "-m", "fast"], check=True, timeout=60)  # noqa: S603
        stopped_at = time.monotonic()
        time.sleep(down_seconds)
    finally:
        subprocess.run([*cluster, "start"], check=True, timeout=60)  # noqa: S603
    wait_for_postgres(60)
    return stopped_at, time.monotonic()


def postgres_version() -> str:
    return sorted(os.listdir("/etc/postgresql"))[-1]
