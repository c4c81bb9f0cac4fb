"""Cluster-wide settings of the homelab: every convention apps.d files follow comes from here."""

from klaster_build.dsl import (
    Cluster,
    Intervals,
    Node,
    StorageTier,
    TalosSettings,
    VaultSettings,
)

Cluster(
    name="homelab",
    domain="lumpiasty.xyz",
    nodes=[Node(name="anapistula-delrosalae")],
    storage={
        "hdd": StorageTier(volume_group="openebs-hdd", storage_class="hdd-lvmpv"),
        "ssd": StorageTier(volume_group="openebs-ssd", storage_class="ssd-lvmpv"),
    },
    default_storage_tier="ssd",
    ingress_class="nginx-ingress",
    cluster_issuer="letsencrypt",
    vault=VaultSettings(kv_mount="secret", auth_mount="kubernetes"),
    authentik_url="https://authentik.lumpiasty.xyz",
    # Forward auth asks Authentik's embedded outpost, served by the chart's server Service.
    authentik_outpost="http://authentik-server.authentik.svc.cluster.local",
    # talos/patches/controlplane.patch cluster.network.podSubnets / serviceSubnets.
    pod_cidrs=["10.42.0.0/16", "2001:470:61a3:200::/64"],
    service_cidrs=["10.43.0.0/16", "2001:470:61a3:300::/112"],
    intervals=Intervals(
        helm_repository="24h", helm_release="30m", git_repository="24h", chart="12h"
    ),
    talos=TalosSettings(
        cluster_name="homelab",
        endpoint="https://kube-api.homelab.lumpiasty.xyz:6443",
        # The operator's own patches (talos/patches/), applied before the generated exemptions.
        base_patches=[
            "talos/patches/controlplane.patch",
            "talos/patches/openebs.patch",
            "talos/patches/openbao.patch",
        ],
        node_patches={"anapistula-delrosalae": "talos/patches/anapistula-delrosalae.patch"},
    ),
    out_dir="out",
)
