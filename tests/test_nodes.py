"""More than one node: volumes and database instances placed on klasterfile nodes, PVs pinned to
their LV's node, replicas a declared choice, the Talos Makefile per node role."""

from __future__ import annotations

import re
import shutil
import textwrap
from pathlib import Path
from typing import Any

import yaml
from conftest import KLASTERFILE, ProjectDir, one_located_error
from hypothesis import given
from hypothesis import strategies as st
from test_validate_tree import _validate, needs_validate_tree

from klaster_build.cli import main

TOPOLOGY_KEY = "openebs.io/nodename"


def _nodes_klasterfile(nodes: list[str], roles: dict[str, str] | None = None) -> str:
    listed = ", ".join(
        f'Node(name="{n}", role="{(roles or {}).get(n, "controlplane")}")' for n in nodes
    )
    return KLASTERFILE.replace('nodes=[Node(name="node1")]', f"nodes=[{listed}]")


def _documents(out: Path) -> list[dict[str, Any]]:
    return [
        d
        for path in sorted(out.rglob("*.yaml"))
        for d in yaml.safe_load_all(path.read_text())
        if isinstance(d, dict)
    ]


def _kind(documents: list[dict[str, Any]], kind: str) -> dict[str, dict[str, Any]]:
    return {d["metadata"]["name"]: d for d in documents if d.get("kind") == kind}


def _pv_node(pv: dict[str, Any]) -> str:
    (term,) = pv["spec"]["nodeAffinity"]["required"]["nodeSelectorTerms"]
    (expression,) = term["matchExpressions"]
    assert expression["key"] == TOPOLOGY_KEY and expression["operator"] == "In"
    (node,) = expression["values"]
    return str(node)


def test_single_node_pins_every_pv_to_the_node(project: ProjectDir, run) -> None:
    """One node: every PV is pinned to it, the database keeps one instance bound by volumeName
    (today's output apart from the pinning)."""
    project.app(
        "web",
        """\
        from klaster_build.dsl import Container, Deployment, Postgres, Volume
        data = Volume("data", size="2Gi")
        db = Postgres("web-db", size="1Gi")
        Deployment("web", containers=[Container("web", image="nginx:1.27.0",
                   mounts={"/data": data.claim}, env={"DB": db.secret_key("uri")})])
        """,
    )
    assert run("build")[0] == 0
    documents = _documents(project.out)
    pvs = _kind(documents, "PersistentVolume")
    assert {name: _pv_node(pv) for name, pv in pvs.items()} == {
        "web-data-lvmhdd": "node1",
        "web-db-1": "node1",
    }
    assert all("claimRef" not in pv["spec"] for pv in pvs.values())
    cluster = _kind(documents, "Cluster")["web-db"]
    assert cluster["spec"]["instances"] == 1
    assert cluster["spec"]["storage"]["pvcTemplate"]["volumeName"] == "web-db-1"


def test_volume_node_places_lv_and_pins_pv(project: ProjectDir, run) -> None:
    (project.root / "klasterfile.py").write_text(_nodes_klasterfile(["node1", "node2"]))
    project.app(
        "web",
        """\
        from klaster_build.dsl import Container, Deployment, Volume
        data = Volume("data", size="2Gi", node="node2")
        Deployment("web", containers=[Container("web", image="nginx:1.27.0",
                   mounts={"/data": data.claim})])
        """,
    )
    assert run("build")[0] == 0
    documents = _documents(project.out)
    lv = _kind(documents, "LVMVolume")["web-data-lvmhdd"]
    assert lv["spec"]["ownerNodeID"] == "node2"
    assert lv["metadata"]["labels"] == {"kubernetes.io/nodename": "node2"}
    assert _pv_node(_kind(documents, "PersistentVolume")["web-data-lvmhdd"]) == "node2"


def test_postgres_replicas_get_one_pinned_volume_each(project: ProjectDir, run) -> None:
    """Each instance its own LV/PV on its own node, each PV reserved (claimRef) for the claim
    CloudNativePG creates for that instance; the template names no volume."""
    (project.root / "klasterfile.py").write_text(_nodes_klasterfile(["n1", "n2", "n3"]))
    project.app(
        "web",
        """\
        from klaster_build.dsl import Postgres
        Postgres("web-db", size="3Gi", replicas=2, nodes=["n3", "n1"])
        """,
    )
    assert run("build")[0] == 0
    documents = _documents(project.out)
    lvs = _kind(documents, "LVMVolume")
    assert {n: lv["spec"]["ownerNodeID"] for n, lv in lvs.items()} == {
        "web-db-1": "n3",
        "web-db-2": "n1",
    }
    pvs = _kind(documents, "PersistentVolume")
    assert {n: _pv_node(pv) for n, pv in pvs.items()} == {"web-db-1": "n3", "web-db-2": "n1"}
    assert {n: pv["spec"]["claimRef"] for n, pv in pvs.items()} == {
        "web-db-1": {"namespace": "web", "name": "web-db-1"},
        "web-db-2": {"namespace": "web", "name": "web-db-2"},
    }
    cluster = _kind(documents, "Cluster")["web-db"]
    assert cluster["spec"]["instances"] == 2
    assert "volumeName" not in cluster["spec"]["storage"]["pvcTemplate"]


def test_default_replica_nodes_follow_the_klasterfile(project: ProjectDir, run) -> None:
    (project.root / "klasterfile.py").write_text(_nodes_klasterfile(["n1", "n2", "n3"]))
    project.app("web", 'from klaster_build.dsl import Postgres\nPostgres("web-db", replicas=3)\n')
    assert run("build")[0] == 0
    lvs = _kind(_documents(project.out), "LVMVolume")
    assert [lvs[f"web-db-{i}"]["spec"]["ownerNodeID"] for i in (1, 2, 3)] == ["n1", "n2", "n3"]


def test_adding_a_replica_leaves_the_first_volume_alone(project: ProjectDir, run) -> None:
    """Growing replicas adds a volume; the existing LV's document does not change (its PV only
    gains the claimRef naming the claim it is already bound to)."""
    (project.root / "klasterfile.py").write_text(_nodes_klasterfile(["n1", "n2"]))
    source = 'from klaster_build.dsl import Postgres\nPostgres("web-db", size="3Gi"{})\n'
    project.app("web", source.format(""))
    assert run("build")[0] == 0
    before = _documents(project.out)
    project.app("web", source.format(", replicas=2"))
    assert run("build")[0] == 0
    after = _documents(project.out)
    assert _kind(after, "LVMVolume")["web-db-1"] == _kind(before, "LVMVolume")["web-db-1"]
    old_pv = _kind(before, "PersistentVolume")["web-db-1"]
    new_pv = _kind(after, "PersistentVolume")["web-db-1"]
    assert new_pv["spec"].pop("claimRef") == {"namespace": "web", "name": "web-db-1"}
    assert new_pv == old_pv
    assert _kind(after, "LVMVolume")["web-db-2"]["spec"]["ownerNodeID"] == "n2"


def test_more_replicas_than_nodes_is_refused(project: ProjectDir, run, no_color) -> None:
    err = one_located_error(
        project, run, 'from klaster_build.dsl import Postgres\nPostgres("db", replicas=2)\n'
    )
    assert (
        "apps.d/x.py:2: error: Postgres 'db' has replicas=2 but klasterfile.py has 1 node(s)" in err
    )
    assert "lower replicas= to at most 1, or add a Node" in err


def test_unknown_nodes_are_refused(project: ProjectDir, run, no_color) -> None:
    err = one_located_error(
        project,
        run,
        """\
        from klaster_build.dsl import Container, Deployment, Postgres, Volume
        data = Volume("data", node="node9")
        Postgres("db", nodes=["node7"])
        Deployment("web", containers=[Container("web", image="nginx:1.27.0", mounts={"/d": data.claim})])
        """,
    )
    assert (
        "apps.d/x.py:2: error: Volume node 'node9' is not a node of klasterfile.py; use one of ['node1']"
        in err
    )
    assert (
        "apps.d/x.py:3: error: Postgres 'db' nodes ['node7'] are not nodes of klasterfile.py" in err
    )


def test_instances_never_share_a_node(project: ProjectDir, run, no_color) -> None:
    (project.root / "klasterfile.py").write_text(_nodes_klasterfile(["n1", "n2"]))
    err = one_located_error(
        project,
        run,
        'from klaster_build.dsl import Postgres\nPostgres("db", replicas=2, nodes=["n1", "n1"])\n',
    )
    assert "apps.d/x.py:2: error: Postgres 'nodes' ['n1', 'n1'] repeats a node" in err
    err = one_located_error(
        project,
        run,
        'from klaster_build.dsl import Postgres\nPostgres("db", replicas=2, nodes=["n1"])\n',
    )
    assert "Postgres 'nodes' names 1 node(s) for 2 replica(s)" in err


def test_a_pod_mounting_claims_on_two_nodes_is_refused(project: ProjectDir, run, no_color) -> None:
    (project.root / "klasterfile.py").write_text(_nodes_klasterfile(["n1", "n2"]))
    err = one_located_error(
        project,
        run,
        """\
        from klaster_build.dsl import Container, Deployment, Volume
        a = Volume("a", node="n1")
        b = Volume("b", node="n2")
        Deployment("web", containers=[Container("web", image="nginx:1.27.0",
                   mounts={"/a": a.claim, "/b": b.claim})])
        """,
    )
    assert (
        "apps.d/x.py:4: error: Deployment 'web' mounts claims on different nodes (x-a-lvmhdd on n1, x-b-lvmhdd on n2)"
        in err
    )


def test_cluster_without_a_control_plane_or_with_a_node_twice(tmp_path: Path, capsys) -> None:
    root = tmp_path / "p"
    (root / "apps.d").mkdir(parents=True)
    (root / "apps.d" / "web.py").write_text("from klaster_build.dsl import App\nApp()\n")
    for nodes, message in [
        (
            'nodes=[Node(name="a", role="worker")]',
            "Cluster 'nodes' has no Node(role='controlplane')",
        ),
        ('nodes=[Node(name="a"), Node(name="a")]', "Cluster 'nodes' names ['a'] more than once"),
        ('nodes=[Node(name="a", role="boss")]', "'role' must be one of"),
    ]:
        (root / "klasterfile.py").write_text(
            KLASTERFILE.replace('nodes=[Node(name="node1")]', nodes)
        )
        capsys.readouterr()
        assert main(["-C", str(root), "build"]) == 2
        err = capsys.readouterr().err
        assert "klasterfile.py:" in err and message in err, err


TALOS = """\
    talos=TalosSettings(cluster_name="test", endpoint="https://kube.example.org:6443",
                        base_patches=["talos/cp.patch", "talos/storage.patch"],
                        node_patches={"w1": "talos/w1.patch"}),
)
"""


def test_makefile_per_node_role(project: ProjectDir, run) -> None:
    """Control-plane nodes get every base patch and the PodSecurity exemptions (the API server
    runs there); a worker gets the cluster-wide first patch and its own, as worker.yaml does."""
    klasterfile = _nodes_klasterfile(["cp1", "w1"], {"w1": "worker"})
    klasterfile = klasterfile.replace("Cluster, ", "Cluster, TalosSettings, ")
    (project.root / "klasterfile.py").write_text(klasterfile.rstrip().removesuffix(")") + TALOS)
    for patch in ("cp", "storage", "w1"):
        (project.root / "talos").mkdir(exist_ok=True)
        (project.root / "talos" / f"{patch}.patch").write_text("machine: {}\n")
    project.app(
        "gpu",
        """\
        from klaster_build.dsl import Container, Deployment, SecurityContext
        Deployment("gpu", containers=[Container("gpu", image="nginx:1.27.0",
                   security_context=SecurityContext(privileged=True))])
        """,
    )
    assert run("build")[0] == 0
    makefile = (project.out / "Makefile").read_text()
    commands = re.findall(r"talosctl gen config \\\n((?:\t\t.*\\\n)+\t\t.*\n)", makefile)
    assert len(commands) == 2
    control, worker = commands
    assert "--config-patch @talos/cp.patch" in control
    assert "--config-patch @talos/storage.patch" in control
    assert "--config-patch @out/talos/patches/gpu.patch" in control
    assert "--output-types controlplane -o talos/generated/cp1.yaml" in control
    assert re.findall(r"@(\S+)", worker) == ["talos/cp.patch", "talos/w1.patch"]
    assert "--output-types worker -o talos/generated/w1.yaml" in worker


@st.composite
def placements(draw: st.DrawFn) -> tuple[list[str], list[tuple[str, str | None, int]]]:
    """A klasterfile with 1-5 nodes and apps declaring volumes (on a node or the default) and
    databases (1..nodes replicas)."""
    nodes = [f"n{i}" for i in range(draw(st.integers(1, 5)))]
    apps = []
    for index in range(draw(st.integers(1, 4))):
        node = draw(st.none() | st.sampled_from(nodes))
        replicas = draw(st.integers(1, len(nodes)))
        apps.append((f"app{index}", node, replicas))
    return nodes, apps


@given(case=placements())
def test_placement_invariants(scratch: Path, case) -> None:
    """Every PV's node is its LV's owner node; every claim (a PVC's volumeName, a database
    instance's claimRef) has exactly one PV, on the node where its pod must run; database
    instances never share a node or a volume."""
    nodes, apps = case
    root = scratch / "nodes"
    if root.exists():
        shutil.rmtree(root)
    (root / "apps.d").mkdir(parents=True)
    (root / "klasterfile.py").write_text(_nodes_klasterfile(nodes))
    for name, node, replicas in apps:
        (root / "apps.d" / f"{name}.py").write_text(
            textwrap.dedent(
                f"""\
                from klaster_build.dsl import Container, Deployment, Postgres, Volume
                data = Volume("data", node={node!r})
                db = Postgres("{name}-db", replicas={replicas})
                Deployment("{name}", containers=[Container("c", image="nginx:1.27.0",
                           mounts={{"/data": data.claim}}, env={{"DB": db.secret_key("uri")}})])
                """
            )
        )
    assert main(["-C", str(root), "build"]) == 0
    documents = _documents(root / "out")
    lvs = _kind(documents, "LVMVolume")
    pvs = _kind(documents, "PersistentVolume")
    assert set(lvs) == set(pvs)
    for name, pv in pvs.items():
        assert _pv_node(pv) == lvs[name]["spec"]["ownerNodeID"] in nodes
        assert pv["spec"]["csi"]["volumeHandle"] == name
    bound: dict[tuple[str, str], list[str]] = {}
    for claim in _kind(documents, "PersistentVolumeClaim").values():
        key = (claim["metadata"]["namespace"], claim["metadata"]["name"])
        bound.setdefault(key, []).append(claim["spec"]["volumeName"])
    for cluster in _kind(documents, "Cluster").values():
        namespace, name = cluster["metadata"]["namespace"], cluster["metadata"]["name"]
        template = cluster["spec"]["storage"]["pvcTemplate"]
        instances = cluster["spec"]["instances"]
        reserved = {
            pv_name: pv["spec"]["claimRef"]["name"]
            for pv_name, pv in pvs.items()
            if pv["spec"].get("claimRef", {}).get("namespace") == namespace
            and pv["spec"]["claimRef"]["name"].startswith(f"{name}-")
        }
        if instances == 1:
            assert not reserved
            bound[(namespace, f"{name}-1")] = [template["volumeName"]]
        else:
            assert "volumeName" not in template
            for serial in range(1, instances + 1):
                claim = f"{name}-{serial}"
                bound[(namespace, claim)] = [p for p, c in reserved.items() if c == claim]
        volumes = [bound[(namespace, f"{name}-{s}")] for s in range(1, instances + 1)]
        instance_nodes = [_pv_node(pvs[v]) for (v,) in volumes]
        assert len(set(instance_nodes)) == instances  # never two instances on one node
    used = [v for volumes in bound.values() for v in volumes]
    assert all(len(volumes) == 1 for volumes in bound.values())
    assert sorted(used) == sorted(pvs)  # each PV has exactly one claim, each claim one PV
    for name, node, _ in apps:
        (deployment_pv,) = bound[(name, f"{name}-data-lvmhdd")]
        assert _pv_node(pvs[deployment_pv]) == (node or nodes[0])


@needs_validate_tree
def test_three_node_project_passes_third_party_validators(project: ProjectDir, run) -> None:
    """A three-node cluster (one worker) with a pinned volume and a three-instance database:
    kubectl kustomize, the strict upstream schemas (PV nodeAffinity and claimRef, CNPG Cluster)
    and the API-server rules find nothing."""
    (project.root / "klasterfile.py").write_text(
        _nodes_klasterfile(["n1", "n2", "n3"], {"n3": "worker"})
    )
    project.app(
        "web",
        """\
        from klaster_build.dsl import Container, Deployment, Postgres, Volume
        data = Volume("data", size="2Gi", node="n3")
        db = Postgres("web-db", size="3Gi", replicas=3)
        Deployment("web", containers=[Container("web", image="nginx:1.27.0",
                   mounts={"/data": data.claim}, env={"DB": db.secret_key("uri")})])
        """,
    )
    assert run("build")[0] == 0
    result = _validate(project.out)
    summary = re.search(r"validate-tree: (\d+) documents, (\d+) errors", result.stdout)
    assert summary and summary.group(2) == "0", result.stdout[-3000:]
    assert int(summary.group(1)) >= 10


def test_retirement_steps_name_the_lvs_node(project: ProjectDir, run) -> None:
    """With more than one node the backup step points at the LVMVolume's own node, never at
    the first node of the klasterfile."""
    (project.root / "klasterfile.py").write_text(_nodes_klasterfile(["n1", "n2"]))
    project.app("web", 'from klaster_build.dsl import Volume\nVolume("data", node="n2")\n')
    assert run("build")[0] == 0
    project.app(
        "web",
        'from klaster_build.dsl import RetiredVolume\nRetiredVolume("web-data-lvmhdd", reason="gone")\n',
    )
    project.app(
        "keep", 'from klaster_build.dsl import ConfigMap\nConfigMap("c", data={"a": "b"})\n'
    )
    assert run("build")[0] == 0
    assert run("todo")[0] == 0
    out = run("todo")[1]
    assert "on the node its LVMVolume's spec.ownerNodeID names" in out
    assert "on node n1" not in out
