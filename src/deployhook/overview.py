"""What the dashboard's "Live now" panel and the releases page show, gathered in one place."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime

from .config import Config
from .pipeline import ReleasePipeline
from .reload import Health
from .store import Deploy, Store

HEALTH_CACHE_SECONDS = 5.0


@dataclass(frozen=True)
class HealthAnswer:
    """The latest health probe: when, whether it answered, and what it said."""

    checked_at: datetime
    answered: bool
    value: str
    matches: bool


@dataclass(frozen=True)
class ReleaseInfo:
    """A release directory kept on disk and what is known about it."""

    name: str
    commit: str | None
    deploy: Deploy | None
    live: bool


@dataclass
class LiveNow:
    """The live release and the queue, for the dashboard."""

    release: str | None
    commit: str | None
    subject: str  # the commit message's first line, from git
    author: str  # the commit's author, from git
    deploy: Deploy | None
    previous: str | None
    health: HealthAnswer | None
    running: Deploy | None
    queued: list[Deploy] = field(default_factory=list)
    paused: bool = False


class HealthWatch:
    """Probes the app's health URL at most every few seconds, however often pages load."""

    def __init__(self, config: Config) -> None:
        self.health = (
            Health(config.health_url, config.health_commit_field) if config.health_url else None
        )
        self._last: tuple[float, bool, str] | None = None
        self._lock = threading.Lock()

    def answer(self, expected: str | None) -> HealthAnswer | None:
        """The cached or a fresh probe, compared with the commit that should be live."""
        if self.health is None:
            return None
        with self._lock:
            now = time.time()
            if self._last is None or now - self._last[0] > HEALTH_CACHE_SECONDS:
                answered, value = self.health.probe()
                self._last = (now, answered, value)
            at, answered, value = self._last
        return HealthAnswer(
            datetime.fromtimestamp(at, UTC), answered, value, answered and value == expected
        )


def releases(pipeline: ReleasePipeline, store: Store) -> list[ReleaseInfo]:
    """Kept releases, newest first, with their commits and the deploy that built them."""
    live = pipeline.live_release()
    return [
        ReleaseInfo(name, pipeline.release_commit(name), store.last_success_of(name), name == live)
        for name in reversed(pipeline.release_names())
    ]


def live_now(pipeline: ReleasePipeline, store: Store, watch: HealthWatch) -> LiveNow:
    """Everything the "Live now" panel shows."""
    release = pipeline.live_release()
    commit = pipeline.release_commit(release) if release else None
    deploy = store.last_success_of(release) if release else None
    subject, author = (pipeline.release_subject(release) if release else None) or ("", "")
    running_id = store.lock_holder()
    return LiveNow(
        release=release,
        commit=commit,
        subject=subject,
        author=author,
        deploy=deploy,
        previous=_previous(pipeline, release, deploy),
        health=watch.answer(commit) if release else None,
        running=store.get(running_id) if running_id else None,
        queued=store.queued(),
        paused=store.is_paused(),
    )


def _previous(pipeline: ReleasePipeline, live: str | None, deploy: Deploy | None) -> str | None:
    # What was live before this release went live, if it is still on disk; else the newest
    # older release (what `deployhook rollback` without a name would pick).
    names = pipeline.release_names()
    if deploy is not None and deploy.previous_release in names:
        return deploy.previous_release
    older = [n for n in names if live is not None and n < live]
    return older[-1] if older else None
