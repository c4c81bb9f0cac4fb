"""frigate: NVR for the cameras; WebRTC through a LoadBalancer, UI through the chart's Ingress."""

from klaster_build.dsl import (
    ChartIngress,
    HelmRelease,
    HelmRepository,
    LoadBalancer,
    Port,
    PrivilegedNamespace,
    VaultAccess,
    VaultSecret,
    Volume,
    ingress_values,
    read,
)

camera = VaultAccess(
    service_account="camera", auth="camera", role="frigate-camera", policy="frigate"
)
rtsp = VaultSecret("frigate-camera-rtsp", path="cameras", access=camera)
# Existing LVs keep their names (they predate the -lvm<tier> suffix).
config = Volume("config", size="5Gi", tier="hdd", lv_name="frigate-config", file="config-pvc.yaml")
media = Volume("media", size="500Gi", tier="hdd", lv_name="frigate-media", file="media-pvc.yaml")
PrivilegedNamespace(reason="the chart's GPU/hardware-decoding pods need privileged access")
web = ChartIngress(
    "frigate",
    sso_reason="frigate's own login (auth: enabled in frigate/config.yml, the http-auth port)",
)
ingress = ingress_values(web, class_key="ingressClassName")
ingress["hosts"] = [{"host": web.fqdn, "paths": [{"path": "/", "portName": "http-auth"}]}]

repo = HelmRepository("blakeblackshear", url="https://blakeblackshear.github.io/blakeshome-charts/")
HelmRelease(
    "frigate",
    source=repo,
    chart="frigate",
    version="7.8.0",
    values={
        "config": read("frigate/config.yml"),
        "persistence": {
            "media": {"enabled": True, "existingClaim": media.claim, "skipuninstall": True},
            "config": {"enabled": True, "existingClaim": config.claim, "skipuninstall": True},
        },
        "envFromSecrets": [rtsp.secret],
        "ingress": ingress,
        "nodeSelector": {"kubernetes.io/hostname": "anapistula-delrosalae"},
    },
)
LoadBalancer(
    "go2rtc",
    selector={"app.kubernetes.io/instance": "frigate", "app.kubernetes.io/name": "frigate"},
    ports=[
        Port("webrtc-tcp", 8555, target="webrtc-tcp", public=True),
        Port("webrtc-udp", 8555, "UDP", target="webrtc-udp", public=True),
    ],
    # Dual-stack as in the real repo, so reachable from the Internet over IPv6; no IPv4 port
    # forward: the router's dst-nat rules name none.
    family_policy="RequireDualStack",
    forward_ipv4=False,
    dns_name="frigate-rtc",
    file="webrtc-svc.yaml",
)
