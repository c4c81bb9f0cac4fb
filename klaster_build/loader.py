"""Load klasterfile.py, then every apps.d/*.py in name order, collecting records.

apps.d files are Python run with the user's rights: the repository is the trust boundary,
exactly as for a Makefile. Any exception a file raises becomes a Problem at the file's line.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable
from pathlib import Path
from types import TracebackType

import attrs

from klaster_build.cluster import Cluster
from klaster_build.errors import DeclarationError, KlasterError, Mistake, Problem, ProblemsFound
from klaster_build.explain import attribute_mistake, call_mistake
from klaster_build.invocation import command
from klaster_build.names import DNS_LABEL
from klaster_build.origin import Origin, set_display_root
from klaster_build.project import APPS_DIR, KLASTERFILE, Project
from klaster_build.records.app import App
from klaster_build.records.base import Record
from klaster_build.records.retirement import RETIREMENT_RECORDS
from klaster_build.registry import Registry, session
from klaster_build.user_code import (
    TIME_LIMIT_VARIABLE,
    ProcessExit,
    TimeLimitExceeded,
    guarded,
    time_limit,
)

# Files that bigger than this are refused before they are run (enormous inputs, by mistake).
MAX_SOURCE_BYTES = 1 << 20


def app_files(root: Path) -> list[Path]:
    """apps.d/*.py in name order; files starting with '_' are helpers, not apps."""
    apps_dir = root / APPS_DIR
    if not apps_dir.is_dir():
        return []
    return sorted(p for p in apps_dir.glob("*.py") if not p.name.startswith("_"))


def _user_line(
    tb: TracebackType | None, filename: str, source: str, keyword: str | None = None
) -> int:
    """The deepest line of `filename` in a traceback (where the user's code raised); with a
    `keyword`, the line of that call where `keyword=` is written (calls span many lines)."""
    line, first, last = 1, None, None
    while tb is not None:
        if tb.tb_frame.f_code.co_filename == filename:
            line = tb.tb_lineno
            positions = tb.tb_frame.f_code.co_positions()
            first, last, _, _ = next(itertools.islice(positions, tb.tb_lasti // 2, None))
        tb = tb.tb_next
    if keyword is None or first is None or last is None:
        return line
    written = re.compile(rf"\b{re.escape(keyword)}\s*=(?!=)")
    lines = source.splitlines()[first - 1 : last]
    return next((first + n for n, text in enumerate(lines) if written.search(text)), line)


def _describe(error: BaseException) -> Mistake:
    if isinstance(error, DeclarationError):
        return error.mistake
    if isinstance(error, KlasterError):
        return Mistake(str(error))
    if isinstance(error, ModuleNotFoundError):
        return Mistake(
            f"cannot import {error.name!r}: apps.d files import klaster_build.dsl and the standard "
            "library",
            instead="install the module or remove the import",
        )
    if isinstance(error, TimeLimitExceeded):
        return Mistake(
            f"did not finish in {error.seconds:g} s",
            instead=f"this line was running then: look for an endless loop (a slow file may "
            f"take longer: set {TIME_LIMIT_VARIABLE}=SECONDS, 0 for no limit)",
        )
    if isinstance(error, ProcessExit):
        return Mistake(
            f"os._exit({error.status!r}) would end klaster at once, with nothing written or said",
            instead="remove it (raise an exception to stop the build with a message)",
        )
    if isinstance(error, RecursionError):
        return Mistake(
            "recursion too deep while declaring records",
            instead="look for a value that contains itself",
        )
    # A call or attribute that does not fit a DSL class is said with the names that do.
    found = None
    if isinstance(error, TypeError):
        found = call_mistake(error)
    elif isinstance(error, AttributeError):
        found = attribute_mistake(error)
    return found or Mistake(f"{type(error).__name__}: {error}")


def _read_source(path: Path, display: str) -> bytes | Problem:
    """A user file's bytes, or the Problem of reading it."""
    try:
        return path.read_bytes()
    except OSError as error:
        return Problem(Origin(display, 1), Mistake(f"cannot read the file: {error.strerror}"))


def run_file(
    path: Path, display: str, registry: Registry, app: str | None, raw: bytes
) -> Problem | None:
    """Execute `raw`, the content of the user file `path`, inside the session; a Problem when
    it fails."""
    if len(raw) > MAX_SOURCE_BYTES:
        return Problem(
            Origin(display, 1),
            Mistake(f"file is {len(raw)} bytes", instead="klaster reads files up to 1 MiB"),
        )
    try:
        source = raw.decode("utf-8")
    except UnicodeDecodeError as error:
        line = raw[: error.start].count(b"\n") + 1
        return Problem(
            Origin(display, line),
            Mistake(
                f"file is not UTF-8 text (byte 0x{raw[error.start]:02x})",
                instead="save it as UTF-8",
            ),
        )
    filename = str(path)
    try:
        code = compile(source, filename, "exec")
    except SyntaxError as error:
        detail = error.msg
        if error.text:
            detail += f": {error.text.strip()[:80]}"
        return Problem(Origin(display, error.lineno or 1), Mistake(f"syntax error: {detail}"))
    except ValueError as error:  # e.g. NUL bytes in the source
        return Problem(Origin(display, 1), Mistake(f"cannot compile the file: {error}"))
    namespace = {"__name__": f"klaster_apps.{path.stem}", "__file__": filename}
    seconds = time_limit()
    try:
        with session(registry, app=app), guarded(seconds):
            exec(code, namespace)
    except KeyboardInterrupt:
        raise
    except BaseException as error:  # a user file may raise anything, SystemExit included
        mistake = _describe(error)
        line = _user_line(error.__traceback__, filename, source, mistake.keyword)
        return Problem(Origin(display, line), mistake)
    return None


def load_cluster(root: Path) -> Cluster:
    """Run klasterfile.py alone and return its Cluster; ProblemsFound when it is wrong."""
    root = root.resolve()
    set_display_root(root)
    klasterfile = root / KLASTERFILE
    if not klasterfile.is_file():
        raise ProblemsFound(
            [
                Problem(
                    Origin(KLASTERFILE, 1),
                    Mistake(
                        f"no {KLASTERFILE} in {root}",
                        instead=f"run klaster in the repository root, or create {KLASTERFILE} "
                        "declaring Cluster(...) (see README)",
                    ),
                )
            ]
        )
    registry = Registry()
    raw = _read_source(klasterfile, KLASTERFILE)
    problem = (
        raw if isinstance(raw, Problem) else run_file(klasterfile, KLASTERFILE, registry, None, raw)
    )
    if problem:
        raise ProblemsFound([problem])
    clusters: list[Cluster] = registry.clusters
    problems = [
        Problem(
            record.origin,
            Mistake(
                "declares only Cluster(...)",
                record=KLASTERFILE,
                instead=f"move {type(record).__name__} to an apps.d file",
            ),
        )
        for record in registry.records
    ]
    if len(clusters) != 1:
        where = clusters[1].origin if len(clusters) > 1 else Origin(KLASTERFILE, 1)
        problems.append(
            Problem(
                where,
                Mistake(
                    f"must declare exactly one Cluster(...), found {len(clusters)}",
                    record=KLASTERFILE,
                ),
            )
        )
    if problems:
        raise ProblemsFound(problems)
    return clusters[0]


def load_project(
    root: Path, *, cluster: Cluster | None = None, on_file: Callable[[str], None] | None = None
) -> Project:
    """Run klasterfile.py (unless its `cluster` is given) and apps.d/*.py; raise ProblemsFound
    listing every mistake."""
    root = root.resolve()
    cluster = cluster or load_cluster(root)
    problems: list[Problem] = []

    files = app_files(root)
    if not files:
        raise ProblemsFound(
            [
                Problem(
                    Origin(APPS_DIR, 0),
                    Mistake(
                        f"no apps in {APPS_DIR}/", instead=f"add one with '{command('new NAME')}'"
                    ),
                )
            ]
        )
    records: list[Record] = []
    apps: dict[str, App] = {}
    for path in files:
        if on_file:
            on_file(f"{APPS_DIR}/{path.name}")
        loaded = load_app(path)
        problems.extend(loaded.problems)
        if loaded.app is not None:
            apps[path.stem] = loaded.app
            records.extend(loaded.records)
    if problems:
        raise ProblemsFound(problems)
    return Project(root=root, cluster=cluster, apps=apps, records=tuple(records))


@attrs.frozen
class LoadedApp:
    """One apps.d file's records, App(...) first; `app` is None when the file failed to run."""

    app: App | None
    records: list[Record]
    problems: list[Problem]


def load_app(path: Path) -> LoadedApp:
    """Run one apps.d file (after load_cluster set the display root)."""
    display = f"{APPS_DIR}/{path.name}"
    app = path.stem
    issue = DNS_LABEL.problem(app)
    if issue:
        return LoadedApp(
            None,
            [],
            [
                Problem(
                    Origin(display, 1),
                    attrs.evolve(
                        issue.about("app name (the file name)"),
                        instead=", ".join(filter(None, ("rename the file", issue.instead))),
                    ),
                )
            ],
        )
    source = _read_source(path, display)
    if isinstance(source, Problem):
        return LoadedApp(None, [], [source])
    file_registry = Registry()
    problem = run_file(path, display, file_registry, app, source)
    if problem:
        return LoadedApp(None, [], [problem])
    declared = [r for r in file_registry.records if isinstance(r, App)]
    problems = [
        Problem(
            extra.origin,
            Mistake(
                f"is declared twice in {display} (first at {declared[0].origin})", record="App(...)"
            ),
        )
        for extra in declared[1:]
    ]
    if declared:
        app_record = declared[0]
    else:
        # A file of retirement records only (RetiredVolume, RetiredApp) is no app: no
        # directory, no namespace, like an infra file.
        retiring = bool(file_registry.records) and all(
            isinstance(r, RETIREMENT_RECORDS) for r in file_registry.records
        )
        with session(Registry(), app=app):
            app_record = App(origin=Origin(display, 1), app=app, infra=retiring)
    problems.extend(_foreign_records(file_registry.records, app, display))
    problems.extend(
        Problem(
            c.origin,
            Mistake(f"belongs in {KLASTERFILE}, not in an apps.d file", record="Cluster(...)"),
        )
        for c in file_registry.clusters
    )
    records = [app_record, *(r for r in file_registry.records if not isinstance(r, App))]
    return LoadedApp(app_record, records, problems)


def _foreign_records(records: list[Record], app: str, display: str) -> list[Problem]:
    """Records constructed with another app's name would write into that app's directory."""
    return [
        Problem(
            r.origin,
            Mistake(
                f"declares app={r.app!r} inside {display}",
                record=type(r).__name__,
                instead="records belong to their file's app",
            ),
        )
        for r in records
        if r.app != app
    ]
