"""Exposure: Ingress (HTTP), LoadBalancer (other protocols), and Talos PodSecurity exemptions."""

from __future__ import annotations

from typing import Any

import attrs

from klaster_build.data import DATA
from klaster_build.errors import DeclarationError, Mistake
from klaster_build.records.base import Record
from klaster_build.records.workloads import (
    SERVED,
    SERVED_WHAT,
    DaemonSet,
    Deployment,
    Port,
    Service,
    StatefulSet,
    Workload,
    _ports,
)
from klaster_build.refs import Ref
from klaster_build.validators import (
    dns_label,
    dns_subdomain,
    fail,
    instance_of,
    one_of,
    optional,
    output_file,
    text,
)

HTTP_PORTS = frozenset({80, 443, 8000, 8008, 8080, 8443, 8888, 3000, 5000})
HTTP_NAMES = ("http", "https", "web", "www", "ui", "api")


def looks_like_http(port: Port) -> bool:
    """True for ports that are almost certainly HTTP (by number or name)."""
    name = port.name.lower()
    return port.protocol == "TCP" and (
        port.number in HTTP_PORTS or name in HTTP_NAMES or name.startswith(("http-", "https-"))
    )


def _annotations(inst: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    if not isinstance(value, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in value.items()
    ):
        fail(
            inst,
            attribute,
            Mistake("must map strings to strings (quote numbers: '30m', \"false\")"),
        )


@attrs.frozen
class ChartService:
    """A Service a Helm chart creates, addressed by name and port number (an Ingress backend).

    Example:
        repo = HelmRepository("grafana", url="https://grafana.github.io/helm-charts")
        HelmRelease("grafana", source=repo, chart="grafana", version="10.1.4")
        Ingress("grafana", backend=ChartService("grafana", 80), forward_auth=True)
    """

    name: str = attrs.field(validator=dns_label)
    port: int = attrs.field(validator=instance_of(int))


def _host(inst: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    if value is not None:
        dns_subdomain(inst, attribute, value)


@attrs.frozen(kw_only=True, eq=False)
class HostClaim(Record):
    """Common part of the things that claim an HTTPS host name under the cluster's domain."""

    name: str = attrs.field(kw_only=False, validator=dns_label)
    host: str | None = attrs.field(default=None, validator=_host)
    # A host outside the cluster domain needs a stated reason (TLS issuance, DNS ownership).
    host_reason: str | None = attrs.field(default=None, validator=optional(text(500)))
    streaming: bool = attrs.field(default=False, validator=instance_of(bool))
    upload_limit: str | None = attrs.field(default=None, validator=optional(text(16)))
    annotations: dict[str, str] = attrs.field(factory=dict, validator=_annotations, metadata=DATA)
    # Single sign-on in front of the app: Authentik's nginx forward auth (a Proxy provider in
    # "forward auth (single application)" mode, answered by cluster.authentik_outpost).
    forward_auth: bool = attrs.field(default=False, validator=instance_of(bool))
    # Why a host with neither forward_auth nor an OIDC client of its app needs no single sign-on
    # (the app's own login, a public page, an API with its own tokens).
    sso_reason: str | None = attrs.field(default=None, validator=optional(text(500)))

    def __attrs_post_init__(self) -> None:
        super().__attrs_post_init__()
        if self.forward_auth and self.sso_reason is not None:
            raise DeclarationError(
                Mistake(
                    f"{type(self).__name__} {self.name!r}: sso_reason= says why there is no "
                    "single sign-on, but forward_auth=True adds it",
                    instead="drop one of them",
                )
            )

    @property
    def fqdn(self) -> Ref:
        """The host name: `<host or name>.<domain>`, or the declared external host."""
        return Ref(self, "fqdn")

    @property
    def tls_secret(self) -> Ref:
        """The TLS secret cert-manager fills: `<app>-ingress`."""
        return Ref(self, "tls_secret")


@attrs.frozen(kw_only=True, eq=False)
class Ingress(HostClaim):
    """An HTTPS Ingress through the cluster's ingress class, with a cert-manager certificate.

    Single sign-on is required: `forward_auth=True` puts Authentik's sign-in in front (nginx
    forward auth to cluster.authentik_outpost; `klaster todo` says which Proxy provider to
    create), an `OIDC(...)` of the app is its own SSO login, and otherwise `sso_reason=` says why
    none is needed (the app's own login, a public page, an API with its own tokens).

    Example:
        proxy = Deployment("llama-proxy", containers=[Container("caddy", image="caddy:2.11.4-alpine",
                           ports={"http": 80})])
        web = Service("llama-proxy", workload=proxy, ports={"http": 80})
        Ingress("llama", backend=web, port="http", streaming=True,   # https://llama.<domain>
                sso_reason="an API for programs: the proxy checks their API key")
        # A web UI with no login of its own: Authentik's sign-in in front (forward auth).
        Ingress("llama-ui", backend=web, port="http", forward_auth=True)
    """

    backend: Service | ChartService = attrs.field(
        validator=instance_of(
            Service, ChartService, what="a Service record or ChartService(name, port)"
        )
    )
    port: str | int | None = None
    path: str = attrs.field(default="/", validator=text(256))
    file: str = attrs.field(default="ingress.yaml", validator=output_file)

    def __attrs_post_init__(self) -> None:
        super().__attrs_post_init__()
        if isinstance(self.backend, Service):
            if self.port is None and len(self.backend.ports) != 1:
                raise DeclarationError(
                    Mistake(
                        f"Ingress {self.name!r}: say which port of Service "
                        f"{self.backend.name!r} to use (port='name')"
                    )
                )
            if isinstance(self.port, str):
                self.backend.port(self.port)  # raises with the known names

    @property
    def backend_port(self) -> int:
        """The backend port number."""
        if isinstance(self.backend, ChartService):
            return self.backend.port
        if isinstance(self.port, int):
            return self.port
        if isinstance(self.port, str):
            return self.backend.port(self.port)
        return self.backend.ports[0].number


@attrs.frozen(kw_only=True, eq=False)
class ChartIngress(HostClaim):
    """The settings of an Ingress a Helm chart makes, to put in its values (see `ingress_values`).

    Example:
        web = ChartIngress("podinfo", forward_auth=True)   # https://podinfo.<domain>, behind Authentik
        repo = HelmRepository("podinfo", url="https://stefanprodan.github.io/podinfo")
        HelmRelease("podinfo", source=repo, chart="podinfo", version="6.9.2",
                    values={"ingress": ingress_values(web)})
    """


@attrs.frozen(kw_only=True, eq=False)
class LoadBalancer(Record):
    """A LoadBalancer Service for non-HTTP traffic (Cilium LB IPAM, local traffic policy).

    Its ports are for the LAN unless declared `Port(..., public=True)`. IPv6 addresses are
    reachable from the Internet, so a LAN-only LoadBalancer is IPv4-only (`SingleStack`,
    `ipFamilies: [IPv4]`: Cilium gives it no IPv6 address), and a public one is dual-stack, its
    IPv4 ports forwarded by the router (out/router/port-forwards.json and `klaster todo`;
    `forward_ipv4=False`: public over IPv6 only). A Service's ports share its addresses, so one
    LoadBalancer cannot mix LAN-only and public ports: declare two. `dns_name` is a host under
    the cluster's domain (`frigate-rtc`) or a full name; public LoadBalancers get a DNS step at
    `<name>.<domain>` without it, LAN-only ones only when it is given.

    Example:
        server = StatefulSet("teamspeak3", containers=[Container("teamspeak3", image="teamspeak:3.13.7",
                             ports=[Port("voice", 9987, "UDP"), Port("filetransfer", 30033)])])
        LoadBalancer("teamspeak3", workload=server,
                     ports=[Port("voice", 9987, "UDP", public=True), Port("filetransfer", 30033, public=True)])
    """

    name: str = attrs.field(kw_only=False, validator=dns_label)
    workload: Deployment | StatefulSet | DaemonSet | None = attrs.field(
        default=None, validator=optional(instance_of(*SERVED, what=SERVED_WHAT))
    )
    # Pods selected by label instead of `workload=` (e.g. the pods a Helm chart makes).
    selector: dict[str, str] = attrs.field(factory=dict, metadata=DATA)
    # {"http": 8080}, or [Port(...)] for UDP and for a target port that differs
    ports: tuple[Port, ...] = attrs.field(converter=_ports)
    traffic_policy: str = attrs.field(default="Local", validator=one_of({"Local", "Cluster"}))
    # None: SingleStack (IPv4) when every port is LAN-only, else PreferDualStack.
    family_policy: str | None = attrs.field(
        default=None,
        validator=optional(one_of({"PreferDualStack", "RequireDualStack", "SingleStack"})),
    )
    # False: the public ports are reachable over IPv6 only; the router forwards no IPv4 port.
    forward_ipv4: bool = attrs.field(default=True, validator=instance_of(bool))
    annotations: dict[str, str] = attrs.field(factory=dict, validator=_annotations, metadata=DATA)
    dns_name: str | None = attrs.field(default=None, validator=optional(dns_subdomain))
    http_reason: str | None = attrs.field(default=None, validator=optional(text(500)))
    file: str = attrs.field(default="service.yaml", validator=output_file)

    def __attrs_post_init__(self) -> None:
        super().__attrs_post_init__()
        if not self.ports:
            raise DeclarationError(Mistake("needs at least one port", record=self.described))
        if self.workload is None and not self.selector:
            raise DeclarationError(
                Mistake("needs a workload= or a selector=", record=self.described)
            )
        lan = [p.name for p in self.ports if not p.public]
        public = [p.name for p in self.public_ports]
        if lan and public:
            raise DeclarationError(
                Mistake(
                    f"mixes LAN-only ports {lan} with public ports {public}",
                    record=self.described,
                    instead="a Service's ports share its addresses, and an IPv6 address is "
                    "reachable from the Internet: declare two LoadBalancers, one with the public "
                    "ports and one with the LAN-only ports",
                )
            )
        if lan and self.family_policy not in (None, "SingleStack"):
            raise DeclarationError(
                Mistake(
                    f"LoadBalancer {self.name!r}: family_policy={self.family_policy!r} gives its "
                    f"LAN-only ports {lan} an IPv6 address, which is reachable from the Internet",
                    instead="drop family_policy= (a LAN-only LoadBalancer is IPv4-only), or "
                    "declare the ports Port(..., public=True)",
                )
            )
        if not self.forward_ipv4 and (lan or self.family_policy == "SingleStack"):
            raise DeclarationError(
                Mistake(
                    f"LoadBalancer {self.name!r}: forward_ipv4=False makes public ports reachable "
                    "over IPv6 only",
                    instead="it needs public ports on a dual-stack LoadBalancer (Port(..., "
                    "public=True), no family_policy='SingleStack'), or drop forward_ipv4=False",
                )
            )

    @property
    def public_ports(self) -> tuple[Port, ...]:
        """The ports reachable from the Internet (`Port(..., public=True)`)."""
        return tuple(p for p in self.ports if p.public)

    @property
    def forwarded_ports(self) -> tuple[Port, ...]:
        """The ports the router forwards from the Internet over IPv4."""
        return self.public_ports if self.forward_ipv4 else ()

    @property
    def ip_family_policy(self) -> str:
        """The declared family policy, else IPv4-only when LAN-only and dual-stack when public."""
        if self.family_policy is not None:
            return self.family_policy
        return "PreferDualStack" if self.public_ports else "SingleStack"

    @property
    def needs_name(self) -> bool:
        """Whether the operator gives it a DNS name: a declared `dns_name`, or public ports."""
        return self.dns_name is not None or bool(self.public_ports)


@attrs.frozen(kw_only=True, eq=False)
class PrivilegedNamespace(Record):
    """A PodSecurity exemption for the app's namespace when privileged pods come from a chart
    (workloads with `devices=`, `host_network=True` or a privileged SecurityContext get theirs
    automatically). The reason is required.

    Example:
        PrivilegedNamespace(reason="the chart's GPU/hardware-decoding pods need privileged access")
    """

    reason: str = attrs.field(validator=text(500))

    @property
    def record_name(self) -> str:
        return self.app


def needs_exemption(record: Record) -> bool:
    """Whether the record makes its app's namespace need the PodSecurity exemption."""
    return isinstance(record, PrivilegedNamespace) or (
        isinstance(record, Workload) and bool(record.exemption_reasons)
    )


def ingress_values(
    claim: ChartIngress,
    *,
    service: str | None = None,
    port: int | None = None,
    hosts_as_strings: bool = False,
    class_key: str = "className",
) -> dict[str, Any]:
    """The usual chart `ingress:` values for `claim` (class, annotations, host, TLS).

    Charts differ: `hosts_as_strings=True` gives `hosts: [host]` (authentik), the default gives
    `hosts: [{host, paths: [...]}]` (gitea, kaneo; `service`/`port` are added to the path when given).
    `class_key` names the chart's class field (`ingressClassName` for authentik and frigate).
    """
    path: dict[str, Any] = {"path": "/", "pathType": "Prefix"}
    if service is not None:
        path["service"] = service
    if port is not None:
        path["port"] = port
    hosts: list[Any] = [claim.fqdn] if hosts_as_strings else [{"host": claim.fqdn, "paths": [path]}]
    return {
        "enabled": True,
        class_key: Ref(claim, "ingress_class"),
        "annotations": Ref(claim, "annotations"),
        "hosts": hosts,
        "tls": [{"secretName": claim.tls_secret, "hosts": [claim.fqdn]}],
    }
