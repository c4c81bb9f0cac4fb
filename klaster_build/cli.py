"""The `klaster` command: a thin layer over the library. The only module that exits."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from klaster_build.errors import ExitStatus, ProblemsFound


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="klaster",
        description="Build a Flux GitOps repository from klasterfile.py and apps.d/*.py.",
        epilog="Exit codes: 0 ok, 1 out/ is stale (--check), 2 invalid input, 3 internal error.",
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
    )
    build.add_argument(
        "--check", action="store_true", help="write nothing; exit 1 with a diff when out/ is stale"
    )
    build.add_argument(
        "apps", nargs="*", metavar="APP", help="rebuild only these apps (and the index files)"
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; returns the exit status."""
    args = _parser().parse_args(argv)
    from klaster_build import report

    try:
        if args.command == "build":
            from klaster_build.engine import build

            result = build(args.directory, check=args.check, only_apps=args.apps or None)
            report.print_build(result, check=args.check)
            return int(result.status)
    except ProblemsFound as found:
        report.print_problems(found.problems)
        errors = sum(p.is_error for p in found.problems)
        report.console().print(
            f"klaster: {errors} error{'s' * (errors != 1)}; nothing was written", markup=False
        )
        return int(ExitStatus.INVALID)
    except Exception as error:  # a bug in klaster, or an OwnershipError the user must act on
        from klaster_build.output import OwnershipError

        if isinstance(error, OwnershipError):
            report.console().print(f"klaster: error: {error}", markup=False)
            return int(ExitStatus.INVALID)
        if args.traceback:
            raise
        report.console().print(
            f"klaster: internal error: {type(error).__name__}: {error}\n"
            "This is a bug in klaster; run again with --traceback and report it.",
            markup=False,
        )
        return int(ExitStatus.INTERNAL)
    return int(ExitStatus.INVALID)


if __name__ == "__main__":
    sys.exit(main())
