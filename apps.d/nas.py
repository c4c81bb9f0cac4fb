"""nas: SFTP access to bulk storage, exposed by LoadBalancer (SSH, not HTTP)."""

from klaster_build.dsl import (
    ConfigMap,
    Container,
    Deployment,
    LoadBalancer,
    Mount,
    Port,
    Volume,
    read,
)

# Adopts the existing LV (its name predates the -lvm<tier> convention).
home = Volume("data", size="4Gi", tier="hdd", lv_name="nas-data-lvm-hdd", file="pvc.yaml")
config = ConfigMap("nas-sftp-config", data={"sftp.json": read("nas/sftp.json")})
sftp = Deployment(
    "nas-sftp",
    strategy="Recreate",
    init_containers=[
        Container(
            "prepare-home",
            image="alpine:3.23.4",
            image_pull_policy="IfNotPresent",
            command=["/bin/sh", "-c", read("nas/prepare-home.sh")],
            mounts={"/volume": Mount(home.claim, name="home")},
        )
    ],
    containers=[
        Container(
            "sftp",
            image="docker.io/emberstack/sftp:build-5.1.72",
            image_pull_policy="IfNotPresent",
            ports={"sftp": 22},
            mounts={
                "/app/config/sftp.json": Mount(
                    config, name="config", sub_path="sftp.json", read_only=True
                ),
                "/home/nas": Mount(home.claim, name="home", sub_path="sftp-root"),
                "/etc/ssh/keys": Mount(home.claim, name="home", sub_path="host-keys"),
            },
            resources={
                "requests": {"cpu": "50m", "memory": "128Mi"},
                "limits": {"memory": "512Mi"},
            },
        )
    ],
)
# LAN only: the router's port 22 goes to gitea's SSH, not here.
LoadBalancer("nas-sftp", workload=sftp, ports=[Port("sftp", 22)], traffic_policy="Cluster")
