"""Incremental builds render only changed apps (and apps referring to them), with the same result."""

from __future__ import annotations

import marshal
import shutil
from pathlib import Path

import pytest
from conftest import KLASTERFILE
from hypothesis import given, settings
from hypothesis import strategies as st

from klaster_build import engine, output

LLAMA = "from klaster_build.dsl import *\nd = Deployment('swap', containers=[Container('swap', image='x/swap:1.0.{rev}', ports={{'http': {port}}})])\nService('llama', workload=d, ports={{'http': {port}}})\n"
WEB = "from klaster_build.dsl import *\nConfigMap('settings', data={{'llm': f\"http://{{ref('llama/service/llama').host}}:{{ref('llama/service/llama').port('http')}}\", 'rev': '{rev}'}})\n"
# Each "other" app also generates files outside its app directory (vault/policy, roles).
OTHER = "from klaster_build.dsl import *\nConfigMap('c{index}', data={{'rev': '{rev}'}})\nVaultSecret('s', path='other{index}-{rev}', keys=['k'])\n"


def _tree(root: Path) -> dict[str, bytes]:
    out = root / "out"
    return {
        p.relative_to(out).as_posix(): p.read_bytes() for p in sorted(out.rglob("*")) if p.is_file()
    }


def _write(root: Path, revisions: dict[str, int], port: int) -> None:
    """The apps of `revisions` at those revisions (others removed)."""
    apps_dir = root / "apps.d"
    apps_dir.mkdir(parents=True, exist_ok=True)
    (root / "klasterfile.py").write_text(KLASTERFILE)
    sources = {
        "llama": LLAMA.format(rev=revisions.get("llama"), port=port),
        "web": WEB.format(rev=revisions.get("web")),
        **{f"other{i}": OTHER.format(index=i, rev=revisions.get(f"other{i}")) for i in range(3)},
    }
    for app, source in sources.items():
        path = apps_dir / f"{app}.py"
        if app in revisions:
            path.write_text(source)
        else:
            path.unlink(missing_ok=True)


APPS = ["llama", "web", "other0", "other1", "other2"]


def _built_then_changed(root: Path, app: str, port: int) -> Path:
    """A project built once, then `app` edited (and llama's port set to `port`), not rebuilt."""
    revisions = dict.fromkeys(APPS, 0)
    _write(root, revisions, 80)
    engine.build(root)
    revisions[app] = 1
    _write(root, revisions, port)
    return root


def _shadow_record_holds(root: Path) -> bool:
    """The shadow record lists exactly the shadow's files and folders, and every digest it
    gives is the file's."""
    record_file = root / output.SHADOW_RECORD
    if not record_file.exists():
        return True
    shadow = root / output.SHADOW
    files, folders = marshal.loads(record_file.read_bytes())
    on_disk = {p.relative_to(shadow).as_posix(): p for p in shadow.rglob("*")}
    return (
        set(files) == {name for name, p in on_disk.items() if not p.is_dir()}
        and set(folders) - {""} == {name for name, p in on_disk.items() if p.is_dir()}
        and all(
            output.digest(on_disk[name].read_bytes()) == expected
            for name, expected in files.items()
            if expected
        )
    )


STEP = st.one_of(
    st.tuples(st.just("bump"), st.sampled_from(APPS), st.integers(1, 9), st.sampled_from([80, 81])),
    st.tuples(st.just("drop"), st.sampled_from(APPS[2:])),  # apps nothing refers to
    st.tuples(st.just("edit"), st.integers(0, 10_000)),  # in place: a hard link shares it
    st.tuples(st.just("unlink"), st.integers(0, 10_000)),
    st.tuples(st.just("user file"), st.sampled_from(["notes.txt", "apps/web/NOTES"])),
)


@settings(max_examples=40, deadline=None)
@given(steps=st.lists(STEP, min_size=1, max_size=6))
def test_incremental_equals_full(tmp_path_factory, steps) -> None:
    """After any sequence of app edits and removals, hand edits and deletions in out/, and files
    of the user's own in out/, out/ is byte for byte a from-scratch build plus the user's files."""
    root = tmp_path_factory.mktemp("inc")
    revisions = dict.fromkeys(APPS, 0)
    port = 80
    _write(root, revisions, port)
    assert engine.build(root).status == 0
    users: dict[str, bytes] = {}
    for step in steps:
        generated = sorted(set(_tree(root)) - set(users))
        match step:
            case ("bump", app, revision, new_port):
                revisions[app] = revision
                port = new_port
            case ("drop", app):
                revisions.pop(app, None)
            case ("edit", index):
                with open(root / "out" / generated[index % len(generated)], "ab") as stream:
                    stream.write(b"# edited by hand\n")
            case ("unlink", index):
                (root / "out" / generated[index % len(generated)]).unlink()
            case ("user file", name):
                users[name] = f"{name} of the user\n".encode()
                (root / "out" / name).write_bytes(users[name])
        _write(root, revisions, port)
        assert engine.build(root).status == 0
        fresh = root.parent / f"{root.name}-fresh"
        if fresh.exists():
            shutil.rmtree(fresh)
        _write(fresh, revisions, port)
        assert engine.build(fresh).status == 0
        assert _tree(root) == {**_tree(fresh), **users}
        assert _shadow_record_holds(root)
        assert engine.build(root, check=True).status == 0


def test_only_affected_apps_are_rendered(tmp_path) -> None:
    """Changing llama re-renders llama and web (which refers to it), not the others."""
    root = _built_then_changed(tmp_path / "p", "llama", port=8080)
    rendering = engine.render_project(root, changed={"llama"})
    graph = engine.analyse(root)[1]
    assert engine.affected_apps(graph, {"llama"}) == {"llama", "web"}
    assert {
        p.split("/")[2] for p in rendering.files if p.count("/") > 2 and p.startswith("out/apps/")
    } == {
        "llama",
        "web",
    }
    assert "out/apps/other0/configmap.yaml" in rendering.skipped
    assert engine.affected_apps(graph, {"other0"}) == {"other0"}


@pytest.mark.parametrize(
    ("path", "edit"),
    [
        ("apps/other1/configmap.yaml", b"# edit\n"),  # an unchanged app's file: that app re-renders
        (
            "vault/policy/other1.hcl",
            b'path "secret/*" { capabilities = ["sudo"] }\n',
        ),  # no app: all
    ],
)
def test_hand_edit_is_restored_by_the_next_build(tmp_path, path: str, edit: bytes) -> None:
    """An edited generated file is rendered again though no source changed, and reported."""
    root = tmp_path / "p"
    _write(root, dict.fromkeys(APPS, 0), 80)
    engine.build(root)
    target = root / "out" / path
    original = target.read_bytes()
    target.write_bytes(original + edit)
    result = engine.build(root)
    assert result.plan is not None and f"out/{path}" in result.plan.hand_edited
    assert target.read_bytes() == original
    assert engine.build(root, check=True).status == 0


def test_global_files_of_unaffected_apps_are_skipped_not_deleted(tmp_path) -> None:
    """A one-app rebuild leaves other apps' vault/ files alone and still equals a full build."""
    root = _built_then_changed(tmp_path / "p", "other0", port=80)
    rendering = engine.render_project(root, changed={"other0"})
    assert "out/vault/policy/other1.hcl" in rendering.skipped
    assert "out/vault/policy/other0.hcl" in rendering.files
    engine.build(root)
    assert b"other0-1" in (root / "out" / "vault" / "policy" / "other0.hcl").read_bytes()
    assert (root / "out" / "vault" / "policy" / "other1.hcl").is_file()
    assert engine.build(root, check=True).status == 0


@pytest.mark.parametrize("change", ["file removed", "file added", "folder added"])
def test_a_shadow_changed_by_hand_is_looked_at_again(tmp_path, change: str) -> None:
    """The shadow's record lists its files, so a rebuild need not list it; a shadow changed by
    hand since (its folders' mtimes moved) is listed again, and out/ is still a fresh build's."""
    root = _built_then_changed(tmp_path / "p", "other0", port=80)
    engine.build(root)  # the shadow is now the first tree, with a record
    shadow = root / output.SHADOW
    assert (root / output.SHADOW_RECORD).exists()
    match change:
        case "file removed":
            (shadow / "apps" / "other1" / "configmap.yaml").unlink()
        case "file added":
            (shadow / "apps" / "other1" / "stray.yaml").write_text("stray\n")
        case _:
            (shadow / "apps" / "stray").mkdir()
    revisions = {**dict.fromkeys(APPS, 0), "other0": 1, "other1": 2}
    _write(root, revisions, 80)
    assert engine.build(root).status == 0
    fresh = tmp_path / "fresh"
    _write(fresh, revisions, 80)
    engine.build(fresh)
    assert _tree(root) == _tree(fresh)
    assert _shadow_record_holds(root)
