"""Incremental builds render only changed apps (and apps referring to them), with the same result."""

from __future__ import annotations

import shutil
from pathlib import Path

from conftest import KLASTERFILE
from hypothesis import given
from hypothesis import strategies as st

from klaster_build import engine

LLAMA = "from klaster_build.dsl import *\nd = Deployment('swap', containers=[Container('swap', image='x/swap:1.0.{rev}', ports={{'http': {port}}})])\nService('llama', workload=d, ports={{'http': {port}}})\n"
WEB = "from klaster_build.dsl import *\nConfigMap('settings', data={{'llm': f\"http://{{ref('llama/service/llama').host}}:{{ref('llama/service/llama').port('http')}}\", 'rev': '{rev}'}})\n"
OTHER = "from klaster_build.dsl import *\nConfigMap('c{index}', data={{'rev': '{rev}'}})\n"


def _tree(root: Path) -> dict[str, bytes]:
    out = root / "out"
    return {
        p.relative_to(out).as_posix(): p.read_bytes() for p in sorted(out.rglob("*")) if p.is_file()
    }


def _write(root: Path, revisions: dict[str, int], port: int) -> None:
    (root / "apps.d").mkdir(parents=True, exist_ok=True)
    (root / "klasterfile.py").write_text(KLASTERFILE)
    (root / "apps.d" / "llama.py").write_text(LLAMA.format(rev=revisions["llama"], port=port))
    (root / "apps.d" / "web.py").write_text(WEB.format(rev=revisions["web"]))
    for index in range(3):
        (root / "apps.d" / f"other{index}.py").write_text(
            OTHER.format(index=index, rev=revisions[f"other{index}"])
        )


APPS = ["llama", "web", "other0", "other1", "other2"]


@given(
    steps=st.lists(
        st.tuples(st.sampled_from(APPS), st.integers(1, 9), st.sampled_from([80, 8080])),
        min_size=1,
        max_size=4,
    )
)
def test_incremental_equals_full(tmp_path_factory, steps) -> None:
    """After any sequence of edits, the incremental out/ equals a from-scratch build byte for byte."""
    root = tmp_path_factory.mktemp("inc")
    revisions = dict.fromkeys(APPS, 0)
    port = 80
    _write(root, revisions, port)
    assert engine.build(root).status == 0
    for app, revision, new_port in steps:
        revisions[app] = revision
        port = new_port
        _write(root, revisions, port)
        result = engine.build(root)
        assert result.status == 0
        fresh = root.parent / f"{root.name}-fresh"
        if fresh.exists():
            shutil.rmtree(fresh)
        _write(fresh, revisions, port)
        assert engine.build(fresh).status == 0
        assert _tree(root) == _tree(fresh)
        assert engine.build(root, check=True).status == 0


def test_only_affected_apps_are_rendered(tmp_path) -> None:
    """Changing llama re-renders llama and web (which refers to it), not the others."""
    root = tmp_path / "p"
    revisions = dict.fromkeys(APPS, 0)
    _write(root, revisions, 80)
    engine.build(root)
    revisions["llama"] = 1
    _write(root, revisions, 8080)
    *_, rendered = engine.render_project(root, changed={"llama"})
    assert rendered == {"llama", "web"}
    assert engine.affected_apps(engine.analyse(root)[1], {"other0"}) == {"other0"}


def test_hand_edit_of_an_unchanged_app_is_restored(tmp_path) -> None:
    """An edited file of an app whose source did not change is re-rendered by the next build."""
    root = tmp_path / "p"
    _write(root, dict.fromkeys(APPS, 0), 80)
    engine.build(root)
    target = root / "out" / "apps" / "other1" / "configmap.yaml"
    original = target.read_bytes()
    target.write_bytes(original + b"# edit\n")
    result = engine.build(root)
    assert result.plan is not None and "out/apps/other1/configmap.yaml" in result.plan.hand_edited
    assert target.read_bytes() == original
