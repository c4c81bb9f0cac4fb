"""The tree the cluster runs, which every build is judged against as a change.

That is out/ as committed at git HEAD (Flux applies commits, never a work tree) when the project
is a git work tree whose HEAD has out/; otherwise out/ on disk. So a volume that only a local,
never committed build wrote was never applied and may go, and a committed one is protected even
when out/ on disk was deleted or rebuilt since.
"""

from __future__ import annotations

import hashlib
import subprocess
from collections.abc import Mapping
from pathlib import Path

import attrs
import yaml

from klaster_build.family import Documents
from klaster_build.output import MANIFEST, Manifest

COMMITTED = "out/ as committed at git HEAD"
ON_DISK = "out/ on disk"


@attrs.frozen
class Baseline:
    """The previous tree, as far as a change from it needs: the files the new build rewrites or
    drops (with their previous content) and the operator steps its manifest recorded."""

    source: str  # COMMITTED or ON_DISK, said in messages
    changed: dict[str, bytes]  # previous content of the files the build changes or drops
    dropped: frozenset[str]  # previous files the build no longer writes
    steps: frozenset[str]  # operator step keys of the previous manifest


def documents(contents: dict[str, bytes]) -> Documents:
    """YAML documents of the given files (others skipped), for comparing old and new trees."""
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    parsed: Documents = {}
    for path, content in contents.items():
        if path.endswith(".yaml"):
            try:
                parsed[path] = [
                    d for d in yaml.load_all(content, Loader=loader) if isinstance(d, dict)
                ]
            except yaml.YAMLError:
                continue  # a hand-broken file: its diff is shown; nothing to compare
    return parsed


def _git(root: Path, args: list[str], stdin: bytes | None = None) -> bytes | None:
    try:
        done = subprocess.run(
            ["git", *args], cwd=root, input=stdin, capture_output=True, check=False
        )
    except OSError:  # no git
        return None
    return done.stdout if done.returncode == 0 else None


def _blob_id(content: bytes) -> str:
    """The id git gives a blob of `content` (so unchanged files need not be read from git)."""
    return hashlib.sha1(b"blob %d\0" % len(content) + content, usedforsecurity=False).hexdigest()


def _committed(root: Path, out_rel: str) -> dict[str, str] | None:
    """path -> blob id of every file under out/ at HEAD; None when there is none."""
    listing = _git(root, ["ls-tree", "-r", "-z", "HEAD", "--", f"{out_rel}/"])
    if not listing:
        return None
    blobs = {}
    for entry in listing.split(b"\0"):
        if entry:
            meta, _, path = entry.partition(b"\t")
            mode_type_id = meta.split()
            if len(mode_type_id) == 3 and mode_type_id[1] == b"blob":
                blobs[path.decode("utf-8", "surrogateescape")] = mode_type_id[2].decode()
    return blobs or None


def _cat(root: Path, ids: list[str]) -> dict[str, bytes]:
    """The contents of git blobs, read in one `git cat-file --batch`."""
    if not ids:
        return {}
    output = _git(root, ["cat-file", "--batch"], "".join(f"{i}\n" for i in ids).encode()) or b""
    contents, position = {}, 0
    for blob in ids:
        header_end = output.index(b"\n", position)
        size = int(output[position:header_end].split()[2])
        contents[blob] = output[header_end + 1 : header_end + 1 + size]
        position = header_end + 1 + size + 1
    return contents


def previous_manifest(root: Path, out_rel: str) -> Manifest:
    """The manifest of the tree the cluster runs: out/'s at git HEAD, else out/'s on disk (also
    when out/ itself is gone from the work tree)."""
    shown = _git(root, ["show", f"HEAD:./{out_rel}/{MANIFEST}"])
    committed = Manifest.parse(shown.decode("utf-8", "replace")) if shown else None
    return committed or Manifest.read(root / out_rel)


def read(
    root: Path,
    out_rel: str,
    rendered: Mapping[str, bytes],
    on_disk: Mapping[str, bytes] | None = None,
) -> Baseline:
    """The previous tree of out/ (`out_rel`, project-relative), compared with the `rendered`
    files of a whole build. `on_disk`: files the build already read from out/ (its plan), so the
    on-disk fallback reads each file once."""
    known = on_disk or {}
    manifest_path = f"{out_rel}/{MANIFEST}"
    committed = _committed(root, out_rel)
    if committed is not None:
        differing = {
            path: blob
            for path, blob in committed.items()
            if path == manifest_path or path not in rendered or _blob_id(rendered[path]) != blob
        }
        contents = _cat(root, sorted(set(differing.values())))
        previous = {path: contents[blob] for path, blob in differing.items()}
        manifest = Manifest.parse(previous.pop(manifest_path, b"").decode("utf-8", "replace"))
        source = COMMITTED
    else:
        manifest = Manifest.read(root / out_rel)
        owned, _ = manifest.owning(out_rel, ())
        previous = {}
        for path in owned.files:
            content = known.get(path)
            if content is None:
                try:
                    content = (root / path).read_bytes()
                except OSError:
                    continue
            if rendered.get(path) != content:
                previous[path] = content
        source = ON_DISK
    return Baseline(
        source,
        previous,
        frozenset(p for p in previous if p not in rendered),
        frozenset(manifest.steps if manifest else ()),
    )
