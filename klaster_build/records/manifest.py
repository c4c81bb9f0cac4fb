"""The escape hatch: any Kubernetes document klaster does not model, still checked."""

from __future__ import annotations

from typing import Any

import attrs

from klaster_build.data import DATA
from klaster_build.errors import DeclarationError, Mistake
from klaster_build.names import DNS_SUBDOMAIN, api_group
from klaster_build.records.base import Record
from klaster_build.validators import fail, instance_of, optional, output_file


def _body(inst: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    problem = None
    if not isinstance(value, dict):
        problem = Mistake("must be a dict (one Kubernetes document)", got=type(value).__name__)
    elif not isinstance(value.get("apiVersion"), str) or not isinstance(value.get("kind"), str):
        problem = Mistake("must have string 'apiVersion' and 'kind'")
    elif not isinstance(value.get("metadata"), dict):
        problem = Mistake("must have a 'metadata' mapping with a 'name'")
    else:
        name_issue = DNS_SUBDOMAIN.problem(value["metadata"].get("name"))
        if name_issue:
            problem = attrs.evolve(name_issue, wrong=f"metadata.name {name_issue.wrong}")
    if problem:
        fail(inst, attribute, problem)


# Kinds that live outside namespaces, by (API group, kind): Kubernetes' own (`kubectl
# api-resources --namespaced=false`) and those of the cluster's operators.
CLUSTER_SCOPED = frozenset(
    {
        ("", "Namespace"),
        ("", "Node"),
        ("", "PersistentVolume"),
        ("rbac.authorization.k8s.io", "ClusterRole"),
        ("rbac.authorization.k8s.io", "ClusterRoleBinding"),
        ("storage.k8s.io", "StorageClass"),
        ("storage.k8s.io", "CSIDriver"),
        ("storage.k8s.io", "CSINode"),
        ("storage.k8s.io", "VolumeAttachment"),
        ("storage.k8s.io", "VolumeAttributesClass"),
        ("apiextensions.k8s.io", "CustomResourceDefinition"),
        ("apiregistration.k8s.io", "APIService"),
        ("scheduling.k8s.io", "PriorityClass"),
        ("networking.k8s.io", "IngressClass"),
        ("node.k8s.io", "RuntimeClass"),
        ("admissionregistration.k8s.io", "MutatingWebhookConfiguration"),
        ("admissionregistration.k8s.io", "ValidatingWebhookConfiguration"),
        ("admissionregistration.k8s.io", "ValidatingAdmissionPolicy"),
        ("admissionregistration.k8s.io", "ValidatingAdmissionPolicyBinding"),
        ("certificates.k8s.io", "CertificateSigningRequest"),
        ("flowcontrol.apiserver.k8s.io", "FlowSchema"),
        ("flowcontrol.apiserver.k8s.io", "PriorityLevelConfiguration"),
        ("cert-manager.io", "ClusterIssuer"),
        ("cilium.io", "CiliumClusterwideNetworkPolicy"),
        ("cilium.io", "CiliumLoadBalancerIPPool"),
    }
)


@attrs.frozen(kw_only=True, eq=False)
class Manifest(Record):
    """A raw document for a kind klaster does not model; put in the app's namespace unless the
    kind is cluster-scoped or the body names a namespace.

    Example:
        Manifest(body={"apiVersion": "policy/v1", "kind": "PodDisruptionBudget", "metadata": {"name": "web"},
                       "spec": {"maxUnavailable": 1, "selector": {"matchLabels": {"app": "web"}}}})
        Manifest(body={"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
                       "metadata": {"name": "node-reader"},
                       "rules": [{"apiGroups": [""], "resources": ["nodes"], "verbs": ["get", "list"]}]},
                 file="rbac.yaml")
    """

    body: dict[str, Any] = attrs.field(validator=_body, metadata=DATA)
    file: str = attrs.field(default="manifests.yaml", validator=output_file)
    # True for a cluster-wide kind klaster does not know (a custom resource): no namespace is
    # added. Kubernetes' own cluster-wide kinds (ClusterRole, StorageClass...) need no flag.
    cluster_scoped: bool | None = attrs.field(default=None, validator=optional(instance_of(bool)))

    def __attrs_post_init__(self) -> None:
        kind = self.body["kind"]
        known = (api_group(self.body), kind) in CLUSTER_SCOPED
        if known and self.cluster_scoped is False:
            raise DeclarationError(
                Mistake(
                    f"Manifest: {kind} is cluster-scoped", instead="remove cluster_scoped=False"
                )
            )
        if (known or self.cluster_scoped) and "namespace" in self.body["metadata"]:
            raise DeclarationError(
                Mistake(
                    f"Manifest: {kind} is cluster-scoped and has no namespace",
                    instead="remove metadata.namespace",
                )
            )
        super().__attrs_post_init__()

    @property
    def namespaced(self) -> bool:
        """Whether the document lives in a namespace (the app's, unless the body names one)."""
        if self.cluster_scoped is not None:
            return not self.cluster_scoped
        return (api_group(self.body), self.body["kind"]) not in CLUSTER_SCOPED

    @property
    def record_name(self) -> str:
        return f"{self.body['kind'].lower()}-{self.body['metadata']['name']}"
