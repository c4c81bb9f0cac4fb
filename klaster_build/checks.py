"""Running the families' invariants: small functions that return problems, on every build."""

from __future__ import annotations

from typing import TYPE_CHECKING

from klaster_build.errors import Problem

if TYPE_CHECKING:
    from klaster_build.family import Catalog
    from klaster_build.graph import ProjectGraph
    from klaster_build.project import Project


def unknown_records(project: Project, catalog: Catalog) -> list[Problem]:
    """Records of a type no family lists: klaster would not know how to render them."""
    return [
        Problem(
            record.origin,
            f"{type(record).__name__} is not a record type klaster builds; declare records "
            "from klaster_build.dsl (see `klaster explain`)",
        )
        for record in project.records
        if not catalog.knows(record)
    ]


def run_checks(project: Project, graph: ProjectGraph, catalog: Catalog) -> list[Problem]:
    """Every problem every family's invariants find, sorted by place."""
    return sorted(problem for check in catalog.checks for problem in check(project, graph))
