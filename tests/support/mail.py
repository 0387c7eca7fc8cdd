"""A real SMTP server on loopback, so that mail is tested as sent, not as a mocked call."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from support.processes import free_port


@contextmanager
def smtp_server() -> Iterator[tuple[int, list[object]]]:
    """An aiosmtpd server on a loopback port; yields its port and the messages got.

    Each message is an `email.message.EmailMessage`, parsed from what the server received.
    """
    from email import message_from_bytes, policy

    from aiosmtpd.controller import Controller

    received: list[object] = []

    class Collect:
        async def handle_DATA(self, _server: object, _session: object, envelope: object) -> str:
            received.append(message_from_bytes(envelope.content, policy=policy.default))  # type: ignore[attr-defined]
            return "250 OK"

    controller = Controller(Collect(), hostname="127.0.0.1", port=free_port())
    controller.start()
    try:
        yield controller.port, received
    finally:
        controller.stop()
