"""Synthetic clusters for the benchmarks and crash tests: N apps shaped like the real ones."""

from __future__ import annotations

import shutil
from pathlib import Path

KLASTERFILE = """\
from klaster_build.dsl import Cluster, Intervals, Node, StorageTier, TalosSettings, VaultSettings

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
    authentik_outpost="http://authentik-server.authentik.svc.cluster.local",
    intervals=Intervals(helm_repository="24h", helm_release="30m", git_repository="24h"),
    talos=TalosSettings(cluster_name="bench", endpoint="https://api.example.org:6443", base_patches=[]),
)
"""

APP = """\
from klaster_build.dsl import *

data = Volume("data", size="{size}Gi", tier="hdd")
db = Postgres("{name}-db", size="2Gi")
api = VaultSecret("{name}-secret", path="{name}", keys=["api_token"])
sso = OIDC()
worker = Deployment(
    "{name}-worker",
    containers=[
        Container(
            "worker",
            image="registry.example.org/{name}/worker:1.{minor}.{revision}",
            ports={{"http": 8080}},
            env={{"API_TOKEN": api.key("api_token"), "DATABASE_URL": db.secret_key("uri"), "LOG_LEVEL": "info"}},
            mounts={{"/data": data.claim}},
            resources={{"requests": {{"cpu": "50m", "memory": "64Mi"}}}},
            {devices}
        )
    ],
)
svc = Service("{name}-worker", workload=worker, ports={{"http": 8080}})
web = ChartIngress("{name}", forward_auth=True)
repo = HelmRepository("charts", url="https://charts.example.org/{name}")
HelmRelease(
    "{name}",
    source=repo,
    chart="{name}",
    version="2.{minor}.{revision}",
    values={{
        "worker": {{"url": f"http://{{svc.host}}:8080"}},
        "database": {{"host": db.rw_service, "secret": db.app_secret}},
        "oidc": {{"discovery": sso.discovery_url, "secret": sso.secret}},
        "ingress": ingress_values(web),
    }},
)
{balancer}
"""


def app_source(index: int, revision: int = 0) -> str:
    """One app: volume, database, secrets with OIDC, a Helm release whose values reference them,
    an ingress; every 10th privileged, every 7th with a LoadBalancer."""
    name = f"app{index:05d}"
    devices = "devices=[HostDevice('/dev/dri', 'Directory')]," if index % 10 == 0 else ""
    port = 10000 + index % 50000
    balancer = (
        f"LoadBalancer('{name}-voice', workload=worker, ports=[Port('voice', {port}, 'UDP')])"
        if index % 7 == 0
        else ""
    )
    return APP.format(
        name=name,
        size=1 + index % 20,
        minor=index % 50,
        revision=revision,
        devices=devices,
        balancer=balancer,
    )


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
