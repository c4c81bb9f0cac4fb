"""An edited app is checked and rendered alone only when the result equals a full build's."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import attrs
import pytest
from conftest import REPO
from hypothesis import event, given, settings
from hypothesis import strategies as st

from klaster_build import engine, incremental
from klaster_build.errors import ProblemsFound

sys.path.insert(0, str(REPO / "bench"))
from synth import KLASTERFILE  # a cluster with Talos settings: privileged pods build

APP = """\
from klaster_build.dsl import *
{app}
data = Volume("data", size="{size}Gi", tier="hdd")
db = Postgres("db", size="2Gi", tier="{db_tier}", volume_name="{lv}")
api = VaultSecret("s", path="{path}", keys=["{key}"])
worker = Deployment(
    "worker",
    containers=[
        Container(
            "worker",
            image="example.org/{name}/worker:1.0.{rev}",
            ports={{"http": 8080}},
            env={{"API_TOKEN": api.key("{key}"), "DATABASE_URL": db.secret_key("uri"), "PEER": {peer}}},
            mounts={{"/data": data.claim}},
            {devices}
        )
    ],
)
svc = Service("worker", workload=worker, ports={{"http": 8080}})
Ingress("web", host="{host}", backend=svc)
{balancer}
repo = HelmRepository("charts", url="https://charts.example.org/{chart}")
HelmRelease("{chart}", source=repo, chart="{chart}", version="2.0.{rev}", values={{"peer": svc.host{oidc}}})
"""
APPS = ("alpha", "beta", "gamma")


@attrs.frozen
class AppShape:
    """What a test varies in one app: versions (local), and names other apps may share."""

    rev: int = 0
    size: int = 1
    db_tier: str = "ssd"  # hdd: a warning
    lv: str = ""  # "" = named after the app; else a name another app may use too
    path: str = ""
    key: str = "api_token"
    host: str = ""
    privileged: bool = False
    port: int | None = None  # a LoadBalancer port
    namespace: str | None = None  # "shared": links the app to others
    peer: str | None = None  # an app this one refers to
    chart: str = ""  # "" = named after the app; else a chart another app may install too
    oidc: bool = False  # an Authentik application (an operator step)

    def source(self, name: str) -> str:
        """The apps.d file of app `name`."""
        peer = f"f\"http://{{ref('{self.peer}/service/worker').host}}\"" if self.peer else '"plain"'
        balancer = (
            f'LoadBalancer("voice", workload=worker, ports=[Port("voice", {self.port}, "UDP")])'
            if self.port
            else ""
        )
        return APP.format(
            app=f'App(namespace="{self.namespace}")' if self.namespace else "",
            name=name,
            rev=self.rev,
            size=self.size,
            db_tier=self.db_tier,
            lv=self.lv or f"{name}-db-1",
            path=self.path or name,
            key=self.key,
            host=self.host or name,
            peer=peer,
            devices="devices=[HostDevice('/dev/dri', 'Directory')]," if self.privileged else "",
            balancer=balancer,
            chart=self.chart or name,
            oidc=', "oidc": OIDC().discovery_url' if self.oidc else "",
        )


def _write(root: Path, shapes: dict[str, AppShape]) -> None:
    (root / "apps.d").mkdir(parents=True, exist_ok=True)
    (root / "klasterfile.py").write_text(KLASTERFILE)
    for name, shape in shapes.items():
        (root / "apps.d" / f"{name}.py").write_text(shape.source(name))


def _tree(root: Path) -> dict[str, bytes]:
    files = {
        p.relative_to(root).as_posix(): p.read_bytes()
        for p in (root / "out").rglob("*")
        if p.is_file()
    }
    return {**files, "renovate.json": (root / "renovate.json").read_bytes()}


def _outcome(root: Path) -> tuple[str, list[str], engine.BuildResult | None]:
    """("ok", warnings, result) or ("invalid", problems, None)."""
    try:
        result = engine.build(root)
    except ProblemsFound as error:
        return "invalid", [str(p) for p in error.problems], None
    return "ok", [str(p) for p in result.warnings], result


def _fresh_outcome(root: Path, shapes: dict[str, AppShape]) -> tuple[str, list[str], Path]:
    fresh = root.parent / f"{root.name}-fresh"
    if fresh.exists():
        shutil.rmtree(fresh)
    _write(fresh, shapes)
    status, problems, _ = _outcome(fresh)
    return status, problems, fresh


SHAPE_CHANGES = st.one_of(
    st.builds(lambda rev: {"rev": rev}, st.integers(1, 9)),
    st.builds(lambda size: {"size": size}, st.integers(1, 3)),
    st.builds(lambda tier: {"db_tier": tier}, st.sampled_from(["ssd", "hdd"])),
    st.builds(lambda lv: {"lv": lv}, st.sampled_from(["", "shared-lv"])),
    st.builds(lambda path: {"path": path}, st.sampled_from(["", "common"])),
    st.builds(lambda key: {"key": key}, st.sampled_from(["api_token", "other_token"])),
    st.builds(lambda host: {"host": host}, st.sampled_from(["", "www", "portal"])),
    st.builds(lambda privileged: {"privileged": privileged}, st.booleans()),
    st.builds(lambda port: {"port": port}, st.sampled_from([None, 5000, 5001])),
    st.builds(lambda ns: {"namespace": ns}, st.sampled_from([None, "shared"])),
    st.builds(lambda peer: {"peer": peer}, st.sampled_from([None, *APPS])),
    st.builds(lambda chart: {"chart": chart}, st.sampled_from(["", "common"])),
    st.builds(lambda oidc: {"oidc": oidc}, st.booleans()),
)
# What happens to out/ before the build, besides the edit: nothing, a generated file edited by
# hand or deleted, or a file of the user's own put there.
DISTURBANCES = st.one_of(
    st.none(),
    st.tuples(st.sampled_from(["edit", "unlink"]), st.integers(0, 10_000)),
    st.tuples(st.just("user file"), st.sampled_from(["apps/alpha/NOTES", "notes.txt"])),
)
EDITS = st.tuples(st.sampled_from(APPS), SHAPE_CHANGES, DISTURBANCES)


def _disturb(root: Path, disturbance: tuple[str, object] | None, users: dict[str, bytes]) -> None:
    # (not the manifest: without it every file counts as foreign, which test_incremental covers)
    generated = sorted(
        set(_tree(root)) - set(users) - {"renovate.json", "out/.klaster-manifest.json"}
    )
    match disturbance:
        case ("edit", int(index)):
            with open(root / generated[index % len(generated)], "ab") as stream:
                stream.write(b"# edited by hand\n")
        case ("unlink", int(index)):
            (root / generated[index % len(generated)]).unlink()
        case ("user file", str(name)):
            users[f"out/{name}"] = b"the user's own\n"
            (root / "out" / name).write_bytes(users[f"out/{name}"])


@settings(max_examples=60, deadline=None)
@given(edits=st.lists(EDITS, min_size=1, max_size=6))
def test_a_build_after_any_edit_equals_a_full_build(tmp_path_factory, edits) -> None:
    """Whatever an edit changes (versions, shared names, hosts, privileges, namespaces,
    references, charts), and whatever was done to out/ meanwhile, the build reports the same
    problems and writes the same tree (plus the user's own files) as a build from scratch,
    whether or not it rendered the app alone."""
    root = tmp_path_factory.mktemp("alone")
    shapes = {name: AppShape() for name in APPS}
    _write(root, shapes)
    assert _outcome(root)[0] == "ok"
    users: dict[str, bytes] = {}
    for app, change, disturbance in edits:
        shapes[app] = attrs.evolve(shapes[app], **change)
        _write(root, shapes)
        _disturb(root, disturbance, users)
        status, problems, result = _outcome(root)
        fresh_status, fresh_problems, fresh = _fresh_outcome(root, shapes)
        if result is not None and result.noop:  # the edit changed nothing: nothing to report
            problems = [p for p in fresh_problems if ": warning: " in p]
        assert (status, problems) == (fresh_status, fresh_problems)
        if result is not None:
            event("rendered alone" if result.alone else "loaded everything")
            assert _tree(root) == {**_tree(fresh), **users}
            assert engine.build(root, check=True).status == 0


def _project(tmp_path: Path, **shapes: AppShape) -> tuple[Path, dict[str, AppShape]]:
    root = tmp_path / "p"
    everything = {name: shapes.get(name, AppShape()) for name in APPS}
    _write(root, everything)
    assert engine.build(root).status == 0
    return root, everything


def _edit(root: Path, shapes: dict[str, AppShape], app: str, **change: object) -> None:
    shapes[app] = attrs.evolve(shapes[app], **change)
    _write(root, shapes)


def test_a_version_bump_renders_the_app_alone_and_keeps_the_others_warnings(tmp_path) -> None:
    """Only alpha is loaded; beta's warning (a database on hdd) is still reported."""
    root, shapes = _project(tmp_path, beta=AppShape(db_tier="hdd"))
    _edit(root, shapes, "alpha", rev=5)
    result = engine.build(root)
    assert result.alone == ("alpha",)
    assert result.plan is not None
    assert set(result.plan.write) == {
        "out/apps/alpha/deployment.yaml",
        "out/apps/alpha/release.yaml",
    }
    assert [p.origin.path for p in result.warnings] == ["apps.d/beta.py"]
    _, _, fresh = _fresh_outcome(root, shapes)
    assert _tree(root) == _tree(fresh)


@pytest.mark.parametrize(
    ("change", "why"),
    [
        ({"host": "beta"}, "a host beta serves"),
        ({"lv": "beta-db-1"}, "an LV name beta uses"),
        ({"privileged": True}, "a Talos exemption (talos/, Makefile)"),
        ({"port": 5000}, "a port forward (router/)"),
        ({"path": "beta"}, "a secret path beta reads (operator steps, vault/)"),
        ({"namespace": "beta"}, "beta's namespace"),
        ({"peer": "beta"}, "a reference to beta"),
        ({"chart": "beta"}, "a chart beta installs (renovate.json)"),
        ({"oidc": True}, "an Authentik application (operator step)"),
    ],
)
def test_an_edit_reaching_beyond_the_app_loads_everything(tmp_path, change, why) -> None:
    """These edits change what other apps or cluster-wide files see: no alone build."""
    root, shapes = _project(tmp_path)
    _edit(root, shapes, "alpha", **change)
    status, problems, result = _outcome(root)
    fresh_status, fresh_problems, fresh = _fresh_outcome(root, shapes)
    assert (status, problems) == (fresh_status, fresh_problems), why
    if result is not None:
        assert result.alone == (), why
        assert _tree(root) == _tree(fresh), why


def test_an_app_others_refer_to_is_never_rendered_alone(tmp_path) -> None:
    """gamma refers to beta: a version bump of beta loads everything (gamma renders beta's host)."""
    root, shapes = _project(tmp_path, gamma=AppShape(peer="beta"))
    _edit(root, shapes, "beta", rev=3)
    assert engine.build(root).alone == ()
    _edit(root, shapes, "alpha", rev=3)
    assert engine.build(root).alone == ("alpha",)


@pytest.mark.parametrize("damage", ["missing", "garbage", "other out/"])
def test_without_a_state_for_this_out_the_build_loads_everything(tmp_path, damage) -> None:
    """A missing, unreadable or stale state is not trusted."""
    root, shapes = _project(tmp_path)
    state = root / incremental.STATE_FILE
    if damage == "missing":
        state.unlink()
    elif damage == "garbage":
        state.write_bytes(b"\x00not marshal")
    else:
        kept = state.read_bytes()
        _edit(root, shapes, "beta", rev=1)
        engine.build(root)
        state.write_bytes(kept)  # describes the out/ before beta's edit
    _edit(root, shapes, "alpha", rev=7)
    result = engine.build(root)
    assert result.alone == ()
    _, _, fresh = _fresh_outcome(root, shapes)
    assert _tree(root) == _tree(fresh)
    assert engine.build(root, check=True).status == 0


def test_an_error_in_the_edited_app_is_reported_as_a_full_build_reports_it(tmp_path) -> None:
    """A mistake found alone is reported with every other problem, from a full load."""
    root, shapes = _project(tmp_path, beta=AppShape(db_tier="hdd"))
    _edit(root, shapes, "alpha", db_tier="nvme")
    status, problems, _ = _outcome(root)
    assert (status, problems) == _fresh_outcome(root, shapes)[:2]
    assert status == "invalid"
    assert any("tier 'nvme'" in p for p in problems)
    assert any(p.startswith("apps.d/beta.py") and ": warning: " in p for p in problems)
