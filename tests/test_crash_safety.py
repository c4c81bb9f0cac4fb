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

from klaster_build import output, state

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
    real_open = os.open
    calls = {"n": 0}

    def failing_open(path: str, flags: int, mode: int = 0o777, **kwargs: object) -> int:
        if output.STAGING_PREFIX in str(path) and flags & os.O_CREAT:
            calls["n"] += 1
            if calls["n"] == fail_at:
                raise OSError(28, "No space left on device")
        return real_open(path, flags, mode, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(os, "open", failing_open)
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
    with open(project.root / state.LOCK_FILE, "a+b") as lock:
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


WEB = """\
from klaster_build.dsl import Container, Deployment, Service

web = Deployment("web", containers=[Container("web", image="nginx:1.27.3", ports={"http": 80})])
Service("web", workload=web, ports={"http": 80})
"""


def test_a_failure_after_the_swap_says_what_is_on_disk(
    project: ProjectDir, run, monkeypatch, no_color
) -> None:
    """Writing renovate.json fails once out/ was swapped: exit 3, the message says out/ holds
    the new tree (never "left as it was"); the next build finishes the job."""
    project.app("web", WEB)
    assert run("build")[0] == 0
    project.app("web", WEB.replace("nginx:1.27.3", "nginx:1.27.4"))
    (project.root / "renovate.json").write_text("{}\n")  # a hand edit the build replaces
    real_replace = os.replace

    def failing_replace(source: object, target: object) -> None:
        if str(target).endswith("renovate.json"):
            raise OSError(28, "No space left on device")
        real_replace(source, target)  # type: ignore[arg-type]

    monkeypatch.setattr(output.os, "replace", failing_replace)
    renovate_before = (project.root / "renovate.json").read_bytes()
    code, _, err = run("build")
    monkeypatch.undo()
    assert code == 3, err
    assert "left as it was" not in err
    assert "out/ holds the new tree, but writing outside it failed" in err
    assert "No space left on device" in err
    assert "nginx:1.27.4" in project.file("out/apps/web/deployment.yaml")
    assert (project.root / "renovate.json").read_bytes() == renovate_before
    assert run("build")[0] == 0
    assert run("build", "--check")[0] == 0


def test_a_leftover_staging_tree_never_breaks_later_builds(
    project: ProjectDir, run, monkeypatch, tmp_path
) -> None:
    """The old tree cannot be removed after the swap (a read-only out/): the build still
    succeeds; the next build removes the leftover, read-only folders and all. A leftover that
    is a symlink loses only the link."""
    project.app("web", WEB)
    assert run("build")[0] == 0
    project.app("web", WEB.replace("nginx:1.27.3", "nginx:1.27.4"))
    (project.out / "apps" / "web").chmod(0o555)  # out/ as a read-only checkout leaves it
    real_remove = output.remove_leftover

    def refuse(path: Path) -> None:  # only the old tree, after the swap, is there to remove
        if path.exists():
            raise PermissionError(13, "Permission denied", str(path))
        real_remove(path)

    monkeypatch.setattr(output, "remove_leftover", refuse)
    code, _, err = run("build")
    monkeypatch.setattr(output, "remove_leftover", real_remove)
    assert code == 0, err
    assert "nginx:1.27.4" in project.file("out/apps/web/deployment.yaml")
    (leftover,) = _leftovers(project.root)
    assert not os.access(leftover / "apps" / "web", os.W_OK) or os.geteuid() == 0
    project.app("web", WEB.replace("nginx:1.27.3", "nginx:1.27.5"))
    code, _, err = run("build")
    assert code == 0, err
    assert not _leftovers(project.root)
    canary = tmp_path / "canary"
    canary.mkdir()
    (canary / "keep.txt").write_text("keep\n")
    (project.root / f"{output.STAGING_PREFIX}out").symlink_to(canary)
    project.app("web", WEB.replace("nginx:1.27.3", "nginx:1.27.6"))
    code, _, err = run("build")
    assert code == 0, err
    assert (canary / "keep.txt").read_text() == "keep\n"
    assert not _leftovers(project.root)


@pytest.mark.parametrize("garbage", [b"\xff\xfe\x00", b"", b"x" * 200, None])
def test_a_garbage_fingerprint_renders_again(project: ProjectDir, run, garbage) -> None:
    """.klaster-cache/fingerprint that is not what a build wrote (bytes, empty, a folder):
    the build renders again and records a good one."""
    project.app("web", WEB)
    assert run("build")[0] == 0
    fingerprint = project.root / ".klaster-cache" / "fingerprint"
    fingerprint.unlink()
    if garbage is None:
        fingerprint.mkdir()
    else:
        fingerprint.write_bytes(garbage)
    project.app("web", WEB.replace("nginx:1.27.3", "nginx:1.27.4"))
    code, _, err = run("build")
    assert code == 0, err
    assert "nginx:1.27.4" in project.file("out/apps/web/deployment.yaml")
    assert sorted(p.name for p in fingerprint.parent.iterdir()) == ["build.lock", "fingerprint"]


@pytest.mark.parametrize(
    ("make", "where", "what"),
    [
        ("folder", "out/apps/web/deployment.yaml", "is a folder, where klaster writes a file"),
        ("file", "out/apps/web", "is a file, where klaster needs a folder for its files"),
        (
            "symlink",
            "out/apps/web",
            "is a symlink, where klaster needs a folder of its own for its files",
        ),
        ("folder", "out/.klaster-manifest.json", "is a folder, where klaster writes a file"),
    ],
)
def test_something_in_the_way_of_a_generated_file_is_a_located_error(
    project: ProjectDir, run, no_color, make: str, where: str, what: str
) -> None:
    """A folder where out/ needs a file (or a file or symlink where it needs a folder): exit 2,
    the path and what to do, nothing written."""
    project.app("web", WEB)
    assert run("build")[0] == 0
    target = project.root / where
    if make == "folder":
        target.unlink()
        target.mkdir()
        (target / "mine.txt").write_text("mine\n")
    else:
        for child in target.iterdir():
            child.unlink()
        target.rmdir()
        if make == "file":
            target.write_text("mine\n")
        else:  # inside out/, so allowed; staged writes would go through it into the live tree
            (project.out / "elsewhere").mkdir()
            target.symlink_to(project.out / "elsewhere")
    project.app("web", WEB.replace("nginx:1.27.3", "nginx:1.27.4"))
    before = project.snapshot()
    code, out, err = run("build")
    assert code == 2, err
    assert f"{where}:0: error: {what}; move it away (or delete it) and build again" in err
    assert err.count(where + ":") == 1
    assert "Traceback" not in out + err
    assert project.snapshot() == before
    assert not _leftovers(project.root)


def test_a_read_only_leftover_is_made_writable_and_removed(tmp_path: Path, monkeypatch) -> None:
    """A staging tree with read-only folders (one rmtree refused): its folders are made
    writable and it goes; a symlink inside loses only the link."""
    canary = tmp_path / "canary.txt"
    canary.write_text("keep\n")
    leftover = tmp_path / f"{output.STAGING_PREFIX}out"
    (leftover / "apps" / "web").mkdir(parents=True)
    (leftover / "apps" / "web" / "x.yaml").write_text("x\n")
    (leftover / "apps" / "link").symlink_to(canary)
    for folder in (leftover / "apps" / "web", leftover / "apps"):
        folder.chmod(0o555)
    real_rmtree = output.shutil.rmtree
    calls = []

    def refused_once(path: Path) -> None:
        calls.append(path)
        if len(calls) == 1:
            raise PermissionError(13, "Permission denied", str(path))
        real_rmtree(path)

    monkeypatch.setattr(output.shutil, "rmtree", refused_once)
    assert output.cleanup_leftovers(tmp_path / "out") == [leftover]
    assert not leftover.exists() and len(calls) == 2
    assert canary.read_text() == "keep\n"


def test_a_failed_second_rename_of_the_fallback_swap_puts_out_back(
    project: ProjectDir, run, monkeypatch
) -> None:
    """Without renameat2, the staged tree cannot be renamed to out/: out/ is renamed back, and
    the message that it was left as it was is true."""
    project.app("web", WEB)
    assert run("build")[0] == 0
    before = project.snapshot()
    project.app("web", WEB.replace("nginx:1.27.3", "nginx:1.27.4"))
    monkeypatch.setattr(output, "_exchange", lambda a, b: False)
    real_rename = Path.rename

    def failing_rename(self: Path, target: Path) -> Path:
        if self.name.startswith(output.STAGING_PREFIX):
            raise OSError(5, "Input/output error")
        return real_rename(self, target)

    monkeypatch.setattr(Path, "rename", failing_rename)
    code, _, err = run("build")
    monkeypatch.undo()
    assert code == 3 and "out/ was left as it was" in err
    assert project.snapshot() == before
    assert run("build")[0] == 0
    assert not _leftovers(project.root)
