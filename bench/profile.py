"""Where a build's time goes: wall time of each phase of `klaster build`, in one process.

    ./dev bench-profile [--apps 1000]

Builds a synthetic cluster (bench/synth.py), then times a full build into an empty out/ and a
build after an edit (out/ current, every file rendered and compared), phase by phase (each
phase is a function the pipeline calls, wrapped with a timer; nothing else changes). Run it
before optimising: it says which phase to look at, and for which kind of build.
"""

from __future__ import annotations

import argparse
import functools
import gc
import os
import shutil
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

started = time.perf_counter()
from klaster_build import engine, output, state  # noqa: E402

IMPORTS = time.perf_counter() - started

sys.path.insert(0, str(Path(__file__).resolve().parent))
from synth import touch_one_app, write_cluster  # noqa: E402

# (module, function, label): the pipeline's phases, in the order a build runs them. engine
# imports the phases by name, so its module attributes are what a build calls.
PHASES = [
    (state, "input_fingerprint", "hash inputs"),
    (state, "out_is_current", "compare with the last build's record"),
    (engine, "load_project", "load apps.d"),
    (engine, "expand", "expand (what records imply)"),
    (engine, "build_graph", "graph"),
    (engine, "run_checks", "checks"),
    (engine, "render", "render"),
    (engine, "output_problems", "checks on rendered outputs"),
    (engine, "serialize", "serialize"),
    (engine, "collect_steps", "operator steps"),
    (output, "plan", "plan (compare with out/)"),
    (engine, "refuse_removals", "judge the change (baseline, removal checks)"),
    (output, "apply", "write (staged swap)"),
]


def instrument() -> dict[str, float]:
    """Wrap every phase with a timer; returns the dict the timers add to."""
    spent: dict[str, float] = {}
    for module, name, label in PHASES:
        original: Callable[..., Any] = getattr(module, name)

        @functools.wraps(original)
        def timed(*args: Any, _original=original, _label=label, **kwargs: Any) -> Any:
            start = time.perf_counter()
            try:
                return _original(*args, **kwargs)
            finally:
                spent[_label] = spent.get(_label, 0.0) + time.perf_counter() - start

        setattr(module, name, timed)
    return spent


def timed_build(root: Path, spent: dict[str, float]) -> dict[str, float]:
    """Seconds per phase of one build, plus what the phases leave over and the total."""
    spent.clear()
    os.sync()
    start = time.perf_counter()
    engine.build(root)
    total = time.perf_counter() - start
    phases = {label: spent.get(label, 0.0) for _, _, label in PHASES}
    return {**phases, "other": total - sum(phases.values()), "build": total}


def main() -> None:
    """Print the phase table of a full build and of a build after an edit."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--apps", type=int, default=1000)
    parser.add_argument("--work", type=Path, default=Path(__file__).resolve().parent / "work")
    args = parser.parse_args()
    gc.set_threshold(100_000, 50, 100)  # as klaster's CLI does
    root = args.work / f"profile{args.apps}"
    write_cluster(root, args.apps)
    spent = instrument()
    engine.build(root)  # warm the compiled-code cache, as any second build has it
    shutil.rmtree(root / "out")
    shutil.rmtree(root / output.CACHE_DIR)
    full = timed_build(root, spent)
    touch_one_app(root, 1)
    edited = timed_build(root, spent)
    print(f"{args.apps} apps; imports of klaster and its dependencies: {IMPORTS:.3f} s")
    print("| phase | full build s | build after an edit s |")
    print("|---|---|---|")
    for label, seconds in full.items():
        print(f"| {label} | {seconds:.3f} | {edited[label]:.3f} |")
    shutil.rmtree(root)


if __name__ == "__main__":
    main()
