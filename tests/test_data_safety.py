"""Removing an app or a volume never destroys data unnoticed (issue 16, docs/data-safety.md).

A build that would drop an LV out/ has is refused until apps.d retires it; a removed app's
leftovers outside the cluster must be retired too; `klaster todo` lists the clean-up.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
import yaml
from conftest import KLASTERFILE, ProjectDir
from hypothesis import given
from hypothesis import strategies as st

from klaster_build import engine
from klaster_build.errors import ProblemsFound

KANEO = """\
from klaster_build.dsl import (
    OIDC, Container, Deployment, Ingress, LoadBalancer, Port, Postgres, Service, VaultSecret,
)

db = Postgres("kaneo-db", size="10Gi")
sso = OIDC()
api = VaultSecret("kaneo-api", path="kaneo", keys=["token"])
app = Deployment("kaneo", containers=[Container(
    "kaneo", image="ghcr.io/x/kaneo:1.0.0", ports={"http": 80, "voice": 9987},
    env={"DB": db.secret_key("uri"), "TOKEN": api.key("token"), "OIDC": sso.discovery_url},
)])
web = Service("kaneo", workload=app, ports={"http": 80})
Ingress("kaneo", backend=web, port="http")
LoadBalancer("kaneo-voice", workload=app, ports=[Port("voice", 9987, "UDP", public=True)])
"""
OTHER = "from klaster_build.dsl import ConfigMap\n\nConfigMap('settings', data={'a': 'b'})\n"
VOLUME_APP = """\
from klaster_build.dsl import ConfigMap, Volume

data = Volume({name!r}, size="5Gi")
ConfigMap("uses", data={{"claim": data.claim}})
"""
PROMPT = re.compile(r"^    (Retired(?:Volume|App)\(.*\))$", re.MULTILINE)
PRUNE = {"kustomize.toolkit.fluxcd.io/prune": "disabled"}


def _pasted(err: str, reason: str) -> str:
    """An apps.d file made of the declarations a refusal printed, with a real reason."""
    declarations = [d.replace('reason="<why>"', f"reason={reason!r}") for d in PROMPT.findall(err)]
    return "from klaster_build.dsl import RetiredApp, RetiredVolume\n\n" + "\n".join(declarations)


def _errors(err: str) -> list[str]:
    return [line for line in err.splitlines() if ": error: " in line]


def _remove_kaneo(project: ProjectDir, run) -> None:
    project.app("kaneo", KANEO)
    project.app("other", OTHER)
    assert run("build")[0] == 0
    (project.root / "apps.d" / "kaneo.py").unlink()


def test_dropping_an_app_with_a_volume_is_refused_and_nothing_written(
    project: ProjectDir, run, no_color
) -> None:
    """Deleting an app file that had a database: exit 2, the LV located at the app's file with
    its volume group and size, what happens, the declaration to add; out/ untouched."""
    _remove_kaneo(project, run)
    before = project.snapshot()
    code, _, err = run("build")
    assert code == 2
    assert "Traceback" not in err
    lv_error, app_error = _errors(err)
    assert lv_error.startswith(
        "apps.d/kaneo.py:1: error: LV vg-ssd/kaneo-db-1 (10Gi) is in "
        "out/apps/kaneo/postgres-volume.yaml (out/ on disk) but apps.d no longer declares it."
    )
    assert "leaves the LVMVolume and PersistentVolume in the cluster" in lv_error
    assert 'Postgres(..., lv_name="kaneo-db-1") adopts it' in lv_error
    assert app_error.startswith(
        "apps.d/kaneo.py:1: error: app 'kaneo' is removed from apps.d, but what it needed "
        "outside the cluster stays: OpenBao path authentik/kaneo, kaneo; Authentik application "
        "kaneo; DNS name kaneo-voice.example.org, kaneo.example.org; router port forward "
        "kaneo/kaneo-voice/UDP/9987."
    )
    assert PROMPT.findall(err) == [
        'RetiredVolume("kaneo-db-1", reason="<why>")',
        'RetiredApp("kaneo", reason="<why>", vault_paths=["authentik/kaneo", "kaneo"], '
        'oidc=["kaneo"], hosts=["kaneo-voice.example.org", "kaneo.example.org"], '
        'port_forwards=["kaneo/kaneo-voice/UDP/9987"])',
    ]
    assert err.rstrip().endswith("klaster: 2 errors; nothing was written")
    assert project.snapshot() == before


def test_check_reports_the_same_refusal(project: ProjectDir, run, no_color) -> None:
    """build --check exits 2 with exactly the errors a build gives, and writes nothing."""
    _remove_kaneo(project, run)
    before = project.snapshot()
    code, out, check_err = run("build", "--check")
    assert (code, out) == (2, "")
    assert project.snapshot() == before
    assert _errors(check_err) == _errors(run("build")[2])


def test_the_pasted_declarations_build_and_todo_lists_the_clean_up(
    project: ProjectDir, run, no_color
) -> None:
    """The declarations the refusal printed, pasted into a file of their own, make the build
    pass; that file gets no app directory or namespace; todo lists every manual step until the
    declarations go, and then the build stays clean."""
    _remove_kaneo(project, run)
    retired = project.app("retired", _pasted(run("build")[2], "moved to vikunja"))
    code, _, err = run("build")
    assert code == 0, err
    assert sorted(p.name for p in (project.out / "apps").iterdir()) == [
        "kustomization.yaml",
        "other",
    ]
    code, todo, _ = run("todo")
    assert code == 0
    steps = [line.split("] ", 1)[1] for line in todo.splitlines() if "[retired]" in line]
    assert steps == [
        "Back up LV kaneo-db-1 (RetiredVolume at apps.d/retired.py:3): on node node1 it is "
        "/dev/<volGroup>/kaneo-db-1, volGroup from `kubectl -n openebs get lvmvolume kaneo-db-1 "
        "-o jsonpath='{.spec.volGroup}'`",
        "Delete LV kaneo-db-1 (RetiredVolume at apps.d/retired.py:3) once backed up: "
        "`kubectl -n openebs delete lvmvolume kaneo-db-1` (the OpenEBS node agent then wipes "
        "and lvremoves it) and `kubectl delete pv kaneo-db-1`; then delete the RetiredVolume",
        "Delete secret/authentik/kaneo from OpenBao once nothing needs its values (`bao kv "
        "metadata delete -mount=secret authentik/kaneo` removes every version; RetiredApp "
        "'kaneo' at apps.d/retired.py:4)",
        "Delete secret/kaneo from OpenBao once nothing needs its values (`bao kv metadata "
        "delete -mount=secret kaneo` removes every version; RetiredApp 'kaneo' at "
        "apps.d/retired.py:4)",
        "Delete the Authentik application 'kaneo' and its OAuth2/OpenID provider (RetiredApp "
        "'kaneo' at apps.d/retired.py:4)",
        "Delete the DNS name kaneo-voice.example.org (RetiredApp 'kaneo' at apps.d/retired.py:4)",
        "Delete the DNS name kaneo.example.org (RetiredApp 'kaneo' at apps.d/retired.py:4)",
        "Remove the router's IPv4 UDP port 9987 forward to LoadBalancer kaneo/kaneo-voice "
        "(RetiredApp 'kaneo' at apps.d/retired.py:4)",
        "Delete the RetiredApp 'kaneo' declaration (apps.d/retired.py:4) once the steps above "
        "are done",
    ]
    retired.unlink()
    assert run("build")[0] == 0  # out/ no longer has them: nothing left to refuse
    assert "[retired]" not in run("todo")[1]


def test_renaming_an_lv_is_refused_until_the_old_one_is_retired(
    project: ProjectDir, run, no_color
) -> None:
    """A Volume renamed in place drops the old LV: refused at the app's file with the old
    LV's volume group and size; a RetiredVolume in the same file lets the build through."""
    path = project.app("a", VOLUME_APP.format(name="data"))
    assert run("build")[0] == 0
    before = project.snapshot()
    path.write_text(VOLUME_APP.format(name="store"))
    code, _, err = run("build")
    assert code == 2
    (error,) = _errors(err)
    assert error.startswith(
        "apps.d/a.py:1: error: LV vg-hdd/a-data-lvmhdd (5Gi) is in out/apps/a/data-volume.yaml (out/ on disk) "
        "but apps.d no longer declares it."
    )
    assert PROMPT.findall(err) == ['RetiredVolume("a-data-lvmhdd", reason="<why>")']
    assert project.snapshot() == before
    path.write_text(
        VOLUME_APP.format(name="store").replace(
            "import ConfigMap,", "import RetiredVolume, ConfigMap,"
        )
        + 'RetiredVolume("a-data-lvmhdd", reason="renamed to store")\n'
    )
    code, _, err = run("build")
    assert code == 0, err
    assert not (project.out / "apps/a/data-volume.yaml").exists()
    assert (project.out / "apps/a/store-volume.yaml").exists()


def test_lvmvolume_and_pv_are_never_pruned_by_flux(project: ProjectDir, run) -> None:
    """LVMVolume and PersistentVolume carry kustomize.toolkit.fluxcd.io/prune: disabled; the
    claim does not (deleting it leaves a Released PV, Retain)."""
    project.app("a", VOLUME_APP.format(name="data"))
    assert run("build")[0] == 0
    documents = list(yaml.safe_load_all(project.file("out/apps/a/data-volume.yaml")))
    annotations = {d["kind"]: d["metadata"].get("annotations") for d in documents if d}
    assert annotations == {
        "LVMVolume": PRUNE,
        "PersistentVolume": PRUNE,
        "PersistentVolumeClaim": None,
    }


def test_an_lv_out_has_without_the_annotation_is_said_to_be_destroyed(
    project: ProjectDir, run, no_color
) -> None:
    """out/ from before the annotation (here: edited back to it): the refusal says Flux prunes
    the LVMVolume and OpenEBS lvremoves it, and how to protect it first."""
    path = project.app("a", VOLUME_APP.format(name="data"))
    assert run("build")[0] == 0
    volume = project.out / "apps/a/data-volume.yaml"
    volume.write_text(
        volume.read_text().replace(
            "  annotations:\n    kustomize.toolkit.fluxcd.io/prune: disabled\n", "", 1
        )
    )
    path.write_text(OTHER)
    (error,) = _errors(run("build")[2])
    assert (
        "out/ has it without kustomize.toolkit.fluxcd.io/prune: disabled, so Flux would prune "
        "its LVMVolume object, and the OpenEBS node agent then wipes and lvremoves the LV"
    ) in error


def test_retiring_an_lv_that_is_still_declared_is_an_error(
    project: ProjectDir, run, no_color
) -> None:
    """A RetiredVolume naming a declared LV: located at the RetirementVolume, naming the
    declaration; nothing written."""
    project.app(
        "a",
        VOLUME_APP.format(name="data").replace(
            "import ConfigMap,", "import RetiredVolume, ConfigMap,"
        )
        + 'RetiredVolume("a-data-lvmhdd", reason="old")\n',
    )
    code, _, err = run("build")
    assert code == 2
    assert _errors(err) == [
        "apps.d/a.py:5: error: RetiredVolume 'a-data-lvmhdd' names an LV that apps.d/a.py:3 "
        "still declares; remove the RetiredVolume, or that declaration if the LV is to go"
    ]
    assert not project.out.exists()


def test_retiring_a_declared_app_or_a_needed_leftover_is_an_error(
    project: ProjectDir, run, no_color
) -> None:
    """A RetiredApp for an app apps.d still declares, or listing a host another app still
    serves, is a located error (todo would tell the operator to delete what is in use)."""
    project.app("kaneo", KANEO)
    project.app(
        "retired",
        "from klaster_build.dsl import RetiredApp\n\n"
        'RetiredApp("kaneo", reason="gone", hosts=["kaneo.example.org"], vault_paths=["old"])\n',
    )
    code, _, err = run("build")
    assert code == 2
    assert _errors(err) == [
        "apps.d/retired.py:3: error: RetiredApp 'kaneo' lists DNS name 'kaneo.example.org', "
        "which apps.d/kaneo.py:13 still needs; remove it from hosts=",
        "apps.d/retired.py:3: error: RetiredApp 'kaneo' names an app that apps.d/kaneo.py still "
        "declares; remove the RetiredApp, or delete that file (or keep only retirement records "
        "in it) if the app is to go",
    ]
    assert run("todo")[0] == 2


def test_the_reason_must_be_written(project: ProjectDir, run, no_color) -> None:
    """The placeholder of the printed declaration is not a reason."""
    project.app(
        "retired",
        'from klaster_build.dsl import RetiredVolume\n\nRetiredVolume("x-lvmhdd", reason="<why>")\n',
    )
    code, _, err = run("build")
    assert code == 2
    assert _errors(err) == [
        "apps.d/retired.py:3: error: RetiredVolume 'reason' must say in words why it goes "
        "(e.g. 'replaced by kaneo-db-2'), got '<why>'"
    ]


def test_an_app_without_data_or_leftovers_goes_freely(project: ProjectDir, run) -> None:
    """Nothing to lose, nothing to remember: removing such an app needs no declaration."""
    project.app("a", OTHER)
    project.app("b", OTHER)
    assert run("build")[0] == 0
    (project.root / "apps.d" / "b.py").unlink()
    assert run("build")[0] == 0
    assert not (project.out / "apps/b").exists()


@given(
    names=st.lists(st.sampled_from(["a", "b", "c", "d"]), min_size=1, unique=True),
    data=st.data(),
)
def test_exactly_the_unretired_dropped_lvs_are_refused(scratch: Path, names, data) -> None:
    """For any set of volumes, any subset dropped and any part of that retired: the build is
    refused exactly for the dropped LVs not retired, one error each; otherwise it builds."""
    root = scratch / "p"
    if root.exists():
        shutil.rmtree(root)
    (root / "apps.d").mkdir(parents=True)
    (root / "klasterfile.py").write_text(KLASTERFILE)

    def write(volumes: list[str], retired: list[str]) -> None:
        lines = ["from klaster_build.dsl import ConfigMap, RetiredVolume, Volume"]
        lines += [
            f"v_{n} = Volume({n!r})\nConfigMap('c-{n}', data={{'c': v_{n}.claim}})" for n in volumes
        ]
        lines += [f"RetiredVolume('app-{n}-lvmhdd', reason='test')" for n in retired]
        lines.append("ConfigMap('keep', data={})")
        (root / "apps.d" / "app.py").write_text("\n".join(lines) + "\n")

    write(names, [])
    assert engine.build(root).status == 0
    dropped = data.draw(st.lists(st.sampled_from(names), unique=True))
    retired = data.draw(st.lists(st.sampled_from(dropped), unique=True)) if dropped else []
    write([n for n in names if n not in dropped], retired)
    refused = sorted(f"app-{n}-lvmhdd" for n in dropped if n not in retired)
    if not refused:
        assert engine.build(root).status == 0
        return
    with pytest.raises(ProblemsFound) as found:
        engine.build(root)
    messages = "\n".join(problem.message for problem in found.value.problems)
    assert sorted(re.findall(r"LV vg-hdd/(\S+) ", messages)) == refused
