"""Command line: serve, worker, deploy, rollback, cancel, status, history, check-config."""

from __future__ import annotations

import getpass
import json
import logging
import signal
import sys
import threading
import time
from typing import Any

import click

from .config import CONFIG_ENV, Config, ConfigError, load_config, mask_credentials, valid_branch
from .events import is_sha
from .fleet import pipeline_for
from .pipeline import RELEASE_RE
from .runner import kill_active_steps
from .store import FINAL, Deploy, Store
from .worker import Worker


def _load(path: str | None, *, read_only: bool = False) -> Config:
    # Reading history or status never touches a webhook, so it must not need its secret.
    try:
        return load_config(path, require_secret=not read_only)
    except ConfigError as exc:
        click.echo("deployhook: configuration problems:", err=True)
        for problem in exc.problems:
            click.echo(f"  - {problem}", err=True)
        sys.exit(2)


config_option = click.option(
    "--config",
    "config_path",
    envvar=CONFIG_ENV,
    type=click.Path(dir_okay=False),
    help=f"TOML config file (default: ${CONFIG_ENV}).",
)


@click.group()
def main() -> None:
    """deployhook: a signed webhook that deploys test-gated releases with zero downtime."""
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )


@main.command("check-config")
@config_option
def check_config(config_path: str | None) -> None:
    """Validate the config and secrets; report every problem at once."""
    cfg = _load(config_path)
    click.echo(f"config OK: app {cfg.app_name!r}, {cfg.repository} branch {cfg.branch}")
    click.echo(f"  git_url {cfg.git_url_shown}")
    click.echo(f"  deploy_to {cfg.deploy_to}; database {mask_credentials(cfg.database_url)}")
    for stage in ("install", "test", "migrate"):
        commands = getattr(cfg, stage)
        shown = "; ".join(" ".join(argv) for argv in commands) or "(none)"
        click.echo(f"  {stage}: {shown}")
    click.echo(f"  reload {cfg.reload_method}; health {cfg.health_url or '(none)'}")
    for host in cfg.hosts:
        click.echo(
            f"  host {host.label}: {host.deploy_to}, reload {host.reload_method}, "
            f"health {host.health_url or '(none)'}"
        )
    if cfg.ssh is not None:  # paths only: a key's content is never printed
        rollout = cfg.rollout
        click.echo(f"  ssh key {cfg.ssh.key_file}; known_hosts {cfg.ssh.known_hosts}")
        click.echo(
            f"  rollout: canary {rollout.canary}, batches of {rollout.batch_size}, "
            f"on failure {rollout.abort}"
        )
    click.echo(f"  operator views {'enabled' if cfg.operator_token else 'disabled (no token)'}")
    for target in cfg.notify:  # labels carry no path, query or password
        click.echo(f"  notify {target.label} on {', '.join(target.events)}")


@main.command()
@config_option
@click.option("--host", default=None, help="Override [server] host.")
@click.option("--port", default=None, type=int, help="Override [server] port.")
@click.option("--no-worker", is_flag=True, help="Only receive; run `deployhook worker` elsewhere.")
def serve(config_path: str | None, host: str | None, port: int | None, no_worker: bool) -> None:
    """Serve the webhook and operator views, with the deploy worker as a thread."""
    from werkzeug.serving import make_server

    from .web import create_app

    cfg = _load(config_path)
    store = Store(cfg.database_url, cfg.app_name)
    worker = None if no_worker else Worker(store, cfg, pipeline_for(cfg))
    app = create_app(cfg, store=store, worker=worker)
    server = make_server(host or cfg.host, cfg.port if port is None else port, app, threaded=True)
    if worker is not None:
        worker.start()

    def stop(_signum: int, _frame: Any) -> None:
        # shutdown() blocks until serve_forever returns, so call it from another thread.
        threading.Thread(target=server.shutdown, daemon=True).start()
        # The deploy in progress fails (and is marked so on the next start); its commands
        # must not outlive us.
        kill_active_steps()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    click.echo(f"deployhook listening on http://{server.host}:{server.port}/webhook", err=True)
    server.serve_forever()
    if worker is not None:
        worker.stop(timeout=1)
    store.close()


@main.command("worker")
@config_option
def worker_cmd(config_path: str | None) -> None:
    """Run only the deploy worker (when the web part is served by gunicorn)."""
    cfg = _load(config_path)
    store = Store(cfg.database_url, cfg.app_name)
    worker = Worker(store, cfg, pipeline_for(cfg))
    thread = worker.start()

    def stop(_signum: int, _frame: Any) -> None:
        worker.stop()
        kill_active_steps()

    signal.signal(signal.SIGTERM, stop)
    try:
        while thread.is_alive():
            thread.join(0.5)
    except KeyboardInterrupt:
        worker.stop()


NOTIFY_DRAIN_SECONDS = 60.0


def _wait(cfg: Config, store: Store, deploy: Deploy, timeout: float) -> Deploy:
    # Help the queue along in this process; the DB lock makes that safe even when
    # `deployhook serve` is running too (whoever claims first runs it).
    worker = Worker(store, cfg, pipeline_for(cfg))
    store.recover()
    deadline = time.monotonic() + timeout
    while True:
        current = store.get(deploy.id)
        assert current is not None
        if current.status in FINAL:
            # This process may have run the deploy: let its notifications go out first.
            worker.notifier.drain(NOTIFY_DRAIN_SECONDS)
            return current
        if time.monotonic() > deadline:
            click.echo(
                f"still {current.status} after {timeout:g}s; see `deployhook status`", err=True
            )
            sys.exit(1)
        if worker.run_once() is None:
            time.sleep(0.3)


def _report(deploy: Deploy) -> None:
    click.echo(
        f"deploy #{deploy.id}: {deploy.status} commit {deploy.commit_sha or '-'} "
        f"release {deploy.release or '-'} {deploy.reason}".rstrip()
    )
    sys.exit(0 if deploy.status == "succeeded" else 1)


@main.command()
@config_option
@click.argument("ref", required=False)
@click.option("--no-reload", is_flag=True, help="First deploy: switch current, no app server yet.")
@click.option("--no-wait", is_flag=True, help="Queue and return.")
@click.option("--timeout", default=3600.0, show_default=True, help="Seconds to wait.")
def deploy(
    config_path: str | None, ref: str | None, no_reload: bool, no_wait: bool, timeout: float
) -> None:
    """Deploy REF (branch name or 40-hex sha; default: the configured branch) via the queue."""
    cfg = _load(config_path)
    store = Store(cfg.database_url, cfg.app_name)
    sha: str | None = None
    branch = cfg.branch
    if ref and is_sha(ref):
        sha = ref
    elif ref:
        if not valid_branch(ref):
            raise click.BadParameter(f"{ref!r} is neither a 40-hex sha nor a valid branch name")
        branch = ref
    queued = store.enqueue(
        trigger="manual",
        provider="cli",
        repository=cfg.repository,
        ref=f"refs/heads/{branch}",
        commit_sha=sha,
        pusher=_user(),
        message="manual deploy",
        options={"skip_reload": True} if no_reload else {},
    )
    click.echo(f"queued deploy #{queued.id}")
    if not no_wait:
        _report(_wait(cfg, store, queued, timeout))


@main.command()
@config_option
@click.argument("release", required=False)
@click.option("--no-wait", is_flag=True, help="Queue and return.")
@click.option("--timeout", default=600.0, show_default=True, help="Seconds to wait.")
def rollback(config_path: str | None, release: str | None, no_wait: bool, timeout: float) -> None:
    """Switch to the previous release (or RELEASE), reload and health-check it."""
    cfg = _load(config_path)
    if release is not None and not RELEASE_RE.match(release):
        raise click.BadParameter(f"{release!r} is not a release name like 20260101120000-abcdef1")
    store = Store(cfg.database_url, cfg.app_name)
    queued = store.enqueue(
        trigger="rollback",
        provider="cli",
        repository=cfg.repository,
        ref=f"refs/heads/{cfg.branch}",
        pusher=_user(),
        message=f"rollback to {release or 'previous release'}",
        options={"release": release} if release else {},
    )
    click.echo(f"queued rollback #{queued.id}")
    if not no_wait:
        _report(_wait(cfg, store, queued, timeout))


@main.command()
@config_option
@click.argument("deploy_id", type=int)
def cancel(config_path: str | None, deploy_id: int) -> None:
    """Cancel a deploy that is still queued (a running one is never interrupted halfway)."""
    cfg = _load(config_path)
    if Store(cfg.database_url, cfg.app_name).cancel(deploy_id):
        click.echo(f"deploy #{deploy_id} cancelled")
    else:
        click.echo(f"deploy #{deploy_id} is not queued; nothing cancelled", err=True)
        sys.exit(1)


@main.command()
@config_option
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def status(config_path: str | None, as_json: bool) -> None:
    """Live release, running deploy and the latest deploy."""
    cfg = _load(config_path, read_only=True)
    store = Store(cfg.database_url, cfg.app_name)
    pipeline = pipeline_for(cfg)
    latest = store.latest(1)
    data = {
        "app": cfg.app_name,
        "live_release": pipeline.live_release(),
        "releases": pipeline.release_names(),
        "running_deploy": store.lock_holder(),
        "paused": store.is_paused(),
        "latest": latest[0].to_dict() if latest else None,
    }
    if cfg.fleet:
        data["hosts"] = _fleet_status(cfg, store)
    if as_json:
        click.echo(json.dumps(data, indent=2))
        return
    running = data["running_deploy"]
    click.echo(f"app {cfg.app_name}: live release {data['live_release'] or '(none)'}")
    click.echo(f"releases: {', '.join(data['releases']) or '(none)'}")
    click.echo(f"running: {f'#{running}' if running else 'nothing'}")
    if data["paused"]:
        click.echo("automatic deploys: PAUSED (resume from the dashboard)")
    for host in data.get("hosts", []):
        click.echo(
            f"host {host['host']} ({host['address']}): live commit {host['live_commit'] or '-'} "
            f"release {host['live_release'] or '-'} (deploy #{host['deploy_id'] or '-'}, "
            f"{host['status']})"
        )
    if latest:
        d = latest[0]
        click.echo(f"latest: #{d.id} {d.status} {d.commit_sha or '-'} {d.reason}".rstrip())


def _fleet_status(cfg: Config, store: Store) -> list[dict[str, Any]]:
    # What each host serves as deployhook last saw it (the store, not a fresh SSH login): the
    # newest deploy that knew, with how that deploy left the host.
    seen = store.fleet_state()
    rows = []
    for host in cfg.hosts:
        row = seen.get(host.name)
        rows.append(
            {
                "host": host.name,
                "address": host.label,
                "live_commit": row.live_commit if row else None,
                "live_release": row.live_release if row else None,
                "deploy_id": row.deploy_id if row else None,
                "status": row.status if row else "never deployed",
            }
        )
    return rows


@main.command()
@config_option
@click.option("--limit", default=20, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def history(config_path: str | None, limit: int, as_json: bool) -> None:
    """Latest deploys, newest first."""
    cfg = _load(config_path, read_only=True)
    deploys = Store(cfg.database_url, cfg.app_name).latest(limit)
    if as_json:
        click.echo(json.dumps([d.to_dict() for d in deploys], indent=2))
        return
    for d in deploys:
        duration = f"{d.duration:.1f}s" if d.duration is not None else "-"
        click.echo(
            f"#{d.id:<5} {d.status:<11} {(d.commit_sha or '-')[:10]:<10} {d.trigger:<8} "
            f"{d.pusher[:16]:<16} {d.queued_at:%Y-%m-%d %H:%M:%S} {duration:>8}  {d.reason[:60]}"
        )


def _user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "cli"


if __name__ == "__main__":
    main()
