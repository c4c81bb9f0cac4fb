"""Cross-record invariants: small functions that return problems, run on every build."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING

from klaster_build.errors import Problem

if TYPE_CHECKING:
    from klaster_build.graph import ProjectGraph
    from klaster_build.project import Project

Check = Callable[["Project", "ProjectGraph"], Iterable[Problem]]
# What a cluster-wide check reads from a project: for a project of one app, that app's share.
Facts = Callable[["Project"], Iterable[object]]
CHECKS: list[Check] = []
# Checks that compare records of different apps with no reference between them (unique names,
# one namespace's exemptions), with the facts each reads. Every other check is local: what it
# says of a record depends only on that record, the records it refers to and the klasterfile.
CLUSTER_FACTS: dict[Check, Facts] = {}


def invariant(check: Check) -> Check:
    """Register a local check; families register theirs next to their records."""
    CHECKS.append(check)
    return check


def cluster_invariant(facts: Facts) -> Callable[[Check], Check]:
    """Register a check that compares across apps; `facts` lists all it reads of a project."""

    def register(check: Check) -> Check:
        CLUSTER_FACTS[check] = facts
        return invariant(check)

    return register


def run_checks(project: Project, graph: ProjectGraph) -> list[Problem]:
    """Every problem every invariant finds, sorted by place."""
    local, cluster = split_checks(project, graph)
    return sorted(local + cluster)


def split_checks(
    project: Project, graph: ProjectGraph, *, local_only: bool = False
) -> tuple[list[Problem], list[Problem]]:
    """(problems of local checks, problems of cluster-wide checks); the latter empty with
    `local_only`."""
    local: list[Problem] = []
    cluster: list[Problem] = []
    for check in CHECKS:
        if check not in CLUSTER_FACTS:
            local.extend(check(project, graph))
        elif not local_only:
            cluster.extend(check(project, graph))
    return local, cluster


def cluster_facts(project: Project) -> list[tuple[str, list[object]]]:
    """What every cluster-wide check reads of `project`."""
    return [(check.__name__, list(facts(project))) for check, facts in CLUSTER_FACTS.items()]
