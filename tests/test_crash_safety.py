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

from klaster_build import engine, output

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
    """A disk error after N writes into the staged tree changes nothing in out/; the next build
    succeeds."""
    (project.root / "klasterfile.py").write_text(KLASTERFILE)
    for index in range(8):
        project.app(f"app{index}", app_source(index))
    assert run("build")[0] == 0
    before = _tree(project.root)
    for index in range(8):
        project.app(f"app{index}", app_source(index, revision=1))
    real_write = Path.write_bytes
    calls = {"n": 0}

    def failing_write(path: Path, data: bytes) -> int:
        if output.STAGING_PREFIX in str(path):
            calls["n"] += 1
            if calls["n"] == fail_at:
                raise OSError(28, "No space left on device")
        return real_write(path, data)

    monkeypatch.setattr(Path, "write_bytes", failing_write)
    code, _, err = run("build")
    monkeypatch.undo()
    assert code == 3 and "No space left on device" in err
    assert _tree(project.root) == before
    assert run("build")[0] == 0
    assert not _leftovers(project.root)
    assert _tree(project.root) != before
    assert run("build", "--check")[0] == 0
    fresh = ProjectDir(project.root.parent / "fresh")
    (fresh.root / "klasterfile.py").write_text(KLASTERFILE)
    for index in range(8):
        fresh.app(f"app{index}", app_source(index, revision=1))
    assert run("-C", str(fresh.root), "build")[0] == 0
    assert _tree(project.root) == _tree(fresh.root)


def _build_then_rebuild(project: ProjectDir, run) -> None:
    """Build one app, change it, build again: the change is there, check is clean, no leftovers."""
    (project.root / "klasterfile.py").write_text(KLASTERFILE)
    project.app("app0", app_source(0))
    assert run("build")[0] == 0
    project.app("app0", app_source(0, revision=1))
    assert run("build")[0] == 0
    assert any(b"2.0.1" in content for content in _tree(project.root).values())
    assert run("build", "--check")[0] == 0
    assert not _leftovers(project.root)


def test_without_rename_exchange_the_fallback_swap_builds_the_same(
    project: ProjectDir, run, monkeypatch
) -> None:
    """Where renameat2 is missing, out/ is swapped by two renames and nothing is left over."""
    monkeypatch.setattr(output, "_exchange", lambda a, b: False)
    _build_then_rebuild(project, run)


def test_interrupted_fallback_swap_is_undone_by_the_next_build(tmp_path: Path) -> None:
    """Killed between the two renames of the fallback swap: the old out/ is put back."""
    out = tmp_path / "out"
    old = tmp_path / f"{output.OLD_PREFIX}out"
    old.mkdir()
    (old / "old.yaml").write_text("old\n")
    output.cleanup_leftovers(out)
    assert (out / "old.yaml").read_text() == "old\n"
    assert not old.exists()


def test_half_written_files_outside_out_are_removed(tmp_path: Path) -> None:
    """Killed while replacing a generated file outside out/ (renovate.json): its temp file goes
    at the next build; the file itself stays."""
    (tmp_path / "renovate.json").write_text("{}\n")
    leftover = tmp_path / ".klaster-tmp-renovate.json"
    leftover.write_text("{half")
    removed = output.cleanup_leftovers(tmp_path / "out", ["renovate.json"])
    assert removed == [leftover]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["renovate.json"]


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


@pytest.mark.skipif(sys.platform != "linux", reason="flock")
def test_a_second_build_waits_for_the_first(project: ProjectDir, run) -> None:
    """Two builds of one project never write at once: the second says it waits, then builds."""
    import fcntl

    (project.root / "klasterfile.py").write_text(KLASTERFILE)
    project.app("app0", app_source(0))
    assert run("build")[0] == 0
    before = _tree(project.root)
    project.app("app0", app_source(0, revision=1))
    with open(project.root / engine.LOCK_FILE, "a+b") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # as a build in progress holds it
        second = subprocess.Popen(
            [sys.executable, "-m", "klaster_build", "-C", str(project.root), "build"],
            env={**os.environ, "PYTHONPATH": str(REPO), "NO_COLOR": "1"},
            stderr=subprocess.PIPE,
            text=True,
        )
        assert second.stderr is not None
        assert "waiting for it to finish" in second.stderr.readline()
        assert second.poll() is None
        assert _tree(project.root) == before
    _, err = second.communicate(timeout=120)
    assert second.returncode == 0, err
    assert any(b"2.0.1" in content for content in _tree(project.root).values())
