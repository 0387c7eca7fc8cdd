"""The worker: takes the newest queued deploy under the DB lock and runs the pipeline.

It runs as a thread inside ``deployhook serve`` (or alone as ``deployhook worker``). A thread
is enough because a deploy is mostly waiting on subprocesses (git, pip, tests, gunicorn), and
one process means one systemd unit to run. Correctness does not depend on it being the only
worker: the lock is a conditional UPDATE in the database, so a second process (a manual
``deployhook deploy``, a second serve) can never start a second deploy of the same app.
"""

from __future__ import annotations

import logging
import threading
from typing import Protocol

from .config import Config
from .notify import Notifier
from .redact import Redactor, url_secrets
from .results import Outcome
from .runner import StepLogger
from .store import Deploy, Store

log = logging.getLogger(__name__)


def redactor_for(config: Config) -> Redactor:
    """Masks every secret deployhook knows: its own two and credentials in its URLs."""
    return Redactor(
        [
            config.secret,
            config.operator_token,
            *url_secrets(config.git_url, lone_user_is_token=True),
            *url_secrets(config.database_url),
            *(target.secret for target in config.notify),
            # A Slack-style incoming webhook URL is itself the credential.
            *(target.url for target in config.notify if target.kind == "slack"),
            *(s for target in config.notify for s in url_secrets(target.mail_url)),
        ]
    )


class Pipeline(Protocol):
    """What the worker runs for a claimed deploy; ReleasePipeline is the real one."""

    def run(self, deploy: Deploy, steps: StepLogger) -> Outcome:
        """Do the deploy, logging every step; never leave the app half-switched."""
        ...


class Worker:
    """Claims and runs deploys one at a time; ``wake()`` makes a new push start promptly."""

    def __init__(
        self,
        store: Store,
        config: Config,
        pipeline: Pipeline,
        poll_interval: float = 1.0,
        heartbeat_interval: float = 10.0,
    ) -> None:
        self.store = store
        self.config = config
        self.pipeline = pipeline
        self.poll_interval = poll_interval
        self.heartbeat_interval = heartbeat_interval
        self.notifier = Notifier(store, config)
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def wake(self) -> None:
        """Called by the receiver after queueing, so the worker does not wait for its poll."""
        self._wake.set()

    def run_once(self) -> Deploy | None:
        """Claim and run at most one deploy; return it (finished) or None if nothing ran."""
        deploy = self.store.claim(debounce=self.config.debounce_seconds)
        if deploy is None:
            return None
        beat_stop = threading.Event()

        def beat() -> None:
            while not beat_stop.wait(self.heartbeat_interval):
                try:
                    self.store.heartbeat(deploy.id)
                except Exception:  # a missed heartbeat must not kill the deploy
                    log.exception("heartbeat failed")

        beater = threading.Thread(target=beat, name="deployhook-heartbeat", daemon=True)
        beater.start()
        steps = StepLogger(
            self.store, deploy.id, self.config.output_cap_bytes, redactor_for(self.config)
        )
        try:
            outcome = self.pipeline.run(deploy, steps)
        except Exception as exc:
            log.exception("deploy #%s crashed", deploy.id)
            outcome = Outcome("failed", f"internal error: {type(exc).__name__}: {exc}")
        finally:
            beat_stop.set()
            beater.join(timeout=1)
        steps.finish(outcome)
        # After the outcome is stored: a slow or failing receiver cannot change or delay it.
        self.notifier.submit(deploy.id)
        return self.store.get(deploy.id)

    def loop(self) -> None:
        """Run until stop(): process the queue, then sleep until woken or the poll interval."""
        while not self._stop.is_set():
            try:
                ran = self.run_once()
            except Exception:  # e.g. database briefly unavailable; retry on the next tick
                log.exception("worker tick failed")
                ran = None
            if ran is None:
                self._wake.wait(self._short_wait())
                self._wake.clear()

    def _short_wait(self) -> float:
        # While a debounced deploy waits, poll often enough to start right when it settles.
        if self.config.debounce_seconds:
            return min(self.poll_interval, max(self.config.debounce_seconds / 4, 0.05))
        return self.poll_interval

    def start(self) -> threading.Thread:
        """Recover from a previous crash, then start the loop in a daemon thread."""
        for deploy_id in self.store.recover():
            log.warning("deploy #%s was running when deployhook stopped: marked failed", deploy_id)
            recover = getattr(self.pipeline, "recover", None)
            deploy = self.store.get(deploy_id)
            if recover is not None and deploy is not None:
                try:
                    note = recover(deploy)
                except OSError as exc:
                    note = f"cleanup failed: {exc}"
                if note:
                    self.store.update_deploy(deploy_id, reason=f"{deploy.reason}; {note}")
        self._thread = threading.Thread(target=self.loop, name="deployhook-worker", daemon=True)
        self._thread.start()
        return self._thread

    def stop(self, timeout: float | None = None) -> None:
        """Ask the loop to end after the current deploy."""
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)
        self.notifier.drain(timeout or 0)
