"""Configuration from the environment (and `.env`), with production-safe defaults."""

from __future__ import annotations

import datetime as dt
import os
import secrets
from pathlib import Path
from typing import Any

# Keys that must never be accepted in production: the notes' example and common placeholders.
KNOWN_BAD_SECRETS = {"BAD_SECRET_KEY", "dev", "secret", "changeme", "change-me", "development"}
MIN_SECRET_LENGTH = 32


class ConfigError(RuntimeError):
    """The app cannot start with this configuration."""


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
        key_file.parent.mkdir(parents=True, exist_ok=True)
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
    # pre_ping lets the pool recover by itself after a database restart.
    return {"pool_pre_ping": True, "pool_size": 5, "max_overflow": 5, "pool_timeout": 5}
