"""Where a build's time goes: wall time of each phase of `klaster build`, in one process.

A one-app rebuild normally loads, checks and renders the edited app alone (twice: as it is
and as it was built), so its load, graph, invariants and render rows are that app's.

    ./dev bench-profile [--apps 1000]

Builds a synthetic cluster (bench/synth.py), then times a full build into an empty out/ and a
rebuild after changing one app, phase by phase (each phase is a function of the pipeline,
wrapped with a timer; nothing else changes). Run it before optimising: it says which phase
to look at, and for which kind of build.
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
# families registers the emitters and checks; the others hold the phases timed below.
from klaster_build import (  # noqa: E402
    checks,
    emit,
    engine,
    families,  # noqa: F401
    graph,
    incremental,
    loader,
    operator,
    output,
)

IMPORTS = time.perf_counter() - started

sys.path.insert(0, str(Path(__file__).resolve().parent))
from run import TRASH, WORK, discard, empty_trash, wipe_output  # noqa: E402
from synth import touch_one_app, write_cluster  # noqa: E402

# (module, function, label): the pipeline's phases, in the order a build runs them.
PHASES = [
    (engine, "input_digests", "hash inputs"),
    (engine, "changed_outputs", "stat out/ for hand edits"),
    (loader, "load_app", "load apps.d (all, or the edited app alone)"),
    (graph, "build_graph", "graph"),
    (checks, "split_checks", "invariants"),
    (emit, "render", "render"),
    (engine, "collect_steps", "operator steps"),
    (operator, "collect_steps", "operator steps"),  # called from incremental.py
    (output, "plan", "plan (compare with disk)"),
    (output, "apply", "write (shadow + swap)"),
    (incremental.BuildState, "write", "keep the state for the next build"),
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

        # Call sites look the name up in the module at call time (engine imports phases inside
        # its functions), so replacing the module attribute times every call.
        setattr(module, name, timed)
    return spent


def timed_build(root: Path, spent: dict[str, float]) -> dict[str, float]:
    """Seconds per phase of one build, plus what the phases leave over and the total."""
    spent.clear()
    os.sync()
    start = time.perf_counter()
    engine.build(root)
    total = time.perf_counter() - start
    phases = {label: spent.get(label, 0.0) for _, _, label in PHASES}  # one entry per label
    return {**phases, "other (manifest, report data)": total - sum(phases.values()), "build": total}


def main() -> None:
    """Print the phase table of a full build and of a one-app rebuild."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--apps", type=int, default=1000)
    args = parser.parse_args()
    gc.set_threshold(100_000, 50, 100)  # as klaster's CLI does
    root = WORK / f"profile{args.apps}"
    empty_trash()
    discard(root)
    write_cluster(root, args.apps)
    spent = instrument()
    engine.build(root)  # warm the compiled-code cache, as any second build has it
    wipe_output(root)
    full = timed_build(root, spent)
    touch_one_app(root, 1)
    engine.build(root)  # the first rebuild also makes the shadow copy of out/
    touch_one_app(root, 2)
    rebuild = timed_build(root, spent)
    print(f"{args.apps} apps; imports of klaster and its dependencies: {IMPORTS:.3f} s")
    print("| phase | full build s | one-app rebuild s |")
    print("|---|---|---|")
    for label, seconds in full.items():
        print(f"| {label} | {seconds:.3f} | {rebuild[label]:.3f} |")
    shutil.rmtree(TRASH, ignore_errors=True)


if __name__ == "__main__":
    main()
