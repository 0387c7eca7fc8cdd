"""No import loops between the parts of a product, and no imports between the two products.

A *part* is what sits directly inside a product's package: a sub-package (bookshelf.books,
bookshelf.users, ...) or a module (bookshelf.models, deployhook.store, ...). The graph is read
from the source with `ast`, not by importing, so an import inside a function counts as much
as one at the top of a file: it loops just the same, only later.

The product package itself (its __init__: create_app wires every part together) is no node:
Python runs it before any of its modules anyway, so `from deployhook import procs` is an
import of deployhook.procs, not of the package.

Run it alone with `.venv/bin/pytest tests/test_import_cycles.py -q`; a failure prints each
loop as `a -> b -> a`, with the file and line of every import along it.
"""

from __future__ import annotations

import ast
import itertools
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src"
PRODUCTS = ("bookshelf", "deployhook")


@dataclass(frozen=True)
class Import:
    source: str  # the importing part, e.g. "bookshelf.users"
    target: str  # the imported part
    where: str  # file:line, for the failure message


def module_name(path: Path) -> str:
    parts = list(path.relative_to(SRC).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imported_modules(path: Path) -> list[tuple[str, int]]:
    """Every module `path` imports, absolute, with its line: `from . import x` names x too."""
    name = module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: list[tuple[str, int]] = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            found.extend((alias.name, node.lineno) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                module = ".".join([*base, node.module] if node.module else base)
            else:
                module = node.module or ""
            found.append((module, node.lineno))
            # `from pkg import sub` imports the module pkg.sub when there is one.
            found.extend((f"{module}.{alias.name}", node.lineno) for alias in node.names)
    return found


def part_of(module: str) -> str | None:
    """The product part a module belongs to; None outside the products or for a name that is
    no module (`from bookshelf.models import Book` yields "bookshelf.models.Book" too)."""
    pieces = module.split(".")
    if pieces[0] not in PRODUCTS or len(pieces) < 2:
        return None
    path = SRC.joinpath(*pieces)
    if not (path.with_suffix(".py").is_file() or (path / "__init__.py").is_file()):
        return None
    return ".".join(pieces[:2])


def import_graph() -> list[Import]:
    edges: list[Import] = []
    for product in PRODUCTS:
        for path in sorted((SRC / product).rglob("*.py")):
            source = part_of(module_name(path))
            if source is None:
                continue
            for module, line in imported_modules(path):
                target = part_of(module)
                if target is not None and target != source:
                    edges.append(Import(source, target, f"{path.relative_to(SRC)}:{line}"))
    return edges


def cycles(edges: list[Import]) -> list[list[str]]:
    """One loop per strongly connected group of parts (Tarjan), as a path that closes."""
    graph: dict[str, set[str]] = defaultdict(set)
    for edge in edges:
        graph[edge.source].add(edge.target)
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    groups: list[set[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for nxt in sorted(graph[node]):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            group = set()
            while True:
                member = stack.pop()
                group.add(member)
                if member == node:
                    break
            if len(group) > 1:
                groups.append(group)

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return [loop_within(graph, group) for group in groups]


def loop_within(graph: dict[str, set[str]], group: set[str]) -> list[str]:
    """A shortest path from the group's first member back to itself (breadth first)."""
    start = min(group)
    paths = {start: [start]}
    queue = [start]
    while queue:
        node = queue.pop(0)
        for nxt in sorted(graph[node] & group):
            if nxt == start:
                return [*paths[node], start]
            if nxt not in paths:
                paths[nxt] = [*paths[node], nxt]
                queue.append(nxt)
    raise AssertionError(f"no loop in {group}")  # a strongly connected group always has one


def describe(loop: list[str], edges: list[Import]) -> str:
    lines = [" -> ".join(loop)]
    for source, target in itertools.pairwise(loop):
        places = sorted(e.where for e in edges if e.source == source and e.target == target)
        lines.append(f"    {source} -> {target}: {', '.join(places)}")
    return "\n".join(lines)


def test_the_graph_sees_imports_of_every_kind() -> None:
    """The parser itself: absolute, relative and function-level imports all make edges."""
    edges = {(e.source, e.target) for e in import_graph()}
    assert ("bookshelf.api", "bookshelf.books") in edges  # absolute, at the top
    assert ("deployhook.cli", "deployhook.web") in edges  # relative, inside a function
    assert ("deployhook.store", "deployhook.procs") in edges  # `from deployhook import procs`


def test_a_loop_is_found_and_printed() -> None:
    """The check can fail: a made-up loop between two parts is reported with its imports."""
    edges = [
        Import("bookshelf.users", "bookshelf.auth", "users/x.py:1"),
        Import("bookshelf.auth", "bookshelf.users", "auth/y.py:2"),
        Import("bookshelf.auth", "bookshelf.models", "auth/y.py:3"),
    ]
    (loop,) = cycles(edges)
    assert loop == ["bookshelf.auth", "bookshelf.users", "bookshelf.auth"]
    assert "auth/y.py:2" in describe(loop, edges)


@pytest.mark.parametrize("product", PRODUCTS)
def test_no_import_loops_between_parts(product: str) -> None:
    edges = [e for e in import_graph() if e.source.startswith(product + ".")]
    assert len({e.source for e in edges}) > 5, f"too few parts of {product} found"
    loops = cycles(edges)
    assert not loops, "import loops between parts:\n" + "\n".join(
        describe(loop, edges) for loop in loops
    )


def test_the_products_never_import_each_other() -> None:
    crossing = [
        f"{e.where}: {e.source} imports {e.target}"
        for e in import_graph()
        if e.source.split(".")[0] != e.target.split(".")[0]
    ]
    assert not crossing, "\n".join(crossing)
