"""Where a record was declared: the apps.d file and line a user can open."""

from __future__ import annotations

import contextlib
import sys
from pathlib import Path
from types import FrameType

import attrs

_PACKAGE_DIR = str(Path(__file__).resolve().parent)


@attrs.frozen(order=True)
class Origin:
    """A place in a user's file, shown as `path:line`."""

    path: str
    line: int

    def __str__(self) -> str:
        return f"{self.path}:{self.line}"


UNKNOWN = Origin("<unknown>", 0)

# Paths are shown relative to the project root when the loader sets it.
_display_root: list[Path] = []


def set_display_root(root: Path | None) -> None:
    """Show origins relative to `root` (the project directory) from now on."""
    _display_root.clear()
    _display_cache.clear()
    if root is not None:
        _display_root.append(root.resolve())


# Every record asks for its file's display path; resolving it once per file keeps loading fast.
_display_cache: dict[str, str] = {}


def display_path(filename: str) -> str:
    """`filename` relative to the project root when it lies inside it."""
    shown = _display_cache.get(filename)
    if shown is None:
        shown = filename
        if _display_root:
            root = f"{_display_root[0]}/"
            if filename.startswith(root) and "/../" not in filename:
                shown = filename[len(root) :]  # the loader's own paths: no symlinks to resolve
            else:
                with contextlib.suppress(ValueError):
                    shown = Path(filename).resolve().relative_to(_display_root[0]).as_posix()
        _display_cache[filename] = shown
    return shown


def capture_origin() -> Origin:
    """The first stack frame outside the klaster_build package: the user's declaration."""
    frame: FrameType | None = sys._getframe(1)
    while frame is not None:
        filename = frame.f_code.co_filename
        if not filename.startswith(_PACKAGE_DIR) and not _is_attrs_generated(filename):
            return Origin(display_path(filename), frame.f_lineno)
        frame = frame.f_back
    return UNKNOWN


def _is_attrs_generated(filename: str) -> bool:
    # attrs compiles __init__ methods with filenames like "<attrs generated init ...>".
    return filename.startswith("<attrs generated")
