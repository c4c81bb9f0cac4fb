"""Rebuild edited apps alone: what a build keeps for the next one, and when that is enough.

A full build loads, checks and renders every app. After an edit to one app that touches no
other (no reference to or from another app, no namespace shared with one), its files depend only
on its own declarations and the klasterfile. Then the app is loaded, checked and rendered alone,
as it is now and as it was at the last build (its source is kept in the state), and the two are
compared on everything that reaches beyond the app: what the cluster-wide checks read (unique
hosts, LV and OpenBao names, exemptions), its files outside apps/<app>/ and cluster-wide files
as the app alone makes them (renovate.json, talos/, vault/, router/...), its operator steps and
the names of its documents. When all of those are unchanged, only apps/<app>/ can change, and the
rest of out/ stays as it is; otherwise the build loads everything, as a full build does.

Assumption (as for make): an apps.d file declares the same records whichever files ran before.
"""

from __future__ import annotations

import contextlib
import marshal
import os
from collections import defaultdict
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

import attrs

from klaster_build.errors import Problem
from klaster_build.origin import Origin
from klaster_build.output import CACHE_DIR

if TYPE_CHECKING:
    from klaster_build.cluster import Cluster
    from klaster_build.graph import ProjectGraph
    from klaster_build.project import Project
    from klaster_build.records.base import Record

STATE_FILE = Path(CACHE_DIR) / "apps.state"
_FORMAT = 1  # bump when the state's layout changes: an old state is then ignored

StoredProblem = tuple[str, int, str, str, str]  # origin path, line, message, severity, subject


def _stored(problem: Problem) -> StoredProblem:
    origin = problem.origin
    return (origin.path, origin.line, problem.message, problem.severity, problem.subject)


def _problem(stored: StoredProblem) -> Problem:
    path, line, message, severity, subject = stored
    return Problem(Origin(path, line), message, severity, subject)


def app_of(problem: Problem) -> str:
    """The app a problem is about: its record's (`subject`), else the apps.d file it points at;
    '' for the klasterfile."""
    from klaster_build.loader import APPS_DIR

    if problem.subject:
        return problem.subject.split("/", 1)[0]
    folder, _, name = problem.origin.path.rpartition("/")
    return name.removesuffix(".py") if folder == APPS_DIR and name.endswith(".py") else ""


@attrs.frozen
class BuildState:
    """What the last build of out/ knew, for loading an edited app alone next time."""

    inputs: str  # the input fingerprint of the build (out/'s manifest says the same when current)
    sources: dict[str, bytes]  # app -> its apps.d file as built
    linked: frozenset[str]  # apps that refer to or are referred to by another, or share a namespace
    # app ('' for the klasterfile) -> the warnings of local checks about it
    local_warnings: dict[str, list[StoredProblem]]
    cluster_warnings: list[StoredProblem]  # warnings of the cluster-wide checks

    @classmethod
    def of_project(
        cls,
        project: Project,
        graph: ProjectGraph,
        local: Iterable[Problem],
        cluster: Iterable[Problem],
    ) -> BuildState:
        """The state of a fully checked project (its input fingerprint is set when written)."""
        local_warnings: dict[str, list[StoredProblem]] = defaultdict(list)
        for problem in local:
            if not problem.is_error:
                local_warnings[app_of(problem)].append(_stored(problem))
        return cls(
            "",
            dict(project.sources),
            linked_apps(project, graph),
            dict(local_warnings),
            [_stored(p) for p in cluster if not p.is_error],
        )

    def warnings(self, fresh: Iterable[Problem], apps: set[str]) -> tuple[Problem, ...]:
        """The build's warnings: `fresh` ones of `apps` (checked alone), the kept ones of the rest."""
        kept = [
            _problem(stored)
            for app, stored_list in self.local_warnings.items()
            if app not in apps
            for stored in stored_list
        ]
        kept += [_problem(stored) for stored in self.cluster_warnings]
        return tuple(sorted([*kept, *(p for p in fresh if app_of(p) in apps)]))

    def after_alone(self, project: Project, fresh: Iterable[Problem]) -> BuildState:
        """This state once the apps of `project` (loaded alone) are built."""
        local_warnings = {
            app: list(s) for app, s in self.local_warnings.items() if app not in project.apps
        }
        for problem in fresh:
            app = app_of(problem)
            if app in project.apps and not problem.is_error:
                local_warnings.setdefault(app, []).append(_stored(problem))
        return attrs.evolve(
            self, sources={**self.sources, **project.sources}, local_warnings=local_warnings
        )

    def write(self, root: Path, inputs: str) -> None:
        """Keep the state in .klaster-cache/ (a read-only checkout just goes without)."""
        body = (
            _FORMAT,
            inputs,
            self.sources,
            sorted(self.linked),
            self.local_warnings,
            self.cluster_warnings,
        )
        target = root / STATE_FILE
        tmp = target.with_name(f"{target.name}.{os.getpid()}.tmp")
        with contextlib.suppress(OSError):
            target.parent.mkdir(exist_ok=True)
            tmp.write_bytes(marshal.dumps(body))
            os.replace(tmp, target)

    @classmethod
    def read(cls, root: Path) -> BuildState | None:
        """The kept state; None when there is none or it is not of this version."""
        try:
            body = marshal.loads((root / STATE_FILE).read_bytes())
            version, inputs, sources, linked, local_warnings, cluster_warnings = body
        except (OSError, ValueError, EOFError, TypeError):
            return None
        if version != _FORMAT:
            return None
        return cls(inputs, sources, frozenset(linked), local_warnings, cluster_warnings)


def linked_apps(project: Project, graph: ProjectGraph) -> frozenset[str]:
    """Apps that cannot be rebuilt alone: a reference crosses to or from another app, or another
    app has the same namespace (one of them writes the Namespace document)."""
    linked: set[str] = set()
    for a, b, _ in graph.edges:
        if a.app != b.app and a.app and b.app:  # the klasterfile's Cluster has no app
            linked.update((a.app, b.app))
    by_namespace: dict[str, list[str]] = defaultdict(list)
    for name, app in project.apps.items():
        by_namespace[app.namespace_name].append(name)
    linked.update(name for names in by_namespace.values() if len(names) > 1 for name in names)
    return frozenset(linked)


@attrs.frozen
class AloneRender:
    """The apps rendered alone: their files under apps/<app>/ and the build's warnings."""

    apps: tuple[str, ...]
    files: dict[str, bytes]
    warnings: tuple[Problem, ...]
    state: BuildState


@attrs.frozen
class _View:
    files: dict[str, bytes]
    problems: list[Problem]  # local checks' and the graph's
    reach: object  # everything the apps show beyond their own directories


def _alone_project(root: Path, cluster: Cluster, apps: dict[str, bytes | None]) -> Project | None:
    """The klasterfile's `cluster` and `apps` (name -> source, None: as on disk) loaded without
    the others."""
    from klaster_build.loader import APPS_DIR, load_app
    from klaster_build.project import Project

    records: list[Record] = [cluster]
    loaded_apps = {}
    sources = {}
    for name, source in sorted(apps.items()):
        loaded = load_app(root / APPS_DIR / f"{name}.py", source)
        if loaded.app is None or loaded.problems:
            return None
        loaded_apps[name] = loaded.app
        sources[name] = loaded.source
        records += loaded.records
    return Project(
        root=root, cluster=cluster, apps=loaded_apps, records=tuple(records), sources=sources
    )


def _view(project: Project) -> _View | None:
    """Check and render a project of apps loaded alone; None when it has an error."""
    from klaster_build import families  # noqa: F401  (registers every family's emitters and checks)
    from klaster_build.checks import cluster_facts, split_checks
    from klaster_build.emit import render
    from klaster_build.graph import build_graph
    from klaster_build.operator import collect_steps

    graph = build_graph(project)
    problems = list(graph.problems)
    if not any(p.is_error for p in problems):
        problems += split_checks(project, graph, local_only=True)[0]
    if any(p.is_error for p in problems):
        return None
    rendered = render(project, graph)
    if rendered.problems:
        return None
    out = project.cluster.out_dir
    inside = tuple(f"{out}/apps/{app}/" for app in project.apps)
    beyond = {p: c for p, c in rendered.files.items() if not p.startswith(inside)}
    names = sorted(
        (path, d.api_version, d.kind, d.namespace, d.name)
        for path, documents in rendered.documents.items()
        for d in documents
    )
    steps = [
        (s.order, s.category, s.key, s.summary, repr(s.details), repr(s.origin))
        for s in collect_steps(project, graph)
    ]
    files = {p: c for p, c in rendered.files.items() if p.startswith(inside)}
    return _View(files, problems, (cluster_facts(project), beyond, names, steps))


def rebuild_alone(
    root: Path, cluster: Cluster, inputs: str, changed: set[str]
) -> AloneRender | None:
    """Render the `changed` apps alone when nothing beyond their directories can change.

    `cluster`: the klasterfile's; `inputs`: the fingerprint out/'s manifest records (the caller
    has checked that klaster and the klasterfile are those of that build). None: load everything instead (no state for this out/,
    an app linked to others, a new or removed app, an error, or a change that reaches beyond the
    app).
    """
    state = BuildState.read(root)
    if (
        state is None
        or not inputs
        or state.inputs != inputs
        or not changed
        or changed & state.linked
        or not changed <= state.sources.keys()
    ):
        return None
    now = _alone_project(root, cluster, dict.fromkeys(changed))
    if now is None:
        return None
    # A reference to another app's record does not resolve in an app loaded alone: that is an
    # error of its graph, so such an app is never rendered alone.
    view = _view(now)
    if view is None:
        return None
    before_sources = {app: state.sources[app] for app in changed}
    if before_sources != now.sources:  # not only hand edits of out/: compare with the last build
        # (not linked to others then: state.linked says so)
        before = _alone_project(root, cluster, dict(before_sources))
        if before is None:
            return None
        before_view = _view(before)
        if before_view is None or before_view.reach != view.reach:
            return None
    return AloneRender(
        tuple(sorted(changed)),
        view.files,
        state.warnings(view.problems, set(changed)),
        state.after_alone(now, view.problems),
    )
