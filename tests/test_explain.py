"""`klaster explain` and the messages for a wrong argument or attribute, both generated from the
DSL's own exports: every export is explained, every example builds, every mistake names what
to write instead."""

from __future__ import annotations

import inspect
import keyword
import re
from pathlib import Path

import attrs
import pytest
from conftest import ProjectDir
from hypothesis import given
from hypothesis import strategies as st

from klaster_build import dsl
from klaster_build.engine import load
from klaster_build.explain import catalogue, example
from klaster_build.loader import run_file
from klaster_build.records.base import Record
from klaster_build.registry import Registry

EXPORTS = [getattr(dsl, name) for name in dsl.__all__]
CLASSES = [t for t in EXPORTS if inspect.isclass(t)]
RECORDS = [t for t in CLASSES if issubclass(t, Record)]
HEAD = "from klaster_build.dsl import *\n"
# Types whose example cannot be written yet, with the reason.
NO_EXAMPLE: dict[type, str] = {}


def _user_arguments(kind: type) -> list[str]:
    """What a user passes to `kind`, read straight from attrs (origin/app/internal are repr=False)."""
    return [f.alias or f.name for f in attrs.fields(kind) if f.init and f.repr is not False]


def _public_members(kind: type) -> set[str]:
    """Properties and methods a class (not the Record base) defines without a leading '_'."""
    return {
        name
        for owner in kind.__mro__
        if owner not in (object, Record)
        for name, value in vars(owner).items()
        if not name.startswith("_")
        and (isinstance(value, property) or inspect.isfunction(value))
        and name not in vars(Record)
    }


def test_overview_lists_every_export(run) -> None:
    """`klaster explain` names every export of klaster_build.dsl, each under one heading."""
    code, out, _ = run("explain")
    assert code == 0
    listed = re.findall(r"^  (\w+) ", out.split("How arguments are named:")[0], re.MULTILINE)
    assert sorted(listed) == sorted(dsl.__all__)
    assert "Records (declare them in apps.d/*.py" in out
    assert "Values (arguments of records" in out
    records = out.split("Records (")[1].split("\n\n")[0]
    assert all(f"  {t.__name__} " in records for t in RECORDS)
    rules = out.split("How arguments are named:\n")[1]
    assert "A record's only positional argument is its `name`" in rules
    assert "`lv_name=`" in rules


@pytest.mark.parametrize("name", dsl.__all__)
def test_every_export_is_explained(name: str, run) -> None:
    """Each export: its docstring, every argument with type and required/default, every public
    property and method, and its example."""
    target = getattr(dsl, name)
    code, out, _ = run("explain", name)
    assert code == 0
    assert out.startswith(f"{name}: ")
    assert inspect.getdoc(target).split("\n")[0] in out
    if inspect.isclass(target):
        arguments = out.split("Arguments:\n")[1].split("\n\n")[0]
        for field in attrs.fields(target):
            if not field.init or field.repr is False:
                continue
            line = next(
                row
                for row in arguments.splitlines()
                if row.split()[0] == (field.alias or field.name)
            )
            assert str(field.type) in line
            required = field.default is attrs.NOTHING
            assert ("required" in line) is required, line
            if not required and not isinstance(field.default, attrs.Factory):  # type: ignore[arg-type]
                assert f"default {field.default!r}" in line
        for member in _public_members(target):
            assert re.search(rf"^  \.{member}\b", out, re.MULTILINE), member
    elif callable(target):
        assert f"{name}(" in out.splitlines()[1]
    else:  # an object (`cluster`): what it offers
        for member in _public_members(type(target)):
            assert re.search(rf"^  \.{member}\b", out, re.MULTILINE), member
    shown = example(target)
    if shown is not None:
        assert "Example:\n" in out and shown.splitlines()[0] in out


def test_field_comments_and_signatures_are_shown(run) -> None:
    """The comment above a field explains it; methods show their parameters unquoted."""
    out = run("explain", "Deployment")[1]
    assert "service_account" in out and "The ServiceAccount the pods run as" in out
    out = run("explain", "Manifest")[1]
    assert "cluster_scoped" in out and "no namespace is added" in out
    out = run("explain", "Service")[1]
    assert "selector" in out and "Pods selected by label instead of `workload=`" in out
    out = run("explain", "Postgres")[1]
    assert ".secret_key(key: str)  SecretKey" in out
    assert "An env value read from key `key`" in out


def test_unknown_name_exits_2_with_close_matches(run, no_color) -> None:
    """A misspelt name exits 2 and suggests the names it is close to; any case is accepted."""
    code, out, err = run("explain", "Volum")
    assert (code, out) == (2, "")
    assert (
        err
        == "klaster: the DSL has no 'Volum'; did you mean RetiredVolume or Volume? ('klaster explain' lists every name)\n"
    )
    assert "SecretKey" in run("explain", "Secret")[2]
    assert run("explain", "postgres")[1] == run("explain", "Postgres")[1]


def test_records_and_values_have_examples() -> None:
    """Every record and value type a user can write has an Example block (or a stated reason)."""
    missing = [
        e.name
        for e in catalogue().values()
        if e.group in ("record", "value")
        and example(e.target) is None
        and e.target not in NO_EXAMPLE
    ]
    assert missing == []


def test_every_example_builds(project: ProjectDir, run, no_color) -> None:
    """Each docstring's example, as an apps.d file of its own (Cluster's as the klasterfile),
    builds without a warning, and a record's example declares that record. The retirement
    examples retire what a first build had: app `wiki` with its volume."""
    project.app("wiki", HEAD + 'Volume("data")\n')
    assert run("build")[0] == 0
    (project.root / "apps.d" / "wiki.py").unlink()
    apps = {}
    for entry in catalogue().values():
        shown = example(entry.target)
        if shown is None:
            continue
        if entry.target is dsl.Cluster:
            (project.root / "klasterfile.py").write_text(HEAD + shown + "\n")
            continue
        apps[entry.name.lower().replace("_", "-")] = entry
        project.app(entry.name.lower().replace("_", "-"), HEAD + shown + "\n")
    code, _, err = run("build")
    assert code == 0, err
    assert "warning" not in err
    loaded = load(project.root)
    for app, entry in apps.items():
        if entry.group == "record":
            assert any(type(r) is entry.target and r.app == app for r in loaded.records), app
        elif entry.group == "value":
            assert f"{entry.name}(" in project.file(f"apps.d/{app}.py"), app


def _problem(tmp_path: Path, source: str) -> str:
    """The problem the loader reports for an apps.d file `x.py` holding `source`."""
    path = tmp_path / "apps.d" / "x.py"
    path.parent.mkdir(exist_ok=True)
    path.write_text(source)
    found = run_file(path, "apps.d/x.py", Registry(), "x", source.encode())
    assert found is not None
    return str(found)


def test_wrong_keyword_is_reported_on_its_own_line(tmp_path: Path) -> None:
    """The wrong keyword's own line of a multi-line call, a did-you-mean and every argument."""
    source = HEAD + 'data = Volume(\n    "data",\n    sise="1Gi",\n)\n'
    assert _problem(tmp_path, source) == (
        "apps.d/x.py:4: error: Volume has no argument 'sise'; did you mean 'size'? Its arguments: "
        f"{', '.join(_user_arguments(dsl.Volume))} (see 'klaster explain Volume')"
    )


@given(
    kind=st.sampled_from(CLASSES),
    wrong=st.from_regex(r"[a-z][a-z_]{0,15}", fullmatch=True),
)
def test_any_unknown_keyword_names_the_valid_ones(scratch: Path, kind: type, wrong: str) -> None:
    """For every DSL class and any keyword it does not take: one located message that names the
    class, the keyword and all its arguments."""
    names = _user_arguments(kind)
    if wrong in names or keyword.iskeyword(wrong) or wrong in ("origin", "app"):
        return
    message = _problem(scratch, f"{HEAD}{kind.__name__}({wrong}=1)\n")
    assert message.startswith(f"apps.d/x.py:2: error: {kind.__name__} has no argument {wrong!r}")
    assert message.lower().endswith(
        f"its arguments: {', '.join(names)} (see 'klaster explain {kind.__name__}')".lower()
    )


def test_missing_and_surplus_arguments_name_them(tmp_path: Path) -> None:
    """A missing required argument is named; too many unnamed ones say which may be unnamed."""
    assert _problem(tmp_path, HEAD + 'HelmRepository("charts")\n') == (
        "apps.d/x.py:2: error: HelmRepository needs 'url' (required: name, url; "
        "see 'klaster explain HelmRepository')"
    )
    assert _problem(tmp_path, HEAD + 'Volume("a", "2Gi")\n').startswith(
        "apps.d/x.py:2: error: Volume takes 1 unnamed argument ('name'), got 2; name the "
        "others (its arguments: name, size,"
    )
    assert _problem(tmp_path, HEAD + 'Port("dns", 53, "UDP", 5353)\n').startswith(
        "apps.d/x.py:2: error: Port takes 3 unnamed arguments ('name', 'number', 'protocol'), "
        "got 4; name the others (its arguments: name, number, protocol, target, public, "
        "public_reason;"
    )
    assert _problem(tmp_path, HEAD + 'Volume("a", name="b")\n') == (
        "apps.d/x.py:2: error: Volume got 'name' twice, unnamed and by name; give it once"
    )


def test_wrong_attribute_lists_what_the_record_has(tmp_path: Path) -> None:
    """`db.app_secrets`: a did-you-mean and every property, method and argument of Postgres."""
    message = _problem(tmp_path, HEAD + 'db = Postgres("db")\nenv = {"X": db.app_secrets}\n')
    assert message.startswith(
        "apps.d/x.py:3: error: Postgres has no attribute 'app_secrets'; did you mean "
        "'app_secret'? It has: "
    )
    offered = message.split("It has: ")[1]
    for member in _public_members(dsl.Postgres):
        assert member in offered
    for argument in _user_arguments(dsl.Postgres):
        assert argument in offered


def test_changing_a_record_says_to_declare_the_value(tmp_path: Path) -> None:
    """Records are frozen: assigning to one says where the value goes instead."""
    assert _problem(tmp_path, HEAD + 'v = Volume("a")\nv.size = "2Gi"\n') == (
        "apps.d/x.py:3: error: records and values cannot be changed once declared; give the "
        "value as an argument where it is declared"
    )


def test_internal_records_are_described_without_an_explain_hint(tmp_path: Path) -> None:
    """A record the DSL makes (db.cluster) lists what it has; only exported names get a hint."""
    message = _problem(tmp_path, HEAD + 'db = Postgres("db")\ndb.cluster.nme\n')
    assert message.startswith(
        "apps.d/x.py:3: error: PostgresCluster has no attribute 'nme'; did you mean 'name'?"
    )
    assert "klaster explain" not in message


def test_other_errors_keep_python_s_words(tmp_path: Path) -> None:
    """An attribute or type error outside the DSL's classes is reported as Python says it."""
    assert _problem(tmp_path, HEAD + '"x".nope\n') == (
        "apps.d/x.py:2: error: AttributeError: 'str' object has no attribute 'nope'"
    )
    assert _problem(tmp_path, HEAD + 'Postgres("db").app_secret.nope\n').startswith(
        "apps.d/x.py:2: error: AttributeError: 'Ref' object has no attribute 'nope'"
    )
    assert _problem(tmp_path, HEAD + "len(1)\n") == (
        "apps.d/x.py:2: error: TypeError: object of type 'int' has no len()"
    )


def test_klasterfile_keyword_mistake_is_located(project: ProjectDir, run, no_color) -> None:
    """The klasterfile's Cluster(...) gets the same message, at its line."""
    klasterfile = project.root / "klasterfile.py"
    klasterfile.write_text(klasterfile.read_text().replace("    domain=", "    domian="))
    project.app("web", HEAD + "ConfigMap('c', data={})\n")
    code, _, err = run("build")
    assert code == 2
    assert err.startswith(
        "klasterfile.py:5: error: Cluster has no argument 'domian'; did you mean 'domain'?"
    )
