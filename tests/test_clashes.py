"""What the cluster would reject or get wrong is refused at the declaring line, with the fix:
namespaces the cluster owns, one router port forwarded twice, one address pinned twice, and
values the API server refuses."""

from __future__ import annotations

import pytest
from conftest import ProjectDir, one_located_error

SERVER = """\
from klaster_build.dsl import *
{app}
game = StatefulSet("game", containers=[Container("game", image="example/game:1.2.3",
                   ports=[Port("voice", 9987, "UDP")])])
LoadBalancer("game", workload=game, ports=[Port("voice", 9987, "UDP", public=True)]{extra})
"""


@pytest.mark.parametrize("namespace", ["kube-system", "default", "flux-system", "kube-public"])
def test_an_app_in_a_namespace_the_cluster_owns(
    project: ProjectDir, run, no_color, namespace: str
) -> None:
    err = one_located_error(
        project,
        run,
        f'from klaster_build.dsl import *\nApp(namespace="{namespace}")\nConfigMap("x", data={{"a": "b"}})\n',
    )
    assert (
        f"apps.d/x.py:2: error: app 'x' would live in namespace {namespace!r}, which Kubernetes or Flux owns"
        in err
    )
    assert 'App(namespace="x")' in err


def test_an_app_in_an_infra_controllers_namespace(project: ProjectDir, run, no_color) -> None:
    project.app(
        "infra",
        """\
        from klaster_build.dsl import App, InfraComponent
        App(infra=True)
        InfraComponent("cert-manager", namespace="cert-manager", url="https://charts.jetstack.io",
                       chart="cert-manager", version="1.17.2", provides=["cert-manager.io", "acme.cert-manager.io"])
        """,
    )
    err = one_located_error(
        project,
        run,
        'from klaster_build.dsl import *\nApp(namespace="cert-manager")\nConfigMap("x", data={"a": "b"})\n',
    )
    assert (
        "would live in namespace 'cert-manager', which the infra controller 'cert-manager'" in err
    )


def test_one_router_port_forwarded_twice(project: ProjectDir, run, no_color) -> None:
    project.app("game", SERVER.format(app="", extra=""))
    project.app("other", SERVER.format(app="", extra=""))
    code, _, err = run("build")
    assert code == 2
    assert "LoadBalancer 'game' forwards public UDP port 9987, which apps.d/game.py:5" in err
    assert "forward_ipv4=False" in err


def test_one_address_pinned_twice(project: ProjectDir, run, no_color) -> None:
    pinned = ', annotations={"lbipam.cilium.io/ips": "10.44.0.9"}'
    project.app("game", SERVER.format(app="", extra=pinned))
    project.app(
        "web",
        """\
        from klaster_build.dsl import *
        web = Deployment("web", containers=[Container("web", image="example/web:1.0.0", ports={"tcp": 7000})])
        LoadBalancer("web", workload=web, ports={"tcp": 7000}, annotations={"lbipam.cilium.io/ips": "10.44.0.9"})
        """,
    )
    code, _, err = run("build")
    assert code == 2
    assert "asks for address 10.44.0.9, which LoadBalancer 'game'" in err
    assert "without one lbipam.cilium.io/sharing-key annotation on both" in err
    # Shared as Cilium allows it (one key, each namespace allowing the other, distinct ports).
    shared = (
        ', annotations={"lbipam.cilium.io/ips": "10.44.0.9", "lbipam.cilium.io/sharing-key": "k", '
        '"lbipam.cilium.io/sharing-cross-namespace": "*"}'
    )
    project.app("game", SERVER.format(app="", extra=shared))
    project.app(
        "web",
        """\
        from klaster_build.dsl import *
        web = Deployment("web", containers=[Container("web", image="example/web:1.0.0", ports={"tcp": 7000})])
        LoadBalancer("web", workload=web, ports={"tcp": 7000}, annotations={"lbipam.cilium.io/ips": "10.44.0.9",
                     "lbipam.cilium.io/sharing-key": "k", "lbipam.cilium.io/sharing-cross-namespace": "*"})
        """,
    )
    code, _, err = run("build")
    assert code == 0, err


@pytest.mark.parametrize(
    ("source", "message"),
    [
        (
            'ConfigMap("c", data={"a": None})',
            "ConfigMap data 'a' must be text (a string or a reference), got NoneType None",
        ),
        (
            'ConfigMap("c", data={"a": {"b": 1}})',
            "ConfigMap data 'a' must be text (a string or a reference), got dict",
        ),
        ('ConfigMap("c", data={"a": 3})', "write it as text"),
        (
            'ConfigMap("c", data={"a b": "x"})',
            "ConfigMap data key 'a b' is not a ConfigMap/Secret key",
        ),
        ('ConfigMap("c", data={"..": "x"})', "must not be '.' or '..'"),
        (
            'Container("c", image="nginx:1.27.3", resources={"requests": {"memory": "2Gi"}, "limits": {"memory": "1Gi"}})',
            "Container 'resources' requests memory '2Gi' above its limit '1Gi': the API server refuses it",
        ),
        (
            'Container("c", image="nginx:1.27.3", resources={"limits": {"cpu": "lots"}})',
            "Container 'resources' limits 'cpu': 'lots' is not a Kubernetes quantity",
        ),
        (
            'Container("c", image="ghcr.io/Example/App:1.2.3")',
            "the repository 'Example/App' must be lower-case letters, digits and separators (registries refuse others); write 'ghcr.io/example/app:1.2.3'",
        ),
        (
            'VaultSecret("s", path="p", keys=["a"], templates={"bad key": "x"})',
            "VaultSecret key 'bad key' must be a secret key name",
        ),
    ],
)
def test_values_the_api_server_refuses(
    project: ProjectDir, run, no_color, source: str, message: str
) -> None:
    err = one_located_error(project, run, f"from klaster_build.dsl import *\n{source}\n")
    assert "apps.d/x.py:2: error: " in err
    assert message in err


def test_valid_values_build(project: ProjectDir, run, no_color) -> None:
    """CPU in millicores, request equal to limit, a registry host with a port, a digest."""
    project.app(
        "x",
        """\
        from klaster_build.dsl import *
        ConfigMap("c", data={"config.yaml": "a: 1\\n", "url": cluster.domain})
        Deployment("d", containers=[Container("c", image="registry.example.org:5000/team/app_x@sha256:" + "a" * 64,
                   resources={"requests": {"cpu": "250m", "memory": "1Gi"}, "limits": {"cpu": "1", "memory": "1Gi"}})])
        """,
    )
    code, _, err = run("build")
    assert code == 0, err
