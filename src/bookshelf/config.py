"""Configuration from the environment (and `.env`), with production-safe defaults."""

from __future__ import annotations

import datetime as dt
import os
import secrets
import site
import sys
import sysconfig
from pathlib import Path
from typing import Any

import click
from sqlalchemy.engine import make_url

# Keys that must never be accepted in production: well-known examples and placeholders.
KNOWN_BAD_SECRETS = {"BAD_SECRET_KEY", "dev", "secret", "changeme", "change-me", "development"}
MIN_SECRET_LENGTH = 32


class ConfigError(click.ClickException):
    """The app cannot start with this configuration. A click exception, so that `flask …`
    prints it as one "Error: …" line instead of a traceback; servers log it as usual."""


def database_url_from_env(instance_path: str) -> str:
    """Turn DATABASE_URL into an SQLAlchemy URL; default to SQLite in the instance folder."""
    url = os.environ.get("DATABASE_URL", "").strip()
    if not url:
        return f"sqlite:///{Path(instance_path) / 'bookshelf.sqlite3'}"
    # Heroku-style and plain URLs both mean psycopg 3.
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def is_development(debug: bool) -> bool:
    return debug or os.environ.get("BOOKSHELF_ENV", "production").lower() in {"development", "dev"}


def development_secret_key(instance_path: str) -> str:
    """A random key generated once per checkout, so dev sessions survive restarts."""
    key_file = Path(instance_path) / "secret_key"
    if not key_file.exists():
        make_private_dir(Path(instance_path))
        key_file.write_text(secrets.token_hex(32))
        key_file.chmod(0o600)
    return key_file.read_text().strip()


def check_production_secret(secret_key: str | None) -> None:
    if not secret_key:
        raise ConfigError(
            "SECRET_KEY is not set. In production, set it to a long random value, e.g. "
            "`python -c 'import secrets; print(secrets.token_hex(32))'`."
        )
    if secret_key in KNOWN_BAD_SECRETS or len(secret_key) < MIN_SECRET_LENGTH:
        raise ConfigError(
            f"SECRET_KEY is too weak: use at least {MIN_SECRET_LENGTH} random characters."
        )


def build_config(instance_path: str, debug: bool) -> dict[str, Any]:
    development = is_development(debug)
    secret_key = os.environ.get("SECRET_KEY")
    if not secret_key and development:
        secret_key = development_secret_key(instance_path)
    database_url = database_url_from_env(instance_path)
    return {
        "BOOKSHELF_DEVELOPMENT": development,
        "SECRET_KEY": secret_key,
        "SQLALCHEMY_DATABASE_URI": database_url,
        "SQLALCHEMY_ENGINE_OPTIONS": engine_options(database_url),
        "MAX_CONTENT_LENGTH": int(os.environ.get("MAX_CONTENT_LENGTH", 1024 * 1024)),
        # How long nginx or a CDN may keep a visitor's catalogue page (bookshelf.http_cache).
        "SHARED_CACHE_SECONDS": int(os.environ.get("SHARED_CACHE_SECONDS", "10")),
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": not development,
        "WTF_CSRF_TIME_LIMIT": None,  # the token lives as long as the session
        "REMEMBER_COOKIE_HTTPONLY": True,
        "REMEMBER_COOKIE_SAMESITE": "Lax",
        "REMEMBER_COOKIE_SECURE": not development,
        "RATELIMIT_STORAGE_URI": os.environ.get("RATELIMIT_STORAGE_URI", "memory://"),
        "RATELIMIT_HEADERS_ENABLED": True,
        "LOGIN_RATE_LIMIT": os.environ.get("LOGIN_RATE_LIMIT", "10 per minute"),
        # Number of reverse proxies (nginx) in front of the app whose X-Forwarded-* to trust.
        "TRUSTED_PROXIES": int(os.environ.get("TRUSTED_PROXIES", "0")),
        "BOOKSHELF_COMMIT": os.environ.get("BOOKSHELF_COMMIT"),
        # JSON API: origins whose browser scripts may call it (CORS; none by default) and an
        # optional per-client limit such as "300 per minute" (none by default).
        "API_CORS_ORIGINS": [
            origin.strip()
            for origin in os.environ.get("API_CORS_ORIGINS", "").split(",")
            if origin.strip()
        ],
        "API_RATE_LIMIT": os.environ.get("API_RATE_LIMIT", "").strip(),
        **account_settings(),
    }


def account_settings() -> dict[str, Any]:
    """Sessions, sign-in throttles and outgoing mail."""
    absolute_days = int(os.environ.get("SESSION_ABSOLUTE_DAYS", "90"))
    return {
        "SESSION_IDLE_DAYS": int(os.environ.get("SESSION_IDLE_DAYS", "14")),
        "SESSION_ABSOLUTE_DAYS": absolute_days,
        # The remember cookie cannot outlive the session row it names.
        "REMEMBER_COOKIE_DURATION": dt.timedelta(days=absolute_days),
        # Failed sign-ins per username (in the database, so shared by every process).
        "ACCOUNT_LOGIN_FAILURES": int(os.environ.get("ACCOUNT_LOGIN_FAILURES", "10")),
        "ACCOUNT_LOGIN_WINDOW_MINUTES": int(os.environ.get("ACCOUNT_LOGIN_WINDOW_MINUTES", "15")),
        "RESET_RATE_LIMIT": os.environ.get("RESET_RATE_LIMIT", "5 per hour"),
        # Keeps several apps (or test runs) apart in one shared Redis.
        "RATELIMIT_KEY_PREFIX": os.environ.get("RATELIMIT_KEY_PREFIX", "bookshelf"),
        # smtp://[user:password@]host[:port], smtps://... or smtp://...?starttls=1; unset: log.
        "MAIL_URL": os.environ.get("MAIL_URL", ""),
        "MAIL_FROM": os.environ.get("MAIL_FROM", "Bookshelf <bookshelf@localhost>"),
    }


def engine_options(database_url: str) -> dict[str, Any]:
    if database_url.startswith("sqlite"):
        return {}
    # No pool_pre_ping: it costs a round trip on every checkout, i.e. every request. The pool
    # pings only connections that sat idle (bookshelf.database), which is where a database
    # restart leaves dead ones.
    return {"pool_size": 5, "max_overflow": 5, "pool_timeout": 5}


# -- where data lives ---------------------------------------------------------------------------
# A deploy replaces the release and its virtualenv and later prunes old releases; a reinstall
# replaces site-packages. Data written there vanishes on the next deploy, or comes back stale
# with a rollback, so production refuses such locations before writing anything.


def sqlite_file(database_url: str) -> Path | None:
    """The file behind an SQLite URL (relative paths count from the working directory)."""
    url = make_url(database_url)
    if not url.drivername.startswith("sqlite"):
        return None
    name = url.database or ""
    if name in ("", ":memory:") or name.startswith("file:"):
        return None
    return Path(os.path.abspath(name))


def _package_dirs() -> list[tuple[Path, str]]:
    """Directories that an install owns, each with how to name it in a message."""
    dirs = [(Path(sys.prefix), f"the Python environment {sys.prefix}")]
    sites = {*site.getsitepackages(), sysconfig.get_paths()["purelib"]}
    sites.add(sysconfig.get_paths()["platlib"])
    dirs += [(Path(p), f"site-packages ({p})") for p in sorted(sites)]
    # A prefix of / (a container's system Python) would cover everything; skip it.
    return [(d.resolve(), label) for d, label in dirs if d.resolve() != Path("/")]


def _release_containing(path: Path) -> Path | None:
    """The release directory of a deploy tree (<root>/releases/<name>, next to
    <root>/current or <root>/shared) that holds ``path``, if any."""
    for parent in path.parents:
        if parent.parent.name == "releases":
            root = parent.parent.parent
            if (root / "current").is_symlink() or (root / "shared").is_dir():
                return parent
    return None


def volatile_location(path: Path) -> str | None:
    """Why ``path`` (resolved through symlinks) would not survive a deploy, or None."""
    resolved = path.resolve()
    release = _release_containing(resolved / "_")
    if release is not None:
        return f"the release {release}"
    for directory, label in _package_dirs():
        if resolved == directory or directory in resolved.parents:
            return label
    return None


def check_data_location(instance_path: str, database_url: str) -> None:
    """Refuse (one line, says what to set) data inside a release, a venv or site-packages."""
    place = volatile_location(Path(instance_path))
    if place:
        raise ConfigError(
            f"The instance folder {instance_path} is inside {place}, which a deploy or "
            "reinstall replaces: set BOOKSHELF_INSTANCE_PATH to a directory outside it, "
            "e.g. /srv/bookshelf/shared/instance."
        )
    database = sqlite_file(database_url)
    place = volatile_location(database) if database else None
    if place:
        raise ConfigError(
            f"The SQLite database {database} is inside {place}, which a deploy or reinstall "
            "replaces: set DATABASE_URL to a file outside it (or unset it to use "
            "BOOKSHELF_INSTANCE_PATH)."
        )


def make_private_dir(path: Path) -> None:
    """Create ``path`` for the app's user only (0700); an existing directory is left as is."""
    path.mkdir(mode=0o700, parents=True, exist_ok=True)


def prepare_sqlite_file(database: Path) -> None:
    """Create the database file 0600 before SQLite does (it would use 0644 under the usual
    umask); SQLite gives its -wal and -shm files the mode of the database file."""
    if not database.parent.is_dir():
        return  # SQLite reports the missing directory itself
    fd = os.open(database, os.O_CREAT | os.O_WRONLY, 0o600)
    os.close(fd)
    for path in (database, database.with_name(database.name + "-wal")):
        if path.exists() and path.stat().st_mode & 0o077:
            path.chmod(0o600)  # a file from before this rule; only its owner may read it


def prepare_data_paths(instance_path: str, database_url: str, production: bool) -> None:
    """Check (in production) and create the instance folder and the SQLite file, privately.

    Outside production the folder is created only when the default database goes there: a
    test run against an installed package must not write Flask's default folder, which lies
    inside the virtualenv under test.
    """
    instance = Path(instance_path)
    database = sqlite_file(database_url)
    if production:
        check_data_location(instance_path, database_url)
        make_private_dir(instance)
    elif database is not None and database.parent == instance:
        make_private_dir(instance)
    if database is not None:
        prepare_sqlite_file(database)
