"""The build pipeline: load -> graph -> check -> render -> plan/write. No printing here."""

from __future__ import annotations

import contextlib
import hashlib
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import attrs

from klaster_build import output
from klaster_build.errors import ExitStatus, Problem, ProblemsFound
from klaster_build.operator import OperatorStep, collect_removals, collect_steps
from klaster_build.origin import Origin

if TYPE_CHECKING:
    from klaster_build.cluster import Cluster
    from klaster_build.graph import ProjectGraph
    from klaster_build.incremental import BuildState
    from klaster_build.project import Project
    from klaster_build.records.base import Record

_PACKAGE_DIR = Path(__file__).resolve().parent
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
    removals: tuple[OperatorStep, ...] = ()  # e.g. volumes dropped whose data stays on disk
    new_steps: tuple[OperatorStep, ...] = ()  # operator steps the previous out/ did not need
    alone: tuple[str, ...] = ()  # apps loaded, checked and rendered without the others


def _documents(contents: dict[str, bytes]) -> dict[str, list[dict[str, object]]]:
    """YAML documents of the given files (others skipped), for comparing old and new trees."""
    import yaml

    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    parsed: dict[str, list[dict[str, object]]] = {}
    for path, content in contents.items():
        if path.endswith(".yaml"):
            try:
                parsed[path] = [
                    d for d in yaml.load_all(content, Loader=loader) if isinstance(d, dict)
                ]
            except yaml.YAMLError:
                continue  # a hand-broken file: its diff is shown; nothing to compare
    return parsed


def removals_of(plan: output.Plan, files: dict[str, bytes]) -> tuple[OperatorStep, ...]:
    """Operator steps for documents the changed files had and the new ones do not."""
    changed = set(plan.write) | set(plan.delete)
    previous = _documents({p: c for p, c in plan.current.items() if p in changed})
    if not previous:
        return ()
    current = _documents({p: files[p] for p in plan.write})
    return tuple(collect_removals(previous, current))


BASE = ":base"  # manifest key for what every app depends on (klasterfile, klaster, data files)


def _digest_files(named: Iterable[tuple[str, Path]]) -> str:
    """One digest of the files, each under its name (a renamed file changes it too)."""
    sha = hashlib.sha256()
    for name, path in sorted(named):
        sha.update(name.encode())
        sha.update(b"\0")
        try:
            sha.update(path.read_bytes())
        except OSError:
            sha.update(b"<missing>")
        sha.update(b"\0")
    return sha.hexdigest()


def input_digests(root: Path) -> dict[str, str]:
    """Digest of each app's apps.d file, and under BASE of everything else a build reads."""
    from klaster_build.loader import APPS_DIR, KLASTERFILE, app_files

    app_paths = app_files(root)
    apps = {path.stem: _digest_files([(f"{APPS_DIR}/{path.name}", path)]) for path in app_paths}
    package = [(p.relative_to(_PACKAGE_DIR).as_posix(), p) for p in _PACKAGE_DIR.rglob("*.py")]
    shared = [(KLASTERFILE, root / KLASTERFILE), *package]
    apps_dir = root / APPS_DIR
    if apps_dir.is_dir():
        # rglob names the app files exactly as app_files does (both under apps_dir).
        listed = set(app_paths)
        shared += [
            (p.relative_to(root).as_posix(), p)
            for p in apps_dir.rglob("*")
            if p not in listed and "__pycache__" not in p.parts and p.is_file()
        ]
    return {BASE: _digest_files(shared), **apps}


def input_fingerprint(digests: dict[str, str]) -> str:
    """One hash of all inputs."""
    return hashlib.sha256(repr(sorted(digests.items())).encode()).hexdigest()


STAT_CACHE = Path(output.CACHE_DIR) / "stat.marshal"


def changed_outputs(root: Path, manifest: output.Manifest) -> set[str]:
    """Owned files whose content is no longer what klaster wrote (missing ones included).

    Like make, trust (size, mtime, inode) when they match what was seen with that content last time
    (kept in .klaster-cache/, never committed); read and hash only files whose stat changed.
    """
    import marshal
    import os

    cache_file = root / STAT_CACHE
    try:
        seen = marshal.loads(cache_file.read_bytes())
    except (OSError, ValueError, EOFError, TypeError):
        seen = {}
    if not isinstance(seen, dict):
        seen = {}
    fresh: dict[str, tuple[int, int, int, str]] = {}
    changed: set[str] = set()
    base = f"{root}/"
    for path, expected in manifest.files.items():
        full = base + path  # manifest paths are relative and use "/"
        try:
            info = os.stat(full)
            stamp = (info.st_size, info.st_mtime_ns, info.st_ino, expected)
            if seen.get(path) != stamp:
                with open(full, "rb") as stream:
                    if output.digest(stream.read()) != expected:
                        changed.add(path)
                        continue
            fresh[path] = stamp
        except OSError:
            changed.add(path)
    if fresh != seen:
        with contextlib.suppress(OSError):  # a read-only checkout just hashes every time
            cache_file.parent.mkdir(exist_ok=True)
            tmp = cache_file.with_name(f"{cache_file.name}.{os.getpid()}.tmp")
            tmp.write_bytes(marshal.dumps(fresh))
            os.replace(tmp, cache_file)
    return changed


def out_dir_of(root: Path) -> Path:
    """The output directory the klasterfile declares (runs only the klasterfile)."""
    from klaster_build.loader import load_cluster

    return root / load_cluster(root).out_dir


def analyse(root: Path) -> tuple[Project, ProjectGraph, list[Problem]]:
    """Load and check without rendering; checks' problems are returned, not raised."""
    from klaster_build import families  # noqa: F401  (registers every family's emitters and checks)
    from klaster_build.checks import run_checks
    from klaster_build.graph import build_graph
    from klaster_build.loader import load_project

    project = load_project(root.resolve())
    graph = build_graph(project)
    problems = list(graph.problems)
    if not any(p.is_error for p in problems):
        problems.extend(run_checks(project, graph))
    return project, graph, problems


def affected_apps(graph: ProjectGraph, changed: set[str]) -> set[str]:
    """`changed` plus every app that refers, directly or not, to a record of one of them."""
    affected = set(changed)
    frontier = list(changed)
    by_app: dict[str, list[Record]] = {}
    for record in graph.order:
        by_app.setdefault(record.app, []).append(record)
    while frontier:
        app = frontier.pop()
        for record in by_app.get(app, []):
            for dependent in graph.dependents(record):
                if dependent.app not in affected:
                    affected.add(dependent.app)
                    frontier.append(dependent.app)
    return affected


@attrs.frozen
class ProjectRender:
    """A checked project's rendered files and what the build reports about it."""

    files: dict[str, bytes]
    warnings: tuple[Problem, ...]
    steps: tuple[OperatorStep, ...]
    skipped: tuple[str, ...]  # files of apps not rendered, left as they are in out/
    state: BuildState  # what the next build may rebuild apps alone from


def render_project(
    root: Path, only_apps: Sequence[str] | None = None, changed: set[str] | None = None
) -> ProjectRender:
    """Load, check and render; raise ProblemsFound on any error.

    With `changed`, only those apps and the apps referring to them are rendered.
    """
    from klaster_build import families  # noqa: F401  (registers every family's emitters and checks)
    from klaster_build.checks import split_checks
    from klaster_build.emit import render
    from klaster_build.graph import build_graph
    from klaster_build.incremental import BuildState
    from klaster_build.loader import load_project

    project = load_project(root)
    unknown = [a for a in only_apps or () if a not in project.apps]
    if unknown:
        listed = ", ".join(sorted(project.apps))
        raise ProblemsFound(
            [
                Problem(COMMAND_LINE, f"no app named {a!r} in apps.d/ (apps: {listed})")
                for a in unknown
            ]
        )
    graph = build_graph(project)
    local = list(graph.problems)
    cluster: list[Problem] = []
    if not any(p.is_error for p in local):
        checked, cluster = split_checks(project, graph)
        local += checked
    problems = sorted(local + cluster)
    if any(p.is_error for p in problems):
        raise ProblemsFound(problems)
    selected: set[str] | None = set(only_apps) if only_apps else None
    if selected is None and changed is not None:
        selected = affected_apps(graph, changed)
    rendered = render(project, graph, only_apps=selected)
    if rendered.problems:
        raise ProblemsFound([*problems, *rendered.problems])
    return ProjectRender(
        rendered.files,
        tuple(problems),
        tuple(collect_steps(project, graph)),
        rendered.skipped,
        BuildState.of_project(project, graph, local, cluster),
    )


LOCK_FILE = Path(output.CACHE_DIR) / "build.lock"


@contextlib.contextmanager
def build_lock(root: Path, on_wait: Callable[[], None] | None = None) -> Iterator[None]:
    """Builds of one project never overlap: a second one waits for the first to finish.

    Two builds bringing the same shadow copy up to date at once would swap a mix into out/.
    `on_wait` is called once when the lock is held elsewhere, before waiting.
    """
    try:
        import fcntl
    except ImportError:  # not POSIX: nothing to lock with
        yield
        return
    try:
        (root / output.CACHE_DIR).mkdir(exist_ok=True)
        stream = open(root / LOCK_FILE, "a+b")  # noqa: SIM115  (closed by the with below)
    except OSError:  # a read-only checkout: a no-op build still answers, others fail to write
        yield
        return
    with stream:
        try:
            fcntl.flock(stream, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            if on_wait is not None:
                on_wait()
            fcntl.flock(stream, fcntl.LOCK_EX)
        yield  # closing the file releases the lock


def build(
    root: Path,
    *,
    check: bool = False,
    only_apps: Sequence[str] | None = None,
    on_wait: Callable[[], None] | None = None,
) -> BuildResult:
    """Build out/ (or with `check`, only compare). Raises ProblemsFound on invalid input.

    A build waits while another build of the project runs (`on_wait` says so); a check reads only.
    """
    from klaster_build.loader import load_cluster

    root = root.resolve()
    cluster = load_cluster(root)
    if check:
        return _build(root, cluster, check=True, only_apps=only_apps)
    with build_lock(root, on_wait):
        output.cleanup_leftovers(root, root / cluster.out_dir)  # a killed build's, first
        return _build(root, cluster, check=False, only_apps=only_apps)


def _build(
    root: Path, cluster: Cluster, *, check: bool, only_apps: Sequence[str] | None
) -> BuildResult:
    out_dir = root / cluster.out_dir
    output.check_symlinks(out_dir)
    digests = input_digests(root)
    fingerprint = input_fingerprint(digests)
    manifest = output.Manifest.read(out_dir)
    edited = changed_outputs(root, manifest)
    if not only_apps and manifest.inputs == fingerprint and not edited:
        return BuildResult(ExitStatus.OK, None, {}, noop=True)
    rel = out_dir.relative_to(root).as_posix()
    changed: set[str] | None = None
    edited_in_apps = {p for p in edited if p.startswith(f"{rel}/apps/") and p.count("/") >= 3}
    # Incremental: only apps whose file changed, whose generated files were edited, or that were
    # removed need rendering (plus, in render_project, the apps that refer to them). An edited
    # file outside app directories (vault/, infra/...) names no app: then everything is rendered.
    if (
        not check
        and not only_apps
        and manifest.apps.get(BASE) == digests[BASE]
        and edited_in_apps == edited
    ):
        changed = {app for app, digest in digests.items() if manifest.apps.get(app) != digest}
        changed |= {app for app in manifest.apps if app not in digests}
        changed |= {p.split("/")[2] for p in edited_in_apps}
        changed.discard(BASE)
    from klaster_build.incremental import rebuild_alone

    alone = rebuild_alone(root, cluster, manifest.inputs, changed) if changed else None
    if alone is not None:
        # Nothing beyond the apps' own directories changed: the rest of out/ stays, and so do
        # the operator steps (the apps' steps were compared).
        files, warnings, state = alone.files, alone.warnings, alone.state
        own = tuple(f"{rel}/apps/{app}/" for app in sorted(alone.apps))
        skipped = tuple(p for p in manifest.files if not p.startswith(own))
        step_keys = manifest.steps
        new_steps: tuple[OperatorStep, ...] = ()
    else:
        rendering = render_project(root, only_apps, changed)
        files, warnings, state = rendering.files, rendering.warnings, rendering.state
        skipped = rendering.skipped
        step_keys = tuple(step.key for step in rendering.steps)
        known_steps = set(manifest.steps)
        new_steps = tuple(step for step in rendering.steps if step.key not in known_steps)
    scope = [f"{rel}/apps/{app}/" for app in only_apps] if only_apps else None
    plan = output.plan(root, out_dir, files, manifest, scope, skipped)
    if check:
        status = (
            ExitStatus.OK
            if plan.is_noop and not plan.foreign and not plan.hand_edited
            else ExitStatus.DRIFT
        )
        return BuildResult(
            status,
            plan,
            files,
            warnings,
            output.unified_diff(plan, files),
            removals=removals_of(plan, files),
        )
    if plan.foreign:
        listed = "\n  ".join(plan.foreign)
        msg = (
            f"these files in {out_dir.name}/ were not generated by klaster and would be overwritten:\n  {listed}\n"
            "move them out of the output directory (or delete them) and build again"
        )
        raise output.OwnershipError(msg)
    diff = (
        output.unified_diff(
            attrs.evolve(
                plan,
                write={p: plan.write[p] for p in plan.hand_edited if p in plan.write},
                delete=tuple(p for p in plan.delete if p in plan.hand_edited),
            ),
            files,
        )
        if plan.hand_edited
        else ""
    )
    removals = removals_of(plan, files)
    output.apply(
        root,
        out_dir,
        plan,
        files,
        manifest=manifest,
        edited=edited,
        inputs="" if only_apps else fingerprint,
        steps=step_keys,
        apps={} if only_apps else digests,
    )
    if not only_apps:
        state.write(root, fingerprint)
    return BuildResult(
        ExitStatus.OK,
        plan,
        files,
        warnings,
        diff,
        removals=removals,
        new_steps=new_steps,
        alone=alone.apps if alone is not None else (),
    )
