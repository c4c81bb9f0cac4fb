"""A pod as every workload renders it (Deployment, StatefulSet, DaemonSet, Job, CronJob): one
module shared by the core and jobs families, so neither family imports the other."""

from __future__ import annotations

from typing import Any

from klaster_build.emit.volumes import is_claim, volume_source
from klaster_build.records.base import Record
from klaster_build.records.pods import PodSecurityContext, Probe, SecurityContext
from klaster_build.records.workloads import Container, EmptyDir, Mount, Workload
from klaster_build.render_context import RenderContext
from klaster_build.values import as_text, resolve


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


def mounts_claim(workload: Workload) -> bool:
    return any(
        is_claim(m.source if isinstance(m, Mount) else m)
        for c in (*workload.init_containers, *workload.containers)
        for m in c.mounts.values()
    )


def pod_template(workload: Workload, ctx: RenderContext) -> dict[str, Any]:
    """The pod template of every workload kind: its labels and `pod_spec`."""
    return {"metadata": {"labels": workload.selector_labels}, "spec": pod_spec(workload, ctx)}
