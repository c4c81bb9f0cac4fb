"""Infra: controllers, configs and apps as three Flux Kustomizations in order, every custom
resource's CRD installed by an earlier one, and infra controllers' secrets from OpenBao."""

from __future__ import annotations

import re

import yaml
from conftest import REPO, ProjectDir, one_located_error
from test_validate_tree import _validate, needs_validate_tree

INFRA = """\
from klaster_build.dsl import App, GitCrds, InfraComponent, InfraConfig, VaultAccess, VaultSecret

App(infra=True)
InfraComponent("vault-secrets-operator", namespace="vault-secrets-operator",
               url="https://helm.releases.hashicorp.com", chart="vault-secrets-operator",
               version="1.5.1", provides=["secrets.hashicorp.com"])
dns = InfraComponent("external-dns", namespace="external-dns",
                     url="https://kubernetes-sigs.github.io/external-dns/", chart="external-dns",
                     version="1.19.0")
InfraComponent("k8up", namespace="k8up", url="https://k8up-io.github.io/k8up", chart="k8up",
               version="4.9.0", provides=["k8up.io"],
               crds=GitCrds(url="https://github.com/k8up-io/k8up", tag="k8up-{version}",
                            path="config/crd/apiextensions.k8s.io/v1"))
access = VaultAccess(component=dns)
VaultSecret("external-dns-ovh", path="external-dns", keys=["api_token"], access=access)
"""

SCHEDULE = """\
from klaster_build.dsl import Manifest

Manifest(body={"apiVersion": "k8up.io/v1", "kind": "Schedule", "metadata": {"name": "backup"},
               "spec": {"backup": {"schedule": "@daily-random"}}})
"""


def _docs(project: ProjectDir, path: str) -> list[dict]:
    return [d for d in yaml.safe_load_all(project.file(path)) if d]


def _built(project: ProjectDir, run) -> None:
    project.app("infra", INFRA)
    code, _out, err = run("build")
    assert code == 0, err


def test_infra_secret_lives_in_the_controllers_namespace_in_infra_configs(
    project: ProjectDir, run
) -> None:
    _built(project, run)
    docs = _docs(project, "out/infra/configs/external-dns-secret.yaml")
    assert {(d["kind"], d["metadata"]["namespace"]) for d in docs} == {
        ("ServiceAccount", "external-dns"),
        ("VaultAuth", "external-dns"),
        ("VaultStaticSecret", "external-dns"),
    }
    assert not (project.out / "apps").exists()
    configs = _docs(project, "out/infra/configs/kustomization.yaml")[0]["resources"]
    assert "external-dns-secret.yaml" in configs
    # least privilege: the role binds that account in that namespace to a read-only policy
    auth = next(d for d in docs if d["kind"] == "VaultAuth")
    assert auth["metadata"]["name"] == "external-dns"
    assert auth["spec"]["kubernetes"] == {
        "role": "external-dns",
        "serviceAccount": "external-dns-secret",
    }
    role = yaml.safe_load(project.file("out/vault/kubernetes-auth-roles/external-dns.yaml"))
    assert role == {
        "bound_service_account_names": ["external-dns-secret"],
        "bound_service_account_namespaces": ["external-dns"],
        "token_policies": ["external-dns"],
    }
    assert project.file("out/vault/policy/external-dns.hcl").endswith(
        'path "secret/data/external-dns" {\n  capabilities = ["read"]\n}\n'
    )
    _code, out, _ = run("todo")
    assert "[secret] Create secret/external-dns in OpenBao with keys api_token" in out


def test_infra_secret_without_its_controller_is_refused_at_its_line(
    project: ProjectDir, run
) -> None:
    err = one_located_error(
        project,
        run,
        "from klaster_build.dsl import App, VaultSecret\nApp(infra=True)\n"
        'VaultSecret("creds", path="creds", keys=["token"])\n',
    )
    assert "apps.d/x.py:3" in err and "VaultAccess(component=" in err


def test_flux_kustomizations_chain_controllers_configs_apps(project: ProjectDir, run) -> None:
    _built(project, run)
    documents = _docs(project, "out/cluster/infra.yaml") + _docs(project, "out/cluster/apps.yaml")
    chain = {d["metadata"]["name"]: d["spec"] for d in documents}
    # The earlier single `infra` stays, suspended and never pruning: removing or reconciling it
    # would garbage-collect what the new layers take over.
    retired = chain.pop("infra")
    assert retired["suspend"] is True and retired["prune"] is False
    assert list(chain) == ["infra-controllers", "infra-configs", "apps"]
    assert "dependsOn" not in chain["infra-controllers"]
    assert chain["infra-configs"]["dependsOn"] == [{"name": "infra-controllers"}]
    assert chain["apps"]["dependsOn"] == [{"name": "infra-configs"}]
    assert all(spec["wait"] for spec in chain.values())
    assert chain["infra-controllers"]["path"] == "./out/infra/controllers"
    listed = _docs(project, "out/infra/controllers/kustomization.yaml")[0]["resources"]
    assert listed == ["vault-secrets-operator.yaml", "external-dns.yaml", "k8up.yaml"]


def test_git_crds_are_applied_with_the_controller(project: ProjectDir, run) -> None:
    _built(project, run)
    docs = {d["kind"]: d for d in _docs(project, "out/infra/controllers/k8up.yaml")}
    assert docs["GitRepository"]["spec"]["ref"] == {"tag": "k8up-4.9.0"}
    assert docs["Kustomization"]["spec"]["path"] == "./config/crd/apiextensions.k8s.io/v1"
    assert docs["Kustomization"]["spec"]["prune"] is False


def test_a_custom_resource_of_a_provided_group_in_an_app_builds(project: ProjectDir, run) -> None:
    _built(project, run)
    project.app("gitea", SCHEDULE)
    code, _, err = run("build")
    assert code == 0, err


def test_a_custom_resource_nothing_provides_is_refused_at_its_line(
    project: ProjectDir, run
) -> None:
    _built(project, run)
    project.app("gitea", SCHEDULE.replace("k8up.io/v1", "velero.io/v1"))
    code, _, err = run("build")
    assert code == 2
    assert "apps.d/gitea.py:3" in err
    assert "no infra controller installs the CRD of API group 'velero.io'" in err


def test_a_custom_resource_beside_its_controller_is_refused(project: ProjectDir, run) -> None:
    err = one_located_error(
        project,
        run,
        INFRA + 'InfraConfig(file="schedule.yaml", directory="controllers", documents=[{'
        '"apiVersion": "k8up.io/v1", "kind": "Schedule", '
        '"metadata": {"name": "b", "namespace": "k8up"}}])\n',
    )
    assert "apps.d/x.py:16" in err
    assert "does not wait for it" in err and "infra-controllers" in err


def test_the_repos_k8up_crds_and_schedule_are_in_out() -> None:
    k8up = list(yaml.safe_load_all((REPO / "out/infra/controllers/k8up.yaml").read_text()))
    crds = [d for d in k8up if d and d["metadata"]["name"] == "k8up-crds"]
    assert {d["kind"] for d in crds} == {"GitRepository", "Kustomization"}
    assert "kind: Schedule" in (REPO / "out/apps/gitea/backups.yaml").read_text()


def test_a_chart_creating_another_components_kinds_waits_for_it(project: ProjectDir, run) -> None:
    project.app(
        "infra",
        INFRA
        + 'InfraComponent("cert-manager", namespace="cert-manager", url="https://charts.jetstack.io",'
        ' chart="cert-manager", version="v1.19.3", provides=["cert-manager.io"])\n'
        'InfraComponent("webhook", namespace="cert-manager", url="https://charts.example.org",'
        ' chart="webhook", version="1.0.0", create_namespace=False, uses=["cert-manager.io"])\n',
    )
    assert run("build")[0] == 0
    release = _docs(project, "out/infra/controllers/webhook.yaml")[-1]
    assert release["spec"]["dependsOn"] == [{"name": "cert-manager", "namespace": "cert-manager"}]


def test_a_chart_using_an_unprovided_group_is_refused(project: ProjectDir, run) -> None:
    err = one_located_error(
        project,
        run,
        INFRA + 'InfraComponent("webhook", namespace="w", url="https://charts.example.org",'
        ' chart="webhook", version="1.0.0", uses=["cert-manager.io"])\n',
    )
    assert "apps.d/x.py:16" in err and "provides=['cert-manager.io']" in err


@needs_validate_tree
def test_the_infra_chain_passes_third_party_validators(project: ProjectDir, run) -> None:
    """kubectl kustomize over both infra directories, the schemas of the Flux objects, the
    VSO objects in the controller's namespace, the OpenBao policy and role."""
    _built(project, run)
    project.app("gitea", SCHEDULE)
    assert run("build")[0] == 0
    result = _validate(project.out)
    errors = [line for line in result.stdout.splitlines() if line.startswith("ERROR")]
    assert errors == [], result.stdout[-3000:]
    assert re.search(r"^\s+kustomize\s+checked=[1-9]", result.stdout, re.MULTILINE)
