"""woodpecker: CI for the repos on gitea; pipelines run as pods in this namespace."""

from klaster_build.dsl import (
    ChartIngress,
    HelmRelease,
    HelmRepository,
    Postgres,
    PrivilegedNamespace,
    Renovate,
    VaultSecret,
    ingress_values,
    ref,
)

secrets = VaultSecret("woodpecker-secrets", path="woodpecker")
# Container registry credentials for image builds (keys REGISTRY_USERNAME, REGISTRY_PASSWORD).
VaultSecret("container-registry", path="container-registry")
db = Postgres(
    "woodpecker-postgresql-cluster",
    size="10Gi",
    image="ghcr.io/cloudnative-pg/postgresql:17.4",
    database="woodpecker",
    owner="woodpecker",
    # The existing PV predates the `-1` suffix; LVs are reused by name.
    lv_name="woodpecker-postgresql-cluster-lvmssd",
    renovate=Renovate(versioning=r"regex:^(?<major>\d+)\.(?<minor>\d+)$"),
)
PrivilegedNamespace(reason="the docker-buildx plugin runs pipeline steps as privileged pods")
web = ChartIngress(
    "woodpecker",
    annotations={"acme.cert-manager.io/http01-edit-in-place": "true"},
    sso_reason="users log in through gitea (OAuth); gitea's webhooks must reach it",
)
gitea = ref("gitea/ChartIngress/gitea")
ingress = ingress_values(web, class_key="ingressClassName")
ingress["hosts"] = [
    {
        "host": web.fqdn,
        "paths": [
            {"path": "/", "backend": {"serviceName": "woodpecker-server", "servicePort": 80}}
        ],
    }
]

repo = HelmRepository("woodpecker", url="https://woodpecker-ci.org/")
HelmRelease(
    "woodpecker",
    source=repo,
    chart="woodpecker",
    version="3.7.1",
    values={
        "server": {
            "enabled": True,
            "statefulSet": {"replicaCount": 1},
            "persistentVolume": {"enabled": False},
            "env": {
                "WOODPECKER_HOST": f"https://{web.fqdn}",
                "WOODPECKER_GITEA": "true",
                "WOODPECKER_GITEA_URL": f"https://{gitea.fqdn}",
                "WOODPECKER_DATABASE_DRIVER": "postgres",
                "WOODPECKER_DATABASE_DATASOURCE": {
                    "valueFrom": {"secretKeyRef": {"name": db.app_secret, "key": "fqdn-uri"}}
                },
                "WOODPECKER_OPEN": "true",
                "WOODPECKER_ADMIN": "GiteaAdmin",
                "WOODPECKER_PLUGINS_PRIVILEGED": "woodpeckerci/plugin-docker-buildx",
            },
            "createAgentSecret": True,
            "extraSecretNamesForEnvFrom": [secrets.secret],
            "ingress": ingress,
            "resources": {"requests": {"cpu": "100m", "memory": "256Mi"}},
            "service": {"type": "ClusterIP", "port": 80},
        },
        "agent": {
            "enabled": True,
            "replicaCount": 2,
            "env": {
                "WOODPECKER_SERVER": "woodpecker-server:9000",
                "WOODPECKER_BACKEND": "kubernetes",
                "WOODPECKER_BACKEND_K8S_NAMESPACE": "woodpecker",
                "WOODPECKER_BACKEND_K8S_STORAGE_CLASS": "ssd-lvmpv",
                "WOODPECKER_BACKEND_K8S_VOLUME_SIZE": "10G",
                "WOODPECKER_BACKEND_K8S_STORAGE_RWX": False,
                "WOODPECKER_CONNECT_RETRY_COUNT": "5",
            },
            "mapAgentSecret": True,
            "extraSecretNamesForEnvFrom": [secrets.secret],
            "persistence": {"enabled": False},
            "serviceAccount": {"create": True, "rbac": {"create": True}},
            "resources": {"requests": {"cpu": "100m", "memory": "128Mi"}},
        },
    },
)
