"""`cluster.<setting>` in apps.d: klasterfile settings as references, read when rendering."""

from __future__ import annotations

import json

import pytest
import yaml
from conftest import ProjectDir

from klaster_build.errors import DeclarationError
from klaster_build.refs import cluster

APP = """\
from klaster_build.dsl import ConfigMap, cluster

ConfigMap("urls", data={
    "domain": cluster.domain,
    "name": cluster.name,
    "sso": cluster.authentik_url,
    "photos": f"https://{cluster.host('photos')}/api",
})
"""


def _data(project: ProjectDir) -> dict[str, str]:
    (config,) = [d for d in yaml.safe_load_all(project.file("out/apps/web/configmap.yaml")) if d]
    return config["data"]


def test_settings_render_from_the_klasterfile_of_the_build(project: ProjectDir, run) -> None:
    """The values come from the klasterfile when rendering: editing it changes the output."""
    project.app("web", APP)
    assert run("build")[0] == 0
    assert _data(project) == {
        "domain": "example.org",
        "name": "test",
        "sso": "https://auth.example.org",
        "photos": "https://photos.example.org/api",
    }
    klasterfile = project.root / "klasterfile.py"
    klasterfile.write_text(
        klasterfile.read_text()
        .replace('domain="example.org"', 'domain="home.example.net"')
        .replace('name="test"', 'name="lab"')
    )
    assert run("build")[0] == 0
    assert _data(project)["photos"] == "https://photos.home.example.net/api"
    assert _data(project)["name"] == "lab"


def test_graph_shows_the_settings_a_record_reads(project: ProjectDir, run, no_color) -> None:
    """graph --format json and the tree name the klasterfile settings on the reading node."""
    project.app("web", APP)
    code, out, _ = run("graph", "--format", "json")
    assert code == 0
    nodes = {n["address"]: n for n in json.loads(out)["nodes"]}
    assert nodes["web/ConfigMap/urls"]["settings"] == [
        "authentik_url",
        "domain",
        "host('photos')",
        "name",
    ]
    assert nodes["web/ConfigMap/urls"]["problems"] == []
    code, out, _ = run("graph", "web")
    assert "(klasterfile: authentik_url, domain, host('photos'), name)" in out


def test_unknown_setting_lists_what_apps_may_read(project: ProjectDir, run, no_color) -> None:
    """A typo is a located error naming every setting apps.d can use."""
    project.app("web", "from klaster_build.dsl import cluster\n\nurl = cluster.domian\n")
    code, _, err = run("build")
    assert code == 2
    assert err.splitlines()[0] == (
        "apps.d/web.py:3: error: cluster has no setting 'domian'; apps.d files can use "
        "cluster.domain, cluster.name, cluster.authentik_url, cluster.pod_cidrs, "
        "cluster.service_cidrs and cluster.host('subdomain')"
    )


def test_host_takes_one_dns_label_and_str_says_use_an_f_string() -> None:
    """cluster.host('a.b') is refused at once; str() of a setting has no text before rendering."""
    with pytest.raises(DeclarationError, match=r"cluster.host\('Photos'\): the subdomain must be"):
        cluster.host("Photos")
    with pytest.raises(DeclarationError, match="put it in an f-string"):
        str(cluster.domain)


def test_pod_and_service_cidrs_are_cluster_settings(project: ProjectDir, run, no_color) -> None:
    """`cluster.pod_cidrs` is a list in chart values and comma-separated in env and text; Talos'
    defaults unless the klasterfile says otherwise; a wrong CIDR is refused at its line."""
    project.app(
        "web",
        """\
        from klaster_build.dsl import Container, Deployment, HelmRelease, HelmRepository, cluster

        Deployment("web", containers=[Container("web", image="nginx:1.27.3", env={
            "TRUSTED_PROXIES": cluster.pod_cidrs, "NOTE": f"proxies {cluster.service_cidrs}"})])
        repo = HelmRepository("r", url="https://example.org/charts")
        HelmRelease("h", source=repo, chart="h", version="1.0.0",
                    values={"trustedProxies": cluster.pod_cidrs})
        """,
    )
    assert run("build")[0] == 0
    (deployment,) = [
        d for d in yaml.safe_load_all(project.file("out/apps/web/deployment.yaml")) if d
    ]
    assert deployment["spec"]["template"]["spec"]["containers"][0]["env"] == [
        {"name": "TRUSTED_PROXIES", "value": "10.244.0.0/16"},
        {"name": "NOTE", "value": "proxies 10.96.0.0/12"},
    ]
    klasterfile = project.root / "klasterfile.py"
    klasterfile.write_text(
        klasterfile.read_text().replace(
            'domain="example.org",',
            'domain="example.org", pod_cidrs=["10.42.0.0/16", "2001:db8:200::/64"],',
        )
    )
    assert run("build")[0] == 0
    (deployment,) = [
        d for d in yaml.safe_load_all(project.file("out/apps/web/deployment.yaml")) if d
    ]
    assert deployment["spec"]["template"]["spec"]["containers"][0]["env"][0] == {
        "name": "TRUSTED_PROXIES",
        "value": "10.42.0.0/16,2001:db8:200::/64",
    }
    (release,) = [
        d
        for d in yaml.safe_load_all(project.file("out/apps/web/release.yaml"))
        if d and d["kind"] == "HelmRelease"
    ]
    assert release["spec"]["values"]["trustedProxies"] == ["10.42.0.0/16", "2001:db8:200::/64"]
    klasterfile.write_text(klasterfile.read_text().replace('"2001:db8:200::/64"', '"10.42.0.1/64"'))
    code, _, err = run("build")
    assert code == 2
    assert "klasterfile.py:" in err
    assert "Cluster 'pod_cidrs' entry '10.42.0.1/64' is not a network in CIDR notation" in err


def test_cidrs_must_match_the_talos_patch(project: ProjectDir, run, no_color) -> None:
    """When the operator's Talos patch sets the cluster's networks, the klasterfile says the same
    (else apps would trust the wrong proxies): the error gives the line to write."""
    project.app("web", APP)
    (project.root / "talos").mkdir()
    (project.root / "talos" / "cp.patch").write_text(
        "cluster:\n  network:\n    podSubnets:\n      - 10.42.0.0/16\n"
        "    serviceSubnets:\n      - 10.96.0.0/12\n"
    )
    klasterfile = project.root / "klasterfile.py"
    klasterfile.write_text(
        klasterfile.read_text()
        .replace("VaultSettings\n", "TalosSettings, VaultSettings\n")
        .replace(
            'domain="example.org",',
            'domain="example.org", talos=TalosSettings(cluster_name="test", '
            'endpoint="https://kube.example.org:6443", base_patches=["talos/cp.patch"]),',
        )
    )
    code, _, err = run("build")
    assert code == 2
    assert (
        "error: Cluster pod_cidrs=['10.244.0.0/16'] differs from talos/cp.patch "
        "cluster.network.podSubnets ['10.42.0.0/16']; write pod_cidrs=['10.42.0.0/16']"
    ) in err
    assert "service_cidrs" not in err
    klasterfile.write_text(
        klasterfile.read_text().replace(
            'domain="example.org",', 'domain="example.org", pod_cidrs=["10.42.0.0/16"],'
        )
    )
    assert run("build")[0] == 0
