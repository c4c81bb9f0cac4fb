"""cert-manager Certificates: the document, its hosts' checks, and the Secret as a volume."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from klaster_build.emit.outputs import Output, app_object
from klaster_build.errors import Mistake, Problem
from klaster_build.family import Family, Mountable
from klaster_build.graph import ProjectGraph
from klaster_build.names import qualified_host
from klaster_build.project import Project
from klaster_build.records.certificates import Certificate
from klaster_build.render_context import RenderContext

CERT_MANAGER_API = "cert-manager.io/v1"


def hosts_of(cert: Certificate, domain: str) -> list[str]:
    """The full names of a certificate's hosts (a label is under `domain`)."""
    return [qualified_host(host, cert.name, domain) for host in cert.hosts]


def emit_certificate(cert: Certificate, ctx: RenderContext) -> Iterator[Output]:
    """cert-manager.io/v1 Certificate issued by the cluster issuer."""
    yield app_object(
        cert,
        ctx,
        CERT_MANAGER_API,
        "Certificate",
        {
            "spec": {
                "secretName": cert.tls_secret_name,
                "dnsNames": hosts_of(cert, ctx.cluster.domain),
                "issuerRef": {
                    "group": "cert-manager.io",
                    "kind": "ClusterIssuer",
                    "name": ctx.cluster.cluster_issuer,
                },
            },
        },
    )


def check_certificate_hosts(project: Project, graph: ProjectGraph) -> Iterator[Problem]:
    """A host outside the cluster domain needs a reason (the issuer answers for the domain)."""
    domain = project.cluster.domain
    for cert in project.of_type(Certificate):
        outside = [h for h in hosts_of(cert, domain) if not h.endswith(f".{domain}")]
        if outside and not cert.host_reason:
            yield Problem.at(
                cert,
                Mistake(
                    f"hosts {outside} are outside {domain}",
                    record=cert.described,
                    instead="use subdomains, or give host_reason='<reason>'",
                ),
            )


def _secret_volume(cert: Certificate, ctx: RenderContext) -> dict[str, Any]:
    return {"secret": {"secretName": cert.tls_secret_name}}


FAMILY = Family(
    "certificates",
    exports=(Certificate,),
    records=(Certificate,),
    emitters={Certificate: emit_certificate},
    references={(Certificate, "secret_name"): lambda cert, _ctx: cert.tls_secret_name},
    mounts={Certificate: Mountable(_secret_volume, items=True)},
    read_by_name=frozenset({(Certificate, "name"), (Certificate, "secret_name")}),
    checks=(check_certificate_hosts,),
)
