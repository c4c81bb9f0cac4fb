"""Vault Secrets Operator documents, OpenBao policy/role files, their invariants and steps."""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable, Iterator
from typing import Any

from klaster_build.emit.outputs import Output, app_object
from klaster_build.errors import Mistake, Problem
from klaster_build.family import Family, Mountable, Resolver
from klaster_build.graph import ProjectGraph
from klaster_build.operator import OperatorStep, state_key
from klaster_build.project import Project
from klaster_build.records.base import Record
from klaster_build.records.helm import HelmRelease
from klaster_build.records.vault import (
    AUTHENTIK_ENDPOINTS,
    OIDC,
    VaultAccess,
    VaultAuth,
    VaultFile,
    VaultPolicy,
    VaultRole,
    VaultSecret,
    VaultStaticSecret,
    expand_secrets,
)
from klaster_build.records.workloads import Workload
from klaster_build.refs import MARK, Ref
from klaster_build.render_context import RenderContext
from klaster_build.values import record_references

VSO_API = "secrets.hashicorp.com/v1beta1"


def kv_data_path(kv_mount: str, path: str) -> str:
    """The API path a KV-v2 read goes to: `<mount>/data/<path>`."""
    return f"{kv_mount}/data/{path}"


def secrets_by_policy(
    secrets: Iterable[VaultStaticSecret],
) -> dict[VaultPolicy, list[VaultStaticSecret]]:
    """Which static secrets read through each policy (via their auth's role)."""
    index: dict[VaultPolicy, list[VaultStaticSecret]] = defaultdict(list)
    for secret in secrets:
        for policy in secret.auth.role.policies:
            index[policy].append(secret)
    return index


def policy_grants(
    policy: VaultPolicy, kv_mount: str, readers: list[VaultStaticSecret]
) -> dict[str, tuple[str, ...]]:
    """Path -> capabilities the policy grants: explicit, or read on exactly what its secrets read."""
    if policy.paths is not None:
        return {path: tuple(caps) for path, caps in policy.paths.items()}
    return {kv_data_path(kv_mount, path): ("read",) for path in sorted({s.path for s in readers})}


def _index(ctx: RenderContext) -> dict[VaultPolicy, list[VaultStaticSecret]]:
    if "vault_readers" not in ctx.memo:
        ctx.memo["vault_readers"] = secrets_by_policy(
            r for r in ctx.records() if isinstance(r, VaultStaticSecret)
        )
    index: dict[VaultPolicy, list[VaultStaticSecret]] = ctx.memo["vault_readers"]
    return index


def emit_vault_auth(auth: VaultAuth, ctx: RenderContext) -> Iterator[Output]:
    """VaultAuth with the kubernetes method."""
    yield app_object(
        auth,
        ctx,
        VSO_API,
        "VaultAuth",
        {
            "spec": {
                "method": "kubernetes",
                "mount": ctx.cluster.vault.auth_mount,
                "kubernetes": {"role": auth.role.name, "serviceAccount": auth.service_account.name},
            },
        },
    )


def emit_static_secret(secret: VaultStaticSecret, ctx: RenderContext) -> Iterator[Output]:
    """VaultStaticSecret: KV-v2 path -> Opaque Secret, raw data excluded."""
    transformation: dict[str, Any] = {"excludeRaw": True}
    if secret.templates:
        transformation["templates"] = {
            key: {"text": text} for key, text in secret.templates.items()
        }
    yield app_object(
        secret,
        ctx,
        VSO_API,
        "VaultStaticSecret",
        {
            "spec": {
                "type": "kv-v2",
                "mount": ctx.cluster.vault.kv_mount,
                "path": secret.path,
                "destination": {
                    "create": True,
                    "name": secret.secret_name,
                    "type": secret.secret_type,
                    "transformation": transformation,
                },
                "vaultAuthRef": secret.auth.name,
                **_restart_targets(secret, ctx),
            },
        },
    )


def _restart_targets(secret: VaultStaticSecret, ctx: RenderContext) -> dict[str, Any]:
    """The workloads reading the Secret (env or mounted files) restart when OpenBao changes it:
    VSO patches their pod template (`rolloutRestartTargets`: Deployment, StatefulSet, DaemonSet)."""
    if "vault_restarts" not in ctx.memo:
        readers: dict[VaultSecret, set[tuple[str, str]]] = defaultdict(set)
        for record in ctx.records():
            kind = type(record).__name__
            if isinstance(record, Workload) and kind in _RESTARTABLE:
                for _field, reference in record_references(record):
                    target = reference.target if isinstance(reference, Ref) else reference
                    if isinstance(target, VaultSecret):
                        readers[target].add((kind, record.record_name))
        ctx.memo["vault_restarts"] = readers
    targets = sorted(ctx.memo["vault_restarts"].get(secret.source, ()))
    if not targets:
        return {}
    return {"rolloutRestartTargets": [{"kind": kind, "name": name} for kind, name in targets]}


# The kinds VSO can restart (hashicorp/vault-secrets-operator api/v1beta1/common.go).
_RESTARTABLE = frozenset({"Deployment", "StatefulSet", "DaemonSet"})


def _secret_volume(secret: VaultSecret, ctx: RenderContext) -> dict[str, Any]:
    return {"secret": {"secretName": _secret_name(secret)}}


def _secret_name(secret: VaultSecret) -> str:
    """The Kubernetes Secret a VaultSecret writes: its own name unless a destination is set."""
    return secret.destination or secret.name


def emit_vault_role(role: VaultRole, ctx: RenderContext) -> Iterator[Output]:
    """vault/kubernetes-auth-roles/<role>.yaml, as the sync script reads it."""
    namespaces = sorted({ctx.namespace(a) for a in role.service_accounts} | set(role.namespaces))
    yield Output(
        f"vault/kubernetes-auth-roles/{role.name}.yaml",
        role,
        document={
            "bound_service_account_names": sorted({a.name for a in role.service_accounts}),
            "bound_service_account_namespaces": namespaces,
            "token_policies": [p.name for p in role.policies],
        },
    )


def hcl_policy(grants: dict[str, tuple[str, ...]]) -> str:
    """One block per path, blank line between, in `bao policy fmt`'s canonical layout."""
    blocks = []
    for path, capabilities in grants.items():
        listed = ", ".join(f'"{c}"' for c in capabilities)
        blocks.append(f'path "{path}" {{\n  capabilities = [{listed}]\n}}\n')
    return "\n".join(blocks)


def emit_vault_policy(policy: VaultPolicy, ctx: RenderContext) -> Iterator[Output]:
    """vault/policy/<name>.hcl."""
    grants = policy_grants(policy, ctx.cluster.vault.kv_mount, _index(ctx).get(policy, []))
    yield Output(f"vault/policy/{policy.name}.hcl", policy, text=hcl_policy(grants))


def check_secret_reachability(project: Project, graph: ProjectGraph) -> Iterator[Problem]:
    """Each secret's path is readable through VaultAuth -> role -> policies, for its SA and namespace."""
    namespace = {name: app.namespace_name for name, app in project.apps.items()}
    kv = project.cluster.vault.kv_mount
    readers = secrets_by_policy(project.of_type(VaultStaticSecret))
    for secret in project.of_type(VaultStaticSecret):
        auth = secret.auth
        role = auth.role
        ns = namespace[secret.app]
        bound_accounts = {a.name for a in role.service_accounts}
        bound_namespaces = {namespace[a.app] for a in role.service_accounts} | set(role.namespaces)
        if auth.service_account.name not in bound_accounts:
            yield Problem.at(
                secret,
                Mistake(
                    f"VaultStaticSecret {secret.name!r}: role {role.name!r} does not bind "
                    f"ServiceAccount {auth.service_account.name!r} that VaultAuth {auth.name!r} "
                    "logs in with"
                ),
            )
        if ns not in bound_namespaces or namespace[auth.service_account.app] != ns:
            yield Problem.at(
                secret,
                Mistake(
                    f"VaultStaticSecret {secret.name!r}: role {role.name!r} does not bind "
                    f"namespace {ns!r}"
                ),
            )
        wanted = kv_data_path(kv, secret.path)
        granted = any(
            "read" in policy_grants(p, kv, readers.get(p, [])).get(wanted, ())
            for p in role.policies
        )
        if not granted:
            policies = ", ".join(p.name for p in role.policies) or "none"
            yield Problem.at(
                secret,
                Mistake(
                    f"reads {wanted!r} but role {role.name!r} (policies: {policies}) grants no "
                    "read on it",
                    record=secret.described,
                    instead="add the path to the policy",
                ),
            )


def infra_placements(project: Project) -> dict[Record, str]:
    """Each record of an infra controller's secret chain (VaultAccess(component=...)): the
    access, its ServiceAccount, VaultAuth, role and policy, and the secrets read through it ->
    the controller's namespace."""
    placed: dict[Record, str] = {}
    for access in project.of_type(VaultAccess):
        if access.component is None:
            continue
        auth = access.vault_auth
        chain: list[Record] = [access, auth, auth.role, auth.service_account, *auth.role.policies]
        secrets = [s for s in project.of_type(VaultStaticSecret) if s.auth is auth]
        chain += [*secrets, *(s.source for s in secrets if s.source is not None)]
        placed.update(dict.fromkeys(chain, access.component.namespace))
    return placed


def check_infra_secrets(project: Project, graph: ProjectGraph) -> Iterator[Problem]:
    """An infra file's secrets name the controller they are for; an app's secrets live in the
    app's own namespace."""
    for access in project.of_type(VaultAccess):
        infra = project.apps[access.app].infra
        if infra and access.component is None:
            yield Problem.at(
                access,
                Mistake(
                    "a VaultSecret in an infra file needs the controller it is for, whose "
                    "namespace it lives in: declare VaultAccess(component=<its InfraComponent>, "
                    "file='<name>-secret.yaml') and pass access= to the VaultSecret"
                ),
            )
        elif not infra and access.component is not None:
            yield Problem.at(
                access,
                Mistake(
                    "VaultAccess(component=...) is for an infra file (App(infra=True))",
                    instead="an app's secrets live in the app's namespace: remove component=",
                ),
            )


def check_least_privilege(project: Project, graph: ProjectGraph) -> Iterator[Problem]:
    """No policy grants a path no secret reads, or more than read, without a stated reason."""
    kv = project.cluster.vault.kv_mount
    readers = secrets_by_policy(project.of_type(VaultStaticSecret))
    for policy in project.of_type(VaultPolicy):
        if policy.reason:
            continue
        read = {kv_data_path(kv, s.path) for s in readers.get(policy, [])}
        for path, capabilities in policy_grants(policy, kv, readers.get(policy, [])).items():
            if path not in read:
                yield Problem.at(
                    policy,
                    Mistake(
                        f"grants {path!r} that no secret of its role reads",
                        record=f"policy {policy.name!r}",
                        instead="remove it or give reason='...'",
                    ),
                )
            elif set(capabilities) - {"read"}:
                yield Problem.at(
                    policy,
                    Mistake(
                        f"grants {sorted(capabilities)} on {path!r}",
                        record=f"policy {policy.name!r}",
                        instead="secrets need only read (give reason='...' to keep more)",
                    ),
                )


def check_unique_vault_names(project: Project, graph: ProjectGraph) -> Iterator[Problem]:
    """Role and policy names are unique in OpenBao (one file each under vault/)."""
    for kind, label in ((VaultRole, "role"), (VaultPolicy, "policy")):
        seen: dict[str, Record] = {}
        for record in project.of_type(kind):
            other = seen.setdefault(record.record_name, record)
            if other is not record:
                yield Problem.at(
                    record,
                    Mistake(
                        f"is already declared at {other.origin}",
                        record=f"OpenBao {label} {record.record_name!r}",
                        instead="names are cluster-wide, pick another",
                    ),
                )


_CREDENTIAL = re.compile(
    r"(PASSWORD|PASSWD|TOKEN|SECRET|_KEY$|^KEY$|APIKEY|API_KEY|CREDENTIAL)", re.IGNORECASE
)
_ENV_KEYS = ("env", "extraEnv", "environment", "envVars", "extraEnvVars")


# Settings that merely mention a credential (SHOW_PASSWORD_HINT=false, PASSWORD_MIN_LENGTH=8).
_NOT_A_CREDENTIAL = re.compile(
    r"^\s*(true|false|yes|no|on|off|enabled?|disabled?|none|null|[-+]?[0-9]+(\.[0-9]+)?)?\s*$",
    re.IGNORECASE,
)


def _credential(name: str, value: Any) -> bool:
    """A credential-named env entry holding a literal (`DB_PASSWORD_FILE=/run/...` holds a path)."""
    if not (_CREDENTIAL.search(name) and _literal(value)):
        return False
    return not (name.upper().endswith("_FILE") and value.startswith("/"))


def _literal(value: Any) -> bool:
    # Plain("...") marks a deliberately public value; references and secrets are not literals.
    return isinstance(value, str) and MARK not in value and not _NOT_A_CREDENTIAL.match(value)


# Helm value keys that hold a credential itself (`adminPassword`, `auth.token`, `secretKey`);
# `existingSecret`, `secretName`, `passwordKey` name where one is kept and are not.
_CREDENTIAL_KEY = (
    "password",
    "passwd",
    "passphrase",
    "token",
    "secret",
    "apikey",
    "secretkey",
    "accesskey",
    "privatekey",
    "credential",
    "credentials",
)


def _credential_key(key: Any) -> bool:
    flat = str(key).lower().replace("-", "").replace("_", "")
    return flat.endswith(_CREDENTIAL_KEY) and "existing" not in flat


def plaintext_credentials(values: Any, path: str = "") -> Iterator[str]:
    """Paths in Helm values that carry a credential as a literal: env-like entries with a
    credential's name, and any key that names one."""
    if isinstance(values, dict):
        name = values.get("name")
        if isinstance(name, str) and _credential(name, values.get("value")):
            yield f"{path}: {name}"
        for key, value in values.items():
            here = f"{path}.{key}" if path else str(key)
            if key in _ENV_KEYS and isinstance(value, dict):
                for env, literal in value.items():
                    if isinstance(env, str) and _credential(env, literal):
                        yield f"{here}.{env}"
                continue  # an env mapping's entries are variables, judged by their names
            if _credential_key(key) and _literal(value):
                yield here
            yield from plaintext_credentials(value, here)
    elif isinstance(values, list | tuple):
        for index, item in enumerate(values):
            yield from plaintext_credentials(item, f"{path}[{index}]")


def check_plaintext_credentials(project: Project, graph: ProjectGraph) -> Iterator[Problem]:
    """A credential-looking env var with a literal value belongs in OpenBao, not in git."""
    hint = (
        "keep it in OpenBao: VaultSecret(...) and pass secret.key('...'); if the value is not"
        " secret (a setting, a public id), write Plain('...', reason='...')"
    )
    for workload in project.of_type(Workload):
        for container in workload.containers:
            for name, value in container.env.items():
                if _credential(name, value):
                    yield Problem.at(
                        workload,
                        Mistake(
                            f"env {name} holds a literal credential",
                            record=f"container {container.name!r}",
                            instead=hint,
                        ),
                    )
    for release in project.of_type(HelmRelease):
        for where in plaintext_credentials(release.values):
            yield Problem.at(
                release,
                Mistake(
                    f"values {where} hold a literal credential",
                    record=release.described,
                    instead=hint,
                ),
            )


def vault_steps(project: Project, graph: ProjectGraph) -> Iterator[OperatorStep]:
    """Secrets to create in OpenBao, Authentik applications, and the OpenBao sync.

    A KV path read by several secrets (apps sharing one API key) is one step listing every key
    any of them reads; the guideline names paths by what they hold (`ollama`, read by the llama
    app), so sharing one is allowed. The step is new again whenever that list of keys grows.
    """
    kv = project.cluster.vault.kv_mount
    paths: dict[str, set[str]] = defaultdict(set)
    reading_apps: dict[str, set[str]] = defaultdict(set)
    origins: dict[str, Any] = {}
    for secret in project.of_type(VaultStaticSecret):
        keys = set(secret.keys) or {f"(the keys {secret.name} needs)"}
        paths[secret.path] |= keys
        reading_apps[secret.path].add(secret.app)
        origins.setdefault(secret.path, secret.origin)
    for path in sorted(paths):
        listed = sorted(paths[path])
        apps = sorted(reading_apps[path])
        shared = f" (read by {', '.join(apps)})" if len(apps) > 1 else ""
        yield OperatorStep(
            10,
            "secret",
            state_key(f"secret:{path}", listed),
            f"Create {kv}/{path} in OpenBao with keys {', '.join(listed)}{shared}",
            {"mount": kv, "path": path, "keys": listed, "apps": apps},
            origins[path],
        )
    for oidc in project.of_type(OIDC):
        host = oidc.redirect_host or f"{oidc.app}.{project.cluster.domain}"
        uris = [f"https://{host}{path}" for path in oidc.redirect_paths]
        redirect = f"redirect URIs {', '.join(uris)}" if uris else f"redirect host {host}"
        yield OperatorStep(
            20,
            "authentik",
            f"authentik:{oidc.name}",
            f"Create the Authentik OAuth2/OIDC application {oidc.name!r} ({redirect}) and store its client_id and client_secret at {kv}/authentik/{oidc.app}",
            {"slug": oidc.name, "redirect_host": host, "redirect_uris": uris},
            oidc.origin,
        )
    readers = secrets_by_policy(project.of_type(VaultStaticSecret))
    synced: list[object] = [
        (policy.name, policy_grants(policy, kv, readers.get(policy, [])))
        for policy in project.of_type(VaultPolicy)
    ]
    synced += [
        (
            role.name,
            sorted((a.app, a.name) for a in role.service_accounts),
            role.namespaces,
            [p.name for p in role.policies],
        )
        for role in project.of_type(VaultRole)
    ]
    if synced:
        synced += [(f.path, f.text, f.data) for f in project.of_type(VaultFile)]
        yield OperatorStep(
            30,
            "openbao-sync",
            state_key("openbao-sync", sorted(synced, key=repr)),
            "Reconcile OpenBao with out/vault/ (policies and kubernetes auth roles) using the vault sync script",
            {},
        )


def emit_vault_file(record: VaultFile, ctx: RenderContext) -> Iterator[Output]:
    """vault/<path>, YAML or verbatim text."""
    if record.text is not None:
        yield Output(f"vault/{record.path}", record, text=record.text)
    else:
        yield Output(f"vault/{record.path}", record, document=record.data)


def _authentik_endpoint(path: str) -> Resolver:
    """The resolver of one endpoint of an OIDC client, under the klasterfile's authentik_url."""

    def resolve(oidc: OIDC, ctx: RenderContext) -> str:
        base = ctx.cluster.authentik_url.rstrip("/")
        return f"{base}/application/o/{path.format(slug=oidc.name)}"

    return resolve


FAMILY = Family(
    "vault",
    exports=(
        OIDC,
        VaultAccess,
        VaultFile,
        VaultPolicy,
        VaultRole,
        VaultSecret,
    ),
    mounts={VaultSecret: Mountable(_secret_volume, items=True)},
    read_by_name=frozenset(
        {
            (VaultSecret, "name"),
            (VaultSecret, "secret_name"),
            (VaultStaticSecret, "name"),
            (OIDC, "name"),
        }
    ),
    placements=(infra_placements,),
    expanders=(expand_secrets,),
    references={
        **{(OIDC, part): _authentik_endpoint(path) for part, path in AUTHENTIK_ENDPOINTS.items()},
        (VaultSecret, "secret_name"): lambda secret, _ctx: _secret_name(secret),
    },
    records=(
        VaultPolicy,
        VaultRole,
        VaultAuth,
        VaultAccess,
        VaultStaticSecret,
        VaultSecret,
        OIDC,
        VaultFile,
    ),
    emitters={
        VaultAuth: emit_vault_auth,
        VaultStaticSecret: emit_static_secret,
        VaultRole: emit_vault_role,
        VaultPolicy: emit_vault_policy,
        VaultFile: emit_vault_file,
    },
    checks=(
        check_infra_secrets,
        check_secret_reachability,
        check_least_privilege,
        check_unique_vault_names,
        check_plaintext_credentials,
    ),
    steps=(vault_steps,),
)
