"""Fuzzing: record constructors and the loader never crash with anything but a located message."""

from __future__ import annotations

import shutil
from pathlib import Path

import attrs
from conftest import KLASTERFILE
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from klaster_build import dsl, engine
from klaster_build.errors import DeclarationError, ProblemsFound
from klaster_build.explain import call_mistake
from klaster_build.families import CATALOG
from klaster_build.records.base import Record
from klaster_build.records.exposure import ChartIngress, Ingress, LoadBalancer
from klaster_build.records.storage import Postgres, Volume
from klaster_build.records.vault import OIDC, VaultAccess, VaultPolicy, VaultSecret
from klaster_build.records.workloads import Container, Port
from klaster_build.registry import session

DECLARABLE = tuple(
    t
    for t in (getattr(dsl, name) for name in dsl.__all__)
    if isinstance(t, type) and issubclass(t, Record)
)
FUZZED = (
    *DECLARABLE,
    Container,
    Port,
    Volume,
    Postgres,
    VaultSecret,
    VaultAccess,
    VaultPolicy,
    OIDC,
    Ingress,
    ChartIngress,
    LoadBalancer,
)


def test_every_record_type_apps_can_declare_belongs_to_a_family() -> None:
    """The DSL and the families agree: a record type exported to apps.d is one klaster builds
    (else it would render nothing), and the catalog knows nothing that is not a record."""
    assert DECLARABLE
    assert set(DECLARABLE) <= CATALOG.record_types
    assert all(issubclass(t, Record) for t in CATALOG.record_types)


SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**70), 2**70),
    st.floats(allow_nan=True),
    st.text(max_size=80),
    st.sampled_from(
        [
            "web",
            "10Gi",
            "nginx:1.27.3",
            "https://example.org/x",
            "/dev/dri",
            "../x",
            "A_B",
            "x" * 300,
        ]
    ),
)
VALUES = st.recursive(
    SCALARS,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=10), inner, max_size=3)
    ),
    max_leaves=8,
)
EXAMPLES = {"count": 0}


@st.composite
def constructor_calls(draw: st.DrawFn) -> tuple[type, dict[str, object]]:
    """A record type and random values for a random subset of its init fields."""
    record_type = draw(st.sampled_from(FUZZED))
    fields = [f for f in attrs.fields(record_type) if f.init and f.name not in ("origin", "app")]
    chosen = draw(st.lists(st.sampled_from(fields), unique=True)) if fields else []
    return record_type, {f.alias or f.name: draw(VALUES) for f in chosen}


@settings(suppress_health_check=[HealthCheck.too_slow])
@given(call=constructor_calls())
def test_constructors_raise_only_declaration_errors(call: tuple[type, dict[str, object]]) -> None:
    """Wrong values are DeclarationErrors with a message; a missing argument is a TypeError the
    loader says in the DSL's terms."""
    record_type, kwargs = call
    EXAMPLES["count"] += 1
    with session(app="fuzz"):
        try:
            record_type(**kwargs)
        except DeclarationError as error:
            assert str(error)
        except TypeError as error:
            # Only the call's own shape (missing required arguments) may be a TypeError.
            mistake = call_mistake(error)
            assert mistake is not None and "needs" in str(mistake), repr(error)


FRAGMENTS = [
    "Deployment('d', containers=[Container('d', image='nginx:1.27.3', ports={'http': 80})])",
    "Service('s', ports={'http': 80})",
    "Volume('data', size='1Gi')",
    "Volume('data', size='10GB')",
    "Postgres('db')",
    "VaultSecret('s', path='x', keys=['k'])",
    "OIDC()",
    "ChartIngress('web')",
    "LoadBalancer('lb', selector={'a': 'b'}, ports=[Port('voice', 9987, 'UDP')])",
    "ConfigMap('c', data={'k': 'v'})",
    "ConfigMap('C', data=1)",
    "ref('nowhere/Service/x')",
    "ConfigMap('r', data={'u': ref('fuzz/Service/s').host})",
    "raise ValueError('x')",
    "x = (",
    "import not_a_module",
    "App(namespace='shared')",
    "HelmRepository('r', url='ftp://x')",
    "Deployment('p', containers=[Container('p', image='x/y:latest')])",
]


@settings(max_examples=60, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(apps=st.lists(st.lists(st.sampled_from(FRAGMENTS), max_size=4), min_size=1, max_size=3))
def test_loader_never_crashes_and_never_writes_on_error(
    scratch: Path, apps: list[list[str]]
) -> None:
    """Random apps.d sources: success, or exit-2 problems each located in an apps.d file."""
    root = scratch / "p"
    if root.exists():
        shutil.rmtree(root)
    (root / "apps.d").mkdir(parents=True)
    (root / "klasterfile.py").write_text(KLASTERFILE)
    for index, lines in enumerate(apps):
        name = "fuzz" if index == 0 else f"app{index}"
        (root / "apps.d" / f"{name}.py").write_text(
            "from klaster_build.dsl import *\n" + "\n".join(lines) + "\n"
        )
    try:
        result = engine.build(root)
    except ProblemsFound as found:
        assert found.problems
        for problem in found.problems:
            assert problem.origin.path.startswith("apps.d/"), str(problem)
            assert problem.origin.line >= 1
        assert not (root / "out").exists()
    else:
        assert result.status == 0
        assert engine.build(root, check=True).status == 0
