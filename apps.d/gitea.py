"""gitea: the code forge (holds this repo), with off-site backups by k8up."""

from klaster_build.dsl import (
    ChartIngress,
    HelmRelease,
    HelmRepository,
    Manifest,
    Postgres,
    Renovate,
    VaultAccess,
    VaultSecret,
    Volume,
    ingress_values,
)

backup = VaultAccess(service_account="backup", auth="backup", role="backup", policy="backup")
restic = VaultSecret("gitea-backup-restic", path="restic", access=backup)
backblaze = VaultSecret("gitea-backup-backblaze", path="backblaze", access=backup)

# Existing LVs keep their names and tiers (data is reused by name).
shared = Volume("shared-storage", size="20Gi", tier="hdd", file="gitea-shared-volume.yaml")
valkey = Volume(
    size="4Gi", tier="hdd", lv_name="gitea-valkey-primary-lvmhdd-0", file="valkey-volume.yaml"
)
db = Postgres(
    "gitea-postgresql-cluster-lvmhdd",
    size="20Gi",
    tier="hdd",
    tier_reason="its data lives on this hdd LV in the real cluster; moving tiers is a data move",
    image="ghcr.io/cloudnative-pg/postgresql:17.4",
    renovate=Renovate(versioning=r"regex:^(?<major>\d+)\.(?<minor>\d+)$"),
    # The data was migrated by hand; recovery keeps CNPG from bootstrapping it again.
    bootstrap={"recovery": {"backup": {"name": "backup-migration"}}},
)
web = ChartIngress(
    "gitea",
    annotations={"acme.cert-manager.io/http01-edit-in-place": "true"},
    sso_reason="gitea's own login; git over HTTPS and the API use its tokens",
)

no_cpu_request = {"requests": {"cpu": 0}}
repo = HelmRepository("gitea-charts", url="https://dl.gitea.com/charts/")
HelmRelease(
    "gitea",
    source=repo,
    chart="gitea",
    version="12.4.0",
    values={
        "postgresql-ha": {"enabled": False},
        "postgresql": {"enabled": False},
        "valkey-cluster": {"enabled": False},
        "valkey": {
            "enabled": True,
            "primary": {
                "persistence": {"enabled": True, "existingClaim": valkey.claim},
                "resources": no_cpu_request,
            },
        },
        "persistence": {"enabled": True, "create": False, "claimName": shared.claim},
        "gitea": {
            "additionalConfigFromEnvs": [
                {
                    "name": "GITEA__DATABASE__PASSWD",
                    "valueFrom": {"secretKeyRef": {"name": db.app_secret, "key": "password"}},
                }
            ],
            "config": {
                "database": {
                    "DB_TYPE": "postgres",
                    "HOST": f"{db.rw_service}:5432",
                    "NAME": "app",
                    "USER": "app",
                },
                "indexer": {"ISSUE_INDEXER_TYPE": "bleve", "REPO_INDEXER_ENABLED": True},
            },
            "admin": {
                "username": "GiteaAdmin",
                "email": "gi@tea.com",
                "passwordMode": "initialOnlyRequireReset",
            },
        },
        "service": {
            "ssh": {
                "annotations": {
                    "lbipam.cilium.io/sharing-key": "gitea",
                    "lbipam.cilium.io/sharing-cross-namespace": "nginx-ingress",
                    "lbipam.cilium.io/ips": "10.44.0.6,2001:470:61a3:400::6",
                },
                "type": "LoadBalancer",
                "port": 22,
                # Sharing the IP with the ingress controller requires the Cluster policy.
                "externalTrafficPolicy": "Cluster",
                "ipFamilyPolicy": "RequireDualStack",
            }
        },
        "ingress": ingress_values(web),
        "resources": no_cpu_request,
        "initContainers": {"resources": no_cpu_request},
    },
)

secret_key = {"name": backblaze.secret}
Manifest(
    body={
        "apiVersion": "k8up.io/v1",
        "kind": "Schedule",
        "metadata": {"name": "gitea-backup"},
        "spec": {
            "backend": {
                "repoPasswordSecretRef": {"name": restic.secret, "key": "password"},
                "s3": {
                    "endpoint": "https://s3.eu-central-003.backblazeb2.com",
                    "bucket": "lumpiasty-backups",
                    "accessKeyIDSecretRef": {**secret_key, "key": "aws_access_key_id"},
                    "secretAccessKeySecretRef": {**secret_key, "key": "aws_secret_access_key"},
                },
            },
            "backup": {
                "schedule": "@daily-random",
                "failedJobsHistoryLimit": 2,
                "successfulJobsHistoryLimit": 2,
            },
            "check": {"schedule": "@daily-random"},
            "prune": {
                "schedule": "@daily-random",
                "retention": {"keepLast": 14, "keepDaily": 14, "keepWeekly": 50, "keepYearly": 10},
            },
        },
    },
    file="backups.yaml",
)
