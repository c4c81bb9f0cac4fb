"""The `klaster` command: a thin layer over the library. The only module that exits."""

from __future__ import annotations

import argparse
import os
import signal
import sys
from collections.abc import Sequence
from pathlib import Path
from types import FrameType

from klaster_build import user_code
from klaster_build.errors import (
    ExitStatus,
    KlasterError,
    ProblemsFound,
    WriteFailed,
    WriteInterrupted,
)
from klaster_build.scaffold import TEMPLATES
from klaster_build.views import FORMATS

EXIT_CODES = (
    "Exit codes: 0 ok, 1 out/ is stale (build --check), 2 invalid input, 3 internal error, "
    "130 interrupted (Ctrl-C), 143 terminated (SIGTERM)."
)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="klaster",
        description="Build a Flux GitOps repository from klasterfile.py and apps.d/*.py.",
        epilog=EXIT_CODES,
    )
    parser.add_argument(
        "-C", "--directory", type=Path, default=Path(), help="project root (default: .)"
    )
    parser.add_argument(
        "--traceback", action="store_true", help="show Python tracebacks of internal errors"
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    build = commands.add_parser(
        "build",
        help="write out/ from apps.d (or --check it)",
        description="Render apps.d into out/. With --check, write nothing and exit 1 when out/ differs.",
        epilog=EXIT_CODES,
    )
    build.add_argument(
        "--check", action="store_true", help="write nothing; exit 1 with a diff when out/ is stale"
    )
    build.add_argument(
        "apps", nargs="*", metavar="APP", help="rebuild only these apps (and the index files)"
    )

    graph = commands.add_parser(
        "graph",
        help="show how the apps' records depend on each other",
        description="The dependency graph: a terminal tree per app (default), or DOT, Mermaid, JSON, "
        "SVG or PNG. Failing invariants are marked on their node; exit 2 when any is an error.",
    )
    graph.add_argument(
        "apps", nargs="*", metavar="APP", help="only these apps (and what they reference)"
    )
    graph.add_argument(
        "--format", choices=FORMATS, default="tree", help="output format (default: tree)"
    )
    graph.add_argument(
        "-o", "--output", type=Path, help="write to this file (required for svg/png)"
    )

    todo = commands.add_parser(
        "todo",
        help="list the operator's manual steps",
        description="The manual steps the cluster needs (secrets, Authentik apps, DNS, port forwards, "
        "OpenBao sync, Talos config), marked NEW when the committed out/ did not need them.",
    )
    todo.add_argument("--json", action="store_true", help="print JSON")

    why = commands.add_parser(
        "why",
        help="say which apps.d lines produced a generated file",
        description="Name the apps.d file:line and records behind a generated file, or one document "
        "of it: PATH#N (0-based) or PATH#Kind/name.",
    )
    why.add_argument("path", metavar="PATH[#DOC]")
    why.add_argument("--json", action="store_true", help="print JSON")

    explain = commands.add_parser(
        "explain",
        help="list what apps.d files can declare, or show one record's arguments and an example",
        description="Without NAME: every record, value, function and cluster setting the DSL "
        "exports. With NAME: its arguments (type, default, required), what other records can use "
        "of it, and an example.",
    )
    explain.add_argument("name", nargs="?", metavar="NAME")

    new = commands.add_parser(
        "new",
        help="write a commented apps.d/NAME.py that builds as is",
        description="Create apps.d/NAME.py from a template. web: Deployment, Service, Ingress and "
        "a Volume; database: the same with a Postgres database; helm: a Helm chart with its "
        "Ingress values; gpu: a container with a host GPU device (privileged, Talos exemption).",
    )
    new.add_argument("name")
    new.add_argument(
        "--template", choices=TEMPLATES, help="what to start from (default: web; helm with --helm)"
    )
    new.add_argument(
        "--helm",
        nargs=3,
        metavar=("URL", "CHART", "VERSION"),
        help="the chart of the helm template (default: podinfo, an example)",
    )
    return parser


def _run(args: argparse.Namespace) -> int:
    from klaster_build import commands, report

    if args.command == "build":
        from klaster_build.engine import build

        result = build(
            args.directory,
            check=args.check,
            only_apps=args.apps or None,
            on_wait=report.print_waiting,
        )
        try:
            report.print_build(result, check=args.check)
        except KeyboardInterrupt as interrupt:
            if args.check or result.noop:
                raise
            raise WriteInterrupted from interrupt  # written already: not "left as it was"
        return int(result.status)
    if args.command == "graph":
        return commands.graph_command(args.directory, args.apps, args.format, args.output)
    if args.command == "todo":
        return commands.todo_command(args.directory, as_json=args.json)
    if args.command == "explain":
        return commands.explain_command(args.name)
    if args.command == "why":
        return commands.why_command(args.directory, args.path, as_json=args.json)
    template = args.template or ("helm" if args.helm else "web")
    return commands.new_command(args.directory, args.name, template, args.helm)


class Terminated(KeyboardInterrupt):
    """SIGTERM: klaster stops as it does on Ctrl-C."""


def _terminate(signum: int, frame: FrameType | None) -> None:
    raise Terminated


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; returns the exit status. A thread an apps.d file left running does not keep
    the program (argv None: the `klaster` command) from exiting."""
    status = _interruptible(argv)
    if argv is None and any(t.is_alive() for t in user_code.STRAY_THREADS):
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(status)
    return status


def _interruptible(argv: Sequence[str] | None) -> int:
    try:
        previous = signal.signal(signal.SIGTERM, _terminate)
    except ValueError:  # not the main thread (a caller's worker): signals cannot reach it
        previous = None
    try:
        return _main(argv)
    except KeyboardInterrupt as interrupt:
        writing = isinstance(interrupt, WriteInterrupted)
        terminated = isinstance(interrupt.__cause__ if writing else interrupt, Terminated)
        how = "terminated" if terminated else "interrupted"
        if writing:
            print(
                f"klaster: {how} while writing; out/ holds the old tree or the new one, whole, "
                "never a mix (files outside it may be older): build again",
                file=sys.stderr,
            )
        else:
            print(f"klaster: {how}; out/ was left as it was", file=sys.stderr)
        return int(ExitStatus.TERMINATED if terminated else ExitStatus.INTERRUPTED)
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)


def _main(argv: Sequence[str] | None) -> int:
    import gc

    # A build allocates tens of thousands of long-lived records and documents and few cycles:
    # the default thresholds rescan them over and over (a fifth of a 1000-app build); measured
    # with these, peak memory stayed the same (118 MiB at 1000 apps).
    gc.set_threshold(100_000, 50, 100)
    args = _parser().parse_args(argv)
    from klaster_build import report

    try:
        return _run(args)
    except ProblemsFound as found:
        report.print_problems(found.problems)
        errors = sum(p.is_error for p in found.problems)
        report.console().print(
            f"klaster: {errors} error{'s' * (errors != 1)}; nothing was written", markup=False
        )
        return int(ExitStatus.INVALID)
    except OSError as error:  # the disk, not the declarations: out/ is untouched (atomic swap)
        report.console().print(f"klaster: error: {error}; out/ was left as it was", markup=False)
        return int(ExitStatus.INTERNAL)
    except WriteFailed as error:  # the disk, after part of the build was written
        report.console().print(f"klaster: error: {error}", markup=False)
        return int(ExitStatus.INTERNAL)
    except KlasterError as error:  # e.g. a file in out/ klaster must not touch
        report.console().print(f"klaster: error: {error}", markup=False)
        return int(ExitStatus.INVALID)
    except Exception as error:  # a bug in klaster
        if args.traceback:
            raise
        report.console().print(
            f"klaster: internal error: {type(error).__name__}: {error}\n"
            "This is a bug in klaster; run again with --traceback and report it.",
            markup=False,
        )
        return int(ExitStatus.INTERNAL)


if __name__ == "__main__":
    sys.exit(main())
