"""Storage family: LVM volume chains and CloudNativePG databases."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml
from conftest import KLASTERFILE, ProjectDir
from hypothesis import given
from hypothesis import strategies as st

from klaster_build import engine
from klaster_build.errors import DeclarationError, ProblemsFound
from klaster_build.records.storage import (
    Postgres,
    Volume,
)
from klaster_build.registry import session

REAL = Path(__file__).resolve().parents[2] / "shared" / "reference" / "klaster" / "apps"
KANEO_DB = """\
from klaster_build.dsl import Postgres

db = Postgres("kaneo-db", size="10Gi")
"""


def _docs(project: ProjectDir, path: str) -> list[dict]:
    return [d for d in yaml.safe_load_all(project.file(path)) if d is not None]


def test_postgres_matches_the_real_kaneo_files(project: ProjectDir, run) -> None:
    """Postgres("kaneo-db", size="10Gi") renders the real LVMVolume, PV and CNPG Cluster, plus
    Flux's never-prune annotation on the LVMVolume and PV (docs/data-safety.md)."""
    project.app("kaneo", KANEO_DB)
    assert run("build")[0] == 0
    lv, pv = _docs(project, "out/apps/kaneo/postgres-volume.yaml")
    (cluster,) = _docs(project, "out/apps/kaneo/postgres-cluster.yaml")
    assert lv == {
        "apiVersion": "local.openebs.io/v1alpha1",
        "kind": "LVMVolume",
        "metadata": {
            "annotations": {"kustomize.toolkit.fluxcd.io/prune": "disabled"},
            "labels": {"kubernetes.io/nodename": "node1"},
            "name": "kaneo-db-1",
            "namespace": "openebs",
        },
        "spec": {
            "capacity": "10Gi",
            "ownerNodeID": "node1",
            "shared": "yes",
            "thinProvision": "no",
            "vgPattern": "^vg-ssd$",
            "volGroup": "vg-ssd",
        },
    }
    assert pv["metadata"] == {
        "name": "kaneo-db-1",
        "annotations": {"kustomize.toolkit.fluxcd.io/prune": "disabled"},
    }
    assert pv["spec"]["csi"] == {
        "driver": "local.csi.openebs.io",
        "fsType": "btrfs",
        "volumeHandle": "kaneo-db-1",
    }
    assert pv["spec"]["persistentVolumeReclaimPolicy"] == "Retain"
    assert cluster == {
        "apiVersion": "postgresql.cnpg.io/v1",
        "kind": "Cluster",
        "metadata": {"name": "kaneo-db", "namespace": "kaneo"},
        "spec": {
            "instances": 1,
            "storage": {
                "pvcTemplate": {
                    "storageClassName": "ssd-lvmpv",
                    "resources": {"requests": {"storage": "10Gi"}},
                    "volumeName": "kaneo-db-1",
                }
            },
        },
    }
    assert not list((project.out / "apps/kaneo").glob("*pvc*"))


@pytest.mark.skipif(not REAL.is_dir(), reason="../shared/reference is not beside the checkout")
def test_volume_adopting_a_legacy_lv_equals_the_real_immich_file(project: ProjectDir, run) -> None:
    """An explicit name and claim name reproduce immich-library.yaml document for document, but
    for the never-prune annotation klaster adds to the LVMVolume and PV."""
    (project.root / "klasterfile.py").write_text(
        KLASTERFILE.replace('"node1"', '"anapistula-delrosalae"')
        .replace("vg-hdd", "openebs-hdd")
        .replace("vg-ssd", "openebs-ssd")
    )
    project.app(
        "immich",
        """\
        from klaster_build.dsl import Container, Deployment, Volume

        library = Volume("library", size="150Gi", tier="hdd", lv_name="immich-library-lvmhdd", claim_name="library-lvmhdd")
        Deployment("server", containers=[Container("server", image="ghcr.io/immich-app/immich-server:v1.135.3", mounts={"/data": library.claim})])
        """,
    )
    assert run("build")[0] == 0
    real = list(yaml.safe_load_all((REAL / "immich" / "immich-library.yaml").read_text()))
    ours = _docs(project, "out/apps/immich/library-volume.yaml")
    for document in ours:
        if document["kind"] in ("LVMVolume", "PersistentVolume"):
            annotations = document["metadata"].pop("annotations")
            assert annotations == {"kustomize.toolkit.fluxcd.io/prune": "disabled"}
        if document["kind"] == "PersistentVolume":  # pinned to the LV's node (docs/differences.md)
            assert document["spec"].pop("nodeAffinity") == {
                "required": {
                    "nodeSelectorTerms": [
                        {
                            "matchExpressions": [
                                {
                                    "key": "openebs.io/nodename",
                                    "operator": "In",
                                    "values": ["anapistula-delrosalae"],
                                }
                            ]
                        }
                    ]
                }
            }
    assert ours == [d for d in real if d]
    (deployment,) = _docs(project, "out/apps/immich/deployment.yaml")
    assert deployment["spec"]["strategy"] == {"type": "Recreate"}
    assert deployment["spec"]["template"]["spec"]["volumes"] == [
        {"name": "library-lvmhdd", "persistentVolumeClaim": {"claimName": "library-lvmhdd"}}
    ]


def test_default_names_follow_the_real_convention() -> None:
    """<app>[-<purpose>]-lvm<tier>; the claim is named like the LV unless declared."""
    with session(app="llama"):
        models = Volume("models", size="200Gi", tier="ssd")
        plain = Volume(tier="hdd")
    assert models.lv.name == models.pv.name == models.claim.name == "llama-models-lvmssd"
    assert plain.lv.name == "llama-lvmhdd"
    assert models.size == "200Gi" and plain.size == "1Gi"


def test_references_of_a_database() -> None:
    """The app secret, rw service and secret keys are references to the CNPG cluster."""
    with session(app="kaneo"):
        db = Postgres("kaneo-db", size="10Gi", database="kaneo", owner="kaneo")
        assert db.app_secret.target is db.cluster
        assert db.secret_key("uri").key == "uri"
        with pytest.raises(DeclarationError, match="has no key 'url'"):
            db.secret_key("url")
        with pytest.raises(DeclarationError, match="'database' and 'owner' go together"):
            Postgres("x", database="x")


def test_database_references_render_in_values_and_env(project: ProjectDir, run) -> None:
    """db.app_secret, db.rw_service and db.secret_key render to the CNPG names."""
    project.app(
        "gitea",
        """\
        from klaster_build.dsl import Container, Deployment, HelmRelease, HelmRepository, Postgres, Renovate

        db = Postgres("gitea-db", size="20Gi", image="ghcr.io/cloudnative-pg/postgresql:17.4", database="gitea", owner="gitea",
                      renovate=Renovate(versioning=r"regex:^(?<major>\\d+)\\.(?<minor>\\d+)$"))
        repo = HelmRepository("gitea-charts", url="https://dl.gitea.com/charts/")
        HelmRelease("gitea", source=repo, chart="gitea", version="12.4.0",
                    values={"db": {"host": f"{db.rw_service}:5432", "secret": db.app_secret, "fqdn": db.host}})
        Deployment("job", containers=[Container("job", image="alpine:3.22.1", env={"DB": db.secret_key("uri")})])
        """,
    )
    assert run("build")[0] == 0
    release = _docs(project, "out/apps/gitea/release.yaml")[1]
    assert release["spec"]["values"]["db"] == {
        "host": "gitea-db-rw:5432",
        "secret": "gitea-db-app",
        "fqdn": "gitea-db-rw.gitea.svc.cluster.local",
    }
    (cluster,) = _docs(project, "out/apps/gitea/postgres-cluster.yaml")
    assert cluster["spec"]["imageName"] == "ghcr.io/cloudnative-pg/postgresql:17.4"
    assert cluster["spec"]["bootstrap"] == {"initdb": {"database": "gitea", "owner": "gitea"}}
    (job,) = _docs(project, "out/apps/gitea/deployment.yaml")
    assert job["spec"]["template"]["spec"]["containers"][0]["env"] == [
        {"name": "DB", "valueFrom": {"secretKeyRef": {"name": "gitea-db-app", "key": "uri"}}}
    ]


def test_unknown_tier_names_the_known_ones(project: ProjectDir, run, no_color) -> None:
    """A tier the klasterfile does not declare is an error at the declaring line."""
    project.app("a", "from klaster_build.dsl import Volume\n\nVolume('data', tier='nvme')\n")
    code, _, err = run("build")
    assert code == 2
    assert err.startswith(
        "apps.d/a.py:3: error: Volume tier 'nvme' is not a storage tier of klasterfile.py; use one of ['hdd', 'ssd']"
    )


def test_lv_name_clash_names_both_files(project: ProjectDir, run, no_color) -> None:
    """Two apps adopting the same LV name is an error naming both declarations."""
    project.app("a", "from klaster_build.dsl import Volume\nVolume(lv_name='shared-lvmhdd')\n")
    project.app("b", "from klaster_build.dsl import Volume\n\nVolume(lv_name='shared-lvmhdd')\n")
    code, _, err = run("build")
    assert code == 2
    assert "apps.d/b.py:3: error: LV name 'shared-lvmhdd' is already used by apps.d/a.py:2" in err


def test_warnings_for_unused_claims_and_hdd_databases(project: ProjectDir, run, no_color) -> None:
    """An unmounted claim and a database on hdd are warnings; the build still succeeds."""
    project.app(
        "a",
        "from klaster_build.dsl import Postgres, Volume\nVolume('cache')\nPostgres('db', tier='hdd')\n",
    )
    code, _, err = run("build")
    assert code == 0
    assert (
        "apps.d/a.py:2: warning: claim 'a-cache-lvmhdd' is mounted or referenced by nothing" in err
    )
    assert (
        "apps.d/a.py:3: warning: database 'db' is on hdd; the guideline puts databases on ssd"
        in err
    )
    assert 'say why it stays: Postgres(..., tier_reason="...")' in err
    # Acknowledged in words, the deviation stops being repeated on every build.
    project.app(
        "a",
        "from klaster_build.dsl import Postgres, Volume\n"
        "Volume('cache')\n"
        "Postgres('db', tier='hdd', tier_reason='the data already lives on hdd')\n",
    )
    code, _, err = run("build")
    assert code == 0
    assert "database" not in err and "claim 'a-cache-lvmhdd'" in err


def test_bundled_storage_is_refused_unless_allowed(project: ProjectDir, run, no_color) -> None:
    """Chart persistence with a storage class or a bundled postgresql is an error with the way out."""
    source = """\
    from klaster_build.dsl import HelmRelease, HelmRepository

    repo = HelmRepository("gitea-charts", url="https://dl.gitea.com/charts/")
    HelmRelease("gitea", source=repo, chart="gitea", version="12.4.0", values={
        "postgresql": {"enabled": True},
        "persistence": {"enabled": True, "storageClass": "mayastor-single-hdd"},
    }{allow})
    """
    project.app("gitea", source.replace("{allow}", ""))
    code, _, err = run("build")
    assert code == 2
    assert (
        "apps.d/gitea.py:4: error: HelmRelease 'gitea' values set postgresql.enabled: true (a bundled database; declare a Postgres(...) and point the chart at it)"
        in err
    )
    assert (
        "persistence.storageClass: mayastor-single-hdd (chart-provisioned storage; bring a Volume(...)"
        in err
    )
    assert "persistence.enabled: true without one of klaster's claims" in err
    project.app(
        "gitea", source.replace("{allow}", ", bundled_storage_reason='migrating off mayastor'")
    )
    assert run("build")[0] == 0


def _corrupt_project(
    root: Path, apps: list[tuple[str, list[tuple[str, str, str]]]], corruption: str | None
) -> dict[str, int]:
    """Write apps with volumes (purpose, size, tier); apply one corruption; return line of the bad record."""
    if root.exists():
        shutil.rmtree(root)
    (root / "apps.d").mkdir(parents=True)
    (root / "klasterfile.py").write_text(KLASTERFILE)
    lines: dict[str, int] = {}
    for index, (app, vols) in enumerate(apps):
        body = [
            "from klaster_build.dsl import ConfigMap, Postgres, Volume",
            "from klaster_build.records.storage import PersistentVolumeClaim, PersistentVolume, LVMVolume",
        ]
        for purpose, size, tier in vols:
            body.append(
                f"v_{purpose.replace('-', '_')} = Volume({purpose!r}, size={size!r}, tier={tier!r})"
            )
            body.append(
                f"ConfigMap('use-{purpose}', data={{'c': v_{purpose.replace('-', '_')}.claim}})"
            )
        body.append(f"Postgres('{app}-db', size='2Gi')")
        if index == 0 and corruption is not None:
            first = vols[0][0].replace("-", "_")
            statement = {
                "capacity": f"PersistentVolumeClaim('extra', volume=v_{first}.pv, size='999Gi', tier=v_{first}.tier, file='x.yaml')",
                "double": f"PersistentVolumeClaim('extra', volume=v_{first}.pv, size=v_{first}.size, tier=v_{first}.tier, file='x.yaml')",
                "tier": "PersistentVolume('extra-pv', lv=LVMVolume('extra-pv', size='1Gi', tier='ssd', file='x.yaml'), size='1Gi', tier='hdd', file='x.yaml')",
                "clash": f"LVMVolume(v_{first}.lv.name, size='1Gi', tier='hdd', file='x.yaml')",
            }[corruption]
            body.append(statement)
            lines[app] = len(body)
        (root / "apps.d" / f"{app}.py").write_text("\n".join(body) + "\n")
    return lines


VOLUMES = st.lists(
    st.tuples(
        st.from_regex(r"[a-z]{1,6}", fullmatch=True),
        st.sampled_from(["1Gi", "10Gi", "512Mi", "1073741824"]),
        st.sampled_from(["hdd", "ssd"]),
    ),
    min_size=1,
    max_size=3,
    unique_by=lambda v: v[0],
)
APPS = st.lists(
    st.tuples(st.from_regex(r"[a-z]{1,6}", fullmatch=True), VOLUMES),
    min_size=1,
    max_size=4,
    unique_by=lambda a: a[0],
).map(sorted)


@given(apps=APPS)
def test_valid_volume_sets_build_cleanly(scratch: Path, apps) -> None:
    """Every generated valid set of volumes and databases passes all invariants and builds."""
    _corrupt_project(scratch / "p", apps, None)
    result = engine.build(scratch / "p")
    assert result.status == 0
    assert not [w for w in result.warnings if "claim" in w.message]


@given(apps=APPS, corruption=st.sampled_from(["capacity", "double", "tier", "clash"]))
def test_each_corruption_is_caught_at_its_line(scratch: Path, apps, corruption: str) -> None:
    """Capacity mismatch, double claim, tier/VG mismatch and LV name clash name the bad line."""
    lines = _corrupt_project(scratch / "p", apps, corruption)
    app, line = next(iter(lines.items()))
    expected = {
        "capacity": "requests 999Gi but PersistentVolume",
        "double": "is claimed more than once",
        "tier": "uses the hdd storage class but its LV is in the ssd volume group",
        "clash": "is declared twice",  # same app: the address clashes before the LV name check
    }[corruption]
    with pytest.raises(ProblemsFound) as caught:
        engine.build(scratch / "p")
    located = [str(p) for p in caught.value.problems if expected in p.message]
    assert located, [str(p) for p in caught.value.problems]
    assert any(text.startswith(f"apps.d/{app}.py:{line}: error:") for text in located)
