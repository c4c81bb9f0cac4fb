"""ispeak3: a TeamSpeak 3 server (scaled to zero), reachable from the Internet by LoadBalancer."""

from klaster_build.dsl import Container, LoadBalancer, Mount, Port, StatefulSet, Volume

# Adopts the existing LV (named before the -lvm<tier> convention).
data = Volume("ts3-data", size="1Gi", tier="hdd", lv_name="ispeak3-ts3-data", file="pvc.yaml")
server = StatefulSet(
    "teamspeak3-server",
    replicas=0,
    labels={"app": "teamspeak3"},
    service="teamspeak3",
    containers=[
        Container(
            "teamspeak3",
            image="teamspeak:3.13.7",
            ports=[Port("voice", 9987, "UDP"), Port("query", 10011), Port("filetransfer", 30033)],
            mounts={"/var/ts3server/": Mount(data.claim, name="ts3-data")},
        )
    ],
)
# Both ports are forwarded from the Internet (the router's TS3 dst-nat rules).
LoadBalancer(
    "teamspeak3",
    workload=server,
    ports=[Port("voice", 9987, "UDP", public=True), Port("filetransfer", 30033, public=True)],
)
