"""The SSH side of a fleet deploy against a real OpenSSH server: every remote word arrives as
one word, host keys come only from the configured file, and the file operations the reload
relies on behave as they do locally."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path, PurePosixPath

import pytest

from deployhook.config import HostConfig, SSHConfig
from deployhook.ssh import HostUnreachable, SSHHost, connect, remote_command
from support import SSHServer, free_port, keygen, require_sshd, start_sshd

pytestmark = pytest.mark.slow

HOSTILE = ["$(touch pwned)", "a b", "; touch pwned2", "`id`", "'quoted'", "*", "-n"]


def test_remote_command_is_one_shlex_joined_argument_list() -> None:
    command, stdin = remote_command(["echo", *HOSTILE], cwd="/srv/a b")
    assert command.startswith("env -C '/srv/a b' echo ")
    assert stdin == b""
    # The remote shell splits it back into exactly the words we sent.
    words = subprocess.run(
        ["sh", "-c", f"printf '%s\\n' {command}"], capture_output=True, text=True, check=True
    ).stdout.splitlines()
    assert words == ["env", "-C", "/srv/a b", "echo", *HOSTILE]
    with pytest.raises(ValueError):
        remote_command(["A=1", "id"])  # would be read as an assignment by env
    with pytest.raises(ValueError):
        remote_command(["id"], env={"A; id": "x"})
    with pytest.raises(ValueError):
        remote_command(["id"], env={"A": "two\nlines"})


def test_environment_values_never_reach_the_command_line() -> None:
    # Any user on a host can read every process's arguments (ps), not its environment: the
    # values of [commands] env (a DATABASE_URL with its password) go over the channel instead.
    command, stdin = remote_command(["id"], env={"DATABASE_URL": "postgresql://u:s3cret@db/x"})
    assert "s3cret" not in command
    assert stdin == b"DATABASE_URL=postgresql://u:s3cret@db/x\n"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[SSHServer, Path]]:
    require_sshd()
    tmp = tmp_path_factory.mktemp("ssh")
    key = keygen(tmp / "key", "test")
    authorized = tmp / "authorized_keys"
    authorized.write_text((tmp / "key.pub").read_text())
    sshd = start_sshd("127.0.0.5", free_port(), tmp / "host", authorized)
    try:
        yield sshd, key
    finally:
        sshd.stop()


def settings(sshd: SSHServer, key: Path, known_hosts: str) -> tuple[HostConfig, SSHConfig]:
    path = key.parent / f"known_hosts-{abs(hash(known_hosts))}"
    path.write_text(known_hosts)
    host = HostConfig("h", sshd.address, PurePosixPath("/srv"), user=sshd.user, port=sshd.port)
    return host, SSHConfig(key_file=key, known_hosts=path, connect_timeout=5)


@pytest.fixture
def host(server: tuple[SSHServer, Path]) -> Iterator[SSHHost]:
    sshd, key = server
    ops = connect(*settings(sshd, key, sshd.known_hosts_line()))
    yield ops
    ops.close()


def test_hostile_words_reach_the_command_literally(host: SSHHost, tmp_path: Path) -> None:
    code, out = host.run(["printf", "%s\\n", *HOSTILE], cwd=str(tmp_path))
    assert code == 0
    assert out.splitlines() == HOSTILE
    assert list(tmp_path.iterdir()) == []  # nothing was executed or created


def test_environment_arrives_and_stdin_stays_empty(host: SSHHost) -> None:
    env = {"X": "1; id $(touch pwned)", "EMPTY": "", "Y": "a=b c"}
    code, out = host.run(["sh", "-c", 'printf "%s|" "$X" "$EMPTY" "$Y"; cat'], env=env)
    assert (code, out) == (0, "1; id $(touch pwned)||a=b c|")


def test_exit_codes_output_and_timeouts(host: SSHHost) -> None:
    assert host.run(["sh", "-c", "echo out; echo err >&2; exit 3"]) == (3, "out\nerr\n")
    # Parsed output leaves stderr out (a login shell's noise, warnings).
    assert host.run(["sh", "-c", "echo err >&2; echo out"], stdout_only=True) == (0, "out\n")
    code, out = host.run(["sleep", "5"], timeout=0.5)
    assert code is None and "timed out" in out


def test_an_unknown_host_key_is_refused_and_not_learnt(server: tuple[SSHServer, Path]) -> None:
    sshd, key = server
    host, ssh = settings(sshd, key, "")
    with pytest.raises(HostUnreachable, match="not found in known_hosts"):
        connect(host, ssh)
    assert ssh.known_hosts.read_text() == ""
    # The key file's content never reaches the message.
    try:
        connect(host, ssh)
    except HostUnreachable as exc:
        assert key.read_text().splitlines()[1] not in str(exc)


def test_another_key_than_the_authorised_one_cannot_log_in(
    server: tuple[SSHServer, Path], tmp_path: Path
) -> None:
    sshd, _ = server
    stranger = keygen(tmp_path / "stranger", "stranger")
    with pytest.raises(HostUnreachable, match="Authentication failed"):
        connect(*settings(sshd, stranger, sshd.known_hosts_line()))


def test_files_links_and_processes(host: SSHHost, tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    (tmp_path / "pid").write_text("123\n")
    link = tmp_path / "current"
    host.switch_symlink(str(link), str(tmp_path / "a"))
    host.switch_symlink(str(link), str(tmp_path / "b"))  # replaces the old link in one rename
    assert os.readlink(link) == str(tmp_path / "b")
    assert host.readlink(str(link)) == str(tmp_path / "b")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a", "b", "current", "pid"]
    assert host.read_text(str(tmp_path / "pid")) == "123\n"
    assert host.read_text(str(tmp_path / "missing")) is None
    sleeper = subprocess.Popen(["sleep", "30"])
    try:
        assert host.pid_alive(sleeper.pid)
        assert host.signal(sleeper.pid, 15)
        sleeper.wait(5)
        assert not host.pid_alive(sleeper.pid)
        assert not host.signal(sleeper.pid, 15)
    finally:
        sleeper.kill()
