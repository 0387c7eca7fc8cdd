"""What deployhook does to the machine an app runs on, behind one small interface.

The gunicorn USR2 reload reads a pidfile, signals a pid and watches whether a pid lives; a
fleet deploy also runs commands, reads links and switches the ``current`` symlink. On this
machine those are plain system calls (:class:`LocalHost`); on a fleet host they go over SSH
(``deployhook.ssh.SSHHost``). Both answer the same questions, so the reload logic is written
once.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Protocol

from .procs import pid_alive

# How a signal is named to kill(1) on a remote host.
SIGNAL_NAMES = {signal.SIGUSR2: "USR2", signal.SIGTERM: "TERM", signal.SIGHUP: "HUP"}


class HostOps(Protocol):
    """The operations a deploy needs on one host; paths are strings on that host."""

    label: str

    def run(
        self,
        argv: Sequence[str],
        *,
        cwd: str | None = None,
        env: Mapping[str, str] | None = None,
        timeout: float = 600.0,
        stdout_only: bool = False,
    ) -> tuple[int | None, str]:
        """Run an argument list (never a shell string); (exit code or None on timeout, its
        output: stdout and stderr, or stdout alone for output that is parsed)."""
        ...

    def read_text(self, path: str) -> str | None:
        """A small file's text, or None when it cannot be read."""
        ...

    def readlink(self, path: str) -> str | None:
        """Where a symlink points, or None when it is not one."""
        ...

    def switch_symlink(self, link: str, target: str) -> None:
        """Point ``link`` at ``target`` with one rename: never a moment without ``link``."""
        ...

    def signal(self, pid: int, sig: int) -> bool:
        """Send ``sig`` to ``pid``; False when there is no such process."""
        ...

    def pid_alive(self, pid: int) -> bool:
        """True for a running process (a zombie counts as dead)."""
        ...


class LocalHost:
    """This machine: the operations the single-host deploy has always used."""

    label = "local"

    def run(
        self,
        argv: Sequence[str],
        *,
        cwd: str | None = None,
        env: Mapping[str, str] | None = None,
        timeout: float = 600.0,
        stdout_only: bool = False,
    ) -> tuple[int | None, str]:
        try:
            proc = subprocess.run(  # noqa: S603 - an argument list from the config
                list(argv),
                cwd=cwd,
                env={**os.environ, **(env or {})},
                capture_output=True,
                text=True,
                timeout=timeout,
                check=False,
            )
        except subprocess.TimeoutExpired as exc:
            return None, str(exc.stdout or "")
        return proc.returncode, proc.stdout if stdout_only else proc.stdout + proc.stderr

    def read_text(self, path: str) -> str | None:
        try:
            with open(path) as fh:
                return fh.read()
        except OSError:
            return None

    def readlink(self, path: str) -> str | None:
        try:
            return os.readlink(path)
        except OSError:
            return None

    def switch_symlink(self, link: str, target: str) -> None:
        switch_symlink(Path(link), Path(target))

    def signal(self, pid: int, sig: int) -> bool:
        try:
            os.kill(pid, sig)
        except ProcessLookupError:
            return False
        return True

    def pid_alive(self, pid: int) -> bool:
        return pid_alive(pid)


LOCAL = LocalHost()


def switch_symlink(link: Path, target: Path) -> None:
    """Point ``link`` at ``target`` atomically: readers see the old or the new, never nothing."""
    tmp = link.with_name(f".{link.name}.tmp-{os.getpid()}-{time.monotonic_ns()}")
    os.symlink(target, tmp)
    try:
        os.replace(tmp, link)
    except OSError:
        tmp.unlink(missing_ok=True)
        raise
