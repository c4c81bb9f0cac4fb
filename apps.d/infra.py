"""Infra: the cluster's controllers and configs (infra/ in out/), and OpenBao objects of CI and infra."""

from klaster_build.dsl import (
    App,
    GitCrds,
    InfraComponent,
    InfraConfig,
    VaultAccess,
    VaultFile,
    VaultPolicy,
    VaultSecret,
    read,
    read_yaml,
)

App(infra=True)

CILIUM_VALUES = read_yaml("infra/values/cilium.yaml")[0]
InfraComponent(
    "cilium",
    namespace="kube-system",
    url="https://helm.cilium.io/",
    chart="cilium",
    version="1.18.4",
    create_namespace=False,
    provides=["cilium.io"],
    values=CILIUM_VALUES,
)
NGINX_INGRESS_VALUES = read_yaml("infra/values/nginx-ingress.yaml")[0]
InfraComponent(
    "nginx-ingress",
    namespace="nginx-ingress",
    url="https://kubernetes.github.io/ingress-nginx",
    chart="ingress-nginx",
    version="4.15.1",
    repository="ingress-nginx",
    values=NGINX_INGRESS_VALUES,
)
CERT_MANAGER_VALUES = read_yaml("infra/values/cert-manager.yaml")[0]
InfraComponent(
    "cert-manager",
    namespace="cert-manager",
    url="https://charts.jetstack.io",
    chart="cert-manager",
    version="v1.19.3",
    provides=["cert-manager.io"],
    values=CERT_MANAGER_VALUES,
)
CERT_MANAGER_WEBHOOK_OVH_VALUES = read_yaml("infra/values/cert-manager-webhook-ovh.yaml")[0]
webhook_ovh = InfraComponent(
    "cert-manager-webhook-ovh",
    namespace="cert-manager",
    url="https://aureq.github.io/cert-manager-webhook-ovh/",
    chart="cert-manager-webhook-ovh",
    version="0.8.0",
    create_namespace=False,
    # Its chart creates the ClusterIssuer letsencrypt (values issuers:).
    uses=["cert-manager.io"],
    values=CERT_MANAGER_WEBHOOK_OVH_VALUES,
)
# The webhook's OVH API credentials (the Secret its values name), in cert-manager's namespace;
# the names are the real cluster's.
ovh_access = VaultAccess(
    component=webhook_ovh,
    service_account="ovh-credentials",
    auth="cert-manager",
    role="cert-manager",
    policy="ovh-credentials",
    file="ovh-cert-manager-secret.yaml",
)
VaultSecret(
    "webhook-ovh-credentials",
    path="ovh-cert-manager",
    keys=["applicationKey", "applicationSecret", "consumerKey"],
    destination="ovh-credentials",
    access=ovh_access,
)
OPENEBS_VALUES = read_yaml("infra/values/openebs.yaml")[0]
InfraComponent(
    "openebs",
    namespace="openebs",
    url="https://openebs.github.io/openebs",
    chart="openebs",
    version="4.4.0",
    provides=["local.openebs.io"],
    values=OPENEBS_VALUES,
)
InfraComponent(
    "k8up",
    namespace="k8up",
    url="https://k8up-io.github.io/k8up",
    chart="k8up",
    version="4.9.0",
    repository="k8up-io",
    provides=["k8up.io"],
    # The chart ships no CRDs; k8up's release file k8up-crd.yaml is built from this directory.
    crds=GitCrds(
        url="https://github.com/k8up-io/k8up",
        tag="k8up-{version}",
        path="config/crd/apiextensions.k8s.io/v1",
    ),
)
InfraComponent(
    "external-secrets",
    namespace="external-secrets",
    url="https://charts.external-secrets.io",
    chart="external-secrets",
    version="0.16.2",
    provides=["external-secrets.io"],
)
VAULT_SECRETS_OPERATOR_VALUES = read_yaml("infra/values/vault-secrets-operator.yaml")[0]
InfraComponent(
    "vault-secrets-operator",
    namespace="vault-secrets-operator",
    url="https://helm.releases.hashicorp.com",
    chart="vault-secrets-operator",
    version="1.5.1",
    repository="hashicorp",
    provides=["secrets.hashicorp.com"],
    values=VAULT_SECRETS_OPERATOR_VALUES,
)
MONGODB_OPERATOR_VALUES = read_yaml("infra/values/mongodb-operator.yaml")[0]
InfraComponent(
    "mongodb-operator",
    namespace="mongodb",
    url="https://mongodb.github.io/helm-charts",
    chart="community-operator",
    version="0.12.0",
    repository="mongodb",
    provides=["mongodbcommunity.mongodb.com"],
    values=MONGODB_OPERATOR_VALUES,
)
InfraComponent(
    "cloudnative-pg",
    namespace="cnpg-system",
    url="https://cloudnative-pg.github.io/charts",
    chart="cloudnative-pg",
    version="0.28.1",
    repository="cnpg",
    release="cnpg",
    provides=["postgresql.cnpg.io"],
)
OPENBAO_VALUES = read_yaml("infra/values/openbao.yaml")[0]
InfraComponent(
    "openbao",
    namespace="openbao",
    url="https://openbao.github.io/openbao-helm",
    chart="openbao",
    version="0.19.2",
    # Its pod mounts the TLS Secret of the Certificate in infra/configs: applied after it.
    directory="configs",
    values=OPENBAO_VALUES,
)

# Installed from raw manifests: the in-cluster DNS and the public DNS server.
InfraConfig(file="coredns.yaml", directory="controllers", documents=read_yaml("infra/coredns.yaml"))
InfraConfig(
    file="dns-public.yaml", directory="controllers", documents=read_yaml("infra/dns-public.yaml")
)

for config in (
    "bgp-cluster-config",
    "loadbalancer-ippool",
    "openbao-cert",
    "openbao-volume",
    "openbao-k8s-se-role",
):
    InfraConfig(file=f"{config}.yaml", documents=read_yaml(f"infra/{config}.yaml"))

# OpenBao objects used by CI (AppRoles).
VaultFile(path="policy/default.hcl", text=read("infra/default.hcl"))
VaultPolicy(
    "flux-reconcile",
    paths={"kubernetes/creds/flux-reconcile": ["update"]},
    reason="CI AppRole ci-flux-reconcile",
)
VaultPolicy(
    "renovate",
    paths={"secret/data/renovate": ["read"], "secret/data/container-registry": ["read"]},
    reason="CI AppRole ci-renovate (Renovate and image builds)",
)
VaultFile(
    path="approles/ci-flux-reconcile.yaml",
    data={"token_ttl": "20m", "token_max_ttl": "20m", "policies": ["flux-reconcile"]},
)
VaultFile(
    path="approles/ci-renovate.yaml",
    data={"token_ttl": "20m", "token_max_ttl": "20m", "policies": ["renovate"]},
)
VaultFile(
    path="kubernetes-se-roles/flux-reconcile.yaml",
    data={
        "allowed_kubernetes_namespaces": "flux-system",
        "generated_role_rules": {
            "rules": [
                {
                    "apiGroups": ["source.toolkit.fluxcd.io"],
                    "resources": ["gitrepositories"],
                    "verbs": ["get", "patch", "watch"],
                }
            ]
        },
    },
)
VaultFile(path="kubernetes-config.yaml", data={"kubernetes_host": "https://10.43.0.1:443"})
