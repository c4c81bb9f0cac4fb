"""Pinned versions and the generated Renovate config, proven with Renovate itself."""

from __future__ import annotations

import glob
import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from conftest import REPO, ProjectDir

from klaster_build.versions import Renovate, pin_problem, split_image

TOOLS = REPO.parent / "shared" / "tools" / ".npm"


def _node_and_renovate() -> tuple[str, Path] | None:
    nodes = glob.glob(
        str(
            TOOLS
            / "node"
            / "node_modules"
            / "node"
            / "node_modules"
            / "node-linux-*"
            / "bin"
            / "node"
        )
    )
    nodes += glob.glob(str(TOOLS / "node" / "node_modules" / "node" / "bin" / "node"))
    dist = TOOLS / "renovate" / "node_modules" / "renovate" / "dist"
    if nodes and (dist / "renovate.js").exists():
        return nodes[0], dist
    return None


RENOVATE = _node_and_renovate()
needs_renovate = pytest.mark.skipif(
    RENOVATE is None,
    reason="Renovate (npm) is not installed: run ../shared/tools/validate-tree --install (tests/install-tools does)",
)


@pytest.mark.parametrize(
    "tag",
    [
        "latest",
        "stable",
        "current",
        "main",
        "master",
        "1",
        "1.2",
        "v1",
        "v1.2",
        "3.23-alpine",
        "vulkan",
        "",
    ],
)
def test_floating_and_sliding_tags_are_refused(tag: str) -> None:
    """Every forbidden form gets a message that says what to write instead."""
    problem = pin_problem(tag, "image 'nginx'", "nginx:1.2.3")
    assert problem is not None
    assert problem.record == "image 'nginx'"
    assert problem.instead.startswith(
        "pin a full version such as 'nginx:1.2.3', or a digest as the last resort"
    )


@pytest.mark.parametrize(
    "tag", ["1.27.3", "v2.29.3", "2026.5.0", "v197-vulkan-b8202", "0.7.4", "1.2.3-alpine"]
)
def test_full_versions_pin(tag: str) -> None:
    """Full versions (and build-numbered schemes) are accepted."""
    assert pin_problem(tag, "x", "1.2.3") is None


def test_digest_is_the_last_resort_and_declared_schemes_are_complete() -> None:
    """A sha256 digest pins whatever the tag; a declared versioning scheme accepts its tags."""
    name, tag, digest = split_image(
        "gitea.lumpiasty.xyz/lumpiasty/supervisord:latest@sha256:" + "a" * 64
    )
    assert (name, tag) == ("gitea.lumpiasty.xyz/lumpiasty/supervisord", "latest")
    assert pin_problem(tag or "", "x", "1.2.3", digest=digest) is None
    assert "not a sha256 digest" in str(pin_problem("latest", "x", "1.2.3", digest="sha256:abc"))
    assert (
        pin_problem(
            "17.4", "x", "1.2.3", Renovate(versioning="regex:^(?<major>\\d+)\\.(?<minor>\\d+)$")
        )
        is None
    )
    assert split_image("registry.local:5000/app") == ("registry.local:5000/app", None, None)


def test_floating_image_is_an_error_at_its_line(project: ProjectDir, run, no_color) -> None:
    """`latest` fails the build at the declaring line."""
    project.app(
        "a",
        "from klaster_build.dsl import Container, Deployment\n\nDeployment('d', containers=[Container('d', image='unclecode/crawl4ai:latest')])\n",
    )
    code, _, err = run("build")
    assert code == 2
    assert err.startswith(
        "apps.d/a.py:3: error: Deployment 'd' container 'd' image 'unclecode/crawl4ai' 'latest' is a floating tag that never changes name; "
        "pin a full version such as 'unclecode/crawl4ai:1.2.3', or a digest as the last resort"
    )


def test_chart_and_git_tag_pins(project: ProjectDir, run, no_color) -> None:
    """Chart versions and git tags follow the same rule."""
    project.app(
        "a",
        """\
        from klaster_build.dsl import GitRepository, HelmRelease, HelmRepository

        repo = HelmRepository("r", url="https://example.org/charts")
        HelmRelease("h", source=repo, chart="h", version="1.2")
        GitRepository("g", url="https://example.org/g.git", tag="main")
        """,
    )
    code, _, err = run("build")
    assert code == 2
    assert (
        "apps.d/a.py:4: error: HelmRelease 'h' chart version '1.2' slides to newer releases" in err
    )
    assert "apps.d/a.py:5: error: GitRepository 'g' tag 'main' is a floating tag" in err


def test_two_part_tag_message_names_renovate_versioning(project: ProjectDir, run, no_color) -> None:
    """A two-part tag may be complete in its project's scheme: the error says how to declare it,
    and the `Renovate(versioning=...)` it suggests, pasted as written, builds."""
    app = """\
        from klaster_build.dsl import Container, Deployment, Renovate

        Deployment("d", containers=[Container("d", image="ghcr.io/x/y:v24.11-alpine"{extra})])
        """
    project.app("a", app.format(extra=""))
    code, _, err = run("build")
    assert code == 2
    scheme = "regex:^v(?<major>\\d+)\\.(?<minor>\\d+)-alpine$"
    assert (
        "apps.d/a.py:3: error: Deployment 'd' container 'd' image 'ghcr.io/x/y' 'v24.11-alpine' "
        "slides to newer releases; pin a full version such as 'ghcr.io/x/y:1.2.3', or a digest as the "
        "last resort; if the project releases two-part versions and 'v24.11-alpine' is a complete "
        f"one, say so with renovate=Renovate(versioning={scheme!r})"
    ) in err
    project.app("a", app.format(extra=f", renovate=Renovate(versioning={scheme!r})"))
    code, _, err = run("build")
    assert code == 0, err
    renovate = json.loads((project.root / "renovate.json").read_text())
    assert {"matchPackageNames": ["ghcr.io/x/y"], "versioning": scheme} in [
        {k: rule.get(k) for k in ("matchPackageNames", "versioning")}
        for rule in renovate["packageRules"]
    ]


FIXTURE = {
    "web": """\
from klaster_build.dsl import Container, Deployment, Renovate

Deployment("web", containers=[Container("web", image="ghcr.io/mostlygeek/llama-swap:v197-vulkan-b8202",
    renovate=Renovate(versioning="regex:^v(?<major>[0-9]+)-vulkan-b(?<patch>[0-9]+)$", automerge=True))])
Deployment("side", containers=[Container("side", image="nginx:1.27.3")])
""",
    "charts": """\
from klaster_build.dsl import GitRepository, HelmRelease, HelmRepository

repo = HelmRepository("secustor", url="https://secustor.dev/helm-charts")
HelmRelease("immich", source=repo, chart="immich", version="1.2.6")
git = GitRepository("kaneo", url="https://github.com/usekaneo/kaneo.git", tag="v2.29.3")
HelmRelease("kaneo", source=git, chart="./charts/kaneo")
""",
}


def test_generated_config_shape(project: ProjectDir, run) -> None:
    """renovate.json at the root: regex managers over apps.d, out/ ignored, rules from apps.d."""
    for name, source in FIXTURE.items():
        project.app(name, source)
    assert run("build")[0] == 0
    config = json.loads((project.root / "renovate.json").read_text())
    assert config["ignorePaths"] == ["out/**"]
    assert config["enabledManagers"] == ["custom.regex", "kubernetes", "woodpecker"]
    assert config["kubernetes"] == {"managerFilePatterns": ["/^apps\\.d/.+\\.ya?ml$/"]}
    helm = [m for m in config["customManagers"] if m["datasourceTemplate"] == "helm"]
    assert helm == [
        {
            "customType": "regex",
            "description": "chart immich from https://secustor.dev/helm-charts",
            "managerFilePatterns": ["/^apps\\.d/charts\\.py$/"],
            "matchStrings": [
                'chart\\s*=\\s*"immich"[^)]*?version\\s*=\\s*"(?<currentValue>[^"]+)"',
                'version\\s*=\\s*"(?<currentValue>[^"]+)"[^)]*?chart\\s*=\\s*"immich"',
            ],
            "datasourceTemplate": "helm",
            "depNameTemplate": "immich",
            "registryUrlTemplate": "https://secustor.dev/helm-charts",
        }
    ]
    rules = config["packageRules"]
    assert rules[0]["matchUpdateTypes"] == ["patch"] and rules[0]["automerge"] is True
    assert rules[1]["matchPackageNames"] == ["ghcr.io/mostlygeek/llama-swap"]
    assert rules[1]["versioning"] == "regex:^v(?<major>[0-9]+)-vulkan-b(?<patch>[0-9]+)$"
    assert config["postUpgradeTasks"]["commands"] == ["./dev build"]


def _extract(root: Path, work: Path) -> dict[str, list[dict]]:
    """Run Renovate's own extraction (local platform, dry run) over a git copy of `root`."""
    assert RENOVATE is not None
    node, dist = RENOVATE
    repo = work / "repo"
    shutil.copytree(
        root,
        repo,
        ignore=shutil.ignore_patterns(
            ".venv", ".git", "__pycache__", ".klaster-cache", ".hypothesis", "bench"
        ),
    )
    git = ["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@localhost"]
    subprocess.run([*git[:3], "init", "-q", "-b", "main"], check=True)
    subprocess.run([*git[:3], "add", "-A"], check=True)
    subprocess.run([*git, "commit", "-q", "-m", "snapshot"], check=True)
    report = work / "report.json"
    env = {
        **os.environ,
        "LOG_LEVEL": "warn",
        "LOG_FORMAT": "json",
        "RENOVATE_BASE_DIR": str(work / "base"),
    }
    result = subprocess.run(
        [
            node,
            str(dist / "renovate.js"),
            "--platform=local",
            "--dry-run=extract",
            "--report-type=file",
            f"--report-path={report}",
        ],
        cwd=repo,
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    data = json.loads(report.read_text())
    found: dict[str, list[dict]] = {}
    for repository in data["repositories"].values():
        for package_files in (repository.get("packageFiles") or {}).values():
            for package_file in package_files:
                found.setdefault(package_file["packageFile"], []).extend(package_file["deps"])
    return found


@needs_renovate
def test_renovate_extracts_every_version_of_a_fixture(
    project: ProjectDir, run, tmp_path: Path
) -> None:
    """Renovate's extractor finds each image, chart and git tag in apps.d, and nothing in out/."""
    for name, source in FIXTURE.items():
        project.app(name, source)
    assert run("build")[0] == 0
    found = _extract(project.root, tmp_path)
    assert not [f for f in found if f.startswith("out/")]
    deps = {
        (d["datasource"], d["depName"], d["currentValue"]) for deps in found.values() for d in deps
    }
    assert deps == {
        ("docker", "ghcr.io/mostlygeek/llama-swap", "v197-vulkan-b8202"),
        ("docker", "nginx", "1.27.3"),
        ("helm", "immich", "1.2.6"),
        ("git-tags", "https://github.com/usekaneo/kaneo.git", "v2.29.3"),
    }


@needs_renovate
def test_renovate_validator_accepts_the_generated_config(project: ProjectDir, run) -> None:
    """renovate-config-validator --strict accepts renovate.json."""
    assert RENOVATE is not None
    node, dist = RENOVATE
    for name, source in FIXTURE.items():
        project.app(name, source)
    assert run("build")[0] == 0
    result = subprocess.run(
        [
            node,
            str(dist / "config-validator.js"),
            "--strict",
            "--no-global",
            str(project.root / "renovate.json"),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-2000:]


@needs_renovate
def test_renovate_extracts_every_version_of_the_repo(tmp_path: Path) -> None:
    """On the repo's own apps.d, every version klaster knows is what Renovate extracts."""
    from klaster_build.emit.renovate import versions_of
    from klaster_build.engine import load

    project = load(REPO)
    expected = {
        (v.datasource, v.package, v.current) for r in project.records for v in versions_of(r)
    }
    found = _extract(REPO, tmp_path)
    assert not [f for f in found if f.startswith("out/")]
    extracted = {
        (d["datasource"], d["depName"], d.get("currentValue"))
        for deps in found.values()
        for d in deps
    }
    assert expected <= extracted, expected - extracted
    # Images in the raw YAML beside the apps (CoreDNS manifests under apps.d/) and in the CI
    # pipelines (.woodpecker/) are versions too: Renovate's kubernetes and woodpecker managers.
    raw = {
        ("docker", *split_image(match)[:2])
        for pattern in ("apps.d/**/*.yaml", "apps.d/**/*.yml", ".woodpecker/*.yaml")
        for path in REPO.glob(pattern)
        for match in re.findall(r"^\s*(?:-\s*)?image:\s*[\"']?([^\s\"'#]+)", path.read_text(), re.M)
    }
    assert any(package == "registry.k8s.io/coredns/coredns" for _, package, _ in raw)
    assert any(package == "python" for _, package, _ in raw)
    assert raw <= extracted, raw - extracted
