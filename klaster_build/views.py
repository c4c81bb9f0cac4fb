"""Pictures and listings of the graph: terminal tree, DOT, Mermaid, JSON. Pure functions."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import TYPE_CHECKING

import attrs

from klaster_build.errors import Problem
from klaster_build.records.base import Record
from klaster_build.refs import ClusterRef
from klaster_build.values import record_references

if TYPE_CHECKING:
    from rich.tree import Tree

    from klaster_build.graph import ProjectGraph

FORMATS = ("tree", "dot", "mermaid", "json", "svg", "png")


def selected(graph: ProjectGraph, apps: Iterable[str] | None) -> list[Record]:
    """Records of the chosen apps (all when none), plus their direct neighbours in other apps."""
    wanted = set(apps or ())
    records = [r for r in graph.order if not wanted or r.app in wanted]
    if wanted:
        neighbours = [n for r in records for n in (*graph.dependencies(r), *graph.dependents(r))]
        extra = [n for n in neighbours if n.app not in wanted]
        records += [r for r in dict.fromkeys(extra) if r not in records]
    return records


@attrs.frozen
class GraphNode:
    """A record as the views show it."""

    address: str
    kind: str
    app: str
    name: str
    file: str
    line: int
    problems: tuple[str, ...]  # "error: ..." / "warning: ..." about this record
    settings: tuple[str, ...] = ()  # klasterfile settings it reads: "domain", "host('auth')"


@attrs.frozen
class GraphEdge:
    """`target` refers to `source` through its field `field` (JSON: from, to, field)."""

    source: str
    target: str
    field: str


@attrs.frozen
class GraphData:
    """The part of the graph a view shows."""

    nodes: tuple[GraphNode, ...]
    edges: tuple[GraphEdge, ...]


def settings_read(record: Record) -> tuple[str, ...]:
    """The klasterfile settings a record reads through `cluster.<setting>` references."""
    labels = (r.label for _, r in record_references(record) if isinstance(r, ClusterRef))
    return tuple(sorted(set(labels)))


def to_data(
    graph: ProjectGraph, records: list[Record], problems: Iterable[Problem] = ()
) -> GraphData:
    """The chosen records, the edges between them, and the problems on each."""
    flagged: dict[str, list[str]] = {}
    for problem in problems:
        if problem.subject:
            flagged.setdefault(problem.subject, []).append(f"{problem.severity}: {problem.message}")
    chosen = set(records)
    nodes = tuple(
        GraphNode(
            r.address,
            r.kind,
            r.app,
            r.record_name,
            r.origin.path,
            r.origin.line,
            tuple(flagged.get(r.address, ())),
            settings_read(r),
        )
        for r in records
    )
    edges = tuple(
        GraphEdge(a.address, b.address, field)
        for a, b, field in graph.edges
        if a in chosen and b in chosen
    )
    return GraphData(nodes, edges)


def _dot_id(address: str) -> str:
    return '"' + address.replace("\\", "\\\\").replace('"', '\\"') + '"'


def to_dot(data: GraphData) -> str:
    """Graphviz DOT: one cluster per app, failing nodes in red."""
    lines = ["digraph klaster {", "  rankdir=LR;", '  node [shape=box, fontname="Helvetica"];']
    by_app: dict[str, list[GraphNode]] = {}
    for node in data.nodes:
        by_app.setdefault(node.app, []).append(node)
    for index, (app, nodes) in enumerate(by_app.items()):
        lines.append(f"  subgraph cluster_{index} {{")
        lines.append(f"    label={_dot_id(app or 'cluster')};")
        for node in nodes:
            label = f"{node.kind}\\n{node.name}\\n{node.file}:{node.line}"
            color = ", color=red, fontcolor=red" if node.problems else ""
            lines.append(f'    {_dot_id(node.address)} [label="{label}"{color}];')
        lines.append("  }")
    for edge in data.edges:
        lines.append(
            f"  {_dot_id(edge.source)} -> {_dot_id(edge.target)} [label={_dot_id(edge.field)}];"
        )
    lines.append("}")
    return "\n".join(lines) + "\n"


def _mermaid_id(address: str, ids: dict[str, str]) -> str:
    return ids.setdefault(address, f"n{len(ids)}")


def _mermaid_text(text: str) -> str:
    return re.sub(r'["<>{}\[\]|]', "_", text)


def to_mermaid(data: GraphData) -> str:
    """A Mermaid flowchart (Gitea renders it in Markdown); one subgraph per app."""
    ids: dict[str, str] = {}
    lines = ["flowchart LR"]
    by_app: dict[str, list[GraphNode]] = {}
    for node in data.nodes:
        by_app.setdefault(node.app, []).append(node)
    for index, (app, nodes) in enumerate(by_app.items()):
        lines.append(f'  subgraph app{index}["{_mermaid_text(app or "cluster")}"]')
        for node in nodes:
            label = _mermaid_text(f"{node.kind} {node.name}")
            lines.append(f'    {_mermaid_id(node.address, ids)}["{label}"]')
        lines.append("  end")
    for edge in data.edges:
        lines.append(
            f"  {_mermaid_id(edge.source, ids)} -->|{_mermaid_text(edge.field)}| {_mermaid_id(edge.target, ids)}"
        )
    failing = [_mermaid_id(n.address, ids) for n in data.nodes if n.problems]
    if failing:
        lines.append("  classDef problem stroke:#d00,stroke-width:3px")
        lines.append(f"  class {','.join(failing)} problem")
    return "\n".join(lines) + "\n"


def to_tree(data: GraphData) -> list[Tree]:
    """One rich Tree per app: each chain from its roots, cross-app edges marked."""
    from rich.markup import escape
    from rich.tree import Tree

    nodes = {n.address: n for n in data.nodes}
    children: dict[str, list[tuple[str, str]]] = {}
    has_parent: set[str] = set()
    for edge in data.edges:
        children.setdefault(edge.source, []).append((edge.target, edge.field))
        if nodes[edge.source].app == nodes[edge.target].app:
            has_parent.add(edge.target)

    def label(node: GraphNode, via: str = "", other_app: bool = False) -> str:
        text = f"[bold]{escape(node.kind)}[/bold] {escape(node.name)} [dim]{escape(node.file)}:{node.line}[/dim]"
        if via:
            text = f"[dim]{escape(via)} →[/dim] " + text
        if other_app:
            text += f" [magenta](app {escape(node.app)})[/magenta]"
        if node.settings:
            text += f" [dim](klasterfile: {escape(', '.join(node.settings))})[/dim]"
        for problem in node.problems:
            text += f"\n[red]✗ {escape(problem)}[/red]"
        return text

    def grow(branch: Tree, address: str, app: str, seen: set[str], depth: int) -> None:
        for child, field in children.get(address, []):
            node = nodes[child]
            other = node.app != app
            twig = branch.add(label(node, field, other))
            if not other and child not in seen and depth < 12:
                seen.add(child)
                grow(twig, child, app, seen, depth + 1)

    trees = []
    for app in dict.fromkeys(n.app for n in data.nodes):
        tree = Tree(f"[bold cyan]{escape(app)}[/bold cyan]")
        seen: set[str] = set()
        for node in data.nodes:
            if node.app == app and node.address not in has_parent:
                seen.add(node.address)
                grow(tree.add(label(node)), node.address, app, seen, 0)
        trees.append(tree)
    return trees
