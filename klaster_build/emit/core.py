"""Emitters for the core families: app namespace, raw manifests, Flux/Helm, raw workloads."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from klaster_build.emit.outputs import Output, app_path, metadata
from klaster_build.emit.volumes import MOUNTS, is_claim, volume_source
from klaster_build.family import Family
from klaster_build.records.app import App, Namespace
from klaster_build.records.base import Record
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
    Mount,
    Service,
    StatefulSet,
    Workload,
)
from klaster_build.render_context import RenderContext
from klaster_build.values import as_text, resolve


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
    yield Output(
        app_path(repo, repo.file),
        repo,
        document={
            "apiVersion": "source.toolkit.fluxcd.io/v1",
            "kind": "HelmRepository",
            "metadata": metadata(repo.name, ctx.namespace(repo)),
            "spec": spec,
        },
    )


def git_ignore_rules(chart_dir: str) -> str:
    """Flux `ignore`: exclude everything but the chart directory."""
    return f"# exclude all\n/*\n# include charts directory\n!/{chart_dir}/\n"


def emit_git_repository(repo: GitRepository, ctx: RenderContext) -> Iterator[Output]:
    """Flux GitRepository that fetches only the chart directory."""
    yield Output(
        app_path(repo, repo.file),
        repo,
        document={
            "apiVersion": "source.toolkit.fluxcd.io/v1",
            "kind": "GitRepository",
            "metadata": metadata(repo.name, ctx.namespace(repo)),
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
    yield Output(
        app_path(release, release.file),
        release,
        document={
            "apiVersion": "helm.toolkit.fluxcd.io/v2",
            "kind": "HelmRelease",
            "metadata": metadata(release.name, ctx.namespace(release)),
            "spec": spec,
        },
    )


def env_entry(name: str, value: Any, ctx: RenderContext) -> dict[str, Any]:
    """One container env entry."""
    resolved = resolve(value, ctx)
    if isinstance(resolved, dict):  # a SecretKey (also through ref(...)): its valueFrom
        return {"name": name, "valueFrom": resolved}
    if isinstance(resolved, bool):
        resolved = "true" if resolved else "false"
    return {"name": name, "value": as_text(resolved)}


def volume_name(source: Any, ctx: RenderContext) -> str:
    """The pod volume name for a mount source: the mounted object's name, or `scratch-<n>`."""
    if isinstance(source, Record):
        return source.record_name
    return str(resolve(source, ctx))


def volume_entry(
    name: str, source: Any, ctx: RenderContext, items: dict[str, str] | None = None
) -> dict[str, Any]:
    """The pod `volumes` entry for a mount source (`items`: its keys picked as files)."""
    return {"name": name, **volume_source(source, ctx, items)}


def container_spec(
    container: Container, ctx: RenderContext, names: dict[str, str]
) -> dict[str, Any]:
    """A container spec; `names` maps mount path -> pod volume name."""
    spec: dict[str, Any] = {"name": container.name, "image": container.image}
    if container.image_pull_policy:
        spec["imagePullPolicy"] = container.image_pull_policy
    if container.command:
        spec["command"] = [str(resolve(c, ctx)) for c in container.command]
    if container.args:
        spec["args"] = [str(resolve(a, ctx)) for a in container.args]
    if container.env:
        spec["env"] = [env_entry(k, v, ctx) for k, v in container.env.items()]
    if container.ports:
        spec["ports"] = [
            {"name": p.name, "containerPort": p.number, "protocol": p.protocol}
            for p in container.ports
        ]
    mounts = []
    for path, source in container.mounts.items():
        mount: dict[str, Any] = {"name": names[path], "mountPath": path}
        if isinstance(source, Mount):
            if source.sub_path:
                mount["subPath"] = source.sub_path
            if source.read_only:
                mount["readOnly"] = True
        mounts.append(mount)
    mounts += [{"mountPath": d.path, "name": d.volume_name} for d in container.devices]
    if mounts:
        spec["volumeMounts"] = mounts
    if container.resources:
        spec["resources"] = resolve(container.resources, ctx)
    for kind, probe in container.probes.items():
        spec[f"{kind}Probe"] = probe_spec(probe)
    security = security_context_spec(container.security_context)
    if container.privileged:
        security["privileged"] = True  # host devices need it
    if security:
        spec["securityContext"] = security
    spec.update(resolve(container.extra, ctx))
    return spec


def probe_spec(probe: Probe) -> dict[str, Any]:
    """A container probe: its action, then the timings that were given."""
    spec: dict[str, Any]
    if probe.http_get is not None:
        spec = {"httpGet": {"path": probe.http_get, "port": probe.port}}
    elif probe.tcp:
        spec = {"tcpSocket": {"port": probe.port}}
    else:
        spec = {"exec": {"command": list(probe.exec)}}
    timings = {
        "initialDelaySeconds": probe.initial_delay,
        "periodSeconds": probe.period,
        "timeoutSeconds": probe.timeout,
        "failureThreshold": probe.failure_threshold,
    }
    spec.update({key: value for key, value in timings.items() if value is not None})
    return spec


# Security context fields (pod and container alike) -> their Kubernetes names.
_SECURITY_FIELDS = {
    "run_as_user": "runAsUser",
    "run_as_group": "runAsGroup",
    "run_as_non_root": "runAsNonRoot",
    "fs_group": "fsGroup",
    "read_only_root_filesystem": "readOnlyRootFilesystem",
    "privilege_escalation": "allowPrivilegeEscalation",
    "privileged": "privileged",
}


def security_context_spec(
    context: SecurityContext | PodSecurityContext | None,
) -> dict[str, Any]:
    """A pod or container `securityContext` with the fields that were given (empty for None)."""
    if context is None:
        return {}
    spec = {
        key: getattr(context, field)
        for field, key in _SECURITY_FIELDS.items()
        if getattr(context, field, None) is not None
    }
    if isinstance(context, SecurityContext):
        capabilities = {"add": context.add_capabilities, "drop": context.drop_capabilities}
        if any(capabilities.values()):
            spec["capabilities"] = {k: list(v) for k, v in capabilities.items() if v}
    return spec


def pod_spec(workload: Workload, ctx: RenderContext) -> dict[str, Any]:
    """The pod spec of every workload kind: containers, derived volumes, service account,
    host network, security context, extras."""
    volumes: dict[str, dict[str, Any]] = {}
    scratch: dict[int, str] = {}  # id of an EmptyDir -> its volume name

    def render(container: Container) -> dict[str, Any]:
        names: dict[str, str] = {}
        for path, mounted in container.mounts.items():
            source = mounted.source if isinstance(mounted, Mount) else mounted
            if isinstance(mounted, Mount) and mounted.name:
                name = mounted.name
            elif isinstance(source, EmptyDir):
                name = scratch.setdefault(
                    id(source), "scratch" if not scratch else f"scratch-{len(scratch) + 1}"
                )
            else:
                name = volume_name(source, ctx)
            items = mounted.items if isinstance(mounted, Mount) else None
            volumes.setdefault(name, volume_entry(name, source, ctx, items))
            names[path] = name
        for device in container.devices:
            volumes.setdefault(
                device.volume_name,
                {
                    "name": device.volume_name,
                    "hostPath": {"path": device.path, "type": device.type},
                },
            )
        return container_spec(container, ctx, names)

    init = [render(c) for c in workload.init_containers]
    containers = [render(c) for c in workload.containers]
    spec: dict[str, Any] = {}
    if workload.service_account is not None:
        spec["serviceAccountName"] = workload.service_account.name
    if workload.host_network:
        spec["hostNetwork"] = True
    security = security_context_spec(workload.security_context)
    if security:
        spec["securityContext"] = security
    if init:
        spec["initContainers"] = init
    spec["containers"] = containers
    if volumes:
        spec["volumes"] = list(volumes.values())
    spec.update(resolve(workload.pod_extra, ctx))
    return spec


def _mounts_claim(workload: Workload) -> bool:
    return any(
        is_claim(m.source if isinstance(m, Mount) else m)
        for c in (*workload.init_containers, *workload.containers)
        for m in c.mounts.values()
    )


def pod_template(workload: Workload, ctx: RenderContext) -> dict[str, Any]:
    """The pod template of every workload kind: its labels and `pod_spec`."""
    return {"metadata": {"labels": workload.selector_labels}, "spec": pod_spec(workload, ctx)}


def _apps_output(workload: Workload, head: dict[str, Any], ctx: RenderContext) -> Output:
    """The apps/v1 document of a Deployment, StatefulSet or DaemonSet; `head` holds its own
    fields."""
    spec: dict[str, Any] = {**head, "selector": {"matchLabels": workload.selector_labels}}
    spec["template"] = pod_template(workload, ctx)
    return Output(
        app_path(workload, workload.file),  # type: ignore[attr-defined]
        workload,
        document={
            "apiVersion": "apps/v1",
            "kind": workload.kind,
            "metadata": metadata(workload.name, ctx.namespace(workload)),
            "spec": spec,
        },
    )


def emit_deployment(deployment: Deployment, ctx: RenderContext) -> Iterator[Output]:
    """apps/v1 Deployment."""
    # RWO claims, host devices and host ports cannot be held by two pods at once during a rollout.
    exclusive = _mounts_claim(deployment) or deployment.privileged or deployment.host_network
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


def service_ports(service: Service) -> list[dict[str, Any]]:
    """Service port entries; the target defaults to the port itself."""
    return [
        {
            "name": p.name,
            "protocol": p.protocol,
            "port": p.number,
            "targetPort": p.target or p.number,
        }
        for p in service.ports
    ]


def emit_service(service: Service, ctx: RenderContext) -> Iterator[Output]:
    """v1 Service (ClusterIP)."""
    selector = service.selector or (service.workload.selector_labels if service.workload else {})
    yield Output(
        app_path(service, service.file),
        service,
        document={
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": metadata(service.name, ctx.namespace(service)),
            "spec": {"type": "ClusterIP", "selector": selector, "ports": service_ports(service)},
        },
    )


def emit_configmap(configmap: ConfigMap, ctx: RenderContext) -> Iterator[Output]:
    """v1 ConfigMap with literal data."""
    yield Output(
        app_path(configmap, configmap.file),
        configmap,
        document={
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": metadata(configmap.name, ctx.namespace(configmap)),
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
    mounts=MOUNTS,
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
