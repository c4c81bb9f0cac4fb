"""Ingress, LoadBalancer and Talos exemption outputs, their invariants and operator steps."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import yaml

from klaster_build.emit.outputs import Output, app_object, app_path, metadata, service_ports
from klaster_build.errors import Mistake, Problem
from klaster_build.family import Family
from klaster_build.graph import ProjectGraph
from klaster_build.names import qualified_host
from klaster_build.operator import OperatorStep, state_key
from klaster_build.project import Project
from klaster_build.records.exposure import (
    ChartIngress,
    ChartService,
    HostClaim,
    Ingress,
    LoadBalancer,
    PrivilegedNamespace,
    ingress_values,
    looks_like_http,
    needs_exemption,
)
from klaster_build.records.vault import OIDC
from klaster_build.records.workloads import Workload
from klaster_build.render_context import RenderContext


def host_name(claim: HostClaim, domain: str) -> str:
    """The full host a claim asks for."""
    return qualified_host(claim.host, claim.name, domain)


# The outpost's path on the protected host (sign-in start, callback) and the headers it answers
# with (goauthentik/authentik@website/docs/add-secure-apps/providers/proxy/_nginx_ingress.mdx).
OUTPOST_PATH = "/outpost.goauthentik.io"
OUTPOST_RESPONSE_HEADERS = (
    "Set-Cookie,X-authentik-username,X-authentik-groups,X-authentik-entitlements,"
    "X-authentik-email,X-authentik-name,X-authentik-uid"
)


def forward_auth_name(claim: HostClaim) -> str:
    """The name of the ConfigMap, Service and Ingress that forward auth adds: `outpost-<name>`
    (a Service name starts with a letter)."""
    return f"outpost-{claim.name}"


def forward_auth_annotations(claim: HostClaim, ctx: RenderContext) -> dict[str, str]:
    """Authentik's nginx forward-auth annotations, without a snippet: ingress-nginx refuses
    `auth-snippet` unless snippet annotations are allowed, so X-Forwarded-Host (which the outpost
    matches the application by) comes from an `auth-proxy-set-headers` ConfigMap."""
    host = host_name(claim, ctx.cluster.domain)
    outpost = ctx.cluster.authentik_outpost
    return {
        "nginx.ingress.kubernetes.io/auth-url": f"{outpost}{OUTPOST_PATH}/auth/nginx",
        "nginx.ingress.kubernetes.io/auth-signin": (
            f"https://{host}{OUTPOST_PATH}/start?rd=$scheme://{host}$escaped_request_uri"
        ),
        "nginx.ingress.kubernetes.io/auth-response-headers": OUTPOST_RESPONSE_HEADERS,
        "nginx.ingress.kubernetes.io/auth-proxy-set-headers": (
            f"{ctx.namespace(claim)}/{forward_auth_name(claim)}"
        ),
    }


def annotations_for(claim: HostClaim, ctx: RenderContext) -> dict[str, str]:
    """Ingress annotations: the cluster issuer, the presets, forward auth, then the declared
    extras."""
    annotations = {"cert-manager.io/cluster-issuer": ctx.cluster.cluster_issuer}
    if claim.streaming:
        annotations["nginx.ingress.kubernetes.io/proxy-buffering"] = "false"
        annotations["nginx.ingress.kubernetes.io/proxy-read-timeout"] = "30m"
    if claim.upload_limit is not None:
        annotations["nginx.ingress.kubernetes.io/proxy-body-size"] = claim.upload_limit
    if claim.forward_auth and ctx.cluster.authentik_outpost is not None:
        annotations.update(forward_auth_annotations(claim, ctx))
    annotations.update(claim.annotations)
    return annotations


def emit_forward_auth(claim: HostClaim, ctx: RenderContext) -> Iterator[Output]:
    """What forward auth adds beside the protected Ingress: the ConfigMap of headers for the
    auth request, an ExternalName Service for the outpost, and an Ingress routing the outpost's
    path on the same host to it (sign-in start and callback), without the auth annotations."""
    outpost = ctx.cluster.authentik_outpost
    if not claim.forward_auth or outpost is None:
        return
    host = host_name(claim, ctx.cluster.domain)
    name = forward_auth_name(claim)
    namespace = ctx.namespace(claim)
    outpost_host, _, outpost_port = outpost.removeprefix("http://").partition(":")
    port = int(outpost_port or 80)
    path = app_path(claim, f"{name}.yaml")
    yield Output(
        path,
        claim,
        document={
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": metadata(name, namespace),
            "data": {"X-Forwarded-Host": host},
        },
    )
    yield Output(
        path,
        claim,
        document={
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": metadata(name, namespace),
            "spec": {
                "type": "ExternalName",
                "externalName": outpost_host,
                "ports": [{"name": "http", "port": port, "protocol": "TCP"}],
            },
        },
    )
    yield Output(
        path,
        claim,
        document={
            "apiVersion": "networking.k8s.io/v1",
            "kind": "Ingress",
            "metadata": metadata(name, namespace),
            "spec": ingress_spec(claim, ctx, name, port, OUTPOST_PATH),
        },
    )


def ingress_spec(
    claim: HostClaim, ctx: RenderContext, service: str, port: int, path: str
) -> dict[str, Any]:
    """The spec of an Ingress of `claim`'s host: one Prefix path to `service:port`, TLS
    `<app>-ingress`."""
    host = host_name(claim, ctx.cluster.domain)
    return {
        "ingressClassName": ctx.cluster.ingress_class,
        "rules": [
            {
                "host": host,
                "http": {
                    "paths": [
                        {
                            "backend": {"service": {"name": service, "port": {"number": port}}},
                            "path": path,
                            "pathType": "Prefix",
                        }
                    ]
                },
            }
        ],
        "tls": [{"hosts": [host], "secretName": f"{claim.app}-ingress"}],
    }


def emit_ingress(ingress: Ingress, ctx: RenderContext) -> Iterator[Output]:
    """networking.k8s.io/v1 Ingress with TLS `<app>-ingress`."""
    yield Output(
        app_path(ingress, ingress.file),
        ingress,
        document={
            "apiVersion": "networking.k8s.io/v1",
            "kind": "Ingress",
            "metadata": {
                "namespace": ctx.namespace(ingress),
                "name": ingress.name,
                "annotations": annotations_for(ingress, ctx),
            },
            "spec": ingress_spec(
                ingress, ctx, ingress.backend.name, ingress.backend_port, ingress.path
            ),
        },
    )
    yield from emit_forward_auth(ingress, ctx)


def emit_load_balancer(lb: LoadBalancer, ctx: RenderContext) -> Iterator[Output]:
    """A LoadBalancer Service (Cilium LB IPAM): IPv4-only when LAN-only (Cilium allocates only
    the families of `ipFamilies`), else dual-stack."""
    selector = lb.selector or (lb.workload.selector_labels if lb.workload else {})
    families: dict[str, Any] = {"ipFamilyPolicy": lb.ip_family_policy}
    if lb.ip_family_policy == "SingleStack":
        families["ipFamilies"] = ["IPv4"]
    yield app_object(
        lb,
        ctx,
        "v1",
        "Service",
        {
            "spec": {
                "selector": selector,
                "ports": service_ports(lb),
                "type": "LoadBalancer",
                "externalTrafficPolicy": lb.traffic_policy,
                **families,
            },
        },
        annotations=dict(lb.annotations),
    )


def check_port_forwards(project: Project, graph: ProjectGraph) -> Iterator[Problem]:
    """The router forwards one IPv4 port and protocol to one place: two public LoadBalancer
    ports on the same port and protocol cannot both be forwarded."""
    seen: dict[tuple[int, str], LoadBalancer] = {}
    for lb in project.of_type(LoadBalancer):
        for port in lb.forwarded_ports:
            other = seen.setdefault((port.number, port.protocol), lb)
            if other is not lb:
                yield Problem.at(
                    lb,
                    Mistake(
                        f"forwards public {port.protocol} port {port.number}, which "
                        f"{other.origin} (LoadBalancer {other.name!r}) forwards already: the "
                        "router forwards one IPv4 port to one address. Use another port number, "
                        "or forward_ipv4=False for this one (public over IPv6 only)",
                        record=lb.described,
                    ),
                )


# Cilium LB IPAM: a Service may ask for given addresses, and Services share an address only with
# the same sharing key (and, across namespaces, each allowing the other's) and distinct ports
# (docs/upstream.md, "Clashes the cluster rejects").
LB_IPS = "lbipam.cilium.io/ips"
LB_SHARING_KEY = "lbipam.cilium.io/sharing-key"
LB_SHARING_NAMESPACES = "lbipam.cilium.io/sharing-cross-namespace"


def check_pinned_addresses(project: Project, graph: ProjectGraph) -> Iterator[Problem]:
    """Two LoadBalancers asking for one address get it only when Cilium lets them share it."""
    pinned: dict[str, list[LoadBalancer]] = {}
    for lb in project.of_type(LoadBalancer):
        for address in str(lb.annotations.get(LB_IPS, "")).split(","):
            if address.strip():
                pinned.setdefault(address.strip(), []).append(lb)

    def namespace(lb: LoadBalancer) -> str:
        return project.apps[lb.app].namespace_name

    def allows(lb: LoadBalancer, other: LoadBalancer) -> bool:
        if namespace(lb) == namespace(other):
            return True
        allowed = {n.strip() for n in str(lb.annotations.get(LB_SHARING_NAMESPACES, "")).split(",")}
        return namespace(other) in allowed or "*" in allowed

    for address, lbs in pinned.items():
        first = lbs[0]
        for lb in lbs[1:]:
            key, first_key = (
                lb.annotations.get(LB_SHARING_KEY),
                first.annotations.get(LB_SHARING_KEY),
            )
            ports = {(p.number, p.protocol) for p in lb.ports} & {
                (p.number, p.protocol) for p in first.ports
            }
            why = None
            if key is None or key != first_key:
                why = f"without one {LB_SHARING_KEY} annotation on both"
            elif not (allows(lb, first) and allows(first, lb)):
                why = f"across namespaces without {LB_SHARING_NAMESPACES} allowing each other"
            elif ports:
                port, protocol = sorted(ports)[0]
                why = f"and both use {protocol} port {port}"
            if why:
                yield Problem.at(
                    lb,
                    Mistake(
                        f"asks for address {address}, which LoadBalancer {first.name!r} "
                        f"({first.origin}) asks for too, {why}: Cilium gives it to one of them "
                        "and leaves the other without an address. Use another address, or share "
                        f"it ({LB_SHARING_KEY}: the same key on both, distinct ports)",
                        record=lb.described,
                    ),
                )


def check_unique_hosts(project: Project, graph: ProjectGraph) -> Iterator[Problem]:
    """No two Ingresses (raw or chart) or LoadBalancers claim one DNS name, however spelt."""
    domain = project.cluster.domain
    claims: list[tuple[str, HostClaim | LoadBalancer]] = [
        (host_name(claim, domain), claim) for claim in project.of_type(HostClaim)
    ]
    claims += [
        (qualified_host(lb.dns_name, lb.name, domain), lb)
        for lb in project.of_type(LoadBalancer)
        if lb.needs_name
    ]
    seen: dict[str, HostClaim | LoadBalancer] = {}
    for host, claim in claims:
        other = seen.setdefault(host, claim)
        if other is not claim:
            yield Problem.at(
                claim,
                Mistake(
                    f"is already served by {other.address} ({other.origin})",
                    record=f"host {host!r}",
                    instead="pick another host",
                ),
            )


def check_hosts_in_domain(project: Project, graph: ProjectGraph) -> Iterator[Problem]:
    """A host outside the cluster domain needs an explicit reason (TLS and DNS are not ours)."""
    domain = project.cluster.domain
    for claim in project.of_type(HostClaim):
        host = host_name(claim, domain)
        if not host.endswith(f".{domain}") and not claim.host_reason:
            yield Problem.at(
                claim,
                Mistake(
                    f"is outside {domain}",
                    record=f"host {host!r}",
                    instead="use a subdomain, or give host_reason='<reason>'",
                ),
            )


def check_single_sign_on(project: Project, graph: ProjectGraph) -> Iterator[Problem]:
    """Every host a user reaches has single sign-on (forward auth, or an OIDC client of its
    app), or says why not; forward auth needs the klasterfile's outpost."""
    with_oidc = {oidc.app for oidc in project.of_type(OIDC)}
    outpost = project.cluster.authentik_outpost
    for claim in project.of_type(HostClaim):
        if claim.forward_auth and outpost is None:
            yield Problem.at(
                claim,
                Mistake(
                    "has forward_auth=True, but the klasterfile names no Authentik outpost",
                    record=claim.described,
                    instead="add authentik_outpost='http://<outpost service>.<namespace>"
                    ".svc.cluster.local[:port]' to the Cluster in klasterfile.py",
                ),
            )
        elif not claim.forward_auth and claim.sso_reason is None and claim.app not in with_oidc:
            host = host_name(claim, project.cluster.domain)
            yield Problem.at(
                claim,
                Mistake(
                    f"serves https://{host}/ without single sign-on",
                    record=claim.described,
                    instead="put Authentik in front with forward_auth=True, give the app an "
                    "OIDC(...) client, or say why it needs neither with sso_reason='<the app's "
                    "own login, a public page, an API with its own tokens...>'",
                ),
            )


def check_no_http_load_balancers(project: Project, graph: ProjectGraph) -> Iterator[Problem]:
    """HTTP goes through Ingress; a LoadBalancer may expose it only with a reason."""
    for lb in project.of_type(LoadBalancer):
        if lb.http_reason:
            continue
        for port in lb.ports:
            if looks_like_http(port):
                yield Problem.at(
                    lb,
                    Mistake(
                        f"exposes port {port.name} ({port.number}/TCP), which looks like HTTP",
                        record=lb.described,
                        instead="expose HTTP with Ingress(...) instead, or give "
                        "http_reason='<reason>'",
                    ),
                )


def privileged_namespaces(project: Project) -> dict[str, list[Any]]:
    """Namespace -> the records that make it need a PodSecurity exemption."""
    found: dict[str, list[Any]] = {}
    for record in project.records:
        if needs_exemption(record):
            found.setdefault(project.apps[record.app].namespace_name, []).append(record)
    return dict(sorted(found.items()))


def check_exemptions(project: Project, graph: ProjectGraph) -> Iterator[Problem]:
    """Privileged pods need the Talos settings to exempt them; a declared exemption not used is flagged."""
    needs = privileged_namespaces(project)
    if needs and project.cluster.talos is None:
        first = next(iter(needs.values()))[0]
        yield Problem.at(
            first,
            Mistake(
                "privileged pods need a PodSecurity exemption in the Talos config",
                instead="add talos=TalosSettings(...) to the Cluster in klasterfile.py",
            ),
        )
    for records in needs.values():
        declared = [r for r in records if isinstance(r, PrivilegedNamespace)]
        if declared and len(declared) == len(records) and not declared[0].reason.strip():
            yield Problem.at(declared[0], Mistake("needs a reason", record="PrivilegedNamespace"))


def check_host_paths(project: Project, graph: ProjectGraph) -> Iterator[Problem]:
    """hostPath only for declared devices: raw extras must not smuggle host paths in."""
    for workload in project.of_type(Workload):
        volumes = workload.pod_extra.get("volumes", [])
        if any(isinstance(v, dict) and "hostPath" in v for v in volumes):
            yield Problem.at(
                workload,
                Mistake(
                    f"{workload.address}: hostPath volumes come only from "
                    "devices=[HostDevice(...)] of privileged containers"
                ),
            )


def exposure_steps(project: Project, graph: ProjectGraph) -> Iterator[OperatorStep]:
    """DNS names, IPv4 port forwards and the Talos config to apply."""
    domain = project.cluster.domain
    for claim in project.of_type(HostClaim):
        host = host_name(claim, domain)
        yield OperatorStep(
            40,
            "dns",
            f"dns:{host}",
            f"Create DNS name {host} pointing at the ingress controller",
            {"host": host},
            claim.origin,
        )
        if claim.forward_auth:
            yield OperatorStep(
                20,
                "authentik",
                f"authentik-forward-auth:{host}",
                f"Create an Authentik Proxy provider in 'Forward auth (single application)' mode "
                f"with external host https://{host}, its application, and add it to the outpost "
                f"at {project.cluster.authentik_outpost}",
                {"mode": "forward_single", "external_host": f"https://{host}"},
                claim.origin,
            )
    for lb in project.of_type(LoadBalancer):
        namespace = project.apps[lb.app].namespace_name
        if lb.needs_name:
            host = qualified_host(lb.dns_name, lb.name, domain)
            yield OperatorStep(
                41,
                "dns",
                f"dns:{host}",
                f"Create DNS name {host} for LoadBalancer {namespace}/{lb.name} (its address is known once Flux applied it)",
                {"host": host},
                lb.origin,
            )
        for port in lb.forwarded_ports:
            yield OperatorStep(
                50,
                "port-forward",
                f"port-forward:{namespace}/{lb.name}/{port.protocol}/{port.number}",
                f"Forward IPv4 {port.protocol} port {port.number} on the router to LoadBalancer {namespace}/{lb.name} (see out/router/port-forwards.json)",
                {
                    "namespace": namespace,
                    "service": lb.name,
                    "port": port.number,
                    "protocol": port.protocol,
                },
                lb.origin,
            )
    exempted = list(privileged_namespaces(project))
    if exempted:
        yield OperatorStep(
            60,
            "talos",
            state_key("talos-config", exempted),
            "Regenerate and apply the Talos config: make -f out/Makefile gen-talos-config, then talosctl apply-config",
            {},
        )


def check_talos_patches_exist(project: Project, graph: ProjectGraph) -> Iterator[Problem]:
    """The operator's own Talos patches the Makefile names are on disk."""
    talos = project.cluster.talos
    if talos is None:
        return
    for patch in project.cluster.input_files():
        if not (project.root / patch).is_file():
            yield Problem(
                project.cluster.origin,
                Mistake(
                    "named in talos=TalosSettings(...) does not exist",
                    record=f"Talos patch {patch!r}",
                    instead="create it or fix the path",
                ),
            )
    for node in talos.node_patches:
        if node not in {n.name for n in project.cluster.nodes}:
            yield Problem(
                project.cluster.origin,
                Mistake(
                    f"node_patches names {node!r}, which is not a node of the cluster",
                    record="TalosSettings",
                ),
            )


def check_cidrs_match_talos(project: Project, graph: ProjectGraph) -> Iterator[Problem]:
    """`pod_cidrs` and `service_cidrs` are the networks the operator's Talos patches give the
    cluster (`cluster.network.podSubnets` / `serviceSubnets`), when a patch sets them."""
    cluster = project.cluster
    for patch in cluster.talos.base_patches if cluster.talos else ():
        path = project.root / patch
        if not path.is_file():
            continue  # check_talos_patches_exist says so
        try:
            documents = list(yaml.safe_load_all(path.read_text()))
        except yaml.YAMLError:
            continue  # not ours to parse: talosctl reports it
        for document in documents:
            network = (
                (document or {}).get("cluster", {}).get("network", {})
                if isinstance(document, dict)
                else {}
            )
            if not isinstance(network, dict):
                continue
            for setting, key in (("pod_cidrs", "podSubnets"), ("service_cidrs", "serviceSubnets")):
                talos = network.get(key)
                declared = list(getattr(cluster, setting))
                if isinstance(talos, list) and talos != declared:
                    yield Problem(
                        cluster.origin,
                        Mistake(
                            f"{setting}={declared} differs from {patch} cluster.network.{key} "
                            f"{talos}",
                            record="Cluster",
                            instead=f"write {setting}={talos} (apps trust these as their proxies)",
                        ),
                    )


FAMILY = Family(
    "exposure",
    exports=(
        ChartIngress,
        ChartService,
        Ingress,
        LoadBalancer,
        PrivilegedNamespace,
        ingress_values,
    ),
    read_by_name=frozenset({(HostClaim, "tls_secret")}),
    references={
        (HostClaim, "fqdn"): lambda claim, ctx: host_name(claim, ctx.cluster.domain),
        (HostClaim, "tls_secret"): lambda claim, _ctx: f"{claim.app}-ingress",
        (HostClaim, "ingress_class"): lambda _claim, ctx: ctx.cluster.ingress_class,
        (HostClaim, "annotations"): annotations_for,
    },
    records=(
        Ingress,
        ChartIngress,
        LoadBalancer,
        PrivilegedNamespace,
    ),
    emitters={
        Ingress: emit_ingress,
        ChartIngress: emit_forward_auth,
        LoadBalancer: emit_load_balancer,
    },
    checks=(
        check_port_forwards,
        check_pinned_addresses,
        check_unique_hosts,
        check_hosts_in_domain,
        check_no_http_load_balancers,
        check_single_sign_on,
        check_exemptions,
        check_host_paths,
        check_talos_patches_exist,
        check_cidrs_match_talos,
    ),
    steps=(exposure_steps,),
)
