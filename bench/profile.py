"""`make profile`: where the time of one request goes, measured inside the process.

wrk says how fast a page is; this says why. The app is built under the production settings
against a seeded catalogue, and each page is requested N times straight through its WSGI
callable (no server, no socket), twice:

1. Timed: every before-request and after-request hook, the view, the template render and the
   whole WSGI call are wrapped in perf_counter timers, so a page's milliseconds split into
   phases (hooks one by one; view and query; template; after-request; the rest: routing,
   contexts, session save, body iteration). Timers cost a few microseconds, not the 2-3x
   a profiler adds, so these numbers are the ones to compare.
2. Profiled: the same requests under cProfile, for the top functions by own time and by
   cumulative time (the profiler's overhead inflates these; read them as shares, not ms).

Run on its own with `make profile` (seeds a 10,000-book SQLite file, or `--database-url`
for an existing catalogue); `make bench` calls it on its PostgreSQL catalogue. Results go to
bench/results/profile-<date>.json and .md, and the table replaces the "In-process profile"
section of docs/PERFORMANCE.md.
"""

from __future__ import annotations

import argparse
import cProfile
import datetime as dt
import io
import json
import os
import pstats
import re
import subprocess
import sys
import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results"
WORK = ROOT / "bench" / ".work"
DOC = ROOT / "docs" / "PERFORMANCE.md"
BIN = Path(sys.executable).parent
SECTION_START = "<!-- profile:start -->"
SECTION_END = "<!-- profile:end -->"
DEFAULT_ROWS = 10_000
DEFAULT_REQUESTS = 300
TOP_FUNCTIONS = 12

# The pages of the issue: the list, one book, a search, and the cheapest answer there is.
PAGES: dict[str, str] = {
    "books": "/books",
    "book_show": "/books/{id}",
    "search": "/search?term=river",
    "healthz": "/healthz",
}

Timings = dict[str, list[float]]


@dataclass
class PhaseClock:
    """Seconds spent per phase during the current request, summed over all requests."""

    totals: dict[str, float] = field(default_factory=lambda: defaultdict(float))
    _template: float = 0.0

    @contextmanager
    def phase(self, name: str) -> Iterator[None]:
        started = time.perf_counter()
        try:
            yield
        finally:
            self.totals[name] += time.perf_counter() - started

    def timed(self, name: str, func: Callable[..., Any]) -> Callable[..., Any]:
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            with self.phase(name):
                return func(*args, **kwargs)

        wrapper.__wrapped__ = func  # type: ignore[attr-defined]
        wrapper.__name__ = getattr(func, "__name__", name)
        return wrapper


def hook_name(func: Callable[..., Any]) -> str:
    func = getattr(func, "func", func)  # a functools.partial: name what it calls
    module = getattr(func, "__module__", "?") or "?"
    return f"{module.split('.')[0]}:{getattr(func, '__qualname__', repr(func))}"


def instrument(app: Any, clock: PhaseClock) -> None:
    """Wrap the app's hooks, view dispatch and template render in timers."""
    import flask.templating

    for registry, prefix in (
        (app.before_request_funcs, "before"),
        (app.after_request_funcs, "after"),
    ):
        for scope, funcs in registry.items():
            registry[scope] = [
                clock.timed(f"{prefix} {hook_name(f)}" + (f" [{scope}]" if scope else ""), f)
                for f in funcs
            ]
    app.preprocess_request = clock.timed("request hooks (before_request)", app.preprocess_request)
    app.dispatch_request = clock.timed("view incl. template", app.dispatch_request)
    app.process_response = clock.timed("after_request incl. session save", app.process_response)
    # render_template and render_template_string both end in flask.templating._render.
    flask.templating._render = clock.timed("template", flask.templating._render)
    # flask-smorest and jsonify serialise through the app's JSON provider.
    app.json.response = clock.timed("json response", app.json.response)


def request_once(app: Any, environ: dict[str, Any]) -> int:
    status: list[str] = []

    def start_response(s: str, _headers: Any, _exc: Any = None) -> Callable[[bytes], None]:
        status.append(s)
        return lambda _data: None

    body = app(dict(environ), start_response)
    try:
        for _chunk in body:
            pass
    finally:
        close = getattr(body, "close", None)
        if close is not None:
            close()
    return int(status[0].split()[0])


def environ_for(path: str) -> dict[str, Any]:
    from werkzeug.test import EnvironBuilder

    builder = EnvironBuilder(
        path=path,
        base_url="http://127.0.0.1:8000",
        headers={"Accept": "text/html", "Accept-Language": "en"},
    )
    try:
        return builder.get_environ()
    finally:
        builder.close()


def paths_for(ids: tuple[int, int], count: int) -> dict[str, list[str]]:
    low, high = ids
    step = max((high - low) // max(count, 1), 1)
    out: dict[str, list[str]] = {}
    for name, pattern in PAGES.items():
        if "{id}" in pattern:
            span = high - low + 1
            out[name] = [pattern.format(id=low + (i * step) % span) for i in range(count)]
        else:
            out[name] = [pattern] * count
    return out


def timed_pass(app: Any, paths: list[str], clock: PhaseClock) -> dict[str, Any]:
    clock.totals.clear()
    environs = [environ_for(p) for p in paths]
    statuses: dict[int, int] = defaultdict(int)
    for environ in environs:
        with clock.phase("total (WSGI call)"):
            statuses[request_once(app, environ)] += 1
    per_request = {k: v * 1000 / len(paths) for k, v in clock.totals.items()}
    return {"ms": per_request, "statuses": dict(statuses)}


def profiled_pass(app: Any, paths: list[str]) -> list[dict[str, Any]]:
    environs = [environ_for(p) for p in paths]
    profiler = cProfile.Profile()
    profiler.enable()
    for environ in environs:
        request_once(app, environ)
    profiler.disable()
    stats = pstats.Stats(profiler, stream=io.StringIO())
    rows: list[dict[str, Any]] = []
    raw: dict[Any, Any] = stats.stats  # type: ignore[attr-defined]
    for (filename, line, func), (_cc, calls, tottime, cumtime, _callers) in raw.items():
        if filename == __file__:
            continue  # the timers and the request loop are not the app's
        rows.append(
            {
                "function": f"{short_path(filename)}:{line}({func})",
                "calls_per_request": calls / len(paths),
                "own_ms": tottime * 1000 / len(paths),
                "cum_ms": cumtime * 1000 / len(paths),
            }
        )
    return rows


def short_path(filename: str) -> str:
    for marker in ("site-packages/", "/src/", "/lib/python3"):
        if marker in filename:
            return filename.split(marker, 1)[1]
    return filename


def top(rows: Iterable[dict[str, Any]], key: str, count: int) -> list[dict[str, Any]]:
    return sorted(rows, key=lambda r: r[key], reverse=True)[:count]


def build_app(database_url: str) -> Any:
    os.environ.update(app_environment(database_url))
    from bookshelf import create_app

    return create_app()


def app_environment(database_url: str) -> dict[str, str]:
    return {
        "BOOKSHELF_ENV": "production",
        "SECRET_KEY": os.urandom(32).hex(),  # fresh per run, never written anywhere
        "DATABASE_URL": database_url,
        "FLASK_APP": "bookshelf",
        "BOOKSHELF_INSTANCE_PATH": str(WORK / "instance"),
    }


def id_range(app: Any) -> tuple[int, int]:
    from sqlalchemy import text

    from bookshelf.extensions import db

    with app.app_context():
        row = db.session.execute(text("SELECT min(id), max(id) FROM books")).one()
    return int(row[0]), int(row[1])


def profile(database_url: str, requests: int, label: str) -> dict[str, Any]:
    app = build_app(database_url)
    # Every request comes from one address: lift the limits for this process only, the same
    # way a load run behind a proxy would see many clients.
    app.config["RATELIMIT_ENABLED"] = False
    from bookshelf.extensions import limiter

    limiter.enabled = False
    clock = PhaseClock()
    instrument(app, clock)
    pages: dict[str, Any] = {}
    for name, paths in paths_for(id_range(app), requests).items():
        for environ in [environ_for(p) for p in paths[:20]]:
            request_once(app, environ)  # warm: compiled templates, pool, caches
        timed = timed_pass(app, paths, clock)
        rows = profiled_pass(app, paths)
        pages[name] = {
            "path": PAGES[name],
            "requests": requests,
            "statuses": timed["statuses"],
            "ms": {k: round(v, 4) for k, v in sorted(timed["ms"].items())},
            "top_own": top(rows, "own_ms", TOP_FUNCTIONS),
            "top_cum": top(rows, "cum_ms", TOP_FUNCTIONS),
        }
    return {
        "label": label,
        "database": database_url.split(":", 1)[0],
        "created": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "commit": git_commit(),
        "pages": pages,
    }


def git_commit() -> str:
    try:
        out = subprocess.run(
            ["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            timeout=10,
        )
        dirty = subprocess.run(
            ["git", "-C", str(ROOT), "status", "--porcelain", "--untracked-files=no"],
            capture_output=True,
            text=True,
            timeout=10,
        )
        return out.stdout.strip() + ("+changes" if dirty.stdout.strip() else "")
    except (OSError, subprocess.SubprocessError):
        return "?"


# --- report --------------------------------------------------------------------------------


def phase_rows(ms: dict[str, float]) -> list[tuple[str, float]]:
    """The phases in request order, the view without its template, and what is left over."""
    total = ms.get("total (WSGI call)", 0.0)
    before = ms.get("request hooks (before_request)", 0.0)
    view = ms.get("view incl. template", 0.0)
    template = ms.get("template", 0.0)
    after = ms.get("after_request incl. session save", 0.0)
    json_ms = ms.get("json response", 0.0)
    rows = [
        ("request hooks (before_request)", before),
        ("view and query (without template)", view - template - json_ms),
        ("template render", template),
        ("JSON serialisation", json_ms),
        ("after_request hooks and session save", after),
        ("the rest: routing, contexts, teardown, body", total - before - view - after),
        ("**total**", total),
    ]
    hooks = sorted(
        ((k, v) for k, v in ms.items() if k.startswith(("before ", "after "))),
        key=lambda kv: -kv[1],
    )
    rows += [(f"&nbsp;&nbsp;{k}", v) for k, v in hooks]
    return rows


def markdown(result: dict[str, Any], baseline: dict[str, Any] | None = None) -> str:
    pages = result["pages"]
    names = list(pages)
    first = pages[names[0]]
    lines = [
        f"{first['requests']} requests per page through the WSGI callable, in one process "
        f"({result['database']}, production settings, rate limits off; commit "
        f"`{result['commit']}`, {result['created']}). Milliseconds per request; "
        "the indented rows are single hooks, already counted in their phase.",
        "",
    ]
    header = "| Phase | " + " | ".join(f"`{pages[n]['path']}`" for n in names) + " |"
    lines += [header, "|---" * (len(names) + 1) + "|"]
    table: dict[str, dict[str, float]] = defaultdict(dict)
    order: list[str] = []
    for name in names:
        for label, value in phase_rows(pages[name]["ms"]):
            if label not in table:
                order.append(label)
            table[label][name] = value
    for label in order:
        cells = []
        for name in names:
            value = table[label].get(name)
            cell = "" if value is None else f"{value:.3f}"
            if baseline and value is not None and name in baseline["pages"]:
                before = dict(phase_rows(baseline["pages"][name]["ms"])).get(label)
                if before:
                    cell = f"{before:.3f} → {value:.3f}"
            cells.append(cell)
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    for name in names:
        lines += [
            "",
            f"Top functions by own time, `{pages[name]['path']}` (under cProfile, "
            "which inflates them; compare shares):",
            "",
            "| Function | calls/request | own ms | cumulative ms |",
            "|---|---|---|---|",
        ]
        lines += [
            f"| `{r['function']}` | {r['calls_per_request']:.1f} | {r['own_ms']:.3f} "
            f"| {r['cum_ms']:.3f} |"
            for r in pages[name]["top_own"][:8]
        ]
    return "\n".join(lines) + "\n"


def write_section(text: str, doc: Path = DOC) -> None:
    """Put TEXT in the profile section of DOC, replacing the previous one."""
    section = f"{SECTION_START}\n## In-process profile\n\n{text}{SECTION_END}\n"
    current = doc.read_text() if doc.exists() else ""
    pattern = re.compile(re.escape(SECTION_START) + r".*?" + re.escape(SECTION_END) + r"\n?", re.S)
    if pattern.search(current):
        updated = pattern.sub(lambda _m: section, current)
    else:
        updated = current.rstrip("\n") + "\n\n" + section
    doc.write_text(updated)


def save(result: dict[str, Any], baseline: dict[str, Any] | None, update_doc: bool) -> Path:
    RESULTS.mkdir(parents=True, exist_ok=True)
    stamp = dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H%M%SZ")
    out = RESULTS / f"profile-{stamp}.json"
    out.write_text(json.dumps(result, indent=1) + "\n")
    text = markdown(result, baseline)
    out.with_suffix(".md").write_text(text)
    if update_doc:
        write_section(text)
    return out


# --- catalogue -----------------------------------------------------------------------------


def seed_sqlite(rows: int) -> str:
    """A fresh SQLite catalogue of ROWS books, made with the app's own commands."""
    WORK.mkdir(parents=True, exist_ok=True)
    path = WORK / f"profile-{rows}-{os.getpid()}.sqlite3"
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    url = f"sqlite:///{path}"
    env = {**os.environ, **app_environment(url)}
    flask = str(BIN / "flask")
    for cmd in ([flask, "db", "upgrade"], [flask, "seed", "--count", str(rows)]):
        subprocess.run(cmd, env=env, cwd=ROOT, check=True, capture_output=True)
    return url


def run_in_subprocess(database_url: str, requests: int = DEFAULT_REQUESTS) -> Path | None:
    """For `make bench`: profile a catalogue it seeded, in a fresh interpreter, and update the
    document. A failure here is reported and does not lose the wrk results."""
    cmd = [
        sys.executable,
        "-m",
        "bench.profile",
        "--database-url",
        database_url,
        "--requests",
        str(requests),
    ]
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
    if proc.returncode:
        print(f"profile failed:\n{proc.stderr[-2000:]}", file=sys.stderr)
        return None
    match = re.search(r"wrote (\S+\.json)", proc.stdout)
    return ROOT / match.group(1) if match else None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", help="an existing, seeded catalogue")
    parser.add_argument("--rows", type=int, default=DEFAULT_ROWS, help="books to seed")
    parser.add_argument("--requests", type=int, default=DEFAULT_REQUESTS, help="per page")
    parser.add_argument("--label", default="", help="a name for this run in the JSON")
    parser.add_argument("--compare", type=Path, help="an earlier profile JSON: before → after")
    parser.add_argument("--no-doc", action="store_true", help="leave docs/PERFORMANCE.md alone")
    args = parser.parse_args(argv)
    url = args.database_url
    seeded = None
    if not url:
        url = seeded = seed_sqlite(args.rows)
    try:
        result = profile(url, args.requests, args.label)
    finally:
        if seeded:
            for suffix in ("", "-wal", "-shm"):
                Path(f"{seeded.removeprefix('sqlite:///')}{suffix}").unlink(missing_ok=True)
    baseline = json.loads(args.compare.read_text()) if args.compare else None
    out = save(result, baseline, update_doc=not args.no_doc)
    print(markdown(result, baseline))
    print(f"wrote {out.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
