"""The non-build commands: graph, todo, why, explain, new. Data on stdout, diagnostics on stderr."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

from klaster_build import report
from klaster_build.errors import ExitStatus, scoped
from klaster_build.invocation import command


def _write(text: str, output: Path | None) -> None:
    if output is None:
        sys.stdout.write(text)
    else:
        output.write_text(text)


def graph_command(root: Path, apps: list[str], fmt: str, output: Path | None) -> int:
    """Print or render the graph; problems are shown on their nodes (exit 2 when any is an error)."""
    from klaster_build.engine import analyse
    from klaster_build.serial import dumps
    from klaster_build.views import selected, to_data, to_dot, to_mermaid, to_tree

    analysis = analyse(root)
    project, graph = analysis.project, analysis.graph
    problems = scoped(analysis.problems, apps)  # other apps' warnings are not this graph's
    unknown = [a for a in apps if a not in project.apps]
    if unknown:
        report.console().print(
            f"klaster: no app named {', '.join(unknown)} (apps: {', '.join(sorted(project.apps))})",
            markup=False,
        )
        return int(ExitStatus.INVALID)
    data = to_data(graph, selected(graph, apps), problems)
    if fmt == "tree":
        out = report.console(stderr=False) if output is None else None
        if out is None:
            from rich.console import Console

            with output.open("w") as stream:  # type: ignore[union-attr]
                console = Console(file=stream, no_color=True, width=120)
                for tree in to_tree(data):
                    console.print(tree)
        else:
            for tree in to_tree(data):
                out.print(tree)
    elif fmt == "json":
        _write(dumps(data), output)
    elif fmt == "mermaid":
        _write(to_mermaid(data), output)
    elif fmt == "dot":
        _write(to_dot(data), output)
    else:
        dot = shutil.which("dot")
        if dot is None:
            report.console().print(
                "klaster: --format svg/png needs Graphviz's `dot`; install the package `graphviz` (e.g. apt-get install graphviz), or use --format dot",
                markup=False,
            )
            return int(ExitStatus.INVALID)
        if output is None:
            report.console().print(
                f"klaster: --format {fmt} writes a picture; give -o FILE", markup=False
            )
            return int(ExitStatus.INVALID)
        result = subprocess.run(
            [dot, f"-T{fmt}", "-o", str(output)],
            input=to_dot(data),
            text=True,
            capture_output=True,
            check=False,
        )
        if result.returncode != 0:
            report.console().print(f"klaster: dot failed: {result.stderr.strip()}", markup=False)
            return int(ExitStatus.INTERNAL)
    report.print_problems(problems)
    return int(ExitStatus.INVALID if any(p.is_error for p in problems) else ExitStatus.OK)


def todo_command(root: Path, *, as_json: bool) -> int:
    """The operator checklist, NEW marking steps the committed out/ (git HEAD) did not need."""
    from klaster_build.baseline import previous_manifest
    from klaster_build.engine import analyse

    analysis = analyse(root)
    if any(p.is_error for p in analysis.problems):
        report.print_problems(analysis.problems)
        return int(ExitStatus.INVALID)
    # "New" means: not needed by the committed out/ (git HEAD); outside git, by out/ on disk.
    project = analysis.project
    known = set(previous_manifest(project.root, project.cluster.out_dir).steps)
    steps = analysis.steps
    if as_json:
        from klaster_build.serial import CONVERTER

        rows = [{**CONVERTER.unstructure(s), "new": s.key not in known} for s in steps]
        sys.stdout.write(json.dumps(rows, indent=2, default=str) + "\n")
        return int(ExitStatus.OK)
    for number, step in enumerate(steps, 1):
        mark = "NEW " if step.key not in known else ""
        sys.stdout.write(f"{number:3}. {mark}[{step.category}] {step.summary}\n")
    return int(ExitStatus.OK)


def why_command(root: Path, target: str, *, as_json: bool) -> int:
    """Which apps.d file:line and records produced a generated file (or one of its documents)."""
    from klaster_build.emit import render, serialize
    from klaster_build.engine import analyse
    from klaster_build.families import CATALOG

    analysis = analyse(root)
    if any(p.is_error for p in analysis.problems):
        report.print_problems(analysis.problems)
        return int(ExitStatus.INVALID)
    project = analysis.project
    rendered = serialize(render(project, analysis.graph, CATALOG), project.cluster.out_dir)
    path, _, selector = target.partition("#")
    relative = Path(path)
    if relative.is_absolute():
        relative = relative.relative_to(project.root)
    key = relative.as_posix()
    if key not in rendered.files:
        report.console().print(f"klaster: {key} is not generated by klaster", markup=False)
        return int(ExitStatus.INVALID)
    documents = rendered.documents.get(key, [])
    if selector:
        if selector.isdigit():
            index = int(selector)
            documents = documents[index : index + 1]
        else:
            documents = [d for d in documents if f"{d[0]}/{d[2]}" == selector]
        if not documents:
            report.console().print(f"klaster: {key} has no document {selector!r}", markup=False)
            return int(ExitStatus.INVALID)
    rows = [
        {
            "kind": kind,
            "namespace": ns,
            "name": name,
            "record": getattr(record, "address", "klasterfile settings"),
            "origin": str(record.origin),
        }
        for kind, ns, name, record, _ in documents
    ]
    if as_json:
        sys.stdout.write(
            json.dumps(
                {"path": key, "sources": list(rendered.sources.get(key, ())), "documents": rows},
                indent=2,
            )
            + "\n"
        )
    elif rows:
        for row in rows:
            sys.stdout.write(f"{row['origin']}: {row['record']} -> {row['kind']} {row['name']}\n")
    else:
        sys.stdout.write(
            f"{key}: from {', '.join(rendered.sources.get(key, ())) or 'klasterfile.py'}\n"
        )
    return int(ExitStatus.OK)


def explain_command(name: str | None) -> int:
    """The DSL's reference: every name, or one name in full."""
    from klaster_build import explain

    if name is None:
        sys.stdout.write(explain.overview())
        return int(ExitStatus.OK)
    entry = explain.find(name)
    if entry is None:
        report.console().print(f"klaster: {explain.unknown(name)}", markup=False)
        return int(ExitStatus.INVALID)
    sys.stdout.write(explain.describe(entry))
    return int(ExitStatus.OK)


def new_command(root: Path, name: str, template: str, helm: list[str] | None) -> int:
    """Write apps.d/<name>.py from a template."""
    from klaster_build.scaffold import Chart, ScaffoldError, new_app

    try:
        path = new_app(root.resolve(), name, template, Chart(*helm) if helm else None)
    except ScaffoldError as error:
        report.console().print(f"klaster: {error}", markup=False)
        return int(ExitStatus.INVALID)
    report.console().print(
        f"klaster: wrote {path.relative_to(root.resolve())}; run '{command('build')}'",
        markup=False,
    )
    return int(ExitStatus.OK)
