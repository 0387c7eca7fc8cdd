"""`make soak`: bounded load and fault runs on loopback, printed as one table.

    python -m soak.run                 # full run (about 3 minutes)
    python -m soak.run --short         # what tests/reliability/test_rel_soak.py runs (~20 s)

Phases (each against real gunicorn on a fresh PostgreSQL database, Redis for rate limits):
  steady      mixed HTML+API load; memory of every worker sampled at start and end
  sigkill     one worker SIGKILLed under load; failed requests counted, replacement checked
  pg-restart  PostgreSQL stopped and started under load (full run only): 503 pages, recovery
  scale-out   two gunicorn instances behind a private nginx: shared sessions, one login limit
              across both, load spread, one instance stopped under load
  limits      413 for oversized bodies; slow clients held by nginx, not by gunicorn workers
Each phase ends with every acknowledged write checked in the database.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import sys
import tempfile
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import requests

from soak.load import CSRF, Actor, Ledger, Stats, run_load, verify
from soak.servers import (
    PASSWORD,
    Gunicorn,
    app_env,
    prepare_database,
    restart_postgres,
    rss_kib,
    start_gunicorn,
)
from support import temporary_postgres_database
from support.nginx import Nginx, start_nginx


@dataclass
class Row:
    phase: str
    seconds: float
    requests: int
    errors: dict[str, int]
    tracebacks: int
    acknowledged_writes: int
    lost_writes: int
    duplicated_writes: int
    notes: dict[str, Any] = field(default_factory=dict)


def actors_for(
    accounts: list[tuple[str, str]], urls: list[str], ledger: Ledger, stats: Stats
) -> list[Actor]:
    actors = [Actor(n, urls, u, t, ledger, stats) for n, (u, t) in enumerate(accounts)]
    for actor in actors:
        actor.sign_in()
    stats.counts.clear()  # count the load, not the set-up
    stats.errors.clear()
    stats.server_errors.clear()
    stats.timeline.clear()
    return actors


def row(phase: str, seconds: float, stats: Stats, url: str, ledger: Ledger, **notes: Any) -> Row:
    verdict = verify(url, ledger)
    for problem in verdict.lost[:5] + verdict.duplicated[:5]:
        print(f"  !! {phase}: {problem}", file=sys.stderr)
    return Row(
        phase,
        round(seconds, 1),
        sum(stats.counts.values()),
        dict(stats.errors),
        stats.tracebacks,
        verdict.acknowledged,
        len(verdict.lost),
        len(verdict.duplicated),
        {"uncertain_writes": verdict.uncertain, **notes},
    )


def phase_steady(url: str, server: Gunicorn, accounts: list, seconds: float, warmup: float) -> Row:
    ledger, stats = Ledger(), Stats()
    actors = actors_for(accounts, [server.url], ledger, stats)
    # Warm up first: the first requests import templates and fill caches.
    run_load(actors_for(accounts, [server.url], Ledger(), Stats()), warmup)
    before = {pid: rss_kib(pid) for pid in server.workers()}
    run_load(actors, seconds)
    after = {pid: rss_kib(pid) for pid in server.workers()}
    growth = {
        str(pid): round(((after[pid] or 0) - (before[pid] or 0)) / 1024, 1)
        for pid in before
        if pid in after
    }
    rss = {str(pid): round((after[pid] or 0) / 1024, 1) for pid in after}
    return row(
        "steady",
        seconds,
        stats,
        url,
        ledger,
        rss_mib=rss,
        rss_growth_mib=growth,
        req_per_s=round(sum(stats.counts.values()) / seconds),
    )


def phase_sigkill(url: str, server: Gunicorn, accounts: list, seconds: float) -> Row:
    ledger, stats = Ledger(), Stats()
    actors = actors_for(accounts, [server.url], ledger, stats)
    killed: list[int] = []

    def kill_one() -> None:
        victim = server.workers()[0]
        killed.append(victim)
        os.kill(victim, signal.SIGKILL)

    run_load(actors, seconds, during=[(seconds / 3, kill_one)])
    replaced = killed[0] not in server.workers() and len(server.workers()) == 2
    return row(
        "sigkill",
        seconds,
        stats,
        url,
        ledger,
        killed_pid=killed[0],
        replaced_by_master=replaced,
        failed_requests=sum(stats.errors.values()),
    )


def phase_pg_restart(
    url: str, env: dict[str, str], accounts: list, work: Path, seconds: float, down: float
) -> Row:
    server = start_gunicorn(env, workers=2, workdir=work)
    outage: dict[str, float] = {}
    try:
        ledger, stats = Ledger(), Stats()
        actors = actors_for(accounts, [server.url], ledger, stats)
        health: list[tuple[float, int]] = []
        stop = threading.Event()

        def probe_health() -> None:  # what a load balancer would see, every 100 ms
            while not stop.is_set():
                try:
                    code = requests.get(server.url + "/healthz", timeout=2).status_code
                except requests.RequestException:
                    code = 0
                health.append((time.monotonic(), code))
                time.sleep(0.1)

        def restart() -> None:
            outage["stopped"], outage["back"] = restart_postgres(down)

        prober = threading.Thread(target=probe_health, daemon=True)
        prober.start()
        try:
            run_load(actors, seconds, during=[(seconds / 4, restart)])
        finally:
            stop.set()
            prober.join(5)
        healthy_again = next((t for t, code in health if t >= outage["back"] and code == 200), None)
        ok_again = next((t for t, ok in sorted(stats.timeline) if t >= outage["back"] and ok), None)
        return row(
            "pg-restart",
            seconds,
            stats,
            url,
            ledger,
            db_down_s=round(outage["back"] - outage["stopped"], 1),
            server_errors_by_channel=dict(stats.server_errors),
            recovery_after_db_back_s=None
            if healthy_again is None
            else round(max(healthy_again, ok_again or 0) - outage["back"], 2),
        )
    finally:
        server.stop()


def csrf_of(page: requests.Response) -> str:
    found = CSRF.search(page.text)
    assert found, "no CSRF token on the page"
    return found.group(1)


def login_limit_across(direct: list[str], limit: int, used: int) -> dict[str, Any]:
    """Wrong passwords alternately to each instance until 429: `limit - used` must get through."""
    accepted = 0
    for attempt in range(limit * 3):
        session = requests.Session()
        base = direct[attempt % len(direct)]
        token = csrf_of(session.get(base + "/login", timeout=5))
        response = session.post(
            base + "/login",
            # A new name each time: this measures the per-address limit, not the separate
            # per-account throttle on repeated failures for one name.
            data={"username": f"nobody{attempt}", "password": "wrong", "csrf_token": token},
            timeout=5,
        )
        if response.status_code == 429:
            break
        accepted += 1
    return {
        "login_limit": f"{limit} (of which {used} used by the sign-ins before)",
        "wrong_passwords_before_429_across_both": accepted,
        "limit_shared_by_both_instances": accepted == limit - used,
    }


def phase_scale_out(
    url: str, env: dict[str, str], accounts: list, work: Path, seconds: float, abrupt: bool
) -> list[Row]:
    # Counters under a key prefix of this run's own, so that they start from zero: other runs
    # (other checkouts, the test suite's short soak) may share this Redis within 10 minutes,
    # and with a handful of possible limits, a limit string alone collided now and then.
    limit = 20 + int.from_bytes(os.urandom(1)) % 30
    env = {
        **env,
        "LOGIN_RATE_LIMIT": f"{limit} per 10 minutes",
        "TRUSTED_PROXIES": "1",
        "RATELIMIT_KEY_PREFIX": f"soak-{os.urandom(6).hex()}",
    }
    first = start_gunicorn(env, workers=2, workdir=work)
    second = start_gunicorn(env, workers=2, workdir=work)
    nginx = start_nginx([first.port, second.port], work)
    try:
        # A session made on one instance is valid on the other.
        session = requests.Session()
        token = csrf_of(session.get(first.url + "/login", timeout=5))
        session.post(
            first.url + "/login",
            data={"username": accounts[0][0], "password": PASSWORD, "csrf_token": token},
            timeout=5,
        )
        shared_session = session.get(second.url + "/books/new", timeout=5).status_code == 200

        ledger, stats = Ledger(), Stats()
        upstreams: dict[str, int] = {}
        original_call = Actor.call

        def counting_call(self: Actor, *args: Any, **kwargs: Any) -> Any:
            response = original_call(self, *args, **kwargs)
            if response is not None:
                key = response.headers.get("X-Upstream", "?")
                with stats.lock:
                    upstreams[key] = upstreams.get(key, 0) + 1
            return response

        def remove_first() -> None:
            if not abrupt:  # drain: take it out of nginx first, then stop it
                nginx.set_upstreams([second.port])
            first.stop()

        Actor.call = counting_call  # type: ignore[method-assign]
        try:
            actors = actors_for(accounts, [nginx.url], ledger, stats)
            # One limit for both: wrong passwords alternately to each instance.
            limits = login_limit_across([first.url, second.url], limit, used=1 + len(actors))
            upstreams.clear()
            run_load(actors, seconds, during=[(seconds / 2, remove_first)])
        finally:
            Actor.call = original_call  # type: ignore[method-assign]
        rows = [
            row(
                "scale-out",
                seconds,
                stats,
                url,
                ledger,
                session_valid_on_other_instance=shared_session,
                requests_per_upstream=upstreams,
                stopped_instance_at_s=seconds / 2,
                stop=(
                    "abrupt (SIGTERM while in nginx's upstream list)"
                    if abrupt
                    else "drained (removed from nginx, reload, then SIGTERM)"
                ),
                **limits,
            )
        ]
        # The remaining instance and nginx serve the limits phase.
        rows.append(phase_limits(url, second, nginx))
    finally:
        nginx.stop()
        first.stop()
        second.stop()
    return rows


def slow_clients(target: str, count: int, hold: float) -> list[socket.socket]:
    """Open `count` connections that send half a request line and then nothing."""
    host, port = target.removeprefix("http://").split(":")
    sockets = []
    for _ in range(count):
        sock = socket.create_connection((host, int(port)), timeout=hold + 5)
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
        sockets.append(sock)
    return sockets


def timed_get(url: str, timeout: float) -> float | None:
    start = time.monotonic()
    try:
        requests.get(url, timeout=timeout)
    except requests.RequestException:
        return None
    return round(time.monotonic() - start, 3)


def phase_limits(url: str, server: Gunicorn, nginx: Nginx) -> Row:
    stats = Stats()
    big = b"title=" + b"x" * (1024 * 1024 + 1)
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    too_large = {
        name: requests.post(base + "/books", data=big, headers=headers, timeout=10).status_code
        for name, base in (("gunicorn", server.url), ("nginx", nginx.url))
    }
    # Two sync workers: two slow clients straight at gunicorn hold both of them.
    held = slow_clients(server.url, 2, 5)
    direct = timed_get(server.url + "/healthz", 3)
    for sock in held:
        sock.close()
    held = slow_clients(nginx.url, 50, 5)
    proxied = timed_get(nginx.url + "/healthz", 3)
    for sock in held:
        sock.close()
    return row(
        "limits",
        0,
        stats,
        url,
        Ledger(),
        status_for_1MiB_plus_1_body=too_large,
        healthz_s_with_2_slow_clients_on_gunicorn=direct
        if direct is not None
        else "timed out (2 s)",
        healthz_s_with_50_slow_clients_on_nginx=proxied,
    )


def print_table(rows: list[Row]) -> None:
    header = (
        f"{'phase':<11} {'secs':>5} {'requests':>8} {'errors by kind':<34} {'tb':>3} "
        f"{'acked':>6} {'lost':>4} {'dup':>4}"
    )
    print(header)
    print("-" * len(header))
    for r in rows:
        errors = ", ".join(f"{k}: {v}" for k, v in sorted(r.errors.items())) or "none"
        print(
            f"{r.phase:<11} {r.seconds:>5} {r.requests:>8} {errors:<34} {r.tracebacks:>3} "
            f"{r.acknowledged_writes:>6} {r.lost_writes:>4} {r.duplicated_writes:>4}"
        )
    for r in rows:
        for key, value in r.notes.items():
            print(f"  {r.phase}: {key} = {value}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--short", action="store_true", help="the quick version for make test")
    parser.add_argument("--json", type=Path, help="also write the rows here")
    parser.add_argument("--no-pg-restart", action="store_true")
    parser.add_argument(
        "--only", help="comma-separated phases: steady,sigkill,pg-restart,scale-out (and limits)"
    )
    parser.add_argument(
        "--abrupt-stop", action="store_true", help="scale-out: stop an instance without draining"
    )
    args = parser.parse_args(argv)
    short = args.short
    seconds = 3.0 if short else 60.0
    users = 4
    rows: list[Row] = []
    with (
        tempfile.TemporaryDirectory(prefix="soak-") as tmp,
        temporary_postgres_database("bookshelf_soak") as url,
    ):
        work = Path(tmp)
        accounts = prepare_database(url, users)
        env = app_env(url)
        wanted = set((args.only or "steady,sigkill,pg-restart,scale-out").split(","))
        if wanted & {"steady", "sigkill"}:
            server = start_gunicorn(env, workers=2, workdir=work)
            try:
                if "steady" in wanted:
                    warmup = 1.5 if short else 5  # first requests import and compile
                    rows.append(phase_steady(url, server, accounts, seconds, warmup))
                if "sigkill" in wanted:
                    rows.append(phase_sigkill(url, server, accounts, seconds / 2))
            finally:
                server.stop()
        if "pg-restart" in wanted and not (short or args.no_pg_restart):
            rows.append(phase_pg_restart(url, env, accounts, work, 30, down=5))
        if "scale-out" in wanted:
            abrupt = args.abrupt_stop
            scale_seconds = seconds / 2 if short else 30
            rows.extend(phase_scale_out(url, env, accounts, work, scale_seconds, abrupt))
    print_table(rows)
    if args.json:
        args.json.write_text(json.dumps([asdict(r) for r in rows], indent=2))
    # Outages may cost 503s (and a killed worker its one request), never a 500 or a lost write.
    failed = [
        r.phase
        for r in rows
        if r.lost_writes
        or r.duplicated_writes
        or r.tracebacks
        or "HTTP 500" in r.errors
        or (r.phase == "steady" and r.errors)
    ]
    if failed:
        print(f"FAILED: {', '.join(failed)}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
