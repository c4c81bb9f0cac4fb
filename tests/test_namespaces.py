"""Namespaces are boundaries: a pod or chart never reads a Secret, ConfigMap or claim of
another namespace (it could never start); a Service address may cross."""

from __future__ import annotations

import pytest
from conftest import ProjectDir

OTHER = """\
from klaster_build.dsl import *
data = Volume("data")
secret = VaultSecret("other-secret", path="other", keys=["token"])
db = Postgres("other-db")
settings = ConfigMap("other-config", data={"a": "b"})
web = Deployment("other", containers=[Container("other", image="nginx:1.27.3", ports={"http": 80},
                 mounts={"/data": data.claim}, env={"T": secret.key("token"), "DB": db.secret_key("uri")})])
Service("other", workload=web, ports={"http": 80})
"""
READER = """\
from klaster_build.dsl import *
{app}
Deployment("reader", containers=[Container("reader", image="nginx:1.27.3", {use})])
"""
HELM_READER = """\
from klaster_build.dsl import *
repo = HelmRepository("charts", url="https://charts.example.org")
HelmRelease("reader", source=repo, chart="reader", version="1.2.3",
            values={{"db": {{"existingSecret": {value}}}}})
"""


@pytest.mark.parametrize(
    ("use", "kind", "name"),
    [
        (
            'env={"T": ref("other/VaultSecret/other-secret").key("token")}',
            "VaultSecret",
            "other-secret",
        ),
        (
            'env={"DB": ref("other/Postgres/other-db").secret_key("uri")}',
            "PostgresCluster",
            "other-db",
        ),
        (
            'mounts={"/data": ref("other/Volume/other-data-lvmhdd").claim}',
            "PersistentVolumeClaim",
            "other-data-lvmhdd",
        ),
        ('mounts={"/etc/app": ref("other/ConfigMap/other-config")}', "ConfigMap", "other-config"),
    ],
)
def test_a_pod_reading_another_namespace_is_refused(
    project: ProjectDir, run, no_color, use: str, kind: str, name: str
) -> None:
    project.app("other", OTHER)
    project.app("reader", READER.format(app="", use=use))
    code, _, err = run("build")
    assert code == 2, err
    assert (
        f"apps.d/reader.py:3: error: Deployment 'reader' (namespace 'reader') reads {kind} "
        f"{name!r} of namespace 'other'" in err
    )
    assert "share the namespace (App(namespace='other') in this file)" in err
    assert not project.out.exists()
    # The fix the message names builds.
    project.app("reader", READER.format(app='App(namespace="other")', use=use))
    code, _, err = run("build")
    assert code == 0, err


def test_a_chart_reading_another_namespace_is_refused(project: ProjectDir, run, no_color) -> None:
    project.app("other", OTHER)
    project.app("reader", HELM_READER.format(value='ref("other/Postgres/other-db").app_secret'))
    code, _, err = run("build")
    assert code == 2
    assert "HelmRelease 'reader' (namespace 'reader') reads PostgresCluster 'other-db'" in err


def test_a_service_address_crosses_namespaces(project: ProjectDir, run, no_color) -> None:
    project.app("other", OTHER)
    project.app(
        "reader",
        READER.format(
            app="",
            use='env={"UPSTREAM": ref("other/Service/other").host, "DB": ref("other/Postgres/other-db").host}',
        ),
    )
    code, _, err = run("build")
    assert code == 0, err
    assert "other.other.svc.cluster.local" in project.file("out/apps/reader/deployment.yaml")


def test_a_chart_reading_another_namespaces_tls_secret_is_refused(
    project: ProjectDir, run, no_color
) -> None:
    project.app(
        "other",
        'from klaster_build.dsl import *\nChartIngress("other", sso_reason="public page")\n',
    )
    project.app("reader", HELM_READER.format(value='ref("other/ChartIngress/other").tls_secret'))
    code, _, err = run("build")
    assert code == 2, err
    assert "HelmRelease 'reader' (namespace 'reader') reads ChartIngress 'other'" in err
