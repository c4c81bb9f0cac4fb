"""Identity and access in the cluster: ServiceAccount, Role and ClusterRole with typed rules, and
the bindings that grant them. A binding holds the records it binds (never their names), so every
grant is a graph edge: renaming a ServiceAccount or Role cannot leave a binding behind.
"""

from __future__ import annotations

import re
from typing import Any

import attrs

from klaster_build.errors import DeclarationError, Mistake
from klaster_build.names import DNS_SUBDOMAIN
from klaster_build.records.app import Namespace
from klaster_build.records.base import Record
from klaster_build.validators import (
    dns_subdomain,
    each,
    fail,
    instance_of,
    optional,
    output_file,
    to_tuple,
)

# The verbs the API server authorizes (kubernetes.io/docs/reference/access-authn-authz/
# authorization/#determine-the-request-verb), plus the special verbs of RBAC itself.
VERBS = frozenset(
    {
        "get",
        "list",
        "watch",
        "create",
        "update",
        "patch",
        "delete",
        "deletecollection",
        "use",
        "bind",
        "escalate",
        "impersonate",
        "approve",
        "sign",
        "*",
    }
)
_RESOURCE = re.compile(r"^(\*|[a-z][a-z0-9.-]*(/[a-z][a-z0-9.-]*|/\*)?)$")


@attrs.frozen(kw_only=True, eq=False)
class ServiceAccount(Record):
    """A Kubernetes ServiceAccount in the app's namespace: what pods run as
    (`Deployment(service_account=sa)`), what a RoleBinding grants to, what the Vault Secrets
    Operator logs in with (`VaultAccess(service_account=sa)`).

    Example:
        runner = ServiceAccount("runner")
        Deployment("runner", service_account=runner,
                   containers=[Container("runner", image="ghcr.io/example/runner:1.2.0")])
    """

    name: str = attrs.field(kw_only=False, validator=dns_subdomain)
    file: str = attrs.field(default="rbac.yaml", validator=output_file)


def _api_group(inst: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    if value in ("", "*") or (isinstance(value, str) and DNS_SUBDOMAIN.problem(value) is None):
        return
    fail(
        inst,
        attribute,
        Mistake(
            f"entry {value!r} is not an API group",
            instead="write '' for the core group (pods, secrets), 'apps', 'batch', "
            "'rbac.authorization.k8s.io'... or '*'",
        ),
    )


def _resource(inst: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    if isinstance(value, str) and _RESOURCE.match(value):
        return
    fail(
        inst,
        attribute,
        Mistake(
            f"entry {value!r} is not a resource",
            instead="write the lower-case plural ('pods', 'configmaps'), a subresource "
            "('pods/log') or '*'",
        ),
    )


def _verb(inst: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    if value not in VERBS:
        fail(
            inst,
            attribute,
            Mistake(
                f"entry {value!r} is not a verb", instead=f"use some of {', '.join(sorted(VERBS))}"
            ),
        )


def _not_empty(inst: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    if not value:
        fail(inst, attribute, Mistake("must name at least one entry"))


@attrs.frozen(kw_only=True)
class Rule:
    """One grant of a Role or ClusterRole: `verbs` on `resources` of `api_groups` (the core
    group "" unless given), optionally only the objects named in `resource_names`.

    Example:
        Role("pod-reader", rules=[Rule(resources=["pods", "pods/log"], verbs=["get", "list", "watch"]),
                                  Rule(api_groups=["apps"], resources=["deployments"], verbs=["get"])])
    """

    # "" is the core group (pods, services, secrets, configmaps...).
    api_groups: tuple[str, ...] = attrs.field(
        default=("",), converter=to_tuple, validator=[each(_api_group), _not_empty]
    )
    resources: tuple[str, ...] = attrs.field(
        converter=to_tuple, validator=[each(_resource), _not_empty]
    )
    verbs: tuple[str, ...] = attrs.field(converter=to_tuple, validator=[each(_verb), _not_empty])
    resource_names: tuple[str, ...] = attrs.field(
        default=(), converter=to_tuple, validator=each(dns_subdomain)
    )


def _needs_one(inst: Any, what: str) -> None:
    """Refuse a role or binding that lists nothing: it grants nothing, or to no one."""
    raise DeclarationError(Mistake(f"needs at least one {what}", record=inst.described))


def _rules(inst: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    each(instance_of(Rule, what="Rule(resources=..., verbs=...)"))(inst, attribute, value)
    if not value:
        _needs_one(inst, "Rule(...)")


@attrs.frozen(kw_only=True, eq=False)
class ClusterRole(Record):
    """A cluster-wide set of permissions (ClusterRoleBinding grants it everywhere, a RoleBinding
    in one namespace).

    Example:
        ClusterRole("node-viewer", rules=[Rule(resources=["nodes"], verbs=["get", "list", "watch"])])
    """

    name: str = attrs.field(kw_only=False, validator=dns_subdomain)
    rules: tuple[Rule, ...] = attrs.field(converter=to_tuple, validator=_rules)
    file: str = attrs.field(default="rbac.yaml", validator=output_file)


@attrs.frozen(kw_only=True, eq=False)
class Role(Record):
    """Permissions in one namespace: the app's own, or an extra `Namespace` record of the app.

    Example:
        builds = Namespace("ci-builds")
        Role("build-pods", namespace=builds,
             rules=[Rule(resources=["pods", "pods/log"], verbs=["create", "delete", "get", "list", "watch"])])
    """

    name: str = attrs.field(kw_only=False, validator=dns_subdomain)
    rules: tuple[Rule, ...] = attrs.field(converter=to_tuple, validator=_rules)
    # The namespace the Role grants in; the app's own when None.
    namespace: Namespace | None = attrs.field(
        default=None, validator=optional(instance_of(Namespace, what="a Namespace record"))
    )
    file: str = attrs.field(default="rbac.yaml", validator=output_file)


def _subjects(inst: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    each(instance_of(ServiceAccount, what="a list of ServiceAccount records"))(
        inst, attribute, value
    )
    if not value:
        _needs_one(inst, "ServiceAccount in subjects=")


@attrs.frozen(kw_only=True, eq=False)
class RoleBinding(Record):
    """Grants a Role (or a ClusterRole, limited to one namespace) to ServiceAccounts.

    It lives in its Role's namespace; with a ClusterRole, in `namespace=` (the app's own when
    None). The subjects may be in any namespace.

    Example:
        jobs = Namespace("ci-jobs")
        agent = ServiceAccount("ci-agent")
        manage = Role("manage-jobs", namespace=jobs,
                      rules=[Rule(api_groups=["batch"], resources=["jobs"], verbs=["create", "delete", "get"])])
        RoleBinding("ci-agent-jobs", role=manage, subjects=[agent])
    """

    name: str = attrs.field(kw_only=False, validator=dns_subdomain)
    role: Role | ClusterRole = attrs.field(
        validator=instance_of(Role, ClusterRole, what="a Role or ClusterRole record")
    )
    subjects: tuple[ServiceAccount, ...] = attrs.field(converter=to_tuple, validator=_subjects)
    # Only with a ClusterRole: the namespace the grant is limited to (the app's own when None).
    namespace: Namespace | None = attrs.field(
        default=None, validator=optional(instance_of(Namespace, what="a Namespace record"))
    )
    file: str = attrs.field(default="rbac.yaml", validator=output_file)

    def __attrs_post_init__(self) -> None:
        if isinstance(self.role, Role) and self.namespace is not None:
            raise DeclarationError(
                Mistake(
                    f"lives in the namespace of Role {self.role.name!r}",
                    record=self.described,
                    instead="drop namespace= (it is only for a ClusterRole limited to one "
                    "namespace)",
                )
            )
        super().__attrs_post_init__()

    @property
    def scope(self) -> Namespace | None:
        """The extra Namespace the binding lives in, or None for the app's own."""
        return self.role.namespace if isinstance(self.role, Role) else self.namespace


@attrs.frozen(kw_only=True, eq=False)
class ClusterRoleBinding(Record):
    """Grants a ClusterRole to ServiceAccounts in every namespace.

    Example:
        viewer = ClusterRole("node-lister", rules=[Rule(resources=["nodes"], verbs=["list"])])
        ClusterRoleBinding("inventory-node-lister", role=viewer, subjects=[ServiceAccount("inventory")])
    """

    name: str = attrs.field(kw_only=False, validator=dns_subdomain)
    role: ClusterRole = attrs.field(
        validator=instance_of(
            ClusterRole,
            what="a ClusterRole record (a Role grants in one namespace: use RoleBinding)",
        )
    )
    subjects: tuple[ServiceAccount, ...] = attrs.field(converter=to_tuple, validator=_subjects)
    file: str = attrs.field(default="rbac.yaml", validator=output_file)
