"""ServiceAccount, Role, ClusterRole and binding documents (rbac.authorization.k8s.io/v1), in the
shapes the real repo uses (apps/garm/rbac.yaml)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from klaster_build.emit.outputs import Output, app_object, app_path, metadata
from klaster_build.family import Family
from klaster_build.records.base import Record
from klaster_build.records.rbac import (
    ClusterRole,
    ClusterRoleBinding,
    Role,
    RoleBinding,
    Rule,
    ServiceAccount,
)
from klaster_build.render_context import RenderContext

RBAC_API = "rbac.authorization.k8s.io"


def emit_service_account(account: ServiceAccount, ctx: RenderContext) -> Iterator[Output]:
    """v1 ServiceAccount."""
    yield app_object(
        account,
        ctx,
        "v1",
        "ServiceAccount",
        {},
    )


def rule_spec(rule: Rule) -> dict[str, Any]:
    """One entry of a role's `rules`."""
    spec: dict[str, Any] = {
        "apiGroups": list(rule.api_groups),
        "resources": list(rule.resources),
        "verbs": list(rule.verbs),
    }
    if rule.resource_names:
        spec["resourceNames"] = list(rule.resource_names)
    return spec


def _document(record: Record, kind: str, namespace: str | None, body: dict[str, Any]) -> Output:
    return Output(
        app_path(record, record.file),  # type: ignore[attr-defined]
        record,
        document={
            "apiVersion": f"{RBAC_API}/v1",
            "kind": kind,
            "metadata": metadata(record.record_name, namespace),
            **body,
        },
    )


def emit_role(role: Role, ctx: RenderContext) -> Iterator[Output]:
    """A Role in its namespace."""
    namespace = role.namespace.name if role.namespace else ctx.namespace(role)
    yield _document(role, "Role", namespace, {"rules": [rule_spec(r) for r in role.rules]})


def emit_cluster_role(role: ClusterRole, ctx: RenderContext) -> Iterator[Output]:
    """A ClusterRole (cluster-scoped: no namespace)."""
    yield _document(role, "ClusterRole", None, {"rules": [rule_spec(r) for r in role.rules]})


def _grant(binding: RoleBinding | ClusterRoleBinding, ctx: RenderContext) -> dict[str, Any]:
    """`subjects` and `roleRef`, from the records the binding holds."""
    return {
        "subjects": [
            {"kind": "ServiceAccount", "name": account.name, "namespace": ctx.namespace(account)}
            for account in binding.subjects
        ],
        "roleRef": {"kind": binding.role.kind, "name": binding.role.name, "apiGroup": RBAC_API},
    }


def emit_role_binding(binding: RoleBinding, ctx: RenderContext) -> Iterator[Output]:
    """A RoleBinding in its role's namespace (or the one it limits a ClusterRole to)."""
    namespace = binding.scope.name if binding.scope else ctx.namespace(binding)
    yield _document(binding, "RoleBinding", namespace, _grant(binding, ctx))


def emit_cluster_role_binding(binding: ClusterRoleBinding, ctx: RenderContext) -> Iterator[Output]:
    """A ClusterRoleBinding (cluster-scoped)."""
    yield _document(binding, "ClusterRoleBinding", None, _grant(binding, ctx))


FAMILY = Family(
    "rbac",
    exports=(
        ClusterRole,
        ClusterRoleBinding,
        Role,
        RoleBinding,
        Rule,
        ServiceAccount,
    ),
    records=(ServiceAccount, Role, ClusterRole, RoleBinding, ClusterRoleBinding),
    emitters={
        ServiceAccount: emit_service_account,
        Role: emit_role,
        ClusterRole: emit_cluster_role,
        RoleBinding: emit_role_binding,
        ClusterRoleBinding: emit_cluster_role_binding,
    },
)
