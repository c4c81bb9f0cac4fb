"""Cluster-wide settings, declared once in klasterfile.py. Nothing here has a default that
belongs to one particular cluster: the conventions come from the user's klasterfile."""

from __future__ import annotations

import ipaddress
from typing import Any

import attrs

from klaster_build import registry
from klaster_build.data import check_fields
from klaster_build.errors import Mistake
from klaster_build.origin import Origin, capture_origin
from klaster_build.validators import (
    dns_label,
    dns_subdomain,
    each,
    fail,
    instance_of,
    matches,
    one_of,
    optional,
    text,
    to_tuple,
)

# A Go duration as Flux reads `interval`s (time.ParseDuration, whole units).
_duration = matches(r"[0-9]+(ms|s|m|h)([0-9]+(ms|s|m|h))*", "a Go duration such as '30m' or '24h'")


@attrs.frozen(kw_only=True)
class StorageTier:
    """An LVM volume group and the StorageClass that provisions from it."""

    volume_group: str = attrs.field(validator=dns_subdomain)
    storage_class: str = attrs.field(validator=dns_label)


NODE_ROLES = ("controlplane", "worker")


@attrs.frozen(kw_only=True)
class Node:
    """A Kubernetes node (Talos machine): a control-plane node (which also runs pods, as the
    guideline's single node does) or a worker."""

    name: str = attrs.field(validator=dns_label)
    role: str = attrs.field(default="controlplane", validator=one_of(NODE_ROLES))


@attrs.frozen(kw_only=True)
class Intervals:
    """Flux reconcile intervals."""

    helm_repository: str = attrs.field(validator=_duration)
    helm_release: str = attrs.field(validator=_duration)
    git_repository: str = attrs.field(validator=_duration)
    # How often Flux looks for a new chart version; when set, releases also name their source's
    # namespace (the long form the real repo uses).
    chart: str | None = attrs.field(default=None, validator=optional(_duration))


@attrs.frozen(kw_only=True)
class VaultSettings:
    """Where OpenBao keeps static secrets and how pods authenticate."""

    kv_mount: str = attrs.field(validator=dns_label)
    auth_mount: str = attrs.field(validator=dns_label)


@attrs.frozen(kw_only=True)
class TalosSettings:
    """How `talosctl gen config` is run: the generated Makefile's gen-talos-config target.

    `base_patches` come first (controlplane, openebs, openbao...), then one PodSecurity exemption
    per namespace with privileged pods, then each node's patch. Patch paths are relative to the
    project root and must exist there (they are the operator's own files).
    """

    cluster_name: str = attrs.field(validator=dns_label)
    endpoint: str = attrs.field(validator=text(253))
    base_patches: tuple[str, ...] = attrs.field(converter=to_tuple, validator=each(text(253)))
    node_patches: dict[str, str] = attrs.field(factory=dict)  # node name -> patch path
    secrets_file: str = attrs.field(default="secrets.yaml", validator=text(253))
    generated_dir: str = attrs.field(default="talos/generated", validator=text(253))


def _tiers(inst: object, attribute: attrs.Attribute[object], value: object) -> None:
    if not isinstance(value, dict) or not value:
        fail(
            inst, attribute, Mistake("must be a dict of tier name -> StorageTier", got=repr(value))
        )
    for tier, setting in value.items():
        if not isinstance(tier, str) or not isinstance(setting, StorageTier):
            fail(
                inst, attribute, Mistake(f"entry {tier!r} must map a tier name to StorageTier(...)")
            )


def _nodes(inst: object, attribute: attrs.Attribute[object], value: object) -> None:
    if not isinstance(value, tuple) or not value or not all(isinstance(n, Node) for n in value):
        fail(inst, attribute, Mistake("must be a non-empty list of Node(...)", got=repr(value)))
    names = [node.name for node in value]
    twice = sorted({name for name in names if names.count(name) > 1})
    if twice:
        fail(
            inst,
            attribute,
            Mistake(f"names {twice} more than once", instead="each Node is one machine"),
        )
    if all(node.role != "controlplane" for node in value):
        fail(
            inst,
            attribute,
            Mistake("has no Node(role='controlplane')", instead="the API server needs one"),
        )


def _cidrs(inst: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if not isinstance(value, tuple) or not value or not all(isinstance(v, str) for v in value):
        fail(
            inst,
            attribute,
            Mistake(
                "must be a non-empty list of CIDRs such as ['10.244.0.0/16']",
                keyword=attribute.name,
            ),
        )
    for cidr in value:
        try:
            ipaddress.ip_network(cidr)
        except ValueError as error:
            fail(
                inst,
                attribute,
                Mistake(
                    f"entry {cidr!r} is not a network in CIDR notation ({error})",
                    keyword=attribute.name,
                ),
            )


def _relative_dir(inst: object, attribute: attrs.Attribute[str], value: object) -> None:
    problem = None
    if not isinstance(value, str) or not value:
        problem = "must be a non-empty string"
    elif value.startswith("/") or ".." in value.split("/") or value in (".", "./"):
        problem = "must be a directory inside the project, such as 'out'"
    elif value.split("/")[0] in ("apps.d", ".klaster-cache") or ".git" in value.split("/"):
        # klaster owns what its manifest lists there: never the inputs or git's or its own state
        problem = "must be a directory of its own, not in apps.d/, .git or .klaster-cache"
    if problem:
        fail(inst, attribute, Mistake(problem, got=repr(value)))


_outpost_url = matches(
    r"http://[a-z0-9]([a-z0-9.-]*[a-z0-9])?(:[0-9]{1,5})?",
    "the outpost's in-cluster URL without a path, such as "
    "'http://authentik-server.authentik.svc.cluster.local'",
)


@attrs.frozen(kw_only=True, eq=False)
class Cluster:
    """The klasterfile's one declaration: the conventions every app follows. Settings, not a
    record: nothing refers to it, every renderer reads it.

    Example:
        Cluster(
            name="homelab",
            domain="example.org",
            nodes=[Node(name="node1"), Node(name="node2", role="worker")],
            storage={
                "hdd": StorageTier(volume_group="vg-hdd", storage_class="hdd-lvmpv"),
                "ssd": StorageTier(volume_group="vg-ssd", storage_class="ssd-lvmpv"),
            },
            ingress_class="nginx",
            cluster_issuer="letsencrypt",
            vault=VaultSettings(kv_mount="secret", auth_mount="kubernetes"),
            authentik_url="https://auth.example.org",
            authentik_outpost="http://authentik-server.authentik.svc.cluster.local",
            intervals=Intervals(helm_repository="24h", helm_release="30m", git_repository="24h"),
            talos=TalosSettings(cluster_name="homelab", endpoint="https://kube.example.org:6443",
                                base_patches=[]),   # the operator's patch files, if any
        )
    """

    name: str = attrs.field(validator=dns_label)
    domain: str = attrs.field(validator=dns_subdomain)
    nodes: tuple[Node, ...] = attrs.field(converter=to_tuple, validator=_nodes)
    storage: dict[str, StorageTier] = attrs.field(validator=_tiers)
    ingress_class: str = attrs.field(validator=dns_label)
    cluster_issuer: str = attrs.field(validator=dns_label)
    vault: VaultSettings = attrs.field(validator=instance_of(VaultSettings))
    authentik_url: str = attrs.field(validator=text(253))
    # The in-cluster base URL of the Authentik outpost that answers nginx forward auth
    # (`Ingress(forward_auth=True)`): the embedded outpost is the server's own Service, e.g.
    # http://authentik-server.authentik.svc.cluster.local; a deployed one is
    # http://ak-outpost-<name>.<namespace>.svc.cluster.local:9000.
    authentik_outpost: str | None = attrs.field(default=None, validator=optional(_outpost_url))
    intervals: Intervals = attrs.field(validator=instance_of(Intervals))
    out_dir: str = attrs.field(default="out", validator=_relative_dir)
    # The networks of pods and Services (Talos `cluster.network.podSubnets`/`serviceSubnets`,
    # Talos' defaults unless set): what an app trusts as its proxies (`cluster.pod_cidrs`).
    pod_cidrs: tuple[str, ...] = attrs.field(
        default=("10.244.0.0/16",), converter=to_tuple, validator=_cidrs
    )
    service_cidrs: tuple[str, ...] = attrs.field(
        default=("10.96.0.0/12",), converter=to_tuple, validator=_cidrs
    )
    # The storage tier whose StorageClass is the cluster default (annotation), if any.
    default_storage_tier: str | None = attrs.field(default=None)
    talos: TalosSettings | None = attrs.field(default=None)
    # Flux: the GitRepository the generated Kustomizations read, and their interval.
    flux_source: str = attrs.field(default="flux-system", validator=dns_label)
    flux_interval: str = attrs.field(default="24h", validator=_duration)
    origin: Origin = attrs.field(factory=capture_origin, repr=False)

    def __attrs_post_init__(self) -> None:
        check_fields(self)
        active = registry.active()
        if active is not None:
            active.clusters.append(self)

    def input_files(self) -> tuple[str, ...]:
        """Project files these settings name (checks read them, so builds depend on them)."""
        if self.talos is None:
            return ()
        return (*self.talos.base_patches, *self.talos.node_patches.values())

    @property
    def node_names(self) -> tuple[str, ...]:
        """The nodes' names, in klasterfile order (the first is where volumes go by default)."""
        return tuple(node.name for node in self.nodes)

    def tier(self, name: str) -> StorageTier:
        """The settings of storage tier `name` (KeyError when the klasterfile lacks it)."""
        return self.storage[name]

    def host(self, subdomain: str) -> str:
        """`<subdomain>.<domain>`."""
        return f"{subdomain}.{self.domain}"
