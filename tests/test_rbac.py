"""ServiceAccount, Namespace, Role/ClusterRole and their bindings: the real repo's garm shapes,
graph edges from the records a binding holds, and located errors for what cannot work."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from conftest import ProjectDir, one_located_error
from hypothesis import given
from hypothesis import strategies as st

from klaster_build.engine import load
from klaster_build.graph import build_graph

REAL = Path(__file__).resolve().parents[2] / "shared" / "reference" / "klaster" / "apps" / "garm"

GARM = """\
from klaster_build.dsl import *

runners = Namespace("garm-runners")
garm = ServiceAccount("garm")
provider = Role("garm-provider-k8s", namespace=runners, rules=[Rule(
    resources=["pods", "pods/log", "configmaps", "secrets", "events"],
    verbs=["create", "delete", "get", "list", "patch", "update", "watch"])])
RoleBinding("garm-provider-k8s", role=provider, subjects=[garm])
access = VaultAccess(service_account=garm, auth="garm", role="garm", policy="garm")
config = VaultSecret("garm-config", path="garm", keys=["jwt_auth_secret"], access=access)
Deployment("garm", service_account=garm, containers=[Container("garm", image="ghcr.io/cloudbase/garm:v0.1.6")])
"""


def _docs(project: ProjectDir, relative: str) -> list[dict]:
    return [d for d in yaml.safe_load_all(project.file(relative)) if d]


def _real(name: str) -> list[dict]:
    return [d for d in yaml.safe_load_all((REAL / name).read_text()) if d]


@pytest.mark.skipif(not REAL.is_dir(), reason="../shared/reference is not beside the checkout")
def test_garm_rbac_and_namespaces_equal_the_real_files(project: ProjectDir, run) -> None:
    """rbac.yaml and namespace.yaml are document for document the real garm files."""
    project.app("garm", GARM)
    code, _, err = run("build")
    assert code == 0, err
    assert _docs(project, "out/apps/garm/rbac.yaml") == _real("rbac.yaml")
    assert _docs(project, "out/apps/garm/namespace.yaml") == _real("namespace.yaml")
    real_auth = next(d for d in _real("secret.yaml") if d["kind"] == "VaultAuth")
    auth = next(d for d in _docs(project, "out/apps/garm/secret.yaml") if d["kind"] == "VaultAuth")
    assert auth == real_auth  # logs in as the app's own ServiceAccount, declared once
    kinds = [d["kind"] for d in _docs(project, "out/apps/garm/secret.yaml")]
    assert "ServiceAccount" not in kinds
    pod = _docs(project, "out/apps/garm/deployment.yaml")[0]["spec"]["template"]["spec"]
    assert pod["serviceAccountName"] == "garm"
    role = yaml.safe_load(project.file("out/vault/kubernetes-auth-roles/garm.yaml"))
    assert role["bound_service_account_names"] == ["garm"]
    assert role["bound_service_account_namespaces"] == ["garm"]


def test_the_records_a_binding_holds_are_its_graph_edges(project: ProjectDir) -> None:
    """Namespace -> Role -> RoleBinding <- ServiceAccount -> Deployment, VaultAccess."""
    project.app("garm", GARM)
    graph = build_graph(load(project.root))
    edges = {(a.address, b.address, field) for a, b, field in graph.edges}
    assert {
        ("garm/Namespace/garm-runners", "garm/Role/garm-provider-k8s", "namespace"),
        ("garm/Role/garm-provider-k8s", "garm/RoleBinding/garm-provider-k8s", "role"),
        ("garm/ServiceAccount/garm", "garm/RoleBinding/garm-provider-k8s", "subjects"),
        ("garm/ServiceAccount/garm", "garm/Deployment/garm", "service_account"),
        ("garm/ServiceAccount/garm", "garm/VaultAccess/garm", "service_account"),
    } <= edges
    assert graph.problems == ()


def test_cluster_roles_and_a_role_binding_limited_to_a_namespace(project: ProjectDir, run) -> None:
    """A ClusterRole granted cluster-wide, and in one namespace by a RoleBinding."""
    project.app(
        "inventory",
        """\
        from klaster_build.dsl import *

        scans = Namespace("inventory-scans")
        account = ServiceAccount("inventory")
        nodes = ClusterRole("inventory-nodes", rules=[
            Rule(resources=["nodes"], verbs=["get", "list", "watch"]),
            Rule(api_groups=["apps"], resources=["deployments"], verbs=["get"], resource_names=["web"])])
        ClusterRoleBinding("inventory-nodes", role=nodes, subjects=[account])
        RoleBinding("inventory-scans", role=nodes, subjects=[account], namespace=scans)
        RoleBinding("inventory-here", role=nodes, subjects=[account])
        """,
    )
    code, _, err = run("build")
    assert code == 0, err
    sa, cluster_role, cluster_binding, scans, here = _docs(project, "out/apps/inventory/rbac.yaml")
    assert sa == {
        "apiVersion": "v1",
        "kind": "ServiceAccount",
        "metadata": {"name": "inventory", "namespace": "inventory"},
    }
    assert cluster_role == {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "ClusterRole",
        "metadata": {"name": "inventory-nodes"},
        "rules": [
            {"apiGroups": [""], "resources": ["nodes"], "verbs": ["get", "list", "watch"]},
            {
                "apiGroups": ["apps"],
                "resources": ["deployments"],
                "verbs": ["get"],
                "resourceNames": ["web"],
            },
        ],
    }
    subjects = [{"kind": "ServiceAccount", "name": "inventory", "namespace": "inventory"}]
    role_ref = {
        "kind": "ClusterRole",
        "name": "inventory-nodes",
        "apiGroup": "rbac.authorization.k8s.io",
    }
    assert cluster_binding == {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "ClusterRoleBinding",
        "metadata": {"name": "inventory-nodes"},
        "subjects": subjects,
        "roleRef": role_ref,
    }
    assert scans["metadata"] == {"name": "inventory-scans", "namespace": "inventory-scans"}
    assert here["metadata"] == {"name": "inventory-here", "namespace": "inventory"}
    assert scans["subjects"] == here["subjects"] == subjects
    assert scans["roleRef"] == here["roleRef"] == role_ref


def test_two_apps_with_one_cluster_role_name_collide(project: ProjectDir, run, no_color) -> None:
    """Cluster-scoped names are the cluster's: a second ClusterRole of that name is an error."""
    for app in ("one", "two"):
        project.app(
            app,
            'from klaster_build.dsl import *\nClusterRole("reader", rules=[Rule(resources=["nodes"], verbs=["get"])])\n',
        )
    code, _, err = run("build")
    assert code == 2
    assert (
        "apps.d/two.py:2: error: ClusterRole 'reader' in namespace '' is also generated by apps.d/one.py:2"
        in err
    )


NAMES = st.from_regex(r"[a-z][a-z0-9]{0,10}", fullmatch=True)


@given(account=NAMES, role=NAMES, namespace=NAMES, cluster=st.booleans())
def test_a_binding_names_what_it_holds(
    scratch: Path, account: str, role: str, namespace: str, cluster: bool
) -> None:
    """Whatever the records are called, the binding's subject and roleRef are the names and
    namespaces of the documents written for the ServiceAccount and the role."""
    from conftest import KLASTERFILE

    root = scratch / "names"
    (root / "apps.d").mkdir(parents=True, exist_ok=True)
    (root / "klasterfile.py").write_text(KLASTERFILE)
    kind = "ClusterRole" if cluster else "Role"
    where = "" if cluster else ", namespace=ns"
    (root / "apps.d" / "app.py").write_text(
        "from klaster_build.dsl import *\n"
        f"ns = Namespace('ns-{namespace}')\n"
        f"sa = ServiceAccount('sa-{account}')\n"
        f"r = {kind}('r-{role}', rules=[Rule(resources=['pods'], verbs=['get'])]{where})\n"
        f"RoleBinding('b', role=r, subjects=[sa]{', namespace=ns' if cluster else ''})\n"
    )
    from klaster_build.cli import main

    assert main(["-C", str(root), "build"]) == 0
    docs = {
        d["kind"]: d for d in yaml.safe_load_all((root / "out/apps/app/rbac.yaml").read_text()) if d
    }
    binding, target, sa = docs["RoleBinding"], docs[kind], docs["ServiceAccount"]
    assert binding["subjects"] == [
        {"kind": "ServiceAccount", **sa["metadata"]},
    ]
    assert binding["roleRef"] == {
        "kind": kind,
        "name": target["metadata"]["name"],
        "apiGroup": "rbac.authorization.k8s.io",
    }
    assert binding["metadata"]["namespace"] == f"ns-{namespace}"
    if not cluster:
        assert target["metadata"]["namespace"] == f"ns-{namespace}"


HEAD = "from klaster_build.dsl import *\n"
ROLE = "r = Role('r', rules=[Rule(resources=['pods'], verbs=['get'])])\n"
BAD = [
    (
        "subject-as-string",
        ROLE + "RoleBinding('b', role=r, subjects=['garm'])\n",
        "apps.d/x.py:3: error: RoleBinding 'subjects' must be a list of ServiceAccount records, got str 'garm'",
    ),
    (
        "role-as-string",
        "RoleBinding('b', role='r', subjects=[ServiceAccount('a')])\n",
        "apps.d/x.py:2: error: RoleBinding 'role' must be a Role or ClusterRole record, got str 'r'",
    ),
    (
        "no-subjects",
        ROLE + "RoleBinding('b', role=r, subjects=[])\n",
        "apps.d/x.py:3: error: RoleBinding 'b' needs at least one ServiceAccount in subjects=",
    ),
    (
        "role-binding-moved-out-of-its-role-namespace",
        ROLE
        + "RoleBinding('b', role=r, subjects=[ServiceAccount('a')], namespace=Namespace('n'))\n",
        "apps.d/x.py:3: error: RoleBinding 'b' lives in the namespace of Role 'r'; drop namespace=",
    ),
    (
        "cluster-binding-of-a-role",
        ROLE + "ClusterRoleBinding('b', role=r, subjects=[ServiceAccount('a')])\n",
        "apps.d/x.py:3: error: ClusterRoleBinding 'role' must be a ClusterRole record (a Role grants in one namespace: use RoleBinding)",
    ),
    (
        "misspelt-verb",
        "Role('r', rules=[Rule(resources=['pods'], verbs=['gets'])])\n",
        "apps.d/x.py:2: error: Rule 'verbs' entry 'gets' is not a verb; use some of",
    ),
    (
        "resource-in-capitals",
        "Role('r', rules=[Rule(resources=['Pods'], verbs=['get'])])\n",
        "apps.d/x.py:2: error: Rule 'resources' entry 'Pods' is not a resource; write the lower-case plural",
    ),
    (
        "api-group-as-version",
        "Role('r', rules=[Rule(api_groups=['apps/v1'], resources=['deployments'], verbs=['get'])])\n",
        "apps.d/x.py:2: error: Rule 'api_groups' entry 'apps/v1' is not an API group",
    ),
    (
        "role-without-rules",
        "Role('r', rules=[])\n",
        "apps.d/x.py:2: error: Role 'r' needs at least one Rule(...)",
    ),
    (
        "rule-as-dict",
        "Role('r', rules=[{'resources': ['pods'], 'verbs': ['get']}])\n",
        "apps.d/x.py:2: error: Role 'rules' must be Rule(resources=..., verbs=...), got dict",
    ),
    (
        "service-account-as-name",
        "Deployment('d', service_account='garm', containers=[Container('c', image='x/y:1.0.0')])\n",
        "apps.d/x.py:2: error: Deployment 'service_account' must be a ServiceAccount record, got str 'garm'",
    ),
    (
        "namespace-as-name",
        "Role('r', namespace='other', rules=[Rule(resources=['pods'], verbs=['get'])])\n",
        "apps.d/x.py:2: error: Role 'namespace' must be a Namespace record, got str 'other'",
    ),
    (
        "extra-namespace-named-like-the-app",
        "Namespace('x')\n",
        "apps.d/x.py:2: error: Namespace 'x' in namespace '' is also generated by apps.d/x.py:1",
    ),
]


@pytest.mark.parametrize(("case", "source", "expected"), BAD, ids=[c[0] for c in BAD])
def test_bad_rbac_is_one_located_error(
    project: ProjectDir, run, no_color, case: str, source: str, expected: str
) -> None:
    """Exit 2, the line that declared it, what to write instead; nothing written."""
    err = one_located_error(project, run, HEAD + source)
    assert err.startswith(expected), err
