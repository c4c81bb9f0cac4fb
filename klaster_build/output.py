"""Compare the rendered tree with out/, and replace out/ all at once.

klaster owns exactly the files listed in `<out>/.klaster-manifest.json` (with the hash it wrote)
and never overwrites or deletes any other file. A build stages the new out/ beside the old one
(files that stay are hard-linked, changed ones written) and exchanges the two directories in one
`renameat2(RENAME_EXCHANGE)`, so a build killed at any moment leaves either the old tree or the
new one; the next build removes what a killed one left.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import difflib
import hashlib
import json
import os
import shutil
import stat
from collections.abc import Iterable, Sequence
from pathlib import Path

import attrs
import cattrs

from klaster_build.errors import Mistake, Problem, UserError, WriteFailed
from klaster_build.origin import Origin

MANIFEST = ".klaster-manifest.json"
CACHE_DIR = ".klaster-cache"  # klaster's own state in the project root, never committed
STAGING_PREFIX = ".klaster-staging-"
OLD_PREFIX = ".klaster-old-"


class OwnershipError(UserError):
    """out/ holds something klaster must not touch; the message says what to do."""


def digest(data: bytes) -> str:
    """sha256 hex of `data`."""
    return hashlib.sha256(data).hexdigest()


def _strict_str(value: object, _type: type) -> str:
    if type(value) is not str:
        msg = f"expected a string, got {value!r}"
        raise TypeError(msg)
    return value


# Manifest <-> JSON. Strict: a number where a string belongs makes the file foreign (owning
# nothing), never coerced into a claim on a file.
_CONVERTER = cattrs.Converter()  # unknown keys (an older manifest's) are ignored
_CONVERTER.register_structure_hook(str, _strict_str)


@attrs.frozen
class Manifest:
    """What the last build wrote: the hash of every owned file, and the operator steps it needed."""

    files: dict[str, str]
    steps: tuple[str, ...] = ()  # operator step keys (for NEW in `klaster todo`)
    generator: str = "klaster"

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
        try:
            return _CONVERTER.structure(json.loads(text), cls)
        except (ValueError, TypeError, AttributeError, cattrs.BaseValidationError):
            return None

    def owning(self, out_rel: str, rendered: Iterable[str]) -> tuple[Manifest, tuple[str, ...]]:
        """This manifest with only the entries klaster may own, and the others (foreign).

        The manifest is data a merge or a hand edit can change, never an instruction: klaster
        owns a file under out/ (`out_rel`, project-relative) spelt in its one plain form, or a
        file outside out/ that this build renders (`rendered`: renovate.json). Anything else
        (`../x`, `/etc/x`, `klasterfile.py`, `apps.d/a.py`, `out/./x`, the manifest itself,
        `.git`) is foreign: reported, never read as owned, written or deleted.
        """
        outside = set(rendered)
        owned = {
            path: sha
            for path, sha in self.files.items()
            if is_plain_path(path)
            and (path in outside or path.startswith(f"{out_rel}/"))
            and path != f"{out_rel}/{MANIFEST}"
        }
        foreign = tuple(sorted(set(self.files) - set(owned)))
        return attrs.evolve(self, files=owned), foreign

    def dumps(self) -> bytes:
        """Deterministic JSON."""
        body = _CONVERTER.unstructure(attrs.evolve(self, steps=tuple(sorted(self.steps))))
        return (json.dumps(body, indent=1, sort_keys=True) + "\n").encode("utf-8")


def is_plain_path(path: str) -> bool:
    """A project-relative POSIX path in its one spelling: no empty, `.` or `..` part, not
    absolute, no backslash or NUL, nothing inside a `.git` directory."""
    parts = path.split("/")
    return (
        bool(path)
        and "\\" not in path
        and "\0" not in path
        and all(part not in ("", ".", "..") and part != ".git" for part in parts)
    )


def scoped_to_apps(
    files: dict[str, bytes], rel: str, apps: Sequence[str] | None
) -> tuple[dict[str, bytes], list[str] | None]:
    """What `klaster build APP...` writes: the apps' directories and the cluster-wide files,
    never another app's directory; with the scope (directory prefixes) the plan keeps to.
    Everything, and no scope, without apps."""
    if not apps:
        return files, None
    scope = [f"{rel}/apps/{app}/" for app in apps]
    app_dirs = f"{rel}/apps/"
    kept = {
        path: content
        for path, content in files.items()
        if path.startswith(tuple(scope))
        or not (path.startswith(app_dirs) and "/" in path[len(app_dirs) :])
    }
    return kept, scope


def ownership_warnings(
    manifest_path: str, rel: str, foreign_entries: Iterable[str], kept: Iterable[str]
) -> tuple[Problem, ...]:
    """What the build leaves alone and says so: manifest entries that are not klaster's files,
    and generated files the user edited that the build no longer writes."""
    return tuple(
        Problem(
            Origin(manifest_path, 0),
            Mistake(
                f"lists {entry!r}, which is not a file klaster generates under {rel}/",
                instead="klaster never reads, writes or deletes it, and drops the entry",
            ),
            severity="warning",
        )
        for entry in foreign_entries
    ) + tuple(
        Problem(
            Origin(path, 0),
            Mistake(
                "is no longer generated but was edited since klaster wrote it",
                instead="it is kept and no longer klaster's: delete it yourself if it is not "
                "needed",
            ),
            severity="warning",
        )
        for path in kept
    )


@attrs.frozen
class Plan:
    """What a build would change, relative to the project root."""

    write: dict[str, bytes]
    delete: tuple[str, ...]
    unchanged: tuple[str, ...]
    hand_edited: tuple[str, ...]  # owned files whose content is not what klaster wrote
    foreign: tuple[str, ...]  # files klaster would write but did not generate earlier
    current: dict[str, bytes]  # what is on disk now, for the paths above
    # Owned files the build no longer writes whose content is not what klaster wrote: never
    # deleted (nothing proves klaster made them), no longer owned.
    kept: tuple[str, ...] = ()

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
    """Refuse an out/ that is, or contains, a symlink leading outside it."""
    if out_dir.is_symlink():
        raise OwnershipError(
            Mistake(
                "is a symlink; klaster writes only into a real directory",
                record=str(out_dir),
                instead="replace it with a directory",
            )
        )
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
                        raise OwnershipError(
                            Mistake(
                                f"is a symlink to {target}, outside {out_dir}",
                                record=entry.path,
                                instead="remove it and build again",
                            )
                        )
                elif entry.is_dir(follow_symlinks=False):
                    pending.append(entry.path)


def plan(
    root: Path,
    files: dict[str, bytes],
    manifest: Manifest,
    scope: Iterable[str] | None = None,
) -> Plan:
    """Compare rendered `files` (project-relative) with the disk and the manifest.

    `scope` limits deletion to paths under those prefixes (a build of named apps).
    """
    prefixes = tuple(scope) if scope is not None else None
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
    kept = []
    for path, owned_hash in manifest.files.items():
        if path in files or (prefixes is not None and not path.startswith(prefixes)):
            continue
        on_disk = _read(root / path)
        if on_disk is None:
            continue
        current[path] = on_disk
        if digest(on_disk) == owned_hash:  # exactly what klaster wrote: it goes
            delete.append(path)
        else:
            kept.append(path)
    return Plan(
        write,
        tuple(sorted(delete)),
        tuple(sorted(unchanged)),
        tuple(sorted(hand_edited)),
        tuple(sorted(foreign)),
        current,
        tuple(sorted(kept)),
    )


def in_the_way(root: Path, paths: Iterable[str]) -> dict[str, str]:
    """What stands where the project-relative `paths` a build writes must go: a folder at a
    file's place, or a file or a symlink at a folder's (staged writes would go through it);
    its path -> what it is. Each folder is looked at once, outermost first (thousands of files
    share a few hundred folders)."""
    found: dict[str, str] = {}
    seen: set[str] = set()
    for path in paths:
        mode = _lstat_mode(root / path)
        if mode is not None and stat.S_ISDIR(mode):
            found[path] = "is a folder, where klaster writes a file"
            continue
        parts = path.split("/")[:-1]
        for depth in range(1, len(parts) + 1):
            folder = "/".join(parts[:depth])
            if folder in seen:
                continue
            seen.add(folder)
            mode = _lstat_mode(root / folder)
            if mode is None:
                break  # nothing below it exists either
            if stat.S_ISLNK(mode):
                found[folder] = (
                    "is a symlink, where klaster needs a folder of its own for its files"
                )
                break
            if not stat.S_ISDIR(mode):
                found[folder] = "is a file, where klaster needs a folder for its files"
                break
    return found


def _lstat_mode(path: Path) -> int | None:
    try:
        return os.lstat(path).st_mode
    except (FileNotFoundError, NotADirectoryError):
        return None


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


def _beside(out_dir: Path, prefix: str) -> Path:
    return out_dir.with_name(f"{prefix}{out_dir.name}")


def _temp_beside(target: Path) -> Path:
    return target.with_name(f".klaster-tmp-{target.name}")


def _remove_tree(path: Path) -> None:
    """rmtree, and once more after making every folder writable (a build of a read-only out/
    leaves read-only folders in its staging tree). Symlinks inside are removed, never followed."""
    try:
        shutil.rmtree(path)
    except PermissionError:
        for folder, _, _ in os.walk(path):  # os.walk does not enter symlinked folders
            os.chmod(folder, os.stat(folder).st_mode | 0o700)
        shutil.rmtree(path)


def remove_leftover(path: Path) -> None:
    """Remove a staging or old tree klaster made beside out/ (a symlink by that name: only the
    link, never what it points at). Raises OSError naming it when it cannot be removed."""
    try:
        if path.is_symlink() or not path.is_dir():
            path.unlink(missing_ok=True)
        else:
            _remove_tree(path)
    except OSError as error:
        msg = (
            f"cannot remove {path.name}, which an earlier build left beside out/ "
            f"({error.strerror or error}); remove it by hand and build again"
        )
        raise OSError(error.errno, msg) from error


def cleanup_leftovers(out_dir: Path, owned: Iterable[str] = ()) -> list[Path]:
    """Undo what a killed build left behind (run it before reading out/); returns what was
    removed. `owned`: project-relative paths of the owned files outside out/ (their temp files).

    A kill while staging leaves out/ as it was and a staging directory; a kill inside the
    fallback swap (no renameat2) leaves out/ renamed aside: put it back.
    """
    removed: list[Path] = []
    old = _beside(out_dir, OLD_PREFIX)
    if not out_dir.exists() and old.is_dir() and not old.is_symlink():
        old.rename(out_dir)
    for leftover in (old, _beside(out_dir, STAGING_PREFIX)):
        if leftover.exists() or leftover.is_symlink():
            remove_leftover(leftover)
            removed.append(leftover)
    root = out_dir.parent
    for path in owned:
        tmp = _temp_beside(root / path)
        if tmp.is_file() or tmp.is_symlink():
            tmp.unlink()
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


def _stage(out_dir: Path, staging: Path, writes: dict[str, bytes], deletes: set[str]) -> None:
    """Make `staging` the new out/: every file of out/ that stays is hard-linked (the user's
    own files and symlinks included), `writes` are written; folders emptied only by `deletes`
    go."""
    remove_leftover(staging)
    staging.mkdir()
    pending = [""]
    while out_dir.exists() and pending:
        rel = pending.pop()
        with os.scandir(out_dir / rel if rel else out_dir) as entries:
            for entry in entries:
                name = f"{rel}/{entry.name}" if rel else entry.name
                if entry.is_dir(follow_symlinks=False):
                    (staging / name).mkdir()
                    pending.append(name)
                elif name not in writes and name not in deletes:
                    _link_or_copy(entry.path, staging / name)
    # Thousands of files into a fresh tree: each folder made once, each file one open and one
    # write, never through a link.
    made: set[str] = set()
    base = str(staging)
    for name, content in writes.items():
        parent = name.rpartition("/")[0]
        if parent and parent not in made:
            os.makedirs(f"{base}/{parent}", exist_ok=True)
            made.add(parent)
        fd = os.open(f"{base}/{name}", os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o666)
        try:
            view = memoryview(content)
            while view:
                view = view[os.write(fd, view) :]
        finally:
            os.close(fd)
    for name in deletes:
        folder = (staging / name).parent
        # A folder all of whose files go is removed with the first of them seen empty.
        while folder != staging and folder.is_dir() and not any(folder.iterdir()):
            folder.rmdir()
            folder = folder.parent


def _link_or_copy(source: str, target: Path) -> None:
    try:
        os.link(source, target, follow_symlinks=False)
    except OSError:
        shutil.copy2(source, target, follow_symlinks=False)


def _swap_in(out_dir: Path, writes: dict[str, bytes], deletes: set[str]) -> None:
    """Replace out/ by its staged new version in one step (two renames without renameat2).

    An OSError from here means out/ is as it was; once the new tree is in, the old one is
    removed if it can be (else the next build's cleanup_leftovers tries again).
    """
    staging = _beside(out_dir, STAGING_PREFIX)
    _stage(out_dir, staging, writes, deletes)
    if not out_dir.exists():
        staging.rename(out_dir)
        return
    if _exchange(staging, out_dir):
        old = staging  # the exchange left the old tree there
    else:
        old = _beside(out_dir, OLD_PREFIX)
        out_dir.rename(old)
        try:
            staging.rename(out_dir)
        except OSError:
            old.rename(out_dir)
            raise
    with contextlib.suppress(OSError):
        remove_leftover(old)


def apply(
    root: Path,
    out_dir: Path,
    plan_: Plan,
    files: dict[str, bytes],
    *,
    manifest: Manifest,
    steps: tuple[str, ...] = (),
) -> None:
    """Write the plan: out/ is swapped in whole; files outside out/ are replaced one by one.

    `manifest`: out/'s as the plan read it.
    """
    gone = {*plan_.delete, *plan_.kept}
    owned = {p: d for p, d in manifest.files.items() if p not in gone}
    owned.update((path, digest(content)) for path, content in files.items())
    updated = Manifest(owned, tuple(steps)).dumps()
    out_rel = out_dir.relative_to(root).as_posix() + "/"
    start = len(out_rel)
    inside = {p[start:]: c for p, c in plan_.write.items() if p.startswith(out_rel)}
    deleted = {p[start:] for p in plan_.delete if p.startswith(out_rel)}
    swapped = bool(inside or deleted or updated != _read(out_dir / MANIFEST))
    if swapped:
        _swap_in(out_dir, {**inside, MANIFEST: updated}, deleted)
    try:
        for path, content in plan_.write.items():
            if not path.startswith(out_rel):
                target = root / path
                target.parent.mkdir(parents=True, exist_ok=True)
                tmp = _temp_beside(target)
                tmp.write_bytes(content)
                os.replace(tmp, target)
        for path in plan_.delete:
            if not path.startswith(out_rel):
                (root / path).unlink(missing_ok=True)
    except OSError as error:
        done = f"{out_dir.name}/ holds the new tree" if swapped else f"{out_dir.name}/ is unchanged"
        msg = (
            f"{done}, but writing outside it failed: {error}; "
            "fix that and build again (the build rewrites what is missing)"
        )
        raise WriteFailed(msg) from error
