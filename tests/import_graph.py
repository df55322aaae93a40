"""The project's import graph, read from the source (nothing is imported): which module imports
which, at module top or inside a function, and on which line."""
from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

from tests.helpers import ROOT

PACKAGES = ("bench", "models")


@dataclass(frozen=True)
class Edge:
    source: str        # importing module
    target: str        # imported module (a project module, or a third-party top-level name)
    line: int
    top: bool          # at module top (or in a top-level if/try), not inside a function
    commented: bool    # a comment on the line, or on the line(s) just above, says why


def modules() -> dict[str, Path]:
    found = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            name = ".".join(path.relative_to(ROOT).with_suffix("").parts)
            found[name.removesuffix(".__init__")] = path
    return found


def _targets(node: ast.AST, module: str, is_package: bool, known: set[str]) -> list[str]:
    if isinstance(node, ast.Import):
        return [a.name for a in node.names]
    base = node.module or ""
    if node.level:
        parts = module.split(".")[: len(module.split(".")) - node.level + (1 if is_package else 0)]
        base = ".".join(parts + ([base] if base else []))
    out = []
    for alias in node.names:  # `from package import submodule` imports the submodule
        candidate = f"{base}.{alias.name}"
        out.append(candidate if candidate in known else base)
    return out


def _commented(lines: list[str], lineno: int) -> bool:
    if "#" in lines[lineno - 1]:
        return True
    above = lineno - 2
    while above >= 0 and lines[above].strip().startswith(("from ", "import ")):
        above -= 1  # a block of imports shares the comment above it
    return above >= 0 and lines[above].strip().startswith("#")


def edges() -> list[Edge]:
    known = modules()
    out = []
    for name, path in known.items():
        source = path.read_text()
        lines = source.splitlines()
        tree = ast.parse(source)
        top_level, type_only = set(), set()
        for node in tree.body:
            if isinstance(node, ast.If) and getattr(node.test, "id", None) == "TYPE_CHECKING":
                type_only.update(id(n) for n in ast.walk(node))  # annotations only: no import
                continue
            top_level.update(id(n) for n in ast.walk(node)
                             if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef,
                                                      ast.ClassDef)))
        for node in ast.walk(tree):
            if id(node) in type_only:
                continue
            if isinstance(node, (ast.Import, ast.ImportFrom)) and not (
                    isinstance(node, ast.ImportFrom) and node.module == "__future__"):
                for target in _targets(node, name, path.name == "__init__.py", set(known)):
                    out.append(Edge(name, target, node.lineno, id(node) in top_level,
                                    _commented(lines, node.lineno)))
    return out


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in graph.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in list(graph):
        if v not in index:
            visit(v)
    return found
