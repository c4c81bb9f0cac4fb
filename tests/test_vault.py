"""Vault family: the OpenBao access chain, static secrets, Authentik OIDC clients."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml
from conftest import KLASTERFILE, ProjectDir
from hypothesis import given, settings
from hypothesis import strategies as st

from klaster_build import engine
from klaster_build.errors import DeclarationError, ProblemsFound
from klaster_build.records.vault import VaultSecret, VaultStaticSecret, expand_secrets
from klaster_build.registry import session

REAL = Path(__file__).resolve().parents[2] / "shared" / "reference" / "klaster"
needs_reference = pytest.mark.skipif(
    not REAL.is_dir(), reason="../shared/reference is not beside the checkout"
)

KANEO = """\
from klaster_build.dsl import OIDC, VaultAccess, VaultSecret

VaultAccess(file="oauth-secret.yaml")

VaultSecret("kaneo-app-secret", path="kaneo", keys=["auth_secret"], file="app-secret.yaml")
sso = OIDC(file="oauth-secret.yaml")
"""

LLAMA = """\
from klaster_build.dsl import VaultAccess, VaultSecret

access = VaultAccess(service_account="llama-proxy", auth="llama", role="llama-proxy", policy="ollama")
VaultSecret("llama-api-key", path="ollama", access=access)
VaultSecret("llama-openrouter", path="openrouter", access=access,
            templates={"OPENROUTER_API_KEY": '{{ get .Secrets "API_KEY" }}'})
"""


def _real_docs(relative: str) -> list[dict]:
    return [d for d in yaml.safe_load_all((REAL / relative).read_text()) if d]


def _docs(project: ProjectDir, relative: str) -> list[dict]:
    return [d for d in yaml.safe_load_all(project.file(relative)) if d]


@needs_reference
def test_kaneo_secrets_equal_the_real_files(project: ProjectDir, run) -> None:
    """App secret and OIDC secret render the real kaneo documents (SA, VaultAuth, both VSS)."""
    project.app("kaneo", KANEO)
    assert run("build")[0] == 0
    generated = _docs(project, "out/apps/kaneo/app-secret.yaml") + _docs(
        project, "out/apps/kaneo/oauth-secret.yaml"
    )
    real = _real_docs("apps/kaneo/app-secret.yaml") + _real_docs("apps/kaneo/oauth-secret.yaml")
    key = lambda d: (d["kind"], d["metadata"]["name"])  # noqa: E731
    assert sorted(generated, key=key) == sorted(real, key=key)
    assert project.file("out/vault/policy/kaneo.hcl").endswith(
        'path "secret/data/authentik/kaneo" {\n  capabilities = ["read"]\n}\n\n'
        'path "secret/data/kaneo" {\n  capabilities = ["read"]\n}\n'
    )
    assert yaml.safe_load(
        project.file("out/vault/kubernetes-auth-roles/kaneo.yaml")
    ) == yaml.safe_load((REAL / "vault/kubernetes-auth-roles/kaneo.yaml").read_text())


@needs_reference
def test_adopted_names_reproduce_the_real_llama_wiring(project: ProjectDir, run) -> None:
    """Explicit names adopt llama's SA, VaultAuth, role llama-proxy and policy ollama."""
    project.app("llama", LLAMA)
    assert run("build")[0] == 0
    assert _docs(project, "out/apps/llama/secret.yaml") == _real_docs("apps/llama/secret.yaml")
    role = yaml.safe_load(project.file("out/vault/kubernetes-auth-roles/llama-proxy.yaml"))
    assert role == {
        "bound_service_account_names": ["llama-proxy"],
        "bound_service_account_namespaces": ["llama"],
        "token_policies": ["ollama"],
    }
    policy = project.file("out/vault/policy/ollama.hcl")
    assert 'path "secret/data/ollama" {\n  capabilities = ["read"]\n}\n' in policy
    assert 'path "secret/data/openrouter"' in policy


def test_one_access_chain_per_app_whatever_the_number_of_secrets() -> None:
    """Two secrets of one app share the implicit SA, VaultAuth, role and policy, made by the
    expansion phase; constructing the secrets alone makes nothing else."""
    with session(app="a") as registry:
        declared = [VaultSecret("one", path="a/one", keys=["x"]), VaultSecret("two", path="a/two")]
    assert registry.records == declared
    with session(app="a") as made:
        for secret in declared:
            assert list(expand_secrets(secret, [*declared, *made.records])) == []
    first, second = (r for r in made.records if isinstance(r, VaultStaticSecret))
    assert (first.source, second.source) == tuple(declared)
    assert first.auth is second.auth
    assert first.auth.service_account.name == "a-secret"
    assert first.auth.role.policies[0].name == "a"
    kinds = sorted(type(r).__name__ for r in made.records)
    assert kinds.count("VaultAuth") == 1 and kinds.count("ServiceAccount") == 1


def test_secret_keys_are_checked_where_they_are_used() -> None:
    """Asking a secret for a key it does not declare is an error naming the keys."""
    with session(app="a"):
        secret = VaultSecret("api", path="a", keys=["api_token"])
        assert secret.key("api_token").key == "api_token"
        with pytest.raises(
            DeclarationError, match=r"has no key 'token'; it declares \['api_token'\]"
        ):
            secret.key("token")
        with pytest.raises(DeclarationError, match="must be a KV path"):
            VaultSecret("bad", path="/etc/passwd")


def test_oidc_discovery_url_and_client_env(project: ProjectDir, run) -> None:
    """OIDC exposes the discovery URL from the klasterfile and the client id/secret as env."""
    project.app(
        "openwebui",
        """\
        from klaster_build.dsl import OIDC, Container, Deployment

        sso = OIDC("open-web-ui")
        Deployment("web", containers=[Container("web", image="ghcr.io/open-webui/open-webui:v0.6.5", env={
            "OPENID_PROVIDER_URL": sso.discovery_url, "OAUTH_CLIENT_ID": sso.client_id,
            "OAUTH_CLIENT_SECRET": sso.client_secret})])
        """,
    )
    assert run("build")[0] == 0
    (deployment,) = _docs(project, "out/apps/openwebui/deployment.yaml")
    env = deployment["spec"]["template"]["spec"]["containers"][0]["env"]
    assert env == [
        {
            "name": "OPENID_PROVIDER_URL",
            "value": "https://auth.example.org/application/o/open-web-ui/.well-known/openid-configuration",
        },
        {
            "name": "OAUTH_CLIENT_ID",
            "valueFrom": {"secretKeyRef": {"name": "openwebui-authentik", "key": "client_id"}},
        },
        {
            "name": "OAUTH_CLIENT_SECRET",
            "valueFrom": {"secretKeyRef": {"name": "openwebui-authentik", "key": "client_secret"}},
        },
    ]
    vss = [
        d
        for d in _docs(project, "out/apps/openwebui/secret.yaml")
        if d["kind"] == "VaultStaticSecret"
    ]
    assert (
        vss[0]["spec"]["path"] == "authentik/openwebui"
    )  # the app's path; the slug is Authentik's


def test_oidc_without_a_name_is_the_apps_authentik_application(project: ProjectDir, run) -> None:
    """`OIDC()` takes the app name as its slug: in `sso.name`, the discovery URL and the step."""
    project.app(
        "wiki",
        """\
        from klaster_build.dsl import OIDC, Container, Deployment

        sso = OIDC()
        authority = f"https://auth.example.org/application/o/{sso.name}/"
        Deployment("wiki", containers=[Container("wiki", image="ghcr.io/requarks/wiki:2.5.307",
                   env={"SSO_AUTHORITY": authority, "OIDC_DISCOVERY_URL": sso.discovery_url})])
        """,
    )
    code, _, err = run("build")
    assert code == 0, err
    (deployment,) = _docs(project, "out/apps/wiki/deployment.yaml")
    env = {
        e["name"]: e["value"]
        for e in deployment["spec"]["template"]["spec"]["containers"][0]["env"]
    }
    assert env == {
        "SSO_AUTHORITY": "https://auth.example.org/application/o/wiki/",
        "OIDC_DISCOVERY_URL": "https://auth.example.org/application/o/wiki/.well-known/openid-configuration",
    }
    assert "Create the Authentik OAuth2/OIDC application 'wiki'" in err


def test_plaintext_credentials_are_refused(project: ProjectDir, run, no_color) -> None:
    """A literal password in env or Helm values is an error that points to VaultSecret."""
    project.app(
        "a",
        """\
        from klaster_build.dsl import Container, Deployment, HelmRelease, HelmRepository

        Deployment("d", containers=[Container("d", image="nginx:1.27.3", env={"DB_PASSWORD": "hunter2"})])
        repo = HelmRepository("r", url="https://example.org/charts")
        HelmRelease("h", source=repo, chart="h", version="1.0.0", values={"extraEnv": [{"name": "API_TOKEN", "value": "abc"}]})
        """,
    )
    code, _, err = run("build")
    assert code == 2
    assert (
        "apps.d/a.py:3: error: container 'd' env DB_PASSWORD holds a literal credential; keep it in OpenBao"
        in err
    )
    assert (
        "apps.d/a.py:5: error: HelmRelease 'h' values extraEnv[0]: API_TOKEN hold a literal credential"
        in err
    )


def test_credential_file_paths_pass_and_the_error_points_at_plain(
    project: ProjectDir, run, no_color
) -> None:
    """`*_FILE` env vars hold a path to a mounted secret, not the secret; a real literal is refused
    with both ways out: OpenBao, or `Plain(...)` for a value that is not secret."""
    project.app(
        "a",
        """\
        from klaster_build.dsl import Container, Deployment

        Deployment("d", containers=[Container("d", image="nginx:1.27.3", env={
            "POSTGRES_PASSWORD_FILE": "/run/secrets/db/password", "API_TOKEN": "abc"})])
        """,
    )
    code, _, err = run("build")
    assert code == 2
    assert "POSTGRES_PASSWORD_FILE" not in err
    assert (
        "apps.d/a.py:3: error: container 'd' env API_TOKEN holds a literal credential; keep it in "
        "OpenBao: VaultSecret(...) and pass secret.key('...'); if the value is not secret (a "
        "setting, a public id), write Plain('...', reason='...')"
    ) in err


def test_operator_steps_name_paths_keys_and_authentik_apps(project: ProjectDir) -> None:
    """The checklist lists each KV path with its keys, each OIDC app, and the OpenBao sync."""
    from klaster_build.engine import load
    from klaster_build.families import CATALOG
    from klaster_build.graph import build_graph
    from klaster_build.operator import collect_steps

    project.app("kaneo", KANEO)
    loaded = load(project.root)
    steps = collect_steps(loaded, build_graph(loaded), CATALOG)
    assert [s.summary for s in steps] == [
        "Create secret/authentik/kaneo in OpenBao with keys client_id, client_secret",
        "Create secret/kaneo in OpenBao with keys auth_secret",
        "Create the Authentik OAuth2/OIDC application 'kaneo' (redirect host kaneo.example.org) and store its client_id and client_secret at secret/authentik/kaneo",
        "Reconcile OpenBao with out/vault/ (policies and kubernetes auth roles) using the vault sync script",
    ]


CORRUPTIONS = {
    # name: (policy paths, account the role binds, message, line that is reported)
    "drop-grant": (
        "{'secret/data/elsewhere': ['read']}, reason='shared'",
        "sa",
        "grants no read on it",
        "secret",
    ),
    "wrong-sa": (
        "{'secret/data/APP/x': ['read']}",
        "ServiceAccount('someone-else')",
        "does not bind ServiceAccount",
        "secret",
    ),
    "extra-path": (
        "{'secret/data/APP/x': ['read'], 'secret/data/nobody': ['read']}",
        "sa",
        "grants 'secret/data/nobody' that no secret of its role reads",
        "policy",
    ),
}


def _write(
    root: Path, apps: list[tuple[str, list[str]]], corruption: str | None
) -> tuple[str, int]:
    """Apps with secrets; with a corruption, app 0 also wires one secret by hand, wrongly."""
    if root.exists():
        shutil.rmtree(root)
    (root / "apps.d").mkdir(parents=True)
    (root / "klasterfile.py").write_text(KLASTERFILE)
    located = ("", 0)
    for index, (app, paths) in enumerate(apps):
        lines = [
            "from klaster_build.dsl import VaultPolicy, VaultSecret",
            "from klaster_build.records.vault import ServiceAccount, VaultAuth, VaultRole, VaultStaticSecret",
        ]
        lines.extend(
            f"VaultSecret('s{n}', path='{app}/{path}', keys=['k'])" for n, path in enumerate(paths)
        )
        if index == 0 and corruption:
            grants, bound, _, reported = CORRUPTIONS[corruption]
            lines.append("sa = ServiceAccount('hand-sa')")
            lines.append(f"policy = VaultPolicy('hand-policy', paths={grants.replace('APP', app)})")
            policy_line = len(lines)
            lines.append(
                f"role = VaultRole('hand-role', service_accounts=[{bound}], policies=[policy])"
            )
            lines.append("auth = VaultAuth('hand-auth', role=role, service_account=sa)")
            lines.append(f"VaultStaticSecret('manual', path='{app}/x', auth=auth)")
            located = (app, len(lines) if reported == "secret" else policy_line)
        (root / "apps.d" / f"{app}.py").write_text("\n".join(lines) + "\n")
    return located


APPS = st.lists(
    st.tuples(
        st.from_regex(r"[a-z]{1,6}", fullmatch=True),
        st.lists(st.from_regex(r"[a-z]{1,5}", fullmatch=True), min_size=1, max_size=3, unique=True),
    ),
    min_size=1,
    max_size=4,
    unique_by=lambda a: a[0],
).map(sorted)


@given(apps=APPS)
def test_every_generated_secret_is_reachable_and_least_privileged(scratch: Path, apps) -> None:
    """Valid app sets build; each policy grants read on exactly its app's secret paths."""
    _write(scratch / "p", apps, None)
    assert engine.build(scratch / "p").status == 0
    for app, paths in apps:
        policy = (scratch / "p" / "out" / "vault" / "policy" / f"{app}.hcl").read_text()
        granted = sorted(
            line.split('"')[1] for line in policy.splitlines() if line.startswith("path ")
        )
        assert granted == sorted(f"secret/data/{app}/{p}" for p in paths)


@given(apps=APPS, corruption=st.sampled_from(sorted(CORRUPTIONS)))
def test_each_corruption_names_the_secret_or_policy_line(
    scratch: Path, apps, corruption: str
) -> None:
    """A dropped grant, a wrong service account, or a path nobody reads is a located error."""
    app, line = _write(scratch / "p", apps, corruption)
    with pytest.raises(ProblemsFound) as caught:
        engine.build(scratch / "p")
    expected = CORRUPTIONS[corruption][2]
    matching = [str(p) for p in caught.value.problems if expected in p.message]
    assert any(m.startswith(f"apps.d/{app}.py:{line}: error:") for m in matching), [
        str(p) for p in caught.value.problems
    ]


def test_declaration_order_does_not_choose_the_access_chain(project: ProjectDir, run) -> None:
    """A VaultAccess declared after the app's VaultSecret is still the one it logs in with: the
    expansion phase runs once the whole file has loaded, so both orders build the same tree."""
    access = (
        'VaultAccess(service_account="llama-proxy", auth="llama", role="llama-proxy", '
        'policy="ollama")'
    )
    secret = 'VaultSecret("llama-api-key", path="ollama", keys=["token"])'
    trees = []
    for first, second in ((secret, access), (access, secret)):
        project.app(
            "llama", f"from klaster_build.dsl import VaultAccess, VaultSecret\n{first}\n{second}\n"
        )
        assert run("build")[0] == 0
        trees.append(project.file("out/apps/llama/secret.yaml"))
    assert trees[0] == trees[1]
    assert "name: llama-proxy" in trees[0] and "llama-secret" not in trees[0]


def test_two_access_chains_and_a_secret_without_access_is_one_located_error(
    project: ProjectDir, run, no_color
) -> None:
    """With two VaultAccess in the app, a VaultSecret without access= is ambiguous: one error
    at the secret's line naming both chains, not a silent pick of the first."""
    project.app(
        "llama",
        """\
        from klaster_build.dsl import VaultAccess, VaultSecret

        one = VaultAccess(service_account="one", file="one.yaml")
        VaultAccess(service_account="two", auth="two", role="two", policy="two", file="two.yaml")
        VaultSecret("llama-api-key", path="ollama", keys=["token"])
        VaultSecret("other", path="other", keys=["token"], access=one)
        """,
    )
    code, _, err = run("build")
    assert code == 2
    assert err.splitlines()[0] == (
        "apps.d/llama.py:5: error: VaultSecret 'llama-api-key' has no access= and the app "
        "declares 2 VaultAccess (apps.d/llama.py:3, apps.d/llama.py:4); pass access= to say "
        "which one it logs in with"
    )
    assert "1 error;" in err


def _edges(project: ProjectDir) -> set[tuple[str, str, str]]:
    """(dependency, dependent, field) addresses of the project's graph."""
    from klaster_build.engine import load
    from klaster_build.graph import build_graph

    graph = build_graph(load(project.root))
    return {(a.address, b.address, field) for a, b, field in graph.edges}


def test_secret_key_is_a_reference_in_env_and_values(project: ProjectDir, run) -> None:
    """secret.key() used in a container env, in Helm values or through ref() from another app
    is a graph edge from the VaultSecret, and renders the Secret's real (destination) name."""
    project.app(
        "api",
        """\
        from klaster_build.dsl import Container, Deployment, HelmRelease, HelmRepository, VaultSecret

        api = VaultSecret("api-secret", path="api", keys=["api_token"], destination="api-env")
        Deployment("d", containers=[Container("d", image="nginx:1.27.3", env={"TOKEN": api.key("api_token")})])
        repo = HelmRepository("r", url="https://example.org/charts")
        HelmRelease("h", source=repo, chart="h", version="1.0.0",
                    values={"extraEnv": [{"name": "TOKEN", "valueFrom": api.key("api_token")}]})
        """,
    )
    project.app(
        "other",
        """\
        from klaster_build.dsl import App, Container, Deployment, ref

        App(namespace="api")  # a pod reads Secrets of its own namespace only
        token = ref("api/VaultSecret/api-secret").key("api_token")
        Deployment("o", containers=[Container("o", image="nginx:1.27.3", env={"TOKEN": token})])
        """,
    )
    assert {
        ("api/VaultSecret/api-secret", "api/Deployment/d", "containers"),
        ("api/VaultSecret/api-secret", "api/HelmRelease/h", "values"),
        ("api/VaultSecret/api-secret", "other/Deployment/o", "containers"),
    } <= _edges(project)
    assert run("build")[0] == 0
    expected = {
        "name": "TOKEN",
        "valueFrom": {"secretKeyRef": {"name": "api-env", "key": "api_token"}},
    }
    for app, path in (("api", "deployment.yaml"), ("other", "deployment.yaml")):
        (deployment,) = _docs(project, f"out/apps/{app}/{path}")
        assert deployment["spec"]["template"]["spec"]["containers"][0]["env"] == [expected]
    release = _docs(project, "out/apps/api/release.yaml")[-1]
    assert release["spec"]["values"]["extraEnv"] == [expected]


def test_unknown_secret_key_is_a_located_error_listing_the_keys(
    project: ProjectDir, run, no_color
) -> None:
    """A key the secret does not declare is reported at the line that asks for it."""
    project.app(
        "api",
        """\
        from klaster_build.dsl import Container, Deployment, VaultSecret

        api = VaultSecret("api-secret", path="api", keys=["api_token", "user"])
        Deployment("d", containers=[Container("d", image="nginx:1.27.3",
                   env={"TOKEN": api.key("token")})])
        """,
    )
    before = project.snapshot()
    code, _, err = run("build")
    assert code == 2
    assert err.splitlines()[0] == (
        "apps.d/api.py:5: error: VaultSecret 'api-secret' has no key 'token'; "
        "it declares ['api_token', 'user']"
    )
    assert project.snapshot() == before


def test_oidc_endpoints_follow_the_klasterfile(project: ProjectDir, run) -> None:
    """Issuer and the other endpoints are references computed from authentik_url and the slug;
    changing the klasterfile changes every one of them."""
    project.app(
        "photos",
        """\
        from klaster_build.dsl import OIDC, Container, Deployment

        sso = OIDC("photo-app")
        names = ["issuer_url", "discovery_url", "authorize_url", "token_url", "userinfo_url",
                 "jwks_url", "end_session_url"]
        Deployment("d", containers=[Container("d", image="nginx:1.27.3",
                   env={name.upper(): getattr(sso, name) for name in names})])
        """,
    )

    def urls() -> dict[str, str]:
        assert run("build")[0] == 0
        (deployment,) = _docs(project, "out/apps/photos/deployment.yaml")
        return {
            e["name"]: e["value"]
            for e in deployment["spec"]["template"]["spec"]["containers"][0]["env"]
        }

    assert urls() == {
        "ISSUER_URL": "https://auth.example.org/application/o/photo-app/",
        "DISCOVERY_URL": "https://auth.example.org/application/o/photo-app/.well-known/openid-configuration",
        "AUTHORIZE_URL": "https://auth.example.org/application/o/authorize/",
        "TOKEN_URL": "https://auth.example.org/application/o/token/",
        "USERINFO_URL": "https://auth.example.org/application/o/userinfo/",
        "JWKS_URL": "https://auth.example.org/application/o/photo-app/jwks/",
        "END_SESSION_URL": "https://auth.example.org/application/o/photo-app/end-session/",
    }
    klasterfile = project.root / "klasterfile.py"
    klasterfile.write_text(
        klasterfile.read_text().replace("https://auth.example.org", "https://sso.example.net/")
    )
    assert urls()["ISSUER_URL"] == "https://sso.example.net/application/o/photo-app/"


def test_oidc_keys_and_templates(project: ProjectDir, run, no_color) -> None:
    """sso.key() names a key of the client's Secret (an edge from its VaultSecret); templates=
    renames the Secret's keys as on VaultSecret, over the KV keys client_id/client_secret."""
    project.app(
        "chat",
        """\
        from klaster_build.dsl import OIDC, Container, Deployment

        sso = OIDC(templates={"OPENID_CLIENT_ID": '{{ get .Secrets "client_id" }}',
                              "OPENID_CLIENT_SECRET": '{{ .Secrets.client_secret }}'})
        Deployment("d", containers=[Container("d", image="nginx:1.27.3", env={
            "OPENID_CLIENT_ID": sso.key("OPENID_CLIENT_ID"),
            "OPENID_CLIENT_SECRET": sso.key("OPENID_CLIENT_SECRET")})])
        """,
    )
    assert ("chat/VaultSecret/chat-authentik", "chat/Deployment/d", "containers") in _edges(project)
    assert run("build")[0] == 0
    vss = next(
        d for d in _docs(project, "out/apps/chat/secret.yaml") if d["kind"] == "VaultStaticSecret"
    )
    assert vss["spec"]["path"] == "authentik/chat"
    assert vss["spec"]["destination"]["transformation"]["templates"] == {
        "OPENID_CLIENT_ID": {"text": '{{ get .Secrets "client_id" }}'},
        "OPENID_CLIENT_SECRET": {"text": "{{ .Secrets.client_secret }}"},
    }
    (deployment,) = _docs(project, "out/apps/chat/deployment.yaml")
    env = deployment["spec"]["template"]["spec"]["containers"][0]["env"]
    assert env[0]["valueFrom"] == {
        "secretKeyRef": {"name": "chat-authentik", "key": "OPENID_CLIENT_ID"}
    }

    # The Secret's keys are now the templates' keys: client_id is not one of them.
    project.app(
        "chat",
        """\
        from klaster_build.dsl import OIDC

        sso = OIDC(templates={"ID": '{{ get .Secrets "client_id" }}'})
        sso.client_id
        """,
    )
    code, _, err = run("build")
    assert code == 2
    assert err.splitlines()[0] == (
        "apps.d/chat.py:4: error: VaultSecret 'chat-authentik' has no key 'client_id'; it declares ['ID']"
    )
    # A template may only read the KV keys the operator is told to create.
    project.app(
        "chat",
        """\
        from klaster_build.dsl import OIDC

        OIDC(templates={"ID": '{{ get .Secrets "clientid" }}'})
        """,
    )
    code, _, err = run("build")
    assert code == 2
    assert err.splitlines()[0] == (
        "apps.d/chat.py:3: error: VaultSecret 'chat-authentik' template 'ID' reads KV key "
        "'clientid', which is not among its keys ['client_id', 'client_secret']; add it to "
        "keys= or fix the template"
    )


SETTING_NAMES = ("SHOW_PASSWORD_HINT", "PASSWORD_MIN_LENGTH", "API_TOKEN_TTL", "SECRET_ROTATION")
NOT_CREDENTIALS = st.one_of(
    st.sampled_from(["true", "false", "yes", "no", "on", "off", "none", "null", "", "  "]).flatmap(
        lambda word: st.sampled_from([word, word.upper(), word.capitalize()])
    ),
    st.integers().map(str),
    st.floats(min_value=0, max_value=1e6, allow_nan=False).map(lambda f: f"{f:.2f}"),
)
WORDS = {
    "true",
    "false",
    "yes",
    "no",
    "on",
    "off",
    "none",
    "null",
    "enable",
    "enabled",
    "disable",
    "disabled",
}
CREDENTIALS = st.text(
    alphabet="abcdefghijklmnopqrstuvwxyzABCDEFGHIJ0123456789-_!", min_size=1
).filter(lambda v: v.lower() not in WORDS and not v.lstrip("+-").replace(".", "", 1).isdigit())


@given(name=st.sampled_from(SETTING_NAMES), value=NOT_CREDENTIALS)
def test_settings_that_mention_a_credential_are_not_flagged(name: str, value: str) -> None:
    """Booleans, numbers and empty values of credential-sounding names are settings."""
    from klaster_build.emit.vault import plaintext_credentials

    values = {"env": {name: value}, "extraEnv": [{"name": name, "value": value}]}
    assert list(plaintext_credentials(values)) == []


@given(
    name=st.sampled_from(("DB_PASSWORD", "API_TOKEN", "CLIENT_SECRET", "API_KEY")),
    value=CREDENTIALS,
)
def test_literal_credentials_are_still_flagged(name: str, value: str) -> None:
    """Any other literal of a credential name is a credential in git."""
    from klaster_build.emit.vault import plaintext_credentials

    values = {"env": {name: value}, "extraEnv": [{"name": name, "value": value}]}
    assert list(plaintext_credentials(values)) == [f"env.{name}", f"extraEnv[0]: {name}"]


def test_a_boolean_setting_in_container_env_builds(project: ProjectDir, run, no_color) -> None:
    """SHOW_PASSWORD_HINT=false builds; a real password next to it is still the one error."""
    source = """\
    from klaster_build.dsl import Container, Deployment

    Deployment("d", containers=[Container("d", image="nginx:1.27.3", env={
        "SHOW_PASSWORD_HINT": "false", "PASSWORD_MIN_LENGTH": "12", "ADMIN_TOKEN": ""{extra}})])
    """
    project.app("a", source.replace("{extra}", ""))
    assert run("build")[0] == 0
    project.app("a", source.replace("{extra}", ', "ADMIN_PASSWORD": "hunter2"'))
    code, _, err = run("build")
    assert code == 2
    assert err.count("holds a literal credential") == 1
    assert "env ADMIN_PASSWORD holds a literal credential" in err


@settings(max_examples=20, deadline=None)
@given(
    secrets=st.lists(
        st.from_regex(r"[a-z]{1,6}", fullmatch=True), min_size=1, max_size=4, unique=True
    ),
    data=st.data(),
)
def test_any_declaration_order_builds_the_same_tree(
    scratch: Path, secrets: list[str], data: st.DataObject
) -> None:
    """Expansion runs after the whole file has loaded: the access chain and every secret's
    VaultStaticSecret come out the same wherever the VaultAccess line stands among them."""
    access = 'VaultAccess(service_account="runner", auth="a", role="r", policy="p")'
    lines = [f'VaultSecret("{n}", path="x/{n}", keys=["k"])' for n in secrets]
    where = data.draw(st.integers(0, len(lines)))
    trees = []
    for order in ([access, *lines], [*lines[:where], access, *lines[where:]]):
        root = scratch / "order"
        shutil.rmtree(root, ignore_errors=True)
        (root / "apps.d").mkdir(parents=True)
        (root / "klasterfile.py").write_text(KLASTERFILE)
        head = "from klaster_build.dsl import VaultAccess, VaultSecret\n"
        (root / "apps.d" / "x.py").write_text(head + "\n".join(order) + "\n")
        files = engine.render_project(root).files
        trees.append(files)
    assert trees[0] == trees[1]
    secret_yaml = trees[0]["out/apps/x/secret.yaml"].decode()
    assert secret_yaml.count("kind: VaultStaticSecret") == len(secrets)
    assert "name: runner" in secret_yaml and "x-secret" not in secret_yaml


def test_a_secret_made_outside_a_build_needs_nothing_else() -> None:
    """A VaultSecret (or OIDC) made in a REPL or a unit test reads no loading session: no
    default chain, no ServiceAccount '-secret' error; its references exist at once."""
    from klaster_build.dsl import OIDC

    secret = VaultSecret("x", path="x", keys=["k"])
    assert secret.access is None and secret.secret.target is secret
    assert secret.key("k").secret.part == "secret_name"
    assert OIDC(app="wiki").vault_secret.name == "wiki-authentik"
