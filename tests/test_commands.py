"""graph, todo, why and new on a fixture cluster and on the repo's own apps.d."""

from __future__ import annotations

import itertools
import json
import shutil
import subprocess

import pytest
from conftest import REPO, ProjectDir, klaster_subprocess

FIXTURE = {
    "llama": """\
from klaster_build.dsl import Container, Deployment, Service, Volume

models = Volume("models", size="10Gi", tier="ssd")
swap = Deployment("swap", containers=[Container("swap", image="ghcr.io/x/swap:1.0.0", ports={"http": 8080},
                  mounts={"/models": models.claim})])
Service("llama", workload=swap, ports={"http": 8080})
""",
    "web": """\
from klaster_build.dsl import ConfigMap, ref

ConfigMap("settings", data={"llm": f"http://{ref('llama/Service/llama').host}:8080"})
""",
}


@pytest.fixture
def fixture_cluster(project: ProjectDir) -> ProjectDir:
    """Two apps with a cross-app reference."""
    for name, source in FIXTURE.items():
        project.app(name, source)
    return project


def test_graph_json_round_trips_the_chain(fixture_cluster: ProjectDir, run) -> None:
    """JSON has every node with kind/App/file:line and the volume -> PV -> claim -> workload chain."""
    code, out, _ = run("graph", "--format", "json")
    assert code == 0
    data = json.loads(out)
    assert json.loads(json.dumps(data)) == data
    nodes = {n["address"]: n for n in data["nodes"]}
    assert nodes["llama/Deployment/swap"]["file"] == "apps.d/llama.py"
    assert nodes["llama/Deployment/swap"]["line"] == 4
    edges = {(e["from"], e["to"]) for e in data["edges"]}
    chain = [
        "llama/LVMVolume/llama-models-lvmssd",
        "llama/PersistentVolume/llama-models-lvmssd",
        "llama/PersistentVolumeClaim/llama-models-lvmssd",
        "llama/Deployment/swap",
    ]
    assert all(pair in edges for pair in itertools.pairwise(chain))
    assert ("llama/Service/llama", "web/ConfigMap/settings") in edges


def test_graph_tree_marks_cross_app_edges_and_problems(
    fixture_cluster: ProjectDir, run, no_color
) -> None:
    """The tree shows chains per app, the other app's dependents, and failing invariants."""
    code, out, _ = run("graph", "llama")
    assert code == 0
    assert "ConfigMap settings apps.d/web.py:3 (app web)" in out
    fixture_cluster.app("bad", "from klaster_build.dsl import Volume\nVolume('x', tier='nvme')\n")
    code, out, err = run("graph", "bad")
    assert code == 2
    assert "✗ error: Volume tier 'nvme' is not a storage tier" in out
    assert "apps.d/bad.py:2: error:" in err


def test_graph_dot_renders_with_graphviz(fixture_cluster: ProjectDir, run, tmp_path) -> None:
    """DOT output is accepted by the real `dot`, and svg/png are written through it."""
    if shutil.which("dot") is None:
        pytest.skip(
            "Graphviz `dot` is not installed (tests/install-tools installs the graphviz package)"
        )
    code, out, _ = run("graph", "--format", "dot")
    assert code == 0
    rendered = subprocess.run(
        ["dot", "-Tsvg"], input=out, capture_output=True, text=True, check=True
    )
    assert "<svg" in rendered.stdout
    picture = tmp_path / "g.png"
    assert run("graph", "--format", "png", "-o", str(picture))[0] == 0
    assert picture.read_bytes().startswith(b"\x89PNG")


def test_graph_mermaid_follows_the_flowchart_grammar(fixture_cluster: ProjectDir, run) -> None:
    """Mermaid: a flowchart header, one subgraph per app, id["label"] nodes and labelled edges."""
    import re

    code, out, _ = run("graph", "--format", "mermaid")
    assert code == 0
    lines = out.splitlines()
    assert lines[0] == "flowchart LR"
    grammar = [
        re.compile(r'^  subgraph app\d+\["[^"<>{}|\[\]]+"\]$'),
        re.compile(r'^    n\d+\["[^"<>{}|\[\]]+"\]$'),
        re.compile(r"^  end$"),
        re.compile(r"^  n\d+ -->\|[^|<>{}\[\]\"]*\| n\d+$"),
        re.compile(r"^  classDef problem .+$|^  class [n\d,]+ problem$"),
    ]
    for line in lines[1:]:
        assert any(rule.match(line) for rule in grammar), line
    assert out.count("subgraph") == 2


MERMAID = REPO / "tests" / "tools" / "mermaid"


@pytest.mark.skipif(
    not (MERMAID / "node_modules" / "mermaid").is_dir() or shutil.which("node") is None,
    reason="the Mermaid parser is not installed (tests/install-tools needs node and npm)",
)
def test_graph_mermaid_parses_with_the_real_mermaid(
    fixture_cluster: ProjectDir, run, tmp_path
) -> None:
    """The real Mermaid parser accepts our diagrams (problem highlights and the repo's own cluster
    included) and rejects a broken one, so the check is not vacuous."""
    project = fixture_cluster
    project.app(
        "broken",
        "from klaster_build.dsl import ConfigMap, ref\nConfigMap('x', data={'a': ref('nope/Service/x').host})\n",
    )
    code, out, _ = run("graph", "--format", "mermaid")
    assert code == 2 and "class " in out  # the dangling reference is highlighted
    diagram = tmp_path / "cluster.mmd"
    diagram.write_text(out)
    broken = tmp_path / "broken.mmd"
    broken.write_text(out.replace('"]', '"', 1))
    parse = [shutil.which("node") or "node", str(MERMAID / "parse.mjs")]
    good = subprocess.run([*parse, str(diagram)], capture_output=True, text=True, check=False)
    assert good.returncode == 0, good.stderr
    assert "flowchart" in good.stdout
    bad = subprocess.run([*parse, str(broken)], capture_output=True, text=True, check=False)
    assert bad.returncode == 1 and "Parse error" in bad.stderr
    own = tmp_path / "own.mmd"
    own.write_text(klaster_subprocess("graph", "--format", "mermaid", cwd=REPO).stdout)
    real = subprocess.run([*parse, str(own)], capture_output=True, text=True, check=False)
    assert real.returncode == 0, real.stderr


def test_svg_without_graphviz_names_the_package(
    fixture_cluster: ProjectDir, run, monkeypatch, no_color
) -> None:
    """Without `dot` the error says which package to install."""
    monkeypatch.setattr(shutil, "which", lambda name: None)
    code, _, err = run("graph", "--format", "svg", "-o", "x.svg")
    assert code == 2
    assert "install the package `graphviz`" in err


KANEO_SECRET = "from klaster_build.dsl import OIDC, VaultSecret\nVaultSecret('s', path='kaneo', keys=['{key}'])\n"


def test_todo_marks_new_steps_until_built(project: ProjectDir, run) -> None:
    """Steps the committed out/ did not need are NEW; after a build they are known."""
    project.app("kaneo", KANEO_SECRET.format(key="auth_secret") + "OIDC()\n")
    code, out, _ = run("todo")
    assert code == 0
    assert "NEW [secret] Create secret/kaneo in OpenBao with keys auth_secret" in out
    assert "NEW [authentik] Create the Authentik OAuth2/OIDC application 'kaneo'" in out
    run("build")
    code, out, _ = run("todo", "--json")
    rows = json.loads(out)
    assert {r["category"] for r in rows} == {"secret", "authentik", "openbao-sync"}
    assert not any(r["new"] for r in rows)


@pytest.mark.skipif(shutil.which("git") is None, reason="needs git")
def test_todo_compares_with_the_committed_out(project: ProjectDir, run) -> None:
    """In a git checkout, a step stays NEW after `klaster build` until out/ is committed."""

    def git(*args: str) -> None:
        subprocess.run(
            ["git", "-c", "user.name=t", "-c", "user.email=t@example.org", *args],
            cwd=project.root,
            check=True,
            capture_output=True,
        )

    project.app("web", "from klaster_build.dsl import ConfigMap\nConfigMap('c', data={'a': 'b'})\n")
    git("init", "-q")
    run("build")
    git("add", "-A")
    git("commit", "-qm", "first")
    project.app("kaneo", KANEO_SECRET.format(key="a"))
    run("build")
    code, out, _ = run("todo")
    assert code == 0
    assert "NEW [secret] Create secret/kaneo in OpenBao with keys a" in out
    git("add", "-A")
    git("commit", "-qm", "kaneo")
    code, out, _ = run("todo")
    assert "[secret] Create secret/kaneo in OpenBao with keys a" in out
    assert "NEW" not in out
    shutil.rmtree(project.root / "out")  # a work tree without out/: HEAD still says what runs
    code, out, _ = run("todo")
    assert code == 0 and "NEW" not in out


def test_build_summary_lists_only_new_operator_steps(project: ProjectDir, run, no_color) -> None:
    """`klaster build` ends with the steps the previous out/ did not need, and only those."""
    project.app("kaneo", KANEO_SECRET.format(key="a"))
    code, _, err = run("build")
    assert code == 0
    assert "2 new operator steps" in err
    assert "NEW [secret] Create secret/kaneo in OpenBao with keys a" in err
    project.app("kaneo", KANEO_SECRET.format(key="a") + "OIDC()\n")
    code, _, err = run("build")
    assert code == 0
    assert "3 new operator steps" in err
    assert "NEW [authentik] Create the Authentik OAuth2/OIDC application 'kaneo'" in err
    assert "NEW [secret] Create secret/authentik/kaneo in OpenBao" in err
    # The policy now grants the OIDC secret too: OpenBao must be synced again.
    assert "NEW [openbao-sync]" in err
    assert "secret/kaneo in OpenBao with keys a" not in err
    code, _, err = run("build")
    assert "new operator step" not in err


def test_a_path_two_apps_read_is_one_step_new_again_when_a_key_is_added(
    project: ProjectDir, run, no_color
) -> None:
    """Apps sharing a KV path get one step listing every key; a key added later is a new step."""
    project.app(
        "a",
        "from klaster_build.dsl import VaultSecret\nVaultSecret('s', path='shared', keys=['token'])\n",
    )
    assert run("build")[0] == 0
    project.app(
        "b",
        "from klaster_build.dsl import VaultSecret\nVaultSecret('s', path='shared', keys=['url'])\n",
    )
    code, _, err = run("build")
    assert code == 0
    assert "NEW [secret] Create secret/shared in OpenBao with keys token, url (read by a, b)" in err
    code, out, _ = run("todo")
    assert out.count("Create secret/shared in OpenBao") == 1


def test_build_summary_caps_a_long_list_of_new_steps(project: ProjectDir, run, no_color) -> None:
    """A first build of a big cluster names the first steps and points to `klaster todo`."""
    from klaster_build.report import NEW_STEPS_SHOWN

    secrets = "".join(f"VaultSecret('s{i}', path='p{i}', keys=['k'])\n" for i in range(30))
    project.app("many", "from klaster_build.dsl import VaultSecret\n" + secrets)
    code, _, err = run("build")
    assert code == 0
    assert "31 new operator steps" in err  # 30 secrets and the OpenBao sync
    assert err.count("  NEW [") == NEW_STEPS_SHOWN
    assert f"... and {31 - NEW_STEPS_SHOWN} more (klaster todo)" in err


def test_why_names_the_declaring_lines(fixture_cluster: ProjectDir, run) -> None:
    """why PATH and why PATH#Kind/name point at the apps.d lines."""
    run("build")
    code, out, _ = run(
        "why", "out/apps/llama/models-volume.yaml#PersistentVolumeClaim/llama-models-lvmssd"
    )
    assert code == 0
    assert (
        out
        == "apps.d/llama.py:3: llama/PersistentVolumeClaim/llama-models-lvmssd -> PersistentVolumeClaim llama-models-lvmssd\n"
    )
    code, out, _ = run("why", "out/apps/web/configmap.yaml", "--json")
    assert json.loads(out)["documents"][0]["origin"] == "apps.d/web.py:3"
    assert run("why", "out/nope.yaml")[0] == 2


def test_new_app_builds_and_checks_clean(project: ProjectDir, run, no_color) -> None:
    """`new` writes a commented app that builds; it refuses bad names and existing files."""
    assert run("new", "hello")[0] == 0
    assert run("new", "charted", "--helm", "https://charts.example.org", "charted", "1.2.3")[0] == 0
    code, _, err = run("build")
    assert code == 0, err
    assert run("build", "--check")[0] == 0
    assert run("new", "hello")[0] == 2
    code, _, err = run("new", "Bad_Name")
    assert code == 2 and "DNS-1123" in err


def test_repo_graph_and_todo_in_a_subprocess() -> None:
    """On the repo's own apps.d, as a user runs it: graph JSON, todo, NO_COLOR, exit codes."""
    result = klaster_subprocess("graph", "--format", "json", cwd=REPO)
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert {n["app"] for n in data["nodes"]} >= {"llama", "immich", "kaneo", "gitea", "openwebui"}
    assert ("llama/Service/llama", "openwebui/HelmRelease/openwebui") in {
        (e["from"], e["to"]) for e in data["edges"]
    }
    todo = klaster_subprocess("todo", cwd=REPO)
    assert todo.returncode == 0
    assert "Forward IPv4 UDP port 9987" in todo.stdout
    assert "\x1b[" not in todo.stdout + todo.stderr
    assert klaster_subprocess("--help", cwd=REPO).returncode == 0


def test_warnings_show_where_they_belong(project: ProjectDir, run, no_color) -> None:
    """A command run for some apps shows their warnings only (and every error); a full build
    shows each warning once."""
    for app in ("alpha", "beta"):
        project.app(
            app, f"from klaster_build.dsl import Postgres\nPostgres('{app}-db', tier='hdd')\n"
        )
    warning = "apps.d/{}.py:2: warning: database '{}-db' is on hdd"

    code, _, err = run("build")
    assert code == 0
    for app in ("alpha", "beta"):
        assert err.count(warning.format(app, app)) == 1

    for command in (("build", "alpha"), ("graph", "alpha"), ("graph", "alpha", "--format", "json")):
        code, out, err = run(*command)
        assert code == 0, command
        assert warning.format("alpha", "alpha") in err, command
        assert "beta" not in err, command
        assert "is on hdd" not in out.replace("alpha-db' is on hdd", ""), command

    # Another app's error still stops a build of one app, and is shown.
    project.app("beta", "from klaster_build.dsl import Volume\nVolume('x', tier='nvme')\n")
    code, _, err = run("build", "alpha")
    assert code == 2
    assert "apps.d/beta.py:2: error: Volume tier 'nvme' is not a storage tier" in err
