"""Compare the rendered tree with the disk, and write it all-or-nothing.

klaster owns exactly the files listed in `<out>/.klaster-manifest.json` (with the hash it wrote).
It never overwrites or deletes any other file. The out/ directory is replaced in one atomic
step: a second copy of it (the shadow, in .klaster-cache/) is brought up to the new tree and
exchanged with out/ (renameat2 RENAME_EXCHANGE), so a build killed at any moment leaves either
the old tree or the new one; the old tree becomes the next build's shadow.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import difflib
import hashlib
import json
import marshal
import os
import shutil
from collections.abc import Iterable
from pathlib import Path

import attrs

MANIFEST = ".klaster-manifest.json"
CACHE_DIR = ".klaster-cache"  # klaster's own state in the project root, never committed
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
        """A manifest from its JSON text; None when it is not one of ours (strictly typed: a
        number where a string belongs makes it foreign, not coerced)."""
        try:
            body = json.loads(text)
        except ValueError:
            return None
        if not isinstance(body, dict):
            return None
        files, apps = _string_map(body.get("files")), _string_map(body.get("apps", {}))
        inputs, steps = body.get("inputs", ""), body.get("steps", [])
        if (
            files is None
            or apps is None
            or not isinstance(inputs, str)
            or not isinstance(steps, list)
            or not all(isinstance(step, str) for step in steps)
        ):
            return None
        return cls(files, inputs, tuple(steps), apps)

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
        body = {
            "generator": "klaster",
            "files": self.files,
            "inputs": self.inputs,
            "steps": sorted(self.steps),
            "apps": self.apps,
        }
        return (json.dumps(body, indent=1, sort_keys=True) + "\n").encode("utf-8")


def _string_map(value: object) -> dict[str, str] | None:
    """`value` when it is a JSON object of strings to strings."""
    if not isinstance(value, dict):
        return None
    if not all(type(k) is str and type(v) is str for k, v in value.items()):
        return None
    return value


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
    manifest: Manifest,
    scope: Iterable[str] | None = None,
    keep: Iterable[str] = (),
) -> Plan:
    """Compare rendered `files` (project-relative) with the disk and the manifest.

    `scope` limits deletion to paths under those prefixes (a partial build); the paths in `keep`
    (files of apps a partial or incremental render left out) are left as they are.
    `manifest` is out/'s (`Manifest.read`); the caller has run `check_symlinks(out_dir)`.
    """
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


def cleanup_leftovers(root: Path, out_dir: Path) -> list[Path]:
    """Undo what a killed build left behind (run it before reading out/); returns what was
    removed.

    A kill before the swap leaves out/ as it was and the shadow without its record (it is then
    rebuilt from out/); a kill inside the fallback swap leaves out/ renamed aside: put it back.
    """
    removed: list[Path] = []
    old = out_dir.with_name(f"{OLD_PREFIX}{out_dir.name}")
    if not out_dir.exists() and old.is_dir():
        old.rename(out_dir)
    for leftover in (old, out_dir.with_name(f"{STAGING_PREFIX}{out_dir.name}")):
        if leftover.exists():
            shutil.rmtree(leftover, ignore_errors=True)
            removed.append(leftover)
    for tmp in (root / CACHE_DIR).glob("*.tmp"):  # the caches' files being replaced
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


def _temp_beside(target: Path) -> Path:
    return target.with_name(f".klaster-tmp-{target.name}")


def apply(
    root: Path,
    out_dir: Path,
    plan_: Plan,
    files: dict[str, bytes],
    *,
    manifest: Manifest,
    edited: Iterable[str],
    inputs: str = "",
    steps: tuple[str, ...] = (),
    apps: dict[str, str] | None = None,
) -> None:
    """Write the plan: out/ is swapped in whole; files outside out/ are replaced one by one.

    `manifest`: out/'s as the plan read it; `edited`: owned files whose content on disk is not
    what it says (hand edits).
    """
    owned = dict(manifest.files)
    for path in plan_.delete:
        owned.pop(path, None)
    digests = {path: digest(content) for path, content in files.items()}
    owned.update(digests)
    updated = Manifest(owned, inputs, tuple(sorted(steps)), apps or {})
    out_rel = out_dir.relative_to(root).as_posix() + "/"
    inside = {p: c for p, c in plan_.write.items() if p.startswith(out_rel)}
    outside = {p: c for p, c in plan_.write.items() if not p.startswith(out_rel)}
    deleted = set(plan_.delete)
    if inside or any(p.startswith(out_rel) for p in deleted) or updated != manifest:
        start = len(out_rel)
        hand_edited = {p[start:] for p in edited if p.startswith(out_rel)}
        trusted = {
            p[start:]: d
            for p, d in manifest.files.items()
            if p.startswith(out_rel) and p[start:] not in hand_edited
        }
        new_tree = Tree(
            {p[start:]: c for p, c in inside.items()},
            {p[start:]: digests[p] for p in inside},
            {p[start:] for p in deleted if p.startswith(out_rel)},
            updated.dumps(),
        )
        _swap_in(root, out_dir, new_tree, trusted, hand_edited)
    for path in manifest.files:  # a killed build's temp files (files outside out/ use them)
        if not path.startswith(out_rel):
            _temp_beside(root / path).unlink(missing_ok=True)
    for path, content in outside.items():
        target = root / path
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = _temp_beside(target)
        tmp.write_bytes(content)
        os.replace(tmp, target)
    for path in deleted:
        if not path.startswith(out_rel):
            (root / path).unlink(missing_ok=True)


# The shadow: a second copy of out/ kept in the cache. A build brings it up to the new tree
# (touching only what differs), swaps it with out/ in one rename, and keeps the old out/ as the
# next shadow, so a one-app rebuild costs its own files, not a copy of the whole tree.
SHADOW = Path(CACHE_DIR) / "shadow"
SHADOW_RECORD = Path(CACHE_DIR) / "shadow.marshal"  # shadow file -> digest, present only when true


@attrs.frozen
class Tree:
    """out/ after a build, as changes to out/ now (paths relative to out/)."""

    writes: dict[str, bytes]
    write_digests: dict[str, str]
    deletes: set[str]
    manifest: bytes


def _listing(top: Path) -> tuple[set[str], set[str]]:
    """(files, directories) under `top`, relative to it; empty when it does not exist.

    A symlink counts as a file even when it leads to a directory: it is hard-linked as a link.
    """
    files: set[str] = set()
    folders: set[str] = set()
    pending = [""]
    while pending:
        rel = pending.pop()
        try:
            entries = os.scandir(os.path.join(top, rel) if rel else top)
        except FileNotFoundError:
            continue
        with entries:
            for entry in entries:
                name = f"{rel}/{entry.name}" if rel else entry.name
                if entry.is_dir(follow_symlinks=False):
                    folders.add(name)
                    pending.append(name)
                else:
                    files.add(name)
    return files, folders


def _ancestors(paths: Iterable[str]) -> set[str]:
    found: set[str] = set()
    for path in paths:
        parent = os.path.dirname(path)
        while parent and parent not in found:
            found.add(parent)
            parent = os.path.dirname(parent)
    return found


Listing = tuple[set[str], set[str]]  # (files, folders), relative to the listed directory


def _read_shadow_record(root: Path) -> tuple[dict[str, str], Listing] | None:
    """The shadow's files with their digests ("" when not known), and its listing; None when
    there is no record or a folder changed since (a folder's mtime moves when an entry is added,
    removed or renamed in it)."""
    try:
        files, folders = marshal.loads((root / SHADOW_RECORD).read_bytes())
        if not all(type(k) is str and type(v) is str for k, v in files.items()):
            return None
        top = root / SHADOW
        if any(os.stat(top / name).st_mtime_ns != mtime for name, mtime in folders.items()):
            return None
    except (OSError, ValueError, EOFError, TypeError, AttributeError):
        return None
    return files, (set(files), set(folders) - {""})


def _shadow_location(root: Path, out_dir: Path) -> tuple[Path, bool]:
    """Where to prepare the new tree, and whether it can be kept as the next shadow.

    Renames work within one file system; a cache elsewhere (a symlink to tmpfs...) gets a
    staging directory beside out/ instead, removed after the swap.
    """
    cache = root / CACHE_DIR
    cache.mkdir(exist_ok=True)
    if os.stat(cache).st_dev == os.stat(out_dir.parent).st_dev:
        return root / SHADOW, True
    return out_dir.with_name(f"{STAGING_PREFIX}{out_dir.name}"), False


def _swap_in(
    root: Path, out_dir: Path, tree: Tree, trusted: dict[str, str], hand_edited: set[str]
) -> None:
    """Bring the shadow to the new tree and swap it with out/ at once.

    `trusted`: out/ files whose digest the manifest vouches for; `hand_edited`: out/ files it
    does not (paths relative to out/). A shadow file is kept when its recorded digest is the
    wanted one; every other file is written, or hard-linked from out/.
    """
    shadow, keep = _shadow_location(root, out_dir)
    record = _read_shadow_record(root) if keep else None
    (root / SHADOW_RECORD).unlink(missing_ok=True)  # from here on the shadow is being changed
    shadow.mkdir(parents=True, exist_ok=True)
    out_files, out_folders = _listing(out_dir)
    writes = {**tree.writes, MANIFEST: tree.manifest}
    wanted = (out_files - tree.deletes) | set(writes)
    # Folders holding files, plus out/'s own folders unless a deletion emptied them. Only
    # deletions and new files can change out/'s folders: look at the paths near those.
    emptied = _ancestors(tree.deletes)
    kept_folders = out_folders - emptied
    near_emptied = [n for n in wanted if os.path.dirname(n) in emptied] if emptied else []
    below = [f for f in kept_folders if os.path.dirname(f) in emptied] if emptied else []
    folders = kept_folders | _ancestors([*writes, *near_emptied, *below])
    wanted_tree = _WantedTree(wanted, folders, writes, {**trusted, **tree.write_digests})
    if record is not None:
        digests, listing = record
        # A hand edit of an out/ file also changed a shadow file hard-linked to it: not known then.
        known = {n: d for n, d in digests.items() if d and n not in hand_edited}
        try:
            _update_shadow(shadow, out_dir, listing, known, wanted_tree)
        except OSError:  # a file of the shadow changed by hand: look, and link everything again
            record = None
    if record is None:
        _update_shadow(shadow, out_dir, _listing(shadow), {}, wanted_tree)

    if not out_dir.exists():
        shadow.rename(out_dir)
        return
    previous_manifest = _read(out_dir / MANIFEST)
    if _exchange(shadow, out_dir):
        if not keep:
            shutil.rmtree(shadow)
            return
        # The shadow is now the old out/: record its listing (with each folder's mtime, "" for
        # the shadow itself) and what is known of its files.
        old_files = {name: trusted.get(name, "") for name in out_files}
        if previous_manifest is not None:
            old_files[MANIFEST] = digest(previous_manifest)
        mtimes = {name: os.stat(shadow / name).st_mtime_ns for name in ["", *sorted(out_folders)]}
        tmp = root / f"{SHADOW_RECORD}.tmp"
        tmp.write_bytes(marshal.dumps((old_files, mtimes)))
        os.replace(tmp, root / SHADOW_RECORD)
        return
    old = out_dir.with_name(f"{OLD_PREFIX}{out_dir.name}")
    out_dir.rename(old)
    shadow.rename(out_dir)
    shutil.rmtree(old)


@attrs.frozen
class _WantedTree:
    """What the shadow must become: files, folders, new contents and every known digest."""

    files: set[str]
    folders: set[str]
    writes: dict[str, bytes]
    digests: dict[str, str]  # wanted digest of each new or trusted file


def _update_shadow(
    shadow: Path, out_dir: Path, listing: Listing, known: dict[str, str], wanted: _WantedTree
) -> None:
    """Bring the shadow (whose files and folders are `listing`, `known` the digests that are
    sure) to the wanted tree: files with the wanted digest stay, others are written or linked."""
    shadow_files, shadow_folders = listing
    shadow_top, out_top = str(shadow), str(out_dir)
    for name in shadow_files - wanted.files:
        os.unlink(os.path.join(shadow_top, name))
    for name in sorted(shadow_folders - wanted.folders, key=len, reverse=True):
        os.rmdir(os.path.join(shadow_top, name))
    for name in sorted(wanted.folders - shadow_folders, key=len):
        os.mkdir(os.path.join(shadow_top, name))
    for name in sorted(wanted.files):  # directory by directory, as the tree is laid out
        target = os.path.join(shadow_top, name)
        if name in shadow_files:
            want = wanted.digests.get(name)
            if want is not None and known.get(name) == want:
                continue  # same content already
            os.unlink(target)  # never write into it: it may be a hard link to out/
        content = wanted.writes.get(name)
        if content is not None:
            with open(target, "xb") as stream:
                stream.write(content)
        else:
            _link_or_copy(os.path.join(out_top, name), target)


def _link_or_copy(source: str, target: str) -> None:
    try:
        os.link(source, target)
    except OSError:
        shutil.copy2(source, target)
