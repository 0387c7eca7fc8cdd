"""Deploy history and the per-app lock, on SQLite (default) or PostgreSQL."""

from __future__ import annotations

import json
import os
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    TypeDecorator,
    create_engine,
    event,
    func,
    inspect,
    select,
    text,
    update,
)
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import IntegrityError, OperationalError, ProgrammingError
from sqlalchemy.orm import (
    DeclarativeBase,
    Mapped,
    Session,
    mapped_column,
    relationship,
    sessionmaker,
)

from deployhook import procs

STATUSES = ("queued", "running", "succeeded", "failed", "rolled_back", "superseded", "cancelled")
FINAL = frozenset(STATUSES) - {"queued", "running"}


def utcnow() -> datetime:
    """Current UTC time; called per row, never at import."""
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """Store UTC, always hand back aware datetimes (SQLite drops the zone otherwise)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is not None and value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value.astimezone(UTC) if value is not None else None

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is not None and value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value


@dataclass(frozen=True)
class DeliveryRecord:
    """What recording a delivery did: ``duplicate`` when its key had been seen before (then
    nothing was stored), else the deploy stored with it, if any."""

    duplicate: bool
    deploy: Deploy | None = None


class Base(DeclarativeBase):
    """Declarative base for deployhook's tables."""


class Deploy(Base):
    """One requested deploy (webhook, manual or rollback) and its outcome."""

    __tablename__ = "deploys"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    app: Mapped[str] = mapped_column(String(64), index=True)
    trigger: Mapped[str] = mapped_column(String(16), default="webhook")
    delivery_id: Mapped[str | None] = mapped_column(String(220))
    provider: Mapped[str] = mapped_column(String(16), default="")
    repository: Mapped[str] = mapped_column(String(300), default="")
    ref: Mapped[str] = mapped_column(String(255), default="")
    commit_sha: Mapped[str | None] = mapped_column(String(64))  # SHA-256 repositories
    pusher: Mapped[str] = mapped_column(String(100), default="")
    message: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(16), default="queued", index=True)
    reason: Mapped[str] = mapped_column(Text, default="")
    release: Mapped[str | None] = mapped_column(String(200))
    previous_release: Mapped[str | None] = mapped_column(String(200))
    options: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # Set by an operator's cancel while the deploy runs; the runner ends the step's process
    # group and the pipeline stops before the switch.
    cancel_requested_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    queued_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    steps: Mapped[list[Step]] = relationship(
        back_populates="deploy", order_by="Step.position", cascade="all, delete-orphan"
    )
    # A fleet deploy's per-host state; empty for a single-host deploy. Loaded with the deploy
    # (one extra query), so every reader gets it without a session.
    hosts: Mapped[list[HostState]] = relationship(
        back_populates="deploy",
        order_by="HostState.position",
        cascade="all, delete-orphan",
        lazy="selectin",
    )

    __table_args__ = (
        # Second line of defence behind AppLock: the database itself refuses a second
        # running deploy for the same app, whatever process tries.
        Index(
            "one_running_per_app",
            "app",
            unique=True,
            sqlite_where=text("status = 'running'"),
            postgresql_where=text("status = 'running'"),
        ),
    )

    @property
    def duration(self) -> float | None:
        """Seconds between start and finish (or now, while running)."""
        if self.started_at is None:
            return None
        end = self.finished_at or utcnow()
        return (end - self.started_at).total_seconds()

    def to_dict(self, with_steps: bool = False) -> dict[str, Any]:
        """JSON-ready view for the API."""
        data: dict[str, Any] = {
            "id": self.id,
            "app": self.app,
            "trigger": self.trigger,
            "delivery_id": self.delivery_id,
            "provider": self.provider,
            "repository": self.repository,
            "ref": self.ref,
            "commit": self.commit_sha,
            "pusher": self.pusher,
            "message": self.message,
            "status": self.status,
            "reason": self.reason,
            "release": self.release,
            "previous_release": self.previous_release,
            "queued_at": _iso(self.queued_at),
            "started_at": _iso(self.started_at),
            "finished_at": _iso(self.finished_at),
            "duration": self.duration,
        }
        if with_steps:
            data["steps"] = [s.to_dict() for s in self.steps]
            data["hosts"] = [h.to_dict() for h in self.hosts]
        return data


class Step(Base):
    """One command of a deploy: what ran, how it ended, how long, what it printed."""

    __tablename__ = "steps"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    deploy_id: Mapped[int] = mapped_column(ForeignKey("deploys.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(64))
    command: Mapped[str] = mapped_column(Text, default="")
    exit_code: Mapped[int | None] = mapped_column(Integer)
    duration: Mapped[float | None] = mapped_column(Float)
    output: Mapped[str] = mapped_column(Text, default="")
    started_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # The step's process group and the boot it ran in: after a crash, recovery ends the
    # group, but only in the same boot (after a reboot the number may be someone else's).
    pgid: Mapped[int | None] = mapped_column(Integer)
    boot_id: Mapped[str | None] = mapped_column(String(64))
    # The fleet host a step ran on (its [[hosts]] name); NULL: the deploy host itself.
    host: Mapped[str | None] = mapped_column(String(40))

    deploy: Mapped[Deploy] = relationship(back_populates="steps")

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready view for the API."""
        return {
            "position": self.position,
            "name": self.name,
            "command": json.loads(self.command) if self.command else None,
            "exit_code": self.exit_code,
            "duration": self.duration,
            "output": self.output,
            "started_at": _iso(self.started_at),
            "finished_at": _iso(self.finished_at),
            "running": self.finished_at is None,
            "host": self.host,
        }


HOST_STATUSES = (
    "pending",  # nothing done on the host yet
    "shipped",  # the release is unpacked and installed there, not live
    "live",  # the new release serves there and is healthy
    "failed",  # the host could not be reached, shipped to, switched or made healthy
    "rolled_back",  # it was switched, and is back on its previous release
    "untouched",  # the deploy stopped before switching it; its live release is unchanged
)


class HostState(Base):
    """One fleet host in one deploy: how far it got, what it serves now, and why."""

    __tablename__ = "deploy_hosts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    deploy_id: Mapped[int] = mapped_column(ForeignKey("deploys.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    host: Mapped[str] = mapped_column(String(40))
    address: Mapped[str] = mapped_column(String(300), default="")
    status: Mapped[str] = mapped_column(String(16), default="pending")
    # What the host serves at the end of this deploy (or now, while it runs), as far as known.
    live_commit: Mapped[str | None] = mapped_column(String(64))
    live_release: Mapped[str | None] = mapped_column(String(200))
    previous_release: Mapped[str | None] = mapped_column(String(200))
    reason: Mapped[str] = mapped_column(Text, default="")
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    deploy: Mapped[Deploy] = relationship(back_populates="hosts")

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready view for the API."""
        return {
            "host": self.host,
            "address": self.address,
            "status": self.status,
            "live_commit": self.live_commit,
            "live_release": self.live_release,
            "previous_release": self.previous_release,
            "reason": self.reason,
            "updated_at": _iso(self.updated_at),
        }


class Delivery(Base):
    """Every verified delivery id, so a replayed request is recognised and not redeployed."""

    __tablename__ = "deliveries"

    key: Mapped[str] = mapped_column(String(240), primary_key=True)
    event: Mapped[str] = mapped_column(String(64), default="")
    outcome: Mapped[str] = mapped_column(String(200), default="")
    deploy_id: Mapped[int | None] = mapped_column(Integer)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class AppLock(Base):
    """One row per app; ``deploy_id`` non-null means a deploy holds it."""

    __tablename__ = "app_locks"

    app: Mapped[str] = mapped_column(String(64), primary_key=True)
    deploy_id: Mapped[int | None] = mapped_column(Integer)
    owner: Mapped[str | None] = mapped_column(String(200))
    heartbeat_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # While paused, webhook deploys stay queued (operator deploys still run); NULL on rows
    # made by an older deployhook means not paused.
    paused: Mapped[bool | None] = mapped_column(Boolean)


class AuditEntry(Base):
    """One operator action: who (name given at sign-in, or the API token), when, from where."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    app: Mapped[str] = mapped_column(String(64), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    actor: Mapped[str] = mapped_column(String(100), default="")
    address: Mapped[str] = mapped_column(String(64), default="")
    action: Mapped[str] = mapped_column(String(32))
    detail: Mapped[str] = mapped_column(Text, default="")
    deploy_id: Mapped[int | None] = mapped_column(Integer)


class NotificationAttempt(Base):
    """One attempt to tell a target about a finished deploy, and how it went."""

    __tablename__ = "notification_attempts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    deploy_id: Mapped[int] = mapped_column(Integer, index=True)
    target: Mapped[str] = mapped_column(String(300))
    event: Mapped[str] = mapped_column(String(16))
    attempt: Mapped[int] = mapped_column(Integer)
    ok: Mapped[bool] = mapped_column(Boolean)
    detail: Mapped[str] = mapped_column(Text, default="")
    duration: Mapped[float] = mapped_column(Float, default=0.0)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def owner_id() -> str:
    """Identifies this process in the lock row, so recovery can tell dead owners apart."""
    return f"{socket.gethostname()}:{os.getpid()}"


class Store:
    """All database access; safe to share between the web threads and the worker thread."""

    def __init__(self, url: str, app_name: str) -> None:
        self.app_name = app_name
        self.owner = owner_id()
        kwargs: dict[str, Any] = {"future": True}
        if url.startswith("sqlite"):
            kwargs["connect_args"] = {"check_same_thread": False, "timeout": 30}
            database = make_url(url).database
            if database and database != ":memory:" and not database.startswith("file:"):
                _private_sqlite_files(Path(database))
        else:
            kwargs["pool_pre_ping"] = True
        self.engine: Engine = create_engine(url, **kwargs)
        if url.startswith("sqlite"):
            _sqlite_serialised(self.engine)
        self.sessions = sessionmaker(self.engine, expire_on_commit=False)
        Base.metadata.create_all(self.engine)
        _add_missing_columns(self.engine)
        with self.session() as s:
            if s.get(AppLock, app_name) is None:
                s.add(AppLock(app=app_name))
                try:
                    s.commit()
                except IntegrityError:  # another process created it first
                    s.rollback()

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A session that is always closed; callers commit explicitly."""
        with self.sessions() as s:
            yield s

    # -- receiving ---------------------------------------------------------------
    def record_delivery(
        self, key: str | None, event: str, outcome: str, deploy: Deploy | None = None
    ) -> DeliveryRecord:
        """Store the delivery (and its deploy) in one transaction.

        A key seen before rolls the whole transaction back, the deploy with it, and the
        result says ``duplicate``; otherwise it carries the stored deploy (if one was given).
        """
        with self.session() as s:
            if deploy is not None:
                s.add(deploy)
                s.flush()
            if key is not None:
                s.add(
                    Delivery(
                        key=key,
                        event=event[:64],
                        outcome=outcome[:200],
                        deploy_id=deploy.id if deploy else None,
                    )
                )
            try:
                s.commit()
            except IntegrityError:
                s.rollback()
                return DeliveryRecord(duplicate=True)
            return DeliveryRecord(duplicate=False, deploy=deploy)

    def enqueue(self, **fields: Any) -> Deploy:
        """Queue a manual or rollback deploy (no delivery id)."""
        deploy = Deploy(app=self.app_name, status="queued", **fields)
        with self.session() as s:
            s.add(deploy)
            s.commit()
            return deploy

    # -- the queue ---------------------------------------------------------------
    def claim(self, debounce: float = 0.0) -> Deploy | None:
        """Take the app lock and start the newest queued deploy; older queued ones are superseded.

        The lock is a conditional UPDATE on one row, so across threads *and* processes
        exactly one caller gets rowcount 1; the partial unique index backs it up.
        """
        with self.session() as s:
            lock = s.get(AppLock, self.app_name)
            paused = bool(lock and lock.paused)
            # While paused only operator deploys run; webhook ones wait for resume.
            eligible = [Deploy.app == self.app_name, Deploy.status == "queued"]
            if paused:
                eligible.append(Deploy.trigger != "webhook")
            newest = s.scalars(
                select(Deploy).where(*eligible).order_by(Deploy.id.desc()).limit(1)
            ).first()
            if newest is None:
                s.rollback()
                return None
            if debounce and (utcnow() - newest.queued_at).total_seconds() < debounce:
                # A burst of pushes is likely still arriving; let it settle so the newest wins.
                s.rollback()
                return None
            now = utcnow()
            got = s.execute(
                update(AppLock)
                .where(AppLock.app == self.app_name, AppLock.deploy_id.is_(None))
                .values(deploy_id=newest.id, owner=self.owner, heartbeat_at=now)
            ).rowcount
            if got != 1:
                s.rollback()
                return None
            s.execute(
                update(Deploy)
                .where(*eligible, Deploy.id < newest.id)
                .values(
                    status="superseded",
                    reason=f"superseded by newer deploy #{newest.id}",
                    finished_at=now,
                )
            )
            started = s.execute(
                update(Deploy)
                .where(Deploy.id == newest.id, Deploy.status == "queued")
                .values(status="running", started_at=now)
            ).rowcount
            if started != 1:  # cancelled between our read and our write
                s.rollback()
                return None
            s.commit()
        return self.get(newest.id)

    def heartbeat(self, deploy_id: int) -> None:
        """Refresh the lock so other hosts can tell a live owner from a dead one."""
        with self.session() as s:
            s.execute(
                update(AppLock)
                .where(AppLock.app == self.app_name, AppLock.deploy_id == deploy_id)
                .values(heartbeat_at=utcnow())
            )
            s.commit()

    def finish(self, deploy_id: int, status: str, reason: str = "", **fields: Any) -> None:
        """Record the outcome and release the lock in the same transaction."""
        assert status in FINAL
        with self.session() as s:
            s.execute(
                update(Deploy)
                .where(Deploy.id == deploy_id)
                .values(status=status, reason=reason[:2000], finished_at=utcnow(), **fields)
            )
            s.execute(
                update(AppLock)
                .where(AppLock.app == self.app_name, AppLock.deploy_id == deploy_id)
                .values(deploy_id=None, owner=None, heartbeat_at=None)
            )
            s.commit()

    def update_deploy(self, deploy_id: int, **fields: Any) -> None:
        """Set fields discovered while running (resolved sha, release name)."""
        with self.session() as s:
            s.execute(update(Deploy).where(Deploy.id == deploy_id).values(**fields))
            s.commit()

    def cancel(self, deploy_id: int) -> bool:
        """Cancel a deploy that has not started yet."""
        with self.session() as s:
            n = s.execute(
                update(Deploy)
                .where(Deploy.id == deploy_id, Deploy.status == "queued")
                .values(status="cancelled", reason="cancelled by operator", finished_at=utcnow())
            ).rowcount
            s.commit()
            return n == 1

    def request_cancel(self, deploy_id: int) -> str:
        """Cancel a queued deploy now, or ask the worker to stop a running one.

        Returns "cancelled", "requested" (running: the worker ends it before the switch) or
        "" when the deploy is already finished.
        """
        if self.cancel(deploy_id):
            return "cancelled"
        with self.session() as s:
            n = s.execute(
                update(Deploy)
                .where(Deploy.id == deploy_id, Deploy.status == "running")
                .values(cancel_requested_at=utcnow())
            ).rowcount
            s.commit()
        return "requested" if n == 1 else ""

    def cancel_requested(self, deploy_id: int) -> bool:
        """True once an operator asked to cancel this running deploy."""
        with self.session() as s:
            return (
                s.scalar(select(Deploy.cancel_requested_at).where(Deploy.id == deploy_id))
                is not None
            )

    # -- pause and audit ---------------------------------------------------------------
    def set_paused(self, paused: bool) -> None:
        """Hold (or release) automatic deploys; webhooks are still recorded and queued."""
        with self.session() as s:
            s.execute(update(AppLock).where(AppLock.app == self.app_name).values(paused=paused))
            s.commit()

    def is_paused(self) -> bool:
        """Whether automatic deploys are on hold."""
        with self.session() as s:
            lock = s.get(AppLock, self.app_name)
            return bool(lock and lock.paused)

    def audit(
        self, actor: str, address: str, action: str, detail: str = "", deploy_id: int | None = None
    ) -> None:
        """Append an operator action to the audit log."""
        with self.session() as s:
            s.add(
                AuditEntry(
                    app=self.app_name,
                    actor=actor[:100],
                    address=address[:64],
                    action=action[:32],
                    detail=detail,
                    deploy_id=deploy_id,
                )
            )
            s.commit()

    def audit_entries(self, limit: int = 200) -> list[AuditEntry]:
        """Newest first."""
        with self.session() as s:
            return list(
                s.scalars(
                    select(AuditEntry)
                    .where(AuditEntry.app == self.app_name)
                    .order_by(AuditEntry.id.desc())
                    .limit(limit)
                ).all()
            )

    def record_notification(
        self,
        deploy_id: int,
        target: str,
        event: str,
        attempt: int,
        ok: bool,
        detail: str,
        duration: float,
    ) -> None:
        """Keep one notification attempt, for the deploy page."""
        with self.session() as s:
            s.add(
                NotificationAttempt(
                    deploy_id=deploy_id,
                    target=target[:300],
                    event=event,
                    attempt=attempt,
                    ok=ok,
                    detail=detail[:2000],
                    duration=duration,
                )
            )
            s.commit()

    def notifications(self, deploy_id: int) -> list[NotificationAttempt]:
        """Attempts for one deploy, oldest first."""
        with self.session() as s:
            return list(
                s.scalars(
                    select(NotificationAttempt)
                    .where(NotificationAttempt.deploy_id == deploy_id)
                    .order_by(NotificationAttempt.id)
                ).all()
            )

    def queued(self) -> list[Deploy]:
        """Deploys waiting for the worker, newest first."""
        with self.session() as s:
            return list(
                s.scalars(
                    select(Deploy)
                    .where(Deploy.app == self.app_name, Deploy.status == "queued")
                    .order_by(Deploy.id.desc())
                ).all()
            )

    def last_success_of(self, release: str) -> Deploy | None:
        """The deploy that made ``release`` live most recently."""
        with self.session() as s:
            return s.scalars(
                select(Deploy)
                .where(
                    Deploy.app == self.app_name,
                    Deploy.release == release,
                    Deploy.status == "succeeded",
                )
                .order_by(Deploy.id.desc())
                .limit(1)
            ).first()

    def recover(self, stale_after: float = 120.0, grace: float = 5.0) -> list[int]:
        """On start: if the lock's owner died, end the process groups of its unfinished steps
        (TERM, then KILL after ``grace`` seconds), fail its deploys and free the lock.

        The groups are ended first: a deploy marked failed must not go on changing releases.
        Returns the ids of the deploys marked failed.
        """
        with self.session() as s:
            if not self._owner_dead(s.get(AppLock, self.app_name), stale_after):
                return []
            unfinished = s.execute(
                select(Step.id, Step.pgid, Step.boot_id)
                .join(Deploy, Step.deploy_id == Deploy.id)
                .where(
                    Deploy.app == self.app_name,
                    Deploy.status == "running",
                    Step.finished_at.is_(None),
                )
            ).all()
        notes = {step_id: _end_orphan(pgid, boot, grace) for step_id, pgid, boot in unfinished}
        return self._fail_running(notes)

    def _owner_dead(self, lock: AppLock | None, stale_after: float) -> bool:
        if lock is None or lock.deploy_id is None or not lock.owner:
            return True
        owner_host, _, pid = lock.owner.rpartition(":")
        if owner_host == socket.gethostname() and pid.isdigit():
            return int(pid) == os.getpid() or not procs.pid_alive(int(pid))
        beat = lock.heartbeat_at or datetime.min.replace(tzinfo=UTC)
        return utcnow() - beat > timedelta(seconds=stale_after)

    def _fail_running(self, step_notes: dict[int, str]) -> list[int]:
        recovered: list[int] = []
        now = utcnow()
        with self.session() as s:
            running = s.scalars(
                select(Deploy).where(Deploy.app == self.app_name, Deploy.status == "running")
            ).all()
            for deploy in running:
                notes = [step_notes[st.id] for st in deploy.steps if step_notes.get(st.id)]
                deploy.status = "failed"
                deploy.reason = "; ".join(
                    [
                        "deployhook stopped while this deploy was running; marked failed on "
                        "restart (check the release and the live app before redeploying)",
                        *notes,
                    ]
                )
                deploy.finished_at = now
                for step in deploy.steps:
                    if step.finished_at is None:
                        step.finished_at = now
                        note = step_notes.get(step.id) or "no process group recorded"
                        step.output += f"\n[deployhook stopped during this step; {note}]"
                recovered.append(deploy.id)
            lock = s.get(AppLock, self.app_name)
            if lock is not None:
                lock.deploy_id = None
                lock.owner = None
                lock.heartbeat_at = None
            s.commit()
        return recovered

    # -- fleet hosts -------------------------------------------------------------
    def set_host(self, deploy_id: int, host: str, **fields: Any) -> None:
        """Create or update one host's row of a deploy."""
        assert fields.get("status", "pending") in HOST_STATUSES
        if "reason" in fields:
            fields["reason"] = fields["reason"][:2000]
        with self.session() as s:
            row = s.scalars(
                select(HostState).where(HostState.deploy_id == deploy_id, HostState.host == host)
            ).first()
            if row is None:
                count = s.scalar(
                    select(func.count(HostState.id)).where(HostState.deploy_id == deploy_id)
                )
                row = HostState(deploy_id=deploy_id, host=host, position=(count or 0) + 1)
                s.add(row)
            for key, value in fields.items():
                setattr(row, key, value)
            row.updated_at = utcnow()
            s.commit()

    def fleet_state(self) -> dict[str, HostState]:
        """Each host's newest row that knows what the host serves: the fleet as last seen."""
        with self.session() as s:
            rows = s.scalars(
                select(HostState)
                .join(Deploy, HostState.deploy_id == Deploy.id)
                .where(Deploy.app == self.app_name, HostState.live_commit.is_not(None))
                .order_by(HostState.deploy_id, HostState.id)
            ).all()
        return {row.host: row for row in rows}

    # -- steps -------------------------------------------------------------------
    def start_step(
        self, deploy_id: int, name: str, command: list[str] | None, host: str | None = None
    ) -> int:
        """Create a step row before the command runs, so the dashboard shows it live."""
        with self.session() as s:
            position = s.scalar(select(func.count(Step.id)).where(Step.deploy_id == deploy_id)) or 0
            step = Step(
                deploy_id=deploy_id,
                position=position + 1,
                name=name,
                command=json.dumps(command) if command is not None else "",
                host=host,
            )
            s.add(step)
            s.commit()
            return step.id

    def step_process(self, step_id: int, pgid: int) -> None:
        """Remember the process group a step runs in (and this boot), for crash recovery."""
        with self.session() as s:
            s.execute(
                update(Step).where(Step.id == step_id).values(pgid=pgid, boot_id=procs.boot_id())
            )
            s.commit()

    def step_output(self, step_id: int, output: str) -> None:
        """Replace the (capped) output while the command is still running."""
        with self.session() as s:
            s.execute(update(Step).where(Step.id == step_id).values(output=output))
            s.commit()

    def end_step(self, step_id: int, exit_code: int | None, duration: float, output: str) -> None:
        """Record how a step ended."""
        with self.session() as s:
            s.execute(
                update(Step)
                .where(Step.id == step_id)
                .values(exit_code=exit_code, duration=duration, output=output, finished_at=utcnow())
            )
            s.commit()

    # -- reading -----------------------------------------------------------------
    def get(self, deploy_id: int) -> Deploy | None:
        """One deploy with its steps loaded."""
        with self.session() as s:
            deploy = s.get(Deploy, deploy_id)
            if deploy is not None:
                _ = list(deploy.steps)
            return deploy

    def latest(self, limit: int = 50) -> list[Deploy]:
        """Newest first."""
        with self.session() as s:
            return list(
                s.scalars(
                    select(Deploy)
                    .where(Deploy.app == self.app_name)
                    .order_by(Deploy.id.desc())
                    .limit(limit)
                ).all()
            )

    def lock_holder(self) -> int | None:
        """Deploy id holding the app lock, if any."""
        with self.session() as s:
            lock = s.get(AppLock, self.app_name)
            return lock.deploy_id if lock else None

    def close(self) -> None:
        """Dispose of pooled connections."""
        self.engine.dispose()


def _sqlite_serialised(engine: Engine) -> None:
    # pysqlite's deferred transactions can fail with "database is locked" when a reader
    # upgrades to a writer; BEGIN IMMEDIATE takes the write lock up front and the
    # busy timeout makes concurrent writers queue instead of erroring.
    @event.listens_for(engine, "connect")
    def _connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cur = dbapi_connection.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA busy_timeout=30000")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.close()

    @event.listens_for(engine, "begin")
    def _begin(conn: Any) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE")


def _end_orphan(pgid: int | None, boot: str | None, grace: float) -> str:
    """End a dead owner's step group; say what happened, for the deploy's reason."""
    if pgid is None:
        return ""
    if not boot or boot != procs.boot_id():
        return f"process group {pgid} ran on another machine or before a reboot; not touched"
    if procs.end_group(pgid, grace):
        return f"ended process group {pgid} (its step was still running)"
    return f"process group {pgid} had already exited"


def _private_sqlite_files(database: Path) -> None:
    # The database holds every step's output: readable by the deploy user only, whatever
    # the umask. SQLite gives its -wal, -shm and -journal files the main file's mode, so
    # creating that one 0600 before SQLite opens it covers them; files left by an older
    # version are tightened here.
    if not database.parent.exists():
        # First start on a fresh server: deploy_to may not exist yet.
        database.parent.mkdir(parents=True, exist_ok=True)
        database.parent.chmod(0o700)
    os.close(os.open(database, os.O_RDWR | os.O_CREAT, 0o600))
    for suffix in ("", "-wal", "-shm", "-journal"):
        path = database.with_name(database.name + suffix)
        try:
            if path.stat().st_uid == os.getuid():
                path.chmod(0o600)
        except FileNotFoundError:
            continue


def _add_missing_columns(engine: Engine) -> None:
    # create_all() makes missing tables but never alters existing ones: a database made by
    # an older deployhook gets the newer nullable columns here, on SQLite and PostgreSQL.
    inspector = inspect(engine)
    for table in Base.metadata.sorted_tables:
        present = {c["name"] for c in inspector.get_columns(table.name)}
        for column in table.columns:
            if column.name in present:
                continue
            kind = column.type.compile(dialect=engine.dialect)
            try:
                with engine.begin() as conn:
                    conn.exec_driver_sql(
                        f'ALTER TABLE "{table.name}" ADD COLUMN "{column.name}" {kind}'
                    )
            except (OperationalError, ProgrammingError):
                # Another process starting at the same moment added it first.
                if column.name not in {c["name"] for c in inspect(engine).get_columns(table.name)}:
                    raise
