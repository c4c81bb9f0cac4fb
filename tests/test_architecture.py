"""The pipeline's shape holds: data flows load -> graph -> check -> render -> write, one way."""

from __future__ import annotations

import ast
from pathlib import Path

import networkx as nx
import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "klaster_build"

# What a phase must never import (it would reach forward or back in the pipeline).
FORBIDDEN = {
    "klaster_build.records": ("emit", "engine", "output", "loader", "graph", "render_context"),
    "klaster_build.graph": ("emit", "render_context", "output", "loader", "engine"),
    "klaster_build.loader": ("emit", "output", "engine", "graph"),
    "klaster_build.emit": ("output", "loader", "engine"),
}
# Modules that import lazily on purpose: the CLI loads only what a command needs.
LAZY = {"klaster_build.cli", "klaster_build.commands", "klaster_build.report"}


def _module(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(tree: ast.Module) -> list[tuple[str, bool, bool]]:
    """(imported klaster module, at module level?, for type checkers only?) for every import."""
    found: list[tuple[str, bool, bool]] = []

    def visit(node: ast.AST, at_top: bool, typing_only: bool) -> None:
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            typing_only = True  # never run, but still a dependency between modules
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("klaster_build"):
            module = str(node.module)
            found.extend(
                (n, at_top, typing_only)
                for n in [module, *(f"{module}.{a.name}" for a in node.names)]
            )
        inside = at_top and not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
        for child in ast.iter_child_nodes(node):
            visit(child, inside, typing_only)

    visit(tree, True, False)
    return found


def _graph(*, typing_only: bool = False) -> tuple[nx.DiGraph, list[tuple[str, str]]]:
    """The import graph of klaster's modules (with `typing_only`, the imports for type
    checkers too), and the imports made inside functions."""
    modules = {_module(p): p for p in PACKAGE.rglob("*.py")}
    graph = nx.DiGraph()
    lazy: list[tuple[str, str]] = []
    for name, path in modules.items():
        for target, at_top, for_types in _imports(ast.parse(path.read_text())):
            if target in modules and target != name and (typing_only or not for_types):
                graph.add_edge(name, target)
                if not at_top:
                    lazy.append((name, target))
    return graph, lazy


@pytest.mark.parametrize("typing_only", [False, True])
def test_no_import_cycles(typing_only: bool) -> None:
    """klaster's modules import each other without cycles: none hidden in functions, and none
    among the imports for type checkers either (a module that only names another's types still
    builds on it)."""
    graph, _ = _graph(typing_only=typing_only)
    assert list(nx.simple_cycles(graph)) == []


def test_only_the_cli_imports_lazily() -> None:
    """Function-level imports of klaster modules are the CLI's (start-up), never a hidden cycle."""
    _, lazy = _graph()
    assert [edge for edge in lazy if edge[0] not in LAZY] == []


@pytest.mark.parametrize("phase", sorted(FORBIDDEN))
def test_phases_do_not_reach_across_the_pipeline(phase: str) -> None:
    """Records know nothing of rendering or writing; the graph nothing of rendering; the loader
    nothing of writing; emitters nothing of the disk."""
    graph, _ = _graph()
    own = [m for m in graph.nodes if m == phase or m.startswith(phase + ".")]
    reached = {t for m in own for t in graph.successors(m)}
    banned = [
        t
        for t in reached
        for b in FORBIDDEN[phase]
        if t == f"klaster_build.{b}" or t.startswith(f"klaster_build.{b}.")
    ]
    assert banned == []


def test_families_do_not_import_each_other() -> None:
    """A family's emit module (the one ending in `FAMILY = Family(...)`) uses the shared pieces
    (outputs, pods, volumes, yaml) and never another family's module: what one family offers
    the others reaches them through its Family value (mounts, read_by_name, placements,
    expanders, output_checks, step_checks)."""
    graph, _ = _graph(typing_only=True)
    families = {
        _module(path)
        for path in (PACKAGE / "emit").glob("*.py")
        if "\nFAMILY = Family(" in path.read_text()
    }
    assert len(families) >= 10
    crossing = sorted(
        (family, target)
        for family in families
        for target in graph.successors(family)
        if target in families or (target.startswith("klaster_build.checks"))
    )
    assert crossing == []
