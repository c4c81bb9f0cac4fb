"""Benchmarks: whole-process wall time and peak memory of klaster on synthetic clusters.

    ./dev bench                      # sizes 10 100 1000 5000, 3 runs each, prints ratios
    ./dev bench --sizes 10 100 --runs 5 --record   # also rewrite bench/RESULTS.md

Every figure is the median of --runs whole processes; each ratio compares with a floor measured
in the same run (plain PyYAML writing the same documents, C dumper; the pure-Python dumper is
shown too), so the machine's speed and load cancel out as far as they can.
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
from datetime import date
from functools import partial
from pathlib import Path
from typing import NamedTuple

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))
from synth import touch_one_app, write_cluster

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
WORK = BENCH / "work"
# PYTHONDONTWRITEBYTECODE (set on some machines, this one included) makes every process compile
# klaster's own modules again (~30 ms), while its dependencies' bytecode was written by pip: let
# Python cache klaster's too, as it does for users.
ENV = {
    **{k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"},
    "PYTHONPATH": str(REPO),
    "NO_COLOR": "1",
}


class Sample(NamedTuple):
    """One measurement: wall seconds, peak RSS MiB, and CPU seconds in user and kernel mode."""

    seconds: float
    peak: float
    user: float = 0.0
    system: float = 0.0


def measure(argv: list[str], cwd: Path | None = None) -> Sample:
    """Wall time, peak memory and CPU times of one process; fails loudly when it fails."""
    # stderr goes to a file, not a pipe: a pipe nobody reads until exit blocks a chatty process.
    with tempfile.TemporaryFile() as errors:
        start = time.perf_counter()
        process = subprocess.Popen(argv, cwd=cwd, env=ENV, stdout=subprocess.DEVNULL, stderr=errors)
        _, status, usage = os.wait4(process.pid, 0)
        elapsed = time.perf_counter() - start
        code = os.waitstatus_to_exitcode(status)
        if code not in (0, 1):
            errors.seek(0)
            raise SystemExit(f"{' '.join(argv)} exited {code}:\n{errors.read().decode()}")
    return Sample(elapsed, usage.ru_maxrss / 1024, usage.ru_utime, usage.ru_stime)


def median_of(runs: int, argv: list[str], before=None) -> Sample:
    """Medians of time and CPU, and the highest peak, over `runs` runs; `before()` runs
    untimed before each."""
    samples = []
    for _ in range(runs):
        if before:
            before()
        # Flush the previous run's writes (and deletions) first, so that the disk's writeback
        # of one run is not billed to the next.
        os.sync()
        samples.append(measure(argv))
    return Sample(
        statistics.median(s.seconds for s in samples),
        max(s.peak for s in samples),
        statistics.median(s.user for s in samples),
        statistics.median(s.system for s in samples),
    )


def klaster(root: Path, *args: str) -> list[str]:
    """argv of a klaster run on `root`."""
    return [sys.executable, "-m", "klaster_build", "-C", str(root), *args]


def pickle_documents(root: Path, target: Path) -> int:
    """Parse the built out/ once (untimed) so the floor writes exactly the same documents."""
    files = {}
    count = 0
    for path in sorted((root / "out").rglob("*.yaml")):
        documents = list(yaml.load_all(path.read_text(), Loader=yaml.CSafeLoader))
        files[path.relative_to(root / "out").as_posix()] = documents
        count += len(documents)
    target.write_bytes(pickle.dumps(files))
    return count


def import_floor(runs: int) -> float:
    """Bare import time of klaster's dependencies, as a whole process."""
    code = "import attrs, yaml, networkx, rich"
    return median_of(runs, [sys.executable, "-c", code]).seconds


TRASH = WORK / "trash"
SETTLE_SECONDS = 30


def discard(path: Path) -> None:
    """Move `path` into the trash, deleted once all measurements are done.

    On a disk mounted with `discard` (this machine's), files created in the seconds after a big
    deletion cost about ten times as much kernel time while the freed blocks are trimmed; a
    measurement that follows a deletion then times the disk, not the program.
    """
    if path.exists() or path.is_symlink():
        TRASH.mkdir(parents=True, exist_ok=True)
        path.rename(TRASH / f"{len(list(TRASH.iterdir()))}-{path.name}")


def empty_trash() -> None:
    """Delete what `discard` set aside, then give the disk time to trim it."""
    if TRASH.exists():
        shutil.rmtree(TRASH)
        os.sync()
        time.sleep(SETTLE_SECONDS)


def wipe_output(root: Path) -> None:
    """An empty out/, and no shadow copy of it to start from: every file is written."""
    discard(root / "out")
    discard(root / ".klaster-cache" / "shadow")
    (root / ".klaster-cache" / "shadow.json").unlink(missing_ok=True)


def full_build(apps: int, runs: int) -> Sample:
    """klaster building the `apps`-app cluster into an empty out/, with no shadow to start from."""
    root = WORK / f"c{apps}"
    return median_of(runs, klaster(root, "build"), before=partial(wipe_output, root))


def floor_run(apps: int, runs: int, *flags: str) -> Sample:
    """The floor writing the documents of the `apps`-app cluster (pickled by `bench_size`)."""
    out = WORK / f"floor{apps}"
    argv = [sys.executable, str(BENCH / "floor.py"), str(WORK / f"c{apps}.pickle"), str(out)]
    return median_of(runs, [*argv, *flags], before=partial(discard, out))


def bench_size(apps: int, runs: int) -> tuple[dict[str, Sample], int]:
    """All measurements for one cluster size, and its number of documents."""
    root = WORK / f"c{apps}"
    discard(root)
    write_cluster(root, apps)
    results = {"full build": full_build(apps, runs)}
    documents = pickle_documents(root, WORK / f"c{apps}.pickle")
    results["floor (C dumper)"] = floor_run(apps, runs)
    if apps <= 1000:
        results["floor (pure dumper)"] = floor_run(apps, runs, "--pure")
    results["no-op --check"] = median_of(runs, klaster(root, "build", "--check"))
    results["no-op build"] = median_of(runs, klaster(root, "build"))
    revision = iter(range(1, 1000))
    # The first build after a build into an empty out/ also makes the shadow copy of out/ (once
    # per clone): its own row; the rebuilds after it are what editing an app costs.
    results["first rebuild (makes the shadow)"] = median_of(
        1, klaster(root, "build"), before=lambda: touch_one_app(root, next(revision))
    )
    results["rebuild one app"] = median_of(
        runs, klaster(root, "build"), before=lambda: touch_one_app(root, next(revision))
    )
    if (
        "graph"
        in subprocess.run(klaster(root, "--help"), env=ENV, capture_output=True, text=True).stdout
    ):
        results["graph --format json"] = median_of(runs, klaster(root, "graph", "--format", "json"))
    return results, documents


def interleaved_growth(small: int, large: int, runs: int) -> tuple[float, float]:
    """Median over `runs` of (full build of `large` / of `small`, and the same for the C-dumper
    floor), each pair measured back to back so that both sizes meet the same machine load."""
    ours, floors = [], []
    for _ in range(runs):
        build = {apps: full_build(apps, 1).seconds for apps in (small, large)}
        floor = {apps: floor_run(apps, 1).seconds for apps in (small, large)}
        ours.append(build[large] / build[small])
        floors.append(floor[large] / floor[small])
    return statistics.median(ours), statistics.median(floors)


def main() -> None:
    """Run, print, optionally record."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", type=int, nargs="+", default=[10, 100, 1000, 5000])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--record", action="store_true", help="write bench/RESULTS.md")
    args = parser.parse_args()
    WORK.mkdir(exist_ok=True)
    empty_trash()  # a previous run's, before anything is measured
    lines = [
        f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}; date {date.today()}"
    ]
    bare = import_floor(args.runs)
    lines.append(f"bare import of attrs+pyyaml+networkx+rich: {bare:.3f} s")
    lines.append(
        f"method: whole processes, median of {args.runs} runs, sync before each; trees a run "
        "replaces are set aside and deleted after all measurements (see `discard` in run.py)"
    )
    by_size = {}
    for apps in args.sizes:
        results, documents = bench_size(apps, args.runs)
        by_size[apps] = results
        floor = results["floor (C dumper)"].seconds
        lines.append("")
        lines.append(f"## {apps} apps ({documents} documents)")
        lines.append(
            "| measurement | median s | ratio to C-dumper floor | user CPU s | kernel CPU s | peak MiB |"
        )
        lines.append("|---|---|---|---|---|---|")
        for name, sample in results.items():
            lines.append(
                f"| {name} | {sample.seconds:.3f} | {sample.seconds / floor:.2f}x "
                f"| {sample.user:.2f} | {sample.system:.2f} | {sample.peak:.0f} |"
            )
    growth = interleaved_growth(1000, 5000, args.runs) if {1000, 5000} <= set(args.sizes) else None
    lines.append("")
    lines.extend(targets(by_size, bare, own_cluster(), growth))
    text = "\n".join(lines)
    print(text)
    if args.record:
        (BENCH / "RESULTS.md").write_text("# Benchmark results\n\n" + text + "\n")
    shutil.rmtree(TRASH, ignore_errors=True)


def targets(
    by_size: dict[int, dict[str, Sample]],
    bare: float,
    own: dict[str, float],
    growth: tuple[float, float] | None,
) -> list[str]:
    """The issue's targets, each with its measured ratio and PASS/FAIL."""
    out = ["## Targets"]

    def line(label: str, value: float, limit: float, unit: str = "x") -> None:
        out.append(
            f"- {label}: {value:.2f}{unit} (limit {limit}{unit}) {'PASS' if value <= limit else 'FAIL'}"
        )

    if 1000 in by_size:
        r = by_size[1000]
        full, rebuild = r["full build"], r["rebuild one app"]
        line(
            "1000 apps full build / C-dumper floor",
            full.seconds / r["floor (C dumper)"].seconds,
            1.5,
        )
        line("1000 apps full build peak memory", full.peak, 300, " MiB")
        line("1000 apps no-op --check", r["no-op --check"].seconds, 0.5, " s")
        line("1000 apps no-op build", r["no-op build"].seconds, 0.5, " s")
        line("1000 apps rebuild one app / full build", rebuild.seconds / full.seconds, 0.25)
        # Wall time of a full build here is mostly the kernel creating files (kernel CPU column);
        # user CPU shows the share of klaster's own work, free of the disk's moods.
        out.append(
            "- context: the same in user CPU time (klaster's own work): "
            f"{rebuild.user / full.user:.2f}x; the full build spent {full.system:.2f} s in the kernel"
        )
    if growth is not None:
        big, small = by_size[5000], by_size[1000]
        ours, floor_growth = growth
        line("5000 / 1000 apps full build (pairs measured back to back)", ours, 5.5)
        out.append(f"- context: the C-dumper floor itself grows {floor_growth:.2f}x on this disk")
        out.append(
            "- context: from the tables above (sizes measured minutes apart): "
            f"{big['full build'].seconds / small['full build'].seconds:.2f}x; "
            f"user CPU time {big['full build'].user / small['full build'].user:.2f}x"
        )
    out.append(f"- bare dependency import: {bare:.3f} s (the own-cluster limit is 1.5x this)")
    line("own cluster build (up to date) / bare import", own["build"] / bare, 1.5)
    line("own cluster build --check / bare import", own["check"] / bare, 1.5)
    out.append(
        f"- context: own cluster build into an empty out/ (everything rendered): {own['full']:.3f} s"
    )
    return out


def own_cluster() -> dict[str, float]:
    """The repo's own cluster, on a copy (the bench never writes the user's out/)."""
    copy = WORK / "own"
    discard(copy)
    copy.mkdir(parents=True)
    for name in ("klasterfile.py", "apps.d", "talos", "out", "renovate.json"):
        source = REPO / name
        if source.is_dir():
            shutil.copytree(source, copy / name, ignore=shutil.ignore_patterns("__pycache__"))
        elif source.exists():
            shutil.copy2(source, copy / name)
    return {
        "full": median_of(3, klaster(copy, "build"), before=lambda: wipe_output(copy)).seconds,
        "build": median_of(3, klaster(copy, "build")).seconds,
        "check": median_of(3, klaster(copy, "build", "--check")).seconds,
    }


if __name__ == "__main__":
    main()
