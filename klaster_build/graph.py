"""The dependency graph: nodes are records, edges come from the references in their fields.

An edge `a -> b` means b refers to a (a must exist first). Topological order drives emission.
A build needs only each record's neighbours and the order, kept in plain dicts; the networkx
graph (views, cycle reports, analyses) is made from the same edges when first asked for, so a
build does not pay for importing networkx.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

import attrs

from klaster_build.errors import DeclarationError, Mistake, Problem, did_you_mean
from klaster_build.records.base import Record
from klaster_build.refs import AddressRef, ClusterRef, Ref, follow
from klaster_build.values import record_references

if TYPE_CHECKING:
    import networkx as nx

    from klaster_build.project import Project


Edge = tuple[Record, Record, str]  # (dependency, dependent, the dependent's field)


@attrs.frozen
class ProjectGraph:
    """The graph plus what building it found wrong."""

    records: tuple[Record, ...]  # the nodes, in declaration order
    edges: tuple[Edge, ...]  # in the order the references were found; one per record pair
    by_address: dict[str, Record]
    order: tuple[Record, ...]  # topological, dependencies first; declaration order breaks ties
    problems: tuple[Problem, ...]
    _succ: dict[Record, dict[Record, str]] = attrs.field(eq=False, repr=False)
    _pred: dict[Record, dict[Record, str]] = attrs.field(eq=False, repr=False)
    _networkx: list[nx.DiGraph] = attrs.field(init=False, factory=list, eq=False, repr=False)

    @property
    def graph(self) -> nx.DiGraph:
        """The same graph as a networkx DiGraph (edge attribute "field"), made once."""
        if not self._networkx:
            import networkx as nx

            graph = nx.DiGraph()
            graph.add_nodes_from(self.records)
            graph.add_edges_from((a, b, {"field": field}) for a, b, field in self.edges)
            self._networkx.append(graph)
        return self._networkx[0]

    def dependencies(self, record: Record) -> list[Record]:
        """Records `record` refers to."""
        return list(self._pred[record])

    def dependents(self, record: Record) -> list[Record]:
        """Records that refer to `record`."""
        return list(self._succ[record])


def _address_target(reference: AddressRef, by_address: dict[str, Record]) -> Record | Mistake:
    """The record an address reference names, or what is wrong with the reference."""
    named = f"reference {reference.address!r}"
    target = by_address.get(reference.address)
    if target is None:
        return Mistake(
            "matches no declared record",
            record=named,
            instead=did_you_mean(reference.address, by_address) or "addresses are 'app/kind/name'",
        )
    value: Any = target
    for part in reference.parts:
        try:
            value = follow(value, (part,))
        except AttributeError:
            return Mistake(f"has no attribute {part!r}", record=named)
        except (DeclarationError, TypeError) as error:
            return Mistake(str(error), record=f"{named}:")
    return target


def build_graph(project: Project) -> ProjectGraph:
    """Index records by address, add reference edges, find unresolved names and cycles."""
    problems: list[Problem] = []
    by_address: dict[str, Record] = {}
    declared = set(project.records)
    # (dependency, dependent) -> field. Like networkx: a second reference to the same record
    # keeps one edge (in the place of the first), with the field of the last.
    found: dict[tuple[Record, Record], str] = {}
    for record in project.records:
        other = by_address.get(record.address)
        if other is not None:
            problems.append(
                Problem.at(
                    record,
                    Mistake(
                        f"is declared twice (also at {other.origin})",
                        record=repr(record.address),
                        instead="give one of them another name",
                    ),
                )
            )
        else:
            by_address[record.address] = record

    for record in project.records:
        for field, reference in record_references(record):
            target: Record | None
            if isinstance(reference, Record):
                target = reference
            elif isinstance(reference, Ref):
                target = reference.target
            elif isinstance(reference, ClusterRef):
                continue  # a klasterfile setting: no record to order (views list it per node)
            else:
                found_target = _address_target(reference, by_address)
                if isinstance(found_target, Mistake):
                    problems.append(Problem(reference.origin, found_target, subject=record.address))
                    continue
                target = found_target
            if target not in declared:
                problems.append(
                    Problem.at(
                        record,
                        Mistake(
                            "refers to a record that was never declared in an apps.d file",
                            record=f"{record.address} field",
                            field=field,
                        ),
                    )
                )
                continue
            if target is not record:
                found[target, record] = field
            else:
                problems.append(
                    Problem(record.origin, Mistake("refers to itself", record=record.address))
                )

    edges = tuple((a, b, field) for (a, b), field in found.items())
    succ: dict[Record, dict[Record, str]] = {record: {} for record in project.records}
    pred: dict[Record, dict[Record, str]] = {record: {} for record in project.records}
    for a, b, field in edges:
        succ[a][b] = field
        pred[b][a] = field
    order = _declaration_topological_order(project.records, succ, pred)
    graph = ProjectGraph(
        project.records, edges, by_address, order or project.records, tuple(problems), succ, pred
    )
    if order is None:
        graph = attrs.evolve(graph, problems=(*problems, *_cycle_problems(graph.graph)))
    return graph


def _declaration_topological_order(
    records: tuple[Record, ...],
    succ: dict[Record, dict[Record, str]],
    pred: dict[Record, dict[Record, str]],
) -> tuple[Record, ...] | None:
    """Dependencies first, declaration order among the rest; None when there is a cycle.

    Kahn's algorithm with a heap of declaration positions: what networkx's
    lexicographical_topological_sort computes, without its per-node generic overhead.
    """
    index = {record: position for position, record in enumerate(records)}
    waiting = [len(pred[record]) for record in records]
    ready = [position for position, count in enumerate(waiting) if count == 0]
    heapq.heapify(ready)
    order: list[Record] = []
    while ready:
        record = records[heapq.heappop(ready)]
        order.append(record)
        for dependent in succ[record]:
            position = index[dependent]
            waiting[position] -= 1
            if waiting[position] == 0:
                heapq.heappush(ready, position)
    return tuple(order) if len(order) == len(records) else None


def _cycle_problems(graph: nx.DiGraph) -> Iterable[Problem]:
    import networkx as nx

    position = {record: index for index, record in enumerate(graph.nodes)}
    for component in nx.strongly_connected_components(graph):
        if len(component) < 2:
            continue
        # Components are sets (of records hashed by identity): walk them in declaration order
        # so the reported cycle is the same in every run.
        ordered = sorted(component, key=position.__getitem__)
        loop = nx.DiGraph()
        loop.add_nodes_from(ordered)
        loop.add_edges_from((a, b) for a in ordered for b in graph.successors(a) if b in component)
        cycle = nx.find_cycle(loop, source=ordered[0])
        members = [edge[0] for edge in cycle]
        path = " -> ".join(f"{m.address} ({m.origin})" for m in [*members, members[0]])
        first = min(members, key=lambda m: m.origin)
        yield Problem.at(
            first,
            Mistake(
                f"reference cycle: {path}", instead="break it by removing one of these references"
            ),
        )
