"""Layers: model <- validation <- outputs, and no import cycle between modules.

Every import counts, at the top of a module or inside a function: a lazy import still makes
one module depend on another.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("model", "validation", "outputs", "api")
ALLOWED = {
    "model": {"model"},
    "validation": {"model", "validation"},
    "outputs": {"model", "validation", "outputs"},
    "api": {"model", "validation", "outputs", "api"},
}
"""Which packages each package may import (the ``api`` folder holds ``import projection``)."""


def modules() -> dict[str, Path]:
    """'model.integrate' -> its file, for every module of the project's packages."""
    found = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).glob("*.py")):
            name = package if path.stem == "__init__" else f"{package}.{path.stem}"
            found[name] = path
    return found


def _package_name(name: str) -> str | None:
    """'projection.model.scenario' -> 'model.scenario'; 'projection' -> 'api'."""
    if name == "projection":
        return "api"
    if name.startswith("projection."):
        return name.removeprefix("projection.")
    return None


def imports_of(name: str, path: Path, known: set[str]) -> set[str]:
    """The project modules that module ``name`` imports, anywhere in its file."""
    package = name if path.stem == "__init__" else name.rsplit(".", 1)[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        targets: list[str] = []
        if isinstance(node, ast.Import):
            targets = [t for t in (_package_name(a.name) for a in node.names) if t]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base_parts = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(base_parts)
                module = f"{base}.{node.module}" if node.module else base
            else:
                module = _package_name(node.module or "") or ""
            if not module:
                continue
            targets = [module]
            targets += [f"{module}.{a.name}" for a in node.names if f"{module}.{a.name}" in known]
        for target in targets:
            while target and target not in known:  # a name inside a module: the module
                target = target.rsplit(".", 1)[0] if "." in target else ""
            if target and target != name:
                found.add(target)
    return found


def graph() -> dict[str, set[str]]:
    known = modules()
    return {name: imports_of(name, path, set(known)) for name, path in known.items()}


def test_the_graph_sees_the_imports_it_must():
    """The checker itself: relative, absolute, from-package and lazy imports all count."""
    g = graph()
    assert "model.integrate" in g["model.ensemble"]  # from .integrate import ...
    assert "model.xla" in g["model.ensemble"]  # from . import xla, inside a function
    assert "model.scenario" in g["outputs.cli"]  # from projection.model.scenario import ...


def test_packages_import_only_downwards():
    """model imports neither validation nor outputs; validation does not import outputs."""
    wrong = [
        f"{name} imports {target}"
        for name, targets in graph().items()
        for target in sorted(targets)
        if target.split(".")[0] not in ALLOWED[name.split(".")[0]]
    ]
    assert not wrong, "imports against the layers: " + "; ".join(wrong)


def test_no_import_cycles():
    g = graph()
    cycles: list[list[str]] = []
    state: dict[str, int] = {}  # 1: on the current path, 2: finished
    path: list[str] = []

    def visit(node: str) -> None:
        state[node] = 1
        path.append(node)
        for target in sorted(g.get(node, ())):
            if state.get(target) == 1:
                cycles.append([*path[path.index(target):], target])
            elif target not in state:
                visit(target)
        path.pop()
        state[node] = 2

    for node in sorted(g):
        if node not in state:
            visit(node)
    assert not cycles, "import cycles: " + "; ".join(" -> ".join(c) for c in cycles)
