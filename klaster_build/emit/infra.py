"""Cluster-level outputs: infra controllers and configs with their kustomization, StorageClasses
from the klasterfile's tiers, the Flux entry Kustomizations, Talos exemption patches with the
generated Makefile, and the router's port-forward list."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from typing import Any

from klaster_build.emit.outputs import (
    KUSTOMIZATION,
    Output,
    exemption_patch,
    git_ignore_rules,
    identity,
    metadata,
)
from klaster_build.errors import Mistake, Problem
from klaster_build.family import Family
from klaster_build.graph import ProjectGraph
from klaster_build.names import api_group
from klaster_build.project import Project
from klaster_build.records.exposure import LoadBalancer, needs_exemption
from klaster_build.records.infra import GitCrds, InfraComponent, InfraConfig
from klaster_build.render_context import RenderContext
from klaster_build.values import resolve


def emit_infra_component(component: InfraComponent, ctx: RenderContext) -> Iterator[Output]:
    """infra/<directory>/<name>.yaml: Namespace (when owned), HelmRepository, HelmRelease, and
    the Flux objects that apply the CRDs the chart does not ship."""
    path = f"infra/{component.directory}/{component.name}.yaml"
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
    providers = _providers(ctx)
    needed = dict.fromkeys(providers[g] for g in component.uses if g in providers)
    if needed:
        spec["dependsOn"] = [
            {"name": p.release or p.name, "namespace": p.namespace} for p in needed
        ]
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
    if component.crds is not None:
        yield from _git_crds(path, component, component.crds, ctx)


def _providers(ctx: RenderContext) -> dict[str, InfraComponent]:
    """API group -> the infra component that installs its CRDs."""
    if "crd_providers" not in ctx.memo:
        ctx.memo["crd_providers"] = _provided_groups(ctx.records())
    providers: dict[str, InfraComponent] = ctx.memo["crd_providers"]
    return providers


def _provided_groups(records: Iterable[object]) -> dict[str, InfraComponent]:
    found: dict[str, InfraComponent] = {}
    for record in records:
        if isinstance(record, InfraComponent):
            for group in record.provides:
                found.setdefault(group, record)
    return found


# Namespaces Kubernetes and Flux own: an app's objects there mix with the cluster's own, and
# pruning the app's Namespace would delete the cluster's (kube-system: the API's add-ons).
CLUSTER_NAMESPACES = frozenset(
    {"default", "kube-system", "kube-public", "kube-node-lease", "flux-system"}
)


def check_app_namespaces(project: Project, graph: ProjectGraph) -> Iterator[Problem]:
    """An app's namespace is its own: never one the cluster or an infra controller owns (its
    Namespace document would be the app's, and removing the app would prune it)."""
    controllers = {c.namespace: c for c in project.of_type(InfraComponent)}
    for app in project.apps.values():
        if app.infra:
            continue
        namespace = app.namespace_name
        owner = "Kubernetes or Flux" if namespace in CLUSTER_NAMESPACES else None
        if namespace in controllers:
            owner = f"the infra controller {controllers[namespace].name!r} ({controllers[namespace].origin})"
        if owner is not None:
            yield Problem.at(
                app,
                Mistake(
                    f"would live in namespace {namespace!r}, which {owner} owns: its objects "
                    "would mix with theirs and removing the app would delete the namespace. Give "
                    f'it a namespace of its own (App(namespace="{app.app}") or another name)',
                    record=f"app {app.app!r}",
                ),
            )


def check_uses(project: Project, graph: ProjectGraph) -> Iterator[Problem]:
    """What a chart creates of another component's API groups is installed by then: some
    component provides the group, in the same Kustomization (the HelmRelease waits for it) or
    an earlier one."""
    providers = _provided_groups(project.records)
    for component in project.of_type(InfraComponent):
        for group in component.uses:
            provider = providers.get(group)
            if provider is None:
                yield Problem.at(
                    component,
                    Mistake(
                        f"uses API group {group!r}, which no InfraComponent provides",
                        record=component.described,
                        instead=f"add provides=[{group!r}] to the one that installs its CRDs",
                    ),
                )
            elif provider.directory == "configs" and component.directory == "controllers":
                yield Problem.at(
                    component,
                    Mistake(
                        f"uses API group {group!r} of {provider.name!r}, which infra-configs "
                        "applies after it",
                        record=component.described,
                        instead=f"move {component.name!r} to directory='configs'",
                    ),
                )


def _git_crds(
    path: str, component: InfraComponent, crds: GitCrds, ctx: RenderContext
) -> Iterator[Output]:
    """A GitRepository fetching only the CRD directory at the chart version's tag, and a
    Kustomization applying it (never pruned: deleting a CRD deletes every object of its kind)."""
    name = f"{component.name}-crds"
    yield Output(
        path,
        component,
        document={
            "apiVersion": "source.toolkit.fluxcd.io/v1",
            "kind": "GitRepository",
            "metadata": metadata(name, FLUX_NAMESPACE),
            "spec": {
                "interval": ctx.cluster.intervals.git_repository,
                "url": crds.url,
                "ref": {"tag": crds.tag.format(version=component.version)},
                "ignore": git_ignore_rules(crds.path),
            },
        },
    )
    yield Output(
        path,
        component,
        document={
            "apiVersion": "kustomize.toolkit.fluxcd.io/v1",
            "kind": "Kustomization",
            "metadata": metadata(name, FLUX_NAMESPACE),
            "spec": {
                "interval": ctx.cluster.flux_interval,
                "sourceRef": {"kind": "GitRepository", "name": name},
                "path": f"./{crds.path}",
                "prune": False,
                "wait": True,
            },
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


FLUX_NAMESPACE = "flux-system"
# The Flux Kustomizations of cluster/, in the order a fresh cluster applies them: each waits for
# the one before to be Ready (dependsOn) and is Ready only when all it applied is (wait).
LAYERS = (
    ("infra-controllers", "infra/controllers/"),
    ("infra-configs", "infra/configs/"),
    ("apps", "apps/"),
)


RETIRED_LAYER = "infra"  # the single infra Kustomization before the split


def layer_of(path: str) -> int | None:
    """The index in LAYERS of the Kustomization that applies the out/ file `path`."""
    for index, (_, prefix) in enumerate(LAYERS):
        if path.startswith(prefix):
            return index
    return None


def flux_entry(ctx: RenderContext) -> Iterator[Output]:
    """cluster/infra.yaml (infra-controllers, then infra-configs) and cluster/apps.yaml, each
    depending on the one before."""
    out_dir = ctx.cluster.out_dir
    previous: str | None = None
    for name, prefix in LAYERS:
        spec: dict[str, Any] = {
            "interval": ctx.cluster.flux_interval,
            "sourceRef": {"kind": "GitRepository", "name": ctx.cluster.flux_source},
            "path": f"./{out_dir}/{prefix.rstrip('/')}",
            "prune": True,
            "wait": True,
        }
        if previous is not None:
            spec["dependsOn"] = [{"name": previous}]
        previous = name
        yield Output(
            f"cluster/{name.split('-', 1)[0]}.yaml",
            ctx.cluster,
            document={
                "apiVersion": "kustomize.toolkit.fluxcd.io/v1",
                "kind": "Kustomization",
                "metadata": {"name": name, "namespace": FLUX_NAMESPACE},
                "spec": spec,
            },
        )
    # The one `infra` Kustomization of earlier out/ trees stays, suspended and never pruning:
    # deleting it, or letting it reconcile a tree without its objects, would garbage-collect
    # everything still labelled as its own (Cilium, OpenBao and its LV...) before the new
    # layers take the objects over (kustomize-controller's finalize skips a suspended or
    # non-pruning Kustomization; docs/upstream.md). Harmless on a fresh cluster.
    yield Output(
        "cluster/infra.yaml",
        ctx.cluster,
        document={
            "apiVersion": "kustomize.toolkit.fluxcd.io/v1",
            "kind": "Kustomization",
            "metadata": {"name": RETIRED_LAYER, "namespace": FLUX_NAMESPACE},
            "spec": {
                "interval": ctx.cluster.flux_interval,
                "sourceRef": {"kind": "GitRepository", "name": ctx.cluster.flux_source},
                "path": f"./{out_dir}/{LAYERS[0][1].rstrip('/')}",
                "prune": False,
                "suspend": True,
            },
        },
    )
    yield Output(
        "cluster/kustomization.yaml",
        ctx.cluster,
        document={**KUSTOMIZATION, "resources": ["infra.yaml", "apps.yaml"]},
    )


# API groups every cluster serves without an infra controller: Kubernetes' own
# (kubernetes/kubernetes pkg/controlplane/instance.go and apiextensions) and Flux's, which
# bootstrap installs before anything of out/ (gotk-components.yaml).
CORE_GROUPS = frozenset(
    {
        "",
        "admissionregistration.k8s.io",
        "apiextensions.k8s.io",
        "apiregistration.k8s.io",
        "apps",
        "autoscaling",
        "batch",
        "certificates.k8s.io",
        "coordination.k8s.io",
        "discovery.k8s.io",
        "events.k8s.io",
        "flowcontrol.apiserver.k8s.io",
        "networking.k8s.io",
        "node.k8s.io",
        "policy",
        "rbac.authorization.k8s.io",
        "resource.k8s.io",
        "scheduling.k8s.io",
        "storage.k8s.io",
    }
)
FLUX_GROUP_SUFFIX = ".toolkit.fluxcd.io"


def crd_problems(by_path: dict[str, list[Output]]) -> Iterator[Problem]:
    """Every custom resource of out/ is of an API group an infra controller provides, applied by
    a Kustomization that depends on the controller's: else Flux fails the whole Kustomization
    (no CRD) or a fresh cluster does (the CRD comes in the same apply). Checked once apps.d
    declares infra controllers at all (a project of apps alone deploys onto someone's infra)."""
    records = [o.record for outputs in by_path.values() for o in outputs]
    if not any(isinstance(record, InfraComponent) for record in records):
        return  # no infra file: the cluster's controllers are not klaster's to check
    providers = _provided_groups(records)
    for path, outputs in by_path.items():
        layer = layer_of(path)
        if layer is None or path.endswith("kustomization.yaml"):
            continue
        for output in outputs:
            if output.document is None:
                continue
            group = api_group(output.document)
            if group in CORE_GROUPS or group.endswith(FLUX_GROUP_SUFFIX):
                continue
            kind, _, name = identity(output.document)
            what = f"{kind} {name!r} ({output.document.get('apiVersion')}) in out/{path}"
            if group not in providers:
                yield Problem(
                    output.record.origin,
                    Mistake(
                        f"{what}: no infra controller installs the CRD of API group {group!r}, "
                        f"so Flux would fail the whole {LAYERS[layer][0]} Kustomization. Add "
                        f"provides=[{group!r}] to the InfraComponent that installs it (with "
                        "crds=GitCrds(...) when its chart ships no CRDs), or use a core kind"
                    ),
                )
                continue
            provider = providers[group]
            provider_layer = layer_of(f"infra/{provider.directory}/") or 0
            if provider_layer >= layer:
                yield Problem(
                    output.record.origin,
                    Mistake(
                        f"{what}: its CRD comes from InfraComponent {provider.name!r} "
                        f"({provider.origin}), applied by the {LAYERS[provider_layer][0]} "
                        f"Kustomization, and {LAYERS[layer][0]} does not wait for it, so a fresh "
                        "cluster refuses it. Declare it in a later Kustomization: "
                        "InfraConfig(...) (infra/configs) or an app"
                    ),
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
    """Every cluster-level output, and the kustomization.yaml of infra/controllers and
    infra/configs listing their files."""
    extra = [*storage_classes(ctx), *talos_outputs(ctx), *port_forwards(ctx), *flux_entry(ctx)]
    yield from extra
    paths = [*by_path, *(o.path for o in extra)]
    for _, prefix in LAYERS[:2]:
        resources = [p.removeprefix(prefix) for p in dict.fromkeys(paths) if p.startswith(prefix)]
        yield Output(
            f"{prefix}kustomization.yaml",
            ctx.cluster,
            document={**KUSTOMIZATION, "resources": resources},
        )


FAMILY = Family(
    "infra",
    exports=(
        GitCrds,
        InfraComponent,
        InfraConfig,
    ),
    records=(
        InfraComponent,
        InfraConfig,
    ),
    emitters={InfraComponent: emit_infra_component, InfraConfig: emit_infra_config},
    checks=(check_uses, check_app_namespaces),
    indexers=(infra_index,),
    output_checks=(crd_problems,),
)
