"""Every field that takes text takes references, f-strings included: none ever reaches out/ as
the raw marker, and a record's reference is a graph edge."""

from __future__ import annotations

import shutil
from pathlib import Path

from conftest import KLASTERFILE, ProjectDir
from hypothesis import given
from hypothesis import strategies as st

from klaster_build.checks import unresolved_references
from klaster_build.cli import main
from klaster_build.emit.outputs import Output
from klaster_build.engine import load
from klaster_build.graph import build_graph
from klaster_build.refs import MARK

# Where a user writes text, and the references they write into it (with what each renders to).
CARRIERS = {
    "ingress annotation": 'Ingress("web", backend=svc, port="http", sso_reason="public page", annotations={{"example.org/note": {text}}})',
    "secret template": 'VaultSecret("web-secret", path="web", keys=["a"], templates={{"url": {text}}})',
    "oidc template": 'OIDC(templates={{"issuer": {text}}})',
    "config map": 'ConfigMap("web-config", data={{"note": {text}}})',
    "env": 'Deployment("env", containers=[Container("env", image="nginx:1.27.3", env={{"NOTE": {text}}})])',
}
REFERENCES = {
    "cluster.domain": "example.org",
    "cluster.authentik_url": "https://auth.example.org",
    "svc.host": "web.web.svc.cluster.local",
}
HEAD = """\
from klaster_build.dsl import *
web = Deployment("web", containers=[Container("web", image="nginx:1.27.3", ports={"http": 80})])
svc = Service("web", workload=web, ports={"http": 80})
"""


def _out_text(root: Path) -> str:
    return "".join(p.read_text() for p in sorted((root / "out").rglob("*")) if p.is_file())


@given(
    placed=st.lists(
        st.tuples(st.sampled_from(sorted(CARRIERS)), st.sampled_from(sorted(REFERENCES))),
        min_size=1,
        max_size=5,
        unique_by=lambda pair: pair[0],
    )
)
def test_references_in_any_text_field_are_resolved(scratch: Path, placed) -> None:
    root = scratch / "refs"
    if root.exists():
        shutil.rmtree(root)
    (root / "apps.d").mkdir(parents=True)
    (root / "klasterfile.py").write_text(KLASTERFILE)
    lines = [HEAD]
    for carrier, reference in placed:
        text = 'f"<{' + reference + '}>"'
        lines.append(CARRIERS[carrier].format(text=text) + "\n")
    (root / "apps.d" / "web.py").write_text("".join(lines))
    assert main(["-C", str(root), "build"]) == 0
    written = _out_text(root)
    assert MARK not in written and "\\x00" not in written and "\\0" not in written
    for _, reference in placed:
        assert f"<{REFERENCES[reference]}>" in written
    # A record's reference inside an f-string is a graph edge from that record.
    graph = build_graph(load(root))
    service = next(r for r in graph.graph.nodes if type(r).__name__ == "Service")
    dependents = {type(r).__name__ for r in graph.dependents(service)}
    for carrier, reference in placed:
        if reference == "svc.host":
            expected = CARRIERS[carrier].split("(", 1)[0]
            assert expected in dependents, (carrier, dependents)


def test_the_invariant_refuses_a_marker_in_any_output(project: ProjectDir) -> None:
    """Were an emitter ever to write a value without resolving it, the build stops at the
    declaring line instead of writing the marker."""
    project.app("web", HEAD)
    record = next(r for r in load(project.root).records if type(r).__name__ == "Service")
    leaked = f"{MARK}deadbeef-1{MARK}"
    for output in (
        Output("apps/web/x.yaml", record, document={"metadata": {"annotations": {"a": leaked}}}),
        Output("apps/web/x.txt", record, text=f"host {leaked}\n"),
    ):
        (problem,) = unresolved_references({output.path: [output]})
        assert problem.origin == record.origin
        assert "would hold a reference klaster did not resolve" in problem.message
