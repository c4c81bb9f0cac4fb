"""Secrets from OpenBao through the Vault Secrets Operator, least privilege by construction.

Per app, one access chain (ServiceAccount -> VaultAuth -> kubernetes auth role -> policy) serves
every secret the app reads; each VaultSecret becomes a VaultStaticSecret, and the policy grants
`read` on exactly the KV paths those secrets read. Every name can be set to adopt a real one.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from typing import Any

import attrs

from klaster_build.data import DATA, SecretKey
from klaster_build.errors import DeclarationError, Mistake, Problem
from klaster_build.records.base import Record
from klaster_build.records.infra import InfraComponent
from klaster_build.records.rbac import ServiceAccount
from klaster_build.refs import Ref
from klaster_build.validators import (
    NO_DOTDOT,
    data_key_problem,
    dns_label,
    dns_subdomain,
    fail,
    instance_of,
    matches,
    optional,
    output_file,
    text,
    to_tuple,
)

_VAULT_FILE = re.compile(r"^[a-z0-9-]+(/[a-z0-9-]+)*\.(yaml|hcl)$")
CAPABILITIES = frozenset({"create", "read", "update", "patch", "delete", "list", "sudo", "deny"})


# A KV path such as `kaneo` or `authentik/kaneo` (no leading slash, no `..`).
kv_path = matches(
    NO_DOTDOT + r"[A-Za-z0-9_.-]+(/[A-Za-z0-9_.-]+)*",
    "a KV path such as 'kaneo' or 'authentik/kaneo'",
)


def _keys(inst: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    for key in value:
        if data_key_problem(key):
            raise DeclarationError(
                Mistake(
                    f"key {key!r} must be a secret key name such as 'api_token' (letters, "
                    "digits, '-', '_', '.')",
                    record=type(inst).__name__,
                )
            )


def _redirect_paths(inst: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    if not isinstance(value, list | tuple):
        fail(
            inst,
            attribute,
            Mistake(
                "must be a list of URL paths such as ['/oauth/oidc/callback']", got=repr(value)
            ),
        )
    for path in value:
        if not isinstance(path, str) or not re.fullmatch(r"/[^\s?#]*", path) or len(path) > 256:
            fail(
                inst,
                attribute,
                Mistake(
                    "are URL paths on the app's host such as '/oauth/oidc/callback'",
                    got=repr(path),
                ),
            )


def _templates(inst: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    if not isinstance(value, dict):
        fail(inst, attribute, Mistake("must map a key of the Kubernetes Secret to a template text"))
    _keys(inst, attribute, list(value))
    for template in value.values():
        text(4096)(inst, attribute, template)


# What a VSO template reads from the KV secret, the map `.Secrets`: `get .Secrets "key"`,
# `index .Secrets "key"`, `.Secrets.key` (developer.hashicorp.com/vault/docs/platform/k8s/vso/
# secret-transformation, "Secret data input").
_TEMPLATE_READ = re.compile(r'\.Secrets(?:\s+"([^"]+)"|\.([A-Za-z0-9_]+))')


def _check_template_keys(name: str, keys: tuple[str, ...], templates: dict[str, str]) -> None:
    """Templates read only the KV keys the secret declares (the keys the operator creates)."""
    if not keys:
        return
    for secret_key, template in templates.items():
        for quoted, dotted in _TEMPLATE_READ.findall(template):
            read = quoted or dotted
            if read not in keys:
                raise DeclarationError(
                    Mistake(
                        f"template {secret_key!r} reads KV key {read!r}, which is not among its "
                        f"keys {list(keys)}",
                        record=f"VaultSecret {name!r}",
                        instead="add it to keys= or fix the template",
                    )
                )


def _account_name_or_record(inst: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    if not isinstance(value, ServiceAccount):
        dns_subdomain(inst, attribute, value)


@attrs.frozen(kw_only=True, eq=False)
class VaultPolicy(Record):
    """An OpenBao policy, `vault/policy/<name>.hcl`.

    By default it grants `read` on exactly the KV paths its app's secrets read. `paths` states
    the grants explicitly (path -> capabilities) for policies no secret of ours uses (CI, infra);
    grants that no secret needs, or anything beyond `read`, need a `reason`.

    Example:
        VaultPolicy("renovate", paths={"secret/data/renovate": ["read"]},
                    reason="CI AppRole ci-renovate")
    """

    name: str = attrs.field(kw_only=False, validator=dns_label)
    paths: dict[str, tuple[str, ...]] | None = attrs.field(default=None)
    reason: str | None = attrs.field(default=None, validator=optional(text(500)))

    @paths.validator
    def _check_paths(self, attribute: attrs.Attribute[Any], value: Any) -> None:
        if value is None:
            return
        if not isinstance(value, dict):
            fail(self, attribute, Mistake("must map an OpenBao path to a list of capabilities"))
        for path, capabilities in value.items():
            if not isinstance(path, str) or not re.fullmatch(r"^[A-Za-z0-9_.+*/-]+$", path):
                raise DeclarationError(
                    Mistake(f"path {path!r} is not an OpenBao path", record="VaultPolicy")
                )
            unknown = set(capabilities) - CAPABILITIES
            if unknown or not capabilities:
                raise DeclarationError(
                    Mistake(
                        f"capabilities of {path!r} must be some of {sorted(CAPABILITIES)}",
                        record="VaultPolicy",
                        got=str(list(capabilities)),
                    )
                )


@attrs.frozen(kw_only=True, eq=False)
class VaultRole(Record):
    """A kubernetes auth role, `vault/kubernetes-auth-roles/<name>.yaml`.

    `VaultAccess` makes the app's role; declare one only for service accounts of your own.

    Example:
        reader = VaultPolicy("backup-reader", paths={"secret/data/backup": ["read"]},
                             reason="the backup job's restic password")
        VaultRole("backup-reader", service_accounts=[ServiceAccount("backup-job")], policies=[reader])
    """

    name: str = attrs.field(kw_only=False, validator=dns_label)
    service_accounts: tuple[ServiceAccount, ...] = attrs.field(converter=to_tuple)
    policies: tuple[VaultPolicy, ...] = attrs.field(converter=to_tuple)
    # Namespaces bound besides the service accounts' own (rarely needed; say why in a comment).
    namespaces: tuple[str, ...] = attrs.field(default=(), converter=to_tuple)


@attrs.frozen(kw_only=True, eq=False)
class VaultAuth(Record):
    """The VaultAuth object: log in with `service_account` to `role`."""

    name: str = attrs.field(kw_only=False, validator=dns_label)
    role: VaultRole
    service_account: ServiceAccount
    file: str = attrs.field(default="secret.yaml", validator=output_file)


@attrs.frozen(kw_only=True, eq=False)
class VaultAccess(Record):
    """The app's access chain; implicit (default names) unless declared to adopt real names.

    `service_account=` names the account the chain makes, or is a `ServiceAccount` record the
    app declares itself (e.g. the one its pods run as). In an infra file (`App(infra=True)`),
    `component=` names the InfraComponent whose namespace the chain lives in
    (docs/app-guide.md, Structure).

    Example:
        access = VaultAccess(service_account="llama-proxy", auth="llama", role="llama-proxy", policy="ollama")
        VaultSecret("llama-api-key", path="ollama", keys=["API_KEY"], access=access)
    """

    service_account: str | ServiceAccount | None = attrs.field(
        default=None, validator=optional(_account_name_or_record)
    )
    auth: str | None = attrs.field(default=None, validator=optional(dns_label))
    role: str | None = attrs.field(default=None, validator=optional(dns_label))
    policy: str | None = attrs.field(default=None, validator=optional(dns_label))
    # In an infra file: the controller whose namespace the chain and its secrets live in; they
    # are written to infra/configs/<file> and applied with infra, after the operator, and the
    # default names are the controller's (<component>-secret.yaml, ServiceAccount
    # <component>-secret, VaultAuth, role and policy <component>).
    component: InfraComponent | None = attrs.field(
        default=None, validator=optional(instance_of(InfraComponent))
    )
    file: str = attrs.field(
        default=attrs.Factory(
            # (validators run after defaults: a wrong component must fail there, not here)
            lambda self: (
                f"{self.component.name}-secret.yaml"
                if isinstance(self.component, InfraComponent)
                else "secret.yaml"
            ),
            takes_self=True,
        ),
        validator=output_file,
    )
    # The VaultAuth that the app's VaultStaticSecrets log in with.
    vault_auth: VaultAuth = attrs.field(init=False)

    def __attrs_post_init__(self) -> None:
        super().__attrs_post_init__()
        common: dict[str, Any] = {"origin": self.origin, "app": self.app}
        owner = self.component.name if self.component is not None else self.app
        account = (
            self.service_account
            if isinstance(self.service_account, ServiceAccount)
            else ServiceAccount(self.service_account or f"{owner}-secret", file=self.file, **common)
        )
        policy = VaultPolicy(self.policy or owner, **common)
        role = VaultRole(
            self.role or owner, service_accounts=(account,), policies=(policy,), **common
        )
        auth = VaultAuth(
            self.auth or owner, role=role, service_account=account, file=self.file, **common
        )
        object.__setattr__(self, "vault_auth", auth)

    @property
    def record_name(self) -> str:
        return self.vault_auth.name


@attrs.frozen(kw_only=True, eq=False)
class VaultSecret(Record):
    """A Kubernetes Secret filled from OpenBao KV `path`, readable by the app and nothing else.

    `keys` are the keys the app needs at that path (the operator creates them; each becomes a
    template `{{ get .Secrets "<key>" }}`); `templates` maps Secret keys to template texts instead.

    Example:
        api = VaultSecret("crawl4ai-secret", path="crawl4ai", keys=["api_token"])
        Deployment("crawl4ai", containers=[Container("crawl4ai", image="unclecode/crawl4ai:0.7.4",
                   env={"CRAWL4AI_API_TOKEN": api.key("api_token")})])
    """

    name: str = attrs.field(kw_only=False, validator=dns_subdomain)
    path: str = attrs.field(validator=kv_path)
    keys: tuple[str, ...] = attrs.field(default=(), converter=to_tuple, validator=_keys)
    templates: dict[str, str] = attrs.field(factory=dict, validator=_templates)
    # The app's VaultAccess(...). Left out: the app's one VaultAccess wherever the file declares
    # it, else the default chain its secrets share; with two in the app, say which.
    access: VaultAccess | None = attrs.field(
        default=None, validator=optional(instance_of(VaultAccess, what="a VaultAccess(...) record"))
    )
    file: str | None = attrs.field(default=None, validator=optional(output_file))
    # The Kubernetes Secret's name and type when they differ from the defaults (adopting real ones).
    destination: str | None = attrs.field(default=None, validator=optional(dns_subdomain))
    secret_type: str = attrs.field(default="Opaque", validator=text(128))

    def __attrs_post_init__(self) -> None:
        super().__attrs_post_init__()
        _check_template_keys(self.name, self.keys, self.templates)

    @property
    def secret(self) -> Ref:
        """The Kubernetes Secret's name, for chart values (a reference to this VaultSecret)."""
        return Ref(self, "secret_name")

    @property
    def secret_keys(self) -> tuple[str, ...]:
        """The keys of the Kubernetes Secret: the templates' keys, else the KV keys."""
        return tuple(self.templates) or self.keys

    def key(self, key: str) -> SecretKey:
        """`key` of this Secret, for a container's env or Helm values (a reference: a graph
        edge from this VaultSecret). Checked against the declared keys, when there are any."""
        if self.secret_keys and key not in self.secret_keys:
            raise DeclarationError(
                Mistake(
                    f"has no key {key!r}",
                    record=self.described,
                    instead=f"it declares {list(self.secret_keys)}",
                )
            )
        return SecretKey(Ref(self, "secret_name"), key)


@attrs.frozen(kw_only=True, eq=False)
class VaultStaticSecret(Record):
    """A VaultStaticSecret syncing one KV path into a Kubernetes Secret: what a VaultSecret
    becomes once the expansion phase knows the app's access chain (`expand_secrets`)."""

    name: str = attrs.field(kw_only=False, validator=dns_subdomain)
    path: str = attrs.field(validator=kv_path)
    auth: VaultAuth
    keys: tuple[str, ...] = attrs.field(default=(), converter=to_tuple, validator=_keys)
    templates: dict[str, str] = attrs.field(factory=dict, validator=_templates)
    file: str = attrs.field(default="secret.yaml", validator=output_file)
    destination: str | None = attrs.field(default=None, validator=optional(dns_subdomain))
    secret_type: str = attrs.field(default="Opaque", validator=text(128))
    # The VaultSecret it was made from (None for a chain written by hand).
    source: VaultSecret | None = attrs.field(default=None, repr=False)

    @property
    def secret_name(self) -> str:
        """The Kubernetes Secret it writes (its own name unless a destination is declared)."""
        return self.destination or self.name


def expand_secrets(record: Record, app_records: Sequence[Record]) -> Iterator[Problem]:
    """The expansion of a VaultSecret: the VaultStaticSecret that logs in through its `access=`,
    else the app's one VaultAccess, else a default chain made once and shared by the app's
    secrets (ServiceAccount `<app>-secret`, VaultAuth, role and policy `<app>`)."""
    if not isinstance(record, VaultSecret):
        return
    access = record.access
    if access is None:
        chains = [r for r in app_records if isinstance(r, VaultAccess)]
        if len(chains) > 1:
            places = ", ".join(str(a.origin) for a in chains)
            yield Problem.at(
                record,
                Mistake(
                    f"has no access= and the app declares {len(chains)} VaultAccess ({places})",
                    record=record.described,
                    instead="pass access= to say which one it logs in with",
                ),
            )
            return
        access = chains[0] if chains else VaultAccess(origin=record.origin, app=record.app)
    VaultStaticSecret(
        record.name,
        path=record.path,
        auth=access.vault_auth,
        keys=record.keys,
        templates=record.templates
        or {key: f'{{{{ get .Secrets "{key}" }}}}' for key in record.keys},
        file=record.file or access.file,
        destination=record.destination,
        secret_type=record.secret_type,
        source=record,
        origin=record.origin,
        app=record.app,
    )


# The OAuth2/OIDC endpoints of an Authentik application, under `<authentik>/application/o/`
# (goauthentik/authentik@authentik/providers/oauth2/urls.py; the issuer is the provider root).
AUTHENTIK_ENDPOINTS = {
    "issuer_url": "{slug}/",
    "discovery_url": "{slug}/.well-known/openid-configuration",
    "jwks_url": "{slug}/jwks/",
    "end_session_url": "{slug}/end-session/",
    "authorize_url": "authorize/",
    "token_url": "token/",
    "userinfo_url": "userinfo/",
}


@attrs.frozen(kw_only=True, eq=False)
class OIDC(Record):
    """An Authentik OAuth2/OIDC client: its id and secret from `secret/authentik/<app>`.

    The Secret `<app>-authentik` has the keys client_id and client_secret, or the keys of
    `templates=` (VSO templates over those two KV keys, as on VaultSecret). The endpoints are
    references computed from the klasterfile's authentik_url: `issuer_url` (what apps call the
    issuer or authority), `discovery_url`, `authorize_url`, `token_url`, `userinfo_url`,
    `jwks_url`, `end_session_url`. `redirect_paths=` names the app's callback paths, so that
    `klaster todo` gives the full redirect URIs to enter in Authentik (`https://<redirect_host or
    <app>.<domain>><path>`).

    Example:
        sso = OIDC(redirect_paths=["/login/oidc/callback"])   # name (the Authentik slug) = app name; Secret <app>-authentik with client_id, client_secret
        Deployment("wiki", containers=[Container("wiki", image="ghcr.io/requarks/wiki:2.5.307", env={
            "OIDC_ISSUER": sso.issuer_url,
            "OIDC_CLIENT_ID": sso.client_id,
            "OIDC_CLIENT_SECRET": sso.key("client_secret"),
        })])
        # in chart values: {"oidc": {"existingSecret": sso.secret}}, {"valueFrom": sso.client_id}
    """

    # The Authentik application slug; the app name unless the application already has another.
    name: str = attrs.field(
        default=attrs.Factory(lambda self: self.app, takes_self=True),
        kw_only=False,
        validator=dns_label,
    )
    redirect_host: str | None = attrs.field(default=None, validator=optional(dns_subdomain))
    # The app's OAuth callback paths: the Authentik step lists the full redirect URIs.
    redirect_paths: tuple[str, ...] = attrs.field(
        factory=tuple, converter=to_tuple, validator=_redirect_paths
    )
    templates: dict[str, str] = attrs.field(factory=dict, validator=_templates)
    access: VaultAccess | None = None
    file: str | None = attrs.field(default=None, validator=optional(output_file))
    # The VaultSecret of client_id and client_secret.
    vault_secret: VaultSecret = attrs.field(init=False)

    def __attrs_post_init__(self) -> None:
        super().__attrs_post_init__()
        secret = VaultSecret(
            f"{self.app}-authentik",
            path=f"authentik/{self.app}",
            keys=("client_id", "client_secret"),
            templates=self.templates,
            access=self.access,
            file=self.file,
            origin=self.origin,
            app=self.app,
        )
        object.__setattr__(self, "vault_secret", secret)

    @property
    def secret(self) -> Ref:
        """The Kubernetes Secret holding the client's id and secret (its name, for values)."""
        return self.vault_secret.secret

    def key(self, key: str) -> SecretKey:
        """A key of the client's Secret (client_id, client_secret, or a key of `templates`)."""
        return self.vault_secret.key(key)

    @property
    def client_id(self) -> SecretKey:
        """Env value: the OAuth client id."""
        return self.key("client_id")

    @property
    def client_secret(self) -> SecretKey:
        """Env value: the OAuth client secret."""
        return self.key("client_secret")

    @property
    def issuer_url(self) -> Ref:
        """`<authentik>/application/o/<slug>/`: the issuer (an app's "authority")."""
        return Ref(self, "issuer_url")

    @property
    def discovery_url(self) -> Ref:
        """`<authentik>/application/o/<slug>/.well-known/openid-configuration`."""
        return Ref(self, "discovery_url")

    @property
    def authorize_url(self) -> Ref:
        """`<authentik>/application/o/authorize/`."""
        return Ref(self, "authorize_url")

    @property
    def token_url(self) -> Ref:
        """`<authentik>/application/o/token/`."""
        return Ref(self, "token_url")

    @property
    def userinfo_url(self) -> Ref:
        """`<authentik>/application/o/userinfo/`."""
        return Ref(self, "userinfo_url")

    @property
    def jwks_url(self) -> Ref:
        """`<authentik>/application/o/<slug>/jwks/`."""
        return Ref(self, "jwks_url")

    @property
    def end_session_url(self) -> Ref:
        """`<authentik>/application/o/<slug>/end-session/`."""
        return Ref(self, "end_session_url")


@attrs.frozen(kw_only=True, eq=False)
class VaultFile(Record):
    """An OpenBao object klaster does not model (AppRoles, secrets-engine roles, the auth config,
    policies written by hand): `vault/<path>`, so the sync script keeps it.

    Example:
        VaultFile(path="approles/ci-renovate.yaml", data={"token_ttl": "20m", "policies": ["renovate"]})
    """

    path: str = attrs.field()
    data: Any = attrs.field(default=None, metadata=DATA)
    text: str | None = attrs.field(default=None, validator=optional(text(65536)))

    @path.validator
    def _check_path(self, attribute: attrs.Attribute[Any], value: Any) -> None:
        if not isinstance(value, str) or not _VAULT_FILE.fullmatch(value):
            fail(
                self,
                attribute,
                Mistake(
                    "must be a relative path under vault/ such as 'approles/ci.yaml' or "
                    "'policy/x.hcl'",
                    got=repr(value),
                ),
            )
        if (self.data is None) == (self.text is None):
            raise DeclarationError(
                Mistake(
                    "takes either data= (written as YAML) or text= (written verbatim)",
                    record="VaultFile",
                )
            )

    @property
    def record_name(self) -> str:
        return self.path.replace("/", "-").rsplit(".", 1)[0]
