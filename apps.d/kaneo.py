"""kaneo: project management, chart from the app's git repository, Authentik SSO."""

from klaster_build.dsl import (
    OIDC,
    ChartIngress,
    GitRepository,
    HelmRelease,
    Plain,
    Postgres,
    VaultAccess,
    VaultSecret,
    ingress_values,
)

VaultAccess(file="oauth-secret.yaml")
app_secret = VaultSecret(
    "kaneo-app-secret", path="kaneo", keys=["auth_secret"], file="app-secret.yaml"
)
sso = OIDC()
db = Postgres("kaneo-db", size="10Gi")
web = ChartIngress("kaneo")

git = GitRepository("kaneo", url="https://github.com/usekaneo/kaneo.git", tag="v2.29.3")
HelmRelease(
    "kaneo",
    source=git,
    chart="./charts/kaneo",
    values={
        "ingress": ingress_values(web, service="kaneo", port=5173),
        "postgresql": {"enabled": False},
        "kaneo": {
            "env": {
                "clientUrl": f"https://{web.fqdn}",
                "disablePasswordRegistration": True,
                "existingSecret": {
                    "enabled": True,
                    "name": app_secret.secret,
                    "key": "auth_secret",
                },
                "database": {
                    "external": {
                        "enabled": True,
                        "existingSecret": {
                            "enabled": True,
                            "name": db.app_secret,
                            "passwordKey": "uri",
                        },
                    }
                },
            },
            "extraEnv": [
                {"name": "CUSTOM_OAUTH_DISCOVERY_URL", "value": sso.discovery_url},
                {"name": "CUSTOM_OAUTH_CLIENT_ID", "valueFrom": sso.client_id},
                {"name": "CUSTOM_OAUTH_CLIENT_SECRET", "valueFrom": sso.client_secret},
                {"name": "DISABLE_GUEST_ACCESS", "value": Plain("true")},
            ],
        },
    },
)
