"""Compare the rendered tree with the disk, and write it all-or-nothing.

klaster owns exactly the files listed in `<out>/.klaster-manifest.json` (with the hash it wrote).
It never overwrites or deletes any other file. The out/ directory is replaced in one atomic
step (rename-exchange of a fully written staging copy), so a build killed at any moment leaves
either the old tree or the new one; the next build removes what a killed one left behind.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import difflib
import hashlib
import json
import os
import shutil
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

import attrs

if TYPE_CHECKING:
    import cattrs

MANIFEST = ".klaster-manifest.json"
STAGING_PREFIX = ".klaster-staging-"
OLD_PREFIX = ".klaster-old-"


class OwnershipError(Exception):
    """out/ holds something klaster must not touch; the message says what to do."""


def digest(data: bytes) -> str:
    """sha256 hex of `data`."""
    return hashlib.sha256(data).hexdigest()


@attrs.frozen
class Manifest:
    """What the last build wrote: file hashes and the fingerprint of its inputs."""

    files: dict[str, str]
    inputs: str = ""
    steps: tuple[str, ...] = ()  # operator step keys the build needed (for "new" in klaster todo)
    apps: dict[str, str] = attrs.Factory(
        dict
    )  # app -> digest of its apps.d file (incremental builds)

    @classmethod
    def read(cls, out_dir: Path) -> Manifest:
        """The manifest in out_dir, or an empty one when it is missing or not one of ours."""
        try:
            text = (out_dir / MANIFEST).read_text("utf-8")
        except (OSError, ValueError):
            return cls({})
        # A damaged one owns nothing: everything in out/ then counts as foreign, never overwritten.
        return cls.parse(text) or cls({})

    @classmethod
    def parse(cls, text: str) -> Manifest | None:
        """A manifest from its JSON text; None when it is not one of ours."""
        import cattrs

        try:
            return _MANIFEST_JSON.structure(json.loads(text), cls)
        except (ValueError, TypeError, cattrs.BaseValidationError):
            return None

    @classmethod
    def committed(cls, out_dir: Path) -> Manifest | None:
        """The manifest of out/ as committed at git HEAD; None outside git or when not committed."""
        import subprocess

        try:
            shown = subprocess.run(
                ["git", "show", f"HEAD:./{MANIFEST}"],
                cwd=out_dir,
                capture_output=True,
                text=True,
                check=False,
            )
        except OSError:  # no git, or out/ does not exist yet
            return None
        return cls.parse(shown.stdout) if shown.returncode == 0 else None

    def dumps(self) -> bytes:
        """Deterministic JSON."""
        body = {"generator": "klaster", **_MANIFEST_JSON.unstructure(self)}
        body["steps"] = sorted(body["steps"])
        return (json.dumps(body, indent=1, sort_keys=True) + "\n").encode("utf-8")


def _strict_str(value: object, _: type) -> str:
    if not isinstance(value, str):
        msg = f"expected a string, found {value!r}"
        raise TypeError(msg)
    return value


def _strict_strings(value: object, _: type) -> tuple[str, ...]:
    if not isinstance(value, list):
        msg = f"expected a list of strings, found {value!r}"
        raise TypeError(msg)
    return tuple(_strict_str(item, str) for item in value)


def _manifest_converter() -> cattrs.Converter:
    """cattrs converter for the manifest file: strings must be strings (no str(3) coercion)."""
    import cattrs

    converter = cattrs.Converter()
    converter.register_structure_hook(str, _strict_str)
    converter.register_structure_hook_func(lambda t: t == tuple[str, ...], _strict_strings)
    return converter


_MANIFEST_JSON = _manifest_converter()


@attrs.frozen
class Plan:
    """What a build would change, relative to the project root."""

    write: dict[str, bytes]
    delete: tuple[str, ...]
    unchanged: tuple[str, ...]
    hand_edited: tuple[str, ...]  # owned files whose content is not what klaster wrote
    foreign: tuple[str, ...]  # files klaster would write but did not generate earlier
    current: dict[str, bytes]  # what is on disk now, for the paths above

    @property
    def is_noop(self) -> bool:
        """Nothing to write or delete."""
        return not self.write and not self.delete


def _read(path: Path) -> bytes | None:
    try:
        return path.read_bytes()
    except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
        return None


def check_symlinks(out_dir: Path) -> None:
    """Refuse an out/ that contains a symlink leading outside it."""
    if out_dir.is_symlink():
        msg = f"{out_dir} is a symlink; klaster writes only into a real directory. Replace it with a directory."
        raise OwnershipError(msg)
    if not out_dir.exists():
        return
    root = out_dir.resolve()
    pending = [str(out_dir)]
    while pending:  # scandir: the entry types come with the listing, no stat per file
        with os.scandir(pending.pop()) as entries:
            for entry in entries:
                if entry.is_symlink():
                    target = Path(entry.path).resolve()
                    if root not in target.parents and target != root:
                        msg = f"{entry.path} is a symlink to {target}, outside {out_dir}; remove it and build again"
                        raise OwnershipError(msg)
                elif entry.is_dir(follow_symlinks=False):
                    pending.append(entry.path)


def plan(
    root: Path,
    out_dir: Path,
    files: dict[str, bytes],
    scope: Iterable[str] | None = None,
    keep: Iterable[str] = (),
) -> Plan:
    """Compare rendered `files` (project-relative) with the disk and the manifest.

    `scope` limits deletion to paths under those prefixes (a partial build); the paths in `keep`
    (files of apps a partial or incremental render left out) are left as they are.
    """
    check_symlinks(out_dir)
    manifest = Manifest.read(out_dir)
    prefixes = tuple(scope) if scope is not None else None
    kept = set(keep)
    write: dict[str, bytes] = {}
    unchanged, hand_edited, foreign, delete = [], [], [], []
    current: dict[str, bytes] = {}
    for path, content in files.items():
        on_disk = _read(root / path)
        if on_disk is not None:
            current[path] = on_disk
        owned_hash = manifest.files.get(path)
        if on_disk is not None and owned_hash is None and on_disk != content:
            foreign.append(path)
            continue
        if on_disk is not None and owned_hash is not None and digest(on_disk) != owned_hash:
            hand_edited.append(path)
        if on_disk == content:
            unchanged.append(path)
        else:
            write[path] = content
    for path, owned_hash in manifest.files.items():
        outside = prefixes is not None and not path.startswith(prefixes)
        if path in files or outside or path in kept:
            continue
        on_disk = _read(root / path)
        if on_disk is None:
            continue
        current[path] = on_disk
        if digest(on_disk) != owned_hash:
            hand_edited.append(path)
        delete.append(path)
    return Plan(
        write,
        tuple(sorted(delete)),
        tuple(sorted(unchanged)),
        tuple(sorted(hand_edited)),
        tuple(sorted(foreign)),
        current,
    )


def unified_diff(plan_: Plan, files: dict[str, bytes], limit: int = 400) -> str:
    """A readable diff of what a build would change (at most `limit` lines)."""
    lines: list[str] = []
    for path in sorted(set(plan_.write) | set(plan_.delete)):
        old = plan_.current.get(path, b"").decode("utf-8", "replace").splitlines(keepends=True)
        new = files.get(path, b"").decode("utf-8", "replace").splitlines(keepends=True)
        before = f"a/{path}" if path in plan_.current else "/dev/null"
        after = f"b/{path}" if path in files else "/dev/null"
        lines.extend(difflib.unified_diff(old, new, before, after))
    if len(lines) > limit:
        lines = [*lines[:limit], f"... {len(lines) - limit} more diff lines\n"]
    return "".join(
        line if line.endswith("\n") else line + "\n\\ No newline at end of file\n" for line in lines
    )


def cleanup_leftovers(out_dir: Path) -> list[Path]:
    """Remove staging/old copies a killed build left next to out/; returns what was removed."""
    removed: list[Path] = []
    parent = out_dir.parent
    if not parent.is_dir():
        return removed
    staging = out_dir.with_name(f"{STAGING_PREFIX}{out_dir.name}")
    old = out_dir.with_name(f"{OLD_PREFIX}{out_dir.name}")
    if not out_dir.exists():
        # Killed between the two renames of the fallback swap: finish it, or undo it.
        if (staging / MANIFEST).is_file() and old.exists():
            staging.rename(out_dir)
        elif old.exists():
            old.rename(out_dir)
    for prefix in (STAGING_PREFIX, OLD_PREFIX):
        for leftover in parent.glob(f"{prefix}{out_dir.name}*"):
            shutil.rmtree(leftover, ignore_errors=True)
            removed.append(leftover)
    if not out_dir.exists():
        return removed
    for tmp in out_dir.rglob(".klaster-tmp-*"):
        tmp.unlink(missing_ok=True)
        removed.append(tmp)
    return removed


_RENAME_EXCHANGE = 2
_AT_FDCWD = -100


def _exchange(a: Path, b: Path) -> bool:
    """Atomically swap two directories (Linux renameat2); False when unsupported."""
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        renameat2 = libc.renameat2
    except (OSError, AttributeError):
        return False
    result = renameat2(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE)
    return bool(result == 0)


def _link_or_copy(source: str, target: str) -> None:
    try:
        os.link(source, target)
    except OSError:
        shutil.copy2(source, target)


def apply(
    root: Path,
    out_dir: Path,
    plan_: Plan,
    files: dict[str, bytes],
    inputs: str = "",
    steps: tuple[str, ...] = (),
    apps: dict[str, str] | None = None,
) -> None:
    """Write the plan: out/ is swapped in whole; files outside out/ are replaced one by one."""
    cleanup_leftovers(out_dir)
    manifest = Manifest.read(out_dir)
    owned = dict(manifest.files)
    for path in plan_.delete:
        owned.pop(path, None)
    for path, content in files.items():
        owned[path] = digest(content)
    new_manifest = Manifest(owned, inputs, steps, apps or {}).dumps()
    out_rel = out_dir.relative_to(root).as_posix() + "/"
    inside = {p: c for p, c in plan_.write.items() if p.startswith(out_rel)}
    outside = {p: c for p, c in plan_.write.items() if not p.startswith(out_rel)}
    deleted = set(plan_.delete)
    if (
        inside
        or any(p.startswith(out_rel) for p in deleted)
        or Manifest.read(out_dir).dumps() != new_manifest
    ):
        _swap_in(root, out_dir, inside, deleted, new_manifest)
    for path, content in outside.items():
        target = root / path
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(f".klaster-tmp-{target.name}")
        tmp.write_bytes(content)
        os.replace(tmp, target)
    for path in deleted:
        if not path.startswith(out_rel):
            (root / path).unlink(missing_ok=True)


def _swap_in(
    root: Path, out_dir: Path, writes: dict[str, bytes], deleted: set[str], manifest: bytes
) -> None:
    """Build the new tree beside out/ (unchanged files hard-linked) and swap it in at once."""
    staging = out_dir.with_name(f"{STAGING_PREFIX}{out_dir.name}")
    staging.mkdir()
    source_top, staging_top = str(out_dir), str(staging)
    replaced = {os.path.join(str(root), p) for p in (*writes, *deleted)}
    replaced.add(os.path.join(source_top, MANIFEST))
    if out_dir.exists():
        # Plain os calls on strings: this walks every file of out/ on each build.
        for dirpath, dirnames, filenames in os.walk(source_top):
            target_dir = staging_top + dirpath[len(source_top) :]
            for name in dirnames:
                os.mkdir(os.path.join(target_dir, name))
            for name in filenames:
                source = os.path.join(dirpath, name)
                if source not in replaced:
                    _link_or_copy(source, os.path.join(target_dir, name))
    prefix = len(out_dir.relative_to(root).as_posix()) + 1
    made: set[str] = set()
    for path, content in writes.items():
        target = os.path.join(staging_top, path[prefix:])
        folder = os.path.dirname(target)
        if folder not in made:
            os.makedirs(folder, exist_ok=True)
            made.add(folder)
        with open(target, "wb") as stream:
            stream.write(content)
    (staging / MANIFEST).write_bytes(manifest)
    if deleted:
        _prune_empty_dirs(staging)
    if not out_dir.exists():
        staging.rename(out_dir)
        return
    if _exchange(staging, out_dir):
        shutil.rmtree(staging)
        return
    old = out_dir.with_name(f"{OLD_PREFIX}{out_dir.name}")
    out_dir.rename(old)
    staging.rename(out_dir)
    shutil.rmtree(old)


def _prune_empty_dirs(top: Path) -> None:
    """Remove directories left empty by deletions (never `top` itself)."""
    for dirpath, _dirnames, _filenames in sorted(os.walk(top), key=lambda w: -len(w[0])):
        path = Path(dirpath)
        if path != top and not any(path.iterdir()):
            path.rmdir()
