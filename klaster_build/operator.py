"""Operator steps: the manual work the guidelines end with ("ask the operator to ...").

Families list the functions that derive their steps from the graph; `klaster todo` and the
build summary list them, marking those the committed out/ did not need yet.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Protocol

import attrs

from klaster_build.origin import Origin

if TYPE_CHECKING:
    from klaster_build.graph import ProjectGraph
    from klaster_build.project import Project


@attrs.frozen(order=True)
class OperatorStep:
    """One manual step. `key` identifies it across builds (to tell new steps from known ones)."""

    order: int  # groups steps: lower runs first (e.g. create secrets before syncing OpenBao)
    category: (
        str  # "secret", "authentik", "dns", "port-forward", "openbao-sync", "talos",
        # "claim-move", "data-move", "retired"
    )
    key: str
    summary: str  # one line, imperative: "Create secret/kaneo in OpenBao with keys auth_secret"
    details: dict[str, object] = attrs.field(factory=dict, order=False, eq=False)
    origin: Origin | None = attrs.field(default=None, order=False, eq=False)


def state_key(name: str, state: object) -> str:
    """A step key that changes with `state`, so a step that must be redone when what it acts on
    changes (sync OpenBao, re-apply Talos config) is new again after each such change."""
    return f"{name}:{hashlib.sha256(repr(state).encode()).hexdigest()[:12]}"


def step_subject(key: str) -> tuple[str, str]:
    """(category, what it acts on) of a step key `<category>:<what>`, without the state a
    `state_key` appends (`secret:kaneo:1a2b3c4d5e6f` -> ("secret", "kaneo"))."""
    category, _, rest = key.partition(":")
    return category, rest.partition(":")[0]


class StepSources(Protocol):
    """What collecting steps asks of the families (family.Catalog; a protocol, so that the
    family module builds on this one and not the other way round)."""

    @property
    def steps(self) -> tuple[Callable[[Project, ProjectGraph], Iterable[OperatorStep]], ...]: ...


def collect_steps(
    project: Project, graph: ProjectGraph, catalog: StepSources
) -> list[OperatorStep]:
    """Every family's steps, ordered, without duplicates."""
    steps: dict[str, OperatorStep] = {}
    for source in catalog.steps:
        for step in source(project, graph):
            steps.setdefault(step.key, step)
    return sorted(steps.values())
