"""A kept volume changed in a way the cluster cannot apply, or that would lose data, is refused
at its line with what to do instead. Each test: build, commit, change apps.d, build."""

from __future__ import annotations

import shutil

from conftest import KLASTERFILE, ProjectDir
from hypothesis import given
from hypothesis import strategies as st
from test_baseline import _commit, _git

from klaster_build.cli import main

APP = """\
from klaster_build.dsl import App, Container, Deployment, Postgres, Volume
{app}
data = Volume("data", size="{size}", tier="{tier}"{extra})
db = Postgres("web-db", size="{db_size}"{db_extra})
Deployment("web", containers=[Container("web", image="nginx:1.27.3",
           mounts={{"/data": data.claim}}, env={{"DB": db.secret_key("uri")}})])
"""


def _source(**changes: str) -> str:
    values = {"app": "", "size": "5Gi", "tier": "hdd", "extra": "", "db_size": "2Gi"}
    values["db_extra"] = ""
    return APP.format(**{**values, **changes})


def _committed(project: ProjectDir, run) -> None:
    project.app("web", _source())
    assert run("build")[0] == 0
    _git(project, "init", "-q")
    _commit(project)


def _refused(project: ProjectDir, run, **changes: str) -> str:
    project.app("web", _source(**changes))
    before = (project.out / "apps/web/data-volume.yaml").read_bytes()
    code, _, err = run("build")
    assert code == 2, err
    assert (project.out / "apps/web/data-volume.yaml").read_bytes() == before
    return err


def test_shrinking_is_refused_at_the_line(project: ProjectDir, run, no_color) -> None:
    _committed(project, run)
    err = _refused(project, run, size="4Gi", db_size="1Gi")
    assert (
        "apps.d/web.py:3: error: Volume 'data' shrinks LV vg-hdd/web-data-lvmhdd from 5Gi to 4Gi: "
        "Kubernetes refuses a smaller request on a bound claim and lvm-localpv cannot shrink an LV"
        in err
    )
    assert "Keep size='5Gi' (or more)" in err
    assert (
        "apps.d/web.py:4: error: Postgres 'web-db' shrinks LV vg-ssd/web-db-1 from 2Gi to 1Gi"
        in err
    )


def test_growing_is_done_in_the_cluster_then_declared(project: ProjectDir, run, no_color) -> None:
    """A bigger size alone would not grow the LV: refused with the resize recipe; declared
    with size_reason= once done, it builds and writes the new size along the chain."""
    _committed(project, run)
    err = _refused(project, run, size="8Gi")
    assert (
        "apps.d/web.py:3: error: Volume 'data' grows LV vg-hdd/web-data-lvmhdd from 5Gi to 8Gi"
        in err
    )
    assert (
        "`kubectl -n web patch pvc web-data-lvmhdd -p "
        """'{"spec":{"resources":{"requests":{"storage":"8Gi"}}}}'`""" in err
    )
    project.app("web", _source(size="8Gi", extra=', size_reason="grown on 2026-12-04"'))
    code, _, err = run("build")
    assert code == 0, err
    volume = project.file("out/apps/web/data-volume.yaml")
    assert volume.count("8Gi") == 3 and "5Gi" not in volume  # LV, PV and claim


def test_another_tier_for_the_same_lv_is_refused(project: ProjectDir, run, no_color) -> None:
    _committed(project, run)
    err = _refused(project, run, tier="ssd", extra=', lv_name="web-data-lvmhdd"')
    assert (
        "apps.d/web.py:3: error: Volume 'data' puts LV web-data-lvmhdd on tier 'ssd' (volume "
        "group vg-ssd), but the cluster has it in vg-hdd" in err
    )
    assert (
        "to move the data, keep the old declaration and add Volume('data-ssd', size='5Gi', "
        "tier='ssd', data_from='web-data-lvmhdd') (klaster todo lists the copy)" in err
    )


def test_another_node_for_the_same_lv_is_refused(project: ProjectDir, run, no_color) -> None:
    (project.root / "klasterfile.py").write_text(
        KLASTERFILE.replace(
            'nodes=[Node(name="node1")]', 'nodes=[Node(name="node1"), Node(name="node2")]'
        )
    )
    _committed(project, run)
    err = _refused(project, run, extra=', node="node2"')
    assert (
        "apps.d/web.py:3: error: Volume 'data' puts LV web-data-lvmhdd on node 'node2', but it "
        "lives on 'node1'" in err
    )
    assert "add Volume('data-node2', size='5Gi', node='node2', data_from='web-data-lvmhdd')" in err


def test_a_claim_renamed_or_moved_is_refused_with_the_recipe(
    project: ProjectDir, run, no_color
) -> None:
    """The PV stays bound to the old claim (claimRef): a new claim name or namespace would stay
    Pending."""
    _committed(project, run)
    err = _refused(project, run, extra=', claim_name="data"')
    assert (
        "apps.d/web.py:3: error: Volume 'data' binds PV web-data-lvmhdd to claim web/data, but "
        "the cluster's PV stays bound to web/web-data-lvmhdd" in err
    )
    err = _refused(project, run, app='App(namespace="shop")')
    assert "binds PV web-data-lvmhdd to claim shop/web-data-lvmhdd" in err
    assert "Keep the claim: the namespace with App(namespace='web')" in err
    assert "Postgres 'web-db' binds PV web-db-1 to claim shop/web-db-1" in err


@given(old=st.integers(1, 64), new=st.integers(1, 64), declared=st.booleans())
def test_size_changes(scratch, old: int, new: int, declared: bool) -> None:
    """Refused exactly when the size shrinks, or grows without size_reason=."""
    root = scratch / "sizes"
    if root.exists():
        shutil.rmtree(root)
    project = ProjectDir(root)
    project.app("web", _source(size=f"{old}Gi"))
    assert main(["-C", str(root), "build"]) == 0
    extra = ', size_reason="grown in the cluster"' if declared else ""
    project.app("web", _source(size=f"{new}Gi", extra=extra))
    code = main(["-C", str(root), "build"])
    assert (code == 2) == (new < old or (new > old and not declared))


MOVED = """\
from klaster_build.dsl import Container, Deployment, Postgres, Volume{retired_import}
{old}
fast = Volume("fast", size="5Gi", tier="ssd", data_from="web-data-lvmhdd")
{old_db}
db = Postgres("web-db2", size="2Gi", data_from="web-db-1")
Deployment("web", containers=[Container("web", image="nginx:1.27.3",
           mounts={{{mounts}"/fast": fast.claim}}, env={{"DB": db.secret_key("uri")}})])
{retired}
"""


def test_a_declared_move_lists_the_copy_before_the_retirement(
    project: ProjectDir, run, no_color
) -> None:
    """data_from= on a new volume (another tier) and a new database: todo lists the copy (a
    pod mounting both claims) and the pg_dump | pg_restore, then the old LVs' retirement."""
    _committed(project, run)
    project.app(
        "web",
        MOVED.format(
            retired_import="",
            old='data = Volume("data", size="5Gi", tier="hdd")',
            old_db='Postgres("web-db", size="2Gi")',
            mounts='"/data": data.claim, ',
            retired="",
        ),
    )
    code, _, err = run("build")
    assert code == 0, err
    code, out, _ = run("todo")
    assert (
        "Copy the data of LV web-data-lvmhdd into web-fast-lvmssd before retiring "
        "web-data-lvmhdd: stop what writes to claim web-data-lvmhdd" in out
    )
    assert "kubectl -n web run klaster-copy --rm -i --restart=Never --image=busybox:1.37" in out
    assert '"claimName":"web-data-lvmhdd"' in out and '"claimName":"web-fast-lvmssd"' in out
    assert (
        "`kubectl -n web exec web-db-1 -c postgres -- pg_dump -Fc -d app | kubectl -n web exec "
        "-i web-db2-1 -c postgres -- pg_restore --no-owner --role=app -d app`" in out
    )
    _commit(project)
    # The copy done, the old LVs retire: the copy still comes first in todo.
    project.app(
        "web",
        MOVED.format(
            retired_import=", RetiredVolume",
            old="",
            old_db="",
            mounts="",
            retired='RetiredVolume("web-data-lvmhdd", reason="moved to ssd")\n'
            'RetiredVolume("web-db-1", reason="moved to web-db2")',
        ),
    )
    code, _, err = run("build")
    assert code == 0, err
    code, out, _ = run("todo")
    copy, backup = (
        out.index("Copy the data of LV web-data-lvmhdd"),
        out.index("Back up LV web-data-lvmhdd"),
    )
    dump, delete = out.index("pg_dump"), out.index("Delete LV web-db-1")
    assert copy < backup and dump < delete


def test_data_from_its_own_lv_is_refused(project: ProjectDir, run, no_color) -> None:
    project.app(
        "web",
        'from klaster_build.dsl import Volume\nVolume("data", data_from="web-data-lvmhdd")\n',
    )
    code, _, err = run("build")
    assert code == 2
    assert "apps.d/web.py:2" in err and "names this volume's own LV" in err


def test_a_declared_claim_move_lists_the_rebind(project: ProjectDir, run, no_color) -> None:
    """claim_reason= declares the move: the build passes and todo says how to re-bind the PV
    (clear its claimRef); a database's claim cannot move that way (refused with data_from=)."""
    _committed(project, run)
    err = _refused(project, run, extra=', claim_name="data"')
    assert 'or move it on purpose with claim_reason="<why>"' in err
    err = _refused(project, run, app='App(namespace="shop")')
    assert "to move the database, declare a new one with data_from='web-db-1'" in err
    project.app("web", _source(extra=', claim_name="data", claim_reason="shorter name"'))
    code, _, err = run("build")
    assert code == 0, err
    assert "volumeName: web-data-lvmhdd" in project.file("out/apps/web/data-volume.yaml")
    code, out, _ = run("todo")
    assert (
        "Re-bind PV web-data-lvmhdd to claim web/data once Flux has applied it: when the old "
        "claim is gone (`kubectl get pv web-data-lvmhdd` shows Released), `kubectl patch pv "
        """web-data-lvmhdd --type json -p '[{"op":"remove","path":"/spec/claimRef"}]'`""" in out
    )
    _commit(project)
    # Once committed, the claim is the cluster's: the declaration may go, the step with it.
    project.app("web", _source(extra=', claim_name="data"'))
    code, _, err = run("build")
    assert code == 0, err
    assert "Re-bind" not in run("todo")[1]


def test_another_storage_class_for_a_bound_claim_is_refused(
    project: ProjectDir, run, no_color
) -> None:
    """A tier's storage_class renamed in the klasterfile: the claims' class is immutable."""
    _committed(project, run)
    (project.root / "klasterfile.py").write_text(
        KLASTERFILE.replace('storage_class="hdd-lvmpv"', 'storage_class="hdd-lvm"')
    )
    err = _refused(project, run)
    assert (
        "apps.d/web.py:3: error: Volume 'data' puts PV web-data-lvmhdd and its claim "
        "web/web-data-lvmhdd in storage class 'hdd-lvm', but the cluster's are in 'hdd-lvmpv': "
        "a bound claim's storageClassName cannot change" in err
    )
    assert """Keep the class: StorageTier(..., storage_class="hdd-lvmpv") for tier 'hdd'""" in err
    assert "web-db" not in err  # the database is on ssd, whose class stays


def test_data_from_naming_no_lv_is_a_typo(project: ProjectDir, run, no_color) -> None:
    project.app(
        "web",
        "from klaster_build.dsl import Postgres, Volume\n"
        'Volume("data", size="5Gi")\n'
        'Volume("fast", tier="ssd", data_from="web-data-lvmhd")\n'
        'Postgres("web-db2", data_from="web-db")\n',
    )
    code, _, err = run("build")
    assert code == 2
    assert (
        "apps.d/web.py:3: error: Volume 'fast' data_from='web-data-lvmhd' names no LV that "
        "apps.d declares or retires (did you mean 'web-data-lvmhdd'" in err
    )
    assert "apps.d/web.py:4: error: Postgres 'web-db2' data_from='web-db' names no LV" in err


def test_data_from_moves_within_one_kind(project: ProjectDir, run, no_color) -> None:
    project.app(
        "web",
        "from klaster_build.dsl import Postgres, Volume\n"
        'Postgres("web-db")\n'
        'Volume("fast", tier="ssd", data_from="web-db-1")\n',
    )
    code, _, err = run("build")
    assert code == 2
    assert (
        "apps.d/web.py:3: error: Volume 'fast' data_from='web-db-1' names the LV of a Postgres: "
        "a database moves into a database (pg_dump)" in err
    )
