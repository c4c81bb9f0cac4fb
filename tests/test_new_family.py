"""A Family is the whole extension surface: a record type added by one module-level Family value
(records, validator, emitter, mount, expander, check) builds with no edit anywhere else."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import attrs
import pytest
import yaml
from conftest import KLASTERFILE

from klaster_build import engine
from klaster_build.emit.outputs import Output, app_object
from klaster_build.errors import Mistake, Problem, ProblemsFound
from klaster_build.families import FAMILIES
from klaster_build.family import Catalog, Family, Mountable
from klaster_build.graph import ProjectGraph
from klaster_build.project import Project
from klaster_build.records.base import Record
from klaster_build.validators import dns_label, matches, output_file


@attrs.frozen(kw_only=True, eq=False)
class Motd(Record):
    """A message of the day, as a ConfigMap pods may mount."""

    name: str = attrs.field(kw_only=False, validator=dns_label)
    text: str = attrs.field(validator=matches(r"[^\n]{1,80}", "one line of at most 80 characters"))
    file: str = attrs.field(default="motd.yaml", validator=output_file)


@attrs.frozen(kw_only=True, eq=False)
class MotdIndex(Record):
    """Made by the expansion of an app's first Motd: how many the app declares."""

    name: str
    count: int
    file: str = "motd.yaml"


def _emit_motd(motd: Motd, ctx: Any) -> Iterator[Output]:
    yield app_object(motd, ctx, "v1", "ConfigMap", {"data": {"motd": motd.text}})


def _emit_index(index: MotdIndex, ctx: Any) -> Iterator[Output]:
    yield app_object(index, ctx, "v1", "ConfigMap", {"data": {"count": str(index.count)}})


def _expand(record: Record, app_records: Sequence[Record]) -> Iterator[Problem]:
    motds = [r for r in app_records if isinstance(r, Motd)]
    if motds and record is motds[0]:
        MotdIndex(name="motd-index", count=len(motds), origin=record.origin, app=record.app)
    return iter(())


def _shout_check(project: Project, graph: ProjectGraph) -> Iterator[Problem]:
    for motd in project.of_type(Motd):
        if motd.text.isupper():
            yield Problem.at(
                motd, Mistake("shouts", record=f"Motd {motd.name!r}", instead="lower it")
            )


MOTD = Family(
    "motd",
    records=(Motd, MotdIndex),
    exports=(Motd,),
    emitters={Motd: _emit_motd, MotdIndex: _emit_index},
    mounts={Motd: Mountable(lambda motd, _ctx: {"configMap": {"name": motd.name}})},
    read_by_name=frozenset({(Motd, "name")}),
    expanders=(_expand,),
    checks=(_shout_check,),
)
WITH_MOTD = Catalog((*FAMILIES, MOTD))

APP = """\
from klaster_build.dsl import Container, Deployment
from test_new_family import Motd

hello = Motd("hello", text={text!r})
Motd("bye", text="see you")
Deployment("web", containers=[Container("web", image="nginx:1.27.3", mounts={{"/etc/motd": hello}})])
"""


def _project(root: Path, text: str) -> Path:
    (root / "apps.d").mkdir(parents=True, exist_ok=True)
    (root / "klasterfile.py").write_text(KLASTERFILE)
    (root / "apps.d" / "web.py").write_text(APP.format(text=text))
    return root


def test_a_family_added_by_its_value_alone_builds(tmp_path: Path) -> None:
    """Records, emitter, mount, expander: the new family's objects are written, a Deployment
    mounts one, the expansion adds its index, the app's kustomization lists the files."""
    files = engine.render_project(_project(tmp_path, "hello there"), catalog=WITH_MOTD).files
    documents = list(yaml.safe_load_all(files["out/apps/web/motd.yaml"]))
    assert [(d["metadata"]["name"], d["data"]) for d in documents] == [
        ("hello", {"motd": "hello there"}),
        ("motd-index", {"count": "2"}),
        ("bye", {"motd": "see you"}),
    ]
    pod = yaml.safe_load(files["out/apps/web/deployment.yaml"])["spec"]["template"]["spec"]
    assert {"name": "hello", "configMap": {"name": "hello"}} in pod["volumes"]
    assert "motd.yaml" in yaml.safe_load(files["out/apps/web/kustomization.yaml"])["resources"]


def test_the_new_familys_rules_speak_the_one_error_shape(tmp_path: Path) -> None:
    """Its validator and its check report located Mistakes like every built-in family."""
    with pytest.raises(ProblemsFound) as found:
        engine.render_project(_project(tmp_path, "LOUD"), catalog=WITH_MOTD)
    assert [str(p) for p in found.value.problems] == [
        "apps.d/web.py:4: error: Motd 'hello' shouts; lower it"
    ]
    with pytest.raises(ProblemsFound) as found:
        engine.render_project(_project(tmp_path, "two\nlines"), catalog=WITH_MOTD)
    assert str(found.value.problems[0]) == (
        "apps.d/web.py:4: error: Motd 'text' must be one line of at most 80 characters, "
        "got 'two\\nlines'"
    )


def test_without_the_family_its_records_are_a_located_error(tmp_path: Path) -> None:
    with pytest.raises(ProblemsFound) as found:
        engine.render_project(_project(tmp_path, "hello"))
    assert str(found.value.problems[0]).startswith(
        "apps.d/web.py:4: error: Motd is not a record type klaster builds"
    )


def test_what_the_family_says_pods_read_by_name_stays_in_its_namespace(tmp_path: Path) -> None:
    """Declared in `read_by_name`, a Motd mounted from another app's namespace is refused like
    a Secret or ConfigMap would be."""
    root = _project(tmp_path, "hello there")
    (root / "apps.d" / "other.py").write_text(
        "from klaster_build.dsl import Container, Deployment, ref\n"
        'Deployment("other", containers=[Container("other", image="nginx:1.27.3", '
        'mounts={"/etc/motd": ref("web/Motd/hello")})])\n'
    )
    with pytest.raises(ProblemsFound) as found:
        engine.render_project(root, catalog=WITH_MOTD)
    assert str(found.value.problems[0]).startswith(
        "apps.d/other.py:2: error: Deployment 'other' (namespace 'other') reads Motd 'hello' of "
        "namespace 'web'"
    )
