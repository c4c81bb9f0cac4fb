"""Core record families rendered against the real repo's shapes."""

from __future__ import annotations

import pytest
import yaml
from conftest import ProjectDir

from klaster_build.dsl import Container, Deployment, GitRepository, HelmRelease, HelmRepository
from klaster_build.errors import DeclarationError
from klaster_build.quantity import parse_quantity, same_quantity
from klaster_build.registry import session

KANEO = """\
from klaster_build.dsl import GitRepository, HelmRelease

git = GitRepository("kaneo", url="https://github.com/usekaneo/kaneo.git", tag="v2.29.3")
HelmRelease("kaneo", source=git, chart="./charts/kaneo", values={"postgresql": {"enabled": False}})
"""


def _docs(project: ProjectDir, path: str) -> list[dict]:
    return list(yaml.safe_load_all(project.file(path)))


def test_git_chart_release_matches_the_real_kaneo_shape(project: ProjectDir, run) -> None:
    """GitRepository keeps only the chart dir; HelmRelease points at it without a version."""
    project.app("kaneo", KANEO)
    assert run("build")[0] == 0
    git, release = _docs(project, "out/apps/kaneo/release.yaml")
    assert git == {
        "apiVersion": "source.toolkit.fluxcd.io/v1",
        "kind": "GitRepository",
        "metadata": {"name": "kaneo", "namespace": "kaneo"},
        "spec": {
            "interval": "24h",
            "url": "https://github.com/usekaneo/kaneo.git",
            "ref": {"tag": "v2.29.3"},
            "ignore": "# exclude all\n/*\n# include charts directory\n!/charts/\n",
        },
    }
    assert release == {
        "apiVersion": "helm.toolkit.fluxcd.io/v2",
        "kind": "HelmRelease",
        "metadata": {"name": "kaneo", "namespace": "kaneo"},
        "spec": {
            "interval": "30m",
            "chart": {
                "spec": {
                    "chart": "./charts/kaneo",
                    "sourceRef": {"kind": "GitRepository", "name": "kaneo"},
                }
            },
            "values": {"postgresql": {"enabled": False}},
        },
    }
    assert "  ignore: |\n    # exclude all\n    /*\n" in project.file("out/apps/kaneo/release.yaml")


def test_helm_repository_release_with_references_in_values(project: ProjectDir, run) -> None:
    """Values may hold records and f-strings with references; they render to names and hosts."""
    project.app(
        "immich",
        """\
        from klaster_build.dsl import ConfigMap, HelmRelease, HelmRepository

        repo = HelmRepository("secustor", url="https://secustor.dev/helm-charts")
        cfg = ConfigMap("settings", data={"a": "1"})
        HelmRelease("immich", source=repo, chart="immich", version="1.2.6",
                    values={"config": cfg, "url": f"cm://{cfg}/a", "list": [cfg]})
        """,
    )
    assert run("build")[0] == 0
    repo, release = _docs(project, "out/apps/immich/release.yaml")
    assert repo["spec"] == {"interval": "24h", "url": "https://secustor.dev/helm-charts"}
    assert release["spec"]["chart"]["spec"] == {
        "chart": "immich",
        "version": "1.2.6",
        "sourceRef": {"kind": "HelmRepository", "name": "secustor"},
    }
    assert release["spec"]["values"] == {
        "config": "settings",
        "url": "cm://settings/a",
        "list": ["settings"],
    }


def test_release_version_rules() -> None:
    """A HelmRepository chart needs a version; a GitRepository chart must not have one."""
    with session(app="x"):
        repo = HelmRepository("r", url="https://example.org/charts")
        git = GitRepository("g", url="https://example.org/g.git", tag="v1.0.0")
        with pytest.raises(DeclarationError, match="'version' is required"):
            HelmRelease("a", source=repo, chart="a")
        with pytest.raises(
            DeclarationError, match="must be left out for a chart from a GitRepository"
        ):
            HelmRelease("a", source=git, chart="./charts/a", version="1.0.0")
        with pytest.raises(DeclarationError, match="must be a HelmRepository"):
            HelmRelease("a", source="r", chart="a", version="1")


def test_manifest_escape_hatch_is_namespaced(project: ProjectDir, run) -> None:
    """A raw Manifest lands in the app namespace and in the file it names."""
    project.app(
        "gitea",
        """\
        from klaster_build.dsl import Manifest

        Manifest(body={"apiVersion": "k8up.io/v1", "kind": "Schedule", "metadata": {"name": "gitea-backup"},
                  "spec": {"backup": {"schedule": "@daily-random"}}}, file="backups.yaml")
        """,
    )
    assert run("build")[0] == 0
    (doc,) = _docs(project, "out/apps/gitea/backups.yaml")
    assert doc["metadata"] == {"name": "gitea-backup", "namespace": "gitea"}
    assert "backups.yaml" in project.file("out/apps/gitea/kustomization.yaml")


def test_config_files_go_through_a_config_map_generator(project: ProjectDir, run) -> None:
    """ConfigFiles ship verbatim under configs/ and appear in the kustomization's generator."""
    (project.root / "apps.d" / "llama").mkdir(parents=True)
    (project.root / "apps.d" / "llama" / "config.yaml").write_text("models: {}\n")
    project.app(
        "llama",
        """\
        from klaster_build.dsl import ConfigFiles, Container, Deployment, read

        cfg = ConfigFiles("llama-swap", files={"config.yaml": read("llama/config.yaml")})
        Deployment("llama-swap", containers=[Container("swap", image="ghcr.io/x/swap:v1.0.0",
                   mounts={"/config": cfg})])
        """,
    )
    assert run("build")[0] == 0
    assert project.file("out/apps/llama/configs/llama-swap/config.yaml") == "models: {}\n"
    kustomization = yaml.safe_load(project.file("out/apps/llama/kustomization.yaml"))
    assert kustomization["resources"] == ["namespace.yaml", "deployment.yaml"]
    assert kustomization["configMapGenerator"] == [
        {
            "name": "llama-swap",
            "namespace": "llama",
            "files": ["config.yaml=configs/llama-swap/config.yaml"],
        }
    ]
    (deployment,) = _docs(project, "out/apps/llama/deployment.yaml")
    pod = deployment["spec"]["template"]["spec"]
    assert pod["volumes"] == [{"name": "llama-swap", "configMap": {"name": "llama-swap"}}]
    assert pod["containers"][0]["volumeMounts"] == [{"name": "llama-swap", "mountPath": "/config"}]


def test_read_refuses_paths_outside_apps_d(project: ProjectDir, run, no_color) -> None:
    """read('../x') is a located error."""
    project.app("a", "from klaster_build.dsl import read\nread('../klasterfile.py')\n")
    code, _, err = run("build")
    assert code == 2
    assert err.startswith(
        "apps.d/a.py:2: error: read('../klasterfile.py') must name a file inside apps.d/"
    )


def test_shared_namespace_is_written_once(project: ProjectDir, run) -> None:
    """Two apps in one namespace: only the app named like the namespace writes namespace.yaml."""
    project.app("crawl4ai", "from klaster_build.dsl import ConfigMap\nConfigMap('a', data={})\n")
    project.app(
        "crawl4ai-proxy",
        "from klaster_build.dsl import App, ConfigMap\nApp(namespace='crawl4ai')\nConfigMap('b', data={})\n",
    )
    assert run("build")[0] == 0
    assert (project.out / "apps/crawl4ai/namespace.yaml").exists()
    assert not (project.out / "apps/crawl4ai-proxy/namespace.yaml").exists()
    (doc,) = _docs(project, "out/apps/crawl4ai-proxy/configmap.yaml")
    assert doc["metadata"]["namespace"] == "crawl4ai"


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("10Gi", 10 * 1024**3),
        ("10737418240", 10737418240),
        ("500M", 500 * 10**6),
        ("1.5Gi", 1.5 * 1024**3),
    ],
)
def test_quantities_parse_to_bytes(text: str, value: float) -> None:
    """Binary and decimal suffixes and plain byte counts parse to the same unit."""
    assert parse_quantity(text) == value


def test_quantity_equality_across_notations() -> None:
    """`10Gi` and its byte count are the same quantity; `10G` is not."""
    assert same_quantity("10Gi", "10737418240")
    assert not same_quantity("10Gi", "10G")


@pytest.mark.parametrize(
    ("text", "hint"),
    [
        ("10GB", "for 10GB write 10Gi"),
        ("-1Gi", "not a Kubernetes quantity"),
        ("0", "larger than zero"),
    ],
)
def test_quantity_typos_say_what_to_write(text: str, hint: str) -> None:
    """Typos name the fix."""
    with pytest.raises(ValueError, match=hint):
        parse_quantity(text)


def test_deployment_defaults_and_validation() -> None:
    """Container names must be unique and a workload needs a container."""
    with session(app="x"):
        with pytest.raises(DeclarationError, match="needs at least one Container"):
            Deployment("d", containers=[])
        c = Container("c", image="nginx:1.27.3")
        with pytest.raises(DeclarationError, match="container names must be unique"):
            Deployment("d", containers=[c, c])
        with pytest.raises(DeclarationError, match="must be a port number 1-65535"):
            Container("c", image="nginx:1.27.3", ports={"http": 70000})
