"""A build killed at any moment leaves out/ entirely old or entirely new; the next build cleans up."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import REPO, ProjectDir

from klaster_build import output

sys.path.insert(0, str(REPO / "bench"))
from synth import KLASTERFILE, app_source, touch_one_app, write_cluster

KILLS = int(os.environ.get("KLASTER_KILLS", "12"))


def _tree(root: Path) -> dict[str, bytes]:
    out = root / "out"
    return (
        {
            p.relative_to(out).as_posix(): p.read_bytes()
            for p in sorted(out.rglob("*"))
            if p.is_file()
        }
        if out.exists()
        else {}
    )


def _leftovers(root: Path) -> list[Path]:
    return [
        p for p in root.iterdir() if p.name.startswith((output.STAGING_PREFIX, output.OLD_PREFIX))
    ]


@pytest.mark.parametrize("fail_at", [1, 4, 9])
def test_failure_between_writes_leaves_the_old_tree(
    project: ProjectDir, run, monkeypatch, fail_at: int
) -> None:
    """An exception after N staged writes changes nothing in out/; the next build succeeds and cleans up."""
    (project.root / "klasterfile.py").write_text(KLASTERFILE)
    for index in range(8):
        project.app(f"app{index}", app_source(index))
    assert run("build")[0] == 0
    before = _tree(project.root)
    for index in range(8):
        project.app(f"app{index}", app_source(index, revision=1))
    real_open = open
    calls = {"n": 0}

    def failing_open(file, mode="r", *args, **kwargs):  # type: ignore[no-untyped-def]
        if "w" in str(mode) and output.STAGING_PREFIX in str(file):
            calls["n"] += 1
            if calls["n"] == fail_at:
                raise OSError(28, "No space left on device")
        return real_open(file, mode, *args, **kwargs)

    monkeypatch.setattr("builtins.open", failing_open)
    code, _, err = run("build")
    monkeypatch.undo()
    assert code == 3 and "No space left on device" in err
    assert _tree(project.root) == before
    assert _leftovers(project.root)  # the half-written staging copy is still there...
    assert run("build")[0] == 0  # ...until the next build removes it and writes the new tree
    assert not _leftovers(project.root)
    assert _tree(project.root) != before
    assert run("build", "--check")[0] == 0


def test_interrupted_fallback_swap_is_finished_by_the_next_build(tmp_path: Path) -> None:
    """Killed between the two renames of the fallback swap: the next build completes it."""
    out = tmp_path / "out"
    staging = tmp_path / f"{output.STAGING_PREFIX}out"
    old = tmp_path / f"{output.OLD_PREFIX}out"
    staging.mkdir()
    (staging / output.MANIFEST).write_text("{}")
    (staging / "new.yaml").write_text("new\n")
    old.mkdir()
    (old / "old.yaml").write_text("old\n")
    output.cleanup_leftovers(out)
    assert (out / "new.yaml").read_text() == "new\n"
    assert not staging.exists() and not old.exists()


@pytest.mark.skipif(sys.platform != "linux", reason="SIGKILL timing test needs Linux")
def test_sigkill_at_random_moments(tmp_path: Path) -> None:
    """SIGKILL a large build at random moments: out/ is always the old or the new tree, exactly."""
    root = tmp_path / "cluster"
    write_cluster(root, 300)
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    command = [sys.executable, "-m", "klaster_build", "-C", str(root), "build"]
    subprocess.run(command, env=env, check=True, capture_output=True)
    started = time.perf_counter()
    subprocess.run([*command[:-1], "build", "--check"], env=env, check=True, capture_output=True)
    full = time.perf_counter() - started
    rng = random.Random(20261125)
    survived = 0
    for revision in range(1, KILLS + 1):
        old_tree = _tree(root)
        touch_one_app(root, revision)
        for index in range(1, 40):  # every app changes, so the whole tree is rewritten
            (root / "apps.d" / f"app{index:05d}.py").write_text(app_source(index, revision))
        process = subprocess.Popen(
            command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        time.sleep(rng.uniform(0.05, max(0.1, full * 1.5)))
        process.send_signal(signal.SIGKILL)
        process.wait()
        after_kill = _tree(root)
        subprocess.run(command, env=env, check=True, capture_output=True)
        new_tree = _tree(root)
        assert after_kill in (old_tree, new_tree), f"kill {revision}: out/ is a mix of two trees"
        assert not _leftovers(root)
        survived += 1
    assert survived == KILLS
