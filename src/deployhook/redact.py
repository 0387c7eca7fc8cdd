"""Masking known secrets in text that deployhook stores and shows.

Steps never receive deployhook's secrets (their environment is an allow-list), but a step can
still print one it found some other way, and git prints the URL it fetched from. Everything a
step prints passes through here before it reaches the database, so the dashboard, the API and
the database file only ever hold ``***`` in a secret's place.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Iterable
from urllib.parse import unquote, urlsplit

MASK = b"***"
# Shorter values would mask ordinary words; the config refuses such secrets anyway.
MIN_SECRET_LEN = 6
# user[:password]@ right after a scheme: https://user:token@host, ssh://token@host.
_URL_USERINFO = re.compile(rb"(\b[A-Za-z][A-Za-z0-9+.-]*://)[^\s/@'\"<>]+@")
# The tail of a chunk that may still become such a URL once the next chunk arrives.
_URL_START = re.compile(rb"[A-Za-z][A-Za-z0-9+.-]*(?::(?:/(?:/[^\s/@'\"<>]*)?)?)?\Z")
_HOLD_MAX = 512


def url_secrets(url: str, *, lone_user_is_token: bool = False) -> list[str]:
    """The password embedded in a URL, as written and percent-decoded.

    A user name is not secret (``postgresql://deployhook@…``), except where a token is
    given as the user name alone, as forges accept (``https://TOKEN@github.com/…``).
    """
    try:
        parts = urlsplit(url)
        user, password = parts.username, parts.password
    except ValueError:
        return []
    token_as_user = lone_user_is_token and parts.scheme in ("http", "https")
    value = password or (user if token_as_user else None)
    return [value, unquote(value)] if value else []


class Redactor:
    """Replaces given secret values and credentials inside URLs with ``***``."""

    def __init__(self, secrets: Iterable[str | None] = ()) -> None:
        values = {s.encode() for s in secrets if s and len(s) >= MIN_SECRET_LEN}
        # Longest first, so a secret that contains another is masked whole.
        self.secrets = sorted(values, key=len, reverse=True)

    def bytes(self, data: bytes) -> bytes:
        """``data`` with every known secret and URL credential masked."""
        for secret in self.secrets:
            data = data.replace(secret, MASK)
        return _URL_USERINFO.sub(rb"\1" + MASK + b"@", data)

    def text(self, value: str) -> str:
        """The same for text (step commands, reasons, notes)."""
        return self.bytes(value.encode("utf-8", "surrogateescape")).decode(
            "utf-8", "surrogateescape"
        )

    def unfinished(self, data: bytes) -> int:
        """How many trailing bytes could be the start of a secret or a credentialed URL."""
        hold = 0
        for secret in self.secrets:
            for k in range(min(len(secret) - 1, len(data)), hold, -1):
                if data.endswith(secret[:k]):
                    hold = k
                    break
        match = _URL_START.search(data[-_HOLD_MAX:])
        if match is not None:
            hold = max(hold, len(match.group()))
        return min(hold, _HOLD_MAX)

    def stream(self, sink: Callable[[bytes], None]) -> RedactingStream:
        """A writer that masks output arriving in arbitrary chunks before passing it on."""
        return RedactingStream(self, sink)


class RedactingStream:
    """Holds back a chunk's tail while it might be the first half of a secret."""

    def __init__(self, redactor: Redactor, sink: Callable[[bytes], None]) -> None:
        self.redactor = redactor
        self.sink = sink
        self.pending = b""
        self.lock = threading.Lock()

    def write(self, chunk: bytes) -> None:
        """Mask and pass on everything that can no longer turn into a secret."""
        with self.lock:
            data = self.redactor.bytes(self.pending + chunk)
            hold = self.redactor.unfinished(data)
            self.pending = data[len(data) - hold :] if hold else b""
            ready = data[: len(data) - hold]
        if ready:
            self.sink(ready)

    def close(self) -> None:
        """The output has ended: what was held back is final now."""
        with self.lock:
            rest, self.pending = self.redactor.bytes(self.pending), b""
        if rest:
            self.sink(rest)
