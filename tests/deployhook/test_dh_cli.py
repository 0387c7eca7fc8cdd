"""CLI: manual deploys go through the same queue; status and history read it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from dh_helpers import SECRET, base_config, to_toml

from deployhook.cli import main


@pytest.fixture
def config_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("DEPLOYHOOK_SECRET", SECRET)
    path = tmp_path / "dh.toml"
    path.write_text(to_toml(base_config(tmp_path / "srv")))
    return path


def test_manual_deploy_is_queued_then_listed(config_file: Path) -> None:
    runner = CliRunner()
    sha = "a" * 40
    out = runner.invoke(main, ["deploy", "--config", str(config_file), "--no-wait", sha])
    assert out.exit_code == 0, out.output
    assert "queued deploy #1" in out.output
    out = runner.invoke(main, ["deploy", "--config", str(config_file), "--no-wait", "release/2"])
    assert "queued deploy #2" in out.output
    bad = runner.invoke(main, ["deploy", "--config", str(config_file), "--no-wait", "x;id"])
    assert bad.exit_code != 0 and "neither a 40-hex sha nor a valid branch" in bad.output
    listed = runner.invoke(main, ["history", "--config", str(config_file), "--json"])
    rows = json.loads(listed.output)
    assert [(r["id"], r["ref"], r["commit"], r["trigger"]) for r in rows] == [
        (2, "refs/heads/release/2", None, "manual"),
        (1, "refs/heads/main", sha, "manual"),
    ]
    status = runner.invoke(main, ["status", "--config", str(config_file), "--json"])
    data = json.loads(status.output)
    assert data["latest"]["id"] == 2 and data["running_deploy"] is None
    text = runner.invoke(main, ["history", "--config", str(config_file)])
    assert "queued" in text.output and "aaaaaaaaaa" in text.output


def test_rollback_rejects_bad_release_names(config_file: Path) -> None:
    out = CliRunner().invoke(main, ["rollback", "--config", str(config_file), "../../etc"])
    assert out.exit_code != 0 and "not a release name" in out.output


@pytest.mark.slow
def test_standalone_worker_processes_the_queue(config_file: Path) -> None:
    import os
    import signal
    import subprocess
    import sys
    import time

    deployhook = str(Path(sys.executable).parent / "deployhook")
    env = dict(os.environ, DEPLOYHOOK_SECRET=SECRET)
    queued = subprocess.run(
        [deployhook, "deploy", "--config", str(config_file), "--no-wait"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert "queued deploy #1" in queued.stdout
    worker = subprocess.Popen(
        [deployhook, "worker", "--config", str(config_file)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            out = subprocess.run(
                [deployhook, "history", "--config", str(config_file), "--json"],
                env=env,
                capture_output=True,
                text=True,
                timeout=60,
            )
            row = json.loads(out.stdout)[0]
            if row["status"] not in ("queued", "running"):
                break
            time.sleep(0.2)
        # The origin does not exist: the worker ran the pipeline, which failed at fetch.
        assert row["status"] == "failed" and row["reason"] == "git fetch failed"
        worker.send_signal(signal.SIGTERM)
        assert worker.wait(timeout=20) == 0
    finally:
        if worker.poll() is None:
            worker.kill()
            worker.wait()


def test_read_only_commands_need_no_webhook_secret(
    config_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    runner = CliRunner()
    queued = runner.invoke(main, ["deploy", "--config", str(config_file), "--no-wait", "b" * 40])
    assert queued.exit_code == 0, queued.output
    monkeypatch.delenv("DEPLOYHOOK_SECRET")
    history = runner.invoke(main, ["history", "--config", str(config_file), "--json"])
    assert history.exit_code == 0, history.output
    assert json.loads(history.output)[0]["commit"] == "b" * 40
    status = runner.invoke(main, ["status", "--config", str(config_file), "--json"])
    assert status.exit_code == 0, status.output
    assert json.loads(status.output)["latest"]["commit"] == "b" * 40
    # Anything that receives webhooks or deploys still refuses to start without it.
    refused = runner.invoke(main, ["deploy", "--config", str(config_file), "--no-wait"])
    assert refused.exit_code == 2 and "DEPLOYHOOK_SECRET" in refused.output


def test_git_url_credentials_are_masked_everywhere(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from deployhook.config import config_from_dict

    data = base_config(tmp_path / "srv")
    data["app"]["git_url"] = "https://deploy-bot:ghp_s3cr3tT0ken@git.example.com/acme/widget.git"
    monkeypatch.setenv("DEPLOYHOOK_SECRET", SECRET)
    path = tmp_path / "dh.toml"
    path.write_text(to_toml(data))
    out = CliRunner().invoke(main, ["check-config", "--config", str(path)])
    assert out.exit_code == 0, out.output
    assert "ghp_s3cr3tT0ken" not in out.output and "deploy-bot" not in out.output
    assert "https://***@git.example.com/acme/widget.git" in out.output
    cfg = config_from_dict(data, {"DEPLOYHOOK_SECRET": SECRET})
    assert cfg.git_url_shown == "https://***@git.example.com/acme/widget.git"
