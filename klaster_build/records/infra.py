"""Infra: cluster controllers (Namespace + HelmRepository + HelmRelease in one file under
infra/controllers/) and cluster-wide configs (infra/configs/), each directory with its kustomization.yaml.
"""

from __future__ import annotations

from typing import Any

import attrs

from klaster_build.data import DATA
from klaster_build.errors import Mistake
from klaster_build.records.base import Record
from klaster_build.records.helm import url
from klaster_build.validators import (
    dns_label,
    each,
    fail,
    instance_of,
    matches,
    one_of,
    optional,
    text,
    to_tuple,
)
from klaster_build.versions import Renovate

_infra_file = matches(r"(?!.*\.\.)[a-z0-9][a-z0-9.-]*\.yaml", "a file name such as 'bgp.yaml'")


@attrs.frozen(kw_only=True)
class GitCrds:
    """CRDs a chart does not ship, from the project's Git repository at the tag of the chart
    version: a Flux GitRepository (only `path`) and a Kustomization applying it, written with
    the component. `tag` is a template of the chart version.

    Example:
        GitCrds(url="https://github.com/k8up-io/k8up", tag="k8up-{version}",
                path="config/crd/apiextensions.k8s.io/v1")
    """

    url: str = attrs.field(validator=url)
    tag: str = attrs.field(validator=text(128))
    path: str = attrs.field(validator=text(253))

    @tag.validator
    def _check_tag(self, attribute: attrs.Attribute[Any], value: str) -> None:
        if "{version}" not in value:
            fail(
                self,
                attribute,
                Mistake("must contain {version} (the chart version)", got=repr(value)),
            )

    @path.validator
    def _check_path(self, attribute: attrs.Attribute[Any], value: str) -> None:
        if value.startswith("/") or ".." in value.split("/"):
            fail(
                self,
                attribute,
                Mistake(
                    "must be a directory of the repository such as 'config/crd'", got=repr(value)
                ),
            )


@attrs.frozen(kw_only=True, eq=False)
class InfraComponent(Record):
    """A cluster controller installed from a Helm chart: infra/controllers/<name>.yaml.

    `provides` lists the API groups whose CRDs it installs: once apps.d has infra controllers,
    every custom resource of out/ must be of a group one of them provides.

    Example:
        App(infra=True)   # in the infra file
        InfraComponent("cloudnative-pg", namespace="cnpg-system", repository="cnpg",
                       url="https://cloudnative-pg.github.io/charts", chart="cloudnative-pg",
                       version="0.28.1", release="cnpg", provides=["postgresql.cnpg.io"])
        InfraComponent("openebs", namespace="openebs", url="https://openebs.github.io/openebs",
                       chart="openebs", version="4.4.0", provides=["local.openebs.io"])
        InfraComponent("vault-secrets-operator", namespace="vault-secrets-operator",
                       repository="hashicorp", url="https://helm.releases.hashicorp.com",
                       chart="vault-secrets-operator", version="1.5.1",
                       provides=["secrets.hashicorp.com"])
        InfraComponent("cilium", namespace="kube-system", create_namespace=False,
                       url="https://helm.cilium.io/", chart="cilium", version="1.18.4",
                       provides=["cilium.io"])
        InfraComponent("cert-manager", namespace="cert-manager", url="https://charts.jetstack.io",
                       chart="cert-manager", version="v1.19.3", provides=["cert-manager.io"])
    """

    name: str = attrs.field(kw_only=False, validator=dns_label)
    namespace: str = attrs.field(validator=dns_label)
    url: str = attrs.field(validator=url)
    chart: str = attrs.field(validator=text(253))
    version: str = attrs.field(validator=text(128))
    repository: str | None = attrs.field(default=None, validator=optional(dns_label))
    release: str | None = attrs.field(default=None, validator=optional(dns_label))
    values: dict[str, Any] = attrs.field(factory=dict, validator=instance_of(dict), metadata=DATA)
    # False when the namespace belongs to another component or to Kubernetes (kube-system).
    create_namespace: bool = attrs.field(default=True, validator=instance_of(bool))
    repository_type: str | None = attrs.field(default=None)
    # API groups whose CRDs this controller installs: every custom resource of out/ must be of a
    # group some component provides, in a Kustomization applied after the component's.
    provides: tuple[str, ...] = attrs.field(
        default=(), converter=to_tuple, validator=each(text(253))
    )
    # API groups of custom resources the chart itself creates (a ClusterIssuer...): its
    # HelmRelease waits (dependsOn) for the HelmRelease of the component that provides each.
    uses: tuple[str, ...] = attrs.field(default=(), converter=to_tuple, validator=each(text(253)))
    # CRDs the chart does not install itself (k8up): fetched from Git with the chart's version.
    crds: GitCrds | None = attrs.field(default=None, validator=optional(instance_of(GitCrds)))
    # controllers/ (Kustomization infra-controllers, applied first) unless the component needs
    # what configs/ holds (a volume, a certificate): then configs/, applied after the controllers.
    directory: str = attrs.field(
        default="controllers", validator=one_of({"configs", "controllers"})
    )
    renovate: Renovate | None = attrs.field(default=None, validator=optional(instance_of(Renovate)))


@attrs.frozen(kw_only=True, eq=False)
class InfraConfig(Record):
    """Cluster-wide documents klaster does not model (BGP, IP pools, certificates...):
    infra/configs/<file>.

    Example:
        App(infra=True)   # in the infra file
        InfraConfig(file="loadbalancer-ippool.yaml", documents=[{
            "apiVersion": "cilium.io/v2alpha1", "kind": "CiliumLoadBalancerIPPool",
            "metadata": {"name": "pool"}, "spec": {"blocks": [{"cidr": "192.168.1.224/28"}]},
        }])
    """

    file: str = attrs.field(validator=_infra_file)
    documents: tuple[dict[str, Any], ...] = attrs.field(
        converter=to_tuple,
        validator=each(instance_of(dict, what="a Kubernetes document (dict)")),
        metadata=DATA,
    )
    # controllers/ for components installed from raw manifests (coredns), configs/ otherwise.
    directory: str = attrs.field(default="configs", validator=one_of({"configs", "controllers"}))

    @documents.validator
    def _check_documents(self, attribute: attrs.Attribute[Any], value: Any) -> None:
        for document in value:
            if not isinstance(document, dict) or not {"apiVersion", "kind", "metadata"} <= set(
                document
            ):
                fail(
                    self,
                    attribute,
                    Mistake("must be Kubernetes documents with apiVersion, kind and metadata"),
                )

    @property
    def record_name(self) -> str:
        return self.file.removesuffix(".yaml")
