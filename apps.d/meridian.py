"""meridian: a small stateful service."""

from klaster_build.dsl import Container, Deployment, Mount, Service, Volume

data = Volume("data", size="1Gi", tier="ssd", file="pvc.yaml")
meridian = Deployment(
    "meridian",
    containers=[
        Container(
            "meridian",
            image="ghcr.io/rynfar/meridian:1.29.1",
            ports={"http": 3456},
            mounts={"/home/claude/": Mount(data.claim, name="data")},
            env={"MERIDIAN_PORT": "3456"},
        )
    ],
)
Service("meridian", workload=meridian, ports={"http": 3456}, file="deployment.yaml")
