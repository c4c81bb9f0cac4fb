"""Graph invariants over generated app sets (hypothesis)."""

from __future__ import annotations

import random
import shutil
from pathlib import Path

import pytest
from conftest import KLASTERFILE
from hypothesis import given
from hypothesis import strategies as st
from strategies import AppSpec, app_sets

from klaster_build import engine
from klaster_build.engine import load
from klaster_build.errors import ProblemsFound
from klaster_build.graph import build_graph
from klaster_build.values import record_references


def _write(
    root: Path,
    apps: list[AppSpec],
    order: list[int] | None = None,
    back_ref: dict[str, str] | None = None,
) -> None:
    if root.exists():
        shutil.rmtree(root)
    (root / "apps.d").mkdir(parents=True)
    (root / "klasterfile.py").write_text(KLASTERFILE)
    indices = order if order is not None else list(range(len(apps)))
    for i in indices:
        app = apps[i]
        (root / "apps.d" / f"{app.name}.py").write_text(app.source((back_ref or {}).get(app.name)))


@given(apps=app_sets())
def test_edges_join_declared_records_in_topological_order(
    scratch: Path, apps: list[AppSpec]
) -> None:
    """Every edge endpoint is a declared record and the emission order respects every edge."""
    _write(scratch / "p", apps)
    project = load(scratch / "p")
    graph = build_graph(project)
    assert not graph.problems
    declared = set(project.records)
    assert set(graph.graph.nodes) == declared
    position = {record: i for i, record in enumerate(graph.order)}
    assert len(position) == len(declared)
    for source, target in graph.graph.edges:
        assert source in declared and target in declared
        assert position[source] < position[target]
    # Ties are broken by declaration order, exactly as networkx's reference algorithm does.
    import networkx as nx

    declared_at = {record: i for i, record in enumerate(project.records)}
    reference = nx.lexicographical_topological_sort(graph.graph, key=declared_at.__getitem__)
    assert list(graph.order) == list(reference)
    # one edge per declared reference, plus Deployment -> Service for each pair
    expected = sum(len(s.refs) + 1 for a in apps for s in a.services)
    assert graph.graph.number_of_edges() == expected
    # The edges come in the order the references were found (records in declaration order,
    # fields in order), and the neighbour lists a build uses are the networkx graph's.
    found = list(
        dict.fromkeys(
            (
                graph.by_address.get(getattr(ref, "address", "")) or getattr(ref, "target", ref),
                record,
            )
            for record in project.records
            for _, ref in record_references(record)
        )
    )
    assert [(a, b) for a, b, _ in graph.edges] == found
    assert list(graph.graph.edges) == sorted(found, key=lambda e: declared_at[e[0]])
    for record in project.records:
        assert graph.dependencies(record) == list(graph.graph.predecessors(record))
        assert graph.dependents(record) == list(graph.graph.successors(record))


@given(apps=app_sets(min_apps=2), data=st.data())
def test_back_reference_is_reported_as_a_cycle_naming_its_members(
    scratch: Path, apps: list[AppSpec], data: st.DataObject
) -> None:
    """A reference from an earlier app to a later one that leads back is a cycle error."""
    first, last = apps[0], apps[-1]
    # last -> first's loop ConfigMap, first's loop ConfigMap -> last's service: a cycle.
    back = {first.name: f"{last.name}/ConfigMap/loop", last.name: f"{first.name}/ConfigMap/loop"}
    _write(scratch / "p", apps, back_ref=back)
    project = load(scratch / "p")
    graph = build_graph(project)
    cycles = [p for p in graph.problems if "reference cycle" in p.message]
    assert len(cycles) == 1
    assert f"{first.name}/ConfigMap/loop (apps.d/{first.name}.py:" in cycles[0].message
    assert f"{last.name}/ConfigMap/loop (apps.d/{last.name}.py:" in cycles[0].message


@given(apps=app_sets(), seed=st.integers(0, 2**32 - 1))
def test_output_is_identical_whatever_the_file_creation_order(
    scratch: Path, apps: list[AppSpec], seed: int
) -> None:
    """Rendering does not depend on the order apps.d files were created in."""
    _write(scratch / "a", apps)
    files_a = engine.render_project(scratch / "a").files
    order = list(range(len(apps)))
    random.Random(seed).shuffle(order)
    _write(scratch / "b", apps, order=order)
    files_b = engine.render_project(scratch / "b").files
    assert files_a == files_b


@given(apps=app_sets())
def test_build_then_check_is_clean_and_failing_build_writes_nothing(
    scratch: Path, apps: list[AppSpec]
) -> None:
    """build then --check exits 0; a later failing build leaves out/ byte-identical."""
    root = scratch / "p"
    _write(root, apps)
    assert engine.build(root).status == 0
    assert engine.build(root, check=True).status == 0
    before = {p: p.read_bytes() for p in sorted((root / "out").rglob("*")) if p.is_file()}
    (root / "apps.d" / f"{apps[0].name}.py").write_text(
        apps[0].source() + "Service('Broken_Name')\n"
    )
    with pytest.raises(ProblemsFound):
        engine.build(root)
    after = {p: p.read_bytes() for p in sorted((root / "out").rglob("*")) if p.is_file()}
    assert after == before
