"""What apps.d files and klasterfile.py import: `from klaster_build.dsl import *`."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from klaster_build.cluster import (
    Cluster,
    Intervals,
    Node,
    StorageTier,
    TalosSettings,
    VaultSettings,
)
from klaster_build.data import Plain, SecretKey
from klaster_build.errors import DeclarationError, Mistake
from klaster_build.families import FAMILIES
from klaster_build.refs import cluster, ref
from klaster_build.versions import Renovate

MAX_READ_BYTES = 1 << 20


def read_yaml(path: str) -> list[Any]:
    """The YAML documents of a file next to the calling apps.d file (for raw manifests)."""
    import yaml

    caller = Path(sys._getframe(1).f_code.co_filename).resolve().parent
    text = _read_from(caller, path)
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # the C reader when PyYAML has it
    try:
        return [d for d in yaml.load_all(text, Loader=loader) if d is not None]
    except yaml.YAMLError as error:
        raise DeclarationError(
            Mistake(f"not valid YAML: {error}", record=f"read_yaml({path!r}):")
        ) from error


def read(path: str) -> str:
    """The text of a file next to the calling apps.d file (e.g. `read("llama/config.yaml")`).

    The path must stay inside the caller's directory.
    """
    return _read_from(Path(sys._getframe(1).f_code.co_filename).resolve().parent, path)


def _read_from(caller: Path, path: str) -> str:
    target = (caller / path).resolve()
    if caller not in target.parents:
        raise DeclarationError(
            Mistake(
                f"must name a file inside {caller.name}/, without '..'", record=f"read({path!r})"
            )
        )
    try:
        data = target.read_bytes()
    except OSError as error:
        raise DeclarationError(
            Mistake(
                str(error.strerror or error),
                record=f"read({path!r}):",
                instead=f"the path is relative to {caller.name}/",
            )
        ) from error
    if len(data) > MAX_READ_BYTES:
        raise DeclarationError(
            Mistake(
                f"file is {len(data)} bytes",
                record=f"read({path!r}):",
                instead="config files are limited to 1 MiB",
            )
        )
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as error:
        raise DeclarationError(
            Mistake("file is not UTF-8 text", record=f"read({path!r}):")
        ) from error


# What the klasterfile and every apps.d file use besides the families' records and values.
_SETTINGS_AND_HELPERS: dict[str, Any] = {
    "Cluster": Cluster,
    "Intervals": Intervals,
    "Node": Node,
    "StorageTier": StorageTier,
    "TalosSettings": TalosSettings,
    "VaultSettings": VaultSettings,
    "Plain": Plain,
    "SecretKey": SecretKey,
    "Renovate": Renovate,
    "cluster": cluster,
    "ref": ref,
    "read": read,
    "read_yaml": read_yaml,
}
_FAMILY_EXPORTS = {item.__name__: item for family in FAMILIES for item in family.exports}
globals().update(_FAMILY_EXPORTS)  # each family says what it offers (Family.exports)
__all__ = sorted([*_SETTINGS_AND_HELPERS, *_FAMILY_EXPORTS])
