"""Storage documents and their invariants."""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

from klaster_build.emit.outputs import (
    LVM_NAMESPACE,
    NEVER_PRUNED,
    Output,
    app_object,
    app_path,
    metadata,
)
from klaster_build.errors import Mistake, Problem, did_you_mean
from klaster_build.family import Family, Mountable, Removal
from klaster_build.graph import ProjectGraph
from klaster_build.operator import OperatorStep
from klaster_build.project import Project
from klaster_build.quantity import parse_quantity
from klaster_build.records.helm import HelmRelease
from klaster_build.records.retirement import RetiredVolume
from klaster_build.records.storage import (
    LVMVolume,
    PersistentVolume,
    PersistentVolumeClaim,
    Postgres,
    PostgresCluster,
    Volume,
)
from klaster_build.records.workloads import Workload
from klaster_build.refs import AddressRef
from klaster_build.render_context import RenderContext
from klaster_build.values import references_in, resolve

CSI_DRIVER = "local.csi.openebs.io"
# The node label lvm-localpv's CSI driver reports as its topology (`LVMTopologyKey`, set to the
# node's name): the PVs it provisions itself are pinned with it, so ours are too.
NODE_TOPOLOGY_KEY = "openebs.io/nodename"


def emit_lvm_volume(lv: LVMVolume, ctx: RenderContext) -> Iterator[Output]:
    """local.openebs.io LVMVolume on its node."""
    node = lv.node_name(ctx.cluster.node_names)
    vg = ctx.cluster.tier(lv.tier).volume_group
    yield Output(
        app_path(lv, lv.file),
        lv,
        document={
            "apiVersion": "local.openebs.io/v1alpha1",
            "kind": "LVMVolume",
            "metadata": {
                "annotations": dict(NEVER_PRUNED),
                "labels": {"kubernetes.io/nodename": node},
                "name": lv.name,
                "namespace": LVM_NAMESPACE,
            },
            "spec": {
                "capacity": lv.size,
                "ownerNodeID": node,
                "shared": "yes",
                "thinProvision": "no",
                "vgPattern": f"^{vg}$",
                "volGroup": vg,
            },
        },
    )


def emit_persistent_volume(pv: PersistentVolume, ctx: RenderContext) -> Iterator[Output]:
    """The PV that binds the LV by volumeHandle; Retain so data outlives the claim, never pruned
    so it outlives its app's removal; pinned to the LV's node, so no pod mounting it is
    scheduled where the LV does not exist."""
    node = pv.lv.node_name(ctx.cluster.node_names)
    spec: dict[str, Any] = {
        "capacity": {"storage": pv.size},
        "accessModes": ["ReadWriteOnce"],
        "persistentVolumeReclaimPolicy": "Retain",
        "storageClassName": ctx.cluster.tier(pv.tier).storage_class,
        "volumeMode": "Filesystem",
        "csi": {"driver": CSI_DRIVER, "fsType": "btrfs", "volumeHandle": pv.lv.name},
        "nodeAffinity": {
            "required": {
                "nodeSelectorTerms": [
                    {
                        "matchExpressions": [
                            {"key": NODE_TOPOLOGY_KEY, "operator": "In", "values": [node]}
                        ]
                    }
                ]
            }
        },
    }
    if pv.bound_claim is not None:
        spec["claimRef"] = {"namespace": ctx.namespace(pv), "name": pv.bound_claim}
    yield Output(
        app_path(pv, pv.file),
        pv,
        document={
            "kind": "PersistentVolume",
            "apiVersion": "v1",
            "metadata": {"name": pv.name, "annotations": dict(NEVER_PRUNED)},
            "spec": spec,
        },
    )


def emit_claim(claim: PersistentVolumeClaim, ctx: RenderContext) -> Iterator[Output]:
    """The claim in the app namespace, bound to its PV."""
    yield Output(
        app_path(claim, claim.file),
        claim,
        document={
            "kind": "PersistentVolumeClaim",
            "apiVersion": "v1",
            "metadata": metadata(claim.name, ctx.namespace(claim)),
            "spec": {
                "accessModes": ["ReadWriteOnce"],
                "resources": {"requests": {"storage": claim.size}},
                "storageClassName": ctx.cluster.tier(claim.tier).storage_class,
                "volumeName": claim.volume.name,
            },
        },
    )


def emit_postgres_cluster(cluster: PostgresCluster, ctx: RenderContext) -> Iterator[Output]:
    """CloudNativePG Cluster: the declared instances, each claim bound to its own PV (one
    instance: by the template's volumeName; more: by the claimRef of each PV)."""
    spec: dict[str, Any] = {"instances": len(cluster.volumes)}
    if cluster.image:
        spec["imageName"] = cluster.image
    if cluster.bootstrap is not None:
        spec["bootstrap"] = resolve(cluster.bootstrap, ctx)
    elif cluster.database:
        spec["bootstrap"] = {"initdb": {"database": cluster.database, "owner": cluster.owner}}
    template: dict[str, Any] = {
        "storageClassName": ctx.cluster.tier(cluster.tier).storage_class,
        "resources": {"requests": {"storage": cluster.size}},
    }
    if len(cluster.volumes) == 1:
        template["volumeName"] = cluster.volumes[0].name
    spec["storage"] = {"pvcTemplate": template}
    spec.update(resolve(cluster.extra, ctx))
    yield app_object(
        cluster,
        ctx,
        "postgresql.cnpg.io/v1",
        "Cluster",
        {
            "spec": spec,
        },
    )


def check_tiers(project: Project, graph: ProjectGraph) -> Iterator[Problem]:
    """Every storage tier named by a volume is one the klasterfile declares."""
    known = sorted(project.cluster.storage)
    for record in project.of_type(Postgres) + project.of_type(Volume):
        if record.tier not in project.cluster.storage:
            yield Problem.at(
                record,
                Mistake(
                    f"tier {record.tier!r} is not a storage tier of klasterfile.py",
                    record=type(record).__name__,
                    instead=f"use one of {known}",
                ),
            )


def _claims(
    project: Project,
) -> Iterator[tuple[PersistentVolumeClaim | PostgresCluster, PersistentVolume]]:
    """Every claim on a PV: a PVC's, and each instance's of a database."""
    for claim in project.of_type(PersistentVolumeClaim):
        yield claim, claim.volume
    for cluster in project.of_type(PostgresCluster):
        for volume in cluster.volumes:
            yield cluster, volume


def check_nodes(project: Project, graph: ProjectGraph) -> Iterator[Problem]:
    """Volumes and database instances sit on klasterfile nodes, never more instances than
    nodes, and a pod's claims all on one node (a pod runs on one node; a local LV is on one)."""
    nodes = project.cluster.node_names
    listed = list(nodes)
    for volume in project.of_type(Volume):
        if volume.node is not None and volume.node not in nodes:
            yield Problem.at(
                volume,
                Mistake(
                    f"node {volume.node!r} is not a node of klasterfile.py",
                    record="Volume",
                    instead=f"use one of {listed}",
                ),
            )
    for db in project.of_type(Postgres):
        if db.replicas > len(nodes):
            yield Problem.at(
                db,
                Mistake(
                    f"has replicas={db.replicas} but klasterfile.py has {len(nodes)} node(s) "
                    f"{listed}",
                    record=db.described,
                    instead="each instance needs a node (and disk) of its own: lower replicas= "
                    f"to at most {len(nodes)}, or add a Node to the klasterfile",
                ),
            )
        unknown = [node for node in db.nodes if node not in nodes]
        if unknown:
            yield Problem.at(
                db,
                Mistake(
                    f"nodes {unknown} are not nodes of klasterfile.py",
                    record=db.described,
                    instead=f"use some of {listed}",
                ),
            )
    for workload in project.of_type(Workload):
        claims = [c for c in graph.dependencies(workload) if isinstance(c, PersistentVolumeClaim)]
        placed = {
            claim.name: claim.volume.lv.node_name(nodes)
            for claim in claims
            if claim.volume.lv.node in (None, *nodes)
        }
        if len(set(placed.values())) > 1:
            where = ", ".join(f"{claim} on {node}" for claim, node in sorted(placed.items()))
            yield Problem.at(
                workload,
                Mistake(
                    f"mounts claims on different nodes ({where}); its pod runs on one node and a "
                    "local LV exists only on its own, so it would never start: put the volumes "
                    "on one node (Volume(..., node=...))",
                    record=workload.described,
                ),
            )


def _previous(
    removal: Removal,
) -> tuple[dict[str, dict[str, Any]], dict[str, tuple[str, str]], dict[str, str]]:
    """From the previous tree's changed files: its LVMVolumes by name, the claim
    (namespace, name) each PV was bound to (a PVC's volumeName, a database's template or a PV's
    claimRef), and each PV's storage class."""
    lvs: dict[str, dict[str, Any]] = {}
    bound: dict[str, tuple[str, str]] = {}
    classes: dict[str, str] = {}
    for documents in removal.documents.values():
        for document in documents:
            meta, spec = document.get("metadata") or {}, document.get("spec") or {}
            kind, name, namespace = document.get("kind"), meta.get("name"), meta.get("namespace")
            if kind == "LVMVolume" and isinstance(name, str):
                lvs[name] = document
            elif kind == "PersistentVolumeClaim" and isinstance(spec.get("volumeName"), str):
                bound[spec["volumeName"]] = (str(namespace), str(name))
            elif kind == "PersistentVolume":
                if isinstance(spec.get("storageClassName"), str):
                    classes[str(name)] = spec["storageClassName"]
                if isinstance(ref := spec.get("claimRef"), dict):
                    bound[str(name)] = (str(ref.get("namespace")), str(ref.get("name")))
            elif kind == "Cluster" and isinstance(
                volume := ((spec.get("storage") or {}).get("pvcTemplate") or {}).get("volumeName"),
                str,
            ):
                bound[volume] = (str(namespace), f"{name}-1")
    return lvs, bound, classes


def _volumes(project: Project) -> Iterator[tuple[Volume | Postgres, LVMVolume, tuple[str, str]]]:
    """Every declared LV with its owner (Volume, Postgres) and the claim that binds it."""
    for volume in project.of_type(Volume):
        namespace = project.apps[volume.app].namespace_name
        yield volume, volume.lv, (namespace, volume.claim.name)
    for db in project.of_type(Postgres):
        namespace = project.apps[db.app].namespace_name
        for serial, lv in enumerate(db.lvs, start=1):
            yield db, lv, (namespace, f"{db.name}-{serial}")


def _move(owner: Volume | Postgres, lv: LVMVolume, suffix: str, setting: str) -> str:
    """The declaration, ready to paste, of a new volume taking over `lv`'s data."""
    name = f"{owner.name or 'data'}-{suffix}"
    return f"{type(owner).__name__}({name!r}, size={lv.size!r}, {setting}, data_from={lv.name!r})"


def refuse_storage_changes(project: Project, removal: Removal) -> Iterator[Problem]:
    """Changes to a volume the previous tree has that the cluster cannot apply or that would
    lose data: a smaller size, a bigger one not yet made in the cluster, another volume group
    (tier) or node for the same LV, the PV bound to a claim of another name or namespace.
    What each component does is cited in docs/upstream.md; docs/data-safety.md lists them."""
    old_lvs, old_claims, old_classes = _previous(removal)
    nodes = project.cluster.node_names
    for owner, lv, claim in _volumes(project):
        old = old_lvs.get(lv.name)
        what = f"{type(owner).__name__} {owner.name or lv.name!r}"
        if old is not None:
            spec = old.get("spec") or {}
            old_size, old_vg, old_node = (
                str(spec.get("capacity", "")),
                spec.get("volGroup"),
                spec.get("ownerNodeID"),
            )
            try:
                before, after = parse_quantity(old_size), parse_quantity(lv.size)
            except ValueError:
                before = after = Decimal(0)
            vg = (
                project.cluster.storage[lv.tier].volume_group
                if lv.tier in project.cluster.storage
                else None
            )
            if after < before:
                yield Problem.at(
                    owner,
                    Mistake(
                        f"shrinks LV {old_vg}/{lv.name} from {old_size} to {lv.size}: "
                        "Kubernetes refuses a smaller request on a bound claim and lvm-localpv "
                        f"cannot shrink an LV, so Flux's apply would fail. Keep size={old_size!r} "
                        "(or more); for a smaller volume, declare a new one and copy the data over",
                        record=what,
                    ),
                )
            elif after > before and not owner.size_reason:
                yield Problem.at(
                    owner,
                    Mistake(
                        f"grows LV {old_vg}/{lv.name} from {old_size} to {lv.size}. Written "
                        "into out/ alone this would not grow it: lvm-localpv ignores a new "
                        "capacity on a Ready LVMVolume, and Kubernetes expands a volume only while "
                        "its claim asks for more than its PV holds. Grow it in the cluster first: "
                        f"`kubectl -n {claim[0]} patch pvc {claim[1]} -p "
                        f'\'{{"spec":{{"resources":{{"requests":{{"storage":"{lv.size}"}}}}}}}}\'` '
                        "(the StorageClass allows expansion: the CSI resizer extends the LV and "
                        "lvm-localpv's node plugin the filesystem), wait until the claim's "
                        f'capacity shows {lv.size}, then build with size_reason="grown in the '
                        'cluster on <date>" and push (until then Flux cannot apply the old out/: '
                        "a claim's request never shrinks)",
                        record=what,
                    ),
                )
            if vg is not None and old_vg is not None and vg != old_vg:
                yield Problem.at(
                    owner,
                    Mistake(
                        f"puts LV {lv.name} on tier {lv.tier!r} (volume group {vg}), but the "
                        f"cluster has it in {old_vg}: LVM does not move it, and the new storage "
                        "class would only relabel the PV while a bound claim's class cannot "
                        f"change. Keep the tier of {old_vg}; to move the data, keep the old "
                        f"declaration and add {_move(owner, lv, lv.tier, f'tier={lv.tier!r}')} "
                        "(klaster todo lists the copy), then retire the old LV",
                        record=what,
                    ),
                )
            node = lv.node_name(nodes) if (lv.node is None or lv.node in nodes) else None
            if node is not None and old_node is not None and node != old_node:
                placed = f"nodes=[{node!r}]" if isinstance(owner, Postgres) else f"node={node!r}"
                yield Problem.at(
                    owner,
                    Mistake(
                        f"puts LV {lv.name} on node {node!r}, but it lives on {old_node!r}: "
                        "an LV is a disk on one node, and pinning its PV elsewhere leaves the pod "
                        f"Pending. Keep node={old_node!r}; to move the data, keep the old "
                        f"declaration and add {_move(owner, lv, node, placed)} (klaster todo "
                        "lists the copy), then retire the old LV",
                        record=what,
                    ),
                )
        old_class = old_classes.get(lv.name)
        tier = project.cluster.storage.get(lv.tier)
        if (
            tier is not None
            and old_class is not None
            and tier.storage_class != old_class
            and (old is None or (old.get("spec") or {}).get("volGroup") == tier.volume_group)
        ):
            yield Problem.at(
                owner,
                Mistake(
                    f"puts PV {lv.name} and its claim {claim[0]}/{claim[1]} in storage class "
                    f"{tier.storage_class!r}, but the cluster's are in {old_class!r}: a bound "
                    "claim's storageClassName cannot change (the API server refuses the apply), "
                    "and a new class would only relabel the LV, never move it. Keep the class: "
                    f'StorageTier(..., storage_class="{old_class}") for tier {lv.tier!r} in '
                    "klasterfile.py (or declare a new volume with data_from= and copy)",
                    record=what,
                ),
            )
        old_claim = old_claims.get(lv.name)
        moved = isinstance(owner, Volume) and owner.claim_reason
        if old_claim is not None and old_claim != claim and not moved:
            declared = (
                ', or move it on purpose with claim_reason="<why>" (klaster todo then lists '
                "the re-bind of the PV)"
                if isinstance(owner, Volume)
                else f"; to move the database, declare a new one with data_from={lv.name!r}"
            )
            yield Problem.at(
                owner,
                Mistake(
                    f"binds PV {lv.name} to claim {claim[0]}/{claim[1]}, but the cluster's PV "
                    f"stays bound to {old_claim[0]}/{old_claim[1]} (its claimRef), so the new "
                    "claim would stay Pending. Keep the claim: the namespace with App(namespace="
                    f"{old_claim[0]!r}) and the name with claim_name={old_claim[1]!r} (a "
                    f"database's claim is named after the database){declared}",
                    record=what,
                ),
            )


def claim_moves(project: Project, graph: ProjectGraph) -> Iterator[OperatorStep]:
    """`claim_reason=`: a Volume's claim renamed or moved on purpose. The PV keeps the old
    claim's claimRef until it is cleared; then the new claim binds it by volumeName."""
    for volume in project.of_type(Volume):
        if volume.claim_reason:
            namespace = project.apps[volume.app].namespace_name
            pv = volume.pv.name
            yield OperatorStep(
                80,
                "claim-move",
                f"claim-move:{pv}:{namespace}/{volume.claim.name}",
                f"Re-bind PV {pv} to claim {namespace}/{volume.claim.name} once Flux has "
                f"applied it: when the old claim is gone (`kubectl get pv {pv}` shows Released), "
                f"`kubectl patch pv {pv} --type json -p "
                """'[{"op":"remove","path":"/spec/claimRef"}]'` """
                "(the data stays on the LV; the new claim then binds it); then delete "
                "claim_reason=",
                {"pv": pv, "namespace": namespace, "claim": volume.claim.name},
                volume.origin,
            )


def _copy_command(namespace: str, source: str, target: str) -> str:
    """A one-off pod in `namespace` that copies claim `source` into claim `target`."""
    mounts = [{"name": side, "mountPath": f"/{side}"} for side in ("from", "to")]
    claims = [
        {"name": side, "persistentVolumeClaim": {"claimName": claim}}
        for side, claim in (("from", source), ("to", target))
    ]
    pod = {
        "spec": {
            "containers": [
                {
                    "name": "klaster-copy",
                    "image": "busybox:1.37",
                    "command": ["cp", "-a", "/from/.", "/to/"],
                    "volumeMounts": mounts,
                }
            ],
            "volumes": claims,
        }
    }
    return (
        f"kubectl -n {namespace} run klaster-copy --rm -i --restart=Never --image=busybox:1.37 "
        f"--overrides='{json.dumps(pod, separators=(',', ':'))}'"
    )


def data_moves(project: Project, graph: ProjectGraph) -> Iterator[OperatorStep]:
    """`data_from=`: copy the old LV's data into the new volume (a database: pg_dump piped
    into pg_restore), listed before the old LV's retirement steps (90, 91)."""
    declared = {lv.name: (owner, lv, claim) for owner, lv, claim in _volumes(project)}
    nodes = project.cluster.node_names
    for owner, lv, (namespace, claim) in _volumes(project):
        if owner.data_from is None or lv is not (
            owner.lvs[0] if isinstance(owner, Postgres) else owner.lv
        ):
            continue
        old = owner.data_from
        source = declared.get(old)
        if isinstance(owner, Postgres):
            old_db = source[0].name if source else old.removesuffix("-1")
            old_ns = source[2][0] if source else namespace
            database = owner.database or "app"  # CloudNativePG's initdb default
            text = (
                f"Move the data of database {old_db} (LV {old}) into {owner.name} (LV {lv.name}) "
                f"before retiring {old}: stop the app's writers, then `kubectl -n {old_ns} exec "
                f"{old_db}-1 -c postgres -- pg_dump -Fc -d {database} | kubectl -n {namespace} "
                f"exec -i {owner.name}-1 -c postgres -- pg_restore --no-owner "
                f"--role={owner.owner or 'app'} -d {database}`"
            )
        elif (
            source is not None
            and source[2][0] == namespace
            and source[1].node_name(nodes) == lv.node_name(nodes)
        ):
            text = (
                f"Copy the data of LV {old} into {lv.name} before retiring {old}: stop what "
                f"writes to claim {source[2][1]} (scale its workloads to 0), then "
                f"`{_copy_command(namespace, source[2][1], claim)}`"
            )
        else:
            text = (
                f"Copy the data of LV {old} into {lv.name} (claim {namespace}/{claim}, node "
                f"{lv.node_name(nodes)}) before retiring {old}: keep the old volume declared "
                "(lv_name=) in the same namespace and on the same node until the copy is done "
                "(a pod mounts both claims then), or copy over the network"
            )
        yield OperatorStep(
            85,
            "data-move",
            f"data-move:{lv.name}:{old}",
            text,
            {"from": old, "to": lv.name},
            owner.origin,
        )


def check_data_sources(project: Project, graph: ProjectGraph) -> Iterator[Problem]:
    """`data_from=` names an LV apps.d declares (the copy comes first) or retires (the
    retirement comes after the copy): anything else is a typo, and todo would copy nothing."""
    known = [lv.name for lv in project.of_type(LVMVolume)]
    known += [retired.name for retired in project.of_type(RetiredVolume)]
    kinds = {lv.name: type(owner) for owner, lv, _claim in _volumes(project)}
    owners: list[Volume | Postgres] = [*project.of_type(Volume), *project.of_type(Postgres)]
    for owner in owners:
        kind = kinds.get(owner.data_from or "", type(owner))
        if kind is not type(owner):
            yield Problem.at(
                owner,
                Mistake(
                    f"data_from={owner.data_from!r} names the LV of a {kind.__name__}: a "
                    "database moves into a database (pg_dump), files into a Volume",
                    record=owner.described,
                    instead="declare the new volume as the same kind as the old",
                ),
            )
        if owner.data_from is None or owner.data_from in known:
            continue
        close = did_you_mean(owner.data_from, known, most=3)
        hint = f" ({close})" if close else ""
        yield Problem.at(
            owner,
            Mistake(
                f"data_from={owner.data_from!r} names no LV that apps.d declares or "
                f"retires{hint}: name the old LV (its LVMVolume name), declared next to this one "
                "until the copy is done, then retired with RetiredVolume",
                record=owner.described,
            ),
        )


def check_volume_chain(project: Project, graph: ProjectGraph) -> Iterator[Problem]:
    """LVMVolume name = PV name = volumeHandle, equal capacities, one tier along the chain."""
    for pv in project.of_type(PersistentVolume):
        if pv.name != pv.lv.name:
            yield Problem.at(
                pv,
                Mistake(
                    f"must be named like its LVMVolume {pv.lv.name!r} (volumeHandle)",
                    record=pv.described,
                ),
            )
        if parse_quantity(pv.size) != parse_quantity(pv.lv.size):
            yield Problem.at(
                pv,
                Mistake(
                    f"capacity {pv.size} differs from its LVMVolume's {pv.lv.size}",
                    record=pv.described,
                ),
            )
        if pv.tier != pv.lv.tier:
            yield Problem.at(
                pv,
                Mistake(
                    f"uses the {pv.tier} storage class but its LV is in the {pv.lv.tier} "
                    "volume group",
                    record=pv.described,
                ),
            )
    for claimer, volume in _claims(project):
        if parse_quantity(claimer.size) != parse_quantity(volume.size):
            yield Problem.at(
                claimer,
                Mistake(
                    f"requests {claimer.size} but {volume.described} holds {volume.size}",
                    record=claimer.described,
                ),
            )
        if claimer.tier != volume.tier:
            yield Problem.at(
                claimer,
                Mistake(
                    f"uses the {claimer.tier} storage class but {volume.described} is {volume.tier}",
                    record=claimer.described,
                ),
            )


def check_single_claim(project: Project, graph: ProjectGraph) -> Iterator[Problem]:
    """Each PV is claimed by exactly one PVC or CNPG cluster."""
    claims: dict[PersistentVolume, list[Any]] = defaultdict(list)
    for claimer, volume in _claims(project):
        claims[volume].append(claimer)
    for pv in project.of_type(PersistentVolume):
        holders = claims.get(pv, [])
        if len(holders) > 1:
            places = ", ".join(f"{type(h).__name__} {h.name!r} ({h.origin})" for h in holders)
            yield Problem(
                holders[1].origin,
                Mistake(
                    f"is claimed more than once: {places}",
                    record=pv.described,
                    instead="give each claim its own volume",
                ),
                subject=pv.address,
            )
        elif not holders:
            yield Problem.at(
                pv,
                Mistake(
                    "is claimed by nothing",
                    record=pv.described,
                    instead="declare it through Volume(...) or Postgres(...)",
                ),
            )


def check_unique_lv_names(project: Project, graph: ProjectGraph) -> Iterator[Problem]:
    """LV names are unique across the cluster: they share the openebs namespace and the disk."""
    seen: dict[str, LVMVolume] = {}
    for lv in project.of_type(LVMVolume):
        other = seen.get(lv.name)
        if other is not None:
            yield Problem.at(
                lv,
                Mistake(
                    f"is already used by {other.origin}",
                    record=f"LV name {lv.name!r}",
                    instead=f"LVs share the {LVM_NAMESPACE} namespace and the disk, pick another "
                    "name",
                ),
            )
        else:
            seen[lv.name] = lv


def check_storage_use(project: Project, graph: ProjectGraph) -> Iterator[Problem]:
    """Warn about claims nothing uses and databases off ssd without a `tier_reason=`."""
    for claim in project.of_type(PersistentVolumeClaim):
        users = [d for d in graph.dependents(claim) if not isinstance(d, Volume)]
        owner = next((d for d in graph.dependents(claim) if isinstance(d, Volume)), None)
        if not users and (owner is None or not graph.dependents(owner)):
            yield Problem.at(
                claim,
                Mistake(
                    "is mounted or referenced by nothing",
                    record=f"claim {claim.name!r}",
                    instead="mount it (mounts={...: volume.claim}) or remove the volume",
                ),
                severity="warning",
            )
    for db in project.of_type(Postgres):
        if db.tier != "ssd" and "ssd" in project.cluster.storage and not db.tier_reason:
            yield Problem.at(
                db,
                Mistake(
                    f"is on {db.tier}",
                    record=f"database {db.name!r}",
                    instead="the guideline puts databases on ssd (small, latency-bound data). "
                    'Move it (a data move), or say why it stays: Postgres(..., tier_reason="...")',
                ),
                severity="warning",
            )


# Databases a chart can bundle: the guideline's databases are CloudNativePG clusters (Postgres).
_BUNDLED_DATABASES = frozenset(
    {"postgresql", "postgresql-ha", "postgres", "mariadb", "mysql", "mongodb", "internaldatabase"}
)
# Sub-charts that make their own claims when enabled: fine when their storage is a klaster
# claim (`existingClaim: volume.claim`), otherwise a claim nothing of klaster's holds.
_BUNDLED_STORES = frozenset(
    {
        "redis",
        "redis-cluster",
        "valkey",
        "valkey-cluster",
        "keydb",
        "minio",
        "elasticsearch",
        "opensearch",
        "rabbitmq",
        "kafka",
        "zookeeper",
        "etcd",
        "clickhouse",
        "cassandra",
    }
)


def _holds_claim(values: Any) -> bool:
    """Whether `values` name one of klaster's claims (`volume.claim`, directly or by ref())."""
    return any(
        isinstance(reference, PersistentVolumeClaim | AddressRef)
        for reference in references_in(values)
    )


def _bundled_storage(values: Any, path: str = "") -> Iterator[str]:
    """Paths in Helm values where a chart makes storage klaster does not hold: a bundled
    database, a bundled store or persistence turned on without one of klaster's claims (a
    dynamic claim on the default StorageClass, reclaim Delete: removing the release deletes
    the data), or a storage class named."""
    if isinstance(values, dict):
        last = path.rsplit(".", 1)[-1].lower()
        if values.get("enabled") is True:
            if last in _BUNDLED_DATABASES:
                yield f"{path}.enabled: true (a bundled database; declare a Postgres(...) and point the chart at it)"
                return
            if (last in _BUNDLED_STORES or "persistence" in last) and not _holds_claim(values):
                yield f"{path}.enabled: true without one of klaster's claims (the chart makes its own claim on the default StorageClass, deleted with the release; declare a Volume(...) and pass existingClaim: volume.claim)"
        for key, value in values.items():
            here = f"{path}.{key}" if path else str(key)
            if key in ("storageClass", "storageClassName") and isinstance(value, str) and value:
                yield f"{here}: {value} (chart-provisioned storage; bring a Volume(...) and pass volume.claim)"
            else:
                yield from _bundled_storage(value, here)
    elif isinstance(values, list):
        for index, item in enumerate(values):
            yield from _bundled_storage(item, f"{path}[{index}]")


def check_bundled_storage(project: Project, graph: ProjectGraph) -> Iterator[Problem]:
    """Charts must not provision their own volumes or databases unless allowed with a reason."""
    for release in project.of_type(HelmRelease):
        if release.bundled_storage_reason:
            continue
        for finding in _bundled_storage(release.values):
            yield Problem.at(
                release,
                Mistake(
                    f"values set {finding}, or pass bundled_storage_reason='<reason>'",
                    record=release.described,
                ),
            )


def _claim_volume(claim: PersistentVolumeClaim, ctx: RenderContext) -> dict[str, Any]:
    return {"persistentVolumeClaim": {"claimName": claim.name}}


FAMILY = Family(
    "storage",
    exports=(
        Postgres,
        Volume,
    ),
    mounts={PersistentVolumeClaim: Mountable(_claim_volume)},
    read_by_name=frozenset({(PersistentVolumeClaim, "name"), (PostgresCluster, "app_secret")}),
    references={
        (PostgresCluster, "app_secret"): lambda cluster, _ctx: f"{cluster.name}-app",
        (PostgresCluster, "rw_service"): lambda cluster, _ctx: f"{cluster.name}-rw",
        (PostgresCluster, "host"): lambda cluster, ctx: (
            f"{cluster.name}-rw.{ctx.namespace(cluster)}.svc.cluster.local"
        ),
    },
    records=(
        LVMVolume,
        PersistentVolume,
        PersistentVolumeClaim,
        PostgresCluster,
        Volume,
        Postgres,
    ),
    emitters={
        LVMVolume: emit_lvm_volume,
        PersistentVolume: emit_persistent_volume,
        PersistentVolumeClaim: emit_claim,
        PostgresCluster: emit_postgres_cluster,
    },
    removals=(refuse_storage_changes,),
    steps=(claim_moves, data_moves),
    checks=(
        check_data_sources,
        check_tiers,
        check_nodes,
        check_volume_chain,
        check_single_claim,
        check_unique_lv_names,
        check_storage_use,
        check_bundled_storage,
    ),
)
