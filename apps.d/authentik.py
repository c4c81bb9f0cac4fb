"""authentik: the SSO provider (OIDC for the other apps)."""

from klaster_build.dsl import (
    ChartIngress,
    HelmRelease,
    HelmRepository,
    Postgres,
    Renovate,
    VaultSecret,
    ingress_values,
)

POSTGRES_VERSIONING = Renovate(versioning=r"regex:^(?<major>\d+)\.(?<minor>\d+)$")

secret = VaultSecret("authentik-secret", path="authentik")
db = Postgres(
    "authentik-postgresql-cluster-lvmhdd",
    size="10Gi",
    tier="hdd",
    tier_reason="its data lives on this hdd LV in the real cluster; moving tiers is a data move",
    image="ghcr.io/cloudnative-pg/postgresql:17.4",
    database="authentik",
    owner="authentik",
    renovate=POSTGRES_VERSIONING,
)
web = ChartIngress("authentik", sso_reason="the single sign-on provider itself")
repo = HelmRepository("authentik", url="https://charts.goauthentik.io")
HelmRelease(
    "authentik",
    source=repo,
    chart="authentik",
    version="2026.5.0",
    values={
        "authentik": {
            "postgresql": {"host": db.rw_service, "name": "authentik", "user": "authentik"}
        },
        "global": {
            "env": [
                {
                    "name": "AUTHENTIK_SECRET_KEY",
                    "valueFrom": {"secretKeyRef": {"name": secret.secret, "key": "secret_key"}},
                },
                {
                    "name": "AUTHENTIK_POSTGRESQL__PASSWORD",
                    "valueFrom": {"secretKeyRef": {"name": db.app_secret, "key": "password"}},
                },
            ]
        },
        "postgresql": {"enabled": False},
        "server": {
            "ingress": ingress_values(web, hosts_as_strings=True, class_key="ingressClassName")
        },
    },
)
