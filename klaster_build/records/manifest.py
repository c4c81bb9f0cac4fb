"""The escape hatch: any Kubernetes document klaster does not model, still checked."""

from __future__ import annotations

import re
from typing import Any

import attrs

from klaster_build.errors import DeclarationError
from klaster_build.records.base import Record
from klaster_build.validators import name_problem

FILE_NAME = r"^[a-z0-9][a-z0-9-]*\.yaml$"


def output_file(inst: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    """A plain file name inside the app directory, like `release.yaml` (never a path)."""
    if not isinstance(value, str) or not re.match(FILE_NAME, value) or len(value) > 64:
        msg = (
            f"{type(inst).__name__} {attribute.name!r} must be a file name such as 'release.yaml' "
            f"(lower-case letters, digits and '-', ending in .yaml), got {value!r}"
        )
        raise DeclarationError(msg)


def _body(inst: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    problem = None
    if not isinstance(value, dict):
        problem = f"must be a dict (one Kubernetes document), got {type(value).__name__}"
    elif not isinstance(value.get("apiVersion"), str) or not isinstance(value.get("kind"), str):
        problem = "must have string 'apiVersion' and 'kind'"
    elif not isinstance(value.get("metadata"), dict):
        problem = "must have a 'metadata' mapping with a 'name'"
    else:
        name_issue = name_problem(value["metadata"].get("name"), max_length=253, dots=True)
        if name_issue:
            problem = f"metadata.name {name_issue}"
    if problem:
        msg = f"Manifest 'body' {problem}"
        raise DeclarationError(msg)


@attrs.frozen(kw_only=True, eq=False)
class Manifest(Record):
    """A raw document for a kind klaster does not model; put in the app's namespace unless
    `cluster_scoped` or the body names a namespace.

    Example:
        Manifest(body={"apiVersion": "policy/v1", "kind": "PodDisruptionBudget", "metadata": {"name": "web"},
                       "spec": {"maxUnavailable": 1, "selector": {"matchLabels": {"app": "web"}}}})
        Manifest(body={"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
                       "metadata": {"name": "node-reader"},
                       "rules": [{"apiGroups": [""], "resources": ["nodes"], "verbs": ["get", "list"]}]},
                 cluster_scoped=True, file="rbac.yaml")
    """

    body: dict[str, Any] = attrs.field(validator=_body)
    file: str = attrs.field(default="manifests.yaml", validator=output_file)
    # True for cluster-wide kinds (ClusterRole, StorageClass...): no namespace is added.
    cluster_scoped: bool = False

    @property
    def record_name(self) -> str:
        return f"{self.body['kind'].lower()}-{self.body['metadata']['name']}"
