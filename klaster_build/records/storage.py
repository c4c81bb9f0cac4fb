"""Storage: LVM volumes (LVMVolume -> PersistentVolume -> PersistentVolumeClaim) and CloudNativePG
databases, as the guideline's Data/PVCs and Postgres sections spell them out.

LVs are reused on disk by name, so names never change under the user: an explicit LV name
adopts an existing LV (`lv_name=`), and the default follows the real repo: `<app>[-<name>]-lvm<tier>`.
"""

from __future__ import annotations

from typing import Any

import attrs

from klaster_build.data import DATA, SecretKey
from klaster_build.errors import DeclarationError, Mistake
from klaster_build.records.base import Record
from klaster_build.refs import Ref
from klaster_build.validators import (
    dns_label,
    dns_subdomain,
    each,
    instance_of,
    non_negative_int,
    optional,
    output_file,
    positive_int,
    quantity,
    text,
    to_tuple,
)
from klaster_build.versions import Renovate

DEFAULT_SIZE = "1Gi"  # the guideline's "minimal prediction"
# Keys of the `<cluster>-app` secret CloudNativePG creates.
POSTGRES_SECRET_KEYS = frozenset(
    {
        "dbname",
        "fqdn-jdbc-uri",
        "fqdn-uri",
        "host",
        "jdbc-uri",
        "password",
        "pgpass",
        "port",
        "uri",
        "user",
        "username",
    }
)


@attrs.frozen(kw_only=True, eq=False)
class LVMVolume(Record):
    """An OpenEBS LVM logical volume on the node (namespace openebs)."""

    name: str = attrs.field(kw_only=False, validator=dns_subdomain)
    size: str = attrs.field(validator=quantity)
    tier: str = attrs.field(validator=dns_label)
    file: str = attrs.field(validator=output_file)
    node: str | None = attrs.field(default=None, validator=optional(dns_label))
    # Without `node`: the klasterfile node at this index (a database's instance N goes on the
    # N-th node; a volume on the first).
    node_index: int = attrs.field(default=0, validator=non_negative_int)

    def node_name(self, nodes: tuple[str, ...]) -> str:
        """The node holding the LV, given the klasterfile's nodes (checks ensure it is one)."""
        return self.node or nodes[self.node_index]


@attrs.frozen(kw_only=True, eq=False)
class PersistentVolume(Record):
    """The PV bound to an LV by `volumeHandle`; always Retain."""

    name: str = attrs.field(kw_only=False, validator=dns_subdomain)
    lv: LVMVolume
    size: str = attrs.field(validator=quantity)
    tier: str = attrs.field(validator=dns_label)
    file: str = attrs.field(validator=output_file)
    # The claim (in the PV's app namespace) an operator will create and this PV is reserved
    # for (`claimRef`): a database replica's, which CloudNativePG names `<cluster>-<serial>`.
    bound_claim: str | None = attrs.field(default=None, validator=optional(dns_subdomain))


@attrs.frozen(kw_only=True, eq=False)
class PersistentVolumeClaim(Record):
    """The claim in the app namespace, bound to its PV by `volumeName`."""

    name: str = attrs.field(kw_only=False, validator=dns_subdomain)
    volume: PersistentVolume
    size: str = attrs.field(validator=quantity)
    tier: str = attrs.field(validator=dns_label)
    file: str = attrs.field(validator=output_file)


def _volume_file(name: str | None) -> str:
    return f"{name}-volume.yaml" if name else "volume.yaml"


def _own_data(data_from: str | None, lv: str) -> None:
    if data_from == lv:
        raise DeclarationError(
            Mistake(
                f"data_from={data_from!r} names this volume's own LV",
                instead="data_from= names the old LV a new volume (another name) takes the data of",
            )
        )


@attrs.frozen(kw_only=True, eq=False)
class Volume(Record):
    """A persistent volume of the app: LVMVolume -> PV -> PVC, names lined up.

    Example:
        data = Volume("data", size="5Gi", tier="ssd")   # LV, PV and claim <app>-data-lvmssd
        # lv_name= and claim_name= adopt an existing LV and claim instead
        library = Volume("library", size="150Gi", lv_name="immich-library-lvmhdd", claim_name="library-lvmhdd")
        Deployment("photos", containers=[Container("photos", image="ghcr.io/immich-app/immich-server:v1.142.1",
                   mounts={"/data": data.claim, "/library": library.claim})])
    """

    name: str | None = attrs.field(default=None, kw_only=False, validator=optional(dns_label))
    size: str = attrs.field(default=DEFAULT_SIZE, validator=quantity)
    tier: str = attrs.field(default="hdd", validator=dns_label)
    lv_name: str | None = attrs.field(default=None, validator=optional(dns_subdomain))
    claim_name: str | None = attrs.field(default=None, validator=optional(dns_subdomain))
    file: str | None = attrs.field(default=None, validator=optional(output_file))
    # The klasterfile node whose disk holds the LV (default: its first node); pods mounting
    # the claim run there.
    node: str | None = attrs.field(default=None, validator=optional(dns_label))
    # In words, that the live claim was already grown to `size` (the refusal of a bigger size
    # says how): growing is done in the cluster first, then declared.
    size_reason: str | None = attrs.field(default=None, validator=optional(text(500)))
    # In words, why the claim is renamed or moved to another namespace on purpose: the build
    # then lists the re-bind of the PV (clearing its claimRef to the old claim) in klaster todo.
    claim_reason: str | None = attrs.field(default=None, validator=optional(text(500)))
    # The LV (its name, `vg` not included) whose data this new volume takes over: a move to
    # another tier, node or name. `klaster todo` lists the copy before the old LV's retirement.
    data_from: str | None = attrs.field(default=None, validator=optional(dns_subdomain))
    # The LVM volume on the node, and the PersistentVolume bound to it.
    lv: LVMVolume = attrs.field(init=False, metadata={"no_edges": True})
    pv: PersistentVolume = attrs.field(init=False, metadata={"no_edges": True})
    # What pods mount: `mounts={"/data": volume.claim}`, or a chart's `existingClaim`.
    claim: PersistentVolumeClaim = attrs.field(init=False)

    def __attrs_post_init__(self) -> None:
        super().__attrs_post_init__()
        name = self.lv_name or "-".join(p for p in (self.app, self.name) if p) + f"-lvm{self.tier}"
        file = self.file or _volume_file(self.name)
        common: dict[str, Any] = {
            "origin": self.origin,
            "app": self.app,
            "size": self.size,
            "tier": self.tier,
            "file": file,
        }
        _own_data(self.data_from, name)
        lv = LVMVolume(name, node=self.node, **common)
        pv = PersistentVolume(name, lv=lv, **common)
        object.__setattr__(self, "lv", lv)
        object.__setattr__(self, "pv", pv)
        object.__setattr__(
            self, "claim", PersistentVolumeClaim(self.claim_name or name, volume=pv, **common)
        )

    @property
    def record_name(self) -> str:
        return self.lv.name


@attrs.frozen(kw_only=True, eq=False)
class PostgresCluster(Record):
    """The CloudNativePG `Cluster` document; its PVCs are created by the operator, never by us."""

    name: str = attrs.field(kw_only=False, validator=dns_label)
    volumes: tuple[PersistentVolume, ...]  # one per instance, instance 1 first
    size: str = attrs.field(validator=quantity)
    tier: str = attrs.field(validator=dns_label)
    image: str | None = attrs.field(default=None, validator=optional(text(512)))
    database: str | None = attrs.field(default=None, validator=optional(dns_label))
    owner: str | None = attrs.field(default=None, validator=optional(dns_label))
    file: str = attrs.field(default="postgres-cluster.yaml", validator=output_file)
    bootstrap: dict[str, Any] | None = attrs.field(default=None, metadata=DATA)
    extra: dict[str, Any] = attrs.field(factory=dict, metadata=DATA)


@attrs.frozen(kw_only=True, eq=False)
class Postgres(Record):
    """A Postgres database: a CNPG Cluster with one LVMVolume + PV per instance (`<cluster>-1`,
    `-2`...; ssd by default), each on its own node.

    Example:
        db = Postgres("kaneo-db", size="10Gi")
        Deployment("kaneo", containers=[Container("api", image="ghcr.io/usekaneo/api:2.6.1",
                   env={"DATABASE_URL": db.secret_key("uri"), "DB_HOST": db.host})])
        # in chart values: {"existingSecret": db.app_secret, "host": db.rw_service}
        # two instances (a primary and a replica) on two klasterfile nodes:
        Postgres("vikunja-db", size="5Gi", replicas=2, nodes=["node1", "node2"])
    """

    name: str = attrs.field(kw_only=False, validator=dns_label)
    size: str = attrs.field(default=DEFAULT_SIZE, validator=quantity)
    tier: str = attrs.field(default="ssd", validator=dns_label)
    # Why a database stays off ssd (the guideline's tier for databases), in words; without it a
    # build warns.
    tier_reason: str | None = attrs.field(default=None, validator=optional(text(500)))
    image: str | None = attrs.field(default=None, validator=optional(text(512)))
    database: str | None = attrs.field(default=None, validator=optional(dns_label))
    owner: str | None = attrs.field(default=None, validator=optional(dns_label))
    lv_name: str | None = attrs.field(default=None, validator=optional(dns_subdomain))
    # Instances (a primary and replicas), a declared choice: never more than the nodes.
    replicas: int = attrs.field(default=1, validator=positive_int)
    # The node of each instance, instance 1 first (default: the klasterfile's first nodes).
    nodes: tuple[str, ...] = attrs.field(default=(), converter=to_tuple, validator=each(dns_label))
    # As Volume's: the live claims were already grown to `size`.
    size_reason: str | None = attrs.field(default=None, validator=optional(text(500)))
    # As Volume's: the LV of the database (instance 1) whose data this one takes over
    # (`klaster todo` lists a pg_dump/pg_restore before the old LV's retirement).
    data_from: str | None = attrs.field(default=None, validator=optional(dns_subdomain))
    # Raw CNPG `bootstrap` (e.g. recovery after a migration) instead of initdb, and extra spec
    # fields klaster does not model (managed roles...).
    bootstrap: dict[str, Any] | None = attrs.field(
        default=None, validator=optional(instance_of(dict)), metadata=DATA
    )
    extra: dict[str, Any] = attrs.field(factory=dict, validator=instance_of(dict), metadata=DATA)
    renovate: Renovate | None = attrs.field(default=None, validator=optional(instance_of(Renovate)))
    # Each instance's LVM volume and the PersistentVolume its claim binds to, instance 1 first.
    lvs: tuple[LVMVolume, ...] = attrs.field(init=False, metadata={"no_edges": True})
    pvs: tuple[PersistentVolume, ...] = attrs.field(init=False, metadata={"no_edges": True})
    # The CloudNativePG Cluster document.
    cluster: PostgresCluster = attrs.field(init=False)

    def __attrs_post_init__(self) -> None:
        super().__attrs_post_init__()
        if (self.database is None) != (self.owner is None):
            raise DeclarationError(
                Mistake(
                    "and 'owner' go together (bootstrap.initdb needs both)",
                    record="Postgres",
                    field="database",
                )
            )
        if self.nodes and len(self.nodes) != self.replicas:
            raise DeclarationError(
                Mistake(
                    f"names {len(self.nodes)} node(s) for {self.replicas} replica(s)",
                    record="Postgres",
                    field="nodes",
                    instead="name one node per instance, or leave nodes= out",
                )
            )
        if len(set(self.nodes)) != len(self.nodes):
            raise DeclarationError(
                Mistake(
                    f"{list(self.nodes)} repeats a node",
                    record="Postgres",
                    field="nodes",
                    instead="each instance needs its own node (its own disk)",
                )
            )
        common: dict[str, Any] = {
            "origin": self.origin,
            "app": self.app,
            "size": self.size,
            "tier": self.tier,
            "file": "postgres-volume.yaml",
        }
        _own_data(self.data_from, self.lv_name or f"{self.name}-1")
        lvs, pvs = [], []
        for index in range(self.replicas):
            serial = index + 1  # CloudNativePG numbers instances (and their claims) from 1
            name = self.lv_name if serial == 1 and self.lv_name else f"{self.name}-{serial}"
            node = self.nodes[index] if self.nodes else None
            lv = LVMVolume(name, node=node, node_index=index, **common)
            # One instance: its claim names the PV (volumeName). More: each PV is reserved for
            # the claim CloudNativePG will create for its instance.
            bound = f"{self.name}-{serial}" if self.replicas > 1 else None
            lvs.append(lv)
            pvs.append(PersistentVolume(name, lv=lv, bound_claim=bound, **common))
        cluster = PostgresCluster(
            self.name,
            volumes=tuple(pvs),
            image=self.image,
            database=self.database,
            owner=self.owner,
            bootstrap=self.bootstrap,
            extra=self.extra,
            **{k: v for k, v in common.items() if k != "file"},
        )
        object.__setattr__(self, "lvs", tuple(lvs))
        object.__setattr__(self, "pvs", tuple(pvs))
        object.__setattr__(self, "cluster", cluster)

    @property
    def app_secret(self) -> Ref:
        """The `<cluster>-app` Secret CloudNativePG creates (keys: uri, password, host...)."""
        return Ref(self.cluster, "app_secret")

    @property
    def rw_service(self) -> Ref:
        """The `<cluster>-rw` Service that points at the primary."""
        return Ref(self.cluster, "rw_service")

    @property
    def host(self) -> Ref:
        """The primary's in-cluster DNS name."""
        return Ref(self.cluster, "host")

    def secret_key(self, key: str) -> SecretKey:
        """An env value read from key `key` of the `<cluster>-app` Secret."""
        if key not in POSTGRES_SECRET_KEYS:
            raise DeclarationError(
                Mistake(
                    f"secret has no key {key!r}",
                    record=self.described,
                    instead=f"it has {sorted(POSTGRES_SECRET_KEYS)}",
                )
            )
        return SecretKey(self.app_secret, key)
