"""klaster's own state in `.klaster-cache/` (never committed): the input fingerprint behind the
no-op answer and the build lock. Like the manifest, it is data a hand edit or a stale checkout
can change, never an instruction: anything but what a build wrote means "render again"."""

from __future__ import annotations

import contextlib
import hashlib
import os
from collections.abc import Callable, Iterator
from pathlib import Path

from klaster_build import output
from klaster_build.cluster import Cluster
from klaster_build.project import APPS_DIR, KLASTERFILE

_PACKAGE_DIR = Path(__file__).resolve().parent
# The fingerprint of the inputs of the last build whose out/ was current.
FINGERPRINT_FILE = Path(output.CACHE_DIR) / "fingerprint"
LOCK_FILE = Path(output.CACHE_DIR) / "build.lock"


def input_fingerprint(root: Path, cluster: Cluster) -> str:
    """One hash of every file a build reads: klaster's own code, the klasterfile, every file
    under apps.d/ and the project files the klasterfile names (Talos patches...)."""
    named = [(p.relative_to(_PACKAGE_DIR).as_posix(), p) for p in _PACKAGE_DIR.rglob("*.py")]
    named.append((KLASTERFILE, root / KLASTERFILE))
    apps_dir = root / APPS_DIR
    named += [
        (p.relative_to(root).as_posix(), p)
        for p in apps_dir.rglob("*")
        if "__pycache__" not in p.parts and p.is_file()
    ]
    named += [(path, root / path) for path in cluster.input_files()]
    sha = hashlib.sha256()
    for name, path in sorted(named):
        sha.update(name.encode() + b"\0")
        try:
            sha.update(path.read_bytes())
        except OSError:
            sha.update(b"<missing>")
        sha.update(b"\0")
    return sha.hexdigest()


def out_is_current(root: Path, out_dir: Path, fingerprint: str) -> bool:
    """Whether the last build or check that found out/ current had these inputs, and out/
    still holds exactly what that build's manifest lists."""
    # The cache is data like the manifest: anything but what a build wrote means "render again".
    try:
        recorded = (root / FINGERPRINT_FILE).read_bytes()
        manifest_bytes = (out_dir / output.MANIFEST).read_bytes()
    except OSError:
        return False
    if recorded != f"{fingerprint} {output.digest(manifest_bytes)}".encode():
        return False
    manifest = output.Manifest.parse(manifest_bytes.decode("utf-8", "replace"))
    if manifest is None:
        return False
    out_rel = out_dir.relative_to(root).as_posix()
    for path, expected in manifest.files.items():
        # Never read what a hand edit points at, nor through a symlink: anything else renders
        # again, which reports the entry.
        if not may_be_generated(path, out_rel):
            return False
        try:
            descriptor = os.open(root / path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
            with open(descriptor, "rb") as stream:
                if output.digest(stream.read()) != expected:
                    return False
        except OSError:
            return False
    return True


def may_be_generated(path: str, out_rel: str) -> bool:
    """Whether a manifest entry can name a file klaster generates, before rendering says which:
    a plain path under out/ (`out_rel`), or a plain file at the project root that is neither
    hidden (.git) nor the klasterfile (renovate.json). Manifest.owning decides after rendering."""
    return output.is_plain_path(path) and (
        path.startswith(f"{out_rel}/")
        or ("/" not in path and not path.startswith(".") and path != KLASTERFILE)
    )


def remember_current(root: Path, out_dir: Path, fingerprint: str) -> None:
    """Record that out/ is what these inputs build (a cache: a read-only checkout skips it)."""
    with contextlib.suppress(OSError):
        manifest_bytes = (out_dir / output.MANIFEST).read_bytes()
        (root / output.CACHE_DIR).mkdir(exist_ok=True)
        target = root / FINGERPRINT_FILE
        tmp = target.with_name(f"{target.name}.{os.getpid()}.tmp")
        try:
            tmp.write_text(f"{fingerprint} {output.digest(manifest_bytes)}")
            os.replace(tmp, target)
        finally:
            tmp.unlink(missing_ok=True)


@contextlib.contextmanager
def build_lock(root: Path, on_wait: Callable[[], None] | None = None) -> Iterator[None]:
    """Builds of one project never overlap: a second one waits for the first to finish.

    Two builds staging the same out/ at once would swap a mix into it. `on_wait` is called once
    when the lock is held elsewhere, before waiting.
    """
    try:
        import fcntl
    except ImportError:  # not POSIX: nothing to lock with
        yield
        return
    try:
        (root / output.CACHE_DIR).mkdir(exist_ok=True)
        stream = open(root / LOCK_FILE, "a+b")  # noqa: SIM115  (closed by the with below)
    except OSError:  # a read-only checkout: a check still answers, a build fails to write
        yield
        return
    with stream:
        try:
            fcntl.flock(stream, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            if on_wait is not None:
                on_wait()
            fcntl.flock(stream, fcntl.LOCK_EX)
        yield  # closing the file releases the lock
