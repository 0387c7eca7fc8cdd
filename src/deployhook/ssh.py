"""A fleet host over SSH (paramiko): commands, files, the ``current`` switch and signals.

Why paramiko: it is the maintained SSH library underneath Fabric, synchronous like the rest
of the pipeline (a deploy is a thread that waits on things; asyncssh would need an event loop
next to it), and it gives exec and SFTP on one connection, so a host costs one TCP and one key
exchange per deploy.

Safety: host keys are checked against the configured known_hosts file only (RejectPolicy: an
unknown or changed key refuses the connection; the user's ~/.ssh is never consulted); the one
configured key is offered, no agent, no other keys, no password. Every remote command is an
argument list quoted with :func:`shlex.join`, so a value is always one word to the remote
shell, never code. The key file's path is in the config; its content never reaches a log.
"""

from __future__ import annotations

import shlex
import stat
import threading
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

import paramiko

from .config import HostConfig, SSHConfig
from .hostops import SIGNAL_NAMES

OUTPUT_LIMIT = 256 * 1024  # bytes of a remote command's output kept (head and tail)


class HostUnreachable(Exception):
    """Connecting or logging in to a host failed; the message says why, never with a secret."""


# Reads `n` NAME=VALUE lines from stdin into the environment, then runs the command. Values
# travel over the encrypted channel: any user on a host can read every process's arguments
# (ps), but not another user's environment.
_ENV_FROM_STDIN = (
    'n=$1; shift; while [ "$n" -gt 0 ]; do IFS= read -r kv; export "$kv"; n=$((n - 1)); done; '
    'exec "$@"'
)


def remote_command(
    argv: Sequence[str], cwd: str | None = None, env: Mapping[str, str] | None = None
) -> tuple[str, bytes]:
    """The one string an SSH server hands to the user's shell, built from an argument list
    (``env -C DIR ARGV``, every word quoted by shlex.join), and what to write to its stdin
    first: the environment's values, which never appear in the command line."""
    if not argv:
        raise ValueError("empty command")
    # An argv[0] that looks like an assignment would be read as one by env.
    if "=" in argv[0]:
        raise ValueError(f"a command may not start with {argv[0]!r}")
    words = ["env"]
    if cwd is not None:
        words += ["-C", cwd]
    lines = []
    for name, value in (env or {}).items():
        if not name.isidentifier():
            raise ValueError(f"bad environment variable name {name!r}")
        if "\n" in value or "\0" in value:
            raise ValueError(f"environment variable {name} holds a line break or NUL")
        lines.append(f"{name}={value}\n")
    if lines:
        words += ["sh", "-c", _ENV_FROM_STDIN, "sh", str(len(lines))]
    return shlex.join([*words, *argv]), "".join(lines).encode()


def connect(host: HostConfig, ssh: SSHConfig) -> SSHHost:
    """Log in to ``host`` or raise HostUnreachable with the reason."""
    client = paramiko.SSHClient()
    # Only the configured file: no ~/.ssh/known_hosts, and nothing is ever added to it.
    client.load_host_keys(str(ssh.known_hosts))
    client.set_missing_host_key_policy(paramiko.RejectPolicy())
    try:
        client.connect(
            host.address,
            port=host.port,
            username=host.user,
            key_filename=str(ssh.key_file),
            allow_agent=ssh.allow_agent,
            look_for_keys=False,
            timeout=ssh.connect_timeout,
            banner_timeout=ssh.connect_timeout,
            auth_timeout=ssh.connect_timeout,
        )
    except paramiko.BadHostKeyException as exc:
        client.close()
        raise HostUnreachable(
            f"host key of {host.label} does not match {ssh.known_hosts} (got a "
            f"{exc.key.get_name()} key with fingerprint {_fingerprint(exc.key)}): refusing to "
            "connect; if the host was really replaced, update known_hosts"
        ) from None
    except paramiko.SSHException as exc:
        client.close()
        raise HostUnreachable(f"{host.label}: {exc}") from None
    except OSError as exc:  # refused, unreachable, timed out
        client.close()
        raise HostUnreachable(f"{host.label}: cannot connect: {exc}") from None
    return SSHHost(host, client)


def _fingerprint(key: paramiko.PKey) -> str:
    return key.fingerprint if hasattr(key, "fingerprint") else key.get_base64()[:16]


class SSHHost:
    """One logged-in fleet host; safe to use from one thread at a time per channel."""

    def __init__(self, host: HostConfig, client: paramiko.SSHClient) -> None:
        self.host = host
        self.label = host.label
        self.client = client
        self._sftp: paramiko.SFTPClient | None = None
        self._sftp_lock = threading.Lock()

    @property
    def sftp(self) -> paramiko.SFTPClient:
        """The host's SFTP session, opened on first use."""
        with self._sftp_lock:
            if self._sftp is None:
                self._sftp = self.client.open_sftp()
            return self._sftp

    def close(self) -> None:
        """Close SFTP and the connection."""
        if self._sftp is not None:
            self._sftp.close()
        self.client.close()

    # -- commands ---------------------------------------------------------------------------
    def run(
        self,
        argv: Sequence[str],
        *,
        cwd: str | None = None,
        env: Mapping[str, str] | None = None,
        timeout: float = 600.0,
        stdout_only: bool = False,
    ) -> tuple[int | None, str]:
        """Run an argument list on the host, stdout and stderr together; None on a timeout
        (the channel is closed, which ends the remote command's session).

        ``stdout_only`` is for output that is parsed: whatever the login shell or the command
        prints on stderr (a noisy ~/.bashrc, a warning) is then left out of it.
        """
        command, stdin = remote_command(argv, cwd, env)
        transport = self.client.get_transport()
        if transport is None or not transport.is_active():
            return None, f"connection to {self.label} is closed"
        channel = transport.open_session(timeout=30)
        channel.set_combine_stderr(not stdout_only)
        channel.exec_command(command)
        if stdin:
            channel.sendall(stdin)
        channel.shutdown_write()
        head, tail = bytearray(), bytearray()
        deadline = time.monotonic() + timeout
        channel.settimeout(0.5)
        while True:
            try:
                chunk = channel.recv(65536)
            except TimeoutError:
                chunk = None
            if chunk:
                _keep(head, tail, chunk)
            elif chunk == b"":  # end of output: the command is exiting
                if channel.exit_status_ready():
                    break
                time.sleep(0.01)
            if time.monotonic() > deadline:
                channel.close()
                text = _text(head, tail) + f"\n[deployhook: timed out after {timeout:g}s]"
                return None, text
        return channel.recv_exit_status(), _text(head, tail)

    # -- files ------------------------------------------------------------------------------
    def read_text(self, path: str) -> str | None:
        try:
            with self.sftp.open(path, "r") as fh:
                return fh.read(1024 * 1024).decode("utf-8", "replace")
        except OSError:
            return None

    def readlink(self, path: str) -> str | None:
        try:
            return self.sftp.readlink(path)
        except OSError:
            return None

    def listdir(self, path: str) -> list[str]:
        """Names in a directory, or [] when it does not exist."""
        try:
            return self.sftp.listdir(path)
        except OSError:
            return []

    def exists(self, path: str) -> bool:
        """True when anything (a dangling symlink too) has this name."""
        try:
            self.sftp.lstat(path)
        except OSError:
            return False
        return True

    def is_dir(self, path: str) -> bool:
        """True for an existing directory."""
        try:
            return stat.S_ISDIR(self.sftp.stat(path).st_mode or 0)
        except OSError:
            return False

    def put(self, local: Path, remote: str) -> None:
        """Upload a file."""
        self.sftp.put(str(local), remote, confirm=True)

    def switch_symlink(self, link: str, target: str) -> None:
        """A new symlink under a temporary name, renamed over ``link`` with the server's
        posix-rename extension (rename(2): atomic, replaces the old link)."""
        tmp = f"{link}.tmp-{time.monotonic_ns()}"
        self.sftp.symlink(target, tmp)
        try:
            self.sftp.posix_rename(tmp, link)
        except OSError:
            self.sftp.remove(tmp)
            raise

    # -- processes --------------------------------------------------------------------------
    def signal(self, pid: int, sig: int) -> bool:
        code, _ = self.run(["kill", "-s", SIGNAL_NAMES[sig], str(pid)], timeout=30)
        return code == 0

    def pid_alive(self, pid: int) -> bool:
        # The process state from /proc, as procs.pid_alive reads it here: a zombie is dead.
        text = self.read_text(f"/proc/{pid}/stat")
        if text is None:
            return False
        try:
            return text.rsplit(")", 1)[1].split()[0] not in ("Z", "X")
        except IndexError:
            return False


def _keep(head: bytearray, tail: bytearray, chunk: bytes) -> None:
    room = OUTPUT_LIMIT // 4 - len(head)
    if room > 0:
        head += chunk[:room]
        chunk = chunk[room:]
    tail += chunk
    excess = len(tail) - (OUTPUT_LIMIT - OUTPUT_LIMIT // 4)
    if excess > 0:
        del tail[:excess]


def _text(head: bytearray, tail: bytearray) -> str:
    return (bytes(head) + bytes(tail)).decode("utf-8", "replace")
