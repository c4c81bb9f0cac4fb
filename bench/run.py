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
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))
from synth import touch_one_app, write_cluster

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
WORK = BENCH / "work"
ENV = {**os.environ, "PYTHONPATH": str(REPO), "NO_COLOR": "1"}


def measure(argv: list[str], cwd: Path | None = None) -> tuple[float, float]:
    """(wall seconds, peak RSS MiB) of one process; fails loudly when it fails."""
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
    return elapsed, usage.ru_maxrss / 1024


def median_of(runs: int, argv: list[str], before=None) -> tuple[float, float]:
    """Median time and max memory over `runs` runs; `before()` runs untimed before each."""
    times, peaks = [], []
    for _ in range(runs):
        if before:
            before()
        # Flush the previous run's writes (and deletions) first, so that the disk's writeback
        # of one run is not billed to the next.
        os.sync()
        elapsed, peak = measure(argv)
        times.append(elapsed)
        peaks.append(peak)
    return statistics.median(times), max(peaks)


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
    code = "import attrs, cattrs, yaml, networkx, rich"
    return median_of(runs, [sys.executable, "-c", code])[0]


def bench_size(apps: int, runs: int) -> dict[str, tuple[float, float]]:
    """All measurements for one cluster size."""
    root = WORK / f"c{apps}"
    write_cluster(root, apps)
    wipe = lambda: shutil.rmtree(root / "out", ignore_errors=True)  # noqa: E731
    results = {"full build": median_of(runs, klaster(root, "build"), before=wipe)}
    docs = WORK / f"c{apps}.pickle"
    results["documents"] = (float(pickle_documents(root, docs)), 0.0)
    floor_out = WORK / f"floor{apps}"
    clear_floor = lambda: shutil.rmtree(floor_out, ignore_errors=True)  # noqa: E731
    results["floor (C dumper)"] = median_of(
        runs,
        [sys.executable, str(BENCH / "floor.py"), str(docs), str(floor_out)],
        before=clear_floor,
    )
    if apps <= 1000:
        results["floor (pure dumper)"] = median_of(
            runs,
            [sys.executable, str(BENCH / "floor.py"), str(docs), str(floor_out), "--pure"],
            before=clear_floor,
        )
    results["no-op --check"] = median_of(runs, klaster(root, "build", "--check"))
    results["no-op build"] = median_of(runs, klaster(root, "build"))
    revision = iter(range(1, 1000))
    results["rebuild one app"] = median_of(
        runs, klaster(root, "build"), before=lambda: touch_one_app(root, next(revision))
    )
    if (
        "graph"
        in subprocess.run(klaster(root, "--help"), env=ENV, capture_output=True, text=True).stdout
    ):
        results["graph --format json"] = median_of(runs, klaster(root, "graph", "--format", "json"))
    return results


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
    lines = [
        f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}; date {date.today()}"
    ]
    bare = import_floor(args.runs)
    lines.append(f"bare import of attrs+cattrs+pyyaml+networkx+rich: {bare:.3f} s")
    by_size = {}
    for apps in args.sizes:
        results = bench_size(apps, args.runs)
        by_size[apps] = results
        floor = results["floor (C dumper)"][0]
        lines.append("")
        lines.append(f"## {apps} apps ({int(results['documents'][0])} documents)")
        lines.append("| measurement | median s | ratio to C-dumper floor | peak MiB |")
        lines.append("|---|---|---|---|")
        for name, (seconds, peak) in results.items():
            if name == "documents":
                continue
            lines.append(f"| {name} | {seconds:.3f} | {seconds / floor:.2f}x | {peak:.0f} |")
    lines.append("")
    lines.extend(targets(by_size, bare, own_cluster()))
    text = "\n".join(lines)
    print(text)
    if args.record:
        (BENCH / "RESULTS.md").write_text("# Benchmark results\n\n" + text + "\n")


def targets(
    by_size: dict[int, dict[str, tuple[float, float]]], bare: float, own: dict[str, float]
) -> list[str]:
    """The issue's targets, each with its measured ratio and PASS/FAIL."""
    out = ["## Targets"]

    def line(label: str, value: float, limit: float, unit: str = "x") -> None:
        out.append(
            f"- {label}: {value:.2f}{unit} (limit {limit}{unit}) {'PASS' if value <= limit else 'FAIL'}"
        )

    if 1000 in by_size:
        r = by_size[1000]
        line(
            "1000 apps full build / C-dumper floor",
            r["full build"][0] / r["floor (C dumper)"][0],
            1.5,
        )
        line("1000 apps full build peak memory", r["full build"][1], 300, " MiB")
        line("1000 apps no-op --check", r["no-op --check"][0], 0.5, " s")
        line("1000 apps no-op build", r["no-op build"][0], 0.5, " s")
        line(
            "1000 apps rebuild one app / full build",
            r["rebuild one app"][0] / r["full build"][0],
            0.25,
        )
    if 1000 in by_size and 5000 in by_size:
        line(
            "5000 / 1000 apps full build",
            by_size[5000]["full build"][0] / by_size[1000]["full build"][0],
            5.5,
        )
        floor_growth = by_size[5000]["floor (C dumper)"][0] / by_size[1000]["floor (C dumper)"][0]
        out.append(f"- context: the C-dumper floor itself grows {floor_growth:.2f}x on this disk")
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
    shutil.rmtree(copy, ignore_errors=True)
    copy.mkdir(parents=True)
    for name in ("klasterfile.py", "apps.d", "talos", "out", "renovate.json"):
        source = REPO / name
        if source.is_dir():
            shutil.copytree(source, copy / name, ignore=shutil.ignore_patterns("__pycache__"))
        elif source.exists():
            shutil.copy2(source, copy / name)
    wipe = lambda: shutil.rmtree(copy / "out", ignore_errors=True)  # noqa: E731
    full = median_of(3, klaster(copy, "build"), before=wipe)[0]
    return {
        "full": full,
        "build": median_of(3, klaster(copy, "build"))[0],
        "check": median_of(3, klaster(copy, "build", "--check"))[0],
    }


if __name__ == "__main__":
    main()
