"""Goodreads import speed on PostgreSQL (part of `make bench`): rows per second for a
generated 10,000-row export into a fresh account, once with every book new and once with
every book already in the catalogue (a second reader importing the same file).

Settings (environment): BENCH_IMPORT_ROWS=10000  BENCH_PG=postgresql://postgres@127.0.0.1:5432
Results: printed, and bench/results/goodreads-import-<date>.json.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import secrets
import subprocess
import sys
import time
from pathlib import Path

from flask_babel import force_locale
from goodreads_files import generated_export

import bench  # noqa: F401  (puts the tests' support package on the path)
from bookshelf import create_app
from bookshelf.extensions import db
from bookshelf.goodreads.csvfile import read_rows
from bookshelf.goodreads.importer import GoodreadsImport
from bookshelf.users.accounts import create_user
from support import sqlalchemy_url, temporary_postgres_database

RESULTS = Path(__file__).resolve().parent / "results"


def timed_import(username: str, data: bytes) -> dict[str, float | int]:
    started = time.perf_counter()
    user = create_user(username, secrets.token_urlsafe(16))
    summary = GoodreadsImport(user.id, read_rows(data)).run(write=True)
    seconds = time.perf_counter() - started
    return {
        "rows": summary.total,
        "added": summary.added,
        "matched": summary.matched,
        "seconds": round(seconds, 3),
        "rows_per_s": round(summary.total / seconds),
    }


def main() -> int:
    rows = int(os.environ.get("BENCH_IMPORT_ROWS", "10000"))
    admin = os.environ.get("BENCH_PG", "postgresql://postgres@127.0.0.1:5432").rstrip("/")
    admin += "/postgres"
    data = generated_export(rows)
    with temporary_postgres_database("bench_import", admin_url=admin) as url:
        database = sqlalchemy_url(url)
        env = {**os.environ, "DATABASE_URL": database, "SECRET_KEY": secrets.token_hex(32)}
        flask = Path(sys.executable).parent / "flask"
        subprocess.run([flask, "--app", "bookshelf", "db", "upgrade"], env=env, check=True)
        app = create_app(
            {
                "SQLALCHEMY_DATABASE_URI": database,
                "SECRET_KEY": env["SECRET_KEY"],
                "PASSWORD_HASH_METHOD": "scrypt:1024:8:1",
            }
        )
        with app.app_context(), force_locale("en"):
            runs = {"all_new": timed_import("bench-new", data)}
            runs["all_matched"] = timed_import("bench-matched", data)
            db.session.remove()
            db.engine.dispose()
    for name, run in runs.items():
        print(
            f"goodreads import, PostgreSQL, {name}: {run['rows']:,} rows in {run['seconds']} s"
            f" = {run['rows_per_s']:,} rows/s (added {run['added']}, matched {run['matched']})"
        )
    RESULTS.mkdir(parents=True, exist_ok=True)
    stamp = dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H%MZ")
    out = RESULTS / f"goodreads-import-{stamp}.json"
    # The machine is shared: the load says how much of it the run had.
    payload = {"started": stamp, "loadavg_at_end": os.getloadavg(), "runs": runs}
    out.write_text(json.dumps(payload, indent=1) + "\n")
    target = 2000
    slow = [name for name, run in runs.items() if run["rows_per_s"] < target]
    if slow:
        print(f"below {target} rows/s: {', '.join(slow)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
