"""Notifications about finished deploys: a signed JSON webhook, a Slack-style incoming webhook,
or an email over SMTP.

They are sent by a thread of their own, after the deploy's outcome is stored: a slow or broken
receiver delays nothing and fails nothing. Each target gets up to ``attempts`` tries, each
bounded by ``timeout`` seconds, and every try is recorded for the deploy page.

The JSON webhook's body is documented in docs/DEPLOYHOOK.md; it is signed like GitHub signs
its webhooks: ``X-Deployhook-Signature-256: sha256=<hex HMAC-SHA256 of the raw body>``.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import queue
import smtplib
import ssl
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Any
from urllib.parse import parse_qs, unquote, urlparse

from .config import Config, NotifyTarget, mask_credentials
from .store import Deploy, Store, utcnow

log = logging.getLogger(__name__)

SIGNATURE_HEADER = "X-Deployhook-Signature-256"
RETRY_PAUSE = 1.0  # seconds before the second try; doubled after each failure
_WORDS = {"succeeded": "succeeded", "failed": "FAILED", "rolled_back": "was ROLLED BACK"}


@dataclass(frozen=True)
class Message:
    """One finished deploy, as every target is told about it."""

    event: str
    body: bytes  # the JSON document (the webhook body, also the source of the other formats)
    summary: str  # one line for Slack and the email subject
    text: str  # a few lines for the email body
    delivery: str  # the same id on every retry, so a receiver can drop duplicates


def payload(config: Config, deploy: Deploy) -> dict[str, Any]:
    """The documented JSON body of a notification."""
    data = deploy.to_dict()
    for key in ("delivery_id", "provider", "repository"):
        data.pop(key, None)
    return {
        "event": f"deploy.{deploy.status}",
        "app": config.app_name,
        "repository": config.repository,
        "deploy": {k: mask_credentials(v) if isinstance(v, str) else v for k, v in data.items()},
        "sent_at": utcnow().isoformat(),
    }


def message_for(config: Config, deploy: Deploy) -> Message:
    """Everything a target needs, built once per deploy."""
    body = json.dumps(payload(config, deploy), separators=(",", ":")).encode()
    sha = (deploy.commit_sha or "")[:10] or "-"
    first_line = (deploy.message or "").splitlines()[0] if deploy.message else ""
    summary = (
        f"{config.app_name}: deploy #{deploy.id} {_WORDS.get(deploy.status, deploy.status)} "
        f"({deploy.trigger}, {sha}{', ' + first_line if first_line else ''})"
    )
    lines = [
        summary,
        f"commit: {deploy.commit_sha or '-'} by {deploy.pusher or '-'}",
        f"release: {deploy.release or '-'} (previous: {deploy.previous_release or '-'})",
        f"duration: {deploy.duration:.1f}s" if deploy.duration is not None else "",
        f"reason: {deploy.reason}" if deploy.reason else "",
    ]
    text = mask_credentials("\n".join(line for line in lines if line))
    return Message(deploy.status, body, mask_credentials(summary), text, str(uuid.uuid4()))


def signature(secret: str, body: bytes) -> str:
    """The value of X-Deployhook-Signature-256 for ``body``."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def _post_json(url: str, body: bytes, headers: dict[str, str], timeout: float) -> str:
    request = urllib.request.Request(  # noqa: S310 - the URL is the operator's, http(s) only
        url, data=body, method="POST", headers={"Content-Type": "application/json", **headers}
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
            return f"HTTP {response.status}"
    except urllib.error.HTTPError as exc:
        raise DeliveryFailed(f"HTTP {exc.code}") from None
    except (OSError, ValueError) as exc:
        raise DeliveryFailed(f"{type(exc).__name__}: {exc}") from None


def send_webhook(target: NotifyTarget, message: Message) -> str:
    """POST the JSON body, signed with the target's secret."""
    headers = {
        SIGNATURE_HEADER: signature(target.secret, message.body),
        "X-Deployhook-Event": message.event,
        "X-Deployhook-Delivery": message.delivery,
        "User-Agent": "deployhook",
    }
    return _post_json(target.url, message.body, headers, target.timeout)


def send_slack(target: NotifyTarget, message: Message) -> str:
    """POST Slack's incoming-webhook format (also understood by Mattermost, Rocket.Chat)."""
    body = json.dumps({"text": message.summary}).encode()
    return _post_json(target.url, body, {"User-Agent": "deployhook"}, target.timeout)


def send_email(target: NotifyTarget, message: Message) -> str:
    """Send a plain-text email through the SMTP server in ``mail_url``."""
    url = urlparse(target.mail_url)
    email = EmailMessage()
    email["Subject"] = message.summary
    email["From"] = target.mail_from
    email["To"] = ", ".join(target.mail_to)
    email.set_content(message.text + "\n")
    starttls = parse_qs(url.query).get("starttls", ["0"])[0].lower() in ("1", "true", "yes")
    smtp_class = smtplib.SMTP_SSL if url.scheme == "smtps" else smtplib.SMTP
    try:
        with smtp_class(url.hostname or "", url.port or 0, timeout=target.timeout) as smtp:
            if starttls:
                smtp.starttls(context=ssl.create_default_context())
            if url.username:
                smtp.login(unquote(url.username), unquote(url.password or ""))
            smtp.send_message(email)
    except (OSError, smtplib.SMTPException) as exc:
        raise DeliveryFailed(f"{type(exc).__name__}: {exc}") from None
    return f"sent to {len(target.mail_to)} recipient(s)"


SENDERS: dict[str, Callable[[NotifyTarget, Message], str]] = {
    "webhook": send_webhook,
    "slack": send_slack,
    "email": send_email,
}


class DeliveryFailed(Exception):
    """One attempt did not get through; the message says why (no secrets in it)."""


def deliver(store: Store, deploy_id: int, target: NotifyTarget, message: Message) -> bool:
    """Up to ``attempts`` tries with a growing pause; each one recorded. True if one worked."""
    pause = RETRY_PAUSE
    for attempt in range(1, target.attempts + 1):
        started = time.monotonic()
        try:
            detail, ok = SENDERS[target.kind](target, message), True
        except DeliveryFailed as exc:
            detail, ok = str(exc), False
        except Exception as exc:  # a bug here must not stop the other targets
            log.exception("notification to %s crashed", target.label)
            detail, ok = f"internal error: {type(exc).__name__}", False
        took = time.monotonic() - started
        store.record_notification(
            deploy_id, target.label, message.event, attempt, ok, mask_credentials(detail), took
        )
        if ok:
            return True
        if attempt < target.attempts:
            time.sleep(pause)
            pause *= 2
    log.warning("notification of deploy #%s to %s failed", deploy_id, target.label)
    return False


class Notifier:
    """A background thread that works through finished deploys, one at a time."""

    def __init__(self, store: Store, config: Config) -> None:
        self.store = store
        self.config = config
        self._queue: queue.Queue[int | None] = queue.Queue()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def wanted(self, deploy: Deploy) -> list[NotifyTarget]:
        """Targets that asked for this deploy's outcome."""
        return [t for t in self.config.notify if deploy.status in t.events]

    def submit(self, deploy_id: int) -> None:
        """Queue a finished deploy; returns at once."""
        if not self.config.notify:
            return
        with self._lock:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(
                    target=self._run, name="deployhook-notify", daemon=True
                )
                self._thread.start()
        self._queue.put(deploy_id)

    def _run(self) -> None:
        while (deploy_id := self._queue.get()) is not None:
            try:
                self.send(deploy_id)
            except Exception:  # the notifier must outlive any single failure
                log.exception("notifications for deploy #%s failed", deploy_id)
            finally:
                self._queue.task_done()
        self._queue.task_done()

    def send(self, deploy_id: int) -> None:
        """Tell every interested target about one deploy (in this thread)."""
        deploy = self.store.get(deploy_id)
        if deploy is None:
            return
        targets = self.wanted(deploy)
        if targets:
            message = message_for(self.config, deploy)
            for target in targets:
                deliver(self.store, deploy_id, target, message)

    def drain(self, timeout: float) -> bool:
        """Wait up to ``timeout`` seconds for queued notifications; True if all were sent."""
        deadline = time.monotonic() + timeout
        while self._queue.unfinished_tasks and time.monotonic() < deadline:
            time.sleep(0.05)
        return not self._queue.unfinished_tasks
