"""What a worker of the production app has loaded, for bench/memory.py; stdlib imports only,
so that the list it reports is the app's own.

`probe_app()` is the production app behind a wrapper that answers PROBE_PATH with the worker's
sys.modules and (under PYTHONTRACEMALLOC) its Python allocations by package. Run as a script,
this module is the import profiler: it builds the app the way a worker does, then imports the
modules named on stdin, and prints the resident memory each module added itself (the RSS
before and after its body ran, less what the modules it imported added).
"""

from __future__ import annotations

import json
import sys
from collections import Counter
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

PROBE_PATH = "/__bench_memory__"


def probe_app() -> Callable[..., Any]:
    from bookshelf import create_app

    app = create_app()
    at_start = by_package()

    def wrapper(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if environ.get("PATH_INFO") != PROBE_PATH:
            return app(environ, start_response)  # type: ignore[no-any-return]
        now = by_package()
        grown = Counter({k: v - at_start.get(k, 0) for k, v in now.items()})
        body = json.dumps(
            {
                "modules": list(sys.modules),
                "python_mb": {k: round(v / 2**20, 2) for k, v in now.most_common(25)},
                "grown_mb": {k: round(v / 2**20, 2) for k, v in grown.most_common(15)},
            }
        ).encode()
        start_response("200 OK", [("Content-Type", "application/json")])
        return [body]

    return wrapper


def by_package() -> Counter[str]:
    """The Python allocations alive now, by the package of the line that made them."""
    import tracemalloc

    sizes: Counter[str] = Counter()
    if tracemalloc.is_tracing():
        for stat in tracemalloc.take_snapshot().statistics("filename"):
            sizes[package_of(stat.traceback[0].filename)] += stat.size
    return sizes


def package_of(filename: str) -> str:
    """site-packages/sqlalchemy/orm/x.py -> sqlalchemy; the stdlib's files -> stdlib:<name>."""
    parts = Path(filename).parts
    for marker in ("site-packages", "src"):
        if marker in parts:
            rest = parts[parts.index(marker) + 1 :]
            return rest[0].removesuffix(".py") if rest else filename
    if filename.startswith("<"):
        return filename
    return "stdlib:" + Path(filename).stem if len(parts) > 1 else filename


def rss_kb() -> int:
    with open("/proc/self/smaps_rollup") as rollup:
        for line in rollup:
            if line.startswith("Rss:"):
                return int(line.split()[1])
    return 0


class SelfCost:
    """A meta path finder that times nothing and weighs everything: each module's own RSS."""

    def __init__(self) -> None:
        self.own: dict[str, int] = {}
        self.stack: list[int] = []  # RSS of the nested imports of each module being run

    def find_spec(self, name: str, path: Any, target: Any = None) -> Any:
        for finder in sys.meta_path:
            if finder is self or not hasattr(finder, "find_spec"):
                continue
            spec = finder.find_spec(name, path, target)
            if spec is not None:
                break
        else:
            return None
        loader = spec.loader
        if loader is None or not hasattr(loader, "exec_module"):
            return spec
        exec_module = loader.exec_module
        profiler = self

        def measured(module: Any) -> None:
            before = rss_kb()
            profiler.stack.append(0)
            try:
                exec_module(module)
            finally:
                nested = profiler.stack.pop()
                total = rss_kb() - before
                profiler.own[name] = total - nested
                if profiler.stack:
                    profiler.stack[-1] += total

        spec.loader = _Loader(loader, measured)
        return spec


class _Loader:
    def __init__(self, inner: Any, exec_module: Callable[[Any], None]) -> None:
        self.inner = inner
        self.exec_module = exec_module

    def create_module(self, spec: Any) -> Any:
        return self.inner.create_module(spec)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


def profile_imports(modules: list[str]) -> dict[str, Any]:
    import importlib

    profiler = SelfCost()
    sys.meta_path.insert(0, profiler)
    start = rss_kb()
    from bookshelf import create_app

    create_app()
    after_app = rss_kb()
    for name in modules:
        if name not in sys.modules:
            try:
                importlib.import_module(name)
            except Exception:  # noqa: S112  (a module the worker had for another reason)
                continue
    by_package: Counter[str] = Counter()
    for name, kb in profiler.own.items():
        by_package[name.split(".")[0]] += kb
    return {
        "interpreter_mb": round(start / 1024, 1),
        "after_create_app_mb": round(after_app / 1024, 1),
        "after_all_mb": round(rss_kb() / 1024, 1),
        "packages_mb": {k: round(v / 1024, 1) for k, v in by_package.most_common(40)},
        "modules_mb": {k: round(v / 1024, 1) for k, v in Counter(profiler.own).most_common(40)},
    }


if __name__ == "__main__":
    print(json.dumps(profile_imports(json.loads(sys.stdin.read()))))
