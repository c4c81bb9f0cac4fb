"""Cross-record invariants: small functions that return problems, run on every build."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING

from klaster_build.errors import Problem

if TYPE_CHECKING:
    from klaster_build.graph import ProjectGraph
    from klaster_build.project import Project

Check = Callable[["Project", "ProjectGraph"], Iterable[Problem]]
CHECKS: list[Check] = []


def invariant(check: Check) -> Check:
    """Register a check; families register theirs next to their records."""
    CHECKS.append(check)
    return check


def run_checks(project: Project, graph: ProjectGraph) -> list[Problem]:
    """Every problem every invariant finds, sorted by place."""
    problems: list[Problem] = []
    for check in CHECKS:
        problems.extend(check(project, graph))
    return sorted(problems)
