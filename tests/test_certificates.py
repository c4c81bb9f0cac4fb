"""cert-manager Certificates: the document, the hosts' rule, and the Secret mounted as files."""

from __future__ import annotations

import yaml
from conftest import ProjectDir


def _docs(project: ProjectDir, relative: str) -> list[dict]:
    return [d for d in yaml.safe_load_all(project.file(relative)) if d]


def test_certificate_from_the_cluster_issuer_mounted_as_files(project: ProjectDir, run) -> None:
    """Labels become names under the domain, the issuer is the klasterfile's cluster_issuer, and
    the Secret mounts with picked keys; chart values get its name through `cert.secret`."""
    project.app(
        "broker",
        """\
        from klaster_build.dsl import Certificate, Container, Deployment, HelmRelease, HelmRepository, Mount

        tls = Certificate("mqtt", hosts=["mqtt", "broker.example.org"])
        Deployment("broker", containers=[Container("mosquitto", image="eclipse-mosquitto:2.0.22",
            mounts={"/certs": Mount(tls, items={"tls.crt": "server.crt", "tls.key": "server.key"})})])
        repo = HelmRepository("r", url="https://example.org/charts")
        HelmRelease("h", source=repo, chart="h", version="1.0.0", values={"tls": {"secretName": tls.secret}})
        """,
    )
    code, _, err = run("build")
    assert code == 0, err
    assert _docs(project, "out/apps/broker/certificate.yaml") == [
        {
            "apiVersion": "cert-manager.io/v1",
            "kind": "Certificate",
            "metadata": {"name": "mqtt", "namespace": "broker"},
            "spec": {
                "secretName": "mqtt-tls",
                "dnsNames": ["mqtt.example.org", "broker.example.org"],
                "issuerRef": {
                    "group": "cert-manager.io",
                    "kind": "ClusterIssuer",
                    "name": "letsencrypt",
                },
            },
        }
    ]
    (deployment,) = _docs(project, "out/apps/broker/deployment.yaml")
    assert deployment["spec"]["template"]["spec"]["volumes"] == [
        {
            "name": "mqtt",
            "secret": {
                "secretName": "mqtt-tls",
                "items": [
                    {"key": "tls.crt", "path": "server.crt"},
                    {"key": "tls.key", "path": "server.key"},
                ],
            },
        }
    ]
    assert "certificate.yaml" in project.file("out/apps/broker/kustomization.yaml")
    assert "secretName: mqtt-tls" in project.file("out/apps/broker/release.yaml")


def test_certificate_mistakes_are_located(project: ProjectDir, run, no_color) -> None:
    """A host outside the domain without a reason, an unknown key and no host at all are errors
    at their lines that say what to write."""
    project.app(
        "a",
        """\
        from klaster_build.dsl import Certificate, Container, Deployment, Mount

        tls = Certificate("mqtt", hosts=["mqtt.other.net"])
        Deployment("d", containers=[Container("d", image="nginx:1.27.3",
            mounts={"/certs": Mount(tls, items={"cert.pem": "c"})})])
        """,
    )
    code, _, err = run("build")
    assert code == 2
    assert (
        "apps.d/a.py:3: error: Certificate 'mqtt' hosts ['mqtt.other.net'] are outside "
        "example.org; use subdomains, or give host_reason='<reason>'"
    ) in err
    assert (
        "apps.d/a.py:4: error: Deployment 'd' container 'd' mount /certs picks keys ['cert.pem'] "
        "that Certificate 'mqtt' does not declare; it has ['ca.crt', 'tls.crt', 'tls.key']"
    ) in err
    project.app(
        "a",
        """\
        from klaster_build.dsl import Certificate

        Certificate("mqtt",
                    hosts=[])
        """,
    )
    code, _, err = run("build")
    assert code == 2
    assert (
        "apps.d/a.py:4: error: Certificate 'hosts' must name at least one host, such as hosts=['mqtt']"
        in err
    )
