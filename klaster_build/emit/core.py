"""Emitters for the core families: app namespace, raw manifests, Flux/Helm, raw workloads."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from klaster_build.emit.outputs import (
    Output,
    app_object,
    app_path,
    git_ignore_rules,
    service_ports,
)
from klaster_build.emit.pods import mounts_claim, pod_template
from klaster_build.emit.volumes import MOUNTS
from klaster_build.family import Family
from klaster_build.records.app import App, Namespace
from klaster_build.records.helm import GitRepository, HelmRelease, HelmRepository
from klaster_build.records.manifest import Manifest
from klaster_build.records.pods import PodSecurityContext, Probe, SecurityContext
from klaster_build.records.workloads import (
    ConfigFiles,
    ConfigMap,
    Container,
    DaemonSet,
    Deployment,
    EmptyDir,
    HostDevice,
    Mount,
    Port,
    Service,
    StatefulSet,
    Workload,
)
from klaster_build.render_context import RenderContext
from klaster_build.values import resolve


def emit_app(app: App, ctx: RenderContext) -> Iterator[Output]:
    """namespace.yaml, written by the app that owns the namespace."""
    if not app.infra and ctx.namespace_owner(app.namespace_name) == app.app:
        yield Output(
            app_path(app, "namespace.yaml"),
            app,
            document={
                "apiVersion": "v1",
                "kind": "Namespace",
                "metadata": {"name": app.namespace_name},
            },
        )


def emit_namespace(namespace: Namespace, ctx: RenderContext) -> Iterator[Output]:
    """An extra namespace of the app, beside the app's own in namespace.yaml."""
    yield Output(
        app_path(namespace, namespace.file),
        namespace,
        document={"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace.name}},
    )


def emit_manifest(record: Manifest, ctx: RenderContext) -> Iterator[Output]:
    """The body as given, placed in the app's namespace unless cluster-scoped or set."""
    body = resolve(record.body, ctx)
    meta = body["metadata"]
    if record.namespaced and "namespace" not in meta:
        body["metadata"] = {"name": meta["name"], "namespace": ctx.namespace(record)} | {
            k: v for k, v in meta.items() if k != "name"
        }
    yield Output(app_path(record, record.file), record, document=body)


def emit_helm_repository(repo: HelmRepository, ctx: RenderContext) -> Iterator[Output]:
    """Flux HelmRepository."""
    spec: dict[str, Any] = {"interval": ctx.cluster.intervals.helm_repository, "url": repo.url}
    if repo.type:
        spec["type"] = repo.type
    yield app_object(
        repo,
        ctx,
        "source.toolkit.fluxcd.io/v1",
        "HelmRepository",
        {
            "spec": spec,
        },
    )


def emit_git_repository(repo: GitRepository, ctx: RenderContext) -> Iterator[Output]:
    """Flux GitRepository that fetches only the chart directory."""
    yield app_object(
        repo,
        ctx,
        "source.toolkit.fluxcd.io/v1",
        "GitRepository",
        {
            "spec": {
                "interval": ctx.cluster.intervals.git_repository,
                "url": repo.url,
                "ref": {"tag": repo.tag},
                "ignore": git_ignore_rules(repo.chart_dir),
            },
        },
    )


def emit_helm_release(release: HelmRelease, ctx: RenderContext) -> Iterator[Output]:
    """Flux HelmRelease; values resolved from references."""
    chart_spec: dict[str, Any] = {"chart": release.chart}
    if release.version is not None:
        chart_spec["version"] = release.version
    source_kind = type(release.source).__name__
    chart_spec["sourceRef"] = {"kind": source_kind, "name": release.source.name}
    if ctx.cluster.intervals.chart is not None:
        chart_spec["sourceRef"]["namespace"] = ctx.namespace(release.source)
        chart_spec["interval"] = ctx.cluster.intervals.chart
    spec: dict[str, Any] = {
        "interval": ctx.cluster.intervals.helm_release,
        "chart": {"spec": chart_spec},
    }
    if release.values:
        spec["values"] = resolve(release.values, ctx)
    yield app_object(
        release,
        ctx,
        "helm.toolkit.fluxcd.io/v2",
        "HelmRelease",
        {
            "spec": spec,
        },
    )


def _apps_output(workload: Workload, head: dict[str, Any], ctx: RenderContext) -> Output:
    """The apps/v1 document of a Deployment, StatefulSet or DaemonSet; `head` holds its own
    fields."""
    spec: dict[str, Any] = {**head, "selector": {"matchLabels": workload.selector_labels}}
    spec["template"] = pod_template(workload, ctx)
    return app_object(
        workload,
        ctx,
        "apps/v1",
        workload.kind,
        {
            "spec": spec,
        },
    )


def emit_deployment(deployment: Deployment, ctx: RenderContext) -> Iterator[Output]:
    """apps/v1 Deployment."""
    # RWO claims, host devices and host ports cannot be held by two pods at once during a rollout.
    exclusive = mounts_claim(deployment) or deployment.privileged or deployment.host_network
    strategy = deployment.strategy or ("Recreate" if exclusive else None)
    head: dict[str, Any] = {"replicas": deployment.replicas}
    if strategy:
        head["strategy"] = {"type": strategy}
    yield _apps_output(deployment, head, ctx)


def emit_statefulset(statefulset: StatefulSet, ctx: RenderContext) -> Iterator[Output]:
    """apps/v1 StatefulSet."""
    head: dict[str, Any] = {"replicas": statefulset.replicas}
    if statefulset.service is not None:
        head["serviceName"] = resolve(statefulset.service, ctx)
    yield _apps_output(statefulset, head, ctx)


def emit_daemonset(daemonset: DaemonSet, ctx: RenderContext) -> Iterator[Output]:
    """apps/v1 DaemonSet: one pod per node."""
    yield _apps_output(daemonset, {}, ctx)


def emit_service(service: Service, ctx: RenderContext) -> Iterator[Output]:
    """v1 Service (ClusterIP)."""
    selector = service.selector or (service.workload.selector_labels if service.workload else {})
    yield app_object(
        service,
        ctx,
        "v1",
        "Service",
        {
            "spec": {"type": "ClusterIP", "selector": selector, "ports": service_ports(service)},
        },
    )


def emit_configmap(configmap: ConfigMap, ctx: RenderContext) -> Iterator[Output]:
    """v1 ConfigMap with literal data."""
    yield app_object(
        configmap,
        ctx,
        "v1",
        "ConfigMap",
        {
            "data": {k: str(resolve(v, ctx)) for k, v in configmap.data.items()},
        },
    )


def emit_config_files(files: ConfigFiles, ctx: RenderContext) -> Iterator[Output]:
    """Verbatim files under configs/ plus a configMapGenerator entry for them."""
    for key, content in files.files.items():
        yield Output(
            app_path(files, f"configs/{files.name}/{key}"),
            files,
            text=content,
            listed=False,
            header=False,
        )
    yield Output(
        app_path(files, "kustomization.yaml"),
        files,
        fragment={
            "configMapGenerator": [
                {
                    "name": files.name,
                    "namespace": ctx.namespace(files),
                    "files": [f"{key}=configs/{files.name}/{key}" for key in files.files],
                }
            ]
        },
    )


FAMILY = Family(
    "core",
    exports=(
        App,
        Namespace,
        Manifest,
        GitRepository,
        HelmRelease,
        HelmRepository,
        ConfigFiles,
        ConfigMap,
        Container,
        DaemonSet,
        Deployment,
        EmptyDir,
        HostDevice,
        Mount,
        Port,
        Service,
        StatefulSet,
        PodSecurityContext,
        Probe,
        SecurityContext,
    ),
    mounts=MOUNTS,
    read_by_name=frozenset({(ConfigMap, "name"), (ConfigFiles, "name")}),
    references={
        (Service, "host"): lambda svc, ctx: f"{svc.name}.{ctx.namespace(svc)}.svc.cluster.local",
    },
    records=(
        App,
        Namespace,
        Manifest,
        HelmRepository,
        GitRepository,
        HelmRelease,
        Deployment,
        StatefulSet,
        DaemonSet,
        Service,
        ConfigMap,
        ConfigFiles,
    ),
    emitters={
        App: emit_app,
        Namespace: emit_namespace,
        Manifest: emit_manifest,
        HelmRepository: emit_helm_repository,
        GitRepository: emit_git_repository,
        HelmRelease: emit_helm_release,
        Deployment: emit_deployment,
        StatefulSet: emit_statefulset,
        DaemonSet: emit_daemonset,
        Service: emit_service,
        ConfigMap: emit_configmap,
        ConfigFiles: emit_config_files,
    },
)
