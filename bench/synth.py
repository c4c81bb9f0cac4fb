"""Synthetic clusters for the benchmarks: N apps shaped like the real ones."""

from __future__ import annotations

import shutil
from pathlib import Path

KLASTERFILE = """\
from klaster_build.dsl import Cluster, Intervals, Node, StorageTier, VaultSettings

Cluster(
    name="bench",
    domain="example.org",
    nodes=[Node(name="node1")],
    storage={
        "hdd": StorageTier(volume_group="openebs-hdd", storage_class="hdd-lvmpv"),
        "ssd": StorageTier(volume_group="openebs-ssd", storage_class="ssd-lvmpv"),
    },
    ingress_class="nginx-ingress",
    cluster_issuer="letsencrypt",
    vault=VaultSettings(kv_mount="secret", auth_mount="kubernetes"),
    authentik_url="https://authentik.example.org",
    intervals=Intervals(helm_repository="24h", helm_release="30m", git_repository="24h"),
)
"""


def app_source(index: int, revision: int = 0) -> str:
    """One app: a Helm release whose values reference a raw service, plus a raw workload."""
    name = f"app{index:05d}"
    return f'''\
from klaster_build.dsl import ConfigMap, Container, Deployment, HelmRelease, HelmRepository, Service

repo = HelmRepository("charts", url="https://charts.example.org/{name}")
api = Deployment(
    "{name}-api",
    containers=[
        Container(
            "api",
            image="registry.example.org/{name}/api:1.{index % 50}.{revision}",
            ports={{"http": 8080}},
            env={{"LOG_LEVEL": "info", "PEERS": "3"}},
            resources={{"requests": {{"cpu": "50m", "memory": "64Mi"}}}},
        )
    ],
)
svc = Service("{name}-api", workload=api, ports={{"http": 8080}})
settings = ConfigMap("{name}-settings", data={{"endpoint": f"http://{{svc.host}}:8080", "mode": "bench"}})
HelmRelease(
    "{name}",
    source=repo,
    chart="{name}",
    version="2.{index % 20}.{revision}",
    values={{
        "api": {{"url": f"http://{{svc.host}}:8080", "config": settings}},
        "replicaCount": 1,
        "ingress": {{"enabled": True, "hosts": [{{"host": "{name}.example.org", "paths": [{{"path": "/"}}]}}]}},
    }},
)
'''


def write_cluster(root: Path, apps: int) -> None:
    """A fresh project with `apps` apps."""
    if root.exists():
        shutil.rmtree(root)
    (root / "apps.d").mkdir(parents=True)
    (root / "klasterfile.py").write_text(KLASTERFILE)
    for index in range(apps):
        (root / "apps.d" / f"app{index:05d}.py").write_text(app_source(index))


def touch_one_app(root: Path, revision: int) -> None:
    """Change one app's versions, as a Renovate bump would."""
    (root / "apps.d" / "app00000.py").write_text(app_source(0, revision))
