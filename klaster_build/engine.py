"""The build pipeline: load -> expand -> graph -> check -> render -> plan -> write. No printing here."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import attrs

from klaster_build import baseline, output, state
from klaster_build.checks import output_problems, run_checks, unknown_records
from klaster_build.cluster import Cluster
from klaster_build.emit import render, serialize
from klaster_build.errors import (
    ExitStatus,
    Mistake,
    Problem,
    ProblemsFound,
    WriteInterrupted,
    scoped,
)
from klaster_build.expansion import expand
from klaster_build.families import CATALOG
from klaster_build.family import Catalog, Removal
from klaster_build.graph import ProjectGraph, build_graph
from klaster_build.loader import load_cluster, load_project
from klaster_build.operator import OperatorStep, collect_steps
from klaster_build.origin import Origin
from klaster_build.project import Project

COMMAND_LINE = Origin("<command line>", 0)


@attrs.frozen
class BuildResult:
    """What a build or check did, for the CLI to report."""

    status: ExitStatus
    plan: output.Plan | None
    files: dict[str, bytes]
    warnings: tuple[Problem, ...] = ()
    diff: str = ""
    noop: bool = False  # answered from the input fingerprint without rendering
    new_steps: tuple[OperatorStep, ...] = ()  # operator steps the previous out/ did not need


def refuse_removals(
    project: Project,
    root: Path,
    rendered: dict[str, bytes],
    steps: Sequence[OperatorStep],
    catalog: Catalog = CATALOG,
    on_disk: dict[str, bytes] | None = None,
) -> None:
    """Raise ProblemsFound when the build, judged as a change from the tree the cluster runs
    (`baseline`), drops what apps.d must retire first (an LV whose data would be destroyed, a
    removed app's leftovers) or changes a volume in a way that loses data; the families'
    removal checks say what. `rendered` is the whole build, also for a build of named apps: the
    files it leaves alone on disk are still dropped from what Flux applies once the apps list is
    rewritten. `on_disk`: what the plan already read from out/."""
    previous = baseline.read(root, project.cluster.out_dir, rendered, on_disk)
    removal = Removal(
        baseline.documents(previous.changed),
        previous.dropped,
        previous.steps - {step.key for step in steps},
        previous.steps,
        previous.source,
    )
    problems = [p for check in catalog.removals for p in check(project, removal)]
    if problems:
        raise ProblemsFound(problems)


def load(root: Path, cluster: Cluster | None = None, catalog: Catalog = CATALOG) -> Project:
    """Load every file and expand what the declarations imply; raise ProblemsFound."""
    project = load_project(root.resolve(), cluster=cluster)
    unknown = unknown_records(project, catalog)
    if unknown:
        raise ProblemsFound(unknown)
    return expand(project, catalog)


@attrs.frozen
class Analysis:
    """A loaded and checked project: what `klaster graph`, `todo`, `why` and a build read."""

    project: Project
    graph: ProjectGraph
    problems: list[Problem]  # each once; errors stop a build, warnings are shown
    steps: tuple[OperatorStep, ...]  # the operator's steps (none when the graph has errors)


def analyse(root: Path, cluster: Cluster | None = None, catalog: Catalog = CATALOG) -> Analysis:
    """Load and check without rendering; checks' problems are returned, not raised. The
    operator steps are collected once, for the checks over them and for what follows."""
    project = load(root, cluster, catalog)
    graph = build_graph(project)
    problems = list(graph.problems)
    steps: tuple[OperatorStep, ...] = ()
    if not any(p.is_error for p in problems):
        steps = tuple(collect_steps(project, graph, catalog))
        problems.extend(run_checks(project, graph, catalog, steps))
    return Analysis(project, graph, list(dict.fromkeys(problems)), steps)


@attrs.frozen
class ProjectRender:
    """A checked project's rendered files and what the build reports about it."""

    project: Project
    files: dict[str, bytes]
    warnings: tuple[Problem, ...]
    steps: tuple[OperatorStep, ...]


def render_project(
    root: Path, cluster: Cluster | None = None, catalog: Catalog = CATALOG
) -> ProjectRender:
    """Load, check and render; raise ProblemsFound on any error."""
    analysis = analyse(root, cluster, catalog)
    problems = analysis.problems
    if any(p.is_error for p in problems):
        raise ProblemsFound(problems)
    outputs = render(analysis.project, analysis.graph, catalog)
    wrong = output_problems(outputs, catalog)
    if wrong:
        raise ProblemsFound([*problems, *wrong])
    files = serialize(outputs, analysis.project.cluster.out_dir).files
    return ProjectRender(analysis.project, files, tuple(sorted(problems)), analysis.steps)


def build(
    root: Path,
    *,
    check: bool = False,
    only_apps: Sequence[str] | None = None,
    on_wait: Callable[[], None] | None = None,
    catalog: Catalog = CATALOG,
) -> BuildResult:
    """Build out/ (or with `check`, only compare). Raises ProblemsFound on invalid input.

    A build waits while another build of the project runs (`on_wait` says so); a check reads only.
    """
    root = root.resolve()
    cluster = load_cluster(root)
    out_dir = root / cluster.out_dir
    if check:
        return _build(root, cluster, out_dir, catalog, check=True, only_apps=only_apps)
    with state.build_lock(root, on_wait):
        entries = output.Manifest.read(out_dir).files
        rel = out_dir.relative_to(root).as_posix()
        output.cleanup_leftovers(out_dir, [p for p in entries if state.may_be_generated(p, rel)])
        return _build(root, cluster, out_dir, catalog, check=False, only_apps=only_apps)


def _build(
    root: Path,
    cluster: Cluster,
    out_dir: Path,
    catalog: Catalog,
    *,
    check: bool,
    only_apps: Sequence[str] | None,
) -> BuildResult:
    output.check_symlinks(out_dir)
    fingerprint = state.input_fingerprint(root, cluster)
    if not only_apps and state.out_is_current(root, out_dir, fingerprint):
        return BuildResult(ExitStatus.OK, None, {}, noop=True)
    try:
        rendering = render_project(root, cluster, catalog)
    except ProblemsFound as found:  # the errors, with the warnings of the apps asked for
        raise ProblemsFound(scoped(found.problems, only_apps)) from None
    unknown = [a for a in only_apps or () if a not in rendering.project.apps]
    if unknown:
        listed = ", ".join(sorted(rendering.project.apps))
        raise ProblemsFound(
            Problem(COMMAND_LINE, Mistake(f"no app named {a!r} in apps.d/ (apps: {listed})"))
            for a in unknown
        )
    rel = out_dir.relative_to(root).as_posix()
    files, scope = output.scoped_to_apps(rendering.files, rel, only_apps)
    manifest_path = f"{rel}/{output.MANIFEST}"
    manifest, foreign_entries = output.Manifest.read(out_dir).owning(
        rel, [p for p in files if not p.startswith(f"{rel}/")]
    )
    plan = output.plan(root, files, manifest, scope)
    warnings = (
        *scoped(rendering.warnings, only_apps),
        *output.ownership_warnings(manifest_path, rel, foreign_entries, plan.kept),
    )
    known_steps = set(manifest.steps)
    new_steps = tuple(step for step in rendering.steps if step.key not in known_steps)
    refuse_removals(
        rendering.project, root, rendering.files, rendering.steps, catalog, plan.current
    )
    if check:
        current = plan.is_noop and not plan.foreign and not plan.hand_edited
        if current and not only_apps:
            state.remember_current(root, out_dir, fingerprint)
        return BuildResult(
            ExitStatus.OK if current else ExitStatus.DRIFT,
            plan,
            files,
            warnings,
            output.unified_diff(plan, files),
        )
    blocked = output.in_the_way(root, [*plan.write, manifest_path])
    if blocked:
        raise ProblemsFound(
            Problem(
                Origin(path, 0),
                Mistake(what, instead="move it away (or delete it) and build again"),
            )
            for path, what in blocked.items()
        )
    if plan.foreign:
        listed = "\n  ".join(plan.foreign)
        raise output.OwnershipError(
            Mistake(
                f"were not generated by klaster and would be overwritten:\n  {listed}",
                record=f"these files in {out_dir.name}/",
                instead="move them out of the output directory (or delete them) and build again",
            )
        )
    edits = attrs.evolve(
        plan,
        write={p: plan.write[p] for p in plan.hand_edited if p in plan.write},
        delete=tuple(p for p in plan.delete if p in plan.hand_edited),
    )
    try:
        output.apply(
            root,
            out_dir,
            plan,
            files,
            manifest=manifest,
            steps=tuple(step.key for step in rendering.steps),
        )
        if not only_apps:
            state.remember_current(root, out_dir, fingerprint)
    except KeyboardInterrupt as interrupt:
        raise WriteInterrupted from interrupt
    return BuildResult(
        ExitStatus.OK,
        plan,
        files,
        warnings,
        output.unified_diff(edits, files) if plan.hand_edited else "",
        new_steps=new_steps,
    )
