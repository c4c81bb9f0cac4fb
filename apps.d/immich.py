"""immich: photo library; vectorchord Postgres, valkey, and the library on hdd."""

from klaster_build.dsl import (
    ChartIngress,
    HelmRelease,
    HelmRepository,
    Postgres,
    VaultAccess,
    VaultSecret,
    Volume,
    ingress_values,
)

password = VaultAccess(
    service_account="immich-password",
    auth="immich",
    role="immich",
    policy="immich",
    file="postgres-password.yaml",
)
db_secret = VaultSecret(
    "immich-db",
    path="immich-db",
    access=password,
    destination="immich-db-immich",
    secret_type="kubernetes.io/basic-auth",
)
# Existing LVs keep their names and tiers (data is reused by name).
library = Volume(
    "library",
    size="150Gi",
    tier="hdd",
    lv_name="immich-library-lvmhdd",
    claim_name="library-lvmhdd",
    file="immich-library.yaml",
)
valkey_data = Volume(size="1Gi", tier="hdd", lv_name="immich-valkey", file="valkey-volume.yaml")
db = Postgres(
    "immich-db-lvmhdd",
    size="10Gi",
    tier="hdd",
    tier_reason="its data lives on this hdd LV in the real cluster; moving tiers is a data move",
    image="ghcr.io/tensorchord/cloudnative-vectorchord:14-0.4.3",
    # The data was migrated by hand; recovery keeps CNPG from bootstrapping it again.
    bootstrap={"recovery": {"backup": {"name": "backup-migration"}}},
    # The default role cannot set up the vectorchord extension: a superuser role with our password.
    extra={
        "managed": {
            "roles": [
                {
                    "name": "immich",
                    "createdb": True,
                    "login": True,
                    "superuser": True,
                    "passwordSecret": {"name": db_secret.secret},
                }
            ]
        }
    },
)

valkey_repo = HelmRepository("valkey", url="https://valkey.io/valkey-helm/", file="redis.yaml")
valkey = HelmRelease(
    "valkey",
    source=valkey_repo,
    chart="valkey",
    version="0.11.0",
    file="redis.yaml",
    values={
        "dataStorage": {"enabled": True, "persistentVolumeClaimName": valkey_data.claim},
        "auth": {
            "enabled": True,
            "usersExistingSecret": "redis",
            "aclUsers": {
                "default": {"passwordKey": "redis-password", "permissions": "~* &* +@all"}
            },
        },
    },
)

web = ChartIngress(
    "immich",
    upload_limit="0",
    sso_reason="immich's own login; its mobile apps call the API with their own tokens",
)
repo = HelmRepository("secustor", url="https://secustor.dev/helm-charts")
HelmRelease(
    "immich",
    source=repo,
    chart="immich",
    version="1.0.2",
    values={
        "common": {
            "config": {"vecotrExtension": "vectorchord"},
            "postgres": {
                "host": db.rw_service,
                "existingSecret": {
                    "enabled": True,
                    "secretName": db_secret.secret,
                    "usernameKey": "username",
                    "passwordKey": "password",
                },
            },
            "redis": {
                "host": f"{valkey}",
                "existingSecret": {
                    "enabled": True,
                    "secretName": "redis",
                    "passwordKey": "redis-password",
                },
            },
        },
        "server": {
            "volumeMounts": [{"mountPath": "/usr/src/app/upload", "name": "uploads"}],
            "volumes": [{"name": "uploads", "persistentVolumeClaim": {"claimName": library.claim}}],
        },
        "machineLearning": {"enabled": True},
        "ingress": ingress_values(web),
    },
)
