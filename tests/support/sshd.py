"""Real OpenSSH servers on loopback addresses, for deploying to "hosts" on one machine.

Each server has its own host key (made by ssh-keygen in a temporary directory), its own
config, its own authorized_keys and a loopback address of its own (127.0.0.2, 127.0.0.3,
...: Linux answers on all of 127/8), so a client sees distinct hosts with distinct keys.
Servers run in the foreground (`-D -e`) in a process group of their own and are stopped
with `stop_group`. Public-key logins only, as the current user (root in CI and here, hence
PermitRootLogin prohibit-password).
"""

from __future__ import annotations

import getpass
import shutil
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from support.environment import require
from support.processes import ServerFailed, _tail, start_server, stop_group

SSHD = "/usr/sbin/sshd"
CONFIG = """\
ListenAddress {address}:{port}
HostKey {host_key}
PidFile {pidfile}
AuthorizedKeysFile {authorized_keys}
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
PermitRootLogin prohibit-password
AllowAgentForwarding no
AllowTcpForwarding no
X11Forwarding no
UsePAM no
StrictModes no
LogLevel ERROR
Subsystem sftp internal-sftp
"""


def require_sshd() -> None:
    """Skip without Debian's openssh-server locally; fail in CI."""
    require(Path(SSHD).exists() and shutil.which("ssh-keygen") is not None, "openssh-server")


def keygen(path: Path, comment: str) -> Path:
    """A new ed25519 key pair at `path` (and `path`.pub), no passphrase; returns `path`."""
    subprocess.run(
        ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", comment, "-f", str(path)],
        check=True,
        capture_output=True,
    )
    return path


@dataclass
class SSHServer:
    """One running sshd: where it listens, its host key, and the process to stop."""

    address: str
    port: int
    directory: Path
    process: subprocess.Popen[bytes] | None = None

    @property
    def host_key(self) -> Path:
        return self.directory / "ssh_host_ed25519_key"

    @property
    def user(self) -> str:
        return getpass.getuser()

    def known_hosts_line(self) -> str:
        """This server's entry for a known_hosts file: `[address]:port keytype key`."""
        kind, key = (self.directory / "ssh_host_ed25519_key.pub").read_text().split()[:2]
        return f"[{self.address}]:{self.port} {kind} {key}\n"

    def start(self, authorized_keys: Path) -> None:
        """Write the config and start sshd; returns once it accepts TCP connections."""
        (self.directory / "sshd_config").write_text(
            CONFIG.format(
                address=self.address,
                port=self.port,
                host_key=self.host_key,
                pidfile=self.directory / "sshd.pid",
                authorized_keys=authorized_keys,
            )
        )
        # Privilege separation needs this empty directory (systemd makes it at boot).
        Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)
        log = self.directory / "sshd.log"
        command = [SSHD, "-D", "-e", "-f", self.directory / "sshd_config"]
        self.process = start_server(command, log)
        deadline = time.monotonic() + 15
        while True:
            if self.process.poll() is not None:
                raise ServerFailed(f"sshd on {self.address}:{self.port} exited{_tail(log)}")
            try:
                with socket.create_connection((self.address, self.port), timeout=1):
                    return
            except OSError:
                if time.monotonic() > deadline:
                    self.stop()
                    where = f"{self.address}:{self.port}"
                    raise ServerFailed(f"sshd on {where} is not up{_tail(log)}") from None
                time.sleep(0.05)

    def new_host_key(self) -> None:
        """Replace the host key and restart: what a client sees when a host was swapped."""
        assert self.process is not None
        authorized = self.authorized_keys
        self.stop()
        for path in self.directory.glob("ssh_host_ed25519_key*"):
            path.unlink()
        keygen(self.host_key, f"host {self.address} (replaced)")
        self.start(authorized)

    @property
    def authorized_keys(self) -> Path:
        for line in (self.directory / "sshd_config").read_text().splitlines():
            if line.startswith("AuthorizedKeysFile "):
                return Path(line.split(" ", 1)[1])
        raise LookupError("no AuthorizedKeysFile")

    def stop(self) -> None:
        if self.process is not None:
            stop_group(self.process)
            self.process = None


def start_sshd(address: str, port: int, directory: Path, authorized_keys: Path) -> SSHServer:
    """A new sshd with a fresh host key on `address`:`port`, logging to directory/sshd.log."""
    directory.mkdir(parents=True, exist_ok=True)
    server = SSHServer(address, port, directory)
    keygen(server.host_key, f"host {address}")
    server.start(authorized_keys)
    return server
