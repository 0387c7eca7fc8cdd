"""Shared by every test package: services that may be missing locally but never in CI."""

from __future__ import annotations

import os
import re
import shutil
import socket
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

POSTGRES_ADMIN_URL = os.environ.get(
    "TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)
CHROMIUM = "/usr/bin/chromium"
IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}


def require(available: bool, what: str) -> None:
    """Skip with a visible reason on a developer's machine; fail in CI, where nothing may skip."""
    if available:
        return
    if IN_CI:
        pytest.fail(f"{what} is required when CI=true but is not available")
    pytest.skip(f"{what} is not available on this machine")


def postgres_available() -> bool:
    try:
        import psycopg

        with psycopg.connect(POSTGRES_ADMIN_URL, connect_timeout=3):
            return True
    except Exception:
        return False


def chromium_available() -> bool:
    return shutil.which(CHROMIUM) is not None


@contextmanager
def temporary_postgres_database(prefix: str) -> Iterator[str]:
    """Create a uniquely named database and drop it afterwards; yields its URL."""
    import psycopg

    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    assert re.fullmatch(r"[a-z0-9_]+", name)
    with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield POSTGRES_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    finally:
        with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def smtp_server() -> Iterator[tuple[int, list[object]]]:
    """A real SMTP server (aiosmtpd) on a loopback port; yields its port and the messages got.

    Each message is an `email.message.EmailMessage`, parsed from what the server received.
    """
    from email import message_from_bytes, policy

    from aiosmtpd.controller import Controller

    received: list[object] = []

    class Collect:
        async def handle_DATA(self, _server: object, _session: object, envelope: object) -> str:
            received.append(message_from_bytes(envelope.content, policy=policy.default))  # type: ignore[attr-defined]
            return "250 OK"

    port = free_port()
    controller = Controller(Collect(), hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield port, received
    finally:
        controller.stop()
