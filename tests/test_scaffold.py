"""`klaster new --template`: each template builds as it is on the repo's own klasterfile and
makes what it promises."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml
from conftest import REPO, ProjectDir

from klaster_build.cli import main
from klaster_build.loader import load_cluster
from klaster_build.scaffold import EXAMPLE_CHART, TEMPLATES


def _documents(app_dir: Path) -> dict[str, list[dict[str, Any]]]:
    """The app's generated documents by kind."""
    found: dict[str, list[dict[str, Any]]] = {}
    for path in sorted(app_dir.glob("*.yaml")):
        for document in yaml.safe_load_all(path.read_text()):
            if document:
                found.setdefault(document["kind"], []).append(document)
    return found


def _container(documents: dict[str, list[dict[str, Any]]]) -> dict[str, Any]:
    (deployment,) = documents["Deployment"]
    (container,) = deployment["spec"]["template"]["spec"]["containers"]
    return container  # type: ignore[no-any-return]


@pytest.fixture(scope="module")
def repo_copy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of this repository's project (klasterfile, Talos patches, apps.d) with one app of
    each template added and built once."""
    root = tmp_path_factory.mktemp("repo") / "project"
    root.mkdir()
    shutil.copy(REPO / "klasterfile.py", root)
    shutil.copytree(REPO / "talos", root / "talos")
    shutil.copytree(REPO / "apps.d", root / "apps.d")
    for template in TEMPLATES:
        assert main(["-C", str(root), "new", f"new-{template}", "--template", template]) == 0
    assert main(["-C", str(root), "build"]) == 0
    return root


def test_every_template_builds_and_checks_clean(repo_copy: Path, capsys) -> None:
    """All templates at once build beside the real apps without a warning; out/ is then current."""
    capsys.readouterr()
    assert main(["-C", str(repo_copy), "build", "--check"]) == 0
    assert "warning" not in capsys.readouterr().err
    assert all((repo_copy / "out" / "apps" / f"new-{t}").is_dir() for t in TEMPLATES)


def test_web_template_serves_https_from_a_volume(repo_copy: Path) -> None:
    """web: a Deployment that mounts its Volume's claim, a Service and an HTTPS Ingress."""
    domain = load_cluster(repo_copy).domain
    documents = _documents(repo_copy / "out" / "apps" / "new-web")
    (claim,) = documents["PersistentVolumeClaim"]
    mounts = _container(documents)["volumeMounts"]
    volumes = documents["Deployment"][0]["spec"]["template"]["spec"]["volumes"]
    assert {v["persistentVolumeClaim"]["claimName"] for v in volumes} == {claim["metadata"]["name"]}
    assert len(mounts) == 1
    (service,) = [s for s in documents["Service"] if s["spec"].get("type") != "ExternalName"]
    # Behind Authentik's forward auth: the app's Ingress asks the outpost, whose own path on
    # the host is a second Ingress.
    (ingress,) = [i for i in documents["Ingress"] if "annotations" in i["metadata"]]
    assert "nginx.ingress.kubernetes.io/auth-url" in ingress["metadata"]["annotations"]
    assert [i["metadata"]["name"] for i in documents["Ingress"] if i is not ingress] == [
        "outpost-new-web"
    ]
    rule = ingress["spec"]["rules"][0]
    assert rule["host"] == f"new-web.{domain}"
    backend = rule["http"]["paths"][0]["backend"]["service"]
    assert backend == {"name": service["metadata"]["name"], "port": {"number": 80}}
    assert ingress["spec"]["tls"][0]["hosts"] == [f"new-web.{domain}"]


def test_database_template_wires_postgres_by_reference(repo_copy: Path) -> None:
    """database: a CloudNativePG Cluster whose app Secret and service the container reads."""
    documents = _documents(repo_copy / "out" / "apps" / "new-database")
    (cluster,) = documents["Cluster"]
    assert cluster["apiVersion"].startswith("postgresql.cnpg.io/")
    name = cluster["metadata"]["name"]
    env = {e["name"]: e for e in _container(documents)["env"]}
    assert env["DATABASE_URL"]["valueFrom"]["secretKeyRef"] == {"name": f"{name}-app", "key": "uri"}
    assert env["DATABASE_HOST"]["value"].startswith(f"{name}-rw.new-database.svc")
    assert {"Ingress", "Service", "PersistentVolumeClaim"} <= set(documents)


def test_helm_template_installs_a_chart_with_ingress_values(repo_copy: Path) -> None:
    """helm: a HelmRepository and a pinned HelmRelease whose ingress values carry the host."""
    cluster = load_cluster(repo_copy)
    documents = _documents(repo_copy / "out" / "apps" / "new-helm")
    (repository,) = documents["HelmRepository"]
    (release,) = documents["HelmRelease"]
    assert repository["spec"]["url"] == EXAMPLE_CHART.url
    chart = release["spec"]["chart"]["spec"]
    assert (chart["chart"], chart["version"]) == (EXAMPLE_CHART.name, EXAMPLE_CHART.version)
    ingress = release["spec"]["values"]["ingress"]
    assert ingress["className"] == cluster.ingress_class
    assert ingress["hosts"][0]["host"] == f"new-helm.{cluster.domain}"
    assert ingress["tls"][0]["hosts"] == [f"new-helm.{cluster.domain}"]


def test_gpu_template_is_privileged_with_its_talos_exemption(repo_copy: Path) -> None:
    """gpu: a privileged container with /dev/dri from the host, and the namespace's exemption."""
    documents = _documents(repo_copy / "out" / "apps" / "new-gpu")
    container = _container(documents)
    assert container["securityContext"]["privileged"] is True
    volumes = documents["Deployment"][0]["spec"]["template"]["spec"]["volumes"]
    assert {"path": "/dev/dri", "type": "Directory"} in [v.get("hostPath") for v in volumes]
    patch = yaml.safe_load((repo_copy / "out" / "talos" / "patches" / "new-gpu.patch").read_text())
    exemptions = patch["cluster"]["apiServer"]["admissionControl"][0]["configuration"]
    assert exemptions["exemptions"]["namespaces"] == ["new-gpu"]


def test_templates_in_a_cluster_without_talos(project: ProjectDir, run, no_color) -> None:
    """The test klasterfile has no Talos settings: web, database and helm build; gpu says what
    the klasterfile lacks, at its line."""
    for template in ("web", "database", "helm"):
        assert run("new", template, "--template", template)[0] == 0
    code, _, err = run("build")
    assert code == 0, err
    assert run("new", "gpu", "--template", "gpu")[0] == 0
    code, _, err = run("build")
    assert code == 2
    assert "apps.d/gpu.py:" in err and "add talos=TalosSettings(...)" in err


def test_helm_option_names_the_chart(project: ProjectDir, run, no_color) -> None:
    """--helm URL CHART VERSION picks the helm template's chart; with another template it is refused."""
    assert run("new", "charted", "--helm", "https://charts.example.org", "charted", "1.2.3")[0] == 0
    text = project.file("apps.d/charted.py")
    assert 'url="https://charts.example.org"' in text and 'version="1.2.3"' in text
    code, _, err = run("new", "other", "--template", "web", "--helm", "https://x.org", "c", "1.0.0")
    assert code == 2
    assert (
        err == "klaster: --helm URL CHART VERSION goes with --template helm, not --template web\n"
    )
    assert not (project.root / "apps.d" / "other.py").exists()


@pytest.mark.parametrize("template", TEMPLATES)
def test_any_valid_app_name_builds(project: ProjectDir, run, no_color, template: str) -> None:
    """App names that are Python keywords, start with a digit or match a template's own
    variables still give a file that builds (on the repo's klasterfile, which gpu needs)."""
    shutil.copy(REPO / "klasterfile.py", project.root)
    shutil.copytree(REPO / "talos", project.root / "talos")
    for name in ("class", "1password", "data", "db", "repo", "app"):
        assert run("new", name, "--template", template)[0] == 0
    code, _, err = run("build")
    assert code == 0, err
