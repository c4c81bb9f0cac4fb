"""Shared fixtures: a throw-away project directory with a klasterfile and apps.d files."""

from __future__ import annotations

import os
import textwrap
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

settings.register_profile("dev", max_examples=50, deadline=None)
settings.register_profile(
    "ci", max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.register_profile("fast", max_examples=10, deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci" if os.environ.get("CI") else "dev"))

REPO = Path(__file__).resolve().parent.parent
# Messages name plain `klaster` in tests, whichever shell ran them (./dev sets this for users).
os.environ.pop("KLASTER_COMMAND", None)

KLASTERFILE = """\
from klaster_build.dsl import Cluster, Intervals, Node, StorageTier, VaultSettings

Cluster(
    name="test",
    domain="example.org",
    nodes=[Node(name="node1")],
    storage={
        "hdd": StorageTier(volume_group="vg-hdd", storage_class="hdd-lvmpv"),
        "ssd": StorageTier(volume_group="vg-ssd", storage_class="ssd-lvmpv"),
    },
    ingress_class="nginx",
    cluster_issuer="letsencrypt",
    vault=VaultSettings(kv_mount="secret", auth_mount="kubernetes"),
    authentik_url="https://auth.example.org",
    authentik_outpost="http://authentik-server.authentik.svc.cluster.local",
    intervals=Intervals(helm_repository="24h", helm_release="30m", git_repository="24h"),
)
"""


class ProjectDir:
    """A temporary klaster project: write apps, snapshot out/."""

    def __init__(self, root: Path) -> None:
        self.root = root
        (root / "apps.d").mkdir(parents=True, exist_ok=True)
        (root / "klasterfile.py").write_text(KLASTERFILE)

    def app(self, name: str, source: str) -> Path:
        """Write apps.d/<name>.py (dedented)."""
        path = self.root / "apps.d" / f"{name}.py"
        path.write_text(textwrap.dedent(source))
        return path

    @property
    def out(self) -> Path:
        """The output directory."""
        return self.root / "out"

    def snapshot(self) -> dict[str, bytes]:
        """Every file under the project except inputs, by relative path."""
        if not self.out.exists():
            return {}
        return {
            p.relative_to(self.root).as_posix(): p.read_bytes()
            for p in sorted(self.root.rglob("*"))
            if p.is_file() and "out" in p.relative_to(self.root).parts[:1]
        }

    def file(self, relative: str) -> str:
        """Text of a generated file."""
        return (self.root / relative).read_text()


@pytest.fixture(scope="module")
def scratch(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One directory per test module, reused by every hypothesis example (which cannot take
    function-scoped fixtures)."""
    return tmp_path_factory.mktemp("scratch")


@pytest.fixture
def project(tmp_path: Path) -> ProjectDir:
    """An empty project with the test klasterfile."""
    return ProjectDir(tmp_path / "proj")


@pytest.fixture
def run(
    project: ProjectDir, capsys: pytest.CaptureFixture[str]
) -> Callable[..., tuple[int, str, str]]:
    """Run the CLI in-process on the project: returns (exit code, stdout, stderr)."""
    from klaster_build.cli import main

    def invoke(*args: str) -> tuple[int, str, str]:
        capsys.readouterr()
        code = main(["-C", str(project.root), *args])
        captured = capsys.readouterr()
        return code, captured.out, captured.err

    return invoke


@pytest.fixture
def no_color(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Plain output for exact message assertions."""
    monkeypatch.setenv("NO_COLOR", "1")
    yield


def one_located_error(
    project: ProjectDir, run: Callable[..., tuple[int, str, str]], source: str
) -> str:
    """Build apps.d/x.py holding `source`: it must fail with exit 2, no traceback and nothing
    written. Returns what the build printed on stderr."""
    project.app("x", source)
    code, out, err = run("build")
    assert code == 2, err
    assert "Traceback" not in err + out
    assert not project.out.exists()
    return err


def klaster_subprocess(
    *args: str, cwd: Path, env: dict[str, str] | None = None, timeout: float = 120
):
    """Run `python -m klaster_build ARGS` in a fresh process using this checkout's code."""
    import subprocess
    import sys

    environment = {**os.environ, "PYTHONPATH": str(REPO), "NO_COLOR": "1", **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "klaster_build", *args],
        cwd=cwd,
        env=environment,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
