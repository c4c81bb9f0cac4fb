"""Cluster-level outputs: infra controllers and configs with their kustomization, StorageClasses
from the klasterfile's tiers, the Flux entry Kustomizations, Talos exemption patches with the
generated Makefile, and the router's port-forward list."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from klaster_build.emit.exposure import exemption_patch
from klaster_build.emit.outputs import KUSTOMIZATION, Output, metadata
from klaster_build.family import Family
from klaster_build.records.exposure import LoadBalancer, needs_exemption
from klaster_build.records.infra import InfraComponent, InfraConfig
from klaster_build.render_context import RenderContext
from klaster_build.values import resolve

# API groups that exist without any infra controller (Kubernetes itself and Flux's bootstrap).
BUILT_IN_GROUPS = frozenset(
    {
        "",
        "apps",
        "batch",
        "networking.k8s.io",
        "rbac.authorization.k8s.io",
        "policy",
        "storage.k8s.io",
        "kustomize.config.k8s.io",
    }
)
FLUX_GROUP_SUFFIX = ".toolkit.fluxcd.io"


def emit_infra_component(component: InfraComponent, ctx: RenderContext) -> Iterator[Output]:
    """infra/controllers/<name>.yaml: Namespace (when owned), HelmRepository, HelmRelease."""
    path = f"infra/controllers/{component.name}.yaml"
    repository = component.repository or component.name
    if component.create_namespace:
        yield Output(
            path,
            component,
            document={
                "apiVersion": "v1",
                "kind": "Namespace",
                "metadata": {"name": component.namespace},
            },
        )
    repo_spec: dict[str, Any] = {
        "interval": ctx.cluster.intervals.helm_repository,
        "url": component.url,
    }
    if component.repository_type:
        repo_spec["type"] = component.repository_type
    yield Output(
        path,
        component,
        document={
            "apiVersion": "source.toolkit.fluxcd.io/v1",
            "kind": "HelmRepository",
            "metadata": metadata(repository, component.namespace),
            "spec": repo_spec,
        },
    )
    spec: dict[str, Any] = {
        "interval": ctx.cluster.intervals.helm_release,
        "chart": {
            "spec": {
                "chart": component.chart,
                "version": component.version,
                "sourceRef": {
                    "kind": "HelmRepository",
                    "name": repository,
                    "namespace": component.namespace,
                },
            }
            | ({"interval": ctx.cluster.intervals.chart} if ctx.cluster.intervals.chart else {})
        },
    }
    if component.values:
        spec["values"] = resolve(component.values, ctx)
    yield Output(
        path,
        component,
        document={
            "apiVersion": "helm.toolkit.fluxcd.io/v2",
            "kind": "HelmRelease",
            "metadata": metadata(component.release or component.name, component.namespace),
            "spec": spec,
        },
    )


def emit_infra_config(config: InfraConfig, ctx: RenderContext) -> Iterator[Output]:
    """infra/configs/<file>: the documents as declared."""
    for document in config.documents:
        yield Output(
            f"infra/{config.directory}/{config.file}", config, document=resolve(document, ctx)
        )


def storage_classes(ctx: RenderContext) -> Iterator[Output]:
    """One OpenEBS LVM StorageClass per klasterfile tier (infra/configs/lvmpv-<tier>-sc.yaml)."""
    for tier, setting in ctx.cluster.storage.items():
        meta: dict[str, Any] = {"name": setting.storage_class}
        if tier == ctx.cluster.default_storage_tier:
            meta["annotations"] = {"storageclass.kubernetes.io/is-default-class": "true"}
        yield Output(
            f"infra/configs/lvmpv-{tier}-sc.yaml",
            ctx.cluster,
            document={
                "apiVersion": "storage.k8s.io/v1",
                "kind": "StorageClass",
                "metadata": meta,
                "parameters": {
                    "storage": "lvm",
                    "volgroup": setting.volume_group,
                    "fsType": "btrfs",
                    "shared": "yes",
                },
                "provisioner": "local.csi.openebs.io",
                "allowVolumeExpansion": True,
                "volumeBindingMode": "Immediate",
            },
        )


def _group(document: dict[str, Any] | None) -> str:
    api = str((document or {}).get("apiVersion", ""))
    return api.rsplit("/", 1)[0] if "/" in api else ""


def flux_entry(by_path: dict[str, list[Output]], ctx: RenderContext) -> Iterator[Output]:
    """cluster/infra.yaml and cluster/apps.yaml; apps depend on infra when they use its CRDs."""
    provided = {g for r in ctx.records() if isinstance(r, InfraComponent) for g in r.provides}
    app_groups = {
        _group(o.document)
        for path, outputs in by_path.items()
        if path.startswith("apps/")
        for o in outputs
        if o.document
    }
    needs_infra = {
        g
        for g in app_groups
        if g in provided or (g not in BUILT_IN_GROUPS and not g.endswith(FLUX_GROUP_SUFFIX))
    }
    out_dir = ctx.cluster.out_dir
    for name in ("infra", "apps"):
        spec: dict[str, Any] = {
            "interval": ctx.cluster.flux_interval,
            "sourceRef": {"kind": "GitRepository", "name": ctx.cluster.flux_source},
            "path": f"./{out_dir}/{name}",
            "prune": True,
            "wait": True,
        }
        if name == "apps" and needs_infra:
            spec["dependsOn"] = [{"name": "infra"}]
        yield Output(
            f"cluster/{name}.yaml",
            ctx.cluster,
            document={
                "apiVersion": "kustomize.toolkit.fluxcd.io/v1",
                "kind": "Kustomization",
                "metadata": {"name": name, "namespace": "flux-system"},
                "spec": spec,
            },
        )
    yield Output(
        "cluster/kustomization.yaml",
        ctx.cluster,
        document={**KUSTOMIZATION, "resources": ["infra.yaml", "apps.yaml"]},
    )


def _privileged(ctx: RenderContext) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for record in ctx.records():
        if needs_exemption(record):
            found.setdefault(ctx.namespace(record), record)
    return dict(sorted(found.items()))


def talos_outputs(ctx: RenderContext) -> Iterator[Output]:
    """PodSecurity exemption patches and the Makefile whose gen-talos-config applies them."""
    namespaces = _privileged(ctx)
    for namespace, record in namespaces.items():
        yield Output(f"talos/patches/{namespace}.patch", record, text=exemption_patch(namespace))
    talos = ctx.cluster.talos
    if talos is None:
        return
    endpoint = talos.endpoint
    host = endpoint.split("://", 1)[-1].split(":", 1)[0].split("/", 1)[0]
    out_dir = ctx.cluster.out_dir
    app_patches = [f"{out_dir}/talos/patches/{ns}.patch" for ns in namespaces]
    # Workers get the first base patch (the cluster-wide settings, as the real repo's worker.yaml
    # does), never the exemptions: PodSecurity admission runs in the API server, which only
    # control-plane nodes host, and it applies cluster-wide from there (docs/upstream.md, Nodes).
    worker_patches = list(talos.base_patches[:1])
    lines = [".PHONY: gen-talos-config", "gen-talos-config:", f"\tmkdir -p {talos.generated_dir}"]
    for node in ctx.cluster.nodes:
        controlplane = node.role == "controlplane"
        patches = [*talos.base_patches, *app_patches] if controlplane else [*worker_patches]
        if node.name in talos.node_patches:
            patches.append(talos.node_patches[node.name])
        lines.append("\ttalosctl gen config \\")
        lines.append(f"\t\t--with-secrets {talos.secrets_file} \\")
        lines.extend(f"\t\t--config-patch @{patch} \\" for patch in patches)
        lines.append(f"\t\t--output-types {node.role} -o {talos.generated_dir}/{node.name}.yaml \\")
        lines.append(f"\t\t{talos.cluster_name} {endpoint}")
    worker_patch = "".join(f" --config-patch @{patch}" for patch in worker_patches)
    lines.append(
        f"\ttalosctl gen config --with-secrets {talos.secrets_file}{worker_patch} --output-types worker -o {talos.generated_dir}/worker.yaml {talos.cluster_name} {endpoint}"
    )
    lines.append(
        f"\ttalosctl gen config --with-secrets {talos.secrets_file} --output-types talosconfig -o {talos.generated_dir}/talosconfig {talos.cluster_name} {endpoint}"
    )
    lines.append(f"\ttalosctl config endpoint {host}")
    yield Output("Makefile", ctx.cluster, text="\n".join(lines) + "\n")


def port_forwards(ctx: RenderContext) -> Iterator[Output]:
    """router/port-forwards.json: the LoadBalancer ports declared public, which the router's
    Ansible role (include_vars) must forward over IPv4."""
    entries = [
        {
            "name": f"{ctx.namespace(lb)}-{lb.name}-{port.name}",
            "namespace": ctx.namespace(lb),
            "service": lb.name,
            "port": port.number,
            "protocol": port.protocol.lower(),
        }
        for lb in ctx.records()
        if isinstance(lb, LoadBalancer)
        for port in lb.forwarded_ports
    ]
    if entries:
        text = json.dumps({"port_forwards": entries}, indent=2) + "\n"
        yield Output("router/port-forwards.json", ctx.cluster, text=text)


def infra_index(by_path: dict[str, list[Output]], ctx: RenderContext) -> Iterator[Output]:
    """Every cluster-level output, and infra/kustomization.yaml listing the infra files."""
    extra = [
        *storage_classes(ctx),
        *talos_outputs(ctx),
        *port_forwards(ctx),
        *flux_entry(by_path, ctx),
    ]
    yield from extra
    infra_files = [p for p in by_path if p.startswith("infra/") and p != "infra/kustomization.yaml"]
    infra_files += [o.path for o in extra if o.path.startswith("infra/")]
    controllers = [p for p in infra_files if p.startswith("infra/controllers/")]
    configs = [p for p in infra_files if not p.startswith("infra/controllers/")]
    resources = [p.removeprefix("infra/") for p in dict.fromkeys(controllers + configs)]
    yield Output(
        "infra/kustomization.yaml",
        ctx.cluster,
        document={**KUSTOMIZATION, "resources": resources},
    )


FAMILY = Family(
    "infra",
    records=(
        InfraComponent,
        InfraConfig,
    ),
    emitters={InfraComponent: emit_infra_component, InfraConfig: emit_infra_config},
    indexers=(infra_index,),
)
