"""Benchmarks of issue 18's performance targets: whole klaster processes, each target with its
measured value, its limit and PASS/FAIL.

    ./dev bench                  # 1000 apps, 3 runs of everything (about 5 minutes)
    ./dev bench --quick          # smoke test: 100 apps, 1 run, no settling pause
    ./dev bench --record         # also rewrite bench/RESULTS.md

Targets: the repo's own cluster, `build` and `--check` <= 0.4 s; 1000 apps, a full build within
1.5x the C-dumper floor (plain PyYAML writing the same documents, measured in the same rounds) and
at least 5x faster than cdk8s writing the same Kubernetes objects (cdk8s_app.py); a no-op
`--check` <= 0.5 s. Every figure is the median of --runs whole processes (peak memory: the
highest); the processes compared with each other run in turns within each round, so that a
change in the machine's load meets all of them.
"""

from __future__ import annotations

import argparse
import os
import pickle
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import date
from functools import partial
from pathlib import Path
from typing import NamedTuple

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))
from synth import write_cluster

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
# cdk8s and its Node.js bridge, installed from PyPI on first use, apart from klaster's venv.
CDK8S_VENV = BENCH / ".cdk8s-venv"
# PYTHONDONTWRITEBYTECODE (set on some machines, this one included) makes every process compile
# klaster's own modules again (~30 ms), while its dependencies' bytecode was written by pip: let
# Python cache klaster's too, as it does for users.
ENV = {
    **{k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"},
    "PYTHONPATH": str(REPO),
    "NO_COLOR": "1",
}
# The repo's own cluster: what a build reads, and the tree it compares with.
OWN_CLUSTER_FILES = ("klasterfile.py", "apps.d", "talos", "out", "renovate.json")


class Sample(NamedTuple):
    """One process, or the summary of several: wall seconds, peak RSS MiB, CPU seconds in user
    and kernel mode."""

    seconds: float
    peak: float
    user: float
    system: float


class Run(NamedTuple):
    """A process to measure, and what to do (untimed) before each run of it."""

    argv: list[str]
    before: Callable[[], object] = lambda: None


def measure(argv: list[str]) -> Sample:
    """Wall time, peak memory and CPU times of one process; stops the bench if it fails."""
    # stderr goes to a file, not a pipe: a pipe nobody reads until exit blocks a chatty process.
    with tempfile.TemporaryFile() as errors:
        start = time.perf_counter()
        process = subprocess.Popen(argv, env=ENV, stdout=subprocess.DEVNULL, stderr=errors)
        _, status, usage = os.wait4(process.pid, 0)
        elapsed = time.perf_counter() - start
        code = os.waitstatus_to_exitcode(status)
        if code != 0:
            errors.seek(0)
            raise SystemExit(f"{' '.join(argv)} exited {code}:\n{errors.read().decode()}")
    return Sample(elapsed, usage.ru_maxrss / 1024, usage.ru_utime, usage.ru_stime)


def rounds(runs: int, processes: dict[str, Run]) -> dict[str, Sample]:
    """`runs` rounds, each running every process once in turn; per process, the medians of
    time and CPU and the highest peak."""
    samples: dict[str, list[Sample]] = {name: [] for name in processes}
    for _ in range(runs):
        for name, process in processes.items():
            process.before()
            # Flush the previous run's writes (and deletions) first, so that the disk's writeback
            # of one run is not billed to the next.
            os.sync()
            samples[name].append(measure(process.argv))
    return {
        name: Sample(
            statistics.median(s.seconds for s in taken),
            max(s.peak for s in taken),
            statistics.median(s.user for s in taken),
            statistics.median(s.system for s in taken),
        )
        for name, taken in samples.items()
    }


def klaster(root: Path, *args: str) -> list[str]:
    """argv of a klaster run on `root`."""
    return [sys.executable, "-m", "klaster_build", "-C", str(root), *args]


class Trash:
    """Trees a run replaces, set aside and deleted once all measurements are done.

    On a disk mounted with `discard` (this machine's), files created in the seconds after a big
    deletion cost about ten times as much kernel time while the freed blocks are trimmed; a
    measurement that follows a deletion would time the disk, not the program.
    """

    def __init__(self, folder: Path, settle_seconds: float) -> None:
        self.folder = folder
        self.settle_seconds = settle_seconds

    def discard(self, path: Path) -> None:
        """Move `path` (if it exists) into the trash."""
        if path.exists() or path.is_symlink():
            self.folder.mkdir(parents=True, exist_ok=True)
            path.rename(self.folder / f"{len(list(self.folder.iterdir()))}-{path.name}")

    def empty(self) -> None:
        """Delete what was set aside, then give the disk time to trim it."""
        if self.folder.exists():
            shutil.rmtree(self.folder)
            os.sync()
            time.sleep(self.settle_seconds)


def forget_builds(trash: Trash, root: Path) -> None:
    """A fresh clone: no klaster state from earlier builds (the input fingerprint, and the
    shadow copy of out/ of older versions)."""
    trash.discard(root / ".klaster-cache")


def empty_output(trash: Trash, root: Path) -> None:
    """A fresh clone with an empty out/: every file is written."""
    trash.discard(root / "out")
    forget_builds(trash, root)


def pickle_documents(root: Path, target: Path) -> int:
    """Parse the built out/ once (untimed), so that the floor and cdk8s write exactly klaster's
    documents; returns their number."""
    files = {}
    for path in sorted((root / "out").rglob("*.yaml")):
        documents = list(yaml.load_all(path.read_text(), Loader=yaml.CSafeLoader))
        files[path.relative_to(root / "out").as_posix()] = documents
    target.write_bytes(pickle.dumps(files))
    return sum(len(documents) for documents in files.values())


def cdk8s_python() -> tuple[Path | None, str]:
    """The Python of the cdk8s venv (made on first use) and cdk8s's version; or None and why
    cdk8s cannot run here."""
    node = shutil.which("node")
    if node is None:
        return None, "Node.js is not installed (cdk8s runs its library in Node.js)"
    python = CDK8S_VENV / "bin" / "python"
    installed = CDK8S_VENV / ".installed"
    if not installed.exists():
        print("installing cdk8s from PyPI into bench/.cdk8s-venv (once)...", file=sys.stderr)
        for step in (
            [sys.executable, "-m", "venv", "--clear", str(CDK8S_VENV)],
            [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
             "cdk8s", "constructs"],
        ):  # fmt: skip
            done = subprocess.run(step, capture_output=True, text=True)
            if done.returncode != 0:
                lines = (done.stderr or done.stdout).strip().splitlines() or ["no output"]
                return None, f"installing cdk8s failed: {lines[-1]}"
        installed.touch()
    # Importing cdk8s starts its Node.js bridge: a Node.js it refuses shows here, untimed.
    probe = "import importlib.metadata, cdk8s; print(importlib.metadata.version('cdk8s'))"
    done = subprocess.run([str(python), "-c", probe], capture_output=True, text=True)
    if done.returncode != 0:
        lines = done.stderr.strip().splitlines() or ["no output"]
        return None, f"cdk8s does not start: {lines[-1]}"
    node_version = subprocess.run([node, "--version"], capture_output=True, text=True).stdout
    return python, f"cdk8s {done.stdout.strip()} on Node.js {node_version.strip()}"


def copy_own_cluster(target: Path) -> None:
    """The repo's own cluster, copied (the bench never writes the user's out/)."""
    target.mkdir(parents=True)
    for name in OWN_CLUSTER_FILES:
        source = REPO / name
        if source.is_dir():
            shutil.copytree(source, target / name, ignore=shutil.ignore_patterns("__pycache__"))
        elif source.exists():
            shutil.copy2(source, target / name)


def edit_an_app(root: Path, counter: list[int]) -> None:
    """Change the first app's file without changing what it declares (a comment at its end),
    so that the next build cannot answer from the input fingerprint: it renders everything."""
    counter[0] += 1
    first = sorted((root / "apps.d").glob("*.py"))[0]
    with first.open("a") as stream:
        stream.write(f"# bench edit {counter[0]}\n")


def own_cluster(work: Path, trash: Trash, runs: int) -> dict[str, Sample]:
    """The repo's own cluster: builds that render everything, and the no-ops."""
    root = work / "own"
    trash.discard(root)
    copy_own_cluster(root)
    subprocess.run(klaster(root, "build"), env=ENV, check=True, capture_output=True)
    edits = [0]
    return rounds(
        runs,
        {
            "build after an edit (everything rendered)": Run(
                klaster(root, "build"), partial(edit_an_app, root, edits)
            ),
            "--check on a fresh clone (everything rendered)": Run(
                klaster(root, "build", "--check"), partial(forget_builds, trash, root)
            ),
            "build into an empty out/": Run(
                klaster(root, "build"), partial(empty_output, trash, root)
            ),
            "no-op build": Run(klaster(root, "build")),
            "no-op --check": Run(klaster(root, "build", "--check")),
            # The part of every run that is not klaster's: Python starting and importing what
            # klaster imports on every build (networkx only for graph commands).
            "context: Python importing attrs, cattrs, yaml, rich": Run(
                [sys.executable, "-c", "import attrs, cattrs, yaml, rich.console"]
            ),
        },
    )


def synthetic_cluster(
    work: Path, trash: Trash, apps: int, runs: int, cdk8s: Path | None
) -> tuple[dict[str, Sample], int]:
    """The `apps`-app synthetic cluster: full builds against the floor and cdk8s, then the
    no-op check; and the number of documents klaster wrote."""
    root = work / f"c{apps}"
    trash.discard(root)
    write_cluster(root, apps)
    subprocess.run(klaster(root, "build"), env=ENV, check=True, capture_output=True)
    documents_file = work / f"c{apps}.pickle"
    documents = pickle_documents(root, documents_file)
    floor_out, cdk8s_out = work / f"floor{apps}", work / f"cdk8s{apps}"
    full = {
        "full build (empty out/)": Run(klaster(root, "build"), partial(empty_output, trash, root)),
        "floor: PyYAML C dumper, same documents": Run(
            [sys.executable, str(BENCH / "floor.py"), str(documents_file), str(floor_out)],
            partial(trash.discard, floor_out),
        ),
    }
    if cdk8s is not None:
        full["cdk8s: same Kubernetes objects"] = Run(
            [str(cdk8s), str(BENCH / "cdk8s_app.py"), str(documents_file), str(cdk8s_out)],
            partial(trash.discard, cdk8s_out),
        )
    results = rounds(runs, full)
    # The last full build left out/ current and recorded: all no-op runs first, as the fresh
    # clones forget that record.
    results |= rounds(runs, {"no-op --check": Run(klaster(root, "build", "--check"))})
    fresh_check = Run(klaster(root, "build", "--check"), partial(forget_builds, trash, root))
    results |= rounds(runs, {"--check on a fresh clone (everything rendered)": fresh_check})
    return results, documents


class Target(NamedTuple):
    """One of the issue's targets: what was measured against which limit."""

    name: str
    value: float | None  # None: not measured (skipped: `skipped` says why)
    unit: str
    limit: float
    at_least: bool = False  # the value must reach the limit, not stay under it
    skipped: str = ""

    def row(self) -> str:
        """The target as a Markdown table row."""
        sign = ">=" if self.at_least else "<="
        limit = f"{sign} {self.limit:g}{self.unit}"
        if self.value is None:
            return f"| {self.name} | - | {limit} | SKIPPED: {self.skipped} |"
        passed = self.value >= self.limit if self.at_least else self.value <= self.limit
        digits = 3 if self.unit == " s" else 2
        value = f"{self.value:.{digits}f}{self.unit}"
        return f"| {self.name} | {value} | {limit} | {'PASS' if passed else 'FAIL'} |"


def targets(
    own: dict[str, Sample], synthetic: dict[str, Sample], apps: int, cdk8s_skipped: str
) -> list[Target]:
    """The issue's four targets (the own cluster's is two rows: build and --check)."""
    full = synthetic["full build (empty out/)"].seconds
    floor = synthetic["floor: PyYAML C dumper, same documents"].seconds
    cdk8s = synthetic.get("cdk8s: same Kubernetes objects")
    return [
        Target(
            "own cluster: build after an edit",
            own["build after an edit (everything rendered)"].seconds,
            " s",
            0.4,
        ),
        Target(
            "own cluster: --check on a fresh clone",
            own["--check on a fresh clone (everything rendered)"].seconds,
            " s",
            0.4,
        ),
        Target(f"{apps} apps: full build / C-dumper floor", full / floor, "x", 1.5),
        Target(
            f"{apps} apps: cdk8s / full build",
            None if cdk8s is None else cdk8s.seconds / full,
            "x",
            5,
            at_least=True,
            skipped=cdk8s_skipped,
        ),
        Target(f"{apps} apps: no-op --check", synthetic["no-op --check"].seconds, " s", 0.5),
    ]


def table(results: dict[str, Sample]) -> list[str]:
    """The measurements of one cluster as a Markdown table."""
    lines = [
        "| measurement | median s | user CPU s | kernel CPU s | peak MiB |",
        "|---|---|---|---|---|",
    ]
    for name, sample in results.items():
        lines.append(
            f"| {name} | {sample.seconds:.3f} | {sample.user:.2f} | {sample.system:.2f} "
            f"| {sample.peak:.0f} |"
        )
    return lines


def load() -> str:
    """The machine's load averages over 1, 5 and 15 minutes."""
    return " ".join(f"{average:.2f}" for average in os.getloadavg())


def commit() -> str:
    """The measured klaster's commit (and whether the worktree differs from it)."""
    head = subprocess.run(
        ["git", "-C", str(REPO), "log", "-1", "--format=%h %cs"], capture_output=True, text=True
    ).stdout.strip()
    dirty = subprocess.run(
        ["git", "-C", str(REPO), "status", "--porcelain", "--untracked-files=no"],
        capture_output=True,
        text=True,
    ).stdout.strip()
    return f"{head or 'unknown'}{' (with uncommitted changes)' if dirty else ''}"


def main() -> None:
    """Measure, print, optionally record."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="1 run, 100 apps, no settling pause")
    parser.add_argument("--apps", type=int, help="synthetic cluster size (default 1000)")
    parser.add_argument("--runs", type=int, help="runs of each process (default 3)")
    parser.add_argument("--skip-cdk8s", action="store_true", help="no cdk8s comparison")
    parser.add_argument("--work", type=Path, default=BENCH / "work", help="scratch folder")
    parser.add_argument("--record", action="store_true", help="write bench/RESULTS.md")
    args = parser.parse_args()
    apps = args.apps or (100 if args.quick else 1000)
    runs = args.runs or (1 if args.quick else 3)
    work = args.work.resolve()
    work.mkdir(parents=True, exist_ok=True)
    trash = Trash(work / "trash", settle_seconds=0 if args.quick else 30)
    trash.empty()  # a previous run's, before anything is measured

    if args.skip_cdk8s:
        cdk8s, cdk8s_about = None, "--skip-cdk8s"
    else:
        cdk8s, cdk8s_about = cdk8s_python()
    load_before = load()
    own = own_cluster(work, trash, runs)
    synthetic, documents = synthetic_cluster(work, trash, apps, runs, cdk8s)
    lines = [
        f"machine: {platform.machine()}, {os.cpu_count()} cores, Python "
        f"{platform.python_version()}; date {date.today()}; klaster {commit()}",
        f"load average (1, 5, 15 min): {load_before} before, {load()} after "
        "(the machine is shared: other people's work runs beside the bench)",
        f"comparison: {cdk8s_about if cdk8s else 'cdk8s skipped: ' + cdk8s_about}",
        f"method: whole processes, median of {runs} runs in turns, sync before each; trees a "
        "run replaces are set aside and deleted after all measurements (Trash in run.py)",
        "",
        "## Targets (issue 18)",
        "| target | measured | limit | verdict |",
        "|---|---|---|---|",
        *(target.row() for target in targets(own, synthetic, apps, cdk8s_about)),
        "",
        "## Own cluster",
        *table(own),
        "",
        f"## {apps} apps ({documents} documents)",
        *table(synthetic),
    ]
    text = "\n".join(lines)
    print(text)
    if args.record:
        (BENCH / "RESULTS.md").write_text("# Benchmark results\n\n" + text + "\n")
    shutil.rmtree(trash.folder, ignore_errors=True)


if __name__ == "__main__":
    main()
