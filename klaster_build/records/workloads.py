"""Raw workloads: Deployment, StatefulSet, Service, ConfigMap and config files."""

from __future__ import annotations

import re
from typing import Any

import attrs

from klaster_build.data import DATA, Plain, SecretKey
from klaster_build.errors import DeclarationError, Mistake
from klaster_build.records.base import Record
from klaster_build.records.pods import (
    MODELED_CONTAINER_KEYS,
    MODELED_POD_KEYS,
    PodSecurityContext,
    Probe,
    SecurityContext,
    no_modeled_keys,
)
from klaster_build.records.rbac import ServiceAccount
from klaster_build.refs import AddressRef, ClusterRef, Ref
from klaster_build.validators import (
    data_key_problem,
    dns_label,
    each,
    fail,
    image_reference,
    instance_of,
    mapping,
    non_negative_int,
    one_of,
    optional,
    output_file,
    port_name,
    quantity,
    resources,
    text,
    to_tuple,
)
from klaster_build.versions import Renovate

_PORT_RANGE = range(1, 65536)


def _port_number(inst: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value not in _PORT_RANGE:
        fail(inst, attribute, Mistake("must be a port number 1-65535", got=repr(value)))


# UDP services that answer a small request with a much larger reply: open to the Internet,
# requests with a spoofed source make them flood a third party (reflection DDoS). The list of
# US-CERT alert TA14-017A "UDP-Based Amplification Attacks", with its later additions.
UDP_AMPLIFIERS = {
    17: "QOTD",
    19: "CharGEN",
    53: "DNS",
    69: "TFTP",
    111: "portmap",
    123: "NTP",
    137: "NetBIOS",
    161: "SNMP",
    389: "CLDAP",
    520: "RIPv1",
    1434: "MS SQL browser",
    1900: "SSDP",
    3283: "Apple Remote Desktop",
    3702: "WS-Discovery",
    5353: "mDNS",
    5683: "CoAP",
    10001: "Ubiquiti discovery",
    11211: "memcached",
    27015: "Steam query",
    27960: "Quake",
}


@attrs.frozen
class Port:
    """A named container or service port; `target` is the container port a Service port
    forwards to, when it differs.

    On a LoadBalancer, a port is reachable from the LAN only unless `public=True`: then the
    router forwards it from the Internet (out/router/port-forwards.json, `klaster todo`).
    A UDP port that amplifies reflection attacks (DNS, NTP, SSDP...) needs `public_reason=`.

    Example:
        dns = Deployment("dns", containers=[Container("coredns", image="coredns/coredns:1.12.4",
                         ports=[Port("dns", 53, "UDP"), Port("metrics", 9153)])])
        Service("dns", workload=dns, ports=[Port("dns", 53, "UDP"), Port("http", 80, target=9153)])
    """

    # An IANA service name (at most 15 characters), as Kubernetes requires of container ports.
    name: str = attrs.field(validator=port_name)
    number: int = attrs.field(validator=_port_number)
    protocol: str = attrs.field(default="TCP", validator=one_of({"TCP", "UDP", "SCTP"}))
    target: int | str | None = attrs.field(default=None, kw_only=True)
    # On a LoadBalancer: forwarded from the Internet by the router (else LAN-only).
    public: bool = attrs.field(default=False, kw_only=True, validator=instance_of(bool))
    # Why a public UDP amplifier port (DNS, NTP, SSDP...) must be public, and how it is limited.
    public_reason: str | None = attrs.field(
        default=None, kw_only=True, validator=optional(text(500))
    )

    def __attrs_post_init__(self) -> None:
        if self.public_reason is not None and not self.public:
            raise DeclarationError(
                Mistake(
                    f"Port {self.name!r}: public_reason= says why a port is public",
                    instead="add public=True, or drop the reason",
                )
            )
        amplifier = UDP_AMPLIFIERS.get(self.number) if self.protocol == "UDP" else None
        if self.public and amplifier and not self.public_reason:
            raise DeclarationError(
                Mistake(
                    f"({self.number}/UDP, {amplifier}) is a UDP amplifier: from the Internet, "
                    "small requests with a forged source make it send much larger replies to a "
                    "victim (reflection DDoS)",
                    record=f"Port {self.name!r}",
                    instead="keep it LAN-only (drop public=True), or give "
                    "public_reason='<why it must be public and how replies are limited>'",
                )
            )


def _lan_ports(inst: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    """A ClusterIP Service is never reached from outside: public=True there is a mistake."""
    for port in value:
        if isinstance(port, Port) and port.public:
            raise DeclarationError(
                Mistake(
                    f"port {port.name!r} is public=True, but only a LoadBalancer's ports are "
                    "forwarded from the Internet",
                    record=type(inst).__name__,
                    instead="declare it public on the LoadBalancer(...) and drop public=True here",
                )
            )


def _ports(value: Any) -> tuple[Port, ...]:
    """`{"http": 8080}` or `[Port(...)]` -> ports."""
    if isinstance(value, dict):
        return tuple(Port(name, number) for name, number in value.items())
    if isinstance(value, list | tuple):
        return tuple(value)
    raise DeclarationError(
        Mistake("ports must be a dict of name -> number or a list of Port(...)", got=repr(value))
    )


@attrs.frozen(kw_only=True)
class EmptyDir:
    """A scratch volume, optionally in memory (`medium="Memory"`, e.g. for /dev/shm).

    Example:
        Deployment("browser", containers=[Container("chromium", image="ghcr.io/browserless/chromium:v2.24.3",
                   mounts={"/dev/shm": EmptyDir(medium="Memory", size="1Gi"), "/tmp": EmptyDir()})])
    """

    medium: str | None = attrs.field(default=None, validator=optional(one_of({"Memory"})))
    size: str | None = attrs.field(default=None, validator=optional(quantity))


def _items(inst: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    mapping(inst, attribute, value)
    for key, path in value.items():
        if not isinstance(key, str) or not re.fullmatch(r"[-._a-zA-Z0-9]+", key):
            fail(
                inst,
                attribute,
                Mistake(
                    f"key {key!r} must be a Secret or ConfigMap key such as 'tls.crt'",
                    keyword="items",
                ),
            )
        if not isinstance(path, str) or not path or path.startswith("/") or ".." in path.split("/"):
            fail(
                inst,
                attribute,
                Mistake(
                    f"path {path!r} for key {key!r} must be a relative file path such as 'tls.crt'",
                    keyword="items",
                ),
            )


@attrs.frozen
class Mount:
    """A mount with options: part of a volume (`sub_path`), read-only, and/or some keys of a
    ConfigMap or Secret as files (`items`: key -> file path under the mount path).

    Example:
        data = Volume("data", size="5Gi")
        config = ConfigFiles("gitea-config", files={"app.ini": "[server]\\nHTTP_PORT = 3000\\n"})
        tls = VaultSecret("gitea-tls", path="gitea-tls", keys=["tls.crt", "tls.key"])
        Deployment("gitea", containers=[Container("gitea", image="gitea/gitea:1.24.6", mounts={
            "/data": Mount(data.claim, sub_path="gitea"),
            "/etc/gitea": Mount(config, name="config", read_only=True),
            "/etc/gitea/tls": Mount(tls, items={"tls.crt": "cert.pem", "tls.key": "key.pem"}),
        })])
    """

    source: Any
    sub_path: str | None = attrs.field(default=None, kw_only=True, validator=optional(text(256)))
    # The pod volume's name, when it should not be the mounted object's name.
    name: str | None = attrs.field(default=None, kw_only=True, validator=optional(dns_label))
    read_only: bool = attrs.field(default=False, kw_only=True)
    # Keys of a ConfigMap or Secret mounted as files: key -> file path under the mount path.
    items: dict[str, str] = attrs.field(factory=dict, kw_only=True, validator=_items)


_ENV_VALUE = (str, int, float, bool, SecretKey, Ref, Record, AddressRef, ClusterRef, Plain)
_TEXT_VALUE = (str, Ref, Record, AddressRef, ClusterRef, Plain)


def _env(inst: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    mapping(inst, attribute, value)
    for key, item in value.items():
        if not isinstance(key, str) or not re.fullmatch(r"^[A-Za-z_][A-Za-z0-9_.-]*$", key):
            raise DeclarationError(
                Mistake(
                    f"env name {key!r} is not a valid variable name", record=type(inst).__name__
                )
            )
        if not isinstance(item, _ENV_VALUE):
            raise DeclarationError(
                Mistake(
                    f"env {key!r} must be a string, number, reference or SecretKey(secret, key)",
                    record=type(inst).__name__,
                    got=type(item).__name__,
                )
            )


def _mounts(inst: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    mapping(inst, attribute, value)
    for path in value:
        if not isinstance(path, str) or not path.startswith("/"):
            raise DeclarationError(
                Mistake(
                    f"mount path {path!r} must be an absolute path such as '/data'",
                    record=type(inst).__name__,
                )
            )


_DEVICE_TYPES = frozenset({"CharDevice", "BlockDevice", "Directory", "File", "Socket"})


@attrs.frozen
class HostDevice:
    """A host device a privileged container needs (`/dev/kfd` CharDevice, `/dev/dri` Directory).

    The container runs privileged and the app's namespace gets its Talos PodSecurity exemption.

    Example:
        Deployment("jellyfin", containers=[Container("jellyfin", image="jellyfin/jellyfin:10.10.7",
                   devices=[HostDevice("/dev/dri", "Directory")])])
    """

    path: str = attrs.field(validator=text(256))
    type: str = attrs.field(default="CharDevice", validator=one_of(_DEVICE_TYPES))

    @path.validator
    def _check_path(self, attribute: attrs.Attribute[Any], value: str) -> None:
        if not re.fullmatch(r"^/dev/[A-Za-z0-9_./-]+$", value) or ".." in value.split("/"):
            fail(
                self,
                attribute,
                Mistake("must be a device under /dev such as '/dev/dri'", got=repr(value)),
            )

    @property
    def volume_name(self) -> str:
        """The pod volume name: the device path's last part (`/dev/kfd` -> `kfd`)."""
        return (
            re.sub(r"[^a-z0-9-]", "-", self.path.rsplit("/", 1)[-1].lower()).strip("-") or "device"
        )


@attrs.frozen(kw_only=True)
class Container:
    """One container of a workload.

    `mounts` maps a mount path to what is mounted there: a claim (`volume.claim`), a ConfigMap or
    ConfigFiles record, a VaultSecret, or `EmptyDir(...)`; klaster derives the pod's volumes
    from it.

    Example:
        Deployment("whoami", containers=[Container(
            "whoami",
            image="traefik/whoami:v1.11.0",
            args=["--port", "8080"],
            ports={"http": 8080},
            env={"WHOAMI_NAME": "klaster"},
            resources={"requests": {"cpu": "10m"}, "limits": {"memory": "64Mi"}},
        )])
    """

    name: str = attrs.field(kw_only=False, validator=dns_label)
    image: str = attrs.field(validator=image_reference)
    args: tuple[Any, ...] = attrs.field(default=(), converter=to_tuple, metadata=DATA)
    command: tuple[Any, ...] = attrs.field(default=(), converter=to_tuple, metadata=DATA)
    # Literal text, a reference (`svc.host`), or a secret's key (`secret.key("token")`, SecretKey)
    env: dict[str, Any] = attrs.field(factory=dict, validator=_env)
    # {"http": 8080}, or [Port(...)] for UDP and for a target port that differs (a list shared
    # with the LoadBalancer may carry its public=True)
    ports: tuple[Port, ...] = attrs.field(default=(), converter=_ports)
    mounts: dict[str, Any] = attrs.field(factory=dict, validator=_mounts)
    resources: dict[str, Any] = attrs.field(factory=dict, validator=resources, metadata=DATA)
    image_pull_policy: str | None = attrs.field(
        default=None, validator=optional(one_of({"IfNotPresent", "Always", "Never"}))
    )
    # Restart the container when this check fails.
    liveness: Probe | None = attrs.field(
        default=None, validator=optional(instance_of(Probe, what="Probe(...)"))
    )
    # Send Service traffic only while this check passes.
    readiness: Probe | None = attrs.field(
        default=None, validator=optional(instance_of(Probe, what="Probe(...)"))
    )
    # Hold the other checks back until this one has passed once (slow starters).
    startup: Probe | None = attrs.field(
        default=None, validator=optional(instance_of(Probe, what="Probe(...)"))
    )
    security_context: SecurityContext | None = attrs.field(
        default=None, validator=optional(instance_of(SecurityContext, what="SecurityContext(...)"))
    )
    # Container fields klaster does not model, merged as given.
    extra: dict[str, Any] = attrs.field(
        factory=dict, validator=no_modeled_keys(MODELED_CONTAINER_KEYS), metadata=DATA
    )
    # Host devices make the container privileged (the guideline's GPU pattern); the namespace
    # gets a Talos PodSecurity exemption.
    devices: tuple[HostDevice, ...] = attrs.field(
        default=(),
        converter=to_tuple,
        validator=each(instance_of(HostDevice, what="HostDevice(...)")),
    )
    renovate: Renovate | None = attrs.field(default=None, validator=optional(instance_of(Renovate)))

    def __attrs_post_init__(self) -> None:
        names = [p.name for p in self.ports]
        for kind, probe in self.probes.items():
            if isinstance(probe.port, str) and probe.port not in names:
                raise DeclarationError(
                    Mistake(
                        f"{kind} probe uses port {probe.port!r}, which the container does not "
                        "declare",
                        record=f"Container {self.name!r}",
                        instead=f"its ports: {names} (or give a number)",
                    )
                )
        if self.devices and self.security_context and self.security_context.privileged is False:
            raise DeclarationError(
                Mistake(
                    f"Container {self.name!r}: host devices need a privileged container",
                    instead="drop privileged=False or devices=",
                )
            )

    @property
    def probes(self) -> dict[str, Probe]:
        """The declared probes by kind, in the real repo's order (readiness, liveness, startup)."""
        declared = {"readiness": self.readiness, "liveness": self.liveness, "startup": self.startup}
        return {kind: probe for kind, probe in declared.items() if probe is not None}

    @property
    def privileged(self) -> bool:
        """True when the container runs privileged (it uses host devices, or says so)."""
        return bool(self.devices) or bool(
            self.security_context and self.security_context.privileged
        )


def _containers(inst: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    if not value:
        raise DeclarationError(
            Mistake("needs at least one Container(...)", record=type(inst).__name__)
        )
    each(instance_of(Container, what="Container(...)"))(inst, attribute, value)
    names = [c.name for c in value]
    if len(set(names)) != len(names):
        raise DeclarationError(
            Mistake("container names must be unique", record=type(inst).__name__, got=str(names))
        )


@attrs.frozen(kw_only=True, eq=False)
class Workload(Record):
    """Common shape of the records that run pods: Deployment, StatefulSet, DaemonSet, Job and
    CronJob. Their pod template is rendered by one function (`emit.core.pod_spec`)."""

    name: str = attrs.field(kw_only=False, validator=dns_label)
    containers: tuple[Container, ...] = attrs.field(converter=to_tuple, validator=_containers)
    init_containers: tuple[Container, ...] = attrs.field(
        default=(),
        converter=to_tuple,
        validator=each(instance_of(Container, what="Container(...)")),
    )
    # The pods' labels and selector; `app: <name>` when empty.
    labels: dict[str, str] = attrs.field(factory=dict, validator=mapping, metadata=DATA)
    # The ServiceAccount the pods run as; the namespace's `default` account if None.
    service_account: ServiceAccount | None = attrs.field(
        default=None,
        validator=optional(instance_of(ServiceAccount, what="a ServiceAccount record")),
    )
    # The pods use the node's network stack; the namespace gets its PodSecurity exemption.
    host_network: bool = attrs.field(default=False, validator=instance_of(bool))
    security_context: PodSecurityContext | None = attrs.field(
        default=None,
        validator=optional(instance_of(PodSecurityContext, what="PodSecurityContext(...)")),
    )
    # Pod spec fields klaster does not model (nodeSelector, tolerations...), merged as given.
    pod_extra: dict[str, Any] = attrs.field(
        factory=dict, validator=no_modeled_keys(MODELED_POD_KEYS), metadata=DATA
    )

    @property
    def privileged(self) -> bool:
        """True when any container is privileged."""
        return any(c.privileged for c in (*self.init_containers, *self.containers))

    @property
    def exemption_reasons(self) -> tuple[str, ...]:
        """Why the pods break the baseline Pod Security Standard Talos enforces (privileged
        containers, which host devices make; the host network; capabilities baseline does not
        allow), so that their namespace needs the PodSecurity exemption. Empty when they do not."""
        reasons = []
        for container in (*self.init_containers, *self.containers):
            if container.privileged:
                reasons.append(f"container {container.name!r} is privileged")
            extra = container.security_context.beyond_baseline if container.security_context else ()
            if extra:
                reasons.append(f"container {container.name!r} adds {', '.join(extra)}")
        if self.host_network:
            reasons.append("the pods use the host network")
        return tuple(reasons)

    @property
    def selector_labels(self) -> dict[str, str]:
        """The labels that select this workload's pods (`app: <name>` unless declared)."""
        return self.labels or {"app": self.name}


@attrs.frozen(kw_only=True, eq=False)
class Replicated(Workload):
    """A workload that keeps `replicas` pods running (Deployment, StatefulSet)."""

    replicas: int = attrs.field(default=1, validator=non_negative_int)


@attrs.frozen(kw_only=True, eq=False)
class Deployment(Replicated):
    """A raw Deployment. `strategy` defaults to Recreate when a claim is mounted (RWO volumes).

    Example:
        Deployment("crawl4ai", containers=[Container("crawl4ai", image="unclecode/crawl4ai:0.7.4",
                   ports={"http": 11235})])
    """

    strategy: str | None = attrs.field(
        default=None, validator=optional(one_of({"Recreate", "RollingUpdate"}))
    )
    file: str = attrs.field(default="deployment.yaml", validator=output_file)


@attrs.frozen(kw_only=True, eq=False)
class StatefulSet(Replicated):
    """A raw StatefulSet; `service` is its governing Service (a record or its name).

    Example:
        StatefulSet("teamspeak3-server", labels={"app": "teamspeak3"}, service="teamspeak3",
                    containers=[Container("teamspeak3", image="teamspeak:3.13.7",
                                          ports=[Port("voice", 9987, "UDP")])])
    """

    service: Any = None
    file: str = attrs.field(default="statefulset.yaml", validator=output_file)


@attrs.frozen(kw_only=True, eq=False)
class DaemonSet(Workload):
    """One pod on every node (node agents, exporters).

    Example:
        DaemonSet("node-exporter", containers=[Container(
            "node-exporter", image="quay.io/prometheus/node-exporter:v1.9.1",
            args=["--path.rootfs=/host"], ports={"metrics": 9100},
            readiness=Probe(http_get="/", port="metrics"))])
    """

    file: str = attrs.field(default="daemonset.yaml", validator=output_file)


# The workloads a Service or LoadBalancer can put in front of (their pods keep running).
SERVED = (Deployment, StatefulSet, DaemonSet)
SERVED_WHAT = "a Deployment, StatefulSet or DaemonSet"


@attrs.frozen(kw_only=True, eq=False)
class Service(Record):
    """A ClusterIP Service in front of a workload.

    `workload=` selects that workload's pods; `selector=` selects pods by label instead (pods
    a Helm chart makes).

    Example:
        app = Deployment("crawl4ai", labels={"app.kubernetes.io/name": "crawl4ai"},
                         containers=[Container("crawl4ai", image="unclecode/crawl4ai:0.7.4",
                                               ports={"http": 11235})])
        Service("crawl4ai", workload=app, ports=[Port("http", 11235)])
        Service("crawl4ai-any", selector={"app.kubernetes.io/name": "crawl4ai"}, ports={"http": 11235})
    """

    name: str = attrs.field(kw_only=False, validator=dns_label)
    workload: Deployment | StatefulSet | DaemonSet | None = attrs.field(
        default=None, validator=optional(instance_of(*SERVED, what=SERVED_WHAT))
    )
    # Pods selected by label instead of `workload=` (e.g. the pods a Helm chart makes).
    selector: dict[str, str] = attrs.field(factory=dict, validator=mapping, metadata=DATA)
    # {"http": 8080}, or [Port(...)] for UDP and for a target port that differs
    ports: tuple[Port, ...] = attrs.field(default=(), converter=_ports, validator=_lan_ports)
    file: str = attrs.field(default="service.yaml", validator=output_file)

    @property
    def host(self) -> Ref:
        """The in-cluster DNS name `<name>.<namespace>.svc.cluster.local`."""
        return Ref(self, "host")

    def port(self, name: str) -> int:
        """The number of the port called `name`."""
        for port in self.ports:
            if port.name == name:
                return port.number
        raise DeclarationError(
            Mistake(
                f"has no port named {name!r}",
                record=self.described,
                instead=f"it has {[p.name for p in self.ports]}",
            )
        )


def _config_data(inst: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    """ConfigMap data: keys the API server accepts, values that are text (or references)."""
    mapping(inst, attribute, value)
    for key, item in value.items():
        problem = data_key_problem(key)
        if problem:
            raise DeclarationError(problem.about("ConfigMap data key"))
        if not isinstance(item, _TEXT_VALUE):
            raise DeclarationError(
                Mistake(
                    f"data {key!r} must be text (a string or a reference), got "
                    f"{type(item).__name__} {item!r}: ConfigMap values are strings",
                    record="ConfigMap",
                    instead="write it as text (json.dumps(...) for structured data, '3' for a "
                    "number)",
                )
            )


@attrs.frozen(kw_only=True, eq=False)
class ConfigMap(Record):
    """A ConfigMap with literal data.

    Example:
        settings = ConfigMap("proxy-config", data={"Caddyfile": ":80 {\\n  respond ok\\n}\\n"})
        Deployment("proxy", containers=[Container("caddy", image="caddy:2.11.4-alpine",
                   mounts={"/etc/caddy": settings})])
    """

    name: str = attrs.field(kw_only=False, validator=dns_label)
    data: dict[str, Any] = attrs.field(validator=_config_data, metadata=DATA)
    file: str = attrs.field(default="configmap.yaml", validator=output_file)


def _files(inst: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    mapping(inst, attribute, value)
    if not value:
        fail(inst, attribute, Mistake("must name at least one file"))
    for key, content in value.items():
        if data_key_problem(key):
            raise DeclarationError(
                Mistake(
                    f"file name {key!r} must be a plain file name such as 'config.yaml'",
                    record="ConfigFiles",
                )
            )
        if not isinstance(content, str):
            raise DeclarationError(
                Mistake(
                    f"file {key!r} must be text (use read('...'))",
                    record="ConfigFiles",
                    got=type(content).__name__,
                )
            )


@attrs.frozen(kw_only=True, eq=False)
class ConfigFiles(Record):
    """Config files shipped verbatim through kustomize's configMapGenerator.

    Example:
        # files={"config.yaml": read("llama/config.yaml")} reads apps.d/llama/config.yaml
        config = ConfigFiles("llama-swap", files={"config.yaml": "models: {}\\n"})
        Deployment("llama-swap", containers=[Container("llama-swap", image="ghcr.io/mostlygeek/llama-swap:v197-cuda-b8202",
                   mounts={"/config": config})])
    """

    name: str = attrs.field(kw_only=False, validator=dns_label)
    files: dict[str, str] = attrs.field(validator=_files)
