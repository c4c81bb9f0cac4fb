"""Pod and container settings: probes and security contexts (value objects of workloads).

Talos enforces the `baseline` Pod Security Standard on every namespace by default
(https://www.talos.dev/latest/kubernetes-guides/configuration/pod-security); what baseline
forbids is listed in kubernetes/kubernetes@staging/src/k8s.io/pod-security-admission/policy
(check_privileged.go, check_hostNamespaces.go, check_hostPathVolumes.go,
check_capabilities_baseline.go). A workload that needs any of it gets its namespace exempted
(see `Workload.exemption_reasons`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import attrs

from klaster_build.errors import DeclarationError, Mistake
from klaster_build.validators import (
    Validator,
    each,
    fail,
    instance_of,
    mapping,
    non_negative_int,
    optional,
    positive_int,
    text,
    to_tuple,
)

# The capabilities a container may add under baseline (check_capabilities_baseline.go).
BASELINE_CAPABILITIES = frozenset(
    {
        "AUDIT_WRITE",
        "CHOWN",
        "DAC_OVERRIDE",
        "FOWNER",
        "FSETID",
        "KILL",
        "MKNOD",
        "NET_BIND_SERVICE",
        "SETFCAP",
        "SETGID",
        "SETPCAP",
        "SETUID",
        "SYS_CHROOT",
    }
)
# Linux capabilities (capabilities(7)), as Kubernetes spells them: without the CAP_ prefix.
CAPABILITIES = BASELINE_CAPABILITIES | {
    "ALL",
    "AUDIT_CONTROL",
    "AUDIT_READ",
    "BLOCK_SUSPEND",
    "BPF",
    "CHECKPOINT_RESTORE",
    "DAC_READ_SEARCH",
    "IPC_LOCK",
    "IPC_OWNER",
    "LEASE",
    "LINUX_IMMUTABLE",
    "MAC_ADMIN",
    "MAC_OVERRIDE",
    "NET_ADMIN",
    "NET_BROADCAST",
    "NET_RAW",
    "PERFMON",
    "SYSLOG",
    "SYS_ADMIN",
    "SYS_BOOT",
    "SYS_MODULE",
    "SYS_NICE",
    "SYS_PACCT",
    "SYS_PTRACE",
    "SYS_RAWIO",
    "SYS_RESOURCE",
    "SYS_TIME",
    "SYS_TTY_CONFIG",
    "WAKE_ALARM",
}


def _capability(inst: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    if value in CAPABILITIES:
        return
    bare = value.upper().removeprefix("CAP_") if isinstance(value, str) else None
    instead = (
        f"write {bare!r}" if bare in CAPABILITIES else f"known: {', '.join(sorted(CAPABILITIES))}"
    )
    raise DeclarationError(
        Mistake(
            f"{attribute.name!r}: {value!r} is not a Linux capability",
            record=type(inst).__name__,
            instead=instead,
        )
    )


def _port_reference(inst: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    if value is None or (isinstance(value, str) and value):
        return
    if isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= 65535:
        return
    fail(
        inst,
        attribute,
        Mistake(
            "must be a port name of the container ('http') or a number 1-65535", got=repr(value)
        ),
    )


def _seconds(minimum: int) -> Validator:
    return optional(non_negative_int if minimum == 0 else positive_int)


@attrs.frozen(kw_only=True)
class Probe:
    """A liveness, readiness or startup check of a container: exactly one of an HTTP GET of a
    path (`http_get=`), a TCP connection (`tcp=True`) or a command (`exec=`). `port` is a port
    name of the container (it must exist) or a number; times are in seconds.

    Example:
        health = Probe(http_get="/health", port="http", timeout=3, failure_threshold=6)
        Deployment("crawler", containers=[Container("crawl4ai", image="unclecode/crawl4ai:0.7.4",
                   ports={"http": 11235}, readiness=health,
                   liveness=Probe(tcp=True, port=11235, initial_delay=30, period=15))])
    """

    # The path to GET, e.g. "/health"; success is a status 200-399.
    http_get: str | None = attrs.field(default=None, validator=optional(text(1024)))
    tcp: bool = attrs.field(default=False, validator=instance_of(bool))
    # A command run in the container; success is exit status 0.
    exec: tuple[str, ...] = attrs.field(default=(), converter=to_tuple, validator=each(text(4096)))
    port: str | int | None = attrs.field(default=None, validator=_port_reference)
    initial_delay: int | None = attrs.field(default=None, validator=_seconds(0))
    period: int | None = attrs.field(default=None, validator=_seconds(1))
    timeout: int | None = attrs.field(default=None, validator=_seconds(1))
    failure_threshold: int | None = attrs.field(default=None, validator=_seconds(1))

    def __attrs_post_init__(self) -> None:
        given = [
            k for k, v in (("http_get", self.http_get), ("tcp", self.tcp), ("exec", self.exec)) if v
        ]
        if len(given) != 1:
            raise DeclarationError(
                Mistake(
                    "needs exactly one of http_get='/path', tcp=True or exec=['cmd', ...]",
                    record="Probe",
                    got=", ".join(given) or "none",
                )
            )
        if self.http_get is not None and not self.http_get.startswith("/"):
            raise DeclarationError(
                Mistake(
                    "is the path to GET and starts with '/'",
                    record="Probe",
                    field="http_get",
                    got=repr(self.http_get),
                )
            )
        if self.exec and self.port is not None:
            raise DeclarationError(
                Mistake(
                    "with exec= runs a command and takes no port",
                    record="Probe",
                    instead="drop port=",
                )
            )
        if not self.exec and self.port is None:
            raise DeclarationError(
                Mistake(
                    f"with {given[0]}= needs port= (a port name of the container, or a number)",
                    record="Probe",
                )
            )


def _run_as(inst: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    if value is not None:
        non_negative_int(inst, attribute, value)


@attrs.frozen(kw_only=True)
class RunAs:
    """The identity fields pods and containers share."""

    run_as_user: int | None = attrs.field(default=None, validator=_run_as)
    run_as_group: int | None = attrs.field(default=None, validator=_run_as)
    # True: the kubelet refuses to start a container whose user is root.
    run_as_non_root: bool | None = attrs.field(default=None, validator=optional(instance_of(bool)))

    def __attrs_post_init__(self) -> None:
        if self.run_as_non_root and self.run_as_user == 0:
            raise DeclarationError(
                Mistake(
                    f"{type(self).__name__}: run_as_non_root=True with run_as_user=0 never starts "
                    "(user 0 is root)",
                    instead="give a non-zero run_as_user",
                )
            )


@attrs.frozen(kw_only=True)
class PodSecurityContext(RunAs):
    """The pod-level security settings of a workload (`security_context=` of a Deployment,
    StatefulSet, DaemonSet, Job or CronJob); `fs_group` owns mounted volumes.

    Example:
        Deployment("wiki", security_context=PodSecurityContext(run_as_user=1000, run_as_group=1000,
                   fs_group=1000, run_as_non_root=True),
                   containers=[Container("wiki", image="ghcr.io/requarks/wiki:2.5.308")])
    """

    fs_group: int | None = attrs.field(default=None, validator=_run_as)


def _capabilities(inst: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    each(_capability)(inst, attribute, value)


@attrs.frozen(kw_only=True)
class SecurityContext(RunAs):
    """The security settings of one container (`Container(security_context=...)`).

    `privileged=True`, or a capability baseline does not allow in `add_capabilities`, exempts
    the app's namespace from PodSecurity (like `devices=`); klaster writes the Talos patch.

    Example:
        Deployment("static", containers=[Container("nginx", image="nginxinc/nginx-unprivileged:1.29.1",
                   security_context=SecurityContext(run_as_user=101, run_as_non_root=True,
                   read_only_root_filesystem=True, privilege_escalation=False,
                   drop_capabilities=["ALL"]))])
    """

    read_only_root_filesystem: bool | None = attrs.field(
        default=None, validator=optional(instance_of(bool))
    )
    # False: no process of the container can gain more privileges than its parent (setuid).
    privilege_escalation: bool | None = attrs.field(
        default=None, validator=optional(instance_of(bool))
    )
    privileged: bool | None = attrs.field(default=None, validator=optional(instance_of(bool)))
    # Linux capabilities without the CAP_ prefix: ["NET_ADMIN"], ["ALL"].
    add_capabilities: tuple[str, ...] = attrs.field(
        default=(), converter=to_tuple, validator=_capabilities
    )
    drop_capabilities: tuple[str, ...] = attrs.field(
        default=(), converter=to_tuple, validator=_capabilities
    )

    def __attrs_post_init__(self) -> None:
        super().__attrs_post_init__()
        if self.privileged and self.privilege_escalation is False:
            raise DeclarationError(
                Mistake(
                    "SecurityContext: a privileged container can always escalate privileges",
                    instead="drop privilege_escalation=False or privileged=True",
                )
            )

    @property
    def beyond_baseline(self) -> tuple[str, ...]:
        """The added capabilities the baseline Pod Security Standard does not allow."""
        return tuple(c for c in self.add_capabilities if c not in BASELINE_CAPABILITIES)


# Pod and container fields klaster models: in `pod_extra=` / `extra=` they would bypass the
# typed setting (and its checks); the message says what to write instead.
MODELED_CONTAINER_KEYS = {
    "name": "the Container's name",
    "image": "image=",
    "command": "command=",
    "args": "args=",
    "env": "env=",
    "ports": "ports=",
    "volumeMounts": "mounts=",
    "resources": "resources=",
    "imagePullPolicy": "image_pull_policy=",
    "livenessProbe": "liveness=Probe(...)",
    "readinessProbe": "readiness=Probe(...)",
    "startupProbe": "startup=Probe(...)",
    "securityContext": "security_context=SecurityContext(...)",
}
MODELED_POD_KEYS = {
    "containers": "containers=",
    "initContainers": "init_containers=",
    "serviceAccountName": "service_account=ServiceAccount(...)",
    "hostNetwork": "host_network=True",
    "securityContext": "security_context=PodSecurityContext(...)",
    "restartPolicy": "restart_policy= of a Job or CronJob",
    "hostPID": None,
    "hostIPC": None,
}


def no_modeled_keys(modeled: Mapping[str, str | None]) -> Validator:
    """A dict of extra spec fields that holds none of the fields klaster models."""

    def check(inst: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
        mapping(inst, attribute, value)
        for key in value:
            if key not in modeled:
                continue
            instead = modeled[key]
            advice = (
                f"write {instead} instead"
                if instead
                else "klaster does not share the host's process or IPC namespace with pods"
            )
            fail(inst, attribute, Mistake(f"must not set {key!r}: {advice}"))

    return check
