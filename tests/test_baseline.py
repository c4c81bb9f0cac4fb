"""Each build is judged as a change from the tree the cluster runs: out/ as committed at git HEAD
(out/ on disk where there is no commit of it). Tests over a real git repository: build, commit,
change apps.d, build."""

from __future__ import annotations

import shutil
import subprocess

from conftest import ProjectDir

VOLUME_APP = """\
from klaster_build.dsl import Container, Deployment, Volume
data = Volume("data", size="5Gi")
Deployment("{name}", containers=[Container("{name}", image="nginx:1.27.3",
           mounts={{"/data": data.claim}})])
"""


def _git(project: ProjectDir, *args: str) -> None:
    subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@example.org", *args],
        cwd=project.root,
        check=True,
        capture_output=True,
    )


def _commit(project: ProjectDir) -> None:
    _git(project, "add", "-A")
    _git(project, "commit", "-qm", "build")


def _repo(project: ProjectDir, run, *apps: str) -> None:
    """A git repository whose HEAD has out/ built from `apps` (each with a volume)."""
    for app in apps:
        project.app(app, VOLUME_APP.format(name=app))
    assert run("build")[0] == 0
    _git(project, "init", "-q")
    _commit(project)


def test_a_volume_never_committed_was_never_applied(project: ProjectDir, run, no_color) -> None:
    """`klaster new`, build, then delete the app: its LV never reached HEAD, so no Flux ever
    applied it, and no RetiredVolume is demanded."""
    _repo(project, run, "web")
    project.app("scratch", VOLUME_APP.format(name="scratch"))
    assert run("build")[0] == 0
    assert (project.out / "apps/scratch/data-volume.yaml").exists()
    (project.root / "apps.d/scratch.py").unlink()
    code, _, err = run("build")
    assert code == 0, err
    assert not (project.out / "apps/scratch").exists()


def test_a_committed_volume_is_refused_with_the_commit_named(
    project: ProjectDir, run, no_color
) -> None:
    _repo(project, run, "web", "blog")
    (project.root / "apps.d/blog.py").unlink()
    code, _, err = run("build")
    assert code == 2
    assert (
        "apps.d/blog.py:1: error: LV vg-hdd/blog-data-lvmhdd (5Gi) is in "
        "out/apps/blog/data-volume.yaml (out/ as committed at git HEAD) but apps.d no longer "
        "declares it." in err
    )
    assert (project.out / "apps/blog/data-volume.yaml").exists()


def test_a_deleted_out_does_not_lose_the_comparison(project: ProjectDir, run, no_color) -> None:
    """out/ removed from disk (or rebuilt elsewhere): HEAD still has the LV, so dropping it is
    still refused."""
    _repo(project, run, "web", "blog")
    shutil.rmtree(project.out)
    (project.root / "apps.d/blog.py").unlink()
    code, _, err = run("build")
    assert code == 2
    assert "LV vg-hdd/blog-data-lvmhdd (5Gi) is in out/apps/blog/data-volume.yaml" in err


def test_a_build_of_named_apps_cannot_drop_another_app(project: ProjectDir, run, no_color) -> None:
    """`klaster build web` rewrites the apps list; with blog's file gone that list drops blog
    (Flux prunes it) even though out/apps/blog/ stays on disk: refused like a full build."""
    _repo(project, run, "web", "blog")
    (project.root / "apps.d/blog.py").unlink()
    before = (project.out / "apps/kustomization.yaml").read_bytes()
    code, _, err = run("build", "web")
    assert code == 2
    assert "LV vg-hdd/blog-data-lvmhdd (5Gi)" in err
    assert (project.out / "apps/kustomization.yaml").read_bytes() == before


def test_retiring_a_volume_still_declared_in_raw_yaml(project: ProjectDir, run, no_color) -> None:
    """A RetiredVolume for an LV a raw LVMVolume document still declares would send the
    operator to delete live data: refused at its line, naming the declaration."""
    project.app(
        "web",
        """\
        from klaster_build.dsl import Manifest, RetiredVolume
        Manifest(body={"apiVersion": "local.openebs.io/v1alpha1", "kind": "LVMVolume",
                       "metadata": {"name": "legacy-lv", "namespace": "openebs"},
                       "spec": {"capacity": "1Gi", "ownerNodeID": "node1", "volGroup": "vg-hdd"}})
        RetiredVolume("legacy-lv", reason="replaced")
        """,
    )
    code, _, err = run("build")
    assert code == 2
    assert (
        "apps.d/web.py:5: error: RetiredVolume 'legacy-lv' names an LV that apps.d/web.py:2 "
        "still declares" in err
    )


def test_a_retirement_naming_nothing_is_a_typo(project: ProjectDir, run, no_color) -> None:
    _repo(project, run, "web", "keep")
    (project.root / "apps.d/web.py").unlink()
    project.app(
        "retired",
        """\
        from klaster_build.dsl import RetiredApp, RetiredVolume
        RetiredVolume("web-data-lvmhd", reason="the web app is gone")
        RetiredApp("wbe", reason="gone")
        """,
    )
    code, _, err = run("build")
    assert code == 2
    assert (
        "apps.d/retired.py:2: error: RetiredVolume 'web-data-lvmhd' names no LV that out/ as "
        "committed at git HEAD has or that an earlier build retired (did you mean "
        "'web-data-lvmhdd' or 'keep-data-lvmhdd'?)" in err
    )
    assert "apps.d/retired.py:3: error: RetiredApp 'wbe' names no app" in err
    assert "(did you mean 'web'?)" in err


def test_a_retirement_stays_valid_after_its_commit(project: ProjectDir, run, no_color) -> None:
    """Retired and committed, the LV is no longer in out/; the declaration stays valid (the
    committed manifest lists its clean-up) until the user deletes it."""
    _repo(project, run, "web", "keep")
    (project.root / "apps.d/web.py").unlink()
    project.app(
        "retired",
        """\
        from klaster_build.dsl import RetiredVolume
        RetiredVolume("web-data-lvmhdd", reason="the web app is gone")
        """,
    )
    code, _, err = run("build")
    assert code == 0, err
    _commit(project)
    project.app(
        "other", 'from klaster_build.dsl import ConfigMap\nConfigMap("x", data={"a": "b"})\n'
    )
    code, _, err = run("build")
    assert code == 0, err
    code, out, _ = run("todo")
    assert "Back up LV web-data-lvmhdd" in out
