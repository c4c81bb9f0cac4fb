"""The manifest is data, never an instruction: klaster only ever deletes files under out/ that it
generated, whatever a merge or a hand edit put into out/.klaster-manifest.json."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
from conftest import ProjectDir
from hypothesis import given
from hypothesis import strategies as st

from klaster_build.output import Manifest, is_plain_path

WEB = """\
from klaster_build.dsl import Container, Deployment, Service

web = Deployment("web", containers=[Container("web", image="nginx:1.27.3", ports={"http": 80})])
Service("web", workload=web, ports={"http": 80})
"""
MANIFEST = "out/.klaster-manifest.json"


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _forge(project: ProjectDir, entries: dict[str, str]) -> None:
    """Add entries to the manifest as a merge or a hand edit would."""
    path = project.root / MANIFEST
    manifest = json.loads(path.read_text())
    manifest["files"].update(entries)
    path.write_text(json.dumps(manifest))


def test_forged_entries_never_touch_their_files(project: ProjectDir, run, no_color, tmp_path):
    """Entries outside out/, odd spellings of paths, the manifest itself and .git: with the
    right hash of the canary (the worst case) the next build deletes none of them, says so at
    the manifest, and drops the entries."""
    project.app("web", WEB)
    assert run("build")[0] == 0
    outside = tmp_path / "outside-canary.txt"  # beside the project
    outside.write_text("outside\n")
    absolute = tmp_path / "absolute-canary.txt"
    absolute.write_text("absolute\n")
    inside = project.root / "notes.txt"  # in the project, outside out/
    inside.write_text("notes\n")
    in_out = project.out / "mine.txt"  # in out/, reached by an odd spelling only
    in_out.write_text("mine\n")
    git_config = project.out / ".git" / "config"
    git_config.parent.mkdir()
    git_config.write_text("[core]\n")
    canaries = {
        "../outside-canary.txt": outside,
        str(absolute): absolute,
        "notes.txt": inside,
        "klasterfile.py": project.root / "klasterfile.py",
        "apps.d/web.py": project.root / "apps.d" / "web.py",
        "out/./mine.txt": in_out,
        "out//mine.txt": in_out,
        "out/apps/../mine.txt": in_out,
        "out/.git/config": git_config,
        MANIFEST: project.root / MANIFEST,
    }
    project.app("web", WEB.replace('Service("web", workload=web, ports={"http": 80})\n', ""))
    before = {path: path.read_bytes() for path in set(canaries.values())}
    _forge(project, {entry: _sha(path.read_bytes()) for entry, path in canaries.items()})
    _forge(project, {"/dev/zero": "0" * 64})  # reading it would never end
    code, _, err = run("build")
    assert code == 0, err
    for path, content in before.items():
        if path != project.root / MANIFEST:
            assert path.read_bytes() == content, path
    for entry in [*canaries, "/dev/zero"]:
        assert (
            f"{MANIFEST}:0: warning: lists {entry!r}, which is not a file klaster generates under out/"
            in err
        )
    owned = json.loads((project.root / MANIFEST).read_text())["files"]
    assert not set(owned) & {*canaries, "/dev/zero", "out/apps/web/service.yaml"}
    assert "out/apps/web/deployment.yaml" in owned
    assert not (project.out / "apps/web/service.yaml").exists()  # its own file did go
    assert run("build", "--check")[0] == 0


def test_an_edited_file_no_longer_generated_is_kept(project: ProjectDir, run, no_color) -> None:
    """A file klaster wrote, then edited by hand, is not proven to be klaster's any more: when
    the build stops generating it, it stays, a warning says so, and klaster lets it go."""
    project.app("web", WEB)
    assert run("build")[0] == 0
    service = project.out / "apps/web/service.yaml"
    service.write_text(service.read_text() + "# my note\n")
    project.app("web", WEB.replace('Service("web", workload=web, ports={"http": 80})\n', ""))
    code, _, err = run("build")
    assert code == 0, err
    assert service.read_text().endswith("# my note\n")
    assert "out/apps/web/service.yaml:0: warning: is no longer generated but was edited" in err
    owned = json.loads((project.root / MANIFEST).read_text())["files"]
    assert "out/apps/web/service.yaml" not in owned
    code, _, err = run("build")
    assert code == 0 and "service.yaml" not in err


@pytest.mark.parametrize(
    ("path", "plain"),
    [
        ("out/apps/web/service.yaml", True),
        ("renovate.json", True),
        ("", False),
        ("/etc/passwd", False),
        ("../x", False),
        ("out/../x", False),
        ("out/./x", False),
        ("out//x", False),
        ("out/x/", False),
        ("out\\x", False),
        ("out/.git/config", False),
        ("out/x\0y", False),
    ],
)
def test_plain_paths(path: str, plain: bool) -> None:
    assert is_plain_path(path) is plain


@given(entry=st.text(alphabet="./abgit\\\0-", min_size=0, max_size=12))
def test_owned_entries_stay_under_out(entry: str) -> None:
    """Whatever an entry says, what klaster owns is a plain path under out/ (or a file outside
    out/ it renders itself), and never the manifest."""
    manifest = Manifest({entry: "0" * 64, "out/a.yaml": "1" * 64})
    owned, foreign = manifest.owning("out", ["renovate.json"])
    assert set(owned.files) | set(foreign) == set(manifest.files)
    for path in owned.files:
        resolved = Path("/project", path).resolve()
        assert resolved.is_relative_to(Path("/project/out"))
        assert resolved != Path("/project/out/.klaster-manifest.json")
        assert ".git" not in Path(path).parts


def test_a_symlinked_renovate_json_never_writes_through(
    project: ProjectDir, run, no_color, tmp_path
) -> None:
    """renovate.json (owned, outside out/) replaced by a symlink to a file outside the project:
    the build replaces the link, never the file it points at."""
    project.app("web", WEB)
    assert run("build")[0] == 0
    canary = tmp_path / "canary.json"
    canary.write_text("{}\n")
    renovate = project.root / "renovate.json"
    renovate.unlink()
    renovate.symlink_to(canary)
    code, _, err = run("build")
    assert code == 0, err
    assert canary.read_text() == "{}\n"
    assert not renovate.is_symlink()


def test_the_no_op_answer_never_trusts_an_entry_outside_out(
    project: ProjectDir, run, no_color
) -> None:
    """A forged entry and a cache that matches it (both hand-made): the build does not answer
    "up to date" from them; it renders, warns at the manifest and drops the entry."""
    project.app("web", WEB)
    assert run("build")[0] == 0
    klasterfile = project.root / "klasterfile.py"
    before = klasterfile.read_bytes()
    _forge(project, {"klasterfile.py": _sha(before), "apps.d/web.py": "0" * 64})
    fingerprint = project.root / ".klaster-cache/fingerprint"
    recorded = fingerprint.read_text().split()[0]
    manifest_sha = _sha((project.root / MANIFEST).read_bytes())
    fingerprint.write_text(f"{recorded} {manifest_sha}")
    code, _, err = run("build")
    assert code == 0, err
    assert "up to date" not in err
    assert f"{MANIFEST}:0: warning: lists 'klasterfile.py'" in err
    assert klasterfile.read_bytes() == before
    assert "klasterfile.py" not in json.loads((project.root / MANIFEST).read_text())["files"]


@pytest.mark.parametrize("out_dir", ["apps.d", "apps.d/out", ".git", "x/.git", ".klaster-cache"])
def test_out_dir_is_never_where_inputs_or_state_live(
    project: ProjectDir, run, no_color, out_dir: str
) -> None:
    """out/ in apps.d/, .git or .klaster-cache would let a manifest entry own an input or git's
    data: the klasterfile line is refused, nothing written."""
    klasterfile = project.root / "klasterfile.py"
    klasterfile.write_text(
        klasterfile.read_text().replace("\n)\n", f"\n    out_dir={out_dir!r},\n)\n", 1)
    )
    project.app("web", WEB)
    code, _, err = run("build")
    assert code == 2, err
    assert "error: Cluster 'out_dir' must be a directory of its own" in err
    assert not (project.root / "renovate.json").exists()
